// Small graphs and engines for the runtime tests, built through the C++ graph API.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "kiln/runtime.h"

namespace kiln::testing {

// Crashes the test (not the process) when `e` failed.
template <typename T>
T value_or_fail(Expected<T> e) {
  EXPECT_TRUE(e.ok()) << e.status().to_string();
  if (!e.ok()) throw std::runtime_error(e.status().to_string());
  return std::move(e).value();
}

inline const std::vector<float> kWeights = {0.5f, -1.0f, 2.0f,  //
                                            1.5f, 0.25f, -0.5f,  //
                                            -2.0f, 1.0f, 0.75f,  //
                                            0.0f, -0.5f, 1.0f};  // [4, 3]
inline const std::vector<float> kBias = {0.1f, -0.2f, 0.3f};

// y = relu(matmul(x, w) + b), x: f32[batch, 4] with batch in [1, 8] (opt 2), w: [4, 3], b: [3].
inline Graph mlp_graph() {
  Graph g;
  DimExpr batch = value_or_fail(graph_add_symbol(g, SymbolInfo{"batch", 1, 8, 2}));
  ValueId x = graph_add_input(g, "x", TensorType{DType::kF32, {batch, 4}});
  ValueId w = value_or_fail(graph_add_constant(g, TensorType{DType::kF32, {4, 3}}, kWeights.data(),
                                               kWeights.size() * sizeof(float)));
  ValueId b = value_or_fail(graph_add_constant(g, TensorType{DType::kF32, {3}}, kBias.data(),
                                               kBias.size() * sizeof(float)));
  ValueId mm = value_or_fail(graph_add_node1(g, OpKind::kMatMul, {x, w}, NoAttrs{}, "mlp.py:3"));
  ValueId sum = value_or_fail(graph_add_node1(g, OpKind::kAdd, {mm, b}, NoAttrs{}, "mlp.py:4"));
  ValueId y = value_or_fail(graph_add_node1(g, OpKind::kRelu, {sum}, NoAttrs{}, "mlp.py:5"));
  g.outputs = {y};
  return g;
}

// What mlp_graph computes, in double, rounded to float at the end.
inline std::vector<float> mlp_expected(const std::vector<float>& x, int64_t batch) {
  std::vector<float> out;
  for (int64_t r = 0; r < batch; ++r) {
    for (int64_t c = 0; c < 3; ++c) {
      double acc = kBias[c];
      for (int64_t k = 0; k < 4; ++k) acc += double(x[r * 4 + k]) * kWeights[k * 3 + c];
      out.push_back(static_cast<float>(acc > 0 ? acc : 0));
    }
  }
  return out;
}

// The engine contents of `g` with every node on its reference kernel.
inline EngineContents reference_contents(Graph g) {
  EngineContents c;
  c.device = DeviceKind::kCpu;
  for (const Node& n : g.nodes) c.kernels.push_back(str_cat("ref.", op_name(n.op)));
  c.graph = std::move(g);
  return c;
}

inline std::shared_ptr<const Engine> reference_engine(Graph g) {
  return value_or_fail(Engine::from_contents(reference_contents(std::move(g))));
}

}  // namespace kiln::testing
