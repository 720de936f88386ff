"""Whole models through kiln on the CPU reference backend: full coverage (no fallback), cosine
similarity >= 0.9999 and a stated max-abs bound against eager in fp32, and save -> load in a fresh
process. Weights are random (no downloads); images are small to keep CI fast."""

import os
import subprocess
import sys
import textwrap

import pytest
import torch
import torchvision

import kiln
from kiln_testing import engine_count, engine_nodes

COSINE_MIN = 0.9999
MAX_ABS = 1e-3  # fp32 reference kernels vs eager, after tens of layers


def cosine(a, b):
    a, b = a.double().flatten(), b.double().flatten()
    return float(torch.dot(a, b) / (a.norm() * b.norm()))


def first_tensor(out):
    while isinstance(out, (list, tuple)):
        out = out[0]
    return out


def check_model(model, inputs, *, compile_inputs=None, runs=None):
    """Full compilation, then cosine and max-abs against eager on `runs` (default: inputs)."""
    model = model.eval()
    gm = kiln.compile(model, ir="dynamo", inputs=compile_inputs or list(inputs),
                      require_full_compilation=True, min_block_size=1)
    assert engine_count(gm) == 1, f"expected one engine, got {engine_count(gm)}"
    for xs in runs or [inputs]:
        with torch.no_grad():
            got, want = first_tensor(gm(*xs)), first_tensor(model(*xs))
        assert got.shape == want.shape
        c, err = cosine(got, want), (got - want).abs().max().item()
        scale = want.abs().max().item()
        assert c >= COSINE_MIN, f"cosine {c}"
        assert err <= MAX_ABS * max(1.0, scale), f"max-abs error {err} (output scale {scale})"
    return gm


def image(batch=2, size=64):
    torch.manual_seed(0)
    return torch.randn(batch, 3, size, size)


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v3_small", "efficientnet_b0",
                                  "convnext_tiny"])
def test_torchvision_cnn(name):
    torch.manual_seed(0)
    check_model(getattr(torchvision.models, name)(), [image()])


def test_vit():
    torch.manual_seed(0)
    vit = torchvision.models.VisionTransformer(image_size=32, patch_size=8, num_layers=2,
                                               num_heads=4, hidden_dim=64, mlp_dim=128)
    torch.nn.init.normal_(vit.heads.head.weight, std=0.1)  # torchvision zero-initializes the head
    gm = check_model(vit, [image(size=32)])
    # Its weights are inside the engine: the module keeps none of them alive (class_token, a
    # parameter of the root module, used to stay behind).
    assert not list(gm.parameters())
    assert all(name.startswith("_kiln_engine_") for name, _ in gm.named_buffers())


def test_resnet18_dynamic_batch():
    torch.manual_seed(0)
    spec = kiln.Input(min_shape=(1, 3, 64, 64), opt_shape=(4, 3, 64, 64), max_shape=(8, 3, 64, 64))
    check_model(torchvision.models.resnet18(), [image(4)], compile_inputs=[spec],
                runs=[[image(1)], [image(4)], [image(8)]])


def _bert():
    import transformers

    cfg = transformers.BertConfig(vocab_size=128, hidden_size=64, num_hidden_layers=2,
                                  num_attention_heads=4, intermediate_size=128,
                                  max_position_embeddings=64, return_dict=False)
    return transformers.BertModel(cfg)


def _gpt2():
    import transformers

    cfg = transformers.GPT2Config(vocab_size=128, n_embd=64, n_layer=2, n_head=4, n_positions=64,
                                  use_cache=False, return_dict=False, bos_token_id=0,
                                  eos_token_id=0)
    return transformers.GPT2Model(cfg)


def _llama():
    import transformers

    cfg = transformers.LlamaConfig(vocab_size=128, hidden_size=64, intermediate_size=128,
                                   num_hidden_layers=2, num_attention_heads=4,
                                   num_key_value_heads=2, max_position_embeddings=64,
                                   use_cache=False, return_dict=False)
    return transformers.LlamaModel(cfg)


@pytest.mark.parametrize("make", [_bert, _gpt2, _llama], ids=["bert", "gpt2", "llama"])
def test_transformers_static(make):
    torch.manual_seed(0)
    ids = torch.randint(0, 128, (2, 16))
    check_model(make(), [ids])


def test_gpt2_causal_mask_becomes_is_causal():
    """With static shapes GPT-2's causal mask folds to a constant bool [B, 1, L, L]; canonicalize
    turns it into is_causal (flash attention on CUDA takes that, not a bool mask), so no bool
    constant is left in the engine, and the output still matches eager."""
    torch.manual_seed(0)
    gm = check_model(_gpt2(), [torch.randint(0, 128, (2, 16))])
    nodes = engine_nodes(gm)
    assert any(op == "attention" for op, _, _, _ in nodes)
    assert not any(op == "constant" and str(t).startswith("bool") for op, _, t, _ in nodes), nodes


