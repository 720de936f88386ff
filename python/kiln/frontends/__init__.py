"""Capture frontends: each turns a user's model into an FX graph of ATen ops for the importer."""
