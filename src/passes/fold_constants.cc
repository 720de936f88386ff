// fold-constants: evaluates, at compile time, every node whose present inputs are all outputs of
// `constant` nodes (source ops like full and arange have none), using the op's CPU reference
// kernel, and replaces it by one `constant` node per output at the same position, defining the
// same value ids (so no uses change and the order stays topological). Folding cascades through
// chains in one sweep. It skips unused nodes, nodes with symbolic output shapes or attributes,
// outputs over 16 MiB in all, and ops whose reference kernel is missing or declines; a kernel
// that fails otherwise (say, an index out of range) fails the pass, naming the node. It does not
// simplify algebra (x*1), fold partially constant expressions, or remove the now-unused input
// constants (dce does).
//
// Folding trades memory for time: a folded value is held on the device for the engine's life,
// where the model computes it per call and frees it. A fold may rearrange, pad or widen what it
// reads (a weight padded to 8 channels, cast to f32), but not make much data from little: a node
// whose results are over 4 times the bytes of its constant inputs and over 4 KiB more (a rotary
// table from an arange, an embedding of constant ids, a broadcast) stays computed at run time,
// and so does everything after it. Without this rule,
// Llama's rotary cos / sin tables (128 KiB) made kiln's weights larger than the model's, and its
// peak memory higher than eager's. The exception is a value that feeds an attention mask that can
// be wholly constant, which is folded whatever its size: canonicalize recognises a constant causal
// mask and drops it.
#include <algorithm>
#include <memory>
#include <type_traits>
#include <vector>

#include "kiln/kernels/kernel.h"
#include "kiln/passes/passes.h"

namespace kiln {
namespace {

// Results larger than this stay computed at run time: they would bloat the engine file.
constexpr int64_t kMaxFoldedBytes = int64_t{16} << 20;
// A fold's results may be this many times the bytes of its constant inputs, or this many bytes
// more (scalars, index ranges), whichever is larger: see the file comment.
constexpr int64_t kMaxGrowthFactor = 4;
constexpr int64_t kMaxGrowthBytes = int64_t{4} << 10;

bool is_static(const TensorType& t) {
  for (const DimExpr& d : t.shape) {
    if (!d.is_constant()) return false;
  }
  return true;
}

// True if an attribute refers to a shape symbol (a slice bound `s - 1`, a full of shape [s]): its
// value is unknown until run time even when every input is constant.
bool attrs_mention_symbols(const Attrs& attrs) {
  bool found = false;
  std::visit(
      [&](const auto& a) {
        a.visit([&](auto&&, const auto& field) {
          using F = std::decay_t<decltype(field)>;
          if constexpr (std::is_same_v<F, DimExpr>) {
            found = found || !field.is_constant();
          } else if constexpr (std::is_same_v<F, std::vector<DimExpr>>) {
            for (const DimExpr& d : field) found = found || !d.is_constant();
          }
        });
      },
      attrs);
  return found;
}

ConcreteShape concrete(const Shape& shape) {
  ConcreteShape out;
  for (const DimExpr& d : shape) out.push_back(d.constant_value());
  return out;
}

// Runs the op's reference kernel, found through the registry. Unsupported means "cannot fold this
// node", not a failure.
Status evaluate(const Node& n, std::span<const TensorType> input_types, const KernelArgs& args) {
  const Kernel* kernel = find_kernel(str_cat("ref.", op_name(n.op)));
  if (kernel == nullptr) return unsupported("no kernel named ref.", op_name(n.op));
  std::string why;
  if (kernel->accepts != nullptr && !kernel->accepts(n, input_types, &why)) {
    return unsupported(kernel->name, " declines: ", why);
  }
  return kernel->run(args);
}

// True for each value that can become constant (fold-constants' conditions but the growth limit;
// a reference kernel may still decline) and reaches an attention's mask operand that can too,
// through the nodes that read it. A mask that also reads a graph input (a padding mask) stays
// computed, so the constant parts before it get no exception.
std::vector<bool> values_feeding_masks(const Graph& g) {
  std::vector<bool> foldable(g.values.size(), false);
  for (const Node& n : g.nodes) {
    bool ok = n.op == OpKind::kConstant || !attrs_mention_symbols(n.attrs);
    for (ValueId v : n.inputs) ok = ok && (v == kNoValue || foldable[v]);
    for (ValueId v : n.outputs) ok = ok && is_static(g.type(v));
    for (ValueId v : n.outputs) foldable[v] = ok;
  }
  std::vector<bool> feeds(g.values.size(), false);
  for (size_t index = g.nodes.size(); index-- > 0;) {
    const Node& n = g.nodes[index];
    if (n.op == OpKind::kAttention && n.inputs.size() > 3 && n.inputs[3] != kNoValue) {
      feeds[n.inputs[3]] = foldable[n.inputs[3]];
    }
    bool any = false;
    for (ValueId v : n.outputs) any = any || feeds[v];
    if (!any) continue;
    for (ValueId v : n.inputs) {
      if (v != kNoValue) feeds[v] = true;  // foldable, since an output of n is
    }
  }
  return feeds;
}

// Evaluates node `n` of `g` whose inputs are constants. Returns one ConstantAttrs per output, or an
// empty vector when the node cannot be folded.
// `constant_of[v]` is the data of value v if it is constant; `may_grow` lifts the growth limit.
Expected<std::vector<ConstantAttrs>> fold_node(const Graph& g, const Node& n,
                                               const std::vector<const ConstantAttrs*>& constant_of,
                                               bool may_grow) {
  // 1. Check the outputs: static, not too large, not much larger than the inputs.
  int64_t total_bytes = 0;
  for (ValueId v : n.outputs) {
    const TensorType& t = g.type(v);
    if (!is_static(t)) return std::vector<ConstantAttrs>{};
    total_bytes += concrete_numel(concrete(t.shape)) * dtype_size(t.dtype);
  }
  int64_t input_bytes = 0;  // each distinct input once (mul(c, c) reads c's bytes once)
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    const ValueId v = n.inputs[i];
    if (v == kNoValue || std::find(n.inputs.begin(), n.inputs.begin() + i, v) !=
                             n.inputs.begin() + i) {
      continue;
    }
    input_bytes += static_cast<int64_t>(constant_of[v]->data.size);
  }
  if (n.outputs.empty() || total_bytes > kMaxFoldedBytes || attrs_mention_symbols(n.attrs) ||
      (!may_grow && total_bytes > std::max(input_bytes * kMaxGrowthFactor,
                                           input_bytes + kMaxGrowthBytes))) {
    return std::vector<ConstantAttrs>{};
  }
  // 2. View the constant inputs in place.
  std::vector<TensorType> input_types(n.inputs.size());
  std::vector<TensorView> inputs(n.inputs.size());
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    if (n.inputs[i] == kNoValue) continue;
    const ConstantAttrs& c = *constant_of[n.inputs[i]];
    input_types[i] = g.type(n.inputs[i]);
    inputs[i].data = const_cast<uint8_t*>(c.data.data());  // kernels only read inputs
    inputs[i].dtype = c.dtype;
    inputs[i].shape = c.shape;
  }
  // 3. Allocate zeroed outputs and run the kernel.
  std::vector<ConstantAttrs> results(n.outputs.size());
  std::vector<TensorView> outputs(n.outputs.size());
  for (size_t i = 0; i < n.outputs.size(); ++i) {
    const TensorType& t = g.type(n.outputs[i]);
    ConstantAttrs& c = results[i];
    c.dtype = t.dtype;
    c.shape = concrete(t.shape);
    c.data.size = static_cast<size_t>(concrete_numel(c.shape) * dtype_size(t.dtype));
    std::shared_ptr<uint8_t> buffer(new uint8_t[c.data.size == 0 ? 1 : c.data.size](),
                                    std::default_delete<uint8_t[]>());
    outputs[i] = TensorView{buffer.get(), c.dtype, c.shape};
    c.data.bytes = std::move(buffer);
  }
  KernelArgs args{n, {}, inputs, outputs};
  Status status = evaluate(n, input_types, args);
  if (status.code() == StatusCode::kUnsupported) return std::vector<ConstantAttrs>{};
  KILN_RETURN_IF_ERROR(status);
  return results;
}

}  // namespace

