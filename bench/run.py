#!/usr/bin/env python3
"""kiln's benchmark suite (../shared/BENCHMARKS.md): every (model, shape) row runs every baseline in
this one process on this one card, and the results go to results.json, results.md and results.png
under --out. See bench/README.md for what is measured and how.

    python3 bench/run.py [--models resnet50,bert-base] [--batches 1,32] [--baselines eager,kiln]
                         [--out DIR] [--iters 50] [--warmup 10] [--time-budget SECONDS]
    python3 bench/run.py --smoke --out /tmp/smoke     # tiny models on the CPU: eager and kiln
    python3 bench/run.py --replot DIR                 # rewrite results.md/png from results.json
    python3 bench/run.py --out DIR --resume           # go on with DIR's run: finished rows stay

--resume lets one run of the whole suite span several machine sessions (the GPU machine gives at
most 10 minutes a command): rows of DIR's results.json that have every asked baseline measured are
kept, asked rows without them run (all their baselines again, side by side), and rows not asked
for this time stay as they were. It refuses a DIR measured on another card or torch version, since
each row's speed-ups compare baselines timed on one card.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import gc
import json
import math
import pathlib
import platform
import re
import statistics
import subprocess
import sys
import time
import traceback

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import models  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
BASELINES = ["eager", "eager_graph", "compile_default", "compile_reduce_overhead",
             "compile_max_autotune", "kiln", "kiln_no_graphs"]
LABELS = {"eager": "eager", "eager_graph": "eager+graph", "compile_default": "compile",
          "compile_reduce_overhead": "reduce-overhead", "compile_max_autotune": "max-autotune",
          "kiln": "kiln", "kiln_no_graphs": "kiln (no graphs)"}
COMPILE_MODES = {"compile_default": None, "compile_reduce_overhead": "reduce-overhead",
                 "compile_max_autotune": "max-autotune"}
EXPENSIVE = set(COMPILE_MODES)  # skipped once --time-budget is spent
MIN_COSINE = {torch.float32: 0.9999, torch.float16: 0.999, torch.bfloat16: 0.99}
SKIPPED = "skipped (time budget)"


# ---------------------------------------------------------------------------------------------
# Building each baseline: returns (call, info) where call() runs one forward on the fixed inputs.

def build(baseline: str, model: torch.nn.Module, inputs: tuple, device: torch.device):
    """One baseline's callable on the pre-allocated inputs, plus facts about it (kiln's report)."""
    if baseline == "eager":
        return lambda: model(*inputs), {}
    if baseline == "eager_graph":
        return _eager_graph(model, inputs, device), {}
    if baseline in COMPILE_MODES:
        torch._dynamo.reset()
        fn = torch.compile(model, mode=COMPILE_MODES[baseline])
        if COMPILE_MODES[baseline] is None:
            return lambda: fn(*inputs), {}

        def call():  # CUDA-graph modes: each call is a new step (outputs may be overwritten)
            torch.compiler.cudagraph_mark_step_begin()
            return fn(*inputs)

        return call, {}
    if baseline in ("kiln", "kiln_no_graphs"):
        import kiln

        kiln.runtime.set_cudagraphs_mode(None)  # follow each engine's own use_cuda_graphs
        gm = kiln.compile(model, ir="dynamo", inputs=list(inputs),
                          use_cuda_graphs=baseline == "kiln")
        report = getattr(gm, "kiln_report", "") or ""
        # The compiled module keeps its weights inside its engines (uploaded once per device), not
        # the model's parameters: its peak memory counts the inputs, not the eager model's weights.
        held = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes()
                for t in [*gm.parameters(), *gm.buffers()] if t.device.type != "cpu"}
        return lambda: gm(*inputs), {"kiln_report": report, "held_mb": sum(held.values()) / 2**20}
    raise ValueError(f"unknown baseline {baseline!r}; choose from {', '.join(BASELINES)}")


def _eager_graph(model, inputs, device):
    """Eager captured whole in one torch.cuda.CUDAGraph (warm-up on a side stream; the inputs
    are already static buffers)."""
    if device.type != "cuda":
        raise RuntimeError("eager_graph needs a CUDA device (CUDA graphs)")
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            model(*inputs)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        out = model(*inputs)

    def call():
        graph.replay()
        return out

    call.graph = graph  # keep the graph (and its pool) alive with the callable
    return call


def _engine_keys() -> set:
    from kiln.runtime import _execute_engine

    return set(_execute_engine._ENGINES)


def _kernel_counts(keys: set) -> dict:
    """How many nodes of the engines loaded since `keys` run on each kernel (constants aside),
    most first: where a row's time can go (cuda.conv and cuda.attention are the generic
    fallbacks)."""
    from kiln.runtime import _execute_engine

    counts: dict = {}
    for key in set(_execute_engine._ENGINES) - keys:
        for op, kernel, _, _ in _execute_engine._ENGINES[key].engine.nodes:
            if op != "constant":
                counts[kernel] = counts.get(kernel, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _release_engines(keys: set) -> None:
    """Drops engines deserialized since `keys` from kiln's process-wide cache, so their device
    weights and arenas are freed before the next baseline."""
    from kiln.runtime import _execute_engine

    with _execute_engine._ENGINES_LOCK:
        for key in set(_execute_engine._ENGINES) - keys:
            del _execute_engine._ENGINES[key]


# ---------------------------------------------------------------------------------------------
# Measuring.

def first_tensor(out) -> torch.Tensor:
    """The first tensor of a model output (tensor, tuple/list, dict or ModelOutput)."""
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, (list, tuple)) and out:
        return first_tensor(out[0])
    raise TypeError(f"no tensor in the model output ({type(out).__name__})")


def agreement(ref: torch.Tensor, out) -> dict:
    """Cosine similarity and max-abs error of the first output tensor against eager's, in fp32."""
    got = first_tensor(out).detach().float()
    if got.shape != ref.shape:
        return {"cosine": None, "max_abs": None,
                "problem": f"output shape {list(got.shape)}, eager's {list(ref.shape)}"}
    finite = bool(torch.isfinite(got).all())
    a, b = got.flatten(), ref.flatten()
    denom = float(a.norm() * b.norm())
    cos = float(torch.dot(a, b)) / denom if denom > 0 else float("nan")
    result = {"cosine": cos, "max_abs": float((a - b).abs().max())}
    if not finite:
        result["problem"] = "output has NaN or Inf"
    return result


