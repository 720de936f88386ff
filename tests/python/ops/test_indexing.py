"""Indexing converters (src/importer/indexing.cc) against eager, static and dynamic."""

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


def _input(shape, dtype):
    if dtype.is_floating_point:
        return torch.randn(shape, dtype=dtype)
    return torch.randint(-100, 100, shape, dtype=dtype)


def _dyn(min_shape, opt_shape, max_shape, **kw):
    return kiln.Input(min_shape=min_shape, opt_shape=opt_shape, max_shape=max_shape, **kw)


def _use_halves(a, b):
    return a * 2 - b.sum(1, keepdim=True)


# name -> (fn, input shape); every case runs in fp32 and int64.
STATIC = {
    "slice": (lambda x: x[:, 1:4], (4, 6, 8)),
    "slice_step": (lambda x: x[..., 1:-1:2], (4, 6, 8)),
    "slice_negative": (lambda x: x[-3:, :-2], (4, 6, 8)),
    "slice_open_end": (lambda x: x[:, 2:], (4, 6, 8)),
    "slice_past_end": (lambda x: x[:, 3:100], (4, 6, 8)),
    "slice_empty": (lambda x: torch.cat([x[:, 5:2], x], 1), (4, 6, 8)),
    "select": (lambda x: x[:, 2], (4, 6, 8)),
    "select_negative": (lambda x: x[:, -1], (4, 6, 8)),
    "select_first_last": (lambda x: x[0] + x[-1], (4, 6, 8)),
    "select_last_dim": (lambda x: x[..., -2], (4, 6, 8)),
    "narrow": (lambda x: x.narrow(1, 2, 3), (4, 6, 8)),
    "narrow_negative": (lambda x: x.narrow(-1, -4, 2), (4, 6, 8)),
    "cat": (lambda x: torch.cat([x, x * 2, x[:, :2]], 1), (4, 6, 8)),
    "cat_negative_dim": (lambda x: torch.cat([x, x[..., :3]], -1), (4, 6, 8)),
    "cat_one": (lambda x: torch.cat([x], 0) + 1, (4, 6)),
    "cat_legacy_empty": (lambda x: torch.cat([x.new_zeros(0), x, x.new_zeros(0)], 1), (4, 6)),
    "stack": (lambda x: torch.stack([x, x + 1, x * 2]), (4, 6)),
    "stack_last": (lambda x: torch.stack([x, x + 1], -1), (4, 6)),
    "stack_middle": (lambda x: torch.stack([x, x + 1], 1), (4, 6)),
    "split": (lambda x: torch.split(x, 4, dim=1), (3, 10)),
    "split_negative_dim": (lambda x: x.split(3, -1), (3, 2, 9)),
    "split_sizes": (lambda x: torch.split(x, [1, 4, 5], 1), (3, 10)),
    "split_sizes_used": (lambda x: _use_halves(*x.split([2, 8], 1)), (3, 10)),
    "chunk": (lambda x: x.chunk(3, 1), (3, 10)),
    "chunk_even": (lambda x: x.chunk(2, -1), (3, 10)),
    "chunk_one_used": (lambda x: x.chunk(4, 0)[1] * 3, (8, 5)),
    "unbind": (lambda x: x.unbind(1), (3, 4, 5)),
    "unbind_sum": (lambda x: (lambda a, b, c: a + b * c)(*x.unbind(0)), (3, 4, 5)),
}


@pytest.mark.parametrize("dtype", [torch.float32, torch.int64], ids=["f32", "i64"])
@pytest.mark.parametrize("name", sorted(STATIC))
def test_static(name, dtype):
    fn, shape = STATIC[name]
    check_converter(Fn(fn), [_input(shape, dtype)])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.int32, torch.bool])
def test_other_dtypes(dtype):
    x = torch.randn(4, 6, 8).to(dtype)
    fn = lambda x: torch.cat([x[:, 1:3], x[:, -1:]], 1).chunk(2, -1)[1].unbind(0)[2]
    check_converter(Fn(fn), [x])


def test_cat_promotes():
    def fn(x, y, z):
        return torch.cat([x, y, z], 1)

    x = torch.randn(2, 3)
    y = torch.randint(0, 9, (2, 4))
    z = torch.randn(2, 2, dtype=torch.float16)
    check_converter(Fn(fn), [x, y, z])


def test_stack_promotes():
    x = torch.randint(0, 9, (2, 3), dtype=torch.int32)
    y = torch.randint(0, 9, (2, 3))
    check_converter(Fn(lambda x, y: torch.stack([x, y], 1)), [x, y])


