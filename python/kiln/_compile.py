"""``kiln.compile``, ``kiln.save``, ``kiln.load`` and ``kiln.convert_method_to_engine``.

One entry over the frontends: ``ir="dynamo"`` (and ``"default"`` for nn.Module, GraphModule and
ExportedProgram) goes through torch.export; ``"torch_compile"`` returns torch.compile's boxed
function with the kiln backend; ``"fx"`` traces with torch.fx first. TorchScript arrives later.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import torch

from kiln import _C
from kiln._settings import CompilationSettings
from kiln.frontends import dynamo
from kiln.runtime import register_engine

_IRS = ("default", "dynamo", "torch_compile", "fx")


def compile(module: Any, ir: str = "default", inputs: Sequence[Any] | None = None,
            arg_inputs: Sequence[Any] | None = None, kwarg_inputs: dict[str, Any] | None = None,
            enabled_precisions: set | None = None, **settings: Any) -> torch.fx.GraphModule:
    """Compiles a model with kiln; see ``CompilationSettings`` for ``settings``.

    ``module`` is an nn.Module, a torch.fx.GraphModule or a torch.export.ExportedProgram.
    ``inputs`` are kiln.Input specs or example tensors. Returns a GraphModule in which supported
    parts run as kiln engines and the rest as PyTorch ops.
    """
    if ir not in _IRS:
        raise ValueError(f"ir must be one of {list(_IRS)}, got {ir!r}")
    if enabled_precisions is not None:
        settings["enabled_precisions"] = enabled_precisions
    CompilationSettings.from_kwargs(settings)  # fail on bad settings before tracing
    if ir == "torch_compile":  # the boxed function that compiles on first call
        return torch.compile(module, backend="kiln", options=settings)
    if ir == "fx":
        from kiln import fx

        return fx.compile(module, inputs, arg_inputs=arg_inputs, kwarg_inputs=kwarg_inputs,
                          **settings)
    if isinstance(module, torch.export.ExportedProgram):
        ep = module
    elif isinstance(module, torch.nn.Module):
        if inputs is None and arg_inputs is None:
            raise ValueError("kiln.compile needs inputs (kiln.Input specs or example tensors) to "
                             "trace an nn.Module")
        ep = dynamo.trace(module, inputs, arg_inputs=arg_inputs, kwarg_inputs=kwarg_inputs)
    else:
        raise TypeError(f"kiln.compile takes an nn.Module, GraphModule or ExportedProgram, got "
                        f"{type(module).__name__}")
    gm = dynamo.compile(ep, inputs, arg_inputs=arg_inputs, kwarg_inputs=kwarg_inputs, **settings)
    gm._kiln_inputs = dynamo.as_inputs(arg_inputs if arg_inputs is not None else inputs)
    return gm


def convert_method_to_engine(module: Any, method_name: str = "forward", inputs: Sequence[Any] | None = None,
                             arg_inputs: Sequence[Any] | None = None, ir: str = "default",
                             enabled_precisions: set | None = None, **settings: Any) -> bytes:
    """One engine file (bytes, as ``kiln run`` takes) for the whole model; every op must convert."""
    if method_name != "forward":
        raise ValueError("kiln converts the forward method only")
    settings.update(require_full_compilation=True, min_block_size=1)
    gm = compile(module, ir, inputs, arg_inputs, None, enabled_precisions, **settings)
    engines = [n for n in gm.graph.nodes if n.target is torch.ops.kiln.execute_engine.default]
    if len(engines) != 1:
        raise RuntimeError(f"the model compiled to {len(engines)} engines; one engine file needs a "
                           "connected graph")
    return getattr(gm, engines[0].args[1].target).numpy().tobytes()


def save(module: torch.fx.GraphModule, file_path: str | os.PathLike, *, output_format: str = "exported_program",
         inputs: Sequence[Any] | None = None, arg_inputs: Sequence[Any] | None = None,
         kwarg_inputs: dict[str, Any] | None = None, dynamic_shapes: Any = None, **kwargs: Any) -> None:
    """Saves a kiln-compiled module as an ExportedProgram (torch.export.save) with its engines.

    ``inputs`` default to the ones it was compiled with; their dynamic ranges (or an explicit
    ``dynamic_shapes``) make the saved program dynamic.
    """
    if output_format != "exported_program":
        raise ValueError(f"output_format {output_format!r} is not supported yet; use 'exported_program'")
    if kwargs:
        raise TypeError(f"unknown argument(s) {sorted(kwargs)}")
    specs = dynamo.as_inputs(arg_inputs if arg_inputs is not None else inputs) if (
        inputs is not None or arg_inputs is not None) else getattr(module, "_kiln_inputs", None)
    if specs is None:
        raise ValueError("kiln.save needs inputs (kiln.Input specs or example tensors)")
    spec, _, _ = dynamo._dynamic_shapes(specs)
    if dynamic_shapes is None and any(x is not None for x in spec):
        dynamic_shapes = tuple(spec)
    example = tuple(i.example_tensor(_device_of(module)) for i in specs)
    ep = torch.export.export(module, example, kwarg_inputs or {}, dynamic_shapes=dynamic_shapes,
                             strict=False)
    torch.export.save(ep, file_path)


def _device_of(module: torch.nn.Module) -> torch.device:
    for t in list(module.parameters()) + list(module.buffers()):
        if not (t.dtype == torch.uint8 and t.dim() == 1):
            return t.device
    return torch.device("cpu")


def load(file_path: str | os.PathLike, **kwargs: Any) -> torch.export.ExportedProgram:
    """Loads a program saved by ``kiln.save``; its engines are registered in this process."""
    ep = torch.export.load(file_path, **kwargs)
    for name, t in list(ep.state_dict.items()) + list(ep.constants.items()):
        if "_kiln_engine_" in name and isinstance(t, torch.Tensor):
            register_engine(t.detach().cpu().numpy().tobytes())
    return ep
