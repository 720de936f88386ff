"""The AOT frontend's API: Input/Device/CompilationSettings validation, partitioning settings,
dry-run report, fallbacks, precision, convert_method_to_engine, export errors."""

import logging
import shutil
import subprocess

import pytest
import torch

import kiln
from kiln_testing import assert_outputs_close, engine_count


class Chain(torch.nn.Module):
    """Elementwise ops around an op kiln has no converter for (bessel_j0)."""

    def forward(self, x):
        y = (x * 2 + 1).exp() - 3
        z = torch.special.bessel_j0(y)
        return (z * y + 1).abs() / 2 - y


class Simple(torch.nn.Module):
    def forward(self, x):
        return (x * 2 + 1).exp() / 3 - x


# ---- Input -------------------------------------------------------------------------------------


def test_input_static_and_dynamic():
    assert not kiln.Input((1, 3)).is_dynamic
    i = kiln.Input(min_shape=(1, 3), opt_shape=(4, 3), max_shape=(8, 3))
    assert i.is_dynamic and i.dynamic_dims() == [0]
    t = torch.randn(2, 5, dtype=torch.float16)
    f = kiln.Input.from_tensor(t)
    assert f.opt_shape == (2, 5) and f.dtype == torch.float16


@pytest.mark.parametrize("kwargs, message", [
    (dict(min_shape=(4, 3), opt_shape=(2, 3), max_shape=(8, 3), name="x"), "dim 0 needs min <= opt <= max"),
    (dict(min_shape=(1, 3), opt_shape=(2, 3), max_shape=(8, 3, 1), name="x"), "same rank"),
    (dict(min_shape=(1, 3), name="x"), "needs shape, or min_shape and max_shape"),
    (dict(shape=(1, 3), dtype="float", name="x"), "dtype must be a torch.dtype"),
    (dict(shape=(1, -3), name="x"), "negative"),
])
def test_bad_input_specs_raise_value_error_naming_the_input(kwargs, message):
    with pytest.raises(ValueError, match=message) as e:
        kiln.Input(**kwargs)
    assert "'x'" in str(e.value)


def test_input_rank_mismatch_with_model_is_reported():
    with pytest.raises(Exception, match="kiln hint"):
        kiln.compile(Simple(), inputs=[kiln.Input((2, 3, 4)), kiln.Input((2,))])


def test_device_and_settings_validation():
    assert kiln.Device("cpu").type == "cpu"
    assert kiln.Device(gpu_id=1).to_torch() == torch.device("cuda", 1)
    with pytest.raises(ValueError, match="kiln builds for 'cpu' or 'cuda'"):
        kiln.Device("meta")
    with pytest.raises(TypeError, match="unknown kiln setting"):
        kiln.compile(Simple(), inputs=[torch.randn(2)], not_a_setting=1)
    with pytest.raises(ValueError, match="min_block_size"):
        kiln.CompilationSettings(min_block_size=0)
    with pytest.raises(ValueError, match="enabled_precisions"):
        kiln.CompilationSettings(enabled_precisions={torch.int8})
    s = kiln.CompilationSettings(torch_executed_ops={torch.ops.aten.add.Tensor, "aten.mul"})
    assert s.torch_executed_ops == {"aten.add.Tensor", "aten.mul"}


def test_every_setting_is_documented():
    import dataclasses
    import inspect

    source = inspect.getsource(kiln.CompilationSettings)
    for f in dataclasses.fields(kiln.CompilationSettings):
        after = source.split(f"    {f.name}:", 1)[1].split("\n", 2)[1]
        assert after.strip().startswith('"""'), f"setting {f.name} has no docstring"


# ---- partitioning ------------------------------------------------------------------------------


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


class SmallCNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(8)

    def forward(self, x):
        return torch.relu(self.bn(self.conv(x))).mean((2, 3))


def _engine_input_permutes(gm):
    return [n for n in gm.graph.nodes if n.target is torch.ops.aten.permute.default
            and any(u.target is torch.ops.kiln.execute_engine.default for u in n.users)]


def test_channels_last_inputs_reach_the_engine_without_a_copy():
    torch.manual_seed(0)
    cl = torch.channels_last
    model = SmallCNN().eval().to(memory_format=cl)
    x = torch.randn(2, 3, 9, 7).contiguous(memory_format=cl)
    with torch.no_grad():
        want = model(x)
    assert kiln.Input.from_tensor(x).format == cl
    assert kiln.Input.from_tensor(x.contiguous()).format == torch.contiguous_format
    gm = kiln.compile(model, inputs=[x])
    (permute,) = _engine_input_permutes(gm)  # a view of x's channels-last memory as [N, H, W, C]
    assert permute.args[1] == [0, 2, 3, 1]
    # Either layout at call time gives eager's numbers (a contiguous input is copied once).
    assert_outputs_close(gm(x), want)
    assert_outputs_close(gm(x.contiguous()), want)
    # A contiguous example input keeps the plain path.
    assert _engine_input_permutes(kiln.compile(model, inputs=[x.contiguous()])) == []
    # A dynamic Input with format=channels_last traces channels-last.
    spec = kiln.Input(min_shape=(1, 3, 9, 7), opt_shape=(2, 3, 9, 7), max_shape=(4, 3, 9, 7),
                      format=cl)
    gm = kiln.compile(model, inputs=[spec])
    assert len(_engine_input_permutes(gm)) == 1
    x3 = torch.randn(3, 3, 9, 7).contiguous(memory_format=cl)
    with torch.no_grad():
        assert_outputs_close(gm(x3), model(x3))


