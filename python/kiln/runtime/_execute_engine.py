"""``kiln::execute_engine(Tensor[] inputs, Tensor engine, str key) -> Tensor[]``.

Each kiln engine in a hybrid graph is one call of this op. ``engine`` is the engine file as a
uint8 tensor (a buffer of the module, so torch.export.save and torch.jit.save carry it); ``key`` is
its content hash, which caches the deserialized engine in this process. The fake implementation
computes output shapes from the engine's symbolic output shapes, so FakeTensor tracing and
re-export go through compiled graphs.
"""

from __future__ import annotations

import hashlib
import threading

import torch

from kiln import _C, _shapes

_TORCH_DTYPES = {
    "f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16, "i64": torch.int64,
    "i32": torch.int32, "i8": torch.int8, "u8": torch.uint8, "bool": torch.bool,
}


class _LoadedEngine:
    """A deserialized engine with one execution context, guarded by a lock."""

    def __init__(self, data: bytes) -> None:
        self.engine = _C.Engine(data)
        self.inputs = self.engine.input_specs
        self.outputs = self.engine.output_specs
        self.symbols = self.engine.symbols
        self.lock = threading.Lock()


_ENGINES: dict[str, _LoadedEngine] = {}
_ENGINES_LOCK = threading.Lock()


def engine_key(data: bytes) -> str:
    """The content hash that names an engine."""
    return "kiln-" + hashlib.sha256(data).hexdigest()[:32]


def register_engine(data: bytes, key: str | None = None) -> str:
    """Deserializes an engine into this process's cache (once) and returns its key."""
    key = key or engine_key(data)
    with _ENGINES_LOCK:
        if key not in _ENGINES:
            _ENGINES[key] = _LoadedEngine(bytes(data))
    return key


def _engine(key: str, blob: torch.Tensor | None) -> _LoadedEngine:
    e = _ENGINES.get(key)
    if e is not None:
        return e
    if blob is None or blob.device.type == "meta" or _is_fake(blob):
        raise RuntimeError(
            f"kiln engine {key} is not loaded in this process; load saved programs with kiln.load "
            "(or import kiln before torch.export.load)"
        )
    register_engine(blob.detach().cpu().numpy().tobytes(), key)
    return _ENGINES[key]


def _is_fake(t: torch.Tensor) -> bool:
    return type(t).__name__ == "FakeTensor" or isinstance(t, torch._subclasses.FakeTensor)


def _check_inputs(e: _LoadedEngine, key: str, inputs: list[torch.Tensor]) -> None:
    if len(inputs) != len(e.inputs):
        raise ValueError(f"kiln engine {key} takes {len(e.inputs)} inputs, got {len(inputs)}")


def _execute(inputs: list[torch.Tensor], engine: torch.Tensor, key: str) -> list[torch.Tensor]:
    e = _engine(key, engine)
    _check_inputs(e, key, inputs)
    device = inputs[0].device if inputs else engine.device
    host = []
    for x, (name, dtype, _) in zip(inputs, e.inputs):
        want = _TORCH_DTYPES[dtype]
        if x.dtype != want:
            if x.dtype == torch.float64 and want == torch.float32:  # truncate_double
                x = x.float()
            else:
                raise TypeError(f"kiln engine input '{name}' must be {want}, got {x.dtype}")
        host.append(x.detach().cpu().contiguous())
    with e.lock:
        shapes = e.engine.output_shapes([list(x.shape) for x in host])
        outs = [torch.empty(s, dtype=_TORCH_DTYPES[spec[1]]) for s, spec in zip(shapes, e.outputs)]
        e.engine.run_into(host, outs)
    return [o.to(device) for o in outs] if device.type != "cpu" else outs


def _fake(inputs: list[torch.Tensor], engine: torch.Tensor, key: str) -> list[torch.Tensor]:
    e = _engine(key, None)
    _check_inputs(e, key, inputs)
    symbols: list = [None] * len(e.symbols)
    for x, (_, _, dims) in zip(inputs, e.inputs):
        for d, expr in enumerate(dims):
            s = _shapes.as_symbol(expr)
            if s is not None and symbols[s] is None:
                symbols[s] = x.shape[d]
    device = inputs[0].device if inputs else engine.device
    return [
        torch.empty([_shapes.evaluate(expr, symbols) for expr in dims], dtype=_TORCH_DTYPES[dtype],
                    device=device)
        for _, dtype, dims in e.outputs
    ]


_LIB = torch.library.Library("kiln", "DEF")
_LIB.define("execute_engine(Tensor[] inputs, Tensor engine, str key) -> Tensor[]")
_LIB.impl("execute_engine", _execute, "CompositeExplicitAutograd")
torch.library.register_fake("kiln::execute_engine", _fake, lib=_LIB)
