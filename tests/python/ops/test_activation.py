"""Activation converters (src/importer/activation.cc) against eager, static and dynamic.

Most ops are reached through kiln.compile (torch.export + kiln's decomposition table). ATen forms
that torch.export never produces (clamp_min/clamp_max, glu, _prelu_kernel, elu with input_scale) but
that graphs traced below it (make_fx, aot_autograd) contain are compiled from an FX graph that calls
the overload directly (``compile_aten``), which asserts the overload reaches kiln.
"""

import pytest
import torch
import torch.nn.functional as F
from torch.fx.passes.fake_tensor_prop import FakeTensorProp

import kiln
from kiln._settings import CompilationSettings
from kiln.frontends import dynamo
from kiln_testing import assert_outputs_close, check_converter, engine_count

A = torch.ops.aten


class Fn(torch.nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


class Fn2(Fn):
    def forward(self, x, y):
        return self.fn(x, y)


def compile_aten(fn, inputs, target, **settings):
    """Compiles an FX graph of `fn` (which calls ATen overloads directly), checks that `target` is
    in it and compiled into an engine, and compares with eager."""
    gm = torch.fx.symbolic_trace(fn)
    FakeTensorProp(gm).propagate(*inputs)
    assert any(n.target is target for n in gm.graph.nodes), gm.graph
    settings.setdefault("min_block_size", 1)
    settings.setdefault("require_full_compilation", True)
    out = dynamo.compile_graph_module(gm, CompilationSettings.from_kwargs(settings))
    assert engine_count(out) >= 1, "nothing was compiled into an engine"
    assert not any(n.target is target for n in out.graph.nodes), "the op ran in PyTorch"
    with torch.no_grad():
        assert_outputs_close(out(*inputs), fn(*inputs))
    return out


FLOAT = {
    "relu": F.relu,
    "relu6": F.relu6,
    "sigmoid": torch.sigmoid,
    "silu": F.silu,
    "gelu": F.gelu,
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "hardswish": F.hardswish,
    "hardsigmoid": F.hardsigmoid,
    "hardtanh": lambda x: F.hardtanh(x, -0.5, 0.75),
    "leaky_relu": lambda x: F.leaky_relu(x, 0.2),
    "leaky_relu_default": F.leaky_relu,
    "elu": lambda x: F.elu(x, 0.7),
    "selu": F.selu,
    "softplus": F.softplus,
    "softplus_beta_threshold": lambda x: F.softplus(x, beta=2.0, threshold=1.5),
    "mish": F.mish,
    "clamp": lambda x: x.clamp(-0.5, 0.5),
    "clamp_min_only": lambda x: x.clamp(min=-0.25),
    "clamp_max_only": lambda x: x.clamp(max=0.25),
    "clamp_min_gt_max": lambda x: x.clamp(0.5, -0.5),
    "clamp_int_bounds": lambda x: torch.clamp(x, -1, 1),
    "clamp_min_fn": lambda x: torch.clamp_min(x, 0.1),
    "clamp_tensor": lambda x: x.clamp(min=x[0:1] * 0.5, max=x[1:2].abs() + 0.1),
    "clamp_tensor_min": lambda x: x.clamp(min=x[1:2]),
    "clamp_tensor_max": lambda x: x.clamp(max=x[2:3]),
    "clamp_tensor_broadcast_up": lambda x: torch.clamp(x[:, :1], min=x[:1] * 0.5),
    "glu_module": lambda x: F.glu(x, -1),
}


@pytest.mark.parametrize("name", sorted(FLOAT))
def test_float(name):
    x = torch.randn(4, 6) * 3
    check_converter(Fn(FLOAT[name]), [x])


@pytest.mark.parametrize("name", ["relu", "gelu", "silu", "elu", "softplus_beta_threshold", "clamp",
                                  "hardtanh", "mish", "selu", "clamp_tensor"])
def test_dynamic(name):
    x = torch.randn(4, 6) * 3
    spec = kiln.Input(min_shape=(3, 6), opt_shape=(4, 6), max_shape=(9, 6))
    check_converter(Fn(FLOAT[name]), [x], dynamic=[spec])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("name", ["gelu", "gelu_tanh", "silu", "hardswish", "sigmoid", "elu",
                                  "softplus", "clamp", "leaky_relu"])
def test_half(name, dtype):
    x = (torch.randn(4, 6) * 3).to(dtype)
    check_converter(Fn(FLOAT[name]), [x])


def test_relu_int():
    x = torch.randint(-5, 5, (4, 6))
    check_converter(Fn(F.relu), [x])


def test_clamp_int():
    x = torch.randint(-10, 10, (4, 6))
    check_converter(Fn(lambda a: a.clamp(-3, 4)), [x])


def test_clamp_int_float_bound_promotes():
    x = torch.randint(-10, 10, (4, 6))
    check_converter(Fn(lambda a: a.clamp(min=-2.5)), [x])


def test_clamp_tensor_int_promotes():
    x = torch.randint(-10, 10, (4, 6))
    lo = torch.randn(6)
    check_converter(Fn2(lambda a, b: torch.clamp(a, min=b)), [x, lo])


def test_sigmoid_int_promotes():
    x = torch.randint(-3, 3, (4, 6))
    check_converter(Fn(torch.sigmoid), [x])


def test_prelu_module():
    m = torch.nn.PReLU(3)
    with torch.no_grad():
        m.weight.copy_(torch.tensor([0.1, -0.2, 0.5]))
    check_converter(m, [torch.randn(2, 3, 4, 4)])


# ---- ATen overloads torch.export does not produce -------------------------------------------------


def test_clamp_min_default():
    compile_aten(lambda x: A.clamp_min.default(x, 0.2), [torch.randn(4, 6)], A.clamp_min.default)


def test_clamp_max_default():
    compile_aten(lambda x: A.clamp_max.default(x, -0.2), [torch.randn(4, 6)], A.clamp_max.default)


def test_clamp_min_tensor():
    compile_aten(lambda x, y: A.clamp_min.Tensor(x, y), [torch.randn(4, 6), torch.randn(6)],
                 A.clamp_min.Tensor)


def test_clamp_max_tensor():
    compile_aten(lambda x, y: A.clamp_max.Tensor(x, y), [torch.randn(4, 6), torch.randn(4, 1)],
                 A.clamp_max.Tensor)


@pytest.mark.parametrize("dim", [1, -1, 0])
def test_glu_default(dim):
    compile_aten(lambda x: A.glu.default(x, dim), [torch.randn(4, 6, 8)], A.glu.default)


def test_prelu_kernel():
    w = torch.tensor([0.25, -0.5, 2.0]).reshape(1, 3, 1, 1)
    compile_aten(lambda x, w: A._prelu_kernel.default(x, w), [torch.randn(2, 3, 4, 4), w],
                 A._prelu_kernel.default)


def test_elu_input_scale():
    compile_aten(lambda x: A.elu.default(x, 0.5, 1.5, 2.0), [torch.randn(4, 6) * 3], A.elu.default)


# ---- refused cases fall back to PyTorch -------------------------------------------------------------


def test_softplus_beta_zero_falls_back():
    m = Fn(lambda x: F.softplus(x * 2, beta=0.0) + 1).eval()
    x = torch.randn(4, 6)
    gm = kiln.compile(m, ir="dynamo", inputs=[x], min_block_size=1)
    assert any(n.target is A.softplus.default for n in gm.graph.nodes), "softplus was not refused"
    assert engine_count(gm) >= 1
    with torch.no_grad():
        assert_outputs_close(gm(x), m(x))


def test_softplus_beta_zero_refused_with_reason():
    m = Fn(lambda x: F.softplus(x, beta=0.0)).eval()
    with pytest.raises(Exception, match="beta = 0"):
        kiln.compile(m, ir="dynamo", inputs=[torch.randn(4, 6)], min_block_size=1,
                     require_full_compilation=True)
