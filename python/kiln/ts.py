"""``kiln.ts``: the TorchScript frontend, as ``torch_tensorrt.ts``.

``kiln.ts.compile(module, inputs)`` takes a ScriptModule (an nn.Module is scripted first, or traced
where scripting fails) and returns a ``torch.jit.ScriptModule`` in which supported parts are kiln
engines (``torch.ops.kiln.execute_engine`` calls) and the rest runs in TorchScript. The result
round-trips through ``torch.jit.save`` / ``torch.jit.load`` in any process that has imported kiln.

The way in is shared with the other frontends: torch's TorchScript-to-export converter
(``torch._export.converter``, the only TorchScript -> ATen route torch has) turns the TorchScript
graph into an ExportedProgram; the ahead-of-time path re-exports it with the Inputs' dynamic
ranges, partitions and builds; ``to_torchscript`` scripts the hybrid graph. One converter stack,
one partitioner.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import torch
import torch.fx


def _require_torchscript() -> Any:
    """torch's TorchScript -> ExportedProgram converter, or a clear error if this torch has none."""
    if not hasattr(torch.jit, "script") or not hasattr(torch.jit, "ScriptModule"):
        raise RuntimeError(f"torch {torch.__version__} has no TorchScript (torch.jit.script); use "
                           "kiln.compile(module, ir='dynamo') instead")
    try:
        from torch._export.converter import TS2EPConverter
    except ImportError as e:
        raise RuntimeError(
            f"torch {torch.__version__} cannot convert TorchScript to an ExportedProgram "
            f"(torch._export.converter: {e}); kiln's TorchScript frontend needs it. Use "
            "kiln.compile(module, ir='dynamo') for nn.Modules instead") from e
    return TS2EPConverter


def _as_script_module(module: Any, example: tuple[torch.Tensor, ...]) -> Any:
    """A ScriptModule as given; an nn.Module scripted (or traced when scripting fails)."""
    if isinstance(module, (torch.jit.ScriptModule, torch.jit.ScriptFunction)):
        return module
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"kiln.ts.compile takes a torch.jit.ScriptModule or an nn.Module, got "
                        f"{type(module).__name__}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # TorchScript's deprecation notice
        try:
            return torch.jit.script(module)
        except Exception as e:
            why = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            try:
                traced = torch.jit.trace(module, example, check_trace=False)
            except Exception as trace_error:
                raise RuntimeError(
                    f"kiln.ts.compile: {type(module).__name__} can be neither scripted "
                    f"({why}) nor traced ({trace_error}); use kiln.compile(module, "
                    "ir='dynamo') or torch.compile(module, backend='kiln')") from trace_error
    warnings.warn(f"kiln.ts.compile: torch.jit.script failed on {type(module).__name__}, so it was "
                  f"traced with torch.jit.trace (control flow is fixed to the example inputs): "
                  f"{why}", stacklevel=3)
    return traced


def compile(module: Any, inputs: Sequence[Any] | None = None, *,
            arg_inputs: Sequence[Any] | None = None, **settings: Any) -> torch.jit.ScriptModule:
    """Compiles a ScriptModule (or an nn.Module, scripted first) into a ScriptModule with engines."""
    from kiln._compile import compile as kiln_compile
    from kiln.frontends.dynamo import as_inputs, module_device

    converter = _require_torchscript()
    if inputs is not None and arg_inputs is not None:
        raise ValueError("give inputs or arg_inputs, not both")
    specs = as_inputs(arg_inputs if arg_inputs is not None else inputs)
    if not specs:
        raise ValueError("kiln.ts.compile needs inputs (kiln.Input specs or example tensors)")
    device = module_device(module) if isinstance(module, torch.nn.Module) else torch.device("cpu")
    example = tuple(s.example_tensor(device) for s in specs)
    script = _as_script_module(module, example)
    if getattr(script, "training", False):
        script.eval()
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Manually populate ... into state_dict"
            ep = converter(script, example).convert()
    except Exception as e:
        raise RuntimeError(
            f"kiln.ts.compile: torch could not convert the TorchScript of "
            f"{getattr(script, 'original_name', type(script).__name__)} to ATen: {e}\n\nkiln hint: "
            "compile the nn.Module with kiln.compile(module, ir='dynamo') instead") from e
    hybrid = kiln_compile(ep.module(), "dynamo", specs, **settings)
    return to_torchscript(hybrid)


def to_torchscript(gm: torch.fx.GraphModule) -> torch.jit.ScriptModule:
    """Scripts a kiln hybrid GraphModule: engines stay ``kiln::execute_engine`` calls, the rest
    becomes TorchScript. Inputs are the flat tensors the graph takes; a single output is returned as
    a tensor, several as a tuple (pytree containers such as dicts are flattened)."""
    _require_torchscript()
    graph = torch.fx.Graph()
    out = graph.graph_copy(gm.graph, {})
    for node in list(graph.nodes):
        if node.op == "call_module" and not node.users:  # torch.export's _guards_fn input checks
            graph.erase_node(node)
        elif node.op == "call_function" and isinstance(node.target, torch._ops.OpOverload):
            node.target = node.target.overloadpacket  # TorchScript resolves overloads by type
        elif node.op == "call_module":
            raise RuntimeError(f"kiln: cannot script the submodule call '{node.target}'")
    if isinstance(out, (tuple, list)) and len(out) == 1:
        out = out[0]
    graph.output(tuple(out) if isinstance(out, list) else out)
    flat = torch.fx.GraphModule(gm, graph, class_name="KilnModule")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            return torch.jit.script(flat)
    except Exception as e:
        raise RuntimeError(f"kiln: the compiled graph could not be scripted for TorchScript: {e}"
                           ) from e
