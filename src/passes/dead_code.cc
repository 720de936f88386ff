// dce: removes every node none of whose outputs reaches a graph output, then renumbers values with
// graph_compact (which also drops values that other passes left undefined). Graph inputs stay even
// when nothing reads them: they are the engine's signature. All ops are pure, so no node is kept
// for its side effects. It does not simplify live nodes.
#include <vector>

#include "kiln/passes/passes.h"

namespace kiln {

Expected<bool> eliminate_dead_code(Graph& g, const PassOptions& options) {
  // 1. Mark live values backwards from the graph outputs; nodes are in topological order, so one
  //    reverse sweep sees every user before its producer.
  std::vector<bool> live(g.values.size(), false);
  auto in_range = [&](ValueId v) { return v >= 0 && static_cast<size_t>(v) < live.size(); };
  for (ValueId v : g.outputs) {
    if (in_range(v)) live[v] = true;
  }
  std::vector<bool> keep(g.nodes.size(), false);
  for (size_t i = g.nodes.size(); i-- > 0;) {
    const Node& n = g.nodes[i];
    for (ValueId v : n.outputs) {
      if (in_range(v) && live[v]) keep[i] = true;
    }
    if (!keep[i]) continue;
    for (ValueId v : n.inputs) {
      if (in_range(v)) live[v] = true;
    }
  }
  // 2. Drop the dead nodes, keeping the order of the rest.
  std::vector<Node> kept;
  kept.reserve(g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (keep[i]) kept.push_back(std::move(g.nodes[i]));
  }
  const bool removed_nodes = kept.size() != g.nodes.size();
  g.nodes = std::move(kept);
  // 3. Renumber, dropping the values of the removed nodes and any other pass's leftovers.
  const size_t num_values = g.values.size();
  graph_compact(g);
  return removed_nodes || g.values.size() != num_values;
}

}  // namespace kiln
