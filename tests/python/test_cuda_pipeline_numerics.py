"""The graphs kiln builds for CUDA compute the right numbers, checked without a GPU: each model is
compiled for CUDA (the CUDA pass pipeline: channels-last convs, fold-views, raised ops, fused
epilogues), the engine's graph is read back as IR text and rebuilt for the CPU, and the reference
kernels run it against eager in fp32. The GPU machine's tests check the CUDA kernels on these
graphs; this checks the graphs themselves in CI. Small versions of the suite's architectures (IR
text carries every weight)."""

import pytest
import torch
import torchvision

import kiln
from kiln import _C

pytestmark = pytest.mark.skipif(not _C.has_cuda(), reason="kiln was built without CUDA sources")


def _vit():
    vit = torchvision.models.VisionTransformer(image_size=32, patch_size=8, num_layers=2,
                                               num_heads=4, hidden_dim=64, mlp_dim=128)
    torch.nn.init.normal_(vit.heads.head.weight, std=0.1)  # torchvision zero-initializes it
    return vit, torch.randn(2, 3, 32, 32)


def _convnext():
    from torchvision.models.convnext import CNBlock, LayerNorm2d

    blocks = [CNBlock(32, layer_scale=0.5, stochastic_depth_prob=0.0) for _ in range(2)]
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 32, 4, stride=4), LayerNorm2d(32), *blocks)
    return model, torch.randn(2, 3, 32, 32)


def _mobilenet():
    return torchvision.models.mobilenet_v3_small(width_mult=0.5, num_classes=10), \
        torch.randn(2, 3, 64, 64)


def _resnet():
    from torchvision.models.resnet import BasicBlock, ResNet

    return ResNet(BasicBlock, [1, 1, 1, 1], num_classes=10), torch.randn(2, 3, 32, 32)


class _Logits(torch.nn.Module):
    """An HF causal LM's logits (return_dict=False at the call: transformers 5's LM heads break
    with it in the config)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, ids):
        return self.model(ids, return_dict=False)[0]


def _gpt2():
    import transformers

    cfg = transformers.GPT2Config(vocab_size=128, n_embd=64, n_layer=2, n_head=4, n_positions=64,
                                  use_cache=False)
    return _Logits(transformers.GPT2LMHeadModel(cfg)), torch.randint(0, 128, (2, 16))


def _llama():
    import transformers

    cfg = transformers.LlamaConfig(vocab_size=128, hidden_size=64, intermediate_size=128,
                                   num_hidden_layers=2, num_attention_heads=4,
                                   num_key_value_heads=2, max_position_embeddings=64,
                                   use_cache=False)
    return _Logits(transformers.LlamaForCausalLM(cfg)), torch.randint(0, 128, (2, 16))


MODELS = {"vit": _vit, "convnext": _convnext, "mobilenet_v3": _mobilenet, "resnet": _resnet,
          "gpt2": _gpt2, "llama": _llama}


def test_dynamic_batch_vit_keeps_no_permute_and_matches_eager():
    """With a symbolic batch, fold-views still takes nn.MultiheadAttention's permutes out (the
    batch is one atom); the graph runs right at batch sizes across the range."""
    torch.manual_seed(0)
    model, _ = _vit()
    model = model.eval()
    spec = kiln.Input(min_shape=(1, 3, 32, 32), opt_shape=(2, 3, 32, 32), max_shape=(4, 3, 32, 32))
    with torch.no_grad():
        blob = kiln.convert_method_to_engine(model, inputs=[spec], ir="dynamo", device="cuda")
    ops = [op for op, _, _, _ in _C.Engine(blob).nodes]
    assert ops.count("permute") == 1, ops  # the NCHW image to NHWC for the patch convolution
    cpu = kiln.Engine(kiln.build_engine(kiln.Engine(blob).ir, "cpu"))
    for batch in (1, 3, 4):
        x = torch.randn(batch, 3, 32, 32)
        with torch.no_grad():
            want = model(x)
        got = torch.from_numpy(cpu(x.numpy())[0])
        assert (got - want).abs().max().item() <= 1e-3 * max(1.0, want.abs().max().item())


@pytest.mark.parametrize("name", list(MODELS))
def test_cuda_graph_matches_eager_on_the_reference(name):
    torch.manual_seed(0)
    model, x = MODELS[name]()
    model = model.eval()
    with torch.no_grad():
        want = model(x)
        blob = kiln.convert_method_to_engine(model, inputs=[x], ir="dynamo", device="cuda")
    engine = kiln.Engine(blob)
    assert {kernel.split(".")[0] for _, kernel, _, _ in _C.Engine(blob).nodes} <= {"cuda", "cudnn"}
    text = engine.ir
    if name in ("convnext", "mobilenet_v3", "resnet"):
        assert "channels_last=true" in text  # the CUDA pipeline ran (layout)
    got = torch.from_numpy(kiln.Engine(kiln.build_engine(text, "cpu"))(x.numpy())[0])
    assert got.shape == want.shape
    a, b = got.double().flatten(), want.double().flatten()
    cosine = float(torch.dot(a, b) / (a.norm() * b.norm()))
    err = (got - want).abs().max().item()
    assert cosine >= 0.9999 and err <= 1e-3 * max(1.0, want.abs().max().item()), (cosine, err)