def test_channels_last_program_saves_and_loads(tmp_path):
    cl = torch.channels_last
    model = SmallCNN().eval().to(memory_format=cl)
    x = torch.randn(2, 3, 9, 7).contiguous(memory_format=cl)
    with torch.no_grad():
        want = model(x)
    kiln.save(kiln.compile(model, inputs=[x]), str(tmp_path / "cnn.pt2"))
    program = kiln.load(str(tmp_path / "cnn.pt2"))
    assert_outputs_close(program.module()(x), want)


class Windows(torch.nn.Module):
    def forward(self, x):  # overlapping windows: a real as_strided, not a view
        return (x.exp().as_strided((3, 4), (2, 1)) * 2).relu()


def test_only_as_strided_calls_that_are_views_join_engines(compiles):
    x = torch.randn(10)
    gm = kiln.compile(Windows(), inputs=[x], min_block_size=1)
    assert any(n.target is torch.ops.aten.as_strided.default for n in gm.graph.nodes)
    assert compiles.fallbacks and "as_strided" in compiles.fallbacks[0]
    assert_outputs_close(gm(x), Windows()(x))


def test_input_format_must_be_a_supported_memory_format():
    with pytest.raises(ValueError, match="format must be torch.contiguous_format or "
                                         "torch.channels_last"):
        kiln.Input((1, 3, 4, 4, 4), format=torch.channels_last_3d)


def test_hybrid_graph_with_unsupported_op_matches_eager():
    x = torch.randn(3, 4)
    records = _Records()
    logging.getLogger("kiln").addHandler(records)
    try:
        gm = kiln.compile(Chain(), inputs=[x], min_block_size=2)
    finally:
        logging.getLogger("kiln").removeHandler(records)
    assert engine_count(gm) == 2
    (message,) = records.messages  # once per op kind
    assert "aten.special_bessel_j0.default" in message and "no converter" in message
    assert_outputs_close(gm(x), Chain()(x))


def test_min_block_size_sends_small_blocks_to_pytorch():
    x = torch.randn(3, 4)
    gm = kiln.compile(Chain(), inputs=[x], min_block_size=5)
    assert engine_count(gm) == 1  # the 4-op block before bessel stays in PyTorch
    assert_outputs_close(gm(x), Chain()(x))


def test_fully_supported_graph_ignores_min_block_size():
    x = torch.randn(3, 4)
    gm = kiln.compile(Simple(), inputs=[x], min_block_size=50)
    assert engine_count(gm) == 1


def test_torch_executed_ops():
    x = torch.randn(3, 4)
    gm = kiln.compile(Simple(), inputs=[x], min_block_size=1, torch_executed_ops={"aten.exp"})
    targets = [str(n.target) for n in gm.graph.nodes]
    assert "aten.exp.default" in targets
    assert_outputs_close(gm(x), Simple()(x))


def test_require_full_compilation_lists_node_reason_and_line():
    with pytest.raises(NotImplementedError) as e:
        kiln.compile(Chain(), inputs=[torch.randn(3, 4)], require_full_compilation=True)
    msg = str(e.value)
    assert "special_bessel_j0" in msg and "no converter" in msg and "test_aot_api.py" in msg


def test_dryrun_reports_and_builds_nothing(tmp_path, capsys):
    path = tmp_path / "report.txt"
    gm = kiln.compile(Chain(), inputs=[torch.randn(3, 4)], min_block_size=2, dryrun=str(path))
    assert engine_count(gm) == 0
    report = path.read_text()
    assert report == capsys.readouterr().out
    assert "coverage 90.0%" in report and "2 engine(s)" in report
    assert "PyTorch segment: 1 op(s)" in report
    assert "test_aot_api.py" in report and "torch.special.bessel_j0(y)" in report
    assert "input  x: float32[3, 4]" in report


# ---- precision, engines ------------------------------------------------------------------------


def test_enabled_precisions_half_computes_in_fp16_with_fp32_io():
    x = torch.randn(3, 4)
    gm = kiln.compile(Simple(), inputs=[x], min_block_size=1, enabled_precisions={torch.half})
    y = gm(x)
    assert y.dtype == torch.float32
    assert_outputs_close(y, Simple()(x.half()).float())
    assert (y - Simple()(x)).abs().max() > 0  # really fp16 inside


