"""kiln::execute_engine on CUDA: a tiny model compiled with device="cuda" against eager, on torch's
current stream, under torch.cuda.graph capture, with kiln's own CUDA graphs, and the errors for
tensors on the wrong device. Everything here needs a CUDA device (gpu marker)."""

import pytest
import torch

import kiln
from kiln_testing import assert_outputs_close, engine_count

pytestmark = pytest.mark.gpu


class Tiny(torch.nn.Module):
    """x * 2 + 1, then relu: constants, mul, add and relu in one engine."""

    def forward(self, x):
        return torch.relu(x * 2 + 1)


def _compile(model, example, **settings):
    trt = kiln.compile(model, inputs=[example], device="cuda", min_block_size=1,
                       require_full_compilation=True, **settings)
    assert engine_count(trt) >= 1
    return trt


@pytest.fixture(autouse=True)
def _default_cudagraphs_mode():
    yield
    kiln.runtime.set_cudagraphs_mode(None)


def test_matches_eager_without_host_copies():
    torch.manual_seed(0)
    model = Tiny().eval().cuda()
    x = torch.randn(4, 33, device="cuda")
    trt = _compile(model, x)
    with torch.no_grad():
        y = trt(x)
        assert y.device == x.device  # outputs allocated on the inputs' device
        assert_outputs_close(y, model(x))
        x2 = torch.randn(4, 33, device="cuda")
        assert_outputs_close(trt(x2), model(x2))


def test_runs_on_the_current_stream():
    torch.manual_seed(1)
    model = Tiny().eval().cuda()
    x = torch.randn(8, 16, device="cuda")
    trt = _compile(model, x)
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.no_grad(), torch.cuda.stream(side):
        for _ in range(3):
            y = trt(x)
    torch.cuda.current_stream().wait_stream(side)
    assert_outputs_close(y, model(x))


def test_under_torch_cuda_graph_capture():
    torch.manual_seed(2)
    model = Tiny().eval().cuda()
    static_x = torch.randn(4, 64, device="cuda")
    trt = _compile(model, static_x)
    with torch.no_grad():
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):  # warm-up (uploads the constants) before capture
            trt(static_x)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            static_y = trt(static_x)
        _replay_and_check(graph, static_x, static_y, model)


def _replay_and_check(graph, static_x, static_y, model):
    """Replays a torch.cuda.graph on new data in its static input, against eager each time."""
    for seed in range(3):
        static_x.copy_(torch.randn(static_x.shape, device="cuda", generator=torch.Generator(
            device="cuda").manual_seed(seed)))
        graph.replay()
        torch.cuda.synchronize()
        with torch.no_grad():
            assert_outputs_close(static_y, model(static_x))


@pytest.mark.parametrize("graphs", [False, True])
def test_kiln_cuda_graphs_on_and_off_agree(graphs):
    torch.manual_seed(3)
    model = Tiny().eval().cuda()
    x = torch.randn(4, 32, device="cuda")
    trt = _compile(model, x)
    kiln.runtime.set_cudagraphs_mode(graphs)
    with torch.no_grad():
        for _ in range(3):
            x = torch.randn(4, 32, device="cuda")
            assert_outputs_close(trt(x), model(x))


def test_dynamic_batch_on_cuda_with_graphs():
    torch.manual_seed(4)
    model = Tiny().eval().cuda()
    spec = kiln.Input(min_shape=(1, 8), opt_shape=(4, 8), max_shape=(32, 8))
    trt = kiln.compile(model, inputs=[spec], device="cuda", min_block_size=1,
                       require_full_compilation=True)
    kiln.runtime.set_cudagraphs_mode(True)
    with torch.no_grad():
        for n in (4, 32, 1, 4, 32):
            x = torch.randn(n, 8, device="cuda")
            assert_outputs_close(trt(x), model(x))


class Wide(torch.nn.Module):
    """Two linears: 2 MiB of fp32 weights, enough to see in torch's memory statistics."""

    def __init__(self):
        super().__init__()
        self.a = torch.nn.Linear(512, 512)
        self.b = torch.nn.Linear(512, 512)

    def forward(self, x):
        return self.b(torch.relu(self.a(x)))


