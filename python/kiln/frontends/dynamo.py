"""The ahead-of-time frontend: torch.export -> core ATen -> partition -> engines -> hybrid graph.

``trace`` runs torch.export with kiln Inputs turned into ``torch.export.Dim`` ranges. ``compile``
lowers with kiln's decomposition table, hands the graph to the C++ partitioner, builds one engine
per group and returns a GraphModule in which each engine is one ``torch.ops.kiln.execute_engine``
call and every other node is the original torch op.
"""

from __future__ import annotations

import heapq
import inspect
import logging
import operator
import time
import warnings
from collections.abc import Sequence
from typing import Any

import torch
import torch.fx

from kiln import _C
from kiln._decompositions import decomposition_table
from kiln._interchange import _attr, bounded, target_name, to_torch_graph
from kiln._settings import CompilationSettings, Device, Input, is_channels_last
from kiln.runtime import engine_key, register_engine

logger = logging.getLogger("kiln")


# ---- inputs ----------------------------------------------------------------------------------


def as_inputs(items: Sequence[Any] | None, what: str = "inputs") -> list[Input]:
    """kiln Inputs from Inputs and tensors (plain tensors are static Inputs)."""
    out = []
    for i, x in enumerate(items or ()):
        if isinstance(x, Input):
            out.append(x)
        elif isinstance(x, torch.Tensor):
            out.append(Input.from_tensor(x))
        else:
            raise ValueError(f"{what}[{i}]: expected a kiln.Input or a torch.Tensor, got "
                             f"{type(x).__name__}")
    return out


def _dynamic_shapes(inputs: list[Input], names: Sequence[str] = ()
                    ) -> tuple[list, dict[str, int], dict[str, tuple[int, int]]]:
    """torch.export dynamic_shapes for the Inputs, plus opt values and ranges by Dim name.
    ``names`` (the forward's argument names) name the dims of unnamed Inputs."""
    dims: dict[str, torch.export.Dim] = {}
    spec = []
    opts: dict[str, int] = {}
    ranges: dict[str, tuple[int, int]] = {}
    for k, inp in enumerate(inputs):
        if not inp.is_dynamic:
            spec.append(None)
            continue
        entry = {}
        for d in inp.dynamic_dims():
            lo, hi = inp.min_shape[d], inp.max_shape[d]
            name = _dim_name(inp, names[k] if k < len(names) else f"input{k}", d)
            if name in dims:
                if ranges[name] != (lo, hi):
                    raise ValueError(f"Input {inp.name or k}: shared dim '{name}' has range "
                                     f"[{lo}, {hi}] here and {list(ranges[name])} elsewhere")
            else:
                dims[name] = torch.export.Dim(name, min=lo, max=hi)
                ranges[name] = (lo, hi)
                opts[name] = inp.opt_shape[d]
            entry[d] = dims[name]
        spec.append(entry)
    return spec, opts, ranges


def _dim_name(inp: Input, fallback: str, d: int) -> str:
    """'<input>_dim<d>', or the shared_dims name; <input> is the Input's name or `fallback`."""
    name = inp.shared_dims.get(d) or f"{inp.name or fallback}_dim{d}"
    return "".join(c if c.isalnum() or c == "_" else "_" for c in name)


def trace(module: torch.nn.Module, inputs: Sequence[Any] | None = None, *,
          arg_inputs: Sequence[Any] | None = None, kwarg_inputs: dict[str, Any] | None = None,
          dynamic_shapes: Any = None, strict: bool = False) -> torch.export.ExportedProgram:
    """torch.export of ``module`` at the Inputs' opt shapes with their dynamic ranges."""
    if inputs is not None and arg_inputs is not None:
        raise ValueError("give inputs or arg_inputs, not both")
    args = as_inputs(arg_inputs if arg_inputs is not None else inputs, "inputs")
    kwargs = kwarg_inputs or {}
    spec, _, _ = _dynamic_shapes(args, _arg_names(module, len(args)))
    device = module_device(module)
    example = tuple(a.example_tensor(device) for a in args)
    example_kwargs = {k: (v.example_tensor(device) if isinstance(v, Input) else v)
                      for k, v in kwargs.items()}
    if dynamic_shapes is None and any(s is not None for s in spec):
        dynamic_shapes = tuple(spec) if not kwargs else {**dict(zip(_arg_names(module, len(spec)), spec))}
    try:
        return torch.export.export(module, example, example_kwargs, dynamic_shapes=dynamic_shapes,
                                   strict=strict)
    except Exception as e:  # the export error, plus what to try
        raise RuntimeError(
            f"torch.export could not trace {type(module).__name__}: {e}\n\nkiln hint: kiln compiles "
            "what torch.export can capture. Data-dependent control flow, unsupported Python or "
            "dynamic-shape constraint violations must be fixed in the model (see the message "
            "above), or compile it with torch.compile(model, backend='kiln'), which splits the "
            "graph where it cannot trace."
        ) from e


