"""Shared helpers for kiln's Python tests: compile a module with kiln, compare with eager.

Tolerances are stated once here, per dtype. ``check_converter`` compiles with
``require_full_compilation=True`` (so a converter that refuses fails the test with its reason) and
compares every output with eager; with ``dynamic`` Inputs it runs at the min, opt and max shapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

import kiln

TOLERANCES = {  # (rtol, atol)
    torch.float32: (1e-5, 1e-5),
    torch.float16: (1e-2, 1e-2),
    torch.bfloat16: (2e-2, 2e-2),
}


def _flatten(x: Any) -> list:
    if isinstance(x, torch.Tensor):
        return [x]
    if isinstance(x, (list, tuple)):
        return [t for item in x for t in _flatten(item)]
    if isinstance(x, dict):
        return [t for v in x.values() for t in _flatten(v)]
    return []


def assert_outputs_close(got: Any, want: Any, rtol: float | None = None,
                         atol: float | None = None) -> None:
    g, w = _flatten(got), _flatten(want)
    assert len(g) == len(w), f"kiln returned {len(g)} tensors, eager {len(w)}"
    for k, (a, b) in enumerate(zip(g, w)):
        assert a.dtype == b.dtype, f"output {k}: dtype {a.dtype}, eager {b.dtype}"
        assert a.shape == b.shape, f"output {k}: shape {tuple(a.shape)}, eager {tuple(b.shape)}"
        r, t = TOLERANCES.get(b.dtype, (0, 0))
        torch.testing.assert_close(a, b, rtol=rtol if rtol is not None else r,
                                   atol=atol if atol is not None else t, equal_nan=True,
                                   msg=lambda m, k=k: f"output {k}: {m}")


def engine_count(gm: torch.fx.GraphModule) -> int:
    return sum(1 for n in gm.graph.nodes if n.target is torch.ops.kiln.execute_engine.default)


def engine_nodes(gm: torch.fx.GraphModule) -> list[tuple[str, str, str, str]]:
    """(op, kernel, output type, location) of every node of every engine in a compiled module,
    read from the engine files it holds (a CUDA engine's too, without a GPU)."""
    from kiln import _C

    out = []
    for node in gm.graph.nodes:
        if node.op == "get_attr" and "_kiln_engine_" in str(node.target):
            out += _C.Engine(getattr(gm, node.target).numpy().tobytes()).nodes
    return out


def check_converter(module: torch.nn.Module, inputs: Sequence[torch.Tensor], *,
                    dynamic: Sequence[kiln.Input] | None = None, rtol: float | None = None,
                    atol: float | None = None, **settings: Any) -> torch.fx.GraphModule:
    """Compiles `module` fully into kiln engines and compares with eager.

    Static: at `inputs`. Dynamic: compiled for the `dynamic` Inputs and checked at their min, opt and
    max shapes with fresh random values of the inputs' dtypes.
    """
    module = module.eval()
    settings.setdefault("min_block_size", 1)
    settings.setdefault("require_full_compilation", True)
    if dynamic is None:
        gm = kiln.compile(module, ir="dynamo", inputs=list(inputs), **settings)
        assert engine_count(gm) >= 1, "nothing was compiled into an engine"
        with torch.no_grad():
            assert_outputs_close(gm(*inputs), module(*inputs), rtol, atol)
        return gm
    gm = kiln.compile(module, ir="dynamo", inputs=list(dynamic), **settings)
    assert engine_count(gm) >= 1, "nothing was compiled into an engine"
    for which in ("min_shape", "opt_shape", "max_shape"):
        xs = [_random_like(x, getattr(spec, which)) for x, spec in zip(inputs, dynamic)]
        with torch.no_grad():
            assert_outputs_close(gm(*xs), module(*xs), rtol, atol)
    return gm


def _random_like(x: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    if x.dtype.is_floating_point:
        return torch.randn(tuple(shape), dtype=x.dtype)
    if x.dtype == torch.bool:
        return torch.randint(0, 2, tuple(shape)).bool()
    hi = int(x.max().item()) + 1 if x.numel() else 2
    return torch.randint(0, max(hi, 1), tuple(shape), dtype=x.dtype)
