"""Convolution, pooling, resize and pad converters (src/importer/conv_pool.cc) against eager:
static fp32, dynamic batch and spatial sizes, fp16/bf16, and refused cases that fall back.

Tolerances: fp32 convolutions sum C*k products in a different order than eager's kernels, so they
use rtol = atol = 1e-4 (FP32 below); pooling, resize and pad use the default tight fp32 tolerances;
fp16/bf16 use kiln_testing.TOLERANCES.
"""

import pytest
import torch

import kiln
from kiln._decompositions import decomposition_table
from kiln._settings import CompilationSettings
from kiln.frontends.dynamo import compile_graph_module
from kiln_testing import assert_outputs_close, check_converter, engine_count

F = torch.nn.functional
FP32 = {"rtol": 1e-4, "atol": 1e-4}


class Fn(torch.nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


class Fn2(Fn):
    def forward(self, x, w):
        return self.fn(x, w)


def check_aten(module, inputs, **tol):
    """Compiles the ATen graph torch.export records (before kiln's decompositions) fully into
    engines and compares with eager: for overloads the decomposition table lowers away
    (reflection_pad2d, upsample_nearest1d, conv2d.padding, ...) but other frontends may hand over.
    Returns the compiled module."""
    module = module.eval()
    ep = torch.export.export(module, tuple(inputs))
    settings = CompilationSettings.from_kwargs({"min_block_size": 1,
                                                "require_full_compilation": True})
    gm = compile_graph_module(ep.module(), settings)
    assert engine_count(gm) >= 1, "nothing was compiled into an engine"
    with torch.no_grad():
        assert_outputs_close(gm(*inputs), module(*inputs), **tol)
    return gm


def aten_targets(module, inputs):
    ep = torch.export.export(module.eval(), tuple(inputs))
    return {str(n.target) for n in ep.graph.nodes if n.op == "call_function"}


def targets(gm):
    return {str(n.target) for n in gm.graph.nodes if n.op == "call_function"}


def dyn(shape, **dims):
    """kiln.Input with the dims named in `dims` (index -> (min, max)) dynamic; opt = `shape`."""
    lo, hi = list(shape), list(shape)
    for d, (a, b) in dims.items():
        lo[int(d[1:])], hi[int(d[1:])] = a, b
    return kiln.Input(min_shape=tuple(lo), opt_shape=tuple(shape), max_shape=tuple(hi))


# ---- convolution ----

CONV2D = {
    "basic": dict(in_channels=4, out_channels=8, kernel_size=3),
    "no_bias": dict(in_channels=4, out_channels=8, kernel_size=3, bias=False),
    "padded": dict(in_channels=4, out_channels=8, kernel_size=3, padding=1),
    "padded_asym": dict(in_channels=4, out_channels=6, kernel_size=(3, 5), padding=(1, 2)),
    "strided": dict(in_channels=4, out_channels=8, kernel_size=3, stride=2, padding=1),
    "strided_asym": dict(in_channels=4, out_channels=8, kernel_size=3, stride=(1, 2)),
    "dilated": dict(in_channels=4, out_channels=8, kernel_size=3, dilation=2, padding=2),
    "grouped": dict(in_channels=4, out_channels=8, kernel_size=3, groups=2, padding=1),
    "depthwise": dict(in_channels=4, out_channels=4, kernel_size=3, groups=4, padding=1),
    "depthwise_mult": dict(in_channels=4, out_channels=8, kernel_size=3, groups=4, bias=False),
    "pointwise": dict(in_channels=4, out_channels=8, kernel_size=1),
    "same": dict(in_channels=4, out_channels=8, kernel_size=3, padding="same"),
    "same_dilated": dict(in_channels=4, out_channels=8, kernel_size=3, padding="same", dilation=2),
    "valid": dict(in_channels=4, out_channels=8, kernel_size=3, padding="valid"),
    "all": dict(in_channels=6, out_channels=9, kernel_size=(2, 3), stride=(2, 1), padding=(1, 0),
                dilation=(1, 2), groups=3),
}


@pytest.mark.parametrize("name", sorted(CONV2D))
def test_conv2d(name):
    check_converter(torch.nn.Conv2d(**CONV2D[name]), [torch.randn(2, CONV2D[name]["in_channels"],
                                                                  9, 10)], **FP32)


@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=2, dilation=2),
                                dict(groups=2, bias=False), dict(padding="same")])
