"""pytest configuration: gpu-marked tests are skipped where there is no CUDA device (CPU CI); the
GPU machine runs them through scripts/gpu-check. A CUDA *build* is not enough: CI compiles the CUDA
sources whenever nvcc is found, on machines without a GPU."""

import logging
import os
import pathlib
import warnings

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
    if os.environ.get("KILN_REQUIRE_CUDA"):  # scripts/gpu-check: a missing device is a failure
        raise pytest.UsageError("KILN_REQUIRE_CUDA is set but torch sees no CUDA device")
    skip = pytest.mark.skip(reason="no GPU here: runs on the GPU machine (scripts/gpu-check)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


class _Compiles(logging.Handler):
    """Counts kiln's "compiled N engine(s)" log lines (one per compiled graph) and keeps its
    "... runs in PyTorch" fallback warnings."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.count = 0
        self.fallbacks = []

    def emit(self, record):
        message = record.getMessage()
        if message.startswith("kiln: compiled"):
            self.count += 1
        elif "runs in PyTorch" in message:
            self.fallbacks.append(message)


@pytest.fixture
def compiles():
    import torch

    torch._dynamo.reset()
    logger = logging.getLogger("kiln")
    handler, level = _Compiles(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    with warnings.catch_warnings():  # a graph that silently ran eagerly would pass the numerics
        warnings.filterwarnings("error", message=r"kiln: .*(failed to build|runs eagerly)")
        yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)
    torch._dynamo.reset()