def module_device(module: torch.nn.Module) -> torch.device:
    """The device of a module's weights (kiln engine buffers aside); cpu if it has none."""
    for name, t in list(module.named_parameters()) + list(module.named_buffers()):
        if "_kiln_engine_" not in name:
            return t.device
    return torch.device("cpu")


def _arg_names(module: torch.nn.Module, n: int) -> list[str]:
    """The first n parameter names of module.forward ([] if its signature cannot be read)."""
    try:
        params = inspect.signature(module.forward).parameters.values()
    except (TypeError, ValueError):
        return []
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    names = []
    for p in params:
        if p.kind not in positional:  # *args: its inputs keep their index names
            break
        names.append(p.name)
    return names[:n]


# ---- compile ---------------------------------------------------------------------------------


def compile(exported_program: torch.export.ExportedProgram, inputs: Sequence[Any] | None = None, *,
            arg_inputs: Sequence[Any] | None = None, kwarg_inputs: dict[str, Any] | None = None,
            **settings: Any) -> torch.fx.GraphModule:
    """Compiles an ExportedProgram into a hybrid GraphModule (engines + PyTorch ops)."""
    s = CompilationSettings.from_kwargs(settings)
    args = as_inputs(arg_inputs if arg_inputs is not None else inputs)
    ep = exported_program.run_decompositions(decomposition_table())
    gm = ep.module()
    return compile_graph_module(gm, s, _symbols(gm, ep, args))


def _symbols(gm: torch.fx.GraphModule, ep: torch.export.ExportedProgram,
             args: list[Input]) -> dict[str, tuple[str, int, int, int | None]]:
    """name, range and opt size of each shape symbol: ranges from the program's range constraints
    (torch's shape environment assumes sizes >= 2), names and opt sizes from the Inputs."""
    info: dict[str, tuple[str, int, int, int | None]] = {}
    for sym, vr in ep.range_constraints.items():
        if not getattr(sym, "is_Symbol", False):  # derived dims (2*h) are expressions of symbols
            continue
        lo, hi = bounded(vr.lower, 0), bounded(vr.upper, 2**31 - 1)
        info[sym.name] = (sym.name, lo, min(hi, 2**31 - 1), None)
    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
    _, _, ranges = _dynamic_shapes(args, [p.name for p in placeholders])
    for node, inp in zip(placeholders, args):
        val = node.meta.get("val")
        if not isinstance(val, torch.Tensor):
            continue
        for d, size in enumerate(val.shape):
            expr = size.node.expr if isinstance(size, torch.SymInt) else None
            if expr is None or not getattr(expr, "is_Symbol", False) or d >= len(inp.opt_shape):
                continue
            name = _dim_name(inp, node.name, d)
            lo, hi = ranges.get(name, (inp.min_shape[d], inp.max_shape[d]))
            info[expr.name] = (name, lo, hi, inp.opt_shape[d])
    return info


