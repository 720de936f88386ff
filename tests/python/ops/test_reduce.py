"""Reduction converters (src/importer/reduce.cc) against eager, static and dynamic.

Most ops are reached through kiln.compile (torch.export + kiln's decomposition table). Ops that
torch's table decomposes before kiln sees them (logsumexp, linalg_vector_norm, all.dim, ...) are
compiled by ``compile_kept``, which lowers with that table minus the op, so the converter itself
runs; it asserts that the op is in the lowered graph.
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


def compile_kept(fn, inputs, keep, **settings):
    """Compiles `fn` with the ATen ops in `keep` left whole, checks that they reach kiln, and
    compares with eager. Returns the compiled GraphModule."""
    module = Fn(fn).eval()
    settings.setdefault("min_block_size", 1)
    settings.setdefault("require_full_compilation", True)
    ep = dynamo.trace(module, list(inputs))
    table = decomposition_table()
    kept = [getattr(getattr(torch.ops.aten, k.split(".")[0]), k.split(".")[1]) for k in keep]
    for op in kept:
        table.pop(op, None)
    ep = ep.run_decompositions(table)
    gm = ep.module()
    targets = {n.target for n in gm.graph.nodes if n.op == "call_function"}
    for op in kept:
        assert op in targets, f"{op} was decomposed before kiln saw it: {targets}"
    out = dynamo.compile_graph_module(gm, CompilationSettings.from_kwargs(settings))
    if settings["require_full_compilation"]:
        assert engine_count(out) >= 1, "nothing was compiled into an engine"
    with torch.no_grad():
        assert_outputs_close(out(*inputs), module(*inputs))
    return out


FLOAT = {
    "sum_all": lambda x: x.sum(),
    "sum_dim": lambda x: x.sum(1),
    "sum_keepdim": lambda x: x.sum(-1, keepdim=True),
    "sum_dims": lambda x: x.sum((0, 2)),
    "sum_neg_dims_keepdim": lambda x: x.sum((-1, -3), keepdim=True),
    "sum_empty_dims": lambda x: torch.sum(x, dim=[]),
    "mean_all": lambda x: x.mean(),
    "mean_dim": lambda x: x.mean(1),
    "mean_keepdim_neg": lambda x: x.mean(-1, keepdim=True),
    "mean_dims": lambda x: x.mean((0, -1)),
    "amax_all": lambda x: x.amax(),
    "amax_dim": lambda x: x.amax(1),
    "amax_keepdim_neg": lambda x: x.amax(-1, keepdim=True),
    "amin_dims": lambda x: x.amin((0, 2)),
    "amin_keepdim": lambda x: x.amin(0, keepdim=True),
    "max_all": lambda x: x.max(),
    "min_all": lambda x: x.min(),
    "max_dim": lambda x: tuple(x.max(1)),
    "max_dim_keepdim": lambda x: tuple(x.max(-1, keepdim=True)),
    "min_dim": lambda x: tuple(x.min(0)),
    "min_dim_keepdim_neg": lambda x: tuple(x.min(-2, keepdim=True)),
    "max_dim_values_only": lambda x: x.max(2).values * 2,
    "prod_all": lambda x: (x * 0.3 + 1).prod(),
    "prod_dim": lambda x: x.prod(1),
    "prod_keepdim_neg": lambda x: x.prod(-1, keepdim=True),
    "var_dim": lambda x: x.var(1),
    "var_all": lambda x: x.var(),
    "var_correction0_keepdim": lambda x: x.var(-1, correction=0, keepdim=True),
    "var_dims_correction2": lambda x: torch.var(x, (0, 2), correction=2),
    "std_all": lambda x: x.std(),
    "std_dim_keepdim": lambda x: x.std(-1, keepdim=True),
    "std_unbiased_false": lambda x: x.std(1, unbiased=False),
    "var_mean": lambda x: torch.var_mean(x, 1),
    "var_mean_all": lambda x: torch.var_mean(x),
    "std_mean_keepdim": lambda x: torch.std_mean(x, -1, keepdim=True),
    "argmax_all": lambda x: x.argmax(),
    "argmax_all_keepdim": lambda x: x.argmax(keepdim=True),
    "argmax_dim": lambda x: x.argmax(1),
    "argmax_keepdim": lambda x: x.argmax(-1, keepdim=True),
    "argmin_all": lambda x: x.argmin(),
    "argmin_dim_neg": lambda x: x.argmin(-2),
    "argmin_keepdim": lambda x: x.argmin(0, keepdim=True),
    "cumsum": lambda x: x.cumsum(1),
    "cumsum_neg": lambda x: x.cumsum(-1),
    "cumsum_first": lambda x: torch.cumsum(x, 0),
    "topk": lambda x: tuple(x.topk(2)),
    "topk_smallest_dim": lambda x: tuple(x.topk(3, dim=1, largest=False)),
    "topk_neg_dim": lambda x: tuple(torch.topk(x, 1, dim=-3)),
    "any_all": lambda x: (x > 1).any(),
    "any_dim": lambda x: (x > 0.5).any(1),
    "any_dim_keepdim": lambda x: (x > 1).any(-1, keepdim=True),
    "any_dims": lambda x: (x > 1.5).any(dim=(0, 2)),
    "any_float": lambda x: (x > 0).float().any(dim=1),
    "all_dim": lambda x: (x > -1).all(1),
    "all_all": lambda x: (x > -3).all(),
    "logsumexp": lambda x: x.logsumexp(1),
    "logsumexp_keepdim": lambda x: torch.logsumexp(x, (0, -1), keepdim=True),
    "vector_norm": lambda x: torch.linalg.vector_norm(x, dim=1),
    "vector_norm_1": lambda x: torch.linalg.vector_norm(x, ord=1, dim=-1, keepdim=True),
    "norm_all": lambda x: x.norm(),
    "softmax_like": lambda x: (x - x.amax(-1, keepdim=True)).exp()
    / (x - x.amax(-1, keepdim=True)).exp().sum(-1, keepdim=True),
    "nansum": lambda x: torch.where(x > 1, torch.nan, x).nansum(1),
}


@pytest.mark.parametrize("name", sorted(FLOAT))
def test_float(name):
    x = torch.randn(3, 4, 5)
    check_converter(Fn(FLOAT[name]), [x])


INT = {
    "sum_all": lambda x: x.sum(),
    "sum_dim": lambda x: x.sum(1, keepdim=True),
    "sum_dtype": lambda x: x.sum(-1, dtype=torch.float32),
    "mean_dtype": lambda x: x.mean(1, dtype=torch.float32),
    "sum_bool": lambda x: (x > 4).sum(1),
    "prod": lambda x: (x % 3 + 1).prod(1),
    "prod_all": lambda x: (x % 2 + 1).prod(),
    "amax": lambda x: x.amax(-1),
    "amin_keepdim": lambda x: x.amin(0, keepdim=True),
    "max_all": lambda x: x.max(),
    "max_dim": lambda x: tuple(x.max(1)),
    "min_dim_keepdim": lambda x: tuple(x.min(-1, keepdim=True)),
    "argmax": lambda x: x.argmax(1),
    "argmin_all": lambda x: x.argmin(),
    "cumsum": lambda x: x.cumsum(1),
    "cumsum_dtype": lambda x: x.cumsum(0, dtype=torch.float32),
    "cumsum_bool": lambda x: (x > 4).cumsum(1),
    "topk": lambda x: tuple(x.topk(2, dim=0)),
    "any_int": lambda x: x.any(1),
    "bool_amax": lambda x: (x > 10).amax(1),
    "bool_max_dim": lambda x: tuple((x > 10).max(1)),
}


@pytest.mark.parametrize("name", sorted(INT))
def test_int64(name):
    # Distinct values, so that indices of max / min / topk have no ties. (clone: a view as an
    # input makes torch.export add a size symbol with an infinite range, see the report.)
    x = torch.randperm(20).reshape(4, 5).clone()
    check_converter(Fn(INT[name]), [x])


def test_int32_sum_promotes_to_int64():
    x = torch.randint(-100, 100, (4, 5), dtype=torch.int32)
    check_converter(Fn(lambda a: (a.sum(1), a.cumsum(0), a.amax(1))), [x])


def test_uint8_any_keeps_uint8():
    x = torch.randint(0, 2, (4, 5), dtype=torch.uint8)
    check_converter(Fn(lambda a: (a.any(1), a.all(0))), [x])


def test_nan_propagation():
    x = torch.randn(4, 5)
    fn = lambda a: torch.where(a > 1.5, torch.nan, a)  # noqa: E731
    check_converter(Fn(lambda a: (fn(a).amax(1), fn(a).max(1)[0], fn(a).argmax(1), fn(a).sum(1))),
                    [x])


def test_scalar_input():
    x = torch.tensor(2.5)
    check_converter(Fn(lambda a: (a.sum(0), a.amax(-1), a.argmax(0), a.cumsum(0), a.max(0)[0],
                                  a.var(correction=0), a.mean())), [x])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("name", ["sum_all", "sum_dim", "sum_keepdim", "mean_all", "mean_dim",
                                  "mean_keepdim_neg", "amax_dim", "var_dim", "max_dim",
                                  "softmax_like", "vector_norm", "logsumexp"])
def test_half(name, dtype):
    x = torch.randn(3, 4, 5, dtype=dtype)
    check_converter(Fn(FLOAT[name]), [x])


def test_half_sum_with_f32_dtype():
    x = torch.randn(8, 64, dtype=torch.float16)
    check_converter(Fn(lambda a: a.sum(1, dtype=torch.float32)), [x])


DYNAMIC = ["sum_all", "sum_dim", "sum_keepdim", "sum_dims", "mean_all", "mean_dim",
           "mean_keepdim_neg", "amax_all", "amax_dim", "amax_keepdim_neg", "max_dim", "min_dim",
           "prod_dim", "var_dim", "std_all", "var_mean", "argmax_all", "argmax_all_keepdim",
           "argmax_dim", "argmin_dim_neg", "cumsum", "cumsum_first", "topk_smallest_dim",
           "any_dim", "all_dim", "logsumexp", "vector_norm", "softmax_like"]


@pytest.mark.parametrize("name", DYNAMIC)
def test_dynamic(name):
    x = torch.randn(3, 4, 5)
    spec = kiln.Input(min_shape=(1, 3, 5), opt_shape=(3, 4, 5), max_shape=(6, 9, 5))
    check_converter(Fn(FLOAT[name]), [x], dynamic=[spec])


def test_dynamic_last_dim_int():
    x = torch.randint(0, 50, (4, 6))
    spec = kiln.Input(min_shape=(2, 1), opt_shape=(4, 6), max_shape=(5, 12), dtype=torch.int64)
    check_converter(Fn(lambda a: (a.sum(-1), a.cumsum(-1), a.amax(-1), a.argmin(-1))), [x],
                    dynamic=[spec])


# ---- ops that torch's table decomposes: compiled with them kept whole ---------------------------


def test_kept_logsumexp():
    x = torch.randn(3, 4, 5)
    x[0, 1] = float("-inf")  # a row of -inf: the max is replaced by 0 as in torch
    x[1, 2, 3] = float("inf")
    compile_kept(lambda a: (a.logsumexp(-1), torch.logsumexp(a, (0, 1), keepdim=True),
                            torch.logsumexp(a, 1)), [x], ["logsumexp.default"])


def test_kept_logsumexp_int_input():
    x = torch.randint(0, 5, (3, 4))
    compile_kept(lambda a: a.logsumexp(1), [x], ["logsumexp.default"])


@pytest.mark.parametrize("ord", [2, 1, float("inf"), float("-inf")])
def test_kept_vector_norm(ord):
    x = torch.randn(3, 4, 5)
    compile_kept(lambda a: (torch.linalg.vector_norm(a, ord=ord),
                            torch.linalg.vector_norm(a, ord=ord, dim=(0, -1), keepdim=True),
                            torch.linalg.vector_norm(a, ord=ord, dim=1)),
                 [x], ["linalg_vector_norm.default"])


def test_kept_vector_norm_half():
    x = torch.randn(3, 64, dtype=torch.float16) * 30  # squares overflow f16
    compile_kept(lambda a: torch.linalg.vector_norm(a, dim=1), [x], ["linalg_vector_norm.default"])


def test_kept_all_any():
    x = torch.randn(4, 5)
    compile_kept(lambda a: ((a > -1).all(1), (a > -1).all(), a.all(dim=0, keepdim=True),
                            a.any()), [x], ["all.dim", "all.default", "any.default"])


def test_kept_var_std_whole():
    x = torch.randn(4, 5)
    compile_kept(lambda a: (a.var(1), a.std(correction=0)), [x],
                 ["var.correction", "std.correction"])


# ---- refused cases fall back to PyTorch ----------------------------------------------------------


def test_refused_vector_norm_ord3_falls_back():
    x = torch.randn(4, 5)
    gm = compile_kept(lambda a: torch.linalg.vector_norm(a, ord=3, dim=1) + a.sum(1), [x],
                      ["linalg_vector_norm.default"], require_full_compilation=False)
    assert engine_count(gm) >= 1  # the sum still runs in kiln
    with pytest.raises(Exception, match="ord 3"):
        compile_kept(lambda a: torch.linalg.vector_norm(a, ord=3, dim=1), [x],
                     ["linalg_vector_norm.default"])


def test_refused_symbolic_k_falls_back():
    x = torch.randn(4, 8)
    # k = the size of the dim (a full sort): a SymInt, which the IR's static k cannot hold.
    m = Fn(lambda a: a.topk(a.shape[1])[0] * 2).eval()
    spec = kiln.Input(min_shape=(1, 2), opt_shape=(4, 8), max_shape=(8, 16))
    gm = kiln.compile(m, inputs=[spec], min_block_size=1)
    for shape in [(1, 2), (4, 8), (8, 16)]:
        a = torch.randn(shape)
        with torch.no_grad():
            assert_outputs_close(gm(a), m(a))
    with pytest.raises(Exception, match="k .* is not a constant int"):
        kiln.compile(m, inputs=[spec], min_block_size=1, require_full_compilation=True)


def test_kept_vector_norm_dtype_arg():
    x = torch.randn(3, 8, dtype=torch.float16)
    compile_kept(lambda a: torch.linalg.vector_norm(a, dim=1, dtype=torch.float32), [x],
                 ["linalg_vector_norm.default"])


def test_sum_dtype_float64_truncated():
    # With truncate_double the engine computes (and returns) f32 where torch has f64.
    x = torch.randn(4, 5)
    m = Fn(lambda a: (a.sum(1, dtype=torch.float64), a.cumsum(0, dtype=torch.float64))).eval()
    gm = kiln.compile(m, inputs=[x], min_block_size=1, require_full_compilation=True,
                      truncate_double=True)
    with torch.no_grad():
        got, want = gm(x), m(x)
    for g, w in zip(got, want):
        torch.testing.assert_close(g.double(), w, rtol=1e-5, atol=1e-5)
