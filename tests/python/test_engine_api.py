"""The IR-level Python API: build an engine from IR text, run it on numpy arrays, and the errors
users see (ValueError naming the input for bad shapes; KilnError for corrupt engine files)."""

import math
import os
import numpy as np
import pytest

import kiln

MLP = """
graph @mlp {
  symbol batch in [1, 16] opt 4
  input %x : f32[batch, 3]
  %w1 = constant {dtype=f32, shape=[4, 3], data=[0.5, -1, 2, 0.25, 0, -0.5, 1, 1, 1, -2, 0.5, 0.75]}
  %b1 = constant {dtype=f32, shape=[4], data=[0.1, -0.2, 0.3, 0]}
  %w2 = constant {dtype=f32, shape=[2, 4], data=[1, -1, 0.5, 2, -0.5, 0.25, 1, -1]}
  %h = linear(%x, %w1, %b1)
  %a = gelu(%h) {approximate=tanh}
  %y = linear(%a, %w2, _)
  %p = softmax(%y) {axis=1}
  return %p, %h
}
"""


def mlp_reference(x):
    w1 = np.array([[0.5, -1, 2], [0.25, 0, -0.5], [1, 1, 1], [-2, 0.5, 0.75]])
    b1 = np.array([0.1, -0.2, 0.3, 0])
    w2 = np.array([[1, -1, 0.5, 2], [-0.5, 0.25, 1, -1]])
    h = x.astype(np.float64) @ w1.T + b1
    a = 0.5 * h * (1 + np.tanh(math.sqrt(2 / math.pi) * (h + 0.044715 * h**3)))
    y = a @ w2.T
    e = np.exp(y - y.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True), h


def test_build_and_run_matches_numpy_at_several_batch_sizes():
    engine = kiln.Engine(kiln.build_engine(MLP))
    assert [name for name, _, _ in engine.inputs] == ["x"]
    assert engine.inputs[0][1] == "f32"
    assert "batch in [1, 16]" in engine.inputs[0][2]
    rng = np.random.default_rng(1)
    for batch in (1, 4, 16):
        x = rng.uniform(-2, 2, (batch, 3)).astype(np.float32)
        p, h = engine(x)
        want_p, want_h = mlp_reference(x)
        assert p.shape == (batch, 2) and p.dtype == np.float32
        np.testing.assert_allclose(p, want_p, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(h, want_h, rtol=1e-5, atol=1e-6)


def test_out_of_range_shape_names_the_input_and_range():
    engine = kiln.Engine(kiln.build_engine(MLP))
    with pytest.raises(ValueError, match=r"'x'.*\[1, 16\]"):
        engine(np.zeros((17, 3), np.float32))
    with pytest.raises(ValueError, match="'x'"):
        engine(np.zeros((2, 4), np.float32))
    with pytest.raises(ValueError, match="rank"):
        engine(np.zeros((2, 3, 1), np.float32))
    with pytest.raises(ValueError, match="f32"):
        engine(np.zeros((2, 3), np.float64))


def test_output_shapes_follow_the_symbols():
    engine = kiln.Engine(kiln.build_engine(MLP))
    assert engine.output_shapes([[5, 3]]) == [[5, 2], [5, 4]]


def test_bad_ir_text_raises_value_error_with_location():
    with pytest.raises(ValueError, match=r"<string>:\d+:\d+"):
        kiln.build_engine("graph @g {\n  input %x : f32[2]\n  %0 = relu(%nope)\n  return %0\n}\n")


def test_corrupt_engine_file_is_refused_not_crashed():
    data = bytearray(kiln.build_engine(MLP))
    with pytest.raises(Exception, match="not a kiln engine"):
        kiln.Engine(b"hello world, this is not an engine file at all. " * 4)
    data[len(data) // 2] ^= 0xFF
    with pytest.raises(Exception, match="corrupt|checksum"):
        kiln.Engine(bytes(data))
    with pytest.raises(Exception, match="truncated"):
        kiln.Engine(bytes(data[: len(data) // 3]))


def test_format_ir_round_trips_and_runs_passes():
    text = kiln.format_ir(MLP)
    assert kiln.format_ir(text) == text
    folded = kiln.format_ir(MLP, ["canonicalize", "fold-constants", "cse", "dce"])
    assert "softmax" in folded


def test_op_list_is_exposed():
    names = kiln.op_names()
    assert len(names) == len(set(names)) >= 60
    assert {"conv", "matmul", "softmax", "attention", "reshape"} <= set(names)


def test_profile_report_formats_times_and_names_a_bad_count():
    """kiln.runtime.profile's text comes from the same C++ formatter as `kiln run --profile`; fed
    made-up times here (profiling itself needs a GPU)."""
    from kiln import _C

    text = open(os.path.join(os.path.dirname(__file__), "..", "ir", "cli", "kiln_cli.ir")).read()
    engine = _C.Engine(kiln.build_engine(text[text.index("graph @cli_mlp"):]))
    times = [0.1 * i for i in range(len(engine.nodes))]
    report = _C.profile_report([("first", engine, times)], 2)
    assert report.startswith("engine first: ") and "slowest 2 nodes:" in report
    assert "ref.constant" not in report and "ref.softmax" in report
    with pytest.raises(ValueError, match="engine first has .* nodes, got 1 times"):
        _C.profile_report([("first", engine, [1.0])], 2)


def test_memory_report_names_each_engine_call_and_its_activations():
    """kiln.runtime.memory runs the module once and reports, per engine call, the weights and the
    activations for that call's input shapes, body and tail (on the CPU: the same planner, no
    scratch)."""
    import torch

    model = torch.nn.Sequential(torch.nn.Linear(16, 4096), torch.nn.ReLU(),
                                torch.nn.Linear(4096, 8))
    x = torch.randn(64, 16)
    trt = kiln.compile(model, inputs=[x], min_block_size=1)
    with torch.no_grad():
        report = kiln.runtime.memory(trt, x)
        again = kiln.runtime.memory(trt, torch.randn(64, 16))
    lines = report.splitlines()
    assert len(lines) == 1 and lines[0].startswith("engine kiln-"), report
    assert "(cpu), inputs [[64, 16]]: weights host memory; activations " in report
    assert "kernel scratch 0.00 MiB in 0 nodes" in report
    assert again == report  # the same shapes plan the same activations
    total = float(report.split("activations ")[1].split(" MiB")[0])
    tail = float(report.split(", tail ")[1].split(")")[0])
    # The [64, 4096] fp32 hidden activations (1 MiB) are read by the last linear, the tail.
    assert total >= tail >= 1.0, report
    assert kiln.runtime.memory(lambda: None) == "no kiln engine ran"
