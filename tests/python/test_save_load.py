"""kiln.save -> kiln.load in a fresh process -> the same outputs, static and dynamic (min/opt/max)."""

import os
import subprocess
import sys
import textwrap

import torch

import kiln


class TwoOutputs(torch.nn.Module):
    def forward(self, x, y):
        return (x + y * 2).exp() - x / 3, torch.where(x > y, x, y).neg()


def load_and_run(path, inputs_path, outputs_path):
    """Runs kiln.load + the module in a fresh interpreter; returns what it wrote."""
    code = textwrap.dedent(f"""
        import torch, kiln
        program = kiln.load({str(path)!r})
        cases = torch.load({str(inputs_path)!r})
        torch.save([program.module()(*xs) for xs in cases], {str(outputs_path)!r})
    """)
    env = dict(os.environ)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    return torch.load(outputs_path)


def check_round_trip(tmp_path, gm, module, cases):
    path = tmp_path / "model.pt2"
    kiln.save(gm, path)
    torch.save(cases, tmp_path / "in.pt")
    got = load_and_run(path, tmp_path / "in.pt", tmp_path / "out.pt")
    for xs, outs in zip(cases, got):
        want = module(*xs)
        for a, b in zip(outs, want):
            torch.testing.assert_close(a, b)


def test_static_round_trip(tmp_path):
    x, y = torch.randn(3, 4), torch.randn(3, 4)
    m = TwoOutputs()
    gm = kiln.compile(m, inputs=[x, y], min_block_size=1)
    check_round_trip(tmp_path, gm, m, [(x, y)])


def test_dynamic_round_trip_at_min_opt_max(tmp_path):
    spec = kiln.Input(min_shape=(1, 4), opt_shape=(3, 4), max_shape=(8, 4), shared_dims={0: "batch"})
    m = TwoOutputs()
    gm = kiln.compile(m, inputs=[spec, spec], min_block_size=1)
    cases = [(torch.randn(n, 4), torch.randn(n, 4)) for n in (1, 3, 8)]
    check_round_trip(tmp_path, gm, m, cases)


def test_saved_program_keeps_engines_not_weights(tmp_path):
    lin = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 8))
    x = torch.randn(2, 64)
    gm = kiln.compile(lin.eval(), inputs=[x], min_block_size=1, require_full_compilation=True)
    assert not list(gm.parameters()), "weights should live in the engine only"
    check_round_trip(tmp_path, gm, lin.eval(), [(x,)])
