"""User-facing specifications: ``Input``, ``Device`` and ``CompilationSettings``.

Names and meanings follow torch_tensorrt's so that switching is a change of import. Validation
happens here, early, with errors that name the input and what was expected.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Sequence
from typing import Any

import torch

_FLOAT_DTYPES = (torch.float32, torch.float16, torch.bfloat16, torch.float64)


def _shape_tuple(shape: Any, what: str, name: str) -> tuple[int, ...]:
    try:
        dims = tuple(int(d) for d in shape)
    except TypeError:
        raise ValueError(f"Input {name}: {what} must be a sequence of ints, got {shape!r}") from None
    if any(d < 0 for d in dims):
        raise ValueError(f"Input {name}: {what} {dims} has a negative dim")
    return dims


def is_channels_last(t: torch.Tensor) -> bool:
    """Whether `t` is rank 4 and laid out channels-last, not also contiguous (a [N, C, 1, 1] or
    C == 1 tensor is both: it stays on the plain path). Symbolic strides that cannot be decided
    count as not channels-last (a contiguous copy, as before)."""
    if t.dim() != 4:
        return False
    try:
        return bool(t.is_contiguous(memory_format=torch.channels_last)) and not bool(
            t.is_contiguous())
    except Exception:  # noqa: BLE001 - data-dependent symbolic strides
        return False


class Input:
    """The shape, dtype and dynamic range of one model input.

    ``Input((1, 3, 224, 224))`` is static; ``Input(min_shape=..., opt_shape=..., max_shape=...)``
    makes every dim where min and max differ dynamic, with engines tuned for ``opt_shape``. Dims
    named alike in ``shared_dims`` ({axis: "name"}) share one symbol across inputs.
    ``tensor_domain`` (lo, hi) bounds the random values used to trace integer inputs.
    """

    def __init__(
        self,
        shape: Sequence[int] | None = None,
        *,
        min_shape: Sequence[int] | None = None,
        opt_shape: Sequence[int] | None = None,
        max_shape: Sequence[int] | None = None,
        dtype: torch.dtype = torch.float32,
        name: str | None = None,
        format: torch.memory_format = torch.contiguous_format,
        shared_dims: dict[int, str] | None = None,
        tensor_domain: tuple[float, float] | None = None,
        torch_tensor: torch.Tensor | None = None,
    ) -> None:
        self.name = name
        label = repr(name) if name else "(unnamed)"
        if not isinstance(dtype, torch.dtype):
            raise ValueError(f"Input {label}: dtype must be a torch.dtype, got {dtype!r}")
        self.dtype = dtype
        if format not in (torch.contiguous_format, torch.channels_last):
            raise ValueError(f"Input {label}: format must be torch.contiguous_format or "
                             f"torch.channels_last, got {format!r}")
        self.format = format
        self.torch_tensor = torch_tensor
        self.tensor_domain = tensor_domain
        if shape is not None:
            if min_shape is not None or opt_shape is not None or max_shape is not None:
                raise ValueError(f"Input {label}: give either shape or min/opt/max shapes, not both")
            s = _shape_tuple(shape, "shape", label)
            self.min_shape = self.opt_shape = self.max_shape = s
        else:
            if min_shape is None or max_shape is None:
                raise ValueError(f"Input {label}: needs shape, or min_shape and max_shape")
            lo = _shape_tuple(min_shape, "min_shape", label)
            hi = _shape_tuple(max_shape, "max_shape", label)
            opt = _shape_tuple(opt_shape if opt_shape is not None else min_shape, "opt_shape", label)
            if not len(lo) == len(opt) == len(hi):
                raise ValueError(
                    f"Input {label}: min_shape {lo}, opt_shape {opt} and max_shape {hi} must have "
                    "the same rank"
                )
            for d, (a, b, c) in enumerate(zip(lo, opt, hi)):
                if not a <= b <= c:
                    raise ValueError(
                        f"Input {label}: dim {d} needs min <= opt <= max, got min {a}, opt {b}, "
                        f"max {c}"
                    )
            self.min_shape, self.opt_shape, self.max_shape = lo, opt, hi
        self.shared_dims = dict(shared_dims or {})
        for axis in self.shared_dims:
            if not 0 <= axis < len(self.opt_shape):
                raise ValueError(f"Input {label}: shared_dims axis {axis} is not a dim of rank "
                                 f"{len(self.opt_shape)}")

    @classmethod
    def from_tensor(cls, t: torch.Tensor, name: str | None = None) -> Input:
        """A static Input with the tensor's shape, dtype and memory format (the tensor is used for
        tracing)."""
        return cls(tuple(t.shape), dtype=t.dtype, name=name, torch_tensor=t,
                   format=torch.channels_last if is_channels_last(t) else torch.contiguous_format)

    @property
    def is_dynamic(self) -> bool:
        return self.min_shape != self.max_shape

    def dynamic_dims(self) -> list[int]:
        return [d for d, (a, b) in enumerate(zip(self.min_shape, self.max_shape)) if a != b]

    def example_tensor(self, device: torch.device | str = "cpu") -> torch.Tensor:
        """A tensor for tracing: the given one, or random values of the opt shape (channels-last
        when the format says so)."""
        if self.torch_tensor is not None and tuple(self.torch_tensor.shape) == self.opt_shape:
            return self.torch_tensor.to(device)
        t = self._random_tensor(device)
        if self.format == torch.channels_last and t.dim() == 4:
            t = t.contiguous(memory_format=torch.channels_last)
        return t

    def _random_tensor(self, device: torch.device | str) -> torch.Tensor:
        shape = list(self.opt_shape)
        for d in self.dynamic_dims():  # export specializes sizes 0 and 1: trace with 2 if allowed
            if shape[d] < 2 and self.max_shape[d] >= 2:
                shape[d] = 2
        if self.dtype.is_floating_point:
            lo, hi = self.tensor_domain or (-1.0, 1.0)
            return (torch.rand(shape, device=device) * (hi - lo) + lo).to(self.dtype)
        if self.dtype == torch.bool:
            return torch.randint(0, 2, shape, device=device).bool()
        lo, hi = self.tensor_domain or (0, 2)
        return torch.randint(int(lo), int(hi), shape, device=device, dtype=self.dtype)

    def __repr__(self) -> str:
        dt = str(self.dtype).replace("torch.", "")
        if not self.is_dynamic:
            return f"Input(shape={self.opt_shape}, dtype={dt})"
        return (f"Input(min_shape={self.min_shape}, opt_shape={self.opt_shape}, "
                f"max_shape={self.max_shape}, dtype={dt})")


class Device:
    """The device engines are built for: ``Device("cuda:0")``, ``Device("cpu")``, ``Device(gpu_id=1)``.

    ``cpu`` selects kiln's reference backend (every op, no GPU needed).
    """

    def __init__(self, spec: str | torch.device | Device | None = None, *, gpu_id: int | None = None,
                 allow_gpu_fallback: bool = False) -> None:
        if isinstance(spec, Device):
            self.type, self.index = spec.type, spec.index
        elif spec is None and gpu_id is not None:
            self.type, self.index = "cuda", gpu_id
        else:
            try:
                d = torch.device(spec if spec is not None else "cpu")
            except RuntimeError as e:
                raise ValueError(f"Device: {spec!r} is not a device ({e})") from None
            if d.type not in ("cpu", "cuda"):
                raise ValueError(f"Device: kiln builds for 'cpu' or 'cuda', got {spec!r}")
            self.type, self.index = d.type, d.index
        self.allow_gpu_fallback = allow_gpu_fallback

    def to_torch(self) -> torch.device:
        return torch.device(self.type, self.index) if self.index is not None else torch.device(self.type)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Device) and (self.type, self.index) == (other.type, other.index)

    def __repr__(self) -> str:
        return f"Device({str(self.to_torch())!r})"


def _default_timing_cache() -> str:
    return os.path.join(tempfile.gettempdir(), "kiln_engine_cache", "timing_cache.bin")


@dataclasses.dataclass
class CompilationSettings:
    """Every setting of a kiln compilation; each is also a keyword of ``kiln.compile``."""

    device: Device | None = None
    """Where engines run: ``"cpu"`` (the reference backend) or ``"cuda[:N]"``. None (the default)
    follows the model: the device of its weights and example inputs."""
    min_block_size: int = 5
    """Fewest ops an engine may hold; smaller supported blocks run in PyTorch (unless the block is
    the whole graph)."""
    torch_executed_ops: set = dataclasses.field(default_factory=set)
    """Ops forced to run in PyTorch: OpOverloads (``torch.ops.aten.add.Tensor``), packets
    (``torch.ops.aten.add``) or their names (``"aten.add.Tensor"``)."""
    require_full_compilation: bool = False
    """Fail, listing every unsupported node with its reason and source line, instead of falling back."""
    enabled_precisions: set = dataclasses.field(default_factory=lambda: {torch.float32})
    """Precisions engines may compute in. Models keep their dtypes; adding ``torch.half`` runs
    float32 compute in float16 inside engines (``torch.bfloat16``: in bfloat16; half wins if both)
    while engine inputs and outputs stay float32."""
    disable_tf32: bool = False
    """Forbid TF32 for float32 matmul and convolution (CUDA)."""
    truncate_double: bool = False
    """Import float64 tensors as float32 (engines do not hold float64)."""
    optimization_level: int | None = None
    """Build effort 0-5 (more timing of kernel candidates); None is the default level (3)."""
    workspace_size: int = 0
    """Largest scratch memory a kernel may use, in bytes; 0 lets kiln decide."""
    dryrun: bool | str = False
    """Partition and report (coverage, engines, fallbacks with reasons) without building; a string
    writes the report to that path too. The returned module is the lowered, uncompiled graph."""
    pass_through_build_failures: bool = False
    """Raise when an engine fails to build instead of running its ops in PyTorch with a warning."""
    timing_cache_path: str = dataclasses.field(default_factory=_default_timing_cache)
    """File of measured kernel timings kept across builds (CUDA)."""
    use_cuda_graphs: bool = True
    """Capture and replay each engine as a CUDA graph per input-shape signature (CUDA): one graph
    launch per call instead of one launch per kernel. On by default; torch.compile's "default" and
    "max-autotune-no-cudagraphs" modes turn it off, as they do for torch's own graphs."""

    def __post_init__(self) -> None:
        if self.device is not None:
            self.device = Device(self.device)
        if self.min_block_size < 1:
            raise ValueError(f"min_block_size must be at least 1, got {self.min_block_size}")
        if self.optimization_level is not None and not 0 <= self.optimization_level <= 5:
            raise ValueError(f"optimization_level must be in [0, 5], got {self.optimization_level}")
        if self.workspace_size < 0:
            raise ValueError(f"workspace_size must be >= 0, got {self.workspace_size}")
        precisions = {_as_dtype(p) for p in self.enabled_precisions}
        unknown = precisions - {torch.float32, torch.float16, torch.bfloat16}
        if unknown:
            raise ValueError(f"enabled_precisions: kiln supports float32, float16 and bfloat16, got "
                             f"{sorted(map(str, unknown))}")
        self.enabled_precisions = precisions
        self.torch_executed_ops = {_op_name(op) for op in self.torch_executed_ops}

    @property
    def f32_compute(self) -> str:
        """The dtype float32 compute runs in inside engines: f16 or bf16 when enabled, else f32."""
        if torch.float16 in self.enabled_precisions:
            return "f16"
        if torch.bfloat16 in self.enabled_precisions:
            return "bf16"
        return "f32"

    @classmethod
    def from_kwargs(cls, kwargs: dict[str, Any]) -> CompilationSettings:
        """Settings from keyword arguments; unknown names raise TypeError listing the valid ones."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(kwargs) - names)
        if unknown:
            raise TypeError(f"unknown kiln setting(s) {unknown}; valid settings: {sorted(names)}")
        return cls(**kwargs)


def _as_dtype(p: Any) -> torch.dtype:
    if isinstance(p, torch.dtype):
        return p
    aliases = {"fp32": torch.float32, "float32": torch.float32, "fp16": torch.float16,
               "half": torch.float16, "float16": torch.float16, "bf16": torch.bfloat16,
               "bfloat16": torch.bfloat16}
    if isinstance(p, str) and p in aliases:
        return aliases[p]
    raise ValueError(f"enabled_precisions: {p!r} is not a precision")


def _op_name(op: Any) -> str:
    if isinstance(op, str):
        return op.removeprefix("torch.ops.")
    if isinstance(op, (torch._ops.OpOverload, torch._ops.OpOverloadPacket)):
        return str(op).removeprefix("torch.ops.")
    raise ValueError(f"torch_executed_ops: {op!r} is not an op or op name")
