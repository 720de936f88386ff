// fuse-epilogues: moves the pointwise work that follows a conv or linear into the node itself,
// where kernels (cuDNN, cuBLASLt) apply it on the way out:
//   add(conv(...), r) or add(r, conv(...))  ->  conv(..., residual=r)
//       when r has exactly the conv output's type (no broadcasting) and the conv has neither a
//       residual nor an activation yet;
//   relu / silu / gelu(conv(...) or linear(...))  ->  the same node with activation relu, silu,
//       gelu (approximate=none) or gelu_tanh (approximate=tanh), when it has none yet.
// Each applies only when the conv or linear output has exactly one live use (graph outputs count).
// The fused node takes the place and the output value of the add or activation it absorbs, so
// the order stays topological even when r is defined after the conv; the old node stays, unused,
// for dce. One sweep in order fuses whole chains (conv -> add -> relu). It does not fuse bias
// adds, scales, other activations, or residuals into linear (LinearAttrs has none).
#include <optional>
#include <vector>

#include "kiln/passes/passes.h"
#include "rewrite_util.h"

namespace kiln {
namespace {

using passes_internal::live_nodes;
using passes_internal::live_use_counts;

// The fused activation that node `n` computes, or nothing if it is not one of them.
std::optional<Activation> activation_of(const Node& n) {
  switch (n.op) {
    case OpKind::kRelu: return Activation::kRelu;
    case OpKind::kSilu: return Activation::kSilu;
    case OpKind::kGelu:
      return n.attrs_as<GeluAttrs>().approximate == GeluApprox::kTanh ? Activation::kGeluTanh
                                                                        : Activation::kGelu;
    default: return std::nullopt;
  }
}

Activation& activation_field(Node& n) {
  return n.op == OpKind::kConv ? n.attrs_as<ConvAttrs>().activation
                               : n.attrs_as<LinearAttrs>().activation;
}

bool has_residual(const Node& conv) {
  return conv.inputs.size() > 3 && conv.inputs[3] != kNoValue;
}

// `producer` fused with its only user `user`, defining the user's outputs; or nothing.
std::optional<Node> fuse(const Graph& g, const Node& producer, const Node& user) {
  const ValueId y = producer.outputs[0];
  Node fused = producer;
  if (activation_field(fused) != Activation::kNone) return std::nullopt;
  if (std::optional<Activation> act = activation_of(user)) {
    activation_field(fused) = *act;
  } else if (producer.op == OpKind::kConv && user.op == OpKind::kAdd && !has_residual(producer)) {
    const ValueId r = user.inputs[0] == y ? user.inputs[1] : user.inputs[0];
    if (r == y || !(g.type(r) == g.type(y))) return std::nullopt;
    fused.inputs.resize(3, kNoValue);  // an absent bias stays absent
    fused.inputs.push_back(r);
  } else {
    return std::nullopt;
  }
  fused.outputs = user.outputs;
  return fused;
}

}  // namespace

Expected<bool> fuse_epilogues(Graph& g, const PassOptions& /*options*/) {
  // 1. Each value's live uses and its last live reader.
  const std::vector<bool> live = live_nodes(g);
  const std::vector<int32_t> uses = live_use_counts(g, live);
  std::vector<int32_t> user_of(g.values.size(), -1);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (!live[i]) continue;
    for (ValueId v : g.nodes[i].inputs) {
      if (v != kNoValue) user_of[v] = static_cast<int32_t>(i);
    }
  }
  // 2. Sweep in order. A fused node replaces its user, which comes later, so the sweep meets it
  //    again and can fuse it with its own user. Uses do not change: the fused node defines the
  //    user's outputs and reads the producer's inputs, whose producers the sweep has passed.
  bool changed = false;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if ((n.op != OpKind::kConv && n.op != OpKind::kLinear) || n.outputs.size() != 1) continue;
    const ValueId y = n.outputs[0];
    if (uses[y] != 1 || user_of[y] < 0) continue;  // several uses, or a graph output
    std::optional<Node> fused = fuse(g, n, g.nodes[user_of[y]]);
    if (!fused) continue;
    g.nodes[user_of[y]] = std::move(*fused);
    changed = true;
  }
  return changed;
}

}  // namespace kiln