def test_conv1d(kw):
    check_converter(torch.nn.Conv1d(4, 6, 3, **kw), [torch.randn(2, 4, 11)], **FP32)


@pytest.mark.parametrize("kw", [dict(), dict(stride=(1, 2, 2), padding=1),
                                dict(groups=2, dilation=(2, 1, 1))])
def test_conv3d(kw):
    check_converter(torch.nn.Conv3d(4, 6, 3, **kw), [torch.randn(1, 4, 6, 7, 8)], **FP32)


def test_conv2d_unbatched():
    check_converter(torch.nn.Conv2d(3, 5, 3, padding=1), [torch.randn(3, 8, 8)], **FP32)


def test_conv2d_weight_input():
    # The weight is an engine input rather than a constant.
    m = Fn2(lambda x, w: F.conv2d(x, w, stride=2, padding=1))
    check_converter(m, [torch.randn(2, 4, 8, 8), torch.randn(6, 4, 3, 3)], **FP32)


def test_conv2d_dynamic_batch():
    spec = dyn((4, 3, 16, 16), d0=(1, 8))
    check_converter(torch.nn.Conv2d(3, 8, 3, stride=2, padding=1), [torch.randn(4, 3, 16, 16)],
                    dynamic=[spec], **FP32)


def test_conv2d_dynamic_spatial():
    spec = dyn((2, 3, 16, 20), d2=(8, 32), d3=(8, 32))
    check_converter(torch.nn.Conv2d(3, 8, 3, stride=2, padding=1, dilation=1),
                    [torch.randn(2, 3, 16, 20)], dynamic=[spec], **FP32)


def test_conv1d_dynamic_length():
    spec = dyn((2, 4, 20), d0=(1, 4), d2=(5, 40))
    check_converter(torch.nn.Conv1d(4, 4, 5, padding=2, groups=4), [torch.randn(2, 4, 20)],
                    dynamic=[spec], **FP32)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_conv2d_half(dtype):
    m = torch.nn.Conv2d(4, 8, 3, padding=1).to(dtype)
    check_converter(m, [torch.randn(2, 4, 8, 8, dtype=dtype)])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_conv2d_half_dynamic(dtype):
    m = torch.nn.Conv2d(4, 8, 3, padding=1, groups=2).to(dtype)
    spec = kiln.Input(min_shape=(1, 4, 8, 8), opt_shape=(2, 4, 8, 8), max_shape=(3, 4, 8, 8),
                      dtype=dtype)
    check_converter(m, [torch.randn(2, 4, 8, 8, dtype=dtype)], dynamic=[spec])


# conv2d.padding / conv1d.padding reach the converter directly from torch.export's ATen graph.
@pytest.mark.parametrize("padding", ["same", "valid"])
def test_conv2d_padding_overload(padding):
    w, b = torch.randn(6, 4, 3, 5), torch.randn(6)
    m = Fn(lambda x: torch.ops.aten.conv2d.padding(x, w, b, [1, 1], padding, [1, 2], 1))
    gm = check_aten(m, [torch.randn(2, 4, 9, 10)], **FP32)
    assert "aten.conv2d.padding" not in targets(gm)


def test_conv1d_padding_overload():
    w = torch.randn(4, 2, 3)
    m = Fn(lambda x: torch.ops.aten.conv1d.padding(x, w, None, [1], "same", [3], 2))
    check_aten(m, [torch.randn(2, 4, 12)], **FP32)


TRANSPOSED = {
    "basic": dict(kernel_size=3),
    "strided_outpad": dict(kernel_size=3, stride=2, padding=1, output_padding=1),
    "grouped": dict(kernel_size=3, stride=2, groups=2, bias=False),
    "dilated": dict(kernel_size=3, dilation=2, padding=1),
    "dilated_outpad": dict(kernel_size=2, stride=1, dilation=3, output_padding=2),
    "asym": dict(kernel_size=(2, 3), stride=(2, 3), padding=(0, 1), output_padding=(1, 2)),
}


@pytest.mark.parametrize("name", sorted(TRANSPOSED))
def test_conv_transpose2d(name):
    check_converter(torch.nn.ConvTranspose2d(4, 6, **TRANSPOSED[name]), [torch.randn(2, 4, 5, 6)],
                    **FP32)