def time_calls(call, iters: int, cuda: bool) -> list[float]:
    """Milliseconds per call: CUDA events around each call on the current stream (CPU: a clock)."""
    if not cuda:
        times = []
        for _ in range(iters):
            t = time.perf_counter()
            call()
            times.append((time.perf_counter() - t) * 1e3)
        return times
    events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
              for _ in range(iters)]
    for start, end in events:
        start.record()
        call()
        end.record()
    torch.cuda.synchronize()
    return [start.elapsed_time(end) for start, end in events]


def _sync(cuda: bool) -> None:
    if cuda:
        torch.cuda.synchronize()


def _outside_torch_bytes() -> int:
    """Device memory in use that torch's caching allocator does not hold (kiln's own arena and
    weights, library handles, graph executables)."""
    free, total = torch.cuda.mem_get_info()
    return total - free - torch.cuda.memory_reserved()


def _free_memory(cuda: bool) -> None:
    gc.collect()
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.empty_cache()


class _TinyAttention(torch.nn.Module):
    """One attention block: linear q/k/v, flash attention, linear out."""

    def __init__(self):
        super().__init__()
        self.qkv = torch.nn.Linear(64, 192)
        self.out = torch.nn.Linear(64, 64)

    def forward(self, x):
        q, k, v = self.qkv(x).view(x.shape[0], x.shape[1], 3, 4, 16).permute(2, 0, 3, 1, 4)
        y = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.out(y.transpose(1, 2).reshape(x.shape[0], x.shape[1], 64))


