"""The kernels kiln picks for the benchmark suite's models on CUDA, checked without a GPU: building
an engine for CUDA only chooses kernels, so the CPU machine sees what the GPU would run. A slow
fallback here is a benchmark row far behind torch.compile (GPT-2's attention ran on the generic
kernel at batch 32 for a whole session before a GPU run showed it). Models are the suite's
(bench/models.py), with fewer transformer layers: every layer picks the same kernels."""

import collections
import pathlib
import sys

import pytest
import torch

import kiln
from kiln import _C
from kiln_testing import engine_nodes

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "bench"))
import models as suite  # noqa: E402

pytestmark = pytest.mark.skipif(not _C.has_cuda(), reason="kiln was built without CUDA sources")

LAYERS = {"bert-base": dict(num_hidden_layers=2), "gpt2": dict(n_layer=2),
          "llama-1b": dict(num_hidden_layers=2)}


def build(model: suite.Model) -> torch.nn.Module:
    m = model.build(**LAYERS.get(model.name, {})).to(model.dtype).eval()
    return m.to(memory_format=torch.channels_last) if model.channels_last else m


def cudnn_conv_expected(m: torch.nn.Module) -> tuple[int, int]:
    """(convs cuDNN takes, convs on kiln's own kernel): depthwise convs (cuDNN's heuristics pick a
    slow direct kernel, docs/kernels.md) and convs whose output channels are not a multiple of 8
    (EfficientNet's squeeze convs) run on cuda.conv."""
    convs = [c for c in m.modules() if isinstance(c, torch.nn.Conv2d)]
    own = [c for c in convs if (c.groups > 1 and c.groups == c.in_channels) or c.out_channels % 8]
    return len(convs) - len(own), len(own)


@pytest.mark.parametrize("model", suite.SUITE, ids=[m.name for m in suite.SUITE])
def test_suite_model_kernels_on_cuda(model):
    torch.manual_seed(0)
    m = build(model)
    batch, size = 2, model.shapes[-1][1]  # batch > 1: HF's causal mask is [B, 1, L, L]
    inputs = list(model.inputs(batch, size, torch.device("cpu")))
    with torch.no_grad():
        gm = kiln.compile(m, ir="dynamo", inputs=inputs, device="cuda",
                          require_full_compilation=True)
    assert "(coverage 100.0%)" in gm.kiln_report.splitlines()[0], gm.kiln_report
    nodes = engine_nodes(gm)
    kernels = collections.Counter((op, kernel) for op, kernel, _, _ in nodes)
    assert all(kernel.startswith(("cuda.", "cudnn.")) for _, kernel in kernels), kernels

    # Attention is flash attention (cuDNN), never the generic kernel.
    assert kernels[("attention", "cuda.attention")] == 0, kernels
    # Decomposed linears, GELUs and RMSNorms are raised back to one op (raise-composites).
    for op in ("matmul", "pow", "rsqrt"):
        assert not any(o == op for o, _ in kernels), (op, kernels)
    # Convs: cuDNN except the shapes docs/kernels.md keeps on kiln's own kernel.
    cudnn, own = cudnn_conv_expected(m)
    assert (kernels[("conv", "cudnn.conv")], kernels[("conv", "cuda.conv")]) == (cudnn, own)
    # Transformers keep no head permutes around attention (fold-views, fold-attention-permutes),
    # but Llama, whose grouped k and v are expanded to every head before attention. ViT keeps one:
    # its NCHW image to NHWC for the patch convolution.
    permutes = {"bert-base": 0, "gpt2": 0, "vit_b_16": 1}
    if model.name in permutes:
        assert kernels[("permute", "cuda.permute")] == permutes[model.name], kernels
