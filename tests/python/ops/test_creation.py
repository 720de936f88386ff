"""Creation converters (src/importer/creation.cc) against eager, static and dynamic.

arange / full / full_like reach kiln through kiln.compile. zeros, ones, new_*, *_like,
scalar_tensor, fill and the arange overloads other than start_step are rewritten by torch's
decomposition table, so ``compile_kept`` compiles them with the op left whole and asserts that the
op reaches kiln.
"""

import pytest
import torch

import kiln
from kiln._decompositions import decomposition_table
from kiln._settings import CompilationSettings
from kiln.frontends import dynamo
from kiln_testing import assert_outputs_close, check_converter, engine_count


class Fn(torch.nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def _overload(name):
    op, overload = name.split(".")
    return getattr(getattr(torch.ops.aten, op), overload)


def compile_kept(fn, inputs, keep, compare=True, **settings):
    """Compiles `fn` with the ATen ops in `keep` left whole, checks that they reach kiln, and (with
    `compare`) compares with eager. Returns the compiled GraphModule."""
    module = Fn(fn).eval()
    settings.setdefault("min_block_size", 1)
    settings.setdefault("require_full_compilation", True)
    ep = dynamo.trace(module, list(inputs))
    table = decomposition_table()
    kept = [_overload(k) for k in keep]
    for op in kept:
        table.pop(op, None)
    gm = ep.run_decompositions(table).module()
    targets = {n.target for n in gm.graph.nodes if n.op == "call_function"}
    for op in kept:
        assert op in targets, f"{op} was decomposed before kiln saw it: {targets}"
    out = dynamo.compile_graph_module(gm, CompilationSettings.from_kwargs(settings))
    assert engine_count(out) >= 1, "nothing was compiled into an engine"
    if compare:
        with torch.no_grad():
            assert_outputs_close(out(*inputs), module(*inputs))
    return out


STATIC = {
    "arange_end": lambda x: torch.arange(6) + x,
    "arange_start_end": lambda x: torch.arange(2, 8) * x,
    "arange_step": lambda x: torch.arange(1, 13, 2) + x,
    "arange_neg_step": lambda x: torch.arange(10, -2, -2) + x,
    "arange_float": lambda x: torch.arange(0.0, 1.5, 0.25) + x,
    "arange_float_inexact": lambda x: torch.arange(-1, 0.19, 0.2) + x,
    "arange_int_out": lambda x: (torch.arange(3, 9), x * 2),
    "arange_int32": lambda x: torch.arange(0, 12, 2, dtype=torch.int32) + x.to(torch.int32),
    "arange_f16": lambda x: torch.arange(6, dtype=torch.float16) + x.half(),
    "full": lambda x: torch.full((4, 6), 2.5) + x,
    "full_int": lambda x: (torch.full((3,), 7, dtype=torch.int64), x + 1),
    "full_bool": lambda x: torch.where(torch.full((4, 6), True), x, 0.0),
    "full_inf": lambda x: torch.maximum(torch.full((6,), float("-inf")), x),
    "zeros": lambda x: torch.zeros(4, 6) + x,
    "ones_int": lambda x: (torch.ones(2, 3, dtype=torch.int64), x * 3),
    "full_like": lambda x: torch.full_like(x, 3) * x,
    "full_like_int": lambda x: torch.full_like(x, 3, dtype=torch.int32),
    "zeros_like": lambda x: torch.zeros_like(x) + x,
    "ones_like": lambda x: torch.ones_like(x, dtype=torch.int32),
    "empty_then_fill": lambda x: torch.empty(3, 4).fill_(1.5) + x[0, 0],
    "empty_like_zero": lambda x: torch.empty_like(x).zero_() + x,
    "new_zeros": lambda x: x.new_zeros(2, 3) + 1,
    "new_ones": lambda x: x.new_ones(x.shape) + x,
    "new_full": lambda x: x.new_full((6,), 5) - x,
    "scalar_tensor": lambda x: x + torch.scalar_tensor(3.0),
    "fill": lambda x: torch.fill(x, 2.0) * x,
}


@pytest.mark.parametrize("name", sorted(STATIC))
def test_static(name):
    x = torch.randn(4, 6)
    check_converter(Fn(STATIC[name]), [x])


def test_arange_int64_input():
    x = torch.randint(0, 10, (4, 6))
    check_converter(Fn(lambda a: torch.arange(6) * a + torch.full((6,), 2)), [x])


# ---- symbolic sizes ----------------------------------------------------------------------------

DYN = kiln.Input(min_shape=(1, 2), opt_shape=(4, 6), max_shape=(8, 13))

DYNAMIC = {
    "arange_dim": lambda x: torch.arange(x.shape[1]) + x,
    "arange_start_dim": lambda x: (torch.arange(2, x.shape[1] + 2) * x).sum(0),
    "arange_float_out": lambda x: torch.arange(x.shape[1], dtype=torch.float32) * x,
    "full_like": lambda x: torch.full_like(x, 3) + x,
    "zeros_like": lambda x: (torch.zeros_like(x), x + 1),
    "ones_like_int": lambda x: (torch.ones_like(x, dtype=torch.int64), x + 1),
    "zeros": lambda x: torch.zeros(x.shape[0], 4) + x[:, :1],
    "full": lambda x: torch.full((x.shape[0], x.shape[1]), 1.5) * x,
    "full_product": lambda x: (torch.full((x.shape[0] * x.shape[1],), 2.0), x + 1),
    "new_ones": lambda x: x.new_ones(x.shape) + x,
    "fill": lambda x: torch.fill(x, 2.0) + x,
}


@pytest.mark.parametrize("name", sorted(DYNAMIC))
def test_dynamic(name):
    x = torch.randn(4, 6)
    check_converter(Fn(DYNAMIC[name]), [x], dynamic=[DYN])


# A step other than 1 or a symbolic start: torch guards the size to >= 5 for some of these.
STEPPED = {
    "arange_step_dim": lambda x: (torch.arange(0, x.shape[1], 2), x + 1),
    "arange_step3_dim": lambda x: (torch.arange(1, x.shape[1], 3), x + 1),
    "arange_neg_step_dim": lambda x: (torch.arange(x.shape[1], 0, -2), x + 1),
    "arange_neg_step3_dim": lambda x: (torch.arange(x.shape[1] + 1, -1, -3), x + 1),
    "arange_sym_start": lambda x: (torch.arange(x.shape[0], x.shape[0] + x.shape[1]), x + 1),
    "arange_sym_start_static_len": lambda x: (torch.arange(x.shape[1], x.shape[1] + 4), x + 1),
    "arange_sym_start_float": lambda x: torch.arange(x.shape[1], 2 * x.shape[1],
                                                     dtype=torch.float32) * x,
    "arange_sym_start_negative": lambda x: (torch.arange(-x.shape[1], 3, 2), x + 1),
}


@pytest.mark.parametrize("name", sorted(STEPPED))
def test_dynamic_stepped(name):
    x = torch.randn(4, 6)
    spec = kiln.Input(min_shape=(1, 5), opt_shape=(4, 6), max_shape=(8, 13))
    check_converter(Fn(STEPPED[name]), [x], dynamic=[spec])


def test_zeros_with_symbolic_batch():
    x = torch.randn(3, 4)
    spec = kiln.Input(min_shape=(1, 4), opt_shape=(3, 4), max_shape=(9, 4))
    check_converter(Fn(lambda a: torch.zeros(a.shape[0], 4) + a), [x], dynamic=[spec])


# ---- overloads torch's table rewrites: compiled with them kept whole ----------------------------

KEPT = {
    "zeros": (lambda x: torch.zeros(2, 3) + x[0, 0], ["zeros.default"]),
    "ones": (lambda x: torch.ones(6, dtype=torch.int32) * 2 + x.int(), ["ones.default"]),
    "zeros_like": (lambda x: torch.zeros_like(x) + x, ["zeros_like.default"]),
    "ones_like": (lambda x: torch.ones_like(x, dtype=torch.int64) + 1, ["ones_like.default"]),
    "new_zeros": (lambda x: x.new_zeros(3, 2) + 1, ["new_zeros.default"]),
    "new_ones": (lambda x: x.new_ones((6,)) - x, ["new_ones.default"]),
    "new_full": (lambda x: x.new_full((1, 6), 4.5) * x, ["new_full.default"]),
    "scalar_tensor": (lambda x: x * torch.scalar_tensor(-2.0), ["scalar_tensor.default"]),
    "scalar_tensor_int": (lambda x: torch.scalar_tensor(3, dtype=torch.int64) + x.long(),
                          ["scalar_tensor.default"]),
    "fill_scalar": (lambda x: torch.fill(x, 7) + 1, ["fill.Scalar"]),
    "fill_tensor": (lambda x: torch.fill(x, x.sum()) + x, ["fill.Tensor"]),
    "arange_default": (lambda x: torch.arange(6) + x, ["arange.default"]),
    "arange_start": (lambda x: torch.arange(-3, 3) * x, ["arange.start"]),
    "arange_start_float": (lambda x: torch.arange(-1.5, 4.5) * x, ["arange.start"]),
}


@pytest.mark.parametrize("name", sorted(KEPT))
def test_kept(name):
    fn, keep = KEPT[name]
    compile_kept(fn, [torch.randn(4, 6)], keep)


@pytest.mark.parametrize("name,op", [("empty", "empty.memory_format"),
                                     ("empty_like", "empty_like.default"),
                                     ("new_empty", "new_empty.default"),
                                     ("empty_permuted", "empty_permuted.default")])
def test_empty_is_zeros(name, op):
    # torch leaves the values undefined; kiln fills zeros: check shape, dtype and zeros.
    fns = {
        "empty": lambda x: (torch.empty(3, 4), x + 1),
        "empty_like": lambda x: (torch.empty_like(x, dtype=torch.int32), x + 1),
        "new_empty": lambda x: (x.new_empty((2, 5)), x + 1),
        "empty_permuted": lambda x: (torch.empty_permuted((2, 3, 4), (0, 2, 1)), x + 1),
    }
    x = torch.randn(4, 6)
    gm = compile_kept(fns[name], [x], [op], compare=False)
    got, want = gm(x)[0], fns[name](x)[0]
    assert got.shape == want.shape and got.dtype == want.dtype
    assert torch.count_nonzero(got) == 0


# ---- refused cases fall back to PyTorch ---------------------------------------------------------


def test_refused_symbolic_end_with_float_step_falls_back():
    m = Fn(lambda x: (torch.arange(0, x.shape[1], 0.5), x.sum(0) * 2)).eval()
    gm = kiln.compile(m, inputs=[DYN], min_block_size=1)
    for shape in [(1, 2), (4, 6), (8, 13)]:
        a = torch.randn(shape)
        with torch.no_grad():
            assert_outputs_close(gm(a), m(a))
    with pytest.raises(Exception, match="needs an integer step"):
        kiln.compile(m, inputs=[DYN], min_block_size=1, require_full_compilation=True)


def test_refused_symbolic_fill_value_falls_back():
    m = Fn(lambda x: torch.full_like(x, x.shape[1]) + x).eval()
    gm = kiln.compile(m, inputs=[DYN], min_block_size=1)
    for shape in [(1, 2), (4, 6), (8, 13)]:
        a = torch.randn(shape)
        with torch.no_grad():
            assert_outputs_close(gm(a), m(a))
    with pytest.raises(Exception, match="fill value .* is not a constant number"):
        kiln.compile(m, inputs=[DYN], min_block_size=1, require_full_compilation=True)
