"""The body of scripts/demo: torchvision resnet18 (random weights) compiled with kiln, checked
against eager PyTorch, its engine inspected, and both timed."""

import pathlib
import shutil
import statistics
import subprocess
import time

import torch
import torchvision

import kiln

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "build" / "demo"


def median_ms(fn, x, iters):
    fn(x)  # warm-up
    times = []
    for _ in range(iters):
        t = time.perf_counter()
        fn(x)
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    device = "cpu"  # the CUDA backend arrives with its issue; the reference backend runs anywhere
    torch.manual_seed(0)
    model = torchvision.models.resnet18().eval()
    spec = kiln.Input(min_shape=(1, 3, 224, 224), opt_shape=(4, 3, 224, 224),
                      max_shape=(8, 3, 224, 224), name="image")
    print(f"==> kiln.compile(resnet18, ir='dynamo', device={device!r}), batch 1..8")
    t = time.perf_counter()
    compiled = kiln.compile(model, ir="dynamo", inputs=[spec], device=device)
    print(f"compiled in {time.perf_counter() - t:.1f} s")
    print(compiled.kiln_report, end="")

    engines = [n for n in compiled.graph.nodes if n.target is torch.ops.kiln.execute_engine.default]
    engine_path = OUT / "resnet18.kiln"
    engine_path.write_bytes(getattr(compiled, engines[0].args[1].target).numpy().tobytes())
    cli = shutil.which("kiln")
    if cli:
        print(f"==> kiln inspect {engine_path.relative_to(ROOT)} (first lines)")
        text = subprocess.run([cli, "inspect", str(engine_path)], check=True, capture_output=True,
                              text=True).stdout
        print("\n".join(text.splitlines()[:14]))

    print("==> agreement with eager PyTorch (fp32)")
    with torch.no_grad():
        for batch in (1, 4, 8):
            x = torch.randn(batch, 3, 224, 224)
            got, want = compiled(x), model(x)
            cos = torch.nn.functional.cosine_similarity(got.double().flatten(),
                                                        want.double().flatten(), dim=0).item()
            err = (got - want).abs().max().item()
            same_top1 = (got.argmax(1) == want.argmax(1)).float().mean().item()
            print(f"batch {batch}: cosine {cos:.7f}  max-abs {err:.2e}  top-1 agreement "
                  f"{same_top1:.0%}")
            assert cos > 0.9999 and err < 1e-3, "kiln disagrees with eager"

    print(f"==> latency, batch 4, {device} (median of 5)")
    x = torch.randn(4, 3, 224, 224)
    with torch.no_grad():
        eager = median_ms(model, x, 5)
        ours = median_ms(compiled, x, 5)
    print(f"eager PyTorch: {eager:.1f} ms   kiln ({device} reference backend): {ours:.1f} ms")
    print("(the CPU backend defines kiln's numerics and is not tuned for speed; speed is the CUDA "
          "backend's job)")


if __name__ == "__main__":
    main()