def warm_up_process(device: torch.device, smoke: bool) -> None:
    """Pays the process's one-time costs before the first row: library handles and workspaces,
    lazily loaded kernels, CUDA graph machinery, for eager and kiln alike (a small CNN, an MLP and an
    attention block, in the suite's dtype). Without it the first row of each process was charged
    them, it seems: on the H100 rows of 2026-11-27, kiln with graphs showed 10 to 14 MiB more memory
    outside torch's allocator than kiln without graphs (which runs after it) on a process's first
    row, and 0 to 2 MiB more on later rows."""
    import kiln

    keys = _engine_keys()
    dtype = torch.float32 if smoke else torch.float16
    cases = []
    for spec in models.SMOKE:  # the smoke suite's CNN and MLP, in the suite's dtype
        spec = dataclasses.replace(spec, dtype=dtype)
        batch, size = spec.shapes[0]
        cases.append(prepare(spec, batch, size, device))
    cases.append((_TinyAttention().to(device=device, dtype=dtype).eval(),
                  (torch.randn(2, 8, 64, device=device, dtype=dtype),)))
    with torch.inference_mode():
        for model, x in cases:
            try:
                model(*x)
                for graphs in (True, False):
                    gm = kiln.compile(model, ir="dynamo", inputs=list(x), use_cuda_graphs=graphs)
                    gm(*x)
                    gm(*x)
                    del gm
            except Exception as e:  # noqa: BLE001 (the rows still run, and still show errors)
                print(f"warning: process warm-up with {type(model).__name__} failed: "
                      f"{type(e).__name__}: {str(e).strip()[:300]}", flush=True)
    _release_engines(keys)
    _free_memory(device.type == "cuda")


def run_baseline(baseline, model, inputs, ref, row, args, device) -> dict:
    """Builds, warms up, checks against eager, then times one baseline. Never raises."""
    cuda = device.type == "cuda"
    rec: dict = {"status": "error"}
    call = info = None
    keys = _engine_keys() if baseline.startswith("kiln") else None
    _free_memory(cuda)
    try:
        if cuda:
            alloc0, outside0 = torch.cuda.memory_allocated(), _outside_torch_bytes()
            reserved0 = torch.cuda.memory_reserved()
            torch.cuda.reset_peak_memory_stats()
        # 1. Build (torch.compile compiles lazily: its first call is part of the build).
        t0 = time.perf_counter()
        call, info = build(baseline, model, inputs, device)
        call()
        _sync(cuda)
        rec["build_s"] = time.perf_counter() - t0
        rec.update(info)
        if keys is not None:
            rec["kernels"] = _kernel_counts(keys)
        # What the callable needs resident: the model and inputs, or for a kiln module the inputs
        # and whatever of the model's device tensors it still holds (its weights are in engines).
        resident_mb = row["resident_mb"]
        if "held_mb" in info:
            resident_mb = row["inputs_mb"] + info["held_mb"]
        # 2. Warm up.
        for _ in range(args.warmup):
            call()
        _sync(cuda)
        peak_build = torch.cuda.max_memory_allocated() if cuda else 0
        reserved_build = torch.cuda.max_memory_reserved() if cuda else 0
        # 3. Check against eager before timing (outside the memory measurement).
        rec.update(agreement(ref, call()))
        cos = rec["cosine"]
        if "problem" not in rec and not (cos is not None and cos >= MIN_COSINE[ref_dtype(model)]):
            rec["problem"] = f"cosine {cos} below {MIN_COSINE[ref_dtype(model)]}"
        _free_memory(cuda)
        # 4. Time (a disagreeing baseline is still timed, but marked and never used in ratios).
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        times = time_calls(call, args.iters, cuda)
        rec.update(_stats(times))
        if getattr(args, "profile", False) and baseline == "kiln" and cuda:
            import kiln

            print(kiln.runtime.profile(call), flush=True)
        if cuda:
            peak_run = torch.cuda.max_memory_allocated()
            rec["peak_run_alloc_mb"] = (resident_mb * 2**20 + peak_run - alloc0) / 2**20
            peak = max(peak_build, peak_run)
            rec["peak_alloc_mb"] = (resident_mb * 2**20 + peak - alloc0) / 2**20
            rec["outside_torch_mb"] = (_outside_torch_bytes() - outside0) / 2**20
            rec["peak_mb"] = rec["peak_alloc_mb"] + max(0.0, rec["outside_torch_mb"])
            reserved = max(reserved_build, torch.cuda.max_memory_reserved())
            rec["peak_reserved_mb"] = (resident_mb * 2**20 + reserved - reserved0) / 2**20
        rec["status"] = "mismatch" if "problem" in rec else "ok"
    except Exception as e:  # noqa: BLE001 - every failure is a result to report
        rec["error"] = f"{type(e).__name__}: {str(e).strip()[:1000]}"
        rec["traceback"] = traceback.format_exc()[-6000:]
    finally:
        del call, info
        if keys is not None:
            _release_engines(keys)
        if baseline in COMPILE_MODES:
            torch._dynamo.reset()
        _free_memory(cuda)
    return rec