Expected<bool> fold_constants(Graph& g, const PassOptions& options) {
  // 1. Evaluate in order. `constant_of[v]` is the data of value v when a constant node defines it
  //    or it was just folded, so chains fold in one sweep. The graph is untouched until step 2,
  //    so a failure leaves it as it was.
  std::vector<const ConstantAttrs*> constant_of(g.values.size(), nullptr);
  const std::vector<int32_t> uses = graph_use_counts(g);
  const std::vector<bool> feeds_mask = values_feeding_masks(g);
  std::vector<std::vector<ConstantAttrs>> folded(g.nodes.size());
  bool changed = false;
  for (size_t index = 0; index < g.nodes.size(); ++index) {
    const Node& n = g.nodes[index];
    if (n.op == OpKind::kConstant) {
      if (n.outputs.size() == 1) constant_of[n.outputs[0]] = &n.attrs_as<ConstantAttrs>();
      continue;
    }
    bool all_constant = true;
    for (ValueId v : n.inputs) {
      if (v != kNoValue && constant_of[v] == nullptr) all_constant = false;
    }
    bool used = false;
    bool may_grow = false;
    for (ValueId v : n.outputs) {
      used = used || uses[v] > 0;
      may_grow = may_grow || feeds_mask[v];
    }
    if (!all_constant || !used) continue;  // unused nodes are left for dce, not evaluated
    Expected<std::vector<ConstantAttrs>> result = fold_node(g, n, constant_of, may_grow);
    if (!result.ok()) {
      return result.status().with_context(str_cat("fold-constants: node ", index, " (",
                                                  op_name(n.op), n.loc.empty() ? "" : " at ",
                                                  n.loc, ")"));
    }
    folded[index] = std::move(result).value();
    for (size_t i = 0; i < folded[index].size(); ++i) {
      constant_of[n.outputs[i]] = &folded[index][i];
      changed = true;
    }
  }
  if (!changed) return false;
  // 2. Replace each folded node by one constant node per output, defining the same values.
  std::vector<Node> nodes;
  nodes.reserve(g.nodes.size());
  for (size_t index = 0; index < g.nodes.size(); ++index) {
    Node& n = g.nodes[index];
    if (folded[index].empty()) {
      nodes.push_back(std::move(n));
      continue;
    }
    for (size_t i = 0; i < n.outputs.size(); ++i) {
      Attrs data = std::move(folded[index][i]);
      nodes.push_back(Node{OpKind::kConstant, {}, {n.outputs[i]}, std::move(data), n.loc});
    }
  }
  g.nodes = std::move(nodes);
  return true;
}

}  // namespace kiln