def compile_graph_module(gm: torch.fx.GraphModule, s: CompilationSettings,
                         symbols: dict[str, tuple[str, int, int, int | None]] | None = None
                         ) -> torch.fx.GraphModule:
    """Partitions a GraphModule of ATen ops (with meta['val']) and swaps groups for engines.
    ``symbols`` gives shape symbols' names, ranges and opt sizes where torch's own are not right."""
    t0 = time.perf_counter()
    device = (s.device or graph_device(gm)).type
    _remove_tensor_metadata_asserts(gm)
    _as_strided_to_views(gm)
    tg, nodes, keep = to_torch_graph(gm, symbols)
    per_node, groups, report = _C.partition(
        tg, s.min_block_size, sorted(s.torch_executed_ops), s.require_full_compilation,
        s.f32_compute, s.truncate_double, device)
    _log_fallbacks(nodes, per_node)
    if s.dryrun:
        print(report, end="")
        if isinstance(s.dryrun, str):
            with open(s.dryrun, "w") as f:
                f.write(report)
        return gm
    engines = []
    for k, (members, ins, outs) in enumerate(groups):
        t = time.perf_counter()
        channels_last = [j for j, i in enumerate(ins) if _is_channels_last(nodes[i])]
        try:
            blob = _C.build_group(tg, members, ins, outs, s.f32_compute, s.truncate_double,
                                  device, s.use_cuda_graphs, channels_last)
        except Exception as e:
            if s.pass_through_build_failures or s.require_full_compilation:
                raise
            warnings.warn(f"kiln: engine {k} ({len(members)} nodes) failed to build and runs in "
                          f"PyTorch: {e}", stacklevel=3)
            continue
        logger.info("kiln: built engine %d (%d nodes, %d bytes) in %.2f s", k, len(members),
                    len(blob), time.perf_counter() - t)
        engines.append((members, ins, outs, blob, channels_last))
    del keep
    hybrid = _hybrid(gm, nodes, engines)
    hybrid.kiln_report = report  # the partition report, as dryrun prints it
    logger.info("kiln: compiled %d engine(s) in %.2f s", len(engines), time.perf_counter() - t0)
    return hybrid


def _is_channels_last(node: torch.fx.Node) -> bool:
    """Whether the node's tensor is channels-last: its engine then reads that memory as it is (an
    [N, H, W, C] input) instead of a contiguous copy."""
    val = node.meta.get("val")
    return isinstance(val, torch.Tensor) and is_channels_last(val)


def graph_device(gm: torch.fx.GraphModule) -> Device:
    """The device of a graph's tensors (inputs first, then weights): where its engines should run."""
    for node in gm.graph.nodes:
        val = node.meta.get("val")
        if node.op == "get_attr":
            val = _attr(gm, node.target)
        if isinstance(val, torch.Tensor) and val.device.type in ("cpu", "cuda"):
            if not (node.op == "get_attr" and "_kiln_engine_" in str(node.target)):
                return Device(val.device)
    return Device("cpu")


def _remove_tensor_metadata_asserts(gm: torch.fx.GraphModule) -> None:
    """Drops aten._assert_tensor_metadata nodes (export's dtype checks after casts): engines check
    their inputs themselves, and left in PyTorch such a node would make an engine export the value
    it checks (and fail under truncate_double, where float64 values become float32)."""
    target = getattr(torch.ops.aten, "_assert_tensor_metadata", None)
    for node in list(gm.graph.nodes):
        if target is not None and node.op == "call_function" and node.target == target.default:
            gm.graph.erase_node(node)
    gm.recompile()


def _as_strided_to_views(gm: torch.fx.GraphModule) -> None:
    """Turns aten.as_strided nodes that only restride size-1 dims into aten.view. AOTAutograd emits
    them for channels-last models (a global pool's [N, C, 1, 1] result is given channels-last
    strides before the flatten); kiln's values have no strides, and such a node reads its input's
    elements in their logical order, which is what a view (a kiln reshape) means."""
    target = torch.ops.aten.as_strided.default
    for node in list(gm.graph.nodes):
        if node.op != "call_function" or node.target != target or len(node.args) < 3:
            continue
        x = node.args[0].meta.get("val") if isinstance(node.args[0], torch.fx.Node) else None
        size, stride = node.args[1], node.args[2]
        offset = node.args[3] if len(node.args) > 3 else node.kwargs.get("storage_offset")
        if isinstance(x, torch.Tensor) and _restrides_only_unit_dims(x, size, stride, offset):
            node.target = torch.ops.aten.view.default
            node.args = (node.args[0], list(size))
            node.kwargs = {}
    gm.recompile()


def _restrides_only_unit_dims(x: torch.Tensor, size, stride, offset) -> bool:
    """Whether x.as_strided(size, stride, offset) is x's elements in row-major order: x is dense
    row-major over its dims larger than 1, and the result has the same dims larger than 1, with
    the same strides, at the same storage offset."""
    values = [x.shape, x.stride(), size, stride]
    if not all(isinstance(v, int) for seq in values for v in seq) or len(size) != len(stride):
        return False
    if offset is not None and offset != x.storage_offset():
        return False
    mine = [(n, s) for n, s in zip(x.shape, x.stride()) if n != 1]
    theirs = [(n, s) for n, s in zip(size, stride) if n != 1]
    expected = 1
    for n, s in reversed(mine):
        if s != expected:
            return False
        expected *= n
    return mine == theirs