def test_conv_transpose1d():
    m = torch.nn.ConvTranspose1d(4, 6, 3, stride=2, padding=1, output_padding=1)
    check_converter(m, [torch.randn(2, 4, 7)], **FP32)


def test_conv_transpose3d():
    m = torch.nn.ConvTranspose3d(4, 2, 3, stride=2, output_padding=(1, 0, 1), groups=2)
    check_converter(m, [torch.randn(1, 4, 3, 4, 3)], **FP32)


def test_conv_transpose2d_functional():
    # F.conv_transpose2d keeps aten.conv_transpose2d.input (argument order: groups before dilation)
    w, b = torch.randn(4, 3, 3, 3), torch.randn(6)
    m = Fn(lambda x: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1, groups=2,
                                        dilation=1))
    x = torch.randn(2, 4, 5, 5)
    assert "aten.conv_transpose2d.input" in aten_targets(m, [x])
    check_converter(m, [x], **FP32)


def test_conv_transpose2d_dynamic():
    spec = dyn((2, 4, 6, 6), d0=(1, 4), d2=(3, 9))
    m = torch.nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1)
    check_converter(m, [torch.randn(2, 4, 6, 6)], dynamic=[spec], **FP32)


def test_convolution_transposed_flag():
    w, b = torch.randn(4, 3, 3), torch.randn(3)
    m = Fn(lambda x: torch.ops.aten.convolution.default(x, w, b, [2], [1], [1], True, [1], 1))
    check_aten(m, [torch.randn(2, 4, 7)], **FP32)


def test_conv_asymmetric_same_refused():
    # An even kernel needs more padding on one side: refused, so the node runs in PyTorch.
    w = torch.randn(6, 4, 4, 4)
    m = Fn(lambda x: torch.ops.aten.conv2d.padding(x, w, None, [1, 1], "same", [1, 1], 1) * 2)
    x = torch.randn(2, 4, 8, 8)
    ep = torch.export.export(m, (x,))
    with pytest.raises(Exception, match="asymmetric"):
        compile_graph_module(ep.module(), CompilationSettings.from_kwargs(
            {"min_block_size": 1, "require_full_compilation": True}))
    gm = compile_graph_module(ep.module(), CompilationSettings.from_kwargs({"min_block_size": 1}))
    assert "aten.conv2d.padding" in targets(gm)
    assert engine_count(gm) == 1
    with torch.no_grad():
        assert_outputs_close(gm(x), m(x), **FP32)


def test_conv_same_even_kernel_module():
    # nn.Conv2d lowers an even 'same' kernel to explicit padding: fully compiled.
    check_converter(torch.nn.Conv2d(4, 8, 4, padding="same"), [torch.randn(2, 4, 8, 8)], **FP32)


# ---- max and avg pooling ----

MAX_POOL2D = {
    "k2": dict(kernel_size=2),
    "k3s2": dict(kernel_size=3, stride=2),
    "padded": dict(kernel_size=3, stride=2, padding=1),
    "dilated": dict(kernel_size=3, stride=1, padding=1, dilation=2),
    "ceil": dict(kernel_size=3, stride=2, ceil_mode=True),
    "ceil_padded": dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    "asym": dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 0)),
}


@pytest.mark.parametrize("name", sorted(MAX_POOL2D))
def test_max_pool2d(name):
    check_converter(torch.nn.MaxPool2d(**MAX_POOL2D[name]), [torch.randn(2, 3, 9, 10)])


def test_max_pool2d_unbatched():
    check_converter(torch.nn.MaxPool2d(2), [torch.randn(3, 8, 8)])


def test_max_pool1d():
    check_converter(torch.nn.MaxPool1d(3, stride=2, padding=1), [torch.randn(2, 3, 11)])


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1)])
def test_max_pool3d(kw):
    check_converter(torch.nn.MaxPool3d(**kw), [torch.randn(1, 2, 6, 7, 8)])


def test_max_pool2d_default_overload():
    m = Fn(lambda x: torch.ops.aten.max_pool2d.default(x, [3, 3], [2, 2], [1, 1], [1, 1], False))
    check_aten(m, [torch.randn(2, 3, 9, 9)])


def test_max_pool2d_indices_unused():
    # return_indices=True, but only the values are read: converted with an unused placeholder.
    m = Fn(lambda x: F.max_pool2d(x, 2, return_indices=True)[0] + 1)
    check_converter(m, [torch.randn(2, 3, 8, 8)])


