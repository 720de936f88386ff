"""pytest configuration: gpu-marked tests are skipped where there is no CUDA device (CPU CI); the
GPU machine runs them through scripts/gpu-check. A CUDA *build* is not enough: CI compiles the CUDA
sources whenever nvcc is found, on machines without a GPU."""

import pathlib

import pytest


def cuda_device_present() -> bool:
    try:
        import torch
    except ImportError:
        gpus = pathlib.Path("/proc/driver/nvidia/gpus")
        return gpus.is_dir() and any(gpus.iterdir())
    return torch.cuda.is_available()


def pytest_collection_modifyitems(config, items):
    if cuda_device_present():
        return
    skip = pytest.mark.skip(reason="no GPU here: runs on the GPU machine (scripts/gpu-check)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
