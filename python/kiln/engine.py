"""IR-level API: build engines from kiln IR text and run them on numpy arrays (CPU backend)."""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike

import numpy as np

from kiln import _C


def format_ir(text: str, passes: Sequence[str] = ()) -> str:
    """Parses kiln IR text, runs the named passes (verifying after each) and returns the printed IR."""
    return _C.format_ir(text, list(passes))


def build_engine(text: str, device: str = "cpu") -> bytes:
    """Builds an engine file from kiln IR text; the bytes are what ``kiln build`` writes."""
    return _C.build_engine(text, device)


class Engine:
    """A loaded engine. ``Engine(data)`` takes engine-file bytes; ``Engine.load(path)`` a file."""

    def __init__(self, data: bytes) -> None:
        self._engine = _C.Engine(bytes(data))

    @classmethod
    def load(cls, path: str | PathLike[str]) -> Engine:
        """Loads an engine file written by ``kiln build`` or ``build_engine``."""
        with open(path, "rb") as f:
            return cls(f.read())

    @property
    def inputs(self) -> list[tuple[str, str, str]]:
        """(name, dtype, shape text with ranges) of each input, in order."""
        return self._engine.inputs

    @property
    def outputs(self) -> list[tuple[str, str, str]]:
        """(name, dtype, symbolic shape text) of each output, in order."""
        return self._engine.outputs

    @property
    def ir(self) -> str:
        """The engine's graph as IR text, after the passes it was built with (a CUDA engine's too:
        ``build_engine(engine.ir)`` runs that graph on the CPU reference kernels)."""
        return self._engine.ir

    def output_shapes(self, input_shapes: Sequence[Sequence[int]]) -> list[list[int]]:
        """The output shapes for these input shapes (checks ranks, static dims and ranges)."""
        return self._engine.output_shapes([list(s) for s in input_shapes])

    def __call__(self, *inputs: np.ndarray) -> list[np.ndarray]:
        """Runs the engine on numpy arrays (made contiguous) and returns new output arrays."""
        return self._engine.run([np.ascontiguousarray(x) for x in inputs])
