"""The just-in-time frontend: ``torch.compile(model, backend="kiln")``.

Dynamo hands each captured FX graph to ``kiln_backend``; aot_autograd lowers it to core ATen with
kiln's decomposition table (functionalized, inference only) and the same partitioner and builder as
the ahead-of-time path compile it into a hybrid GraphModule. ``options={...}`` takes
CompilationSettings fields; ``mode`` maps onto them (``_MODES``). A graph whose compilation fails
runs eagerly with a warning unless ``pass_through_build_failures=True``. ``dynamic=True`` and
``torch._dynamo.mark_dynamic`` reach kiln as symbolic sizes, which become engine symbols with the
ranges torch's shape environment gives them. Parameters arrive as graph inputs here, so they are
engine inputs rather than constants.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch

from kiln._decompositions import decomposition_table
from kiln._settings import CompilationSettings


# torch.compile's modes as kiln settings: reduce-overhead is kiln's CUDA-graph runtime.
_MODES: dict[str, dict[str, Any]] = {
    "default": {"use_cuda_graphs": False},  # as torch.compile's own default mode
    "reduce-overhead": {"use_cuda_graphs": True},
    "max-autotune": {"optimization_level": 5, "use_cuda_graphs": True},
    "max-autotune-no-cudagraphs": {"optimization_level": 5, "use_cuda_graphs": False},
}


def settings_for(mode: str | None, options: dict | None) -> CompilationSettings:
    """CompilationSettings from torch.compile's ``mode`` and ``options``."""
    if mode is not None and mode not in _MODES:
        raise ValueError(f"kiln: torch.compile mode must be one of {list(_MODES)}, got {mode!r}")
    return CompilationSettings.from_kwargs({**_MODES[mode or "default"], **dict(options or {})})


def kiln_backend(gm: torch.fx.GraphModule, example_inputs: list, options: dict | None = None,
                 mode: str | None = None, **kwargs: Any) -> Any:
    """The torch.compile backend named "kiln"."""
    from functorch.compile import make_boxed_func
    from torch._dynamo.backends.common import aot_autograd

    from kiln.frontends.dynamo import compile_graph_module

    settings = settings_for(mode, {**dict(options or {}), **kwargs})

    def compile_forward(aten_gm: torch.fx.GraphModule, sample_inputs: list) -> Any:
        try:
            compiled = compile_graph_module(aten_gm, settings)
        except Exception as e:
            if settings.pass_through_build_failures:
                raise
            warnings.warn(f"kiln: a torch.compile graph failed to compile and runs eagerly: {e}",
                          stacklevel=2)
            return make_boxed_func(aten_gm.forward)
        return make_boxed_func(compiled.forward)

    table = dict(decomposition_table().items())
    return aot_autograd(fw_compiler=compile_forward, decompositions=table)(gm, example_inputs)


def register() -> None:
    """Registers "kiln" with torch.compile unless its entry point will (installed packages)."""
    from importlib.metadata import entry_points

    from torch._dynamo.backends import registry

    if "kiln" in registry._COMPILER_FNS:
        return
    if any(ep.name == "kiln" for ep in entry_points(group="torch_dynamo_backends")):
        return  # torch loads kiln_backend through the entry point on first use
    registry.register_backend(kiln_backend, name="kiln")