def test_enabled_precisions_bfloat16():
    x = torch.randn(3, 4)
    gm = kiln.compile(Simple(), inputs=[x], min_block_size=1, enabled_precisions={torch.bfloat16})
    y = gm(x)
    assert y.dtype == torch.float32
    assert_outputs_close(y, Simple()(x.bfloat16()).float())
    e = kiln.Engine(gm._kiln_engine_0.numpy().tobytes())
    assert e.inputs[0][1] == "f32" and e.outputs[0][1] == "f32"


def test_convert_method_to_engine_runs_in_the_cli(tmp_path):
    spec = kiln.Input(min_shape=(1, 4), opt_shape=(3, 4), max_shape=(8, 4), name="x")
    data = kiln.convert_method_to_engine(Simple(), inputs=[spec])
    engine = kiln.Engine(data)
    (x,) = [torch.randn(5, 4).numpy()]
    (y,) = engine(x)
    torch.testing.assert_close(torch.from_numpy(y), Simple()(torch.from_numpy(x)))
    path = tmp_path / "simple.kiln"
    path.write_bytes(data)
    cli = shutil.which("kiln")
    assert cli, "the kiln CLI is not on PATH (scripts/test installs it into .venv/bin)"
    run = subprocess.run([cli, "run", str(path), "--shapes", "x:5x4"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "output sub" in run.stdout
    with pytest.raises(NotImplementedError):
        kiln.convert_method_to_engine(Chain(), inputs=[torch.randn(3, 4)])


def test_out_of_range_shape_names_input_and_range():
    spec = kiln.Input(min_shape=(1, 4), opt_shape=(3, 4), max_shape=(8, 4), name="x")
    gm = kiln.compile(Simple(), inputs=[spec], min_block_size=1)
    with pytest.raises(Exception, match=r"x.*(\[1, 8\]|<= 8)"):
        gm(torch.randn(9, 4))


def test_export_failure_gives_export_error_and_hint():
    class DataDependent(torch.nn.Module):
        def forward(self, x):
            if x.sum() > 0:
                return x * 2
            return x

    with pytest.raises(RuntimeError, match="kiln hint") as e:
        kiln.compile(DataDependent(), inputs=[torch.randn(3)])
    assert "torch.export could not trace DataDependent" in str(e.value)


def test_compile_takes_graph_module_exported_program_and_kwargs():
    x = torch.randn(3, 4)
    ep = kiln.dynamo.trace(Simple(), [x])
    assert isinstance(ep, torch.export.ExportedProgram)
    for module in (ep, torch.fx.symbolic_trace(Simple())):
        gm = kiln.compile(module, inputs=[x], min_block_size=1)
        assert engine_count(gm) == 1
        assert_outputs_close(gm(x), Simple()(x))

    class Scaled(torch.nn.Module):
        def forward(self, x, scale):
            return x * scale + 1

    s = torch.randn(3, 4)
    gm = kiln.compile(Scaled(), arg_inputs=[x], kwarg_inputs={"scale": s}, min_block_size=1)
    assert_outputs_close(gm(x, scale=s), Scaled()(x, scale=s))


def test_shared_dims_make_one_symbol():
    class Add(torch.nn.Module):
        def forward(self, a, b):
            return a + b

    spec = kiln.Input(min_shape=(1, 4), opt_shape=(2, 4), max_shape=(6, 4), shared_dims={0: "n"})
    gm = kiln.compile(Add(), inputs=[spec, spec], min_block_size=1)
    e = kiln.Engine(getattr(gm, "_kiln_engine_0").numpy().tobytes())
    assert [s for s in e.inputs[0][2].split() if s == "n"], e.inputs
    a, b = torch.randn(5, 4), torch.randn(5, 4)
    assert_outputs_close(gm(a, b), a + b)


def test_compiled_module_keeps_only_tensors_its_graph_reads():
    """_delete_unused_tensors drops a root parameter no node reads, keeps one a get_attr reads,
    and keeps the weights of a submodule that a call_module node runs."""
    from kiln.frontends.dynamo import _delete_unused_tensors

    root = torch.nn.Module()
    root.used = torch.nn.Parameter(torch.ones(3))
    root.lin = torch.nn.Linear(3, 3)
    g = torch.fx.Graph()
    x = g.placeholder("x")
    y = g.call_module("lin", (x,))
    g.output(g.call_function(torch.add, (y, g.get_attr("used"))))
    gm = torch.fx.GraphModule(root, g)
    gm.unused = torch.nn.Parameter(torch.ones(3))  # as torch.export's module() leaves them
    gm.lin.register_buffer("spare", torch.ones(3))  # inside a module a call_module runs: kept
    _delete_unused_tensors(gm)
    assert {n for n, _ in gm.named_parameters()} == {"used", "lin.weight", "lin.bias"}
    assert {n for n, _ in gm.named_buffers()} == {"lin.spare"}
    assert gm(torch.ones(2, 3)).shape == (2, 3)
