"""Linear-algebra converters (src/importer/linalg.cc) against eager: linear, matmul (with its 1-D
and batch-broadcast forms), mm, bmm, addmm, baddbmm, mv and dot; static, dynamic and fp16/bf16.

Tolerances: fp32 matrix products sum K products in a different order than eager's BLAS, so fp32
cases use rtol = atol = 1e-4 (FP32 below); fp16/bf16 use kiln_testing.TOLERANCES.
"""

import pytest
import torch

import kiln
from kiln._settings import CompilationSettings
from kiln.frontends.dynamo import compile_graph_module
from kiln_testing import assert_outputs_close, check_converter, engine_count

FP32 = {"rtol": 1e-4, "atol": 1e-4}


class _Fn(torch.nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn


class _Fn2(_Fn):
    def forward(self, a, b):
        return self.fn(a, b)


class _Fn3(_Fn):
    def forward(self, a, b, c):
        return self.fn(a, b, c)


def Fn(fn):
    """A module calling fn on its (two or three) inputs; torch.export needs named arguments."""
    import inspect

    try:
        arity = len(inspect.signature(fn).parameters)
    except ValueError:  # builtins such as torch.matmul
        arity = 2
    return _Fn3(fn) if arity == 3 else _Fn2(fn)


def check_aten(module, inputs, **tol):
    """Compiles the ATen graph torch.export records (before kiln's decompositions) fully into
    engines and compares with eager: for overloads the decomposition table lowers away
    (baddbmm, mv, dot) but other frontends may hand over."""
    module = module.eval()
    ep = torch.export.export(module, tuple(inputs))
    settings = CompilationSettings.from_kwargs({"min_block_size": 1,
                                                "require_full_compilation": True})
    gm = compile_graph_module(ep.module(), settings)
    assert engine_count(gm) >= 1, "nothing was compiled into an engine"
    with torch.no_grad():
        assert_outputs_close(gm(*inputs), module(*inputs), **tol)


def targets(gm):
    return {str(n.target) for n in gm.graph.nodes if n.op == "call_function"}


# ---- linear ----


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(3, 16), (2, 5, 16), (16,)])
def test_linear(bias, shape):
    check_converter(torch.nn.Linear(16, 8, bias=bias), [torch.randn(*shape)], **FP32)


def test_linear_weight_input():
    # The weight is an engine input rather than a constant.
    check_converter(Fn(lambda x, w, b: torch.nn.functional.linear(x, w, b)),
                    [torch.randn(3, 6), torch.randn(4, 6), torch.randn(4)], **FP32)


def test_linear_dynamic():
    spec = kiln.Input(min_shape=(1, 5, 16), opt_shape=(4, 5, 16), max_shape=(8, 5, 16))
    check_converter(torch.nn.Linear(16, 8), [torch.randn(4, 5, 16)], dynamic=[spec], **FP32)


def test_linear_dynamic_two_dims():
    spec = kiln.Input(min_shape=(1, 1, 16), opt_shape=(2, 7, 16), max_shape=(4, 12, 16))
    check_converter(torch.nn.Linear(16, 8), [torch.randn(2, 7, 16)], dynamic=[spec], **FP32)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_linear_half(dtype):
    m = torch.nn.Linear(32, 16).to(dtype)
    check_converter(m, [torch.randn(4, 32, dtype=dtype)])


# ---- matmul ----

MATMUL_SHAPES = {
    "2d_2d": ((3, 4), (4, 5)),
    "1d_2d": ((4,), (4, 5)),
    "2d_1d": ((3, 4), (4,)),
    "1d_1d": ((4,), (4,)),
    "3d_2d": ((2, 3, 4), (4, 5)),
    "2d_3d": ((3, 4), (2, 4, 5)),
    "3d_1d": ((2, 3, 4), (4,)),
    "1d_3d": ((4,), (2, 4, 5)),
    "4d_4d": ((2, 3, 4, 5), (2, 3, 5, 6)),
    "broadcast_batch": ((2, 1, 4, 5), (3, 5, 6)),
}


@pytest.mark.parametrize("name", sorted(MATMUL_SHAPES))
def test_matmul(name):
    a, b = MATMUL_SHAPES[name]
    check_converter(Fn(torch.matmul), [torch.randn(*a), torch.randn(*b)], **FP32)


def test_matmul_dynamic_batch():
    a = kiln.Input(min_shape=(1, 3, 4), opt_shape=(4, 3, 4), max_shape=(8, 3, 4),
                   shared_dims={0: "n"})
    b = kiln.Input(min_shape=(1, 4, 5), opt_shape=(4, 4, 5), max_shape=(8, 4, 5),
                   shared_dims={0: "n"})
    check_converter(Fn(torch.matmul), [torch.randn(4, 3, 4), torch.randn(4, 4, 5)],
                    dynamic=[a, b], **FP32)


def test_matmul_dynamic_inner():
    # The contracted dim is symbolic: x[n, k] @ y[k, 5] with k shared.
    a = kiln.Input(min_shape=(2, 1), opt_shape=(2, 6), max_shape=(2, 16), shared_dims={1: "k"})
    b = kiln.Input(min_shape=(1, 5), opt_shape=(6, 5), max_shape=(16, 5), shared_dims={0: "k"})
    check_converter(Fn(torch.matmul), [torch.randn(2, 6), torch.randn(6, 5)], dynamic=[a, b],
                    **FP32)


