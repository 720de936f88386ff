"""The benchmark suite's models and shapes (the table of ../shared/BENCHMARKS.md), plus two tiny
models for the CPU smoke mode. Every model is random-init (no downloads); a row is one (model,
shape) pair with its inputs."""

from __future__ import annotations

import dataclasses
from typing import Callable

import torch


@dataclasses.dataclass(frozen=True)
class Model:
    """One model of the suite: how to build it and which shapes to run."""

    name: str
    build: Callable[[], torch.nn.Module]
    shapes: tuple[tuple[int, int], ...]  # (batch, image side or sequence length)
    kind: str  # "image" (3 x side x side) or "tokens" (ids in [0, vocab))
    dtype: torch.dtype = torch.float16
    channels_last: bool = False  # CNNs: channels_last on every side (model and input)
    vocab: int = 0

    def rows(self) -> list[tuple[str, int, int]]:
        """(label, batch, side or seq) for each shape."""
        unit = "{}²" if self.kind == "image" else "seq {}"
        return [(f"{unit.format(s)} bs {b}", b, s) for b, s in self.shapes]

    def inputs(self, batch: int, size: int, device: torch.device) -> tuple[torch.Tensor, ...]:
        """Random (never zero) inputs, allocated once on the device."""
        if self.kind == "tokens":
            return (torch.randint(0, self.vocab, (batch, size), device=device),)
        x = torch.randn(batch, 3, size, size, device=device, dtype=self.dtype)
        return (x.contiguous(memory_format=torch.channels_last) if self.channels_last else x,)


def _tv(name: str) -> Callable[[], torch.nn.Module]:
    def build():
        import torchvision

        model = getattr(torchvision.models, name)()
        # Layers torchvision initialises to zero (ViT's classifier) would make the output all
        # zeros, and a comparison with eager meaningless: give them random weights.
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, torch.nn.Linear) and not m.weight.any():
                    torch.nn.init.normal_(m.weight, std=0.02)
        _calibrate_batch_norms(model)
        return model

    return build


class _Tuples(torch.nn.Module):
    """A transformers model called with return_dict=False: plain tuples out. (Setting
    config.return_dict = False instead breaks GPT-2 and Llama's LM heads in transformers 5, which
    read .last_hidden_state from their inner model.)"""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, ids):
        return self.model(ids, return_dict=False)


def _calibrate_batch_norms(model: torch.nn.Module) -> None:
    """Sets batch norm running statistics from random images. With the
    constructors' statistics (mean 0, variance 1) MobileNetV3's and EfficientNet's activations
    shrink layer by layer to ~1e-10 at the output: zeros in fp16, where no comparison means
    anything. One batch of 4 in train mode, cumulative averages, leaves them near unit scale. On
    the device the model is built on (fp32 there)."""
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    device = norms[0].running_mean.device  # bench/run.py builds under torch.device("cuda")
    generator = torch.Generator(device=device).manual_seed(0)
    for m in norms:
        m.momentum = None  # a cumulative average: one batch sets the statistics
        m.reset_running_stats()
    model.train()
    with torch.no_grad():
        model(torch.randn(4, 3, 224, 224, generator=generator, device=device))
    for m in norms:
        m.momentum = 0.1
    model.eval()


def _hf(cls: str, cfg: str, **kwargs) -> Callable[..., torch.nn.Module]:
    """A transformers model returning plain tuples, without a KV cache. The build takes config
    overrides (tests build fewer layers)."""

    def build(**overrides):
        import transformers

        config = getattr(transformers, cfg)(**{**kwargs, **overrides})
        config.use_cache = False
        return _Tuples(getattr(transformers, cls)(config))

    return build


_LLAMA = dict(hidden_size=2048, intermediate_size=5632, num_hidden_layers=16,
              num_attention_heads=32, num_key_value_heads=8)

SUITE = [
    Model("resnet50", _tv("resnet50"), ((1, 224), (32, 224), (256, 224)), "image",
          channels_last=True),
    Model("mobilenet_v3_large", _tv("mobilenet_v3_large"), ((1, 224), (32, 224)), "image",
          channels_last=True),
    Model("efficientnet_b0", _tv("efficientnet_b0"), ((1, 224), (32, 224)), "image",
          channels_last=True),
    Model("vit_b_16", _tv("vit_b_16"), ((1, 224), (32, 224)), "image"),
    Model("convnext_tiny", _tv("convnext_tiny"), ((1, 224), (32, 224)), "image",
          channels_last=True),
    Model("bert-base", _hf("BertModel", "BertConfig"), ((1, 128), (32, 128), (8, 512)), "tokens",
          vocab=30522),
    Model("gpt2", _hf("GPT2LMHeadModel", "GPT2Config"), ((1, 512), (32, 512)), "tokens",
          vocab=50257),
    Model("llama-1b", _hf("LlamaForCausalLM", "LlamaConfig", **_LLAMA), ((1, 512),), "tokens",
          dtype=torch.bfloat16, vocab=32000),
]


class TinyCNN(torch.nn.Module):
    """conv-bn-relu twice, pooled, then a linear head: the CNN path in seconds on a CPU."""

    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
            torch.nn.Conv2d(8, 16, 3, stride=2, padding=1), torch.nn.BatchNorm2d(16),
            torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
        self.head = torch.nn.Linear(16, 10)

    def forward(self, x):
        return self.head(self.features(x))


def _mlp() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.GELU(), torch.nn.LayerNorm(64),
                               torch.nn.Linear(64, 16))


class _Features(Model):
    """The MLP takes (batch, features) inputs, not images."""

    def rows(self):
        return [(f"{s} features bs {b}", b, s) for b, s in self.shapes]

    def inputs(self, batch, size, device):
        return (torch.randn(batch, size, device=device, dtype=self.dtype),)


SMOKE = [
    _Features("tiny_mlp", _mlp, ((4, 32),), "features", dtype=torch.float32),
    Model("tiny_cnn", TinyCNN, ((2, 16),), "image", dtype=torch.float32, channels_last=True),
]
