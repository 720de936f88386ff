from kiln import _C  # noqa: F401
