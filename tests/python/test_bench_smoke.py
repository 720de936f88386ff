"""bench/run.py's logic on the CPU (--smoke): tiny models, eager and kiln timed and checked against
eager, a baseline that fails (eager_graph needs CUDA) reported with its error, an expensive one
skipped by the time budget, and results.json / results.md written with the expected keys."""

import json
import os
import pathlib
import subprocess
import sys

import kiln

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_bench_smoke(tmp_path):
    env = dict(os.environ)
    package_root = str(pathlib.Path(kiln.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([package_root, env.get("PYTHONPATH", "")])
    out = tmp_path / "results"
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--smoke", "--out", str(out),
         "--baselines", "eager,eager_graph,compile_max_autotune,kiln", "--time-budget", "0"],
        capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    # The process warm-up ran, and every case of it compiled and ran with kiln.
    assert "process warm-up" not in run.stdout, run.stdout[-3000:]

    result = json.loads((out / "results.json").read_text())
    assert {"env", "config", "rows"} <= set(result)
    assert result["config"]["process_warmup"] is True
    assert {"date", "torch", "card", "git_commit"} <= set(result["env"])
    assert [r["model"] for r in result["rows"]] == ["tiny_mlp", "tiny_cnn"]
    for row in result["rows"]:
        b = row["baselines"]
        assert set(b) == {"eager", "eager_graph", "compile_max_autotune", "kiln"}
        for name in ("eager", "kiln"):
            assert b[name]["status"] == "ok", b[name]
            assert len(b[name]["times_ms"]) == 3
            assert {"median_ms", "p90_ms", "build_s", "cosine", "max_abs"} <= set(b[name])
            assert b[name]["cosine"] > 0.9999 and b[name]["median_ms"] > 0
        assert b["eager_graph"]["status"] == "error" and "CUDA" in b["eager_graph"]["error"]
        assert b["compile_max_autotune"]["status"] == "skipped (time budget)"
        assert row["coverage"].startswith("kiln partition:") and row["coverage_pct"] == 100.0
        kernels = b["kiln"]["kernels"]  # nodes per kernel, most first, constants aside
        assert kernels and all(k.startswith("ref.") for k in kernels), kernels
        assert list(kernels.values()) == sorted(kernels.values(), reverse=True)
        assert "ref.linear" in kernels and "ref.constant" not in kernels

    table = (out / "results.md").read_text()
    assert "| tiny_mlp |" in table and "| tiny_cnn |" in table
    assert "skipped (time budget)" in table and "eager_graph needs a CUDA device" in table
    assert "## kiln kernels" in table and "ref.linear" in table
    assert "| tiny_mlp |" in run.stdout  # the table is printed at the end too


def test_bench_resume_keeps_finished_rows(tmp_path):
    env = dict(os.environ)
    package_root = str(pathlib.Path(kiln.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([package_root, env.get("PYTHONPATH", "")])
    out = tmp_path / "results"
    base = [sys.executable, str(ROOT / "bench" / "run.py"), "--smoke", "--out", str(out)]

    def run(*extra):
        r = subprocess.run([*base, *extra], capture_output=True, text=True, env=env, timeout=120)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        return r.stdout, json.loads((out / "results.json").read_text())

    # A first call measures one model only; the resumed run keeps it and measures the other.
    _, first = run("--models", "tiny_mlp")
    stdout, second = run("--resume")
    assert "[tiny_mlp 32 features bs 4] kept from the earlier run" in stdout
    assert not any("tiny_cnn" in line and "kept" in line for line in stdout.splitlines())
    assert [r["model"] for r in second["rows"]] == ["tiny_mlp", "tiny_cnn"]
    assert second["rows"][0] == first["rows"][0]
    # Rows not asked for stay; an asked row lacking a baseline runs again with all of them.
    stdout, third = run("--resume", "--models", "tiny_cnn", "--baselines", "eager,kiln,kiln_no_graphs")
    assert "[tiny_mlp 32 features bs 4] kept from the earlier run" in stdout
    assert [r["model"] for r in third["rows"]] == ["tiny_mlp", "tiny_cnn"]
    assert third["rows"][0] == first["rows"][0]
    assert set(third["rows"][1]["baselines"]) == {"eager", "kiln", "kiln_no_graphs"}
    # A results.json from another card is refused.
    data = json.loads((out / "results.json").read_text())
    data["env"]["card"] = "some other card"
    (out / "results.json").write_text(json.dumps(data))
    r = subprocess.run([*base, "--resume"], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode != 0 and "was measured with card 'some other card'" in r.stderr


def test_suite_models_give_outputs_fp16_can_compare():
    """The suite's random-init models must give outputs that fp16 holds and that tell baselines
    apart: with the constructors' batch-norm statistics MobileNetV3's and EfficientNet's outputs
    were ~1e-10 (zeros in fp16, cosine NaN for every baseline), and ViT's zero-initialised head
    gave exact zeros. Transformers models return tuples (transformers 5's LM heads read
    .last_hidden_state, so config.return_dict=False broke them)."""
    import torch

    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import models
    finally:
        sys.path.pop(0)
    suite = {m.name: m for m in models.SUITE}
    torch.manual_seed(0)
    with torch.no_grad():
        for name in ("mobilenet_v3_large", "efficientnet_b0", "vit_b_16"):
            out = suite[name].build().eval()(torch.randn(1, 3, 224, 224))
            assert torch.isfinite(out).all(), name
            assert out.std() > 1e-3, f"{name}: output std {out.std():.3g}"
        ids = torch.randint(0, 50257, (1, 8))
        out = suite["gpt2"].build().eval()(ids)
        assert isinstance(out, tuple) and out[0].shape == (1, 8, 50257)
