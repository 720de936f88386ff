#include <gtest/gtest.h>

#include "kiln/passes/passes.h"
#include "pass_test_util.h"

namespace kiln {
namespace {

using pass_test::count_ops;
using pass_test::f32;

TEST(DeadCodeTest, RemovesUnusedChainsAndKeepsUnusedInputs) {
  Graph g;
  ValueId x = graph_add_input(g, "x", f32({4}));
  graph_add_input(g, "unused", f32({4}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId dead1, graph_add_node1(g, OpKind::kRelu, {x}, NoAttrs{}));
  KILN_ASSERT_OK(graph_add_node1(g, OpKind::kNeg, {dead1}, NoAttrs{}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId live, graph_add_node1(g, OpKind::kExp, {x}, NoAttrs{}));
  g.outputs = {live};

  KILN_ASSERT_OK_AND_ASSIGN(bool changed, eliminate_dead_code(g, {}));
  EXPECT_TRUE(changed);
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].op, OpKind::kExp);
  // Both inputs stay; the values are renumbered x, unused, exp.
  ASSERT_EQ(g.inputs.size(), 2u);
  EXPECT_EQ(g.values[g.inputs[1]].name, "unused");
  EXPECT_EQ(g.values.size(), 3u);
  EXPECT_EQ(g.nodes[0].inputs[0], g.inputs[0]);
  EXPECT_EQ(g.outputs[0], g.nodes[0].outputs[0]);
  KILN_ASSERT_OK(verify_graph(g));
}

TEST(DeadCodeTest, KeepsEverythingThatReachesAnOutput) {
  Graph g;
  ValueId x = graph_add_input(g, "x", f32({4}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId a, graph_add_node1(g, OpKind::kRelu, {x}, NoAttrs{}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId b, graph_add_node1(g, OpKind::kNeg, {a}, NoAttrs{}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId c, graph_add_node1(g, OpKind::kAdd, {a, b}, NoAttrs{}));
  g.outputs = {c, a};

  KILN_ASSERT_OK_AND_ASSIGN(bool changed, eliminate_dead_code(g, {}));
  EXPECT_FALSE(changed);
  EXPECT_EQ(g.nodes.size(), 3u);
  EXPECT_EQ(g.outputs, (std::vector<ValueId>{c, a}));
}

TEST(DeadCodeTest, KeepsAMultiOutputNodeWhenOneOutputIsUsed) {
  Graph g;
  ValueId x = graph_add_input(g, "x", f32({4}));
  KILN_ASSERT_OK_AND_ASSIGN(std::vector<ValueId> parts,
                            graph_add_node(g, OpKind::kSplit, {x}, SplitAttrs{0, {1, 3}}));
  ASSERT_EQ(parts.size(), 2u);
  g.outputs = {parts[1]};

  KILN_ASSERT_OK_AND_ASSIGN(bool changed, eliminate_dead_code(g, {}));
  EXPECT_FALSE(changed);
  EXPECT_EQ(count_ops(g, OpKind::kSplit), 1);
}

TEST(DeadCodeTest, RemovesUnusedConstantsAndIsIdempotent) {
  Graph g;
  ValueId x = graph_add_input(g, "x", f32({2}));
  KILN_ASSERT_OK(pass_test::add_f32_constant(g, {2}, {1, 2}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId w, pass_test::add_f32_constant(g, {2}, {3, 4}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId y, graph_add_node1(g, OpKind::kMul, {x, w}, NoAttrs{}));
  g.outputs = {y};

  KILN_ASSERT_OK_AND_ASSIGN(bool changed, eliminate_dead_code(g, {}));
  EXPECT_TRUE(changed);
  EXPECT_EQ(count_ops(g, OpKind::kConstant), 1);
  EXPECT_EQ(pass_test::constant_f32(g, g.nodes[1].inputs[1]), (std::vector<float>{3, 4}));
  KILN_ASSERT_OK_AND_ASSIGN(bool again, eliminate_dead_code(g, {}));
  EXPECT_FALSE(again);
}

}  // namespace
}  // namespace kiln
