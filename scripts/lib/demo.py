"""The body of scripts/demo: a conv + MLP block in kiln IR, compiled, inspected and run, checked
against numpy."""

import math
import pathlib
import shutil
import subprocess
import time

import numpy as np

import kiln

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "build" / "demo"


def tensor_text(name: str, a: np.ndarray) -> str:
    shape = ", ".join(str(d) for d in a.shape)
    data = ", ".join(repr(float(v)) for v in a.astype(np.float32).ravel())
    return (f"  %{name} = constant {{dtype=f32, shape=[{shape}], data=[{data}]}}"
            f" : f32[{shape}]\n")


def model(rng: np.random.Generator) -> tuple[str, dict[str, np.ndarray]]:
    w = {
        "conv_w": rng.normal(0, 0.3, (8, 3, 3, 3)), "conv_b": rng.normal(0, 0.1, 8),
        "bn_mean": rng.normal(0, 0.1, 8), "bn_var": rng.uniform(0.5, 1.5, 8),
        "bn_w": rng.uniform(0.5, 1.5, 8), "bn_b": rng.normal(0, 0.1, 8),
        "fc1_w": rng.normal(0, 0.05, (64, 512)), "fc1_b": rng.normal(0, 0.1, 64),
        "fc2_w": rng.normal(0, 0.2, (10, 64)), "fc2_b": rng.normal(0, 0.1, 10),
    }
    w = {k: v.astype(np.float32) for k, v in w.items()}
    text = "graph @conv_mlp_demo {\n  symbol batch in [1, 32] opt 8\n"
    text += "  input %x : f32[batch, 3, 16, 16]\n"
    text += "".join(tensor_text(k, v) for k, v in w.items())
    text += """\
  %0 = conv(%x, %conv_w, %conv_b) {stride=[1, 1], padding=[1, 1], dilation=[1, 1], groups=1}
  %1 = batch_norm(%0, %bn_mean, %bn_var, %bn_w, %bn_b) {eps=1e-05}
  %2 = relu(%1)
  %3 = max_pool(%2) {kernel=[2, 2], stride=[2, 2], padding=[0, 0], dilation=[1, 1]}
  %4 = reshape(%3) {shape=[batch, 512]}
  %5 = linear(%4, %fc1_w, %fc1_b)
  %6 = gelu(%5)
  %7 = linear(%6, %fc2_w, %fc2_b)
  %probs = softmax(%7) {axis=-1}
  return %probs
}
"""
    return text, w


def numpy_reference(x: np.ndarray, w: dict[str, np.ndarray]) -> np.ndarray:
    x64 = {k: v.astype(np.float64) for k, v in w.items()}
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(2, 3))
    y = np.einsum("bchwij,ocij->bohw", win, x64["conv_w"]) + x64["conv_b"][None, :, None, None]
    c = (slice(None), None, None)
    y = (y - x64["bn_mean"][c]) / np.sqrt(x64["bn_var"][c] + 1e-5) * x64["bn_w"][c] + x64["bn_b"][c]
    y = np.maximum(y, 0)
    b = y.shape[0]
    y = y.reshape(b, 8, 8, 2, 8, 2).max(axis=(3, 5)).reshape(b, 512)
    y = y @ x64["fc1_w"].T + x64["fc1_b"]
    y = 0.5 * y * (1 + np.vectorize(math.erf)(y / math.sqrt(2)))
    y = y @ x64["fc2_w"].T + x64["fc2_b"]
    y = np.exp(y - y.max(axis=-1, keepdims=True))
    return y / y.sum(axis=-1, keepdims=True)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    text, weights = model(rng)
    ir_path = OUT / "conv_mlp_demo.ir"
    ir_path.write_text(text)

    t0 = time.perf_counter()
    engine_bytes = kiln.build_engine(text)
    build_s = time.perf_counter() - t0
    engine_path = OUT / "conv_mlp_demo.kiln"
    engine_path.write_bytes(engine_bytes)
    print(f"built {engine_path.relative_to(ROOT)} ({len(engine_bytes)} bytes) in {build_s:.3f} s")

    cli = shutil.which("kiln")
    subprocess.run([cli, "inspect", str(engine_path)], check=True)

    engine = kiln.Engine(engine_bytes)
    print("\nagreement with an independent numpy implementation (float64):")
    for batch in (1, 8, 32):
        x = rng.uniform(-1, 1, (batch, 3, 16, 16)).astype(np.float32)
        (got,) = engine(x)
        want = numpy_reference(x, weights)
        err = float(np.abs(got - want).max())
        g = got.astype(np.float64).ravel()
        cos = float(g @ want.ravel() / np.linalg.norm(g) / np.linalg.norm(want))
        print(f"  batch {batch:2d}: max-abs error {err:.2e}, cosine {cos:.8f}")
        assert err < 1e-5, "kiln disagrees with numpy"

    x = rng.uniform(-1, 1, (8, 3, 16, 16)).astype(np.float32)
    for _ in range(5):
        engine(x)
    times = []
    for _ in range(50):
        t0 = time.perf_counter()
        engine(x)
        times.append(time.perf_counter() - t0)
    times.sort()
    print(f"\nlatency, batch 8, CPU reference backend: median {1e3 * times[25]:.3f} ms, "
          f"p90 {1e3 * times[45]:.3f} ms")
    print("\nthe same through the CLI:")
    subprocess.run([cli, "run", str(engine_path), "--shapes", "x:8x3x16x16", "--iters", "50"],
                   check=True)


if __name__ == "__main__":
    main()