def _requested() -> int:
    """Bytes currently asked of torch's caching allocator, before its rounding."""
    return torch.cuda.memory_stats()["requested_bytes.all.current"]


def _fresh_engine(trt, name):
    """The compiled module's engine loaded again under a key of its own (nothing on the device
    yet: compiling may already have run the module's own copy), and a call of it."""
    from kiln.runtime._execute_engine import _ENGINES, register_engine

    node = next(n for n in trt.graph.nodes if n.target is torch.ops.kiln.execute_engine.default)
    blob = getattr(trt, node.args[1].target)
    key = register_engine(blob.detach().cpu().numpy().tobytes(), f"test-{name}")
    return _ENGINES[key], lambda x: torch.ops.kiln.execute_engine([x], blob, key)[0]


@pytest.mark.parametrize("graphs", [False, True])
def test_weights_and_activations_are_torch_memory(graphs):
    """The weights and the activations are torch.empty blocks: they count in
    torch.cuda.memory_allocated, the eager model's own weights can be dropped, and between calls
    kiln holds its weights (and with its graphs, each stream's tail block) only."""
    torch.manual_seed(5)
    model = Wide().eval().cuda()
    x = torch.randn(64, 512, device="cuda")
    with torch.no_grad():
        want = model(x)
    e, call = _fresh_engine(_compile(model, x), f"torch-memory-{graphs}")
    kiln.runtime.set_cudagraphs_mode(graphs)
    index = x.device.index
    assert index not in e.weights  # nothing on the device before the first call
    weight_bytes = e.engine.device_constant_bytes
    assert weight_bytes >= 2 * (512 * 512 + 512) * 4
    del model
    torch.cuda.synchronize()
    before = _requested()
    with torch.no_grad():
        y = call(x)
        for _ in range(3):
            assert_outputs_close(call(x), want)
    torch.cuda.synchronize()
    block = e.weights[index]
    assert block is not None and block.numel() == weight_bytes
    assert block.data_ptr() % 256 == 0
    ctx = e.contexts[(index, graphs)]
    if graphs:
        # A graph per pair of activation blocks torch handed out (y is kept); then the same
        # blocks again on every call: no capture more.
        captured = ctx.cuda_graphs_captured
        assert 1 <= captured <= 4
        with torch.no_grad():
            for _ in range(5):
                assert_outputs_close(call(x), want)
        assert ctx.cuda_graphs_captured == captured
    # (node, bytes) per node with scratch: every cuda.linear had some on the H100 (2026-11-27).
    scratch = ctx.scratch([list(x.shape)])
    assert scratch and all(isinstance(i, int) and b > 0 for i, b in scratch), scratch
    # What stays allocated after the calls: the weights, y and with graphs the stream's tail block,
    # in bytes asked of torch's allocator (its allocated bytes also count the rounding, and a free
    # block under 1 MiB larger than asked is not split: 150 KiB more on the H100, 2026-11-27). On
    # one run of the whole gpu suite, 22 KiB more was asked by then: something of torch's own.
    held = weight_bytes + y.numel() * 4
    if graphs:
        held += e.tails[(index, torch.cuda.current_stream().cuda_stream)].numel()
    else:
        assert not e.tails
    grown = _requested() - before
    assert held <= grown <= held + 64 * 1024, (grown, held)
    assert_outputs_close(y, want)


def test_graphed_tail_blocks_are_kept_for_a_few_streams_only():
    """With kiln's graphs each stream keeps its tail block between calls; a caller that makes a
    stream per request keeps the blocks of the last _MAX_TAILS streams only, with right outputs
    on each stream and again on the first one after its block was dropped."""
    from kiln.runtime import _execute_engine

    torch.manual_seed(6)
    model = Wide().eval().cuda()
    x = torch.randn(16, 512, device="cuda")
    with torch.no_grad():
        want = model(x)
    e, call = _fresh_engine(_compile(model, x), "tails-per-stream")
    kiln.runtime.set_cudagraphs_mode(True)
    streams = [torch.cuda.Stream() for _ in range(_execute_engine._MAX_TAILS + 3)]
    outs = []
    with torch.no_grad():
        for s in streams + streams[:1]:
            s.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(s):
                outs.append(call(x))
            torch.cuda.current_stream().wait_stream(s)
    for y in outs:
        assert_outputs_close(y, want)
    assert len(e.tails) == _execute_engine._MAX_TAILS
    kept = [stream for _, stream in e.tails]  # keys: (device index, cudaStream_t)
    assert kept[-1] == streams[0].cuda_stream  # the most recently used last
    assert streams[1].cuda_stream not in kept


