"""Shape and layout converters (src/importer/shape.cc) against eager, static and dynamic."""

import pytest
import torch

from torch._subclasses.fake_tensor import FakeTensorMode
from torch.fx.passes.fake_tensor_prop import FakeTensorProp

import kiln
from kiln._settings import CompilationSettings
from kiln.frontends.dynamo import compile_graph_module
from kiln_testing import assert_outputs_close, check_converter, engine_count


class Fn1(torch.nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


class Fn2(Fn1):
    def forward(self, x, y):
        return self.fn(x, y)


class Fn3(Fn1):
    def forward(self, x, y, z):
        return self.fn(x, y, z)


def Fn(fn):  # noqa: N802 - a module for fn, with one positional input per parameter
    return {1: Fn1, 2: Fn2, 3: Fn3}[fn.__code__.co_argcount](fn)


# name -> (fn, input shape); every case runs in fp32 and int64.
STATIC = {
    "view": (lambda x: x.view(4, -1), (4, 6, 8)),
    "view_flat": (lambda x: x.view(-1), (4, 6, 8)),
    "view_split_dim": (lambda x: x.view(4, 2, 3, 8), (4, 6, 8)),
    "reshape_noncontig": (lambda x: x.transpose(0, 1).reshape(6, -1), (4, 6, 8)),
    "permute": (lambda x: x.permute(2, 0, 1), (4, 6, 8)),
    "permute_negative": (lambda x: x.permute(-1, -3, -2), (4, 6, 8)),
    "transpose": (lambda x: x.transpose(0, 2), (4, 6, 8)),
    "transpose_negative": (lambda x: x.transpose(-1, -2), (4, 6, 8)),
    "t": (lambda x: x.t(), (5, 7)),
    "t_1d": (lambda x: x.t() + 1, (5,)),
    "mT": (lambda x: x.mT, (3, 5, 7)),
    "expand": (lambda x: x.expand(3, 4, 5), (4, 1)),
    "expand_minus_one": (lambda x: x[:, None].expand(-1, 3, -1, -1), (4, 6, 8)),
    "expand_as": (lambda x: x.expand_as(torch.empty(2, 4, 6)), (4, 1)),
    "squeeze_all": (lambda x: x.squeeze(), (1, 4, 1, 6)),
    "squeeze_dim": (lambda x: x.squeeze(2), (1, 4, 1, 6)),
    "squeeze_negative": (lambda x: x.squeeze(-2), (1, 4, 1, 6)),
    "squeeze_not_one": (lambda x: x.squeeze(1), (1, 4, 1, 6)),
    "squeeze_dims": (lambda x: x.squeeze((0, 2)), (1, 4, 1, 6)),
    "unsqueeze": (lambda x: x.unsqueeze(1), (4, 6)),
    "unsqueeze_negative": (lambda x: x.unsqueeze(-1), (4, 6)),
    "unsqueeze_front": (lambda x: x.unsqueeze(0), (4, 6)),
    "flatten": (lambda x: x.flatten(1), (2, 3, 4, 5)),
    "flatten_middle": (lambda x: x.flatten(1, 2), (2, 3, 4, 5)),
    "flatten_all": (lambda x: torch.flatten(x), (2, 3, 4)),
    "unflatten": (lambda x: x.unflatten(1, (2, -1)), (3, 8, 5)),
    "view_as": (lambda x: x.view_as(torch.empty(6, 4)), (4, 6)),
    "repeat": (lambda x: x.repeat(2, 1, 3), (2, 3, 4)),
    "repeat_new_dims": (lambda x: x.repeat(2, 2, 1), (3, 4)),
    "flip": (lambda x: x.flip(-1), (4, 6, 8)),
    "flip_two": (lambda x: x.flip(0, 2), (4, 6, 8)),
    "roll": (lambda x: x.roll(2, 1), (4, 6, 8)),
    "roll_negative": (lambda x: x.roll((-1, 3), (0, -1)), (4, 6, 8)),
    "roll_flat": (lambda x: x.roll(5), (4, 6)),
    "tril": (lambda x: x.tril(), (5, 7)),
    "tril_diag": (lambda x: x.tril(-1), (2, 5, 7)),
    "triu": (lambda x: x.triu(), (5, 7)),
    "triu_diag": (lambda x: x.triu(2), (2, 5, 7)),
    "diagonal": (lambda x: x.diagonal(), (4, 6)),
    "diagonal_offset": (lambda x: torch.diagonal(x, 2), (4, 6)),
    "diagonal_negative_offset": (lambda x: torch.diagonal(x, -1, 0, 2), (5, 3, 4)),
    "diagonal_tall": (lambda x: torch.diagonal(x, 1, -1, -2), (2, 6, 3)),
    "diagonal_empty": (lambda x: torch.diagonal(x, 7) + 1, (4, 6)),
    "unfold": (lambda x: x.unfold(1, 3, 2), (2, 8, 3)),
    "unfold_last": (lambda x: x.unfold(-1, 4, 4), (3, 8)),
    "unfold_overlap": (lambda x: x.unfold(0, 2, 1), (5, 2)),
    "movedim": (lambda x: x.movedim(0, -1), (4, 6, 8)),
    "chain": (lambda x: x.permute(0, 2, 1).reshape(4, -1).unsqueeze(0).squeeze(0), (4, 6, 8)),
}


def _input(shape, dtype):
    if dtype.is_floating_point:
        return torch.randn(shape, dtype=dtype)
    return torch.randint(-100, 100, shape, dtype=dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.int64], ids=["f32", "i64"])
