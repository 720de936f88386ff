"""``kiln::execute_engine(Tensor[] inputs, Tensor engine, str key) -> Tensor[]``.

Each kiln engine in a hybrid graph is one call of this op. ``engine`` is the engine file as a
uint8 tensor (a buffer of the module, so torch.export.save and torch.jit.save carry it); ``key`` is
its content hash, which caches the deserialized engine in this process. The fake implementation
computes output shapes from the engine's symbolic output shapes, so FakeTensor tracing and
re-export go through compiled graphs.

CUDA engines run on the inputs' device, queued on torch's current stream, with no host copies.
Every byte they use on the device comes from torch's caching allocator, so it counts in torch's
memory statistics and is shared with torch's cache: the weights (one ``torch.empty`` block per
engine and device, uploaded on the first call and kept with the loaded engine), the outputs, and
the activations, which are two ``torch.empty`` blocks: the body's (what only the nodes before the
engine's tail use) is taken each call and given back before the outputs are allocated, so that a
call's peak is the tail's block plus the larger of the body's and the outputs, as in eager; the
tail's is given back after the call, or, with kiln's CUDA graphs, kept per (device, stream) for
the few most recently used streams.
Calls compose with ``torch.cuda.graph`` capture. With kiln's CUDA graphs on
(``set_cudagraphs_mode(True)``, or the engine's ``use_cuda_graphs`` metadata) each device's
graphed context captures the body once per input-shape signature and pair of block addresses
(torch's caching allocator hands the same body block back call after call on a stream) and
replays it afterwards; not while torch is capturing: then torch's graph holds the launches. CPU
engines given CUDA tensors copy through host memory.
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
    """A deserialized engine with its execution contexts, guarded by a lock."""

    def __init__(self, data: bytes) -> None:
        self.engine = _C.Engine(data)
        self.device = self.engine.device
        self.inputs = self.engine.input_specs
        self.outputs = self.engine.output_specs
        self.symbols = self.engine.symbols
        self.use_cuda_graphs = self.engine.metadata("use_cuda_graphs") in ("1", "true")
        self.lock = threading.Lock()
        # CUDA: (device index, graphs) -> context.
        self.contexts: dict[tuple[int, bool], object] = {}
        # CUDA: device index -> the block holding the engine's weights there (None: kiln's own
        # memory, when the first call came while torch was capturing).
        self.weights: dict[int, torch.Tensor | None] = {}
        self.weight_streams: set[tuple[int, int]] = set()  # (device, stream) that have read them
        # kiln's CUDA graphs: (device index, stream) -> the tail's activation block of that
        # stream, kept between calls (small, and part of every graph's key; see _execute_cuda).
        self.tails: dict[tuple[int, int], torch.Tensor] = {}

    def context(self, device: int, graphs: bool):
        """The context for this device, with or without kiln's CUDA graphs; call under the lock."""
        key = (device, graphs)
        ctx = self.contexts.get(key)
        if ctx is None:
            ctx = self.contexts[key] = self.engine.new_context(graphs)
        return ctx

    def upload_weights(self, device: torch.device, index: int, stream, capturing: bool) -> None:
        """Puts the weights on this device on first use, in a torch block (call under the lock).
        While torch is capturing, a torch block would come from the capture's private pool: kiln
        then allocates them itself. Every stream that reads the block is recorded on it, so that
        torch reuses its bytes only after their work, once the engine is dropped."""
        block = self.weights.get(index)
        if block is not None and (index, stream.cuda_stream) not in self.weight_streams:
            block.record_stream(stream)
            self.weight_streams.add((index, stream.cuda_stream))
        if index in self.weights:
            return
        if capturing:
            self.weights[index] = None
            return
        nbytes = self.engine.device_constant_bytes
        block = torch.empty(max(nbytes, 1), dtype=torch.uint8, device=device)
        self.engine.upload_constants(index, block.data_ptr(), nbytes, stream.cuda_stream)
        self.weights[index] = block
        self.weight_streams.add((index, stream.cuda_stream))

    def tail(self, device: torch.device, index: int, stream, nbytes: int) -> torch.Tensor:
        """This stream's persistent tail block, grown to ``nbytes``; call under the lock. The
        blocks of the ``_MAX_TAILS`` most recently used streams are kept: a caller that makes a
        stream per request does not pile them up (a dropped block goes back to torch's cache,
        on its stream; graphs captured on it are not replayed again)."""
        key = (index, stream.cuda_stream)
        block = self.tails.pop(key, None)
        if block is not None and block.numel() < nbytes:
            block = None  # freed first: the caching allocator may reuse its bytes
        if block is None:
            while len(self.tails) >= _MAX_TAILS:
                del self.tails[next(iter(self.tails))]
            block = torch.empty(nbytes, dtype=torch.uint8, device=device)
        self.tails[key] = block  # the most recently used last
        return block


