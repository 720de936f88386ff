// The activation memory planner: live intervals from node order, then greedy-by-size placement
// (TFLite / TVM style): the largest values are placed first, each in the smallest free gap between
// already-placed values whose lifetimes overlap its own, at an aligned offset.
//
// Aliases (a reshape's output shares its input's bytes) take their root's offset and extend its
// lifetime. A node's scratch is one more item, live during that node only. With a split node, the
// items that live at or after it and those that die before it are placed in two regions of their
// own (tail first, then body), so that the body's bytes can be released before the tail runs.
// Deliberately not here: in-place reuse of an input's buffer by its reader, and anything about
// devices. The plan is a pure function of the graph, the sizes and which values take part.
#include "kiln/runtime/memory_plan.h"

#include <algorithm>
#include <limits>
#include <numeric>

namespace kiln {
namespace {

int64_t align_up(int64_t n, int64_t alignment) {
  return (n + alignment - 1) / alignment * alignment;
}

struct Interval {
  int64_t first = 0;  // index of the defining node
  int64_t last = 0;   // index of the last reading node (nodes.size() for arena graph outputs)
};

bool overlaps(const Interval& a, const Interval& b) {
  return a.first <= b.last && b.first <= a.last;
}

}  // namespace

MemoryPlan plan_memory(const Graph& g, std::span<const int64_t> value_bytes,
                       std::span<const bool> in_arena, std::span<const ValueId> alias_of,
                       std::span<const int64_t> scratch_bytes, int64_t split_node) {
  const size_t num_values = g.values.size();
  MemoryPlan plan;
  plan.offsets.assign(num_values, -1);
  plan.scratch_offsets.assign(g.nodes.size(), -1);

  // 1. Live intervals. A value is live from its defining node to its last reader; a value nobody
  //    reads still occupies its bytes while its node runs.
  auto root_of = [&](size_t v) -> ValueId {
    return v < alias_of.size() ? alias_of[v] : kNoValue;
  };
  auto placed = [&](size_t v) {
    return v < value_bytes.size() && v < in_arena.size() && in_arena[v] && root_of(v) == kNoValue;
  };
  std::vector<Interval> live(num_values);
  std::vector<bool> defined(num_values, false);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (ValueId v : g.nodes[i].outputs) {
      if (v < 0 || static_cast<size_t>(v) >= num_values) continue;
      live[v] = Interval{static_cast<int64_t>(i), static_cast<int64_t>(i)};
      defined[v] = true;
    }
  }
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (ValueId v : g.nodes[i].inputs) {
      if (v < 0 || static_cast<size_t>(v) >= num_values) continue;
      live[v].last = std::max(live[v].last, static_cast<int64_t>(i));
    }
  }
  const int64_t end = static_cast<int64_t>(g.nodes.size());
  for (ValueId v : g.outputs) {
    if (v >= 0 && static_cast<size_t>(v) < num_values) live[v].last = end;
  }
  for (ValueId v : g.inputs) {  // a graph input: from the start to its last reader
    if (v >= 0 && static_cast<size_t>(v) < num_values && !defined[v]) {
      live[v].first = 0;
      defined[v] = true;
    }
  }
  for (size_t v = 0; v < num_values; ++v) {
    if (!defined[v]) live[v] = Interval{0, end};  // defined nowhere: live throughout
  }
  for (size_t v = 0; v < num_values; ++v) {  // an alias keeps its root alive
    const ValueId r = root_of(v);
    if (r >= 0 && static_cast<size_t>(r) < num_values) {
      live[r].last = std::max(live[r].last, live[v].last);
    }
  }

  // 2. The items: placed values, then node scratch (item num_values + i is node i's), each with
  //    its size and interval. Largest first; ties by first use, then item, so the plan is
  //    deterministic.
  std::vector<int64_t> item_bytes(value_bytes.begin(), value_bytes.end());
  item_bytes.resize(num_values, 0);
  std::vector<size_t> order;
  for (size_t v = 0; v < num_values; ++v) {
    if (placed(v)) order.push_back(v);
  }
  for (size_t i = 0; i < g.nodes.size() && i < scratch_bytes.size(); ++i) {
    if (scratch_bytes[i] <= 0) continue;
    order.push_back(item_bytes.size());
    item_bytes.push_back(scratch_bytes[i]);
    live.push_back(Interval{static_cast<int64_t>(i), static_cast<int64_t>(i)});
  }
  std::vector<int64_t> item_offsets(item_bytes.size(), -1);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (item_bytes[a] != item_bytes[b]) return item_bytes[a] > item_bytes[b];
    if (live[a].first != live[b].first) return live[a].first < live[b].first;
    return a < b;
  });

  // 3. Each value goes into the smallest gap between conflicting placed values of its region that
  //    fits it (the lowest such gap on ties), or after the highest of them.
  auto in_tail = [&](size_t item) { return split_node < 0 || live[item].last >= split_node; };
  int64_t region_top[2] = {0, 0};  // body, tail
  std::vector<size_t> done;
  for (size_t v : order) {
    const int64_t size = std::max<int64_t>(item_bytes[v], 0);
    std::vector<std::pair<int64_t, int64_t>> busy;  // [offset, end) of conflicting items
    for (size_t u : done) {
      if (in_tail(u) == in_tail(v) && overlaps(live[u], live[v])) {
        busy.emplace_back(item_offsets[u], item_offsets[u] + std::max<int64_t>(item_bytes[u], 0));
      }
    }
    std::sort(busy.begin(), busy.end());
    int64_t best = -1;
    int64_t best_gap = std::numeric_limits<int64_t>::max();
    int64_t cursor = 0;  // lowest aligned offset above everything seen so far
    for (const auto& [begin, stop] : busy) {
      if (begin >= cursor && begin - cursor >= size && begin - cursor < best_gap) {
        best = cursor;
        best_gap = begin - cursor;
      }
      cursor = std::max(cursor, align_up(stop, kArenaAlignment));
    }
    if (best < 0) best = cursor;
    item_offsets[v] = best;
    int64_t& top = region_top[in_tail(v) ? 1 : 0];
    top = std::max(top, best + size);
    plan.sum_bytes += size;
    done.push_back(v);
  }
  // 4. The body region goes after the tail region.
  plan.tail_bytes = region_top[1];
  plan.arena_bytes = region_top[1];
  if (region_top[0] > 0) {
    plan.tail_bytes = align_up(region_top[1], kArenaAlignment);
    plan.arena_bytes = plan.tail_bytes + region_top[0];
    for (size_t item = 0; item < item_offsets.size(); ++item) {
      if (item_offsets[item] >= 0 && !in_tail(item)) item_offsets[item] += plan.tail_bytes;
    }
  }
  for (size_t v = 0; v < num_values; ++v) {
    if (placed(v)) plan.offsets[v] = item_offsets[v];
  }
  for (size_t i = 0, item = num_values; i < g.nodes.size() && i < scratch_bytes.size(); ++i) {
    if (scratch_bytes[i] > 0) plan.scratch_offsets[i] = item_offsets[item++];
  }
  for (size_t v = 0; v < num_values; ++v) {
    const ValueId r = root_of(v);
    if (r >= 0 && static_cast<size_t>(r) < num_values) plan.offsets[v] = plan.offsets[r];
  }
  return plan;
}

}  // namespace kiln
