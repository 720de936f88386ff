// fold-attention-permutes: lets attention read and write the [B, L, H, E] layout that the q, k
// and v projections produce, instead of copying each into [B, H, L, E] first. One sweep in node
// order:
//   attention(permute(tq, P), permute(tk, P), permute(tv, P), mask?)   P = [0, 2, 1, 3], rank 4
//     -> permute(attention {bshd=true}(tq, tk, tv, mask?), P)
// The new permute defines the old output value, so the usual permute back to [B, L, H, E] that
// follows (transpose(1, 2) before the output projection) meets it and canonicalize cancels the
// pair. The input permutes stay for their other users, or for dce. It runs on every device: the
// reference kernel saves the same copies.
//
// Deliberately not here: attentions with only some of q, k, v permuted (no partial rewrite), other
// ranks, and a bshd output without the trailing permute (canonicalize decides what cancels).
#include <vector>

#include "kiln/passes/passes.h"
#include "rewrite_util.h"

namespace kiln {
namespace {

using passes_internal::add_value;
using passes_internal::permuted;

const std::vector<int64_t> kSwapSeqAndHeads = {0, 2, 1, 3};

// The source t of `v` if `v` is defined by permute(t, [0, 2, 1, 3]) of a rank-4 t, else kNoValue.
ValueId swap_source(const Graph& g, const std::vector<int32_t>& producers, ValueId v) {
  if (v == kNoValue || producers[v] < 0) return kNoValue;
  const Node& p = g.nodes[static_cast<size_t>(producers[v])];
  if (p.op != OpKind::kPermute || p.inputs.size() != 1 || g.type(p.inputs[0]).rank() != 4) {
    return kNoValue;
  }
  return passes_internal::normalized_perm(p.attrs_as<PermuteAttrs>().perm) == kSwapSeqAndHeads
             ? p.inputs[0]
             : kNoValue;
}

}  // namespace

Expected<bool> fold_attention_permutes(Graph& g, const PassOptions& options) {
  // 1. Each attention in the [B, H, L, E] layout whose q, k and v are all swapped permutes.
  const std::vector<int32_t> producers = graph_producers(g);
  std::vector<std::vector<Node>> after(g.nodes.size());
  bool changed = false;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node& n = g.nodes[i];
    if (n.op != OpKind::kAttention || n.attrs_as<AttentionAttrs>().bshd) continue;
    if (n.inputs.size() < 3 || n.outputs.size() != 1) continue;
    ValueId sources[3];
    bool match = true;
    for (int k = 0; k < 3 && match; ++k) {
      sources[k] = swap_source(g, producers, n.inputs[static_cast<size_t>(k)]);
      match = sources[k] != kNoValue;
    }
    if (!match || g.type(n.outputs[0]).rank() != 4) continue;

    // 2. attention {bshd} on the sources defines a new value; a permute of it the old output.
    const ValueId old_out = n.outputs[0];
    const ValueId bshd_out = add_value(g, permuted(g.type(old_out), kSwapSeqAndHeads));
    for (int k = 0; k < 3; ++k) n.inputs[static_cast<size_t>(k)] = sources[k];
    n.attrs_as<AttentionAttrs>().bshd = true;
    n.outputs[0] = bshd_out;
    after[i].push_back(
        Node{OpKind::kPermute, {bshd_out}, {old_out}, PermuteAttrs{kSwapSeqAndHeads}, n.loc});
    changed = true;
  }
  if (!changed) return false;

  // 3. Put each new permute right after its attention; the order stays topological.
  std::vector<Node> nodes;
  nodes.reserve(g.nodes.size() + g.nodes.size() / 4);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    nodes.push_back(std::move(g.nodes[i]));
    for (Node& n : after[i]) nodes.push_back(std::move(n));
  }
  g.nodes = std::move(nodes);
  return true;
}

}  // namespace kiln
