"""torch.compile(backend="kiln"): compiled subgraphs match eager, graph breaks give several
compiled graphs, a new shape recompiles, options are CompilationSettings, and the backend resolves
through the torch_dynamo_backends entry point in a process that never imports kiln."""

import importlib.metadata
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest
import torch
import torchvision

import kiln  # registers the backend
from kiln_testing import assert_outputs_close

ROOT = pathlib.Path(__file__).resolve().parents[2]


class WithBreak(torch.nn.Module):
    def forward(self, x):
        y = torch.relu(x) * 2 + 1
        torch._dynamo.graph_break()
        return (y / 3).exp() - x


def test_resnet18_matches_eager(compiles):
    torch.manual_seed(0)
    model = torchvision.models.resnet18().eval()
    x = torch.randn(2, 3, 64, 64)
    compiled = torch.compile(model, backend="kiln")
    with torch.no_grad():
        assert_outputs_close(compiled(x), model(x), rtol=1e-4, atol=1e-4)
    assert compiles.count == 1


def test_channels_last_resnet18_is_one_engine_reading_its_input_in_place(compiles):
    """A channels-last model: AOTAutograd's as_strided (the pooled [N, C, 1, 1] result restrided
    before the flatten) is a view, so nothing falls back; the engine takes the input's
    channels-last memory as it is (a permuted view is passed, no copy)."""
    torch.manual_seed(0)
    cl = torch.channels_last
    model = torchvision.models.resnet18().eval().to(memory_format=cl)
    x = torch.randn(2, 3, 64, 64).contiguous(memory_format=cl)
    compiled = torch.compile(model, backend="kiln")
    with torch.no_grad():
        assert_outputs_close(compiled(x), model(x), rtol=1e-4, atol=1e-4)
    assert compiles.count == 1
    assert compiles.fallbacks == [], compiles.fallbacks


def test_graph_break_gives_two_compiled_graphs(compiles):
    x = torch.randn(3, 4)
    compiled = torch.compile(WithBreak(), backend="kiln", options={"min_block_size": 1})
    assert_outputs_close(compiled(x), WithBreak()(x))
    assert compiles.count == 2


def test_new_shape_recompiles_once(compiles):
    compiled = torch.compile(WithBreak(), backend="kiln", dynamic=False,
                             options={"min_block_size": 1})
    for n in (3, 3, 5, 5):
        x = torch.randn(n, 4)
        assert_outputs_close(compiled(x), WithBreak()(x))
    assert compiles.count == 4  # two graphs per shape, each compiled once


def test_options_are_settings():
    with pytest.raises(Exception, match="unknown kiln setting"):
        torch._dynamo.reset()
        torch.compile(WithBreak(), backend="kiln", options={"no_such_setting": 1})(torch.randn(2))


def _entry_point_env(tmp_path):
    """The environment for a child process that finds kiln's entry point: as installed, or (for a
    developer build on PYTHONPATH, as on the GPU machine) through a dist-info made from
    pyproject.toml's entry point, which torch reads the same way."""
    env = dict(os.environ)
    try:
        importlib.metadata.distribution("kiln")
        return env
    except importlib.metadata.PackageNotFoundError:
        pass
    pyproject = (ROOT / "pyproject.toml").read_text()
    line = next(ln for ln in pyproject.splitlines() if ln.startswith("kiln = ") and ":" in ln)
    line = line.replace('"', "")  # TOML string -> entry_points.txt value
    info = tmp_path / "kiln-0.0.dev0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: kiln\nVersion: 0.0.dev0\n")
    (info / "entry_points.txt").write_text(f"[torch_dynamo_backends]\n{line}\n")
    package_root = str(pathlib.Path(kiln.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), package_root, env.get("PYTHONPATH", "")])
    return env


def test_entry_point_without_importing_kiln(tmp_path):
    code = textwrap.dedent("""
        import sys, torch
        m = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU())
        x = torch.randn(2, 8)
        y = torch.compile(m, backend="kiln")(x)
        assert "kiln" in sys.modules, "the backend did not come from kiln"
        torch.testing.assert_close(y, m(x))
        print("ok")
    """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=_entry_point_env(tmp_path))
    assert run.returncode == 0 and "ok" in run.stdout, run.stderr[-3000:]


@pytest.mark.parametrize("ir", ["default", "dynamo", "fx", "torch_compile", "ts", "torchscript"])
def test_kiln_compile_every_ir_on_resnet18(ir, compiles):
    torch.manual_seed(0)
    model = torchvision.models.resnet18().eval()
    x = torch.randn(2, 3, 64, 64)
    compiled = kiln.compile(model, ir=ir, inputs=[x])
    with torch.no_grad():
        assert_outputs_close(compiled(x), model(x), rtol=1e-4, atol=1e-4)
    assert compiles.count == 1
    if ir in ("ts", "torchscript"):
        assert isinstance(compiled, torch.jit.ScriptModule)
    elif ir != "torch_compile":
        assert isinstance(compiled, torch.fx.GraphModule)


def test_fx_frontend_error_has_a_hint():
    class Branchy(torch.nn.Module):
        def forward(self, x):
            if x.sum() > 0:
                return x
            return -x

    with pytest.raises(RuntimeError, match="kiln hint"):
        kiln.fx.compile(Branchy(), [torch.randn(3)])
    with pytest.raises(ValueError, match="ir must be one of"):
        kiln.compile(Branchy(), ir="tensorrt", inputs=[torch.randn(3)])