class Head(torch.nn.Module):
    """Two hidden layers, then a layer norm and a wide projection: the shape of an LM head, whose
    output is much larger than any activation before it."""

    def __init__(self):
        super().__init__()
        self.a = torch.nn.Linear(256, 1024)
        self.b = torch.nn.Linear(1024, 256)
        self.norm = torch.nn.LayerNorm(256)
        self.head = torch.nn.Linear(256, 8192, bias=False)

    def forward(self, x):
        h = self.b(torch.relu(self.a(x)))
        return self.head(self.norm(h))


def _call_peak(fn, x):
    """Bytes a call adds to what is allocated before it, at its peak (its output included)."""
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    with torch.no_grad():
        y = fn(x)
    torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated() - before
    del y
    return peak


@pytest.mark.parametrize("graphs", [False, True])
def test_a_calls_peak_is_no_higher_than_eagers(graphs):
    """The body's activations are given back before the outputs are allocated: a call's peak is
    the tail's memory plus the larger of the body's and the output, below eager's, which holds the
    last hidden state, its norm and the logits at the end. Without that split kiln would hold the
    body's activations and the logits at once and be above eager here."""
    torch.manual_seed(8)
    model = Head().eval().cuda()
    x = torch.randn(64, 256, device="cuda")
    e, call = _fresh_engine(_compile(model, x), f"peak-{graphs}")
    kiln.runtime.set_cudagraphs_mode(graphs)
    with torch.no_grad():
        assert_outputs_close(call(x), model(x))
    eager = _call_peak(model, x)
    kiln_peak = _call_peak(call, x)
    body, tail = e.contexts[(x.device.index, graphs)].workspace_sizes([list(x.shape)])
    logits = 64 * 8192 * 4
    assert body >= 64 * 1024 * 4 > tail, (body, tail)  # the hidden 1024 wide is the body's
    assert kiln_peak <= tail + max(body, logits) + 4 * 1024, (kiln_peak, body, tail)
    assert kiln_peak + body // 2 < tail + body + logits  # the split is what keeps it down
    assert kiln_peak <= eager, (kiln_peak, eager)


def test_first_call_under_torch_capture_uses_kilns_own_weight_memory():
    """A first call inside torch.cuda.graph capture must not put the weights in the capture's
    private pool: kiln allocates them itself then, and the replays are right."""
    torch.manual_seed(6)
    model = Wide().eval().cuda()
    static_x = torch.randn(8, 512, device="cuda")
    e, call = _fresh_engine(_compile(model, static_x), "under-capture")
    graph = torch.cuda.CUDAGraph()
    with torch.no_grad(), torch.cuda.graph(graph):
        static_y = call(static_x)
    assert e.weights[static_x.device.index] is None
    _replay_and_check(graph, static_x, static_y, model)


def test_memory_report_on_cuda():
    """kiln.runtime.memory names the CUDA engine, its weights on the device and its activations."""
    torch.manual_seed(7)
    model = Wide().eval().cuda()
    x = torch.randn(64, 512, device="cuda")
    trt = _compile(model, x)
    kiln.runtime.set_cudagraphs_mode(True)
    with torch.no_grad():
        report = kiln.runtime.memory(trt, x)
    assert "(cuda, CUDA graphs), inputs [[64, 512]]: weights 2.0 MiB; activations " in report, \
        report
    assert float(report.split("activations ")[1].split(" MiB")[0]) > 0


def test_cuda_engine_with_cpu_input_names_the_input():
    model = Tiny().eval().cuda()
    x = torch.randn(2, 8, device="cuda")
    trt = _compile(model, x)
    engine = next(n for n in trt.graph.nodes if n.target is torch.ops.kiln.execute_engine.default)
    blob = getattr(trt, engine.args[1].target)
    with pytest.raises(ValueError, match="runs on CUDA, but its input '.*' is on cpu"):
        torch.ops.kiln.execute_engine([torch.randn(2, 8)], blob, engine.args[2])
