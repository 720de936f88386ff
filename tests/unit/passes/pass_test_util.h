// Test helpers for the graph passes: assertion macros for Status/Expected, typed constants, reading
// a constant's values back, and counting ops.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "kiln/ir/graph.h"
#include "kiln/ir/verifier.h"

// Fails the test (fatally) if `expr`, a Status or an Expected, is not ok.
#define KILN_ASSERT_OK(expr)                                                    \
  do {                                                                          \
    auto&& kiln_test_status_ = (expr);                                          \
    ASSERT_TRUE(kiln_test_status_.ok())                                         \
        << ::kiln::detail::to_status(kiln_test_status_).to_string();            \
  } while (0)

// `lhs` = the value of the Expected `expr`, failing the test (fatally) if it has none.
#define KILN_ASSERT_OK_AND_ASSIGN(lhs, expr) \
  KILN_ASSERT_OK_AND_ASSIGN_IMPL_(KILN_CONCAT_(kiln_test_expected_, __LINE__), lhs, expr)
#define KILN_ASSERT_OK_AND_ASSIGN_IMPL_(tmp, lhs, expr)                  \
  auto tmp = (expr);                                                    \
  ASSERT_TRUE(tmp.ok()) << tmp.status().to_string();                    \
  lhs = std::move(tmp).value()

namespace kiln::pass_test {

inline TensorType f32(Shape shape) { return TensorType{DType::kF32, std::move(shape)}; }

// A constant node of dtype f32 holding `values` in the given static shape.
inline Expected<ValueId> add_f32_constant(Graph& g, std::vector<int64_t> shape,
                                          const std::vector<float>& values) {
  Shape dims(shape.begin(), shape.end());
  return graph_add_constant(g, f32(dims), values.data(), values.size() * sizeof(float));
}

// The node that defines `v`, or null.
inline const Node* producer(const Graph& g, ValueId v) {
  for (const Node& n : g.nodes) {
    for (ValueId out : n.outputs) {
      if (out == v) return &n;
    }
  }
  return nullptr;
}

// The elements of the f32 constant defining `v`; empty if `v` is not defined by a constant.
inline std::vector<float> constant_f32(const Graph& g, ValueId v) {
  const Node* n = producer(g, v);
  if (n == nullptr || n->op != OpKind::kConstant) return {};
  const ConstantAttrs& c = n->attrs_as<ConstantAttrs>();
  std::vector<float> out(c.data.size / sizeof(float));
  std::memcpy(out.data(), c.data.data(), out.size() * sizeof(float));
  return out;
}

inline int count_ops(const Graph& g, OpKind op) {
  int count = 0;
  for (const Node& n : g.nodes) count += n.op == op;
  return count;
}

}  // namespace kiln::pass_test