def test_matmul_dynamic_broadcast_rhs():
    # batched [n, 3, 4] @ constant-shaped [4, 5]
    a = kiln.Input(min_shape=(1, 3, 4), opt_shape=(2, 3, 4), max_shape=(6, 3, 4))
    b = kiln.Input(shape=(4, 5))
    check_converter(Fn(torch.matmul), [torch.randn(2, 3, 4), torch.randn(4, 5)], dynamic=[a, b],
                    **FP32)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_matmul_half(dtype):
    check_converter(Fn(torch.matmul), [torch.randn(2, 3, 16, dtype=dtype),
                                       torch.randn(16, 8, dtype=dtype)])


def test_matmul_of_linear_chain():
    class M(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.q = torch.nn.Linear(8, 8)
            self.k = torch.nn.Linear(8, 8)

        def forward(self, x):
            return torch.matmul(self.q(x), self.k(x).transpose(-1, -2))

    check_converter(M(), [torch.randn(2, 5, 8)], **FP32)


# ---- mm, bmm, addmm, baddbmm, mv, dot ----


def test_mm():
    check_converter(Fn(torch.mm), [torch.randn(3, 4), torch.randn(4, 5)], **FP32)


def test_bmm():
    check_converter(Fn(torch.bmm), [torch.randn(2, 3, 4), torch.randn(2, 4, 5)], **FP32)


def test_bmm_dynamic():
    a = kiln.Input(min_shape=(1, 3, 4), opt_shape=(3, 3, 4), max_shape=(5, 3, 4),
                   shared_dims={0: "n"})
    b = kiln.Input(min_shape=(1, 4, 5), opt_shape=(3, 4, 5), max_shape=(5, 4, 5),
                   shared_dims={0: "n"})
    check_converter(Fn(torch.bmm), [torch.randn(3, 3, 4), torch.randn(3, 4, 5)],
                    dynamic=[a, b], **FP32)


@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, 2.0), (2, 1), (1, -0.5)])
@pytest.mark.parametrize("self_shape", [(5,), (3, 5), (1, 5)])
def test_addmm(beta, alpha, self_shape):
    gm = check_converter(Fn(lambda s, a, b: torch.addmm(s, a, b, beta=beta, alpha=alpha)),
                         [torch.randn(*self_shape), torch.randn(3, 4), torch.randn(4, 5)], **FP32)
    assert "aten.addmm.default" not in targets(gm)


def test_addmm_beta_zero_ignores_nan():
    s = torch.full((3, 5), float("nan"))
    check_converter(Fn(lambda s, a, b: torch.addmm(s, a, b, beta=0)),
                    [s, torch.randn(3, 4), torch.randn(4, 5)], **FP32)


def test_addmm_dynamic():
    a = kiln.Input(min_shape=(1, 4), opt_shape=(3, 4), max_shape=(7, 4))
    check_converter(Fn(lambda a, b: torch.addmm(b[0], a, b, beta=0.5)),
                    [torch.randn(3, 4), torch.randn(4, 4)],
                    dynamic=[a, kiln.Input(shape=(4, 4))], **FP32)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_addmm_half(dtype):
    check_converter(Fn(lambda s, a, b: torch.addmm(s, a, b, alpha=0.5)),
                    [torch.randn(5, dtype=dtype), torch.randn(3, 8, dtype=dtype),
                     torch.randn(8, 5, dtype=dtype)])


@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, 2.0), (0, 1)])
def test_baddbmm(beta, alpha):
    check_aten(Fn(lambda s, a, b: torch.baddbmm(s, a, b, beta=beta, alpha=alpha)),
               [torch.randn(2, 3, 5), torch.randn(2, 3, 4), torch.randn(2, 4, 5)], **FP32)


def test_mv():
    check_aten(Fn(torch.mv), [torch.randn(3, 4), torch.randn(4)], **FP32)


def test_dot():
    check_aten(Fn(torch.dot), [torch.randn(7), torch.randn(7)], **FP32)


# ---- refused cases fall back to PyTorch ----


def test_integer_matmul_falls_back():
    # The IR matmul is float only: the integer product runs in PyTorch, the rest in an engine.
    m = Fn(lambda a, b: torch.matmul(a, b).float() * 2.0)
    a = torch.randint(-5, 5, (3, 4))
    b = torch.randint(-5, 5, (4, 5))
    gm = kiln.compile(m, ir="dynamo", inputs=[a, b], min_block_size=1)
    assert "aten.matmul.default" in targets(gm)
    assert engine_count(gm) >= 1
    with torch.no_grad():
        assert_outputs_close(gm(a, b), m(a, b))


def test_integer_matmul_refused_under_full_compilation():
    m = Fn(lambda a, b: torch.matmul(a, b))
    a = torch.randint(-5, 5, (3, 4))
    b = torch.randint(-5, 5, (4, 5))
    with pytest.raises(Exception, match="not supported"):
        kiln.compile(m, ir="dynamo", inputs=[a, b], min_block_size=1,
                     require_full_compilation=True)