def test_decoders_raise_to_linear_gelu_and_rms_norm():
    """GPT-2's Conv1D projections (addmm with a [K, N] weight) become linears with their bias and
    its spelled-out tanh-GELU becomes the linear's activation; Llama's RMSNorm chain (cast, pow,
    mean, rsqrt, mul) becomes rms_norm. Outputs still match eager."""
    torch.manual_seed(0)
    ids = torch.randint(0, 128, (2, 16))
    gpt2 = [(op, t) for op, _, t, _ in engine_nodes(check_model(_gpt2(), [ids]))]
    ops = [op for op, _ in gpt2]
    assert not {"matmul", "pow", "tanh"} & set(ops), ops
    assert ops.count("linear") == 8 and ops.count("add") == 1 + 2 * 2, ops  # pos emb, residuals
    llama = [op for op, _, _, _ in engine_nodes(check_model(_llama(), [ids]))]
    assert llama.count("rms_norm") == 2 * 2 + 1, llama
    assert not {"pow", "rsqrt", "reduce_mean"} & set(llama), llama


@pytest.mark.parametrize("make", [_bert, _gpt2, _llama], ids=["bert", "gpt2", "llama"])
def test_transformers_dynamic_batch_and_sequence(make):
    torch.manual_seed(0)
    spec = kiln.Input(min_shape=(1, 2), opt_shape=(2, 16), max_shape=(4, 64), dtype=torch.int64,
                      tensor_domain=(0, 128))
    runs = [[torch.randint(0, 128, s)] for s in [(1, 2), (2, 16), (4, 64)]]
    check_model(make(), runs[1], compile_inputs=[spec], runs=runs)


class WithUnsupported(torch.nn.Module):
    """A CNN with an op kiln has no converter for in the middle."""

    def __init__(self):
        super().__init__()
        self.a = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),
                                     torch.nn.Conv2d(8, 8, 3, padding=1), torch.nn.ReLU())
        self.b = torch.nn.Sequential(torch.nn.Conv2d(8, 8, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                                     torch.nn.LazyLinear(10))

    def forward(self, x):
        return self.b(torch.special.bessel_j0(self.a(x)))


def test_hybrid_model_matches_eager():
    torch.manual_seed(0)
    m = WithUnsupported()
    x = image(2, 16)
    m(x)  # materialize the lazy layer
    gm = kiln.compile(m.eval(), inputs=[x], min_block_size=3)
    assert engine_count(gm) == 2
    with torch.no_grad():
        torch.testing.assert_close(gm(x), m(x), rtol=1e-4, atol=1e-4)


def _round_trip(tmp_path, gm, cases):
    path = tmp_path / "model.pt2"
    kiln.save(gm, path)
    torch.save(cases, tmp_path / "in.pt")
    code = textwrap.dedent(f"""
        import torch, kiln
        program = kiln.load({str(path)!r}).module()
        with torch.no_grad():
            torch.save([program(*xs) for xs in torch.load({str(tmp_path / 'in.pt')!r})],
                       {str(tmp_path / 'out.pt')!r})
    """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ))
    assert run.returncode == 0, run.stderr[-3000:]
    return torch.load(tmp_path / "out.pt")


def test_resnet18_save_load_dynamic(tmp_path):
    torch.manual_seed(0)
    model = torchvision.models.resnet18().eval()
    spec = kiln.Input(min_shape=(1, 3, 64, 64), opt_shape=(2, 3, 64, 64), max_shape=(4, 3, 64, 64))
    gm = kiln.compile(model, inputs=[spec], require_full_compilation=True)
    cases = [[image(n)] for n in (1, 2, 4)]
    with torch.no_grad():
        want = [gm(*xs) for xs in cases]
    for got, w in zip(_round_trip(tmp_path, gm, cases), want):
        torch.testing.assert_close(got, w)


def test_bert_save_load_dynamic(tmp_path):
    torch.manual_seed(0)
    model = _bert().eval()
    spec = kiln.Input(min_shape=(1, 2), opt_shape=(2, 16), max_shape=(4, 64), dtype=torch.int64,
                      tensor_domain=(0, 128))
    gm = kiln.compile(model, inputs=[spec], require_full_compilation=True)
    cases = [[torch.randint(0, 128, s)] for s in [(1, 2), (2, 16), (4, 64)]]
    with torch.no_grad():
        want = [first_tensor(gm(*xs)) for xs in cases]
    for got, w in zip(_round_trip(tmp_path, gm, cases), want):
        torch.testing.assert_close(first_tensor(got), w)