# kiln's CUDA graphs: per engine, the tail blocks of at most this many (device, stream) pairs.
_MAX_TAILS = 8

_CUDAGRAPHS_MODE: bool | None = None
# While profile() runs: (engine key, per-node GPU ms) for every CUDA engine call.
_PROFILE: list | None = None
# While memory() runs: (engine key, CUDA graphs on, input shapes, the context that ran it or None)
# for every engine call.
_MEMORY: list | None = None


def profile(fn, *args, top: int = 25) -> str:
    """Calls ``fn(*args)`` once (a kiln-compiled module, say) with every CUDA engine run node by
    node, a CUDA event after each node, and returns a report: total GPU ms per engine, per kernel,
    and the ``top`` slowest nodes. Plain launches (no CUDA graphs): for finding slow kernels; time
    the model with CUDA events for its real speed."""
    global _PROFILE
    _PROFILE = []
    try:
        fn(*args)
        calls = _PROFILE
    finally:
        _PROFILE = None
    return _C.profile_report([(key, _ENGINES[key].engine, times) for key, times in calls], top)


def memory(fn, *args, top: int = 3) -> str:
    """Calls ``fn(*args)`` once (a kiln-compiled module, say) and reports, per engine call, the
    device memory kiln holds for it: the weights (one copy per device), and the activations for
    that call's input shapes (each node's kernel scratch included, and with CUDA graphs the staged
    inputs; the outputs are the caller's), with the ``top`` largest kernel scratches. The
    activations are two blocks held only during the call: the body's, given back before the
    outputs are allocated, and the tail's."""
    global _MEMORY
    _MEMORY = []
    try:
        fn(*args)
        calls = _MEMORY
    finally:
        _MEMORY = None
    mib = 2.0**-20
    lines = []
    for key, graphs, shapes, ctx in calls:
        e = _ENGINES[key]
        with e.lock:  # the plan of that call, cached by its context (no kernel queries again)
            ctx = ctx or e.engine.new_context(False)
            body, tail = ctx.workspace_sizes(shapes)
            scratch = sorted(ctx.scratch(shapes), key=lambda s: -s[1])
        where = "host memory" if e.device != "cuda" else \
            f"{e.engine.device_constant_bytes * mib:.1f} MiB"
        mode = ", CUDA graphs" if graphs else ""
        largest = ", ".join(f"node {i} {e.engine.nodes[i][1]} {b * mib:.2f}" for i, b in
                            scratch[:top])
        lines.append(f"engine {key} ({e.device}{mode}), inputs {shapes}: weights {where}; "
                     f"activations {(body + tail) * mib:.2f} MiB (body {body * mib:.2f}, tail "
                     f"{tail * mib:.2f}), of which kernel scratch "
                     f"{sum(b for _, b in scratch) * mib:.2f} MiB in {len(scratch)} nodes"
                     + (f" (largest: {largest})" if scratch else ""))
    return "\n".join(lines) if lines else "no kiln engine ran"


def set_cudagraphs_mode(enabled: bool | None) -> None:
    """Turns kiln's CUDA graphs on or off for every CUDA engine in this process.

    ``None`` (the default) follows each engine (its ``use_cuda_graphs`` setting). With graphs on,
    each input-shape signature's kernel launches are captured once and replayed afterwards.
    """
    global _CUDAGRAPHS_MODE
    _CUDAGRAPHS_MODE = None if enabled is None else bool(enabled)


def get_cudagraphs_mode() -> bool | None:
    """The mode ``set_cudagraphs_mode`` set (``None``: each engine's own setting)."""
    return _CUDAGRAPHS_MODE


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


def _cast_input(x: torch.Tensor, name: str, dtype: str) -> torch.Tensor:
    want = _TORCH_DTYPES[dtype]
    if x.dtype != want:
        if x.dtype == torch.float64 and want == torch.float32:  # truncate_double
            return x.float()
        raise TypeError(f"kiln engine input '{name}' must be {want}, got {x.dtype}")
    return x


