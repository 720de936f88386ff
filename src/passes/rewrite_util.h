// Small helpers the rewriting passes (fold-batch-norm, fuse-epilogues, layout, raise-composites)
// share: use counts that ignore dead nodes, adding an undefined value, permuting a type and reading
// a float constant, finding a value's producer by op, normalising a permutation. Internal to
// src/passes; it holds no rewrite of its own.
#pragma once

#include <cstring>
#include <optional>
#include <vector>

#include "kiln/ir/graph.h"

namespace kiln::passes_internal {

// The node defining `v` (producers: graph_producers()) if it has op `op`, else null.
inline Node* producer_with_op(Graph& g, const std::vector<int32_t>& producers, ValueId v,
                              OpKind op) {
  const int32_t p = v == kNoValue ? -1 : producers[static_cast<size_t>(v)];
  return p >= 0 && g.nodes[static_cast<size_t>(p)].op == op ? &g.nodes[static_cast<size_t>(p)]
                                                            : nullptr;
}

// For each node, whether it is live: one of its outputs reaches a graph output. The nodes that
// earlier rewrites left behind for dce are not.
inline std::vector<bool> live_nodes(const Graph& g) {
  std::vector<bool> live_value(g.values.size(), false);
  std::vector<bool> live(g.nodes.size(), false);
  auto in_range = [&](ValueId v) { return v >= 0 && static_cast<size_t>(v) < live_value.size(); };
  for (ValueId v : g.outputs) {
    if (in_range(v)) live_value[v] = true;
  }
  for (size_t i = g.nodes.size(); i-- > 0;) {
    const Node& n = g.nodes[i];
    for (ValueId v : n.outputs) live[i] = live[i] || (in_range(v) && live_value[v]);
    if (!live[i]) continue;
    for (ValueId v : n.inputs) {
      if (in_range(v)) live_value[v] = true;
    }
  }
  return live;
}

// For each value, how many live node inputs and graph outputs read it: dead nodes do not stop a
// fusion that needs a single use.
inline std::vector<int32_t> live_use_counts(const Graph& g, const std::vector<bool>& live) {
  std::vector<int32_t> uses(g.values.size(), 0);
  auto in_range = [&](ValueId v) { return v >= 0 && static_cast<size_t>(v) < uses.size(); };
  for (ValueId v : g.outputs) {
    if (in_range(v)) ++uses[v];
  }
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (!live[i]) continue;
    for (ValueId v : g.nodes[i].inputs) {
      if (in_range(v)) ++uses[v];
    }
  }
  return uses;
}

// Adds a value of this type that no node defines yet; the caller puts the defining node in place.
inline ValueId add_value(Graph& g, TensorType type, std::string name = "") {
  g.values.push_back(Value{std::move(name), std::move(type)});
  return static_cast<ValueId>(g.values.size() - 1);
}

// `perm` with negative entries counted from the end (the normal form has none).
inline std::vector<int64_t> normalized_perm(std::vector<int64_t> perm) {
  for (int64_t& p : perm) {
    if (p < 0) p += static_cast<int64_t>(perm.size());
  }
  return perm;
}

inline bool is_identity_perm(const std::vector<int64_t>& perm) {
  for (size_t i = 0; i < perm.size(); ++i) {
    if (perm[i] != static_cast<int64_t>(i)) return false;
  }
  return true;
}

// `t` with dim i of the result being dim perm[i] of `t` (what a permute node computes).
inline TensorType permuted(const TensorType& t, const std::vector<int64_t>& perm) {
  TensorType out{t.dtype, {}};
  for (int64_t p : perm) out.shape.push_back(t.shape[static_cast<size_t>(p)]);
  return out;
}

// The elements of a float constant as doubles, or nothing for other dtypes.
inline std::optional<std::vector<double>> read_floats(const ConstantAttrs& c) {
  const int64_t size = dtype_size(c.dtype);
  if (!dtype_is_float(c.dtype) || c.dtype == DType::kF64) return std::nullopt;
  std::vector<double> out(c.data.size / static_cast<size_t>(size));
  const uint8_t* p = c.data.data();
  for (size_t i = 0; i < out.size(); ++i, p += size) {
    if (c.dtype == DType::kF32) {
      float f;
      std::memcpy(&f, p, 4);
      out[i] = f;
    } else {
      uint16_t h;
      std::memcpy(&h, p, 2);
      out[i] = c.dtype == DType::kF16 ? f16_to_f32(h) : bf16_to_f32(h);
    }
  }
  return out;
}

}  // namespace kiln::passes_internal
