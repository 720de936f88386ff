// Numeric checks for the rewriting passes: random constants and inputs, evaluating a graph with the
// CPU reference kernels, and comparing two evaluations. A pass that rewrites a graph must leave
// what the reference runtime computes unchanged (up to the rounding the rewrite moves).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "kiln/passes/pass_manager.h"
#include "kiln/runtime.h"
#include "pass_test_util.h"

namespace kiln::pass_test {

// Deterministic uniform floats in [lo, hi).
inline std::vector<float> random_floats(size_t count, uint64_t seed, float lo = -1, float hi = 1) {
  std::vector<float> out(count);
  uint64_t state = seed * 0x9e3779b97f4a7c15ull + 1;
  for (float& f : out) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    f = lo + (hi - lo) * static_cast<float>((state >> 40) * (1.0 / 16777216.0));
  }
  return out;
}

inline Expected<ValueId> add_random_constant(Graph& g, std::vector<int64_t> shape, uint64_t seed,
                                             float lo = -1, float hi = 1) {
  return add_f32_constant(g, shape, random_floats(concrete_numel(shape), seed, lo, hi));
}

// The outputs of `g` (f32 inputs and outputs, static shapes) for these inputs, computed by an
// engine that runs every node on its reference kernel.
inline Expected<std::vector<std::vector<float>>> evaluate_reference(
    const Graph& g, const std::vector<std::vector<float>>& inputs) {
  EngineContents contents;
  contents.device = DeviceKind::kCpu;
  for (const Node& n : g.nodes) contents.kernels.push_back(str_cat("ref.", op_name(n.op)));
  contents.graph = g;
  KILN_ASSIGN_OR_RETURN(std::shared_ptr<const Engine> engine,
                        Engine::from_contents(std::move(contents)));
  ExecutionContext context(engine);
  std::vector<ConcreteShape> shapes;
  std::vector<TensorView> in_views;
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    ConcreteShape shape;
    for (const DimExpr& d : g.type(g.inputs[i]).shape) shape.push_back(d.constant_value());
    shapes.push_back(shape);
    in_views.push_back(TensorView{const_cast<float*>(inputs[i].data()), DType::kF32, shape});
  }
  KILN_ASSIGN_OR_RETURN(std::vector<ConcreteShape> out_shapes, context.infer_output_shapes(shapes));
  std::vector<std::vector<float>> outputs;
  std::vector<TensorView> out_views;
  for (const ConcreteShape& s : out_shapes) outputs.emplace_back(concrete_numel(s), std::nanf(""));
  for (size_t i = 0; i < out_shapes.size(); ++i) {
    out_views.push_back(TensorView{outputs[i].data(), DType::kF32, out_shapes[i]});
  }
  KILN_RETURN_IF_ERROR(context.run(in_views, out_views));
  return outputs;
}

// Random inputs for every graph input of `g` (f32, static shapes).
inline std::vector<std::vector<float>> random_inputs(const Graph& g, uint64_t seed = 7) {
  std::vector<std::vector<float>> inputs;
  for (ValueId v : g.inputs) {
    int64_t numel = 1;
    for (const DimExpr& d : g.type(v).shape) numel *= d.constant_value();
    inputs.push_back(random_floats(static_cast<size_t>(numel), seed++));
  }
  return inputs;
}

// Runs `passes` over a copy of `g` on `device`, verifying after each.
inline Expected<Graph> run_pipeline(Graph g, const std::vector<std::string>& passes,
                                    DeviceKind device = DeviceKind::kCpu) {
  PassManagerOptions options;
  options.verify_each = true;
  options.pass_options.device = device;
  KILN_RETURN_IF_ERROR(run_passes(g, passes, options));
  return g;
}

// Fails the test unless `actual` matches `expected` element by element within
// atol + rtol * |expected|.
inline void expect_close(const std::vector<std::vector<float>>& expected,
                         const std::vector<std::vector<float>>& actual, double atol = 1e-5,
                         double rtol = 1e-5) {
  ASSERT_EQ(expected.size(), actual.size());
  for (size_t o = 0; o < expected.size(); ++o) {
    ASSERT_EQ(expected[o].size(), actual[o].size()) << "output " << o;
    int bad = 0;
    for (size_t i = 0; i < expected[o].size() && bad < 5; ++i) {
      const double e = expected[o][i], a = actual[o][i];
      if (!(std::fabs(e - a) <= atol + rtol * std::fabs(e))) {
        ADD_FAILURE() << "output " << o << " element " << i << ": expected " << e << ", got " << a;
        ++bad;
      }
    }
  }
}

}  // namespace kiln::pass_test
