"""pytest configuration: the gpu marker is skipped where no CUDA backend can run (CPU CI); the
GPU machine runs those tests through scripts/gpu-check."""

import pytest

import kiln


def pytest_collection_modifyitems(config, items):
    if kiln.has_cuda():
        return
    skip = pytest.mark.skip(reason="no GPU here: runs on the GPU machine (scripts/gpu-check)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
