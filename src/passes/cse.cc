// cse: merges nodes that compute the same thing: equal op, equal inputs (after earlier merges),
// equal attributes (attrs_equal, so constants compare by content) and equal output types. The
// later node is removed and its uses read the earlier node's outputs; one sweep in topological
// order merges whole duplicated chains. Every op is pure, so any two such nodes are
// interchangeable. It does not merge nodes without outputs, reorder commutative inputs (add(a, b)
// vs add(b, a)), or look through equivalent-but-different attributes (axis -1 vs 3).
#include <numeric>
#include <unordered_map>
#include <vector>

#include "kiln/passes/passes.h"

namespace kiln {
namespace {

size_t hash_combine(size_t seed, size_t value) {
  return seed ^ (value + 0x9e3779b97f4a7c15ull + (seed << 6) + (seed >> 2));
}

size_t node_hash(const Node& n) {
  size_t h = std::hash<int>()(static_cast<int>(n.op));
  for (ValueId v : n.inputs) h = hash_combine(h, std::hash<ValueId>()(v));
  return hash_combine(h, attrs_hash(n.attrs));
}

bool same_computation(const Graph& g, const Node& a, const Node& b) {
  if (a.op != b.op || a.inputs != b.inputs || a.outputs.size() != b.outputs.size()) return false;
  for (size_t i = 0; i < a.outputs.size(); ++i) {
    if (!(g.type(a.outputs[i]) == g.type(b.outputs[i]))) return false;
  }
  return attrs_equal(a.attrs, b.attrs);
}

}  // namespace

Expected<bool> eliminate_common_subexpressions(Graph& g, const PassOptions& options) {
  // 1. Sweep in order: rewrite each node's inputs through the merges so far, then look it up among
  //    the nodes kept so far (by hash, then exactly).
  std::vector<ValueId> replacement(g.values.size());
  std::iota(replacement.begin(), replacement.end(), 0);
  auto replaced = [&](ValueId v) { return v == kNoValue ? v : replacement[v]; };
  std::unordered_multimap<size_t, size_t> kept_by_hash;  // node hash -> index in `kept`
  std::vector<Node> kept;
  kept.reserve(g.nodes.size());
  bool changed = false;
  for (Node& n : g.nodes) {
    for (ValueId& v : n.inputs) v = replaced(v);
    if (n.outputs.empty()) {
      kept.push_back(std::move(n));
      continue;
    }
    const size_t hash = node_hash(n);
    const Node* earlier = nullptr;
    auto [begin, end] = kept_by_hash.equal_range(hash);
    for (auto it = begin; it != end && earlier == nullptr; ++it) {
      if (same_computation(g, kept[it->second], n)) earlier = &kept[it->second];
    }
    if (earlier == nullptr) {
      kept_by_hash.emplace(hash, kept.size());
      kept.push_back(std::move(n));
      continue;
    }
    // 2. Merge: later uses read the earlier outputs, which take over names they lack.
    for (size_t i = 0; i < n.outputs.size(); ++i) {
      replacement[n.outputs[i]] = earlier->outputs[i];
      std::string& name = g.values[earlier->outputs[i]].name;
      if (name.empty()) name = std::move(g.values[n.outputs[i]].name);
    }
    changed = true;
  }
  // 3. Rewrite the graph outputs, drop the merged nodes and their values.
  g.nodes = std::move(kept);
  for (ValueId& v : g.outputs) v = replaced(v);
  if (changed) graph_compact(g);
  return changed;
}

}  // namespace kiln
