"""Every frontend on the same three models against eager: resnet18, a transformers BERT small
config, and a CNN with an op kiln has no converter (a hybrid graph); torch.compile also on a
graph break. Plus what only some frontends have: TorchScript save -> load in a fresh process,
torch.compile's dynamic shapes and modes, and settings, logging and dry-run reports that behave
the same whichever frontend is used."""

import logging
import os
import subprocess
import sys
import textwrap

import pytest
import torch
import torchvision

import kiln
from kiln_testing import assert_outputs_close, engine_count

TOL = dict(rtol=1e-4, atol=1e-4)


class WithUnsupported(torch.nn.Module):
    """A CNN with torch.special.bessel_j0 (no kiln converter) in the middle: two engines."""

    def __init__(self):
        super().__init__()
        self.a = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU())
        self.b = torch.nn.Sequential(torch.nn.Conv2d(8, 8, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                                     torch.nn.Linear(8 * 14 * 14, 10))

    def forward(self, x):
        return self.b(torch.special.bessel_j0(self.a(x)))


def _bert():
    import transformers

    cfg = transformers.BertConfig(vocab_size=128, hidden_size=64, num_hidden_layers=2,
                                  num_attention_heads=4, intermediate_size=128,
                                  max_position_embeddings=64, return_dict=False, torchscript=True)
    return transformers.BertModel(cfg).eval()


def _model(name):
    torch.manual_seed(0)
    if name == "resnet18":
        return torchvision.models.resnet18().eval(), torch.randn(2, 3, 64, 64)
    if name == "bert":
        return _bert(), torch.randint(0, 128, (2, 16))
    return WithUnsupported().eval(), torch.randn(2, 3, 16, 16)


MODELS = ["resnet18", "bert", "unsupported"]
SETTINGS = {"unsupported": {"min_block_size": 1}}  # its two blocks are small


def _script_engines(script) -> int:
    return str(script.inlined_graph).count("kiln::execute_engine")


# ---- TorchScript ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", MODELS)
def test_ts_frontend(name):
    model, x = _model(name)
    script = kiln.ts.compile(model, [x], **SETTINGS.get(name, {}))
    assert isinstance(script, torch.jit.ScriptModule)
    # BERT is traced (transformers' code does not script); the trace computes the sequence length
    # with .item(), which stays in PyTorch and splits the model into two engines.
    assert _script_engines(script) == (1 if name == "resnet18" else 2)
    with torch.no_grad():
        assert_outputs_close(script(x), model(x), **TOL)


def _script_resnet18():
    """torch.jit.script of a fresh resnet18. TorchScript's builtin table is keyed by id(): an op
    object registered there and later freed (torch.ops packets are refreshed or dropped as
    libraries come and go) leaves its id behind, and a new object that gets that id (a Conv2d's
    padding list, once in CI) is taken for a builtin: "builtin cannot be used as a value". A second
    model, built while the first stays alive, gets other ids."""
    model, _ = _model("resnet18")
    try:
        return model, torch.jit.script(model)
    except RuntimeError as e:
        if "builtin cannot be used as a value" not in str(e):
            raise
        keep = model  # noqa: F841 - holds the colliding ids while the second model is built
        model, _ = _model("resnet18")
        return model, torch.jit.script(model)


def test_ts_takes_a_script_module_with_dynamic_batch():
    model, script = _script_resnet18()
    spec = kiln.Input(min_shape=(1, 3, 64, 64), opt_shape=(2, 3, 64, 64), max_shape=(4, 3, 64, 64))
    compiled = kiln.compile(script, inputs=[spec])  # ir="default" picks ts for a ScriptModule
    assert isinstance(compiled, torch.jit.ScriptModule) and _script_engines(compiled) == 1
    with torch.no_grad():
        for n in (1, 3, 4):
            x = torch.randn(n, 3, 64, 64)
            assert_outputs_close(compiled(x), model(x), **TOL)


def test_ts_save_load_in_a_fresh_process(tmp_path):
    model, x = _model("unsupported")
    script = kiln.ts.compile(model, [x], min_block_size=1)
    path, io = tmp_path / "model.ts", tmp_path / "io.pt"
    torch.jit.save(script, str(path))
    with torch.no_grad():
        torch.save((x, model(x)), io)
    code = textwrap.dedent(f"""
        import torch, kiln
        m = torch.jit.load({str(path)!r})
        x, want = torch.load({str(io)!r})
        with torch.no_grad():
            torch.testing.assert_close(m(x), want, rtol=1e-4, atol=1e-4)
        print("ok")
    """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ))
    assert run.returncode == 0 and "ok" in run.stdout, run.stderr[-3000:]