def test_max_pool2d_dynamic_batch():
    spec = dyn((4, 3, 16, 16), d0=(1, 8))
    check_converter(torch.nn.MaxPool2d(3, 2, 1), [torch.randn(4, 3, 16, 16)], dynamic=[spec])


# Stride 1 over dynamic H/W: torch 2.11's export cannot trace a strided pool over dynamic H/W (it
# adds a parity guard and reports a constraint violation), so strided dynamic pooling is covered by
# the dynamic-batch tests only.
def test_max_pool2d_dynamic_spatial():
    spec = dyn((2, 3, 16, 16), d2=(4, 33), d3=(5, 20))
    check_converter(torch.nn.MaxPool2d(3, 1, 1), [torch.randn(2, 3, 16, 16)], dynamic=[spec])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_max_pool2d_half(dtype):
    check_converter(torch.nn.MaxPool2d(2), [torch.randn(2, 3, 8, 8, dtype=dtype)])


def test_max_pool_indices_used_falls_back():
    # The indices are read downstream: the pool is refused and runs in PyTorch; the rest compiles.
    class M(torch.nn.Module):
        def forward(self, x):
            y, idx = F.max_pool2d(x, 2, return_indices=True)
            return y * 2, idx

    x = torch.randn(2, 3, 8, 8)
    with pytest.raises(Exception, match="indices"):
        kiln.compile(M(), ir="dynamo", inputs=[x], min_block_size=1,
                     require_full_compilation=True)
    gm = kiln.compile(M(), ir="dynamo", inputs=[x], min_block_size=1)
    assert "aten.max_pool2d_with_indices.default" in targets(gm)
    assert engine_count(gm) == 1
    with torch.no_grad():
        assert_outputs_close(gm(x), M()(x))


def test_max_pool_ceil_dynamic_spatial_falls_back():
    # ceil_mode needs static spatial sizes in the IR: refused for a symbolic H, W. (Exported with
    # even H, W = 2*h, which torch.export needs to trace ceil_mode symbolically.)
    m = torch.nn.Sequential(torch.nn.MaxPool2d(3, 2, ceil_mode=True), torch.nn.ReLU())
    h = torch.export.Dim("h", min=4, max=10)
    ep = torch.export.export(m, (torch.randn(2, 3, 16, 16),),
                             dynamic_shapes=({2: 2 * h, 3: 2 * h},))
    ep = ep.run_decompositions(decomposition_table())
    with pytest.raises(Exception, match="ceil_mode"):
        compile_graph_module(ep.module(), CompilationSettings.from_kwargs(
            {"min_block_size": 1, "require_full_compilation": True}))
    gm = compile_graph_module(ep.module(), CompilationSettings.from_kwargs({"min_block_size": 1}))
    assert "aten.max_pool2d_with_indices.default" in targets(gm)
    assert engine_count(gm) == 1
    for size in [8, 14, 20]:
        x = torch.randn(2, 3, size, size)
        with torch.no_grad():
            assert_outputs_close(gm(x), m(x))


AVG_POOL2D = {
    "k2": dict(kernel_size=2),
    "k3s2p1": dict(kernel_size=3, stride=2, padding=1),
    "no_count_pad": dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    "ceil": dict(kernel_size=3, stride=2, ceil_mode=True),
    "ceil_padded": dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    "ceil_no_count_pad": dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                              count_include_pad=False),
    "divisor": dict(kernel_size=3, stride=1, padding=1, divisor_override=5),
    "asym": dict(kernel_size=(2, 3), stride=(2, 1), padding=(1, 1)),
}


@pytest.mark.parametrize("name", sorted(AVG_POOL2D))
def test_avg_pool2d(name):
    check_converter(torch.nn.AvgPool2d(**AVG_POOL2D[name]), [torch.randn(2, 3, 9, 10)])


def test_avg_pool2d_unbatched():
    check_converter(torch.nn.AvgPool2d(3, 2, 1), [torch.randn(3, 9, 9)])


def test_avg_pool1d():
    check_converter(torch.nn.AvgPool1d(3, 2, 1, count_include_pad=False), [torch.randn(2, 3, 11)])


def test_avg_pool1d_aten():
    m = Fn(lambda x: torch.ops.aten.avg_pool1d.default(x, [3], [2], [1], True, False))
    check_aten(m, [torch.randn(2, 3, 12)])