def ref_dtype(model: torch.nn.Module) -> torch.dtype:
    return next(model.parameters()).dtype


def _stats(times: list[float]) -> dict:
    s = sorted(times)
    return {"median_ms": statistics.median(s), "p90_ms": s[max(0, math.ceil(0.9 * len(s)) - 1)],
            "mean_ms": statistics.fmean(s), "min_ms": s[0], "times_ms": times}


# ---------------------------------------------------------------------------------------------
# One row, then the whole run.

def prepare(spec: models.Model, batch: int, size: int, device: torch.device):
    """(model, inputs) of one row: built on the device in the spec's dtype, eval(), channels_last
    where the spec says."""
    with torch.device(device):
        model = spec.build()
    model = model.to(device=device, dtype=spec.dtype).eval()
    if spec.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model, spec.inputs(batch, size, device)


def run_row(spec: models.Model, label: str, batch: int, size: int, baselines, args, device,
            deadline: float) -> dict:
    row = {"model": spec.name, "shape": label, "batch": batch, "size": size,
           "dtype": str(spec.dtype).replace("torch.", ""), "baselines": {}}
    cuda = device.type == "cuda"
    try:
        torch.manual_seed(0)
        model, inputs = prepare(spec, batch, size, device)
        resident = sum(t.numel() * t.element_size()
                       for t in [*model.parameters(), *model.buffers(), *inputs])
        row["resident_mb"] = resident / 2**20
        row["inputs_mb"] = sum(t.numel() * t.element_size() for t in inputs) / 2**20
        with torch.inference_mode():
            ref = first_tensor(model(*inputs)).detach().float().clone()
        _sync(cuda)
    except Exception as e:  # noqa: BLE001
        row["error"] = f"{type(e).__name__}: {str(e).strip()[:1000]}"
        row["traceback"] = traceback.format_exc()[-6000:]
        print(f"[{spec.name} {label}] could not build the model: {row['error']}", flush=True)
        return row
    for baseline in baselines:
        if baseline in EXPENSIVE and time.monotonic() > deadline:
            rec = {"status": SKIPPED}
        else:
            with torch.inference_mode():  # the model and inputs are ordinary tensors
                rec = run_baseline(baseline, model, inputs, ref, row, args, device)
        row["baselines"][baseline] = rec
        print(f"[{spec.name} {label}] {LABELS[baseline]}: {_describe(rec)}", flush=True)
    report = _keep_raw(row, args.raw_dir)
    if report:
        row["coverage"] = report.splitlines()[0]
        m = re.search(r"coverage ([\d.]+)%", row["coverage"])
        row["coverage_pct"] = float(m.group(1)) if m else None
    row.update(_speedups(row))
    del model, inputs, ref
    _free_memory(cuda)
    return row


