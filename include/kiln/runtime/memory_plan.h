// The activation memory planner: places every intermediate value in one arena so that values whose
// lifetimes do not overlap share bytes. Lifetimes come from node order; offsets are aligned.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kiln/ir/graph.h"

namespace kiln {

inline constexpr int64_t kArenaAlignment = 256;

struct MemoryPlan {
  std::vector<int64_t> offsets;  // per value: byte offset in the arena, or -1 if not in the arena
  std::vector<int64_t> scratch_offsets;  // per node: its scratch's offset, or -1 if it has none
  int64_t arena_bytes = 0;       // the planned peak
  int64_t sum_bytes = 0;         // what one buffer per value (and scratch) would take
  // With a split node: offsets below tail_bytes are the tail region (items live at or after the
  // split node), the rest the body region (items dead before it), planned separately, so the
  // body's bytes may be given back once the nodes before the split have run. Without a split,
  // everything is the tail region: tail_bytes == arena_bytes.
  int64_t tail_bytes = 0;
};

// `value_bytes[v]` is the size of value v; `in_arena[v]` says whether the planner places it (the
// runtime leaves out constants, and graph inputs unless it stages them for CUDA graph replay).
// A value lives from the node that defines it to the last node that reads it; a graph input from
// the start to its last reader; graph outputs in the arena live to the end. `scratch_bytes[i]`,
// when given and not 0, is scratch that node i alone uses while it runs (Kernel::workspace_bytes):
// it lives during node i only, so it shares bytes with values dead by then. `alias_of[v]`, when
// given and not kNoValue, is the value whose bytes v shares (a reshape's output is its input's
// bytes): v gets no bytes of its own, its root's offset, and keeps the root alive as long as v is
// live. Roots are never aliases themselves. Sizes are added unchecked: the caller bounds them.
// `split_node`, when >= 0, splits the arena in two regions (MemoryPlan::tail_bytes): items whose
// lifetime reaches node `split_node` or later, and the others.
MemoryPlan plan_memory(const Graph& g, std::span<const int64_t> value_bytes,
                       std::span<const bool> in_arena, std::span<const ValueId> alias_of = {},
                       std::span<const int64_t> scratch_bytes = {}, int64_t split_node = -1);

}  // namespace kiln