def test_avg_pool3d():
    check_converter(torch.nn.AvgPool3d(3, 2, 1, divisor_override=4), [torch.randn(1, 2, 6, 7, 8)])


def test_avg_pool2d_dynamic():
    spec = dyn((2, 3, 16, 16), d0=(1, 4), d2=(4, 33), d3=(4, 20))
    check_converter(torch.nn.AvgPool2d(3, 1, 1, count_include_pad=False),
                    [torch.randn(2, 3, 16, 16)], dynamic=[spec])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_avg_pool2d_half(dtype):
    check_converter(torch.nn.AvgPool2d(3, 2, 1), [torch.randn(2, 3, 8, 8, dtype=dtype)])


# ---- adaptive pooling ----

@pytest.mark.parametrize("size", [(1, 1), (2, 3), (4, 4), (9, 10)])
def test_adaptive_avg_pool2d(size):
    check_converter(torch.nn.AdaptiveAvgPool2d(size), [torch.randn(2, 3, 9, 10)])


def test_adaptive_avg_pool2d_unbatched():
    check_converter(torch.nn.AdaptiveAvgPool2d(3), [torch.randn(3, 7, 8)])


def test_adaptive_avg_pool2d_aten():
    # _adaptive_avg_pool2d is the core ATen form.
    m = Fn(lambda x: torch.ops.aten._adaptive_avg_pool2d.default(x, [3, 2]))
    check_aten(m, [torch.randn(2, 3, 7, 8)])


def test_adaptive_avg_pool1d():
    check_converter(torch.nn.AdaptiveAvgPool1d(4), [torch.randn(2, 3, 10)])


def test_adaptive_avg_pool3d():
    check_converter(torch.nn.AdaptiveAvgPool3d((2, 3, 1)), [torch.randn(1, 2, 5, 7, 4)])


def test_adaptive_avg_pool2d_dynamic():
    # Global pooling of a symbolic batch and spatial size: the output is static.
    spec = dyn((2, 3, 9, 9), d0=(1, 4), d2=(3, 16), d3=(3, 16))
    m = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
    check_converter(m, [torch.randn(2, 3, 9, 9)], dynamic=[spec])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_adaptive_avg_pool2d_half(dtype):
    check_converter(torch.nn.AdaptiveAvgPool2d((2, 3)), [torch.randn(2, 3, 9, 10, dtype=dtype)])


@pytest.mark.parametrize("size", [1, 3, (2, 4)])
def test_adaptive_max_pool2d(size):
    check_converter(torch.nn.AdaptiveMaxPool2d(size), [torch.randn(2, 3, 9, 10)])


def test_adaptive_max_pool1d():
    check_converter(torch.nn.AdaptiveMaxPool1d(3), [torch.randn(2, 3, 10)])


def test_adaptive_max_pool2d_dynamic_batch():
    spec = dyn((2, 3, 9, 10), d0=(1, 5))
    check_converter(torch.nn.AdaptiveMaxPool2d(3), [torch.randn(2, 3, 9, 10)], dynamic=[spec])


def test_adaptive_max_pool_indices_used_falls_back():
    class M(torch.nn.Module):
        def forward(self, x):
            y, idx = F.adaptive_max_pool2d(x, 3, return_indices=True)
            return y - 1, idx.float()

    x = torch.randn(2, 3, 9, 10)
    gm = kiln.compile(M(), ir="dynamo", inputs=[x], min_block_size=1)
    assert "aten.adaptive_max_pool2d.default" in targets(gm)
    with torch.no_grad():
        assert_outputs_close(gm(x), M()(x))


# ---- resize ----

UPSAMPLE = {
    "nearest_scale2": dict(scale_factor=2),
    "nearest_scale_asym": dict(scale_factor=(2, 3)),
    "nearest_size": dict(size=(5, 7)),
    "nearest_down": dict(size=(3, 4)),
    "nearest_scale1.5": dict(scale_factor=1.5),
    "bilinear_scale2": dict(scale_factor=2, mode="bilinear"),
    "bilinear_scale2_ac": dict(scale_factor=2, mode="bilinear", align_corners=True),
    "bilinear_size": dict(size=(5, 7), mode="bilinear"),
    "bilinear_size_ac": dict(size=(5, 7), mode="bilinear", align_corners=True),
    "bilinear_scale1.5": dict(scale_factor=1.5, mode="bilinear"),
    "bilinear_down": dict(size=(3, 2), mode="bilinear"),
}