@pytest.mark.parametrize("name", sorted(STATIC))
def test_static(name, dtype):
    fn, shape = STATIC[name]
    check_converter(Fn(fn), [_input(shape, dtype)])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.int32, torch.bool])
def test_other_dtypes(dtype):
    x = torch.randn(4, 6, 8).to(dtype)
    fn = lambda x: x.permute(2, 0, 1).reshape(8, -1).unsqueeze(1).expand(-1, 3, -1).flip(0)
    check_converter(Fn(fn), [x])


def _dyn(min_shape, opt_shape, max_shape, **kw):
    return kiln.Input(min_shape=min_shape, opt_shape=opt_shape, max_shape=max_shape, **kw)


# name -> (fn, min, opt, max): dims from x.shape give sym_size nodes.
DYNAMIC = {
    "view_batch": (lambda x: x.view(x.shape[0], -1), (1, 6, 8), (4, 6, 8), (9, 6, 8)),
    "view_minus_one_first": (lambda x: x.view(-1, 8), (1, 6, 8), (4, 6, 8), (9, 6, 8)),
    "reshape_heads": (lambda x: x.reshape(x.shape[0], x.shape[1], 2, 4),
                      (1, 1, 8), (2, 5, 8), (3, 12, 8)),
    "reshape_merge": (lambda x: x.reshape(x.shape[0] * x.shape[1], -1),
                      (1, 1, 8), (2, 5, 8), (3, 12, 8)),
    "view_heads_transpose": (lambda x: x.view(x.size(0), x.size(1), 2, 4).transpose(1, 2),
                             (1, 1, 8), (2, 5, 8), (3, 12, 8)),
    "permute": (lambda x: x.permute(1, 2, 0), (1, 3, 8), (4, 3, 8), (9, 3, 8)),
    "transpose": (lambda x: x.transpose(0, -1), (2, 1, 8), (2, 5, 8), (2, 12, 8)),
    "t": (lambda x: x.t(), (1, 5), (4, 5), (9, 5)),
    "expand": (lambda x: x.unsqueeze(1).expand(-1, 3, -1), (1, 6), (4, 6), (9, 6)),
    "expand_symbolic": (lambda x: x[:, :1].expand(x.shape[0], x.shape[1]), (1, 2), (3, 5), (5, 9)),
    "squeeze": (lambda x: x.squeeze(1), (1, 1, 8), (4, 1, 8), (9, 1, 8)),
    "unsqueeze": (lambda x: x.unsqueeze(-1), (1, 6), (4, 6), (9, 6)),
    "flatten": (lambda x: x.flatten(1), (1, 3, 4), (4, 3, 4), (9, 3, 4)),
    "flatten_dynamic_dims": (lambda x: x.flatten(0, 1), (1, 1, 4), (2, 3, 4), (3, 7, 4)),
    "unflatten": (lambda x: x.unflatten(-1, (2, 4)), (1, 8), (4, 8), (9, 8)),
    "repeat": (lambda x: x.repeat(1, 2), (1, 3), (4, 3), (9, 3)),
    "flip": (lambda x: x.flip(0), (1, 3), (4, 3), (9, 3)),
    "roll": (lambda x: x.roll(1, 0), (1, 3), (4, 3), (9, 3)),
    "tril": (lambda x: x.tril(), (1, 4), (3, 4), (9, 4)),
    "diagonal": (lambda x: x.diagonal(0, 1, 2), (1, 3, 4), (4, 3, 4), (9, 3, 4)),
    "unfold": (lambda x: x.unfold(1, 3, 2), (1, 8), (4, 8), (9, 8)),
    "triu_square": (lambda x: x.triu(1), (1, 1), (3, 3), (9, 9)),
}


