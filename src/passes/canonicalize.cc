// canonicalize: local rewrites that put data movement in one normal form, repeated to a fixed
// point:
//   reshape(reshape(x))  -> reshape(x)                   (the outer shape wins)
//   permute(permute(x))  -> permute(x) with the composed permutation
//   reshape, expand, cast or step-1 slice whose output type equals its input type, and the
//   identity permute    -> removed (uses read the input)
//   permute that moves only static size-1 dims -> reshape to the same output shape
//   permute with negative entries -> the same permute with entries counted from the front
//   attention with a constant mask that keeps everything (bool all true, additive all zero)
//                        -> attention without a mask (HF encoders pass such a mask when none is
//                           given; fused attention kernels then need no mask at all)
//   attention with a constant bool mask [..., L, S] whose every [L, S] slice is exactly the
//   causal pattern (keeps key j for query i iff j <= i)
//                        -> attention {is_causal=true} without a mask (GPT-2 and Llama pass
//                           such a mask; flash attention kernels take is_causal, not bool masks)
// Rewritten nodes keep their output value and type; removed nodes stay behind, unused, for dce.
// A no-op whose output is a graph output is kept when its input is a graph input or another graph
// output, so graph outputs never alias inputs or each other. It does not fold constants, merge
// duplicates, or rewrite anything beyond the data-movement ops above.
#include <vector>

#include "kiln/passes/passes.h"
#include "rewrite_util.h"

namespace kiln {
namespace {

using passes_internal::is_identity_perm;
using passes_internal::normalized_perm;

// Sweeps are cheap and one normally suffices (producers are rewritten before their users); the cap
// only turns a rewrite cycle, which would be a bug here, into an error.
constexpr int kMaxSweeps = 32;

// True if permuting `shape` by `perm` keeps every dim that is not a static 1 in its order.
bool moves_only_unit_dims(const Shape& shape, const std::vector<int64_t>& perm) {
  int64_t last = -1;
  for (int64_t p : perm) {
    if (p < 0 || p >= static_cast<int64_t>(shape.size())) return false;
    const DimExpr& d = shape[p];
    if (d.is_constant() && d.constant_value() == 1) continue;
    if (p < last) return false;
    last = p;
  }
  return true;
}

class Canonicalizer {
 public:
  explicit Canonicalizer(Graph& g) : g_(g) {}

  // One sweep over the nodes in order; true if anything changed.
  bool sweep() {
    producers_ = graph_producers(g_);
    uses_ = graph_use_counts(g_);
    is_input_.assign(g_.values.size(), false);
    is_output_.assign(g_.values.size(), false);
    for (ValueId v : g_.inputs) is_input_[v] = true;
    for (ValueId v : g_.outputs) is_output_[v] = true;
    bool changed = false;
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      if (g_.nodes[i].outputs.size() == 1 && uses_[g_.nodes[i].outputs[0]] > 0) {
        changed = rewrite(g_.nodes[i]) || changed;
      }
    }
    return changed;
  }

 private:
  Node* producer_with_op(ValueId v, OpKind op) {
    return passes_internal::producer_with_op(g_, producers_, v, op);
  }

  void set_input(Node& n, ValueId v) {
    --uses_[n.inputs[0]];
    ++uses_[v];
    n.inputs[0] = v;
  }

  // Makes every use of n's output read its input instead, unless that would make a graph output
  // alias a graph input or another graph output.
  bool remove(Node& n) {
    ValueId in = n.inputs[0];
    ValueId out = n.outputs[0];
    if (is_output_[out] && (is_input_[in] || is_output_[in])) return false;
    graph_replace_uses(g_, out, in);
    if (is_output_[out]) {
      if (!g_.values[out].name.empty()) {  // the graph output keeps its name
        g_.values[in].name = std::move(g_.values[out].name);
        g_.values[out].name.clear();
      }
      is_output_[in] = true;
      is_output_[out] = false;
    }
    uses_[in] += uses_[out] - 1;  // n itself no longer counts as a use
    uses_[out] = 0;
    return true;
  }

