"""FX graph -> kiln TorchGraph: the only place Python walks a graph.

Each node becomes plain data: its target's name, its arguments (for ATen overloads every schema
argument positionally, defaults filled in), its ``meta["val"]`` (dtypes, symbolic shapes as
expression trees) and its source line. Weights (get_attr tensors) cross by pointer; the returned
keep-alive list must outlive the TorchGraph's use.
"""

from __future__ import annotations

import operator
import re
from typing import Any

import sympy
import torch
import torch.fx

from kiln import _C

V = _C.TorchValue

_INT_MAX = 2**31 - 1


def target_name(node: torch.fx.Node) -> str:
    """'aten.add.Tensor', 'operator.getitem', 'torch.sym_min', or the get_attr path."""
    t = node.target
    if isinstance(t, str):
        return t
    if isinstance(t, torch._ops.OpOverload):
        return str(t)
    module = getattr(t, "__module__", None) or ""
    name = getattr(t, "__name__", repr(t))
    if module in ("_operator", "operator") or t in vars(operator).values():
        module = "operator"
    return f"{module}.{name}" if module else name


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


_NAMES: dict[str, str] = {}  # torch symbol -> kiln symbol name, set per to_torch_graph call


def _sym_expr(e: Any) -> Any:
    """A sympy expression of a SymInt as a TorchValue tree."""
    if isinstance(e, (int, sympy.Integer)):
        return V.int_(int(e))
    if isinstance(e, sympy.Symbol):
        return V.symint(_NAMES.get(e.name, e.name), [])
    name = type(e).__name__
    ops = {"Add": "+", "Mul": "*", "FloorDiv": "//", "Mod": "%", "PythonMod": "%", "Min": "min",
           "Max": "max"}
    if name in ops:
        return V.symint(ops[name], [_sym_expr(a) for a in e.args])
    return V.other(f"symbolic {name}: {e}")


def _int_value(v: Any) -> Any:
    if isinstance(v, torch.SymInt):
        expr = v.node.expr
        if isinstance(expr, sympy.Integer):
            return V.int_(int(expr))
        return _sym_expr(expr)
    return V.int_(int(v))


def meta_value(v: Any) -> Any:
    """node.meta['val'] as a TorchValue."""
    if v is None:
        return V.none()
    if isinstance(v, torch.Tensor):
        return V.tensor(_dtype_name(v.dtype), [_int_value(d) for d in v.shape])
    if isinstance(v, (list, tuple)):
        return V.list([meta_value(x) for x in v])
    if isinstance(v, bool):
        return V.bool_(v)
    if isinstance(v, (int, torch.SymInt)):
        return _int_value(v)
    if isinstance(v, (float, torch.SymFloat)):
        try:
            return V.float_(float(v))
        except Exception:  # a symbolic float
            return V.other(repr(v))
    if isinstance(v, torch.SymBool):
        return V.other(repr(v))
    return V.other(type(v).__name__)


def arg_value(a: Any, index: dict[torch.fx.Node, int]) -> Any:
    """An argument as a TorchValue; nodes become references to their index."""
    if isinstance(a, torch.fx.Node):
        return V.node(index[a])
    if a is None:
        return V.none()
    if isinstance(a, bool):
        return V.bool_(a)
    if isinstance(a, int):
        return V.int_(a)
    if isinstance(a, float):
        return V.float_(a)
    if isinstance(a, str):
        return V.string(a)
    if isinstance(a, torch.dtype):
        return V.dtype(_dtype_name(a))
    if isinstance(a, (list, tuple)):
        return V.list([arg_value(x, index) for x in a])
    if isinstance(a, (torch.SymInt, torch.SymFloat)):
        return meta_value(a)
    return V.other(repr(a))


def _normalized_args(node: torch.fx.Node) -> list[Any]:
    """Every schema argument of an ATen overload, positionally, defaults filled in."""
    target = node.target
    if not isinstance(target, torch._ops.OpOverload):
        return list(node.args) + list(node.kwargs.values())
    out = []
    for i, a in enumerate(target._schema.arguments):
        if i < len(node.args) and not a.kwarg_only:
            out.append(node.args[i])
        elif a.name in node.kwargs:
            out.append(node.kwargs[a.name])
        elif a.has_default_value():
            out.append(a.default_value)
        else:
            out.append(None)
    return out


_FRAME = re.compile(r'File "([^"]+)", line (\d+), in (\S+)\n\s*(.*)')


def source_line(node: torch.fx.Node) -> str:
    """'model.py:42 in forward\\n    x = self.conv(x)' from the node's stack trace (user frame)."""
    trace = node.meta.get("stack_trace") or ""
    frames = _FRAME.findall(trace)
    if not frames:
        return ""
    path, line, fn, code = frames[-1]
    return f"{path}:{line} in {fn}\n    {code.strip()}"


def _attr(gm: torch.nn.Module, path: str) -> Any:
    obj: Any = gm
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def to_torch_graph(gm: torch.fx.GraphModule,
                   symbols: dict[str, tuple[str, int, int, int | None]] | None = None):
    """(TorchGraph, fx nodes by index, keep-alive list) for a GraphModule of ATen ops.

    ``symbols`` maps torch symbol names to (kiln name, min, max, opt); missing entries come from
    the shape environment (range) and the traced sizes (opt)."""
    symbols = symbols or {}
    _NAMES.clear()
    _NAMES.update({k: v[0] for k, v in symbols.items()})
    tg = _C.TorchGraph()
    nodes = list(gm.graph.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    keep = []
    seen: dict[str, Any] = {}
    for n in nodes:
        val = n.meta.get("val")
        if n.op == "get_attr":
            obj = _attr(gm, n.target)
            if isinstance(obj, torch.Tensor):
                val = obj
        meta = meta_value(val)
        target = target_name(n) if n.op in ("call_function", "get_attr") else n.op
        args = [arg_value(a, index) for a in _normalized_args(n)] if n.op != "placeholder" else []
        i = tg.add_node(n.name, n.op, target, args, meta, source_line(n))
        if n.op == "get_attr" and isinstance(val, torch.Tensor):
            data = val.detach().cpu().contiguous()
            keep.append(data)
            tg.set_data(i, data.data_ptr(), data.numel() * data.element_size())
        if isinstance(val, torch.Tensor):
            for d in val.shape:
                if isinstance(d, torch.SymInt):
                    for s in d.node.expr.free_symbols:
                        seen.setdefault(s.name, d.node.shape_env)
    for name, env in seen.items():
        kiln_name, lo, hi, opt = symbols.get(name, (name, *_range(name, env), None))
        if opt is None:
            opt = _hint(name, env)
        tg.add_symbol(kiln_name, lo, hi, max(lo, min(hi, opt if opt is not None else lo)))
    return tg, nodes, keep


def bounded(bound: Any, default: int) -> int:
    """A range bound as an int; infinite ones (sympy oo, torch's int_oo) give `default`."""
    try:
        return int(bound)
    except (TypeError, ValueError, AttributeError, OverflowError):
        return default


def _range(name: str, env: Any) -> tuple[int, int]:
    for sym, vr in getattr(env, "var_to_range", {}).items():
        if sym.name == name:
            return max(bounded(vr.lower, 1), 0), min(bounded(vr.upper, _INT_MAX), _INT_MAX)
    return 1, _INT_MAX


def _hint(name: str, env: Any) -> int | None:
    values = getattr(env, "backed_var_to_val", None)  # torch >= 2.14; var_to_val before
    if values is None:
        values = getattr(env, "var_to_val", {})
    for sym, v in values.items():
        if sym.name == name:
            return int(v)
    return None