def test_kiln_save_torchscript_from_any_frontend(tmp_path):
    model, x = _model("resnet18")
    gm = kiln.compile(model, inputs=[x])
    path = tmp_path / "resnet.ts"
    kiln.save(gm, path, output_format="torchscript")
    loaded = kiln.load(path)
    assert isinstance(loaded, torch.jit.ScriptModule)
    with torch.no_grad():
        assert_outputs_close(loaded(x), model(x), **TOL)
    with pytest.raises(ValueError, match="output_format must be one of"):
        kiln.save(gm, path, output_format="onnx")
    bad = tmp_path / "bad.ts"
    bad.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a saved kiln program"):
        kiln.load(bad)
    with pytest.raises(FileNotFoundError, match="no file"):
        kiln.load(tmp_path / "missing.ts")


def test_torch_without_torchscript_gets_a_clear_error(monkeypatch):
    import torch._export.converter as converter

    monkeypatch.delattr(converter, "TS2EPConverter")
    with pytest.raises(RuntimeError, match="cannot convert TorchScript.*ir='dynamo'"):
        kiln.ts.compile(torch.nn.ReLU(), [torch.randn(2)])
    monkeypatch.delattr(torch.jit, "script")
    with pytest.raises(RuntimeError, match="has no TorchScript"):
        kiln.compile(torch.nn.ReLU(), ir="ts", inputs=[torch.randn(2)])


def test_ts_errors_are_clear():
    with pytest.raises(TypeError, match="ScriptModule or an nn.Module"):
        kiln.ts.compile(lambda x: x, [torch.randn(2)])
    with pytest.raises(ValueError, match="needs inputs"):
        kiln.ts.compile(torch.nn.ReLU(), [])


# ---- FX ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", MODELS)
def test_fx_frontend(name):
    model, x = _model(name)
    if name == "bert":
        # torch.fx.symbolic_trace cannot trace transformers' BERT (Python control flow on
        # proxies), and kiln says what to do instead; any FX GraphModule of it compiles.
        with pytest.raises(RuntimeError, match="kiln hint"):
            kiln.fx.compile(model, [x])
        model_in = torch.export.export(model, (x,)).module()
    else:
        model_in = model
    gm = kiln.fx.compile(model_in, [x], **SETTINGS.get(name, {}))
    assert isinstance(gm, torch.fx.GraphModule)
    assert engine_count(gm) == (2 if name == "unsupported" else 1)
    with torch.no_grad():
        assert_outputs_close(gm(x), model(x), **TOL)


# ---- torch.compile -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", MODELS)
def test_torch_compile_frontend(name, compiles):
    model, x = _model(name)
    compiled = torch.compile(model, backend="kiln", options=SETTINGS.get(name))
    with torch.no_grad():
        assert_outputs_close(compiled(x), model(x), **TOL)
    assert compiles.count == 1


def test_torch_compile_bert_compiles_once_per_shape(compiles):
    model, _ = _model("bert")
    compiled = torch.compile(model, backend="kiln", dynamic=False)
    with torch.no_grad():
        for seq in (16, 16, 24, 24, 16):
            ids = torch.randint(0, 128, (2, seq))
            assert_outputs_close(compiled(ids), model(ids), **TOL)
    assert compiles.count == 2