# name -> (fn, min, opt, max).
DYNAMIC = {
    "slice_static_bounds": (lambda x: x[:, 1:4], (1, 6), (4, 6), (9, 6)),
    # (torch.export specializes sizes 0 and 1, so the ranges keep every result dim >= 2.)
    "slice_dynamic_dim": (lambda x: x[:, 1:], (2, 3), (3, 6), (4, 12)),
    "slice_dynamic_dim_negative": (lambda x: x[:, :-1], (2, 3), (3, 6), (4, 12)),
    "slice_dynamic_dim_step": (lambda x: x[:, ::2], (2, 3), (3, 6), (4, 13)),
    "slice_symbolic_start": (lambda x: x[:, x.shape[1] - 2:], (1, 3), (3, 6), (4, 12)),
    "slice_symbolic_end": (lambda x: x[:, : x.shape[1] - 2], (1, 4), (3, 6), (4, 12)),
    "slice_symbolic_both": (lambda x: x[:, 1 : x.shape[1] - 1], (1, 4), (3, 6), (4, 12)),
    "slice_prefix_of_dynamic": (lambda x: x[:, :3] * 2, (1, 4), (3, 6), (4, 12)),
    "select": (lambda x: x[:, 0], (1, 6), (4, 6), (9, 6)),
    "select_negative_dynamic_dim": (lambda x: x[:, -1], (2, 1), (3, 6), (4, 12)),
    "select_first_dynamic_dim": (lambda x: x[:, 0] + x[:, 1], (2, 2), (3, 6), (4, 12)),
    "select_symbolic_index": (lambda x: x[:, x.shape[1] - 2], (2, 2), (3, 6), (4, 12)),
    "narrow": (lambda x: x.narrow(1, 1, 2), (1, 3), (3, 6), (4, 12)),
    "cat": (lambda x: torch.cat([x, x[:, :2], x * 3], 1), (1, 3), (3, 6), (4, 12)),
    "cat_dynamic_axis": (lambda x: torch.cat([x, x], 0), (1, 3), (3, 6), (4, 12)),
    "stack": (lambda x: torch.stack([x, -x], 1), (1, 3), (3, 6), (4, 12)),
    "split": (lambda x: x.split(4, 1)[1] * 2, (1, 6), (3, 6), (7, 6)),
    "split_dynamic_rest": (lambda x: torch.split(x, 4, 1), (3, 6), (3, 7), (3, 8)),
    "split_sizes_other_dim": (lambda x: torch.split(x, [2, 4], 1), (1, 6), (3, 6), (7, 6)),
    "split_sizes_symbolic": (lambda x: torch.split(x, [1, x.shape[1] - 1], 1), (2, 3), (3, 6),
                             (4, 12)),
    "chunk": (lambda x: x.chunk(3, 1), (1, 9), (3, 9), (4, 9)),
    "unbind": (lambda x: x.unbind(1), (1, 3), (3, 3), (4, 3)),
}


@pytest.mark.parametrize("name", sorted(DYNAMIC))
def test_dynamic(name):
    fn, lo, opt, hi = DYNAMIC[name]
    check_converter(Fn(fn), [torch.randn(opt)], dynamic=[_dyn(lo, opt, hi)])


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

def _items(values, n):  # the first n values of a tuple-valued node, each through getitem
    return tuple(values[k] for k in range(n))


DIRECT = {
    "split": (lambda x: _items(aten.split.Tensor(x, 2, 1), 3), (3, 5, 4)),
    "split_negative_dim": (lambda x: aten.split.Tensor(x, 3, -1)[1], (3, 5, 4)),
    "split_bigger_than_dim": (lambda x: aten.split.Tensor(x, 9, 0)[0], (3, 5, 4)),
    "chunk": (lambda x: _items(aten.chunk.default(x, 3, 1), 3), (3, 5, 4)),
    "chunk_negative_dim": (lambda x: aten.chunk.default(x, 2, -1)[0], (3, 5, 4)),
    "unbind": (lambda x: _items(aten.unbind.int(x, 1), 5), (3, 5, 4)),
    "unbind_negative_dim": (lambda x: aten.unbind.int(x, -1)[2], (3, 5, 4)),
    "unbind_one": (lambda x: aten.unbind.int(x, 0)[0], (1, 5, 4)),
    "narrow": (lambda x: aten.narrow.default(x, 1, 1, 3), (3, 5, 4)),
    "narrow_negative_start": (lambda x: aten.narrow.default(x, -1, -3, 2), (3, 5, 4)),
    "slice_copy": (lambda x: aten.slice_copy.Tensor(x, 1, 1, 4, 2), (3, 5, 4)),
    "slice_defaults": (lambda x: aten.add.Scalar(aten.slice.Tensor(x), 1), (3, 5, 4)),
    "select_copy": (lambda x: aten.select_copy.int(x, 2, -1), (3, 5, 4)),
}