def _keep_raw(row: dict, raw: pathlib.Path) -> str | None:
    """Moves kiln's full reports and tracebacks into raw/ (git-ignored); keeps the first report
    line and the summary of ops left to PyTorch in the row. Returns kiln's report."""
    report = None
    stem = _slug(f"{row['model']}-{row['shape']}")
    for b, rec in row["baselines"].items():
        for key in ("kiln_report", "traceback"):
            if rec.get(key):
                raw.mkdir(parents=True, exist_ok=True)
                (raw / f"{stem}-{b}-{key}.txt").write_text(rec[key])
        text = rec.pop("kiln_report", None)
        rec.pop("traceback", None)
        if text:
            report = report or text
            rec["kiln_coverage"] = text.splitlines()[0]
            left = text.split("Ops left to PyTorch:", 1)
            if len(left) == 2:
                rec["kiln_ops_left"] = [ln.strip() for ln in left[1].splitlines() if ln.strip()]
    return report


def _describe(rec: dict) -> str:
    if "median_ms" not in rec:
        return rec.get("error", rec["status"])
    text = (f"{rec['median_ms']:.3f} ms (p90 {rec['p90_ms']:.3f}), build {rec['build_s']:.1f} s, "
            f"cosine {rec['cosine']:.6f}, max-abs {rec['max_abs']:.3g}")
    if "peak_mb" in rec:
        text += f", peak {rec['peak_mb']:.0f} MiB"
    return text + (f"  MISMATCH: {rec['problem']}" if rec["status"] == "mismatch" else "")


def _speedups(row: dict) -> dict:
    """kiln's speed-up over the best torch.compile mode that ran and agreed with eager."""
    ok = {b: r["median_ms"] for b, r in row["baselines"].items() if r["status"] == "ok"}
    compiled = {b: ms for b, ms in ok.items() if b in COMPILE_MODES}
    out = {}
    if compiled:
        best = min(compiled, key=compiled.get)
        out.update(best_compile=best, best_compile_ms=compiled[best])
        for b in ("kiln", "kiln_no_graphs", "eager_graph"):
            if b in ok:
                out[f"{b}_speedup"] = compiled[best] / ok[b]
    return out