@pytest.mark.parametrize("name", sorted(UPSAMPLE))
def test_upsample(name):
    check_converter(torch.nn.Upsample(**UPSAMPLE[name]), [torch.randn(2, 3, 6, 8)])


def test_interpolate_recompute_scale_factor():
    m = Fn(lambda x: F.interpolate(x, scale_factor=1.7, mode="bilinear",
                                   recompute_scale_factor=True))
    check_converter(m, [torch.randn(2, 3, 6, 8)])


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_upsample_dynamic_batch(mode):
    spec = dyn((2, 3, 6, 8), d0=(1, 5))
    check_converter(torch.nn.Upsample(scale_factor=2, mode=mode), [torch.randn(2, 3, 6, 8)],
                    dynamic=[spec])


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_upsample_dynamic_spatial_size(mode):
    # A fixed output size from a symbolic input size.
    spec = dyn((2, 3, 6, 8), d2=(2, 12), d3=(3, 16))
    check_converter(torch.nn.Upsample(size=(7, 9), mode=mode), [torch.randn(2, 3, 6, 8)],
                    dynamic=[spec])


@pytest.mark.parametrize("scale", [2, 1.5, (3, 0.5)])
@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_upsample_dynamic_spatial_scale(mode, scale):
    # Output sizes trunc(in * scale) of symbolic sizes; scales k / 2^j are expressible.
    spec = dyn((2, 3, 6, 8), d0=(1, 3), d2=(2, 12), d3=(4, 16))  # 0.5 * W stays >= 2
    check_converter(torch.nn.Upsample(scale_factor=scale, mode=mode), [torch.randn(2, 3, 6, 8)],
                    dynamic=[spec])


def test_upsample_dynamic_spatial_inexact_scale_falls_back():
    # trunc(in * 1.3) of a symbolic size has no exact dim expression: refused, runs in PyTorch.
    m = torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Upsample(scale_factor=1.3))
    spec = dyn((2, 3, 6, 8), d2=(2, 12), d3=(3, 16))
    with pytest.raises(Exception, match="cannot express"):
        kiln.compile(m, ir="dynamo", inputs=[spec], min_block_size=1,
                     require_full_compilation=True)
    gm = kiln.compile(m, ir="dynamo", inputs=[spec], min_block_size=1)
    assert "aten.upsample_nearest2d.vec" in targets(gm)
    assert engine_count(gm) == 1
    for shape in [(2, 3, 2, 3), (2, 3, 7, 11), (2, 3, 12, 16)]:
        x = torch.randn(*shape)
        with torch.no_grad():
            assert_outputs_close(gm(x), m(x))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_upsample_half(dtype, mode):
    check_converter(torch.nn.Upsample(scale_factor=2, mode=mode),
                    [torch.randn(2, 3, 6, 8, dtype=dtype)])


def test_upsample_default_overloads():
    def f(x):
        a = torch.ops.aten.upsample_nearest2d.default(x, [9, 11])
        b = torch.ops.aten.upsample_bilinear2d.default(x, [9, 11], False)
        c = torch.ops.aten.upsample_bilinear2d.default(x, [12, 16], True, 2.0, 2.0)
        d = torch.ops.aten.upsample_nearest2d.default(x, [12, 24], 2.0, 3.0)
        return a, b, c, d

    check_aten(Fn(f), [torch.randn(2, 3, 6, 8)])


def test_upsample_nearest_1d_3d():
    def f(x3, x5):
        a = torch.ops.aten.upsample_nearest1d.vec(x3, None, [2.0])
        b = torch.ops.aten.upsample_nearest1d.vec(x3, [11], None)
        c = torch.ops.aten.upsample_nearest3d.vec(x5, None, [2.0, 1.0, 3.0])
        return a, b, c

    check_aten(Fn2(f), [torch.randn(2, 3, 7), torch.randn(1, 2, 3, 4, 5)])


def test_upsample_bicubic_falls_back():
    m = torch.nn.Sequential(torch.nn.Upsample(scale_factor=2, mode="bicubic"), torch.nn.ReLU())
    x = torch.randn(1, 2, 4, 4)
    gm = kiln.compile(m, ir="dynamo", inputs=[x], min_block_size=1)
    with torch.no_grad():
        assert_outputs_close(gm(x), m(x))