class Mlp(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.l1, self.l2 = torch.nn.Linear(8, 16), torch.nn.Linear(16, 4)

    def forward(self, x):
        return torch.softmax(self.l2(torch.relu(self.l1(x))), -1)


def test_torch_compile_dynamic_three_sizes_one_compile(compiles):
    torch.manual_seed(0)
    model = Mlp().eval()
    compiled = torch.compile(model, backend="kiln", dynamic=True)
    with torch.no_grad():
        for n in (2, 5, 9):
            x = torch.randn(n, 8)
            assert_outputs_close(compiled(x), model(x), **TOL)
    assert compiles.count == 1


def test_torch_compile_mark_dynamic_sequence_one_compile(compiles):
    model, _ = _model("bert")
    compiled = torch.compile(model, backend="kiln")
    with torch.no_grad():
        for seq in (8, 16, 24):
            ids = torch.randint(0, 128, (2, seq))
            torch._dynamo.mark_dynamic(ids, 1)
            assert_outputs_close(compiled(ids), model(ids), **TOL)
    assert compiles.count == 1


def test_torch_compile_modes(compiles):
    from kiln.frontends.torch_compile import settings_for

    assert settings_for("reduce-overhead", None).use_cuda_graphs
    assert not settings_for("default", None).use_cuda_graphs
    assert settings_for("max-autotune-no-cudagraphs", {}).optimization_level == 5
    torch.manual_seed(0)
    model, x = Mlp().eval(), torch.randn(3, 8)
    compiled = torch.compile(model, backend="kiln", mode="reduce-overhead")
    with torch.no_grad():
        assert_outputs_close(compiled(x), model(x), **TOL)
    torch._dynamo.reset()
    with pytest.raises(Exception, match="mode must be one of"):
        torch.compile(model, backend="kiln", mode="fastest")(x)


@pytest.mark.gpu
def test_torch_compile_reduce_overhead_on_cuda(compiles):
    torch.manual_seed(0)
    model = Mlp().eval().cuda()
    compiled = torch.compile(model, backend="kiln", mode="reduce-overhead")
    from kiln.runtime._execute_engine import _ENGINES

    def captured():
        return sum(c.cuda_graphs_captured for e in _ENGINES.values() for c in e.contexts.values())

    before = captured()
    with torch.no_grad():
        for n in (3, 3, 7):
            x = torch.randn(n, 8, device="cuda")
            assert_outputs_close(compiled(x), model(x), **TOL)
    assert captured() > before  # kiln's CUDA-graph runtime ran the engines


# ---- the same settings, logging and reports everywhere -------------------------------------------


def _compile_with(frontend, model, x, **settings):
    if frontend == "torch_compile":
        fn = torch.compile(model, backend="kiln", options=settings)
        fn(x)
        return fn
    return kiln.compile(model, ir=frontend, inputs=[x], **settings)


FRONTENDS = ["dynamo", "fx", "ts", "torch_compile"]


@pytest.mark.parametrize("frontend", FRONTENDS)
def test_dryrun_report_is_the_same_everywhere(frontend, capsys):
    torch._dynamo.reset()
    model, x = _model("unsupported")
    _compile_with(frontend, model, x, dryrun=True)
    out = capsys.readouterr().out
    assert "kiln partition:" in out and "coverage" in out
    assert "aten.special_bessel_j0.default" in out


@pytest.mark.parametrize("frontend", FRONTENDS)
def test_settings_and_fallback_logging_are_the_same_everywhere(frontend):
    torch._dynamo.reset()
    model, x = _model("unsupported")
    logger, lines = logging.getLogger("kiln"), []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: lines.append(record.getMessage())
    logger.addHandler(handler)
    try:
        compiled = _compile_with(frontend, model, x, min_block_size=1,
                                 torch_executed_ops={"torch.ops.aten.relu"})
    finally:
        logger.removeHandler(handler)
    text = "\n".join(lines)
    assert "aten.special_bessel_j0.default" in text and "runs in PyTorch" in text
    assert "listed in torch_executed_ops" in text
    with torch.no_grad():
        assert_outputs_close(compiled(x), model(x), **TOL)
    with pytest.raises(Exception, match="unknown kiln setting"):
        torch._dynamo.reset()
        _compile_with(frontend, model, x, no_such_setting=1)