@pytest.mark.parametrize("dtype", [torch.float32, torch.int64], ids=["f32", "i64"])
@pytest.mark.parametrize("name", sorted(DIRECT))
def test_direct_aten(name, dtype):
    fn, shape = DIRECT[name]
    check_aten_graph(fn, [_input(shape, dtype)])


# ---- index_select / gather / embedding / index ---------------------------------------------

@pytest.mark.parametrize("dtype", [torch.float32, torch.int64], ids=["f32", "i64"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_index_select(dtype, dim):
    x = _input((5, 6, 7), dtype)
    idx = torch.tensor([4, 0, 2, 2])
    check_converter(Fn(lambda x, i: torch.index_select(x, dim, i)), [x, idx])


def test_index_select_int32_index():
    x = torch.randn(5, 6)
    idx = torch.tensor([3, 1], dtype=torch.int32)
    check_converter(Fn(lambda x, i: x.index_select(0, i)), [x, idx])


def test_index_select_dynamic():
    x = torch.randn(6, 4)
    idx = torch.tensor([5, 0, 3])
    check_converter(Fn(lambda x, i: x.index_select(0, i)), [x, idx],
                    dynamic=[_dyn((6, 1), (6, 4), (6, 9)),
                             _dyn((1,), (3,), (8,), dtype=torch.int64)])


@pytest.mark.parametrize("dtype", [torch.float32, torch.int64], ids=["f32", "i64"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_gather(dtype, dim):
    x = _input((4, 5, 6), dtype)
    size = [4, 5, 6]
    size[dim] = 3
    idx = torch.randint(0, x.shape[dim], size)
    check_converter(Fn(lambda x, i: torch.gather(x, dim, i)), [x, idx])


def test_gather_smaller_index():
    x = torch.randn(4, 6)
    idx = torch.randint(0, 6, (2, 3))
    check_converter(Fn(lambda x, i: x.gather(1, i)), [x, idx])


def test_gather_dynamic():
    x = torch.randn(3, 8)
    idx = torch.randint(0, 8, (3, 2))
    check_converter(Fn(lambda x, i: x.gather(1, i)), [x, idx],
                    dynamic=[_dyn((1, 8), (3, 8), (6, 8), shared_dims={0: "b"}),
                             _dyn((1, 2), (3, 2), (6, 2), shared_dims={0: "b"}, dtype=torch.int64)])


class Embedding(torch.nn.Module):
    def __init__(self, padding_idx=None, dtype=torch.float32):
        super().__init__()
        self.emb = torch.nn.Embedding(50, 8, padding_idx=padding_idx).to(dtype)

    def forward(self, ids):
        return self.emb(ids)


@pytest.mark.parametrize("padding_idx", [None, 0])
def test_embedding(padding_idx):
    ids = torch.randint(0, 50, (3, 7))
    ids[0, 0] = 0
    check_converter(Embedding(padding_idx), [ids])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_embedding_half(dtype):
    ids = torch.randint(0, 50, (3, 7))
    check_converter(Embedding(dtype=dtype), [ids])


def test_embedding_dynamic():
    ids = torch.randint(0, 50, (3, 7))
    check_converter(Embedding(), [ids],
                    dynamic=[_dyn((1, 1), (3, 7), (4, 16), dtype=torch.int64)])


class BertEmbeddings(torch.nn.Module):
    """BERT's embedding path: word + position (ids sliced from a buffer) + token type."""

    def __init__(self, vocab=100, hidden=16, max_pos=32):
        super().__init__()
        self.word = torch.nn.Embedding(vocab, hidden, padding_idx=0)
        self.pos = torch.nn.Embedding(max_pos, hidden)
        self.token_type = torch.nn.Embedding(2, hidden)
        self.register_buffer("position_ids", torch.arange(max_pos).expand((1, -1)),
                             persistent=False)
        self.register_buffer("token_type_ids", torch.zeros(1, max_pos, dtype=torch.long),
                             persistent=False)

    def forward(self, input_ids):
        seq = input_ids.shape[1]
        position_ids = self.position_ids[:, :seq]
        token_type = self.token_type_ids[:, :seq].expand(input_ids.shape[0], seq)
        return self.word(input_ids) + self.pos(position_ids) + self.token_type(token_type)


def test_bert_embeddings_static():
    ids = torch.randint(0, 100, (2, 9))
    check_converter(BertEmbeddings(), [ids])


def test_bert_embeddings_dynamic():
    ids = torch.randint(0, 100, (2, 9))
    check_converter(BertEmbeddings(), [ids],
                    dynamic=[_dyn((1, 2), (2, 9), (4, 32), dtype=torch.int64)])


@pytest.mark.parametrize("where", ["first", "middle", "last", "negative"])
def test_index_one_tensor(where):
    x = torch.randn(4, 5, 6)
    fns = {
        "first": lambda x, i: x[i],
        "middle": lambda x, i: x[:, i],
        "last": lambda x, i: x[..., i],
        "negative": lambda x, i: x[:, i - 5],  # negative indices count from the end
    }
    idx = torch.tensor([[0, 3], [2, 2], [1, 0]])
    check_converter(Fn(fns[where]), [x, idx])


def test_index_int64_data():
    x = torch.randint(-9, 9, (6, 3))
    idx = torch.tensor([5, 1, 1])
    check_converter(Fn(lambda x, i: x[i]), [x, idx])


def test_index_dynamic():
    x = torch.randn(3, 6, 4)
    idx = torch.tensor([5, 0, 2])
    check_converter(Fn(lambda x, i: x[:, i]), [x, idx],
                    dynamic=[_dyn((1, 6, 4), (3, 6, 4), (5, 6, 4)),
                             _dyn((1,), (3,), (7,), dtype=torch.int64)])


@pytest.mark.parametrize("case", ["leading", "middle", "broadcast", "negative", "gpt2_mask"])
def test_index_adjacent_tensors(case):
    x = torch.randn(5, 4, 6)
    i, j = torch.tensor([0, 3, 1]), torch.tensor([3, 2, 2])
    fns = {
        "leading": (lambda x, i, j: x[i, j], [x, i, j]),
        "middle": (lambda x, i, j: x[:, i, j], [x, torch.tensor([0, 3, 1]), torch.tensor([5, 2, 0])]),
        "broadcast": (lambda x, i, j: x[i[:, None], j[None, :]], [x, i, j]),
        "negative": (lambda x, i, j: x[i - 5, j - 4], [x, i, j]),
        # transformers' causal-mask path: a 2-D tensor indexed by [B,1,1,1] and [1,1,S,1] indices
        "gpt2_mask": (lambda x, i, j: x[i.view(-1, 1, 1, 1), j.view(1, 1, -1, 1)],
                      [torch.randn(2, 16), torch.tensor([1, 0]), torch.arange(16)]),
    }
    fn, inputs = fns[case]
    check_converter(Fn(fn), inputs)


def test_index_adjacent_tensors_dynamic():
    x = torch.randn(3, 6, 4)
    i, j = torch.tensor([5, 0, 2]), torch.tensor([3, 1, 0])
    index = kiln.Input(min_shape=(1,), opt_shape=(3,), max_shape=(7,), dtype=torch.int64,
                       shared_dims={0: "n"})
    check_converter(Fn(lambda x, i, j: x[:, i, j]), [x, i, j],
                    dynamic=[_dyn((1, 6, 4), (3, 6, 4), (5, 6, 4)), index, index])


def test_index_non_adjacent_tensors_falls_back():
    # Index tensors on dims 0 and 2 (torch moves the result dims first) are refused; the engine
    # still runs the rest.
    def fn(x, i, j):
        y = x.transpose(0, 1) * 2
        return y[i, :, j].flip(0)

    x, i, j = torch.randn(5, 4, 6), torch.tensor([0, 3, 1]), torch.tensor([4, 2, 2])
    m = Fn(fn).eval()
    gm = kiln.compile(m, ir="dynamo", inputs=[x, i, j], min_block_size=1)
    assert engine_count(gm) >= 1
    with torch.no_grad():
        assert_outputs_close(gm(x, i, j), m(x, i, j))
    with pytest.raises(Exception, match="non-adjacent"):
        kiln.compile(m, ir="dynamo", inputs=[x, i, j], min_block_size=1,
                     require_full_compilation=True)