def environment(device: torch.device, commit: str | None) -> dict:
    env = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "python": platform.python_version(), "torch": torch.__version__,
           "cuda": torch.version.cuda, "device": str(device), "host": platform.node()}
    for name in ("torchvision", "transformers"):
        try:
            env[name] = __import__(name).__version__
        except Exception:  # noqa: BLE001
            env[name] = None
    if device.type == "cuda":
        env["card"] = torch.cuda.get_device_name(device)
        env["cudnn"] = torch.backends.cudnn.version()
        env["cudnn_benchmark"] = torch.backends.cudnn.benchmark
        smi = _cmd(["nvidia-smi", "--query-gpu=name,driver_version,memory.total",
                    "--format=csv,noheader", f"--id={device.index or 0}"])
        if smi:
            env["card"], env["driver"], env["card_memory"] = [s.strip() for s in smi.split(",")]
    else:
        env["card"] = f"cpu ({platform.processor() or platform.machine()})"
    env["git_commit"] = commit or _cmd(["git", "-C", str(ROOT), "rev-parse", "HEAD"]) or "unknown"
    dirty = _cmd(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"])
    env["git_dirty"] = bool(dirty) if dirty is not None else None
    return env


def _cmd(argv: list[str]) -> str | None:
    try:
        run = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return run.stdout.strip() if run.returncode == 0 else None


# ---------------------------------------------------------------------------------------------
# Output: results.json, results.md, results.png.

def _cell(rec: dict | None) -> str:
    if rec is None:
        return "—"
    if "median_ms" in rec:
        return f"{rec['median_ms']:.3f}" + (" ✗" if rec["status"] == "mismatch" else "")
    return SKIPPED if rec["status"] == SKIPPED else "error"


def markdown(result: dict) -> str:
    env, rows = result["env"], result["rows"]
    # Every baseline some row has (a resumed run's rows may have asked for different ones).
    baselines = [b for b in BASELINES if any(b in r["baselines"] for r in rows)]
    # A resumed folder's rows may come from several commits: each row records its own.
    commits = sorted({r.get("git_commit", env["git_commit"])[:12] for r in rows})
    commit = (f"commit {env['git_commit'][:12]}{' (dirty)' if env.get('git_dirty') else ''}"
              if len(commits) <= 1 else f"commits {', '.join(commits)} (each row's git_commit)")
    lines = [f"# kiln benchmark: {env['card']}, {env['date']}", "",
             f"torch {env['torch']}, CUDA {env.get('cuda')}, driver {env.get('driver', '—')}, "
             f"{commit}; "
             f"median of {result['config']['iters']} calls after {result['config']['warmup']} "
             "warm-up calls, ms per batch. Speed-up: best torch.compile mode's median / kiln's "
             "(> 1: kiln faster). ✗: output disagrees with eager (never used in a speed-up).", "",
             "| model | shape | " + " | ".join(LABELS[b] for b in baselines)
             + " | kiln speed-up | coverage | kiln cosine |",
             "|---|---|" + "---:|" * len(baselines) + "---:|---|---:|"]
    for row in rows:
        recs = row["baselines"]
        speedup = row.get("kiln_speedup")
        cos = (recs.get("kiln") or recs.get("kiln_no_graphs") or {}).get("cosine")
        coverage = f"{row['coverage_pct']}%" if row.get("coverage_pct") is not None else "—"
        lines.append(f"| {row['model']} | {row['shape']} | "
                     + " | ".join(_cell(recs.get(b)) for b in baselines)
                     + f" | {f'{speedup:.2f}×' if speedup else '—'} | {coverage}"
                     + f" | {f'{cos:.6f}' if cos is not None else '—'} |")
    geo = result.get("geomean_kiln_speedup")
    if geo:
        lines += ["", f"Geomean kiln speed-up over the best torch.compile mode: {geo:.2f}× "
                      f"({result['geomean_rows']} rows)."]
    lines += ["", "## Build seconds / peak GPU memory (MiB) / p90 ms", "",
              "| model | shape | " + " | ".join(LABELS[b] for b in baselines) + " |",
              "|---|---|" + "---:|" * len(baselines)]
    for row in rows:
        cells = []
        for b in baselines:
            r = row["baselines"].get(b, {})
            if "median_ms" not in r:
                cells.append("—")
                continue
            mem = f"{r['peak_mb']:.0f}" if "peak_mb" in r else "—"
            cells.append(f"{r['build_s']:.1f} s / {mem} / {r['p90_ms']:.3f}")
        lines.append(f"| {row['model']} | {row['shape']} | " + " | ".join(cells) + " |")
    above = []  # kiln's peak memory against eager's (the issue asks for no more)
    for row in rows:
        eager, ours = (row["baselines"].get(b, {}).get("peak_mb") for b in ("eager", "kiln"))
        if eager is not None and ours is not None and ours > eager:
            above.append(f"{row['model']} {row['shape']} +{ours - eager:.1f} MiB")
    if any("peak_mb" in r["baselines"].get("kiln", {}) for r in rows):
        lines += ["", "kiln's peak memory (CUDA graphs on) above eager's: "
                  + ("; ".join(above) if above else "none") + "."]
    notes = [f"- {row['model']} {row['shape']}: model: {row['error']}" for row in rows
             if "error" in row]
    for row in rows:
        for b, r in row["baselines"].items():
            if r["status"] in ("error", "mismatch"):
                notes.append(f"- {row['model']} {row['shape']} {LABELS[b]}: "
                             f"{r.get('error') or r.get('problem')}".replace("\n", " "))
    if notes:
        lines += ["", "## Errors and mismatches", "", *notes]
    coverage = [f"- {row['model']} {row['shape']}: {row['coverage']}" for row in rows
                if "coverage" in row]
    if coverage:
        lines += ["", "## kiln coverage", "", *coverage]
    kernels = [f"- {row['model']} {row['shape']}: "
               + ", ".join(f"{k} {n}" for k, n in row["baselines"]["kiln"]["kernels"].items())
               for row in rows if row["baselines"].get("kiln", {}).get("kernels")]
    if kernels:
        lines += ["", "## kiln kernels (nodes per kernel)", "", *kernels]
    lines += ["", result.get("plot_note", "")]
    return "\n".join(lines).rstrip() + "\n"


def plot(result: dict, path: pathlib.Path) -> str:
    """A bar chart of speed-ups over the best torch.compile mode per row; returns a note."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return ("results.png: not drawn (matplotlib is not importable here); "
                "`python3 bench/run.py --replot DIR` draws it where matplotlib is.")
    rows = result["rows"]
    series = [b for b in ("kiln", "kiln_no_graphs", "eager_graph")
              if any(f"{b}_speedup" in r for r in rows)]
    if not series:
        return "results.png: not drawn (no row has a torch.compile baseline to compare with)."
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(rows) + 2), 4.5))
    width = 0.8 / len(series)
    for i, b in enumerate(series):
        xs = [j + (i - (len(series) - 1) / 2) * width for j in range(len(rows))]
        ax.bar(xs, [r.get(f"{b}_speedup", 0.0) for r in rows], width, label=LABELS[b])
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(rows)), [f"{r['model']}\n{r['shape']}" for r in rows], fontsize=7,
                  rotation=30, ha="right")
    ax.set_ylabel("speed-up over best torch.compile mode")
    ax.set_title(f"kiln, {result['env']['card']}, {result['env']['date'][:10]}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return "results.png: speed-up per row over the best torch.compile mode."


def write(result: dict, out: pathlib.Path, final: bool) -> str:
    """Writes results.json (every number) and results.md; the PNG only at the end."""
    speedups = [r["kiln_speedup"] for r in result["rows"] if r.get("kiln_speedup")]
    if speedups:
        result["geomean_kiln_speedup"] = math.exp(statistics.fmean(map(math.log, speedups)))
        result["geomean_rows"] = len(speedups)
    if final:
        result["plot_note"] = plot(result, out / "results.png")
    (out / "results.json").write_text(json.dumps(result, indent=1, default=str) + "\n")
    table = markdown(result)
    (out / "results.md").write_text(table)
    return table


def previous_rows(out: pathlib.Path, env: dict) -> dict:
    """--resume: (model, shape) -> row of out/results.json; none if there is no file yet."""
    path = out / "results.json"
    if not path.exists():
        return {}
    old = json.loads(path.read_text())
    for key in ("card", "torch"):
        if old.get("env", {}).get(key) != env[key]:
            raise SystemExit(f"--resume: {path} was measured with {key} "
                             f"{old.get('env', {}).get(key)!r}, this run has {env[key]!r}; give "
                             "another --out")
    return {(row["model"], row["shape"]): row for row in old.get("rows", [])}


def finished(row: dict, baselines: list[str]) -> bool:
    """Whether every baseline in `baselines` finished in `row` (measured, or failed with its
    error): --resume keeps such a row instead of running it again."""
    recs = row.get("baselines", {})
    return "error" not in row and all(b in recs and recs[b].get("status") != SKIPPED
                                      for b in baselines)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--models", help="comma-separated (default: all of the suite)")
    p.add_argument("--batches", help="comma-separated batch sizes to keep (default: all)")
    p.add_argument("--baselines", help=f"comma-separated of {','.join(BASELINES)}")
    p.add_argument("--out", help="output folder (default: bench/results/<date>-<card>)")
    p.add_argument("--iters", type=int, help="timed calls per baseline (default 50; smoke 3)")
    p.add_argument("--warmup", type=int, help="warm-up calls after the build (default 10; smoke 1)")
    p.add_argument("--time-budget", type=float, default=math.inf,
                   help="seconds; once spent, torch.compile baselines are skipped")
    p.add_argument("--smoke", action="store_true", help="tiny models on the CPU (tests the logic)")
    p.add_argument("--profile", action="store_true",
                   help="print kiln's per-kernel GPU time (kiln.runtime.profile) after timing it")
    p.add_argument("--commit", help="git commit to record (where the checkout has no .git)")
    p.add_argument("--replot", metavar="DIR", help="rewrite DIR's results.md/png from its json")
    p.add_argument("--resume", action="store_true",
                   help="keep --out's finished rows (same card and torch) and run the rest")
    args = p.parse_args(argv)

    if args.replot:
        out = pathlib.Path(args.replot)
        print(write(json.loads((out / "results.json").read_text()), out, final=True))
        return 0
    start = time.monotonic()
    suite = models.SMOKE if args.smoke else models.SUITE
    by_name = {m.name: m for m in suite}
    names = args.models.split(",") if args.models else list(by_name)
    baselines = (args.baselines.split(",") if args.baselines
                 else ["eager", "kiln"] if args.smoke else BASELINES)
    unknown = [n for n in names if n not in by_name] + [b for b in baselines if b not in LABELS]
    if unknown:
        p.error(f"unknown {unknown}; models: {', '.join(by_name)}; baselines: "
                f"{', '.join(BASELINES)}")
    batches = {int(b) for b in args.batches.split(",")} if args.batches else None
    args.iters = args.iters or (3 if args.smoke else 50)
    args.warmup = args.warmup if args.warmup is not None else (1 if args.smoke else 10)
    if args.iters < 1 or (not args.smoke and args.iters < 50):
        print(f"warning: --iters {args.iters}: the suite's rule is >= 50 timed calls", flush=True)

    if args.smoke:
        device = torch.device("cpu")
        torch.set_num_threads(1)  # tiny ops: threads only contend on a shared CI machine
    elif not torch.cuda.is_available():
        p.error("no CUDA device here; use --smoke for the CPU smoke mode")
    else:
        device = torch.device("cuda", torch.cuda.current_device())
        torch.backends.cudnn.benchmark = True  # the fair setting for eager and torch.compile
    env = environment(device, args.commit)
    day = env["date"][:10]
    card = "cpu-smoke" if args.smoke else _slug(env["card"].replace("NVIDIA", ""))
    out = pathlib.Path(args.out or ROOT / "bench" / "results" / f"{day}-{card}")
    out.mkdir(parents=True, exist_ok=True)
    args.raw_dir = out / "raw"
    print(f"{env['card']} | torch {env['torch']} | commit {env['git_commit'][:12]} | out {out}",
          flush=True)
    config = {"models": names, "batches": sorted(batches) if batches else None,
              "baselines": baselines, "iters": args.iters, "warmup": args.warmup,
              "time_budget_s": None if math.isinf(args.time_budget) else args.time_budget,
              "smoke": args.smoke, "argv": sys.argv[1:]}
    result = {"env": env, "config": config, "rows": []}
    # --resume keeps the earlier run's rows that this run does not ask for, and those it asks for
    # whose every asked baseline finished; it runs the rest, in the suite's order.
    previous = previous_rows(out, env) if args.resume else {}
    deadline = start + args.time_budget
    warm_up_process(device, args.smoke)
    config["process_warmup"] = True
    for spec in suite:
        for label, batch, size in spec.rows():
            asked = spec.name in names and (batches is None or batch in batches)
            row = previous.get((spec.name, label))
            if asked and (row is None or not finished(row, baselines)):
                row = run_row(spec, label, batch, size, baselines, args, device, deadline)
                row["git_commit"] = env["git_commit"]  # a resumed folder may mix commits
            elif row is None:
                continue
            else:
                print(f"[{spec.name} {label}] kept from the earlier run", flush=True)
            result["rows"].append(row)
            # A killed run keeps the rows it finished, and the earlier rows it has not reached.
            seen = {(r["model"], r["shape"]) for r in result["rows"]}
            later = [r for key, r in previous.items() if key not in seen]
            write({**result, "rows": result["rows"] + later}, out, final=False)
    result["total_s"] = time.monotonic() - start
    print(write(result, out, final=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