@pytest.mark.parametrize("name", sorted(DYNAMIC))
def test_dynamic(name):
    fn, lo, opt, hi = DYNAMIC[name]
    x = torch.randn(opt)
    check_converter(Fn(fn), [x], dynamic=[_dyn(lo, opt, hi)])


def test_dynamic_int64():
    fn = lambda x: x.view(x.shape[0], -1).t().flip(1)
    x = torch.randint(0, 50, (4, 6, 8))
    spec = _dyn((1, 6, 8), (4, 6, 8), (9, 6, 8), dtype=torch.int64)
    check_converter(Fn(fn), [x], dynamic=[spec])


def test_attention_heads_round_trip():
    # The reshape / transpose pattern of a multi-head attention block, with batch and seq dynamic.
    def fn(x):
        b, s, h = x.shape
        q = x.view(b, s, 4, h // 4).permute(0, 2, 1, 3)
        return q.transpose(1, 2).reshape(b, s, h) * 2

    x = torch.randn(2, 5, 16)
    check_converter(Fn(fn), [x], dynamic=[_dyn((1, 1, 16), (2, 5, 16), (4, 9, 16))])


def test_two_inputs_shared_dim():
    fn = lambda x, y: x.view(x.shape[0], -1) + y.reshape(y.shape[0], -1)
    x, y = torch.randn(4, 6, 2), torch.randn(4, 3, 4)
    check_converter(Fn(fn), [x, y],
                    dynamic=[_dyn((1, 6, 2), (4, 6, 2), (8, 6, 2), shared_dims={0: "b"}),
                             _dyn((1, 3, 4), (4, 3, 4), (8, 3, 4), shared_dims={0: "b"})])


def test_half_tolerances():
    x = torch.randn(3, 4, 5, dtype=torch.float16)
    check_converter(Fn(lambda x: (x.transpose(1, 2) * 3).roll(1, -1).tril()), [x])


# ---- overloads torch.export never leaves ------------------------------------------------------
# Export's tracing decomposes these (transpose -> permute, chunk -> split_with_sizes, ...), but other
# frontends may hand them over: an FX graph calling them directly, with fake-tensor metadata, is
# compiled fully by kiln and compared with eager.

def check_aten_graph(fn, inputs):
    want = fn(*inputs)
    gm = torch.fx.symbolic_trace(Fn(fn))
    FakeTensorProp(gm, FakeTensorMode(allow_non_fake_inputs=True)).propagate(*inputs)
    settings = CompilationSettings.from_kwargs({"min_block_size": 1,
                                                "require_full_compilation": True})
    compiled = compile_graph_module(gm, settings)
    assert engine_count(compiled) >= 1, "nothing was compiled into an engine"
    with torch.no_grad():
        assert_outputs_close(compiled(*inputs), want)


aten = torch.ops.aten

DIRECT = {
    "transpose": (lambda x: aten.transpose.int(x, 0, -1), (3, 4, 5)),
    "transpose_same": (lambda x: aten.mul.Scalar(aten.transpose.int(x, 1, 1), 2), (3, 4, 5)),
    "t": (lambda x: aten.t.default(x), (4, 5)),
    "squeeze_default": (lambda x: aten.squeeze.default(x), (1, 4, 1, 5)),
    "squeeze_dim": (lambda x: aten.squeeze.dim(x, -2), (1, 4, 1, 5)),
    "squeeze_dim_not_one": (lambda x: aten.squeeze.dim(x, 1), (1, 4, 1, 5)),
    "reshape": (lambda x: aten.reshape.default(x, [5, -1]), (3, 4, 5)),
    "unsafe_view": (lambda x: aten._unsafe_view.default(x, [12, 5]), (3, 4, 5)),
    "view_copy": (lambda x: aten.view_copy.default(x, [3, 20]), (3, 4, 5)),
    "permute_copy": (lambda x: aten.permute_copy.default(x, [1, 2, 0]), (3, 4, 5)),
    "expand_copy": (lambda x: aten.expand_copy.default(x, [2, 3, 4, 5]), (3, 4, 5)),
    "flatten": (lambda x: aten.flatten.using_ints(x, 1, 2), (3, 4, 5)),
    "flatten_negative": (lambda x: aten.flatten.using_ints(x, 0, -2), (3, 4, 5)),
    "flatten_one_dim": (lambda x: aten.flatten.using_ints(x, 1, 1), (3, 4, 5)),
    "unflatten": (lambda x: aten.unflatten.int(x, 1, [2, 2]), (3, 4, 5)),
    "unflatten_minus_one": (lambda x: aten.unflatten.int(x, -1, [-1, 5]), (3, 4, 10)),
    "diagonal_copy": (lambda x: aten.diagonal_copy.default(x, 1, 1, 2), (3, 4, 5)),
    "unfold_copy": (lambda x: aten.unfold_copy.default(x, 2, 2, 3), (3, 4, 5)),
}


@pytest.mark.parametrize("dtype", [torch.float32, torch.int64], ids=["f32", "i64"])
@pytest.mark.parametrize("name", sorted(DIRECT))
def test_direct_aten(name, dtype):
    fn, shape = DIRECT[name]
    check_aten_graph(fn, [_input(shape, dtype)])


def test_refused_falls_back():
    # repeat_interleave with a tensor of repeats has a data-dependent shape: no converter here, so
    # it stays in PyTorch while the shape ops around it still run in engines.
    def fn(x, r):
        y = x.permute(1, 0)
        return torch.repeat_interleave(y, r, dim=0, output_size=12).reshape(-1, 2).flip(0)

    x = torch.randn(4, 3)
    r = torch.tensor([4, 4, 4])
    m = Fn(fn).eval()
    gm = kiln.compile(m, ir="dynamo", inputs=[x, r], min_block_size=1)
    assert engine_count(gm) >= 1
    with torch.no_grad():
        assert_outputs_close(gm(x, r), m(x, r))


def test_refused_dtype_falls_back():
    # float64 tensors are refused without truncate_double: the permute on them stays in PyTorch,
    # the float32 shape ops before and after it run in engines.
    def fn(x):
        y = x.reshape(6, 4).double().permute(1, 0) * 3
        return y.float().reshape(-1).flip(0)

    x = torch.randn(4, 6)
    m = Fn(fn).eval()
    gm = kiln.compile(m, ir="dynamo", inputs=[x], min_block_size=1)
    assert engine_count(gm) >= 1
    assert "aten.permute.default" in gm.kiln_report
    with torch.no_grad():
        assert_outputs_close(gm(x), m(x))


def test_unfold_symbolic_dim_falls_back():
    # unfold along a dynamic dim is refused (its window count is symbolic); it runs in PyTorch and
    # the ops before it in an engine, at every size of the range.
    def fn(x):
        return (x.transpose(0, 1) * 2).unfold(1, 2, 2)

    m = Fn(fn).eval()
    spec = _dyn((4, 3), (8, 3), (16, 3))
    gm = kiln.compile(m, ir="dynamo", inputs=[spec], min_block_size=1)
    assert engine_count(gm) >= 1
    assert "unfold along a symbolic dim" in gm.kiln_report
    for rows in (4, 8, 11, 16):
        x = torch.randn(rows, 3)
        with torch.no_grad():
            assert_outputs_close(gm(x), m(x))
