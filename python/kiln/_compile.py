"""``kiln.compile``, ``kiln.save``, ``kiln.load`` and ``kiln.convert_method_to_engine``.

One entry over the frontends: ``ir="dynamo"`` (and ``"default"`` for nn.Module, GraphModule and
ExportedProgram) goes through torch.export; ``"torch_compile"`` returns torch.compile's boxed
function with the kiln backend; ``"fx"`` traces with torch.fx first; ``"ts"``/``"torchscript"`` (and
``"default"`` for a ScriptModule) returns a ScriptModule.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Sequence
from typing import Any

import torch

from kiln import _C
from kiln._settings import CompilationSettings
from kiln.frontends import dynamo
from kiln.runtime import register_engine

_IRS = ("default", "dynamo", "torch_compile", "fx", "ts", "torchscript")
_FORMATS = ("exported_program", "torchscript")


def compile(module: Any, ir: str = "default", inputs: Sequence[Any] | None = None,
            arg_inputs: Sequence[Any] | None = None, kwarg_inputs: dict[str, Any] | None = None,
            enabled_precisions: set | None = None, **settings: Any) -> Any:
    """Compiles a model with kiln; see ``CompilationSettings`` for ``settings``.

    ``module`` is an nn.Module, a torch.fx.GraphModule, a torch.export.ExportedProgram or a
    torch.jit.ScriptModule. ``inputs`` are kiln.Input specs or example tensors. Returns a
    GraphModule in which supported parts run as kiln engines and the rest as PyTorch ops (a
    ScriptModule for ``ir="ts"``, torch.compile's function for ``ir="torch_compile"``).
    """
    if ir not in _IRS:
        raise ValueError(f"ir must be one of {list(_IRS)}, got {ir!r}")
    if enabled_precisions is not None:
        settings["enabled_precisions"] = enabled_precisions
    CompilationSettings.from_kwargs(settings)  # fail on bad settings before tracing
    if ir == "torch_compile":  # the boxed function that compiles on first call
        return torch.compile(module, backend="kiln", options=settings)
    if ir == "default" and isinstance(module, (torch.jit.ScriptModule, torch.jit.ScriptFunction)):
        ir = "ts"
    if ir in ("ts", "torchscript"):
        from kiln import ts

        return ts.compile(module, inputs, arg_inputs=arg_inputs, **settings)
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


def save(module: Any, file_path: str | os.PathLike, *, output_format: str = "exported_program",
         inputs: Sequence[Any] | None = None, arg_inputs: Sequence[Any] | None = None,
         kwarg_inputs: dict[str, Any] | None = None, dynamic_shapes: Any = None, **kwargs: Any) -> None:
    """Saves a kiln-compiled module with its engines.

    ``output_format="exported_program"`` (torch.export.save): ``inputs`` default to the ones it
    was compiled with; their dynamic ranges (or an explicit ``dynamic_shapes``) make the saved
    program dynamic. ``"torchscript"`` (torch.jit.save): a hybrid GraphModule is scripted first, a
    ScriptModule from ``kiln.ts.compile`` is saved as it is.
    """
    if output_format not in _FORMATS:
        raise ValueError(f"output_format must be one of {list(_FORMATS)}, got {output_format!r}")
    if kwargs:
        raise TypeError(f"unknown argument(s) {sorted(kwargs)}")
    if output_format == "torchscript":
        from kiln import ts

        script = module if isinstance(module, torch.jit.ScriptModule) else ts.to_torchscript(module)
        torch.jit.save(script, os.fspath(file_path))
        return
    if isinstance(module, torch.jit.ScriptModule):
        raise ValueError("a ScriptModule saves with output_format='torchscript'")
    specs = dynamo.as_inputs(arg_inputs if arg_inputs is not None else inputs) if (
        inputs is not None or arg_inputs is not None) else getattr(module, "_kiln_inputs", None)
    if specs is None:
        raise ValueError("kiln.save needs inputs (kiln.Input specs or example tensors)")
    spec, _, _ = dynamo._dynamic_shapes(specs)
    if dynamic_shapes is None and any(x is not None for x in spec):
        dynamic_shapes = tuple(spec)
    example = tuple(i.example_tensor(dynamo.module_device(module)) for i in specs)
    ep = torch.export.export(module, example, kwarg_inputs or {}, dynamic_shapes=dynamic_shapes,
                             strict=False)
    torch.export.save(ep, file_path)


def load(file_path: str | os.PathLike, **kwargs: Any) -> Any:
    """Loads what ``kiln.save`` wrote: an ExportedProgram, or a ScriptModule for TorchScript files.
    The engines are registered in this process."""
    if not os.path.isfile(file_path):
        raise FileNotFoundError(f"kiln.load: no file {os.fspath(file_path)!r}")
    if _is_torchscript(file_path):
        script = torch.jit.load(os.fspath(file_path), **kwargs)
        for name, t in script.named_buffers():
            if "_kiln_engine_" in name:
                register_engine(t.detach().cpu().numpy().tobytes())
        return script
    ep = torch.export.load(file_path, **kwargs)
    for name, t in list(ep.state_dict.items()) + list(ep.constants.items()):
        if "_kiln_engine_" in name and isinstance(t, torch.Tensor):
            register_engine(t.detach().cpu().numpy().tobytes())
    return ep


def _is_torchscript(file_path: str | os.PathLike) -> bool:
    """torch.jit.save archives hold <name>/code/ and <name>/constants.pkl; .pt2 archives do not."""
    try:
        with zipfile.ZipFile(file_path) as z:
            names = z.namelist()
    except zipfile.BadZipFile as e:
        raise ValueError(f"kiln.load: {os.fspath(file_path)!r} is not a saved kiln program "
                         f"(not a zip archive: {e})") from e
    return any(n.endswith("/constants.pkl") for n in names) and any("/code/" in n for n in names)
