"""Normalization converters (src/importer/norm.cc) against eager: batch / layer / group / RMS norm,
softmax and log_softmax, scaled dot-product attention; static, dynamic and half precision.

Modules go through kiln.compile (torch.export + kiln's decomposition table). ATen forms that
torch.export never produces (batch_norm.default, native_batch_norm, native_layer_norm with its
statistics, native_group_norm, _softmax) but that graphs traced below it contain are compiled from an
FX graph calling the overload directly (``compile_aten``), which asserts the overload reaches kiln.
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


class Fn3(Fn):
    def forward(self, q, k, v):
        return self.fn(q, k, v)


class Fn4(Fn):
    def forward(self, q, k, v, m):
        return self.fn(q, k, v, m)


def unpack3(r):
    return r[0], r[1], r[2]


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


def randomize_bn(m):
    with torch.no_grad():
        m.running_mean.copy_(torch.randn_like(m.running_mean))
        m.running_var.copy_(torch.rand_like(m.running_var) + 0.5)
        if m.weight is not None:
            m.weight.copy_(torch.randn_like(m.weight))
            m.bias.copy_(torch.randn_like(m.bias))
    return m.eval()


def randomize_affine(m):
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randn_like(p))
    return m.eval()


# ---- batch norm -----------------------------------------------------------------------------------


@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm2d(affine):
    m = randomize_bn(torch.nn.BatchNorm2d(4, affine=affine))
    check_converter(m, [torch.randn(2, 4, 5, 5)])


def test_batch_norm1d():
    check_converter(randomize_bn(torch.nn.BatchNorm1d(6)), [torch.randn(3, 6)])
    check_converter(randomize_bn(torch.nn.BatchNorm1d(6, eps=1e-3)), [torch.randn(3, 6, 7)])


def test_batch_norm_dynamic():
    m = randomize_bn(torch.nn.BatchNorm2d(4))
    spec = kiln.Input(min_shape=(1, 4, 3, 3), opt_shape=(2, 4, 5, 5), max_shape=(5, 4, 8, 8))
    check_converter(m, [torch.randn(2, 4, 5, 5)], dynamic=[spec])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_batch_norm_half(dtype):
    m = randomize_bn(torch.nn.BatchNorm2d(4)).to(dtype)
    check_converter(m, [torch.randn(2, 4, 5, 5, dtype=dtype)])


def test_conv_batch_norm():
    m = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.BatchNorm2d(4),
                            torch.nn.ReLU())
    randomize_bn(m[1])
    x = torch.randn(2, 3, 8, 8)
    # Not require_full_compilation: the batch norm must be in an engine whatever the conv does.
    gm = kiln.compile(m, ir="dynamo", inputs=[x], min_block_size=1)
    assert engine_count(gm) >= 1
    assert not any("batch_norm" in str(n.target) for n in gm.graph.nodes), gm.graph
    with torch.no_grad():
        assert_outputs_close(gm(x), m(x))


def test_batch_norm_default():
    fn = lambda x, mean, var, w, b: A.batch_norm.default(x, w, b, mean, var, False, 0.1, 1e-5, False)
    inputs = [torch.randn(2, 4, 3, 3), torch.randn(4), torch.rand(4) + 0.5, torch.randn(4),
              torch.randn(4)]
    compile_aten(fn, inputs, A.batch_norm.default)


def test_native_batch_norm():
    fn = lambda x, mean, var: A.native_batch_norm.default(x, None, None, mean, var, False, 0.1, 1e-5)[0]
    inputs = [torch.randn(2, 4, 3, 3), torch.randn(4), torch.rand(4) + 0.5]
    compile_aten(fn, inputs, A.native_batch_norm.default)


def test_bn_no_training_all_outputs():
    # The empty statistics are returned too (engine outputs of shape [0]).
    fn = lambda x, mean, var: unpack3(A._native_batch_norm_legit_no_training.default(
        x, None, None, mean, var, 0.1, 1e-5))
    inputs = [torch.randn(2, 4, 3, 3), torch.randn(4), torch.rand(4) + 0.5]
    compile_aten(fn, inputs, A._native_batch_norm_legit_no_training.default)


def test_batch_norm_training_refused():
    fn = lambda x, mean, var: A.batch_norm.default(x, None, None, mean, var, True, 0.1, 1e-5, False)
    inputs = [torch.randn(2, 4, 3, 3), torch.randn(4), torch.rand(4) + 0.5]
    gm = torch.fx.symbolic_trace(fn)
    FakeTensorProp(gm).propagate(*inputs)
    with pytest.raises(Exception, match="training mode"):
        dynamo.compile_graph_module(gm, CompilationSettings.from_kwargs(
            dict(min_block_size=1, require_full_compilation=True)))


# ---- layer norm, RMS norm, group norm ---------------------------------------------------------------


@pytest.mark.parametrize("affine,bias", [(True, True), (True, False), (False, False)])
def test_layer_norm(affine, bias):
    m = randomize_affine(torch.nn.LayerNorm(8, elementwise_affine=affine, bias=bias))
    check_converter(m, [torch.randn(3, 5, 8)])


def test_layer_norm_two_dims():
    m = randomize_affine(torch.nn.LayerNorm([5, 8], eps=1e-3))
    check_converter(m, [torch.randn(3, 5, 8)])


def test_layer_norm_dynamic():
    m = randomize_affine(torch.nn.LayerNorm(8))
    spec = kiln.Input(min_shape=(1, 1, 8), opt_shape=(2, 5, 8), max_shape=(4, 16, 8))
    check_converter(m, [torch.randn(2, 5, 8)], dynamic=[spec])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_layer_norm_half(dtype):
    m = randomize_affine(torch.nn.LayerNorm(16)).to(dtype)
    check_converter(m, [torch.randn(3, 4, 16, dtype=dtype)])


def test_native_layer_norm_statistics():
    fn = lambda x, w, b: unpack3(A.native_layer_norm.default(x, [4, 6], w, b, 1e-5))
    compile_aten(fn, [torch.randn(3, 4, 6) * 2 + 1, torch.randn(4, 6), torch.randn(4, 6)],
                 A.native_layer_norm.default)


def test_native_layer_norm_no_affine():
    fn = lambda x: unpack3(A.native_layer_norm.default(x, [6], None, None, 1e-3))
    compile_aten(fn, [torch.randn(3, 4, 6)], A.native_layer_norm.default)


@pytest.mark.parametrize("affine", [True, False])
def test_rms_norm(affine):
    m = randomize_affine(torch.nn.RMSNorm(8, elementwise_affine=affine))
    check_converter(m, [torch.randn(3, 5, 8)])


def test_rms_norm_eps_and_two_dims():
    m = randomize_affine(torch.nn.RMSNorm([5, 8], eps=1e-2))
    check_converter(m, [torch.randn(3, 5, 8) * 0.1])


def test_rms_norm_default_eps_small_input():
    # eps None is f32's epsilon (torch's computation dtype); tiny inputs make it visible.
    m = torch.nn.RMSNorm(4).eval()
    check_converter(m, [torch.randn(3, 4) * 1e-4])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_rms_norm_half_default_eps(dtype):
    m = randomize_affine(torch.nn.RMSNorm(8)).to(dtype)
    check_converter(m, [(torch.randn(3, 8) * 1e-3).to(dtype)])


def test_rms_norm_dynamic():
    m = randomize_affine(torch.nn.RMSNorm(8))
    spec = kiln.Input(min_shape=(1, 8), opt_shape=(3, 8), max_shape=(7, 8))
    check_converter(m, [torch.randn(3, 8)], dynamic=[spec])


@pytest.mark.parametrize("affine", [True, False])
def test_group_norm(affine):
    m = randomize_affine(torch.nn.GroupNorm(3, 6, affine=affine))
    check_converter(m, [torch.randn(2, 6, 4, 5)])


def test_group_norm_3d_input_and_eps():
    m = randomize_affine(torch.nn.GroupNorm(2, 8, eps=1e-3))
    check_converter(m, [torch.randn(2, 8, 7)])


def test_group_norm_dynamic():
    m = randomize_affine(torch.nn.GroupNorm(2, 4))
    spec = kiln.Input(min_shape=(1, 4, 3, 3), opt_shape=(2, 4, 5, 5), max_shape=(4, 4, 8, 8))
    check_converter(m, [torch.randn(2, 4, 5, 5)], dynamic=[spec])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_group_norm_half(dtype):
    m = randomize_affine(torch.nn.GroupNorm(2, 4)).to(dtype)
    check_converter(m, [torch.randn(2, 4, 5, 5, dtype=dtype)])


def test_native_group_norm_statistics():
    fn = lambda x, w, b: unpack3(A.native_group_norm.default(x, w, b, 2, 6, 12, 3, 1e-5))
    compile_aten(fn, [torch.randn(2, 6, 3, 4) * 2 + 1, torch.randn(6), torch.randn(6)],
                 A.native_group_norm.default)


# ---- softmax ----------------------------------------------------------------------------------------


SOFTMAX = {
    "softmax_last": lambda x: x.softmax(-1),
    "softmax_dim1": lambda x: F.softmax(x, dim=1),
    "softmax_dim0": lambda x: torch.softmax(x, 0),
    "log_softmax_last": lambda x: x.log_softmax(-1),
    "log_softmax_dim1": lambda x: F.log_softmax(x, dim=1),
}


@pytest.mark.parametrize("name", sorted(SOFTMAX))
def test_softmax(name):
    check_converter(Fn(SOFTMAX[name]), [torch.randn(3, 5, 7) * 4])


@pytest.mark.parametrize("name", ["softmax_last", "log_softmax_dim1"])
def test_softmax_dynamic(name):
    spec = kiln.Input(min_shape=(1, 5, 2), opt_shape=(3, 5, 7), max_shape=(6, 5, 16))
    check_converter(Fn(SOFTMAX[name]), [torch.randn(3, 5, 7)], dynamic=[spec])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("name", ["softmax_last", "log_softmax_last"])
def test_softmax_half(name, dtype):
    check_converter(Fn(SOFTMAX[name]), [(torch.randn(3, 5, 7) * 4).to(dtype)])


@pytest.mark.parametrize("fn", [lambda x: x.softmax(-1, dtype=torch.float32),
                                lambda x: x.log_softmax(1, dtype=torch.float32)])
def test_softmax_dtype_arg(fn):
    check_converter(Fn(fn), [(torch.randn(3, 5, 7) * 4).half()])


def test_softmax_int_input_dtype_arg():
    check_converter(Fn(lambda x: x.softmax(-1, dtype=torch.float32)), [torch.randint(-3, 3, (3, 7))])


def test_underscore_softmax():
    compile_aten(lambda x: A._softmax.default(x, 1, False), [torch.randn(3, 5, 7)],
                 A._softmax.default)
    compile_aten(lambda x: A._log_softmax.default(x, -1, False), [torch.randn(3, 5, 7)],
                 A._log_softmax.default)


# ---- scaled dot-product attention -------------------------------------------------------------------


def qkv(b=2, h=3, l=5, s=7, e=8, ev=8, dtype=torch.float32, hk=None):
    hk = hk or h
    return (torch.randn(b, h, l, e, dtype=dtype), torch.randn(b, hk, s, e, dtype=dtype),
            torch.randn(b, hk, s, ev, dtype=dtype))


def test_sdpa_plain():
    check_converter(Fn3(F.scaled_dot_product_attention), list(qkv(ev=6)))


def test_sdpa_causal():
    check_converter(Fn3(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True)),
                    list(qkv(l=6, s=6)))


def test_sdpa_causal_rectangular():
    # L < S: torch's causal mask is top-left aligned.
    check_converter(Fn3(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True)),
                    list(qkv(l=4, s=7)))


def test_sdpa_scale():
    check_converter(Fn3(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, scale=0.2)),
                    list(qkv()))


def test_sdpa_bool_mask():
    mask = torch.rand(5, 7) > 0.4
    mask[:, 0] = True  # no fully masked rows
    check_converter(Fn4(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m)),
                    list(qkv()) + [mask])


def test_sdpa_bool_mask_broadcast_heads():
    mask = torch.rand(2, 1, 5, 7) > 0.4
    mask[..., 0] = True
    check_converter(Fn4(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m)),
                    list(qkv()) + [mask])


def test_sdpa_float_mask_and_scale():
    mask = torch.randn(3, 5, 7)
    check_converter(Fn4(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m,
                                                                          scale=0.5)),
                    list(qkv()) + [mask])


def test_sdpa_gqa():
    check_converter(Fn3(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True)),
                    list(qkv(h=6, hk=2)))


def test_sdpa_gqa_equal_heads():
    check_converter(Fn3(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True)),
                    list(qkv()))


def test_sdpa_3d():
    q, k, v = torch.randn(2, 5, 8), torch.randn(2, 7, 8), torch.randn(2, 7, 4)
    check_converter(Fn3(F.scaled_dot_product_attention), [q, k, v])


def test_sdpa_dynamic_seq():
    q, k, v = qkv(l=6, s=6)
    spec = kiln.Input(min_shape=(1, 3, 2, 8), opt_shape=(2, 3, 6, 8), max_shape=(3, 3, 12, 8),
                      shared_dims={0: "b", 2: "seq"})
    check_converter(Fn3(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True)),
                    [q, k, v], dynamic=[spec, spec, spec])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_sdpa_half(dtype):
    mask = torch.randn(5, 7).to(dtype)
    check_converter(Fn4(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m)),
                    list(qkv(dtype=dtype)) + [mask])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_sdpa_half_causal(dtype):
    check_converter(Fn3(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True)),
                    list(qkv(l=6, s=6, dtype=dtype)))


def test_sdpa_dropout_falls_back():
    m = Fn3(lambda q, k, v: F.scaled_dot_product_attention(q * 2, k, v, dropout_p=0.5) + 1).eval()
    q, k, v = qkv()
    gm = kiln.compile(m, ir="dynamo", inputs=[q, k, v], min_block_size=1)
    assert any(n.target is A.scaled_dot_product_attention.default for n in gm.graph.nodes), \
        "attention with dropout was not refused"
    assert engine_count(gm) >= 1
    with torch.no_grad():
        torch.manual_seed(0)
        got = gm(q, k, v)
        torch.manual_seed(0)
        want = m(q, k, v)
    assert_outputs_close(got, want)


def test_sdpa_dropout_refused_with_reason():
    m = Fn3(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)).eval()
    with pytest.raises(Exception, match="dropout_p"):
        kiln.compile(m, ir="dynamo", inputs=list(qkv()), min_block_size=1,
                     require_full_compilation=True)


# ---- precision settings -----------------------------------------------------------------------------


class Block(torch.nn.Module):
    """A transformer-ish block: every converter of this file in one engine."""

    def __init__(self):
        super().__init__()
        self.ln = randomize_affine(torch.nn.LayerNorm(8))
        self.rms = randomize_affine(torch.nn.RMSNorm(8))
        self.bn = randomize_bn(torch.nn.BatchNorm1d(4))
        self.gn = randomize_affine(torch.nn.GroupNorm(2, 4))

    def forward(self, x):
        h = self.ln(x)
        a = F.scaled_dot_product_attention(h, h, h, is_causal=True)
        y = self.rms(a + x)
        y = self.gn(self.bn(y))
        return y.softmax(-1), y.log_softmax(1)


def test_block_lowered_to_f16():
    m = Block().eval()
    check_converter(m, [torch.randn(2, 4, 8)], enabled_precisions={torch.float16}, rtol=2e-2,
                    atol=2e-2)