  bool rewrite(Node& n) {
    bool changed = false;
    switch (n.op) {
      case OpKind::kReshape:
        if (Node* inner = producer_with_op(n.inputs[0], OpKind::kReshape)) {
          set_input(n, inner->inputs[0]);
          changed = true;
        }
        return same_type(n) ? remove(n) || changed : changed;
      case OpKind::kPermute: {
        auto& perm = n.attrs_as<PermuteAttrs>().perm;
        if (std::vector<int64_t> positive = normalized_perm(perm); positive != perm) {
          perm = positive;  // negative entries count from the end; the normal form has none
          changed = true;
        }
        if (Node* inner = producer_with_op(n.inputs[0], OpKind::kPermute)) {
          std::vector<int64_t> inner_perm = normalized_perm(inner->attrs_as<PermuteAttrs>().perm);
          std::vector<int64_t> composed(perm.size());
          for (size_t i = 0; i < perm.size(); ++i) composed[i] = inner_perm[perm[i]];
          perm = composed;
          set_input(n, inner->inputs[0]);
          changed = true;
        }
        if (is_identity_perm(perm)) return remove(n) || changed;
        if (moves_only_unit_dims(g_.type(n.inputs[0]).shape, perm)) {
          n.op = OpKind::kReshape;
          n.attrs = ReshapeAttrs{g_.type(n.outputs[0]).shape};
          return true;
        }
        return changed;
      }
      case OpKind::kExpand:
      case OpKind::kCast:
        return same_type(n) && remove(n);
      case OpKind::kSlice:
        return n.attrs_as<SliceAttrs>().step == 1 && same_type(n) && remove(n);
      case OpKind::kAttention: {
        if (n.inputs.size() <= 3 || n.inputs[3] == kNoValue) return false;
        const bool causal = is_causal_mask(n);
        if (!causal && !keeps_everything(n.inputs[3])) return false;
        --uses_[n.inputs[3]];
        n.inputs.resize(3);
        if (causal) n.attrs_as<AttentionAttrs>().is_causal = true;
        return true;
      }
      default:
        return false;
    }
  }

  bool same_type(const Node& n) const { return g_.type(n.inputs[0]) == g_.type(n.outputs[0]); }

  // True if `mask` is a constant attention mask that masks nothing: bool all true, or a float
  // mask of zeros.
  bool keeps_everything(ValueId mask) {
    Node* c = producer_with_op(mask, OpKind::kConstant);
    if (c == nullptr) return false;
    const auto& a = c->attrs_as<ConstantAttrs>();
    const uint8_t* bytes = a.data.data();
    if (a.dtype == DType::kBool) {
      for (size_t i = 0; i < a.data.size; ++i) {
        if (bytes[i] == 0) return false;
      }
      return true;
    }
    if (!dtype_is_float(a.dtype)) return false;
    for (size_t i = 0; i < a.data.size; ++i) {  // +0.0 in every float format is all zero bytes
      if (bytes[i] != 0) return false;
    }
    return true;
  }

  // True if attention `n`'s mask is a constant bool [..., L, S] with q's L and k's S (both static)
  // whose every [L, S] slice keeps key j for query i iff j <= i: is_causal's pattern (top-left
  // aligned). HF decoders build it per batch element ([B, 1, L, S]); the leading dims broadcast
  // against q's (the verifier checked), and identical slices make them irrelevant.
  bool is_causal_mask(const Node& n) {
    Node* c = producer_with_op(n.inputs[3], OpKind::kConstant);
    if (c == nullptr) return false;
    const auto& a = c->attrs_as<ConstantAttrs>();
    if (a.dtype != DType::kBool || a.shape.size() < 2) return false;
    const bool bshd = n.attrs_as<AttentionAttrs>().bshd;
    const Shape& q = g_.type(n.inputs[0]).shape;
    const Shape& k = g_.type(n.inputs[1]).shape;
    if (q.size() < 2 || k.size() < 2 || (bshd && (q.size() != 4 || k.size() != 4))) return false;
    const DimExpr& ql = bshd ? q[1] : q[q.size() - 2];
    const DimExpr& ks = bshd ? k[1] : k[k.size() - 2];
    const size_t rank = a.shape.size();
    const int64_t l = a.shape[rank - 2], s = a.shape[rank - 1];
    if (!ql.is_constant() || !ks.is_constant() || ql.constant_value() != l ||
        ks.constant_value() != s) {
      return false;
    }
    int64_t slices = 1;
    for (size_t d = 0; d + 2 < rank; ++d) slices *= a.shape[d];
    if (l <= 0 || s <= 0 || slices <= 0 || a.data.size != static_cast<size_t>(slices * l * s)) {
      return false;
    }
    const uint8_t* bytes = a.data.data();
    for (int64_t b = 0; b < slices; ++b, bytes += l * s) {
      for (int64_t i = 0; i < l; ++i) {
        for (int64_t j = 0; j < s; ++j) {
          if ((bytes[i * s + j] != 0) != (j <= i)) return false;
        }
      }
    }
    return true;
  }

  Graph& g_;
  std::vector<int32_t> producers_;
  std::vector<int32_t> uses_;
  std::vector<bool> is_input_;
  std::vector<bool> is_output_;
};

}  // namespace

Expected<bool> canonicalize(Graph& g, const PassOptions& options) {
  Canonicalizer canonicalizer(g);
  bool changed = false;
  for (int sweep = 0; sweep < kMaxSweeps; ++sweep) {
    if (!canonicalizer.sweep()) return changed;
    changed = true;
  }
  return internal_error("canonicalize: no fixed point after ", kMaxSweeps, " sweeps");
}

}  // namespace kiln