# ---- pad ----

CONSTANT_PAD = {
    "last": ((1, 2), 0.0),
    "two_dims": ((1, 2, 3, 0), 0.5),
    "all_dims": ((1, 1, 2, 0, 0, 1, 1, 0), -1.0),
    "negative": ((-1, 2, 0, -2), 0.0),
}


@pytest.mark.parametrize("name", sorted(CONSTANT_PAD))
def test_constant_pad(name):
    pad, value = CONSTANT_PAD[name]
    check_converter(Fn(lambda x: F.pad(x, pad, value=value)), [torch.randn(2, 3, 5, 6)])


def test_constant_pad_int():
    x = torch.randint(-5, 5, (2, 3, 4))
    check_converter(Fn(lambda x: F.pad(x, (1, 2), value=7)), [x])


def test_constant_pad_dynamic():
    spec = dyn((2, 3, 5, 6), d0=(1, 4), d3=(1, 10))
    check_converter(Fn(lambda x: F.pad(x, (1, 2, 0, 1), value=0.25)), [torch.randn(2, 3, 5, 6)],
                    dynamic=[spec])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_constant_pad_half(dtype):
    check_converter(Fn(lambda x: F.pad(x, (1, 2, 2, 1), value=1.5)),
                    [torch.randn(2, 3, 5, 6, dtype=dtype)])


@pytest.mark.parametrize("mode", ["reflect", "replicate"])
@pytest.mark.parametrize("pad,shape", [((2, 1), (2, 3, 5)), ((1, 2, 3, 0), (2, 3, 5, 6)),
                                       ((1, 2), (3, 5)), ((1, 0, 2, 1, 1, 1), (1, 2, 3, 4, 5))])
def test_pad_modes(mode, pad, shape):
    # F.pad keeps aten.pad.default in torch.export's ATen graph.
    check_aten(Fn(lambda x: F.pad(x, pad, mode=mode)), [torch.randn(*shape)])


def test_pad_modes_module_path():
    # Through kiln.compile these lower to index ops (not this family's converters), so the check
    # is only that the whole model still matches eager.
    m = torch.nn.Sequential(torch.nn.ReflectionPad2d(1), torch.nn.ReplicationPad2d((1, 0, 2, 1)))
    x = torch.randn(2, 3, 5, 6)
    gm = kiln.compile(m, ir="dynamo", inputs=[x], min_block_size=1)
    with torch.no_grad():
        assert_outputs_close(gm(x), m(x))


def test_reflection_replication_aten():
    def f(x):
        a = torch.ops.aten.reflection_pad2d.default(x, [1, 2, 2, 1])
        b = torch.ops.aten.replication_pad2d.default(x, [0, 3, 1, 1])
        c = torch.ops.aten.reflection_pad1d.default(x[0], [3, 2])
        d = torch.ops.aten.replication_pad1d.default(x[0], [1, 4])
        e = torch.ops.aten.constant_pad_nd.default(x, [1, 1], 2.0)
        return a, b, c, d, e

    check_aten(Fn(f), [torch.randn(2, 3, 5, 6)])


def test_pad_circular_falls_back():
    m = Fn(lambda x: F.pad(x, (1, 2), mode="circular") * 2)
    x = torch.randn(2, 3, 6)
    ep = torch.export.export(m, (x,))
    assert "aten.pad.default" in {str(n.target) for n in ep.graph.nodes}
    with pytest.raises(Exception, match="circular"):
        compile_graph_module(ep.module(), CompilationSettings.from_kwargs(
            {"min_block_size": 1, "require_full_compilation": True}))
    gm = compile_graph_module(ep.module(), CompilationSettings.from_kwargs({"min_block_size": 1}))
    assert "aten.pad.default" in targets(gm)
    with torch.no_grad():
        assert_outputs_close(gm(x), m(x))


# ---- a small CNN end to end ----


def test_small_cnn_dynamic_batch():
    m = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(8, 8, 3, padding=1, groups=8), torch.nn.AvgPool2d(2),
        torch.nn.Upsample(scale_factor=2, mode="bilinear"), torch.nn.ConvTranspose2d(8, 4, 2, 2),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 5))
    spec = dyn((2, 3, 16, 16), d0=(1, 4))
    check_converter(m, [torch.randn(2, 3, 16, 16)], dynamic=[spec], **FP32)