def _device_args(tensors: list[torch.Tensor], specs) -> list[tuple]:
    return [(t.data_ptr(), spec[1], list(t.shape)) for t, spec in zip(tensors, specs)]


def _execute_cuda(e: _LoadedEngine, key: str, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    """Runs a CUDA engine on CUDA tensors, on torch's current stream of their device."""
    device = None
    xs = []
    for x, (name, dtype, _) in zip(inputs, e.inputs):
        if x.device.type != "cuda":
            raise ValueError(f"kiln engine {key} runs on CUDA, but its input '{name}' is on "
                             f"{x.device}; move the inputs to a CUDA device")
        if device is None:
            device = x.device
        elif x.device != device:
            raise ValueError(f"kiln engine {key}: input '{name}' is on {x.device}, the first input "
                             f"on {device}; all inputs must be on one device")
        xs.append(_cast_input(x, name, dtype).detach().contiguous())
    if device is None:
        device = torch.device("cuda", torch.cuda.current_device())
    index = device.index if device.index is not None else torch.cuda.current_device()
    with torch.cuda.device(index):
        stream = torch.cuda.current_stream()
        capturing = torch.cuda.is_current_stream_capturing()
        shapes_in = [list(x.shape) for x in xs]
        ins = _device_args(xs, e.inputs)
        with e.lock:
            e.upload_weights(device, index, stream, capturing)
            shared = e.context(index, False)
            shapes = shared.output_shapes(shapes_in)
            graphs = e.use_cuda_graphs if _CUDAGRAPHS_MODE is None else _CUDAGRAPHS_MODE
            graphed = graphs and not capturing and _PROFILE is None
            # kiln's CUDA graphs: one graphed context per device (its graphs are kept per
            # signature and activation addresses, which torch's cache mostly hands back alike).
            ctx = e.context(index, True) if graphed else shared
            if _MEMORY is not None:  # the context that runs: memory() reads its cached plan
                _MEMORY.append((key, graphed, shapes_in, ctx))
            if _PROFILE is not None and not capturing:
                # A context of its own, dropped after the run: its arena is not kept.
                outs = [torch.empty(s, dtype=_TORCH_DTYPES[spec[1]], device=device)
                        for s, spec in zip(shapes, e.outputs)]
                temp = e.engine.new_context(False)
                _PROFILE.append((key, temp.profile_device(ins, _device_args(outs, e.outputs),
                                                          stream.cuda_stream)))
                del temp
            else:
                # The activations in two torch blocks: the body's is given back (stream-ordered)
                # before the outputs are allocated, so the peak is the tail's memory plus the
                # larger of the body's and the outputs', as in eager, where the body's
                # activations are dead by the time the last layer allocates its output. With
                # kiln's graphs (replayed only at the addresses they were captured at) the tail's
                # block stays with the stream: a small block taken each call would move whenever
                # the caller keeps small outputs, which share torch's small-block pool with it.
                body_bytes, tail_bytes = ctx.workspace_sizes(shapes_in)
                if graphed:
                    tail = e.tail(device, index, stream, tail_bytes)
                else:
                    tail = torch.empty(tail_bytes, dtype=torch.uint8, device=device)
                body = torch.empty(body_bytes, dtype=torch.uint8, device=device)
                ctx.run_body(ins, stream.cuda_stream, body.data_ptr(), body_bytes,
                             tail.data_ptr(), tail_bytes)
                del body
                outs = [torch.empty(s, dtype=_TORCH_DTYPES[spec[1]], device=device)
                        for s, spec in zip(shapes, e.outputs)]
                ctx.run_tail(ins, _device_args(outs, e.outputs), stream.cuda_stream,
                             tail.data_ptr(), tail_bytes)
    return outs


def _execute(inputs: list[torch.Tensor], engine: torch.Tensor, key: str) -> list[torch.Tensor]:
    e = _engine(key, engine)
    _check_inputs(e, key, inputs)
    if e.device == "cuda":
        return _execute_cuda(e, key, inputs)
    device = inputs[0].device if inputs else engine.device
    host = []
    for x, (name, dtype, _) in zip(inputs, e.inputs):
        host.append(_cast_input(x, name, dtype).detach().cpu().contiguous())
    if _MEMORY is not None:  # a context of its own: the engine's own is not exposed
        _MEMORY.append((key, False, [list(x.shape) for x in host], None))
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
