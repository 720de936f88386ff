#include "kiln/runtime/memory_plan.h"

#include <gtest/gtest.h>

#include <memory>

namespace kiln {
namespace {

// Graphs here are wired by hand (no shape inference): the planner only reads node order, node
// inputs/outputs and graph outputs.
struct Wired {
  Graph g;
  ValueId add_value() {
    g.values.push_back(Value{"", TensorType{}});
    return static_cast<ValueId>(g.values.size() - 1);
  }
  ValueId add_input() {
    ValueId v = add_value();
    g.inputs.push_back(v);
    return v;
  }
  // A node reading `inputs` and defining one new value.
  ValueId add_node(std::vector<ValueId> inputs) {
    ValueId out = add_value();
    g.nodes.push_back(Node{OpKind::kRelu, std::move(inputs), {out}, NoAttrs{}, ""});
    return out;
  }
  // x -> v1 -> ... -> vn, vn the graph output: {x, v1, ..., vn}.
  std::vector<ValueId> chain(int n) {
    std::vector<ValueId> v = {add_input()};
    for (int i = 0; i < n; ++i) v.push_back(add_node({v.back()}));
    g.outputs = {v.back()};
    return v;
  }
};

struct Lifetime {
  int64_t first, last;
};

// Lifetimes recomputed independently of the planner, for checking its result.
std::vector<Lifetime> lifetimes(const Graph& g) {
  std::vector<Lifetime> out(g.values.size(), Lifetime{-1, -1});
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (ValueId v : g.nodes[i].outputs) out[v] = {int64_t(i), int64_t(i)};
    for (ValueId v : g.nodes[i].inputs) out[v].last = std::max<int64_t>(out[v].last, i);
  }
  for (ValueId v : g.outputs) out[v].last = int64_t(g.nodes.size());
  return out;
}

void expect_valid(const Graph& g, const std::vector<int64_t>& bytes,
                  const std::unique_ptr<bool[]>& in_arena, const MemoryPlan& plan) {
  std::vector<Lifetime> life = lifetimes(g);
  ASSERT_EQ(plan.offsets.size(), g.values.size());
  int64_t sum = 0, top = 0;
  for (size_t v = 0; v < g.values.size(); ++v) {
    if (!in_arena[v]) {
      EXPECT_EQ(plan.offsets[v], -1) << "value " << v;
      continue;
    }
    EXPECT_GE(plan.offsets[v], 0) << "value " << v;
    EXPECT_EQ(plan.offsets[v] % kArenaAlignment, 0) << "value " << v;
    sum += bytes[v];
    top = std::max(top, plan.offsets[v] + bytes[v]);
  }
  EXPECT_EQ(plan.sum_bytes, sum);
  EXPECT_EQ(plan.arena_bytes, top);
  for (size_t a = 0; a < g.values.size(); ++a) {
    for (size_t b = a + 1; b < g.values.size(); ++b) {
      if (!in_arena[a] || !in_arena[b]) continue;
      bool live_together = life[a].first <= life[b].last && life[b].first <= life[a].last;
      bool bytes_overlap = plan.offsets[a] < plan.offsets[b] + bytes[b] &&
                           plan.offsets[b] < plan.offsets[a] + bytes[a];
      EXPECT_FALSE(live_together && bytes_overlap) << "values " << a << " and " << b;
    }
  }
}

std::unique_ptr<bool[]> all_but_inputs(const Graph& g) {
  std::unique_ptr<bool[]> in(new bool[g.values.size()]());
  for (size_t v = 0; v < g.values.size(); ++v) in[v] = true;
  for (ValueId v : g.inputs) in[v] = false;
  return in;
}

TEST(MemoryPlanTest, ChainReusesMemory) {
  // x -> a -> b -> c -> d -> e (output): at most two are live at a time.
  Wired w;
  ValueId v = w.add_input();
  for (int i = 0; i < 5; ++i) v = w.add_node({v});
  w.g.outputs = {v};
  std::vector<int64_t> bytes(w.g.values.size(), 1000);
  auto in = all_but_inputs(w.g);
  MemoryPlan plan = plan_memory(w.g, bytes, std::span<const bool>(in.get(), w.g.values.size()));
  expect_valid(w.g, bytes, in, plan);
  EXPECT_EQ(plan.sum_bytes, 5000);
  // Two 1000-byte buffers, the second at the next aligned offset.
  EXPECT_EQ(plan.arena_bytes, 1024 + 1000);
  EXPECT_LT(plan.arena_bytes, plan.sum_bytes);
}

TEST(MemoryPlanTest, OverlappingLifetimesNeverShareBytes) {
  // A diamond plus long-lived skip connections and mixed sizes, unaligned on purpose.
  Wired w;
  ValueId x = w.add_input();
  ValueId a = w.add_node({x});
  ValueId b = w.add_node({a});
  ValueId c = w.add_node({a});
  ValueId d = w.add_node({b, c});
  ValueId e = w.add_node({d});
  ValueId f = w.add_node({e, a});  // a lives until here
  ValueId unused = w.add_node({f});
  ValueId h = w.add_node({f, d});
  w.g.outputs = {h, e};
  (void)unused;
  std::vector<int64_t> bytes = {4096, 1000, 3000, 17, 5000, 256, 2500, 700, 999};
  ASSERT_EQ(bytes.size(), w.g.values.size());
  auto in = all_but_inputs(w.g);
  MemoryPlan plan = plan_memory(w.g, bytes, std::span<const bool>(in.get(), w.g.values.size()));
  expect_valid(w.g, bytes, in, plan);
  EXPECT_LE(plan.arena_bytes, plan.sum_bytes + 8 * kArenaAlignment);
}

TEST(MemoryPlanTest, GraphOutputsLiveToTheEnd) {
  // `first` is an output defined at node 0 and never read: nothing after it may take its bytes.
  Wired w;
  ValueId x = w.add_input();
  ValueId first = w.add_node({x});
  ValueId second = w.add_node({x});
  ValueId third = w.add_node({second});
  w.g.outputs = {first, third};
  std::vector<int64_t> bytes = {64, 512, 512, 512};
  auto in = all_but_inputs(w.g);
  MemoryPlan plan = plan_memory(w.g, bytes, std::span<const bool>(in.get(), w.g.values.size()));
  expect_valid(w.g, bytes, in, plan);
  EXPECT_NE(plan.offsets[first], plan.offsets[second]);
  EXPECT_NE(plan.offsets[first], plan.offsets[third]);
  EXPECT_EQ(plan.arena_bytes, 512 * 3);
}

TEST(MemoryPlanTest, OffsetsAreAlignedAndExcludedValuesAreNotPlaced) {
  Wired w;
  ValueId x = w.add_input();
  ValueId a = w.add_node({x});
  ValueId b = w.add_node({x, a});
  ValueId c = w.add_node({a, b});
  w.g.outputs = {c};
  std::vector<int64_t> bytes = {10, 7, 5, 3};
  auto in = all_but_inputs(w.g);
  in[b] = false;  // as if written straight into a caller buffer
  MemoryPlan plan = plan_memory(w.g, bytes, std::span<const bool>(in.get(), w.g.values.size()));
  expect_valid(w.g, bytes, in, plan);
  EXPECT_EQ(plan.offsets[x], -1);
  EXPECT_EQ(plan.offsets[b], -1);
  EXPECT_EQ(plan.offsets[a], 0);
  EXPECT_EQ(plan.offsets[c], kArenaAlignment);  // a is still live when c is written
  EXPECT_EQ(plan.arena_bytes, kArenaAlignment + 3);
  EXPECT_EQ(plan.sum_bytes, 7 + 3);
}

TEST(MemoryPlanTest, LargestValueIsPlacedFirst) {
  // big (node 0) and small1 (node 1) are live together; small2 (node 3) can reuse small1's bytes
  // once small1 is dead, and big is placed at offset 0 because it is placed first.
  Wired w;
  ValueId x = w.add_input();
  ValueId small1 = w.add_node({x});
  ValueId big = w.add_node({small1});
  ValueId mid = w.add_node({big});
  ValueId small2 = w.add_node({mid, big});
  w.g.outputs = {small2};
  std::vector<int64_t> bytes = {8, 100, 10000, 300, 100};
  auto in = all_but_inputs(w.g);
  MemoryPlan plan = plan_memory(w.g, bytes, std::span<const bool>(in.get(), w.g.values.size()));
  expect_valid(w.g, bytes, in, plan);
  EXPECT_EQ(plan.offsets[big], 0);
  EXPECT_EQ(plan.offsets[small1], 10240);
  EXPECT_EQ(plan.offsets[mid], 10240);
  EXPECT_EQ(plan.offsets[small2], 10240 + 512);
}

TEST(MemoryPlanTest, AnAliasSharesItsRootsBytesAndKeepsItAlive) {
  // x -> a -> r (a view of a) -> b -> c(r, b): a's bytes must live until c reads r, so b may not
  // take them; r gets a's offset and no bytes of its own.
  Wired w;
  ValueId x = w.add_input();
  ValueId a = w.add_node({x});
  ValueId r = w.add_node({a});
  ValueId b = w.add_node({r});
  ValueId c = w.add_node({r, b});
  w.g.outputs = {c};
  std::vector<int64_t> bytes(w.g.values.size(), 1000);
  std::vector<ValueId> alias(w.g.values.size(), kNoValue);
  alias[r] = a;
  auto in = all_but_inputs(w.g);
  MemoryPlan plan =
      plan_memory(w.g, bytes, std::span<const bool>(in.get(), w.g.values.size()), alias);
  EXPECT_EQ(plan.offsets[r], plan.offsets[a]);
  EXPECT_NE(plan.offsets[b], plan.offsets[a]);
  EXPECT_NE(plan.offsets[c], plan.offsets[a]);
  EXPECT_EQ(plan.sum_bytes, 3000);  // a, b, c
  // Without the alias, a dies at r's node and b reuses its bytes.
  MemoryPlan plain = plan_memory(w.g, bytes, std::span<const bool>(in.get(), w.g.values.size()));
  EXPECT_EQ(plain.offsets[b], plain.offsets[a]);
}

TEST(MemoryPlanTest, StagedInputsLiveUntilTheirLastReader) {
  // x (a graph input staged in the arena) -> a -> b -> c: b may take x's bytes, x is dead by then.
  Wired w;
  ValueId x = w.add_input();
  ValueId a = w.add_node({x});
  ValueId b = w.add_node({a});
  ValueId c = w.add_node({b});
  w.g.outputs = {c};
  std::vector<int64_t> bytes(w.g.values.size(), 1000);
  std::unique_ptr<bool[]> in(new bool[w.g.values.size()]());
  for (size_t v = 0; v < w.g.values.size(); ++v) in[v] = true;
  MemoryPlan plan = plan_memory(w.g, bytes, std::span<const bool>(in.get(), w.g.values.size()));
  expect_valid(w.g, bytes, in, plan);
  EXPECT_NE(plan.offsets[x], plan.offsets[a]);  // node 0 reads x and writes a
  EXPECT_EQ(plan.offsets[b], plan.offsets[x]);
  EXPECT_EQ(plan.arena_bytes, 1024 + 1000);
}

TEST(MemoryPlanTest, NodeScratchLivesWhileItsNodeRuns) {
  // x -> a -> b -> c -> d, scratch at nodes 1 and 3. Node 1's scratch may not touch a or b (its
  // operands); node 3's may reuse what is dead by then, node 1's scratch and a included.
  Wired w;
  w.chain(4);
  std::vector<int64_t> bytes(w.g.values.size(), 1000);
  std::vector<int64_t> scratch = {0, 3000, 0, 3000};
  auto in = all_but_inputs(w.g);
  MemoryPlan plan = plan_memory(w.g, bytes, std::span<const bool>(in.get(), w.g.values.size()),
                                {}, scratch);
  ASSERT_EQ(plan.scratch_offsets.size(), w.g.nodes.size());
  EXPECT_EQ(plan.scratch_offsets[0], -1);
  EXPECT_EQ(plan.scratch_offsets[2], -1);
  auto disjoint = [&](int64_t off, int64_t size, ValueId v) {
    return off + size <= plan.offsets[v] || plan.offsets[v] + bytes[v] <= off;
  };
  for (int node : {1, 3}) {
    const int64_t off = plan.scratch_offsets[node];
    ASSERT_GE(off, 0);
    EXPECT_EQ(off % kArenaAlignment, 0);
    for (ValueId v : {w.g.nodes[node].inputs[0], w.g.nodes[node].outputs[0]}) {
      EXPECT_TRUE(disjoint(off, 3000, v)) << "node " << node << " value " << v;
    }
    EXPECT_LE(off + 3000, plan.arena_bytes);
  }
  // Both scratches share bytes: two values and one scratch are live at any node.
  EXPECT_EQ(plan.scratch_offsets[1], plan.scratch_offsets[3]);
  EXPECT_EQ(plan.arena_bytes, 3072 + 1024 + 1000);
  EXPECT_EQ(plan.sum_bytes, 4 * 1000 + 2 * 3000);
}

TEST(MemoryPlanTest, ASplitNodePlacesTheTailApartFromTheBody) {
  // x -> a -> b -> c -> d, split at node 3 (it writes d): c and d live into the tail, a and b die
  // before it. Node 1's scratch is the body's, node 3's the tail's. Each region is planned alone,
  // the body after the tail.
  Wired w;
  const std::vector<ValueId> v = w.chain(4);
  const ValueId a = v[1], b = v[2], c = v[3], d = v[4];
  std::vector<int64_t> bytes(w.g.values.size(), 1000);
  std::vector<int64_t> scratch = {0, 500, 0, 500};
  auto in = all_but_inputs(w.g);
  std::span<const bool> in_arena(in.get(), w.g.values.size());
  MemoryPlan whole = plan_memory(w.g, bytes, in_arena, {}, scratch);
  EXPECT_EQ(whole.tail_bytes, whole.arena_bytes);  // no split: all of it is the tail's
  expect_valid(w.g, bytes, in, plan_memory(w.g, bytes, in_arena, {}, {}, /*split_node=*/3));
  MemoryPlan plan = plan_memory(w.g, bytes, in_arena, {}, scratch, /*split_node=*/3);
  EXPECT_EQ(plan.tail_bytes, 2560);  // c, d and node 3's scratch, all live at node 3
  for (ValueId v : {c, d}) EXPECT_LT(plan.offsets[v], plan.tail_bytes) << "value " << v;
  for (ValueId v : {a, b}) EXPECT_GE(plan.offsets[v], plan.tail_bytes) << "value " << v;
  EXPECT_LT(plan.scratch_offsets[3], plan.tail_bytes);
  EXPECT_GE(plan.scratch_offsets[1], plan.tail_bytes);
  EXPECT_EQ(plan.tail_bytes % kArenaAlignment, 0);
  EXPECT_EQ(plan.arena_bytes, plan.tail_bytes + 2548);  // a, b and node 1's scratch
}

}  // namespace
}  // namespace kiln