def _log_fallbacks(nodes: list[torch.fx.Node], per_node: list) -> None:
    seen: dict[str, int] = {}
    first: dict[str, tuple[torch.fx.Node, str]] = {}
    for node, (cls, group, reason) in zip(nodes, per_node):
        if cls != "compute" or group >= 0 or target_name(node) == "operator.getitem":
            continue
        name = target_name(node)
        seen[name] = seen.get(name, 0) + 1
        first.setdefault(name, (node, reason))
    for name, count in seen.items():
        node, reason = first[name]
        logger.warning("kiln: %s (%d node%s, first '%s') runs in PyTorch: %s", name, count,
                       "s" if count > 1 else "", node.name, reason)


def _hybrid(gm: torch.fx.GraphModule, nodes: list[torch.fx.Node], engines: list) -> torch.fx.GraphModule:
    """A new graph in which each engine's nodes are one execute_engine call (topologically placed)."""
    index = {n: i for i, n in enumerate(nodes)}
    unit_of = list(range(len(nodes)))  # node -> unit; an engine's nodes share their first's unit
    engine_of_unit: dict[int, int] = {}
    for e, (members, _, _, _, _) in enumerate(engines):
        for m in members:
            unit_of[m] = members[0]
        engine_of_unit[members[0]] = e
    # Dependencies between units, then Kahn's algorithm keeping the original order where free.
    deps: dict[int, set[int]] = {u: set() for u in set(unit_of)}
    users: dict[int, set[int]] = {u: set() for u in deps}
    for i, n in enumerate(nodes):
        for src in n.all_input_nodes:
            a, b = unit_of[index[src]], unit_of[i]
            if a != b:
                deps[b].add(a)
                users[a].add(b)
    ready = [u for u, d in deps.items() if not d]
    heapq.heapify(ready)
    order = []
    while ready:
        u = heapq.heappop(ready)
        order.append(u)
        for v in users[u]:
            deps[v].discard(u)
            if not deps[v]:
                heapq.heappush(ready, v)
    graph = torch.fx.Graph()
    env: dict[torch.fx.Node, torch.fx.Node] = {}
    for u in order:
        if u not in engine_of_unit:
            n = nodes[u]
            env[n] = graph.node_copy(n, lambda x: env[x])
            continue
        e = engine_of_unit[u]
        members, ins, outs, blob, channels_last = engines[e]
        attr = f"_kiln_engine_{e}"
        gm.register_buffer(attr, torch.frombuffer(bytearray(blob), dtype=torch.uint8))
        key = register_engine(blob, engine_key(blob))
        blob_node = graph.get_attr(attr)
        args = [env[nodes[i]] for i in ins]
        for j in channels_last:  # the engine takes this input's memory as [N, H, W, C]
            args[j] = graph.call_function(torch.ops.aten.permute.default, (args[j], [0, 2, 3, 1]))
        call = graph.call_function(torch.ops.kiln.execute_engine.default, (args, blob_node, key))
        for k, o in enumerate(outs):
            item = graph.call_function(operator.getitem, (call, k))
            item.meta = dict(nodes[o].meta)
            env[nodes[o]] = item
    graph._codegen = gm.graph._codegen
    gm.graph = graph
    gm.graph.eliminate_dead_code()
    gm.delete_all_unused_submodules()  # weights now inside engines
    _delete_unused_tensors(gm)
    gm.recompile()
    return gm


def _delete_unused_tensors(gm: torch.fx.GraphModule) -> None:
    """Drops the parameters and buffers that no node reads: not named by a get_attr, and not inside
    a submodule that a get_attr or call_module names (ViT's root-level class_token, say). Otherwise
    the compiled module keeps them alive, and with them memory the engines no longer need."""
    used = {n.target for n in gm.graph.nodes if n.op in ("get_attr", "call_module")}
    tensors = [*gm.named_parameters(remove_duplicate=False),
               *gm.named_buffers(remove_duplicate=False)]
    for name, _ in tensors:
        parts = name.split(".")
        if any(".".join(parts[:k]) in used for k in range(1, len(parts) + 1)):
            continue
        owner, _, attr = name.rpartition(".")
        module = gm.get_submodule(owner) if owner else gm
        if hasattr(module, attr):
            delattr(module, attr)
