#include <gtest/gtest.h>

#include "kiln/passes/passes.h"
#include "pass_test_util.h"

namespace kiln {
namespace {

using pass_test::count_ops;
using pass_test::f32;
using pass_test::producer;

// Runs canonicalize then dce, so the tests see only what canonicalize left in use.
Expected<bool> canonicalize_and_clean(Graph& g) {
  KILN_ASSIGN_OR_RETURN(bool changed, canonicalize(g, {}));
  KILN_RETURN_IF_ERROR(eliminate_dead_code(g, {}));
  KILN_RETURN_IF_ERROR(verify_graph(g));
  return changed;
}

TEST(CanonicalizeTest, ReshapeOfReshapeReadsTheFirstInput) {
  Graph g;
  ValueId x = graph_add_input(g, "x", f32({2, 3, 4}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId a, graph_add_node1(g, OpKind::kReshape, {x},
                                                       ReshapeAttrs{{6, 4}}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId b, graph_add_node1(g, OpKind::kReshape, {a},
                                                       ReshapeAttrs{{4, 6}}));
  g.outputs = {b};

  KILN_ASSERT_OK_AND_ASSIGN(bool changed, canonicalize_and_clean(g));
  EXPECT_TRUE(changed);
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].op, OpKind::kReshape);
  EXPECT_EQ(g.nodes[0].inputs[0], g.inputs[0]);
  EXPECT_EQ(g.type(g.outputs[0]), f32({4, 6}));
}

TEST(CanonicalizeTest, ReshapeChainBackToTheInputShapeDisappears) {
  Graph g;
  ValueId x = graph_add_input(g, "x", f32({2, 3}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId a, graph_add_node1(g, OpKind::kReshape, {x},
                                                       ReshapeAttrs{{6}}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId b, graph_add_node1(g, OpKind::kReshape, {a},
                                                       ReshapeAttrs{{2, 3}}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId y, graph_add_node1(g, OpKind::kExp, {b}, NoAttrs{}));
  g.outputs = {y};

  KILN_ASSERT_OK_AND_ASSIGN(bool changed, canonicalize_and_clean(g));
  EXPECT_TRUE(changed);
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].op, OpKind::kExp);
  EXPECT_EQ(g.nodes[0].inputs[0], g.inputs[0]);
}

TEST(CanonicalizeTest, PermuteOfPermuteComposes) {
  Graph g;
  ValueId x = graph_add_input(g, "x", f32({2, 3, 4}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId a, graph_add_node1(g, OpKind::kPermute, {x},
                                                       PermuteAttrs{{1, 2, 0}}));  // [3, 4, 2]
  KILN_ASSERT_OK_AND_ASSIGN(ValueId b, graph_add_node1(g, OpKind::kPermute, {a},
                                                       PermuteAttrs{{1, 0, 2}}));  // [4, 3, 2]
  g.outputs = {b};

  KILN_ASSERT_OK_AND_ASSIGN(bool changed, canonicalize_and_clean(g));
  EXPECT_TRUE(changed);
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].inputs[0], g.inputs[0]);
  EXPECT_EQ(g.nodes[0].attrs_as<PermuteAttrs>().perm, (std::vector<int64_t>{2, 1, 0}));
  EXPECT_EQ(g.type(g.outputs[0]), f32({4, 3, 2}));
}

TEST(CanonicalizeTest, PermutesThatCancelDisappear) {
  Graph g;
  ValueId x = graph_add_input(g, "x", f32({2, 3, 4}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId a, graph_add_node1(g, OpKind::kPermute, {x},
                                                       PermuteAttrs{{1, 2, 0}}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId b, graph_add_node1(g, OpKind::kPermute, {a},
                                                       PermuteAttrs{{2, 0, 1}}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId y, graph_add_node1(g, OpKind::kRelu, {b}, NoAttrs{}));
  g.outputs = {y};

  KILN_ASSERT_OK_AND_ASSIGN(bool changed, canonicalize_and_clean(g));
  EXPECT_TRUE(changed);
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].op, OpKind::kRelu);
  EXPECT_EQ(g.nodes[0].inputs[0], g.inputs[0]);
}

TEST(CanonicalizeTest, RemovesIdentityViewsAndCasts) {
  Graph g;
  KILN_ASSERT_OK_AND_ASSIGN(DimExpr b, graph_add_symbol(g, SymbolInfo{"b", 1, 64, 8}));
  ValueId x = graph_add_input(g, "x", f32({b, 4}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId r, graph_add_node1(g, OpKind::kReshape, {x},
                                                       ReshapeAttrs{{b, 4}}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId p, graph_add_node1(g, OpKind::kPermute, {r},
                                                       PermuteAttrs{{0, 1}}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId e, graph_add_node1(g, OpKind::kExpand, {p},
                                                       ExpandAttrs{{b, 4}}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId c, graph_add_node1(g, OpKind::kCast, {e},
                                                       CastAttrs{DType::kF32}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId s, graph_add_node1(g, OpKind::kSlice, {c},
                                                       SliceAttrs{1, 0, 4, 1}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId y, graph_add_node1(g, OpKind::kNeg, {s}, NoAttrs{}));
  g.outputs = {y};

  KILN_ASSERT_OK_AND_ASSIGN(bool changed, canonicalize_and_clean(g));
  EXPECT_TRUE(changed);
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].op, OpKind::kNeg);
  EXPECT_EQ(g.nodes[0].inputs[0], g.inputs[0]);
}

TEST(CanonicalizeTest, KeepsViewsThatChangeSomething) {
  Graph g;
  ValueId x = graph_add_input(g, "x", f32({4, 6}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId s, graph_add_node1(g, OpKind::kSlice, {x},
                                                       SliceAttrs{1, 1, 6, 1}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId s2, graph_add_node1(g, OpKind::kSlice, {x},
                                                        SliceAttrs{1, 0, 6, 2}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId c, graph_add_node1(g, OpKind::kCast, {x},
                                                       CastAttrs{DType::kF16}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId p, graph_add_node1(g, OpKind::kPermute, {x},
                                                       PermuteAttrs{{1, 0}}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId e, graph_add_node1(g, OpKind::kExpand, {x},
                                                       ExpandAttrs{{3, 4, 6}}));
  g.outputs = {s, s2, c, p, e};

  KILN_ASSERT_OK_AND_ASSIGN(bool changed, canonicalize_and_clean(g));
  EXPECT_FALSE(changed);
  EXPECT_EQ(g.nodes.size(), 5u);
  EXPECT_EQ(count_ops(g, OpKind::kPermute), 1);
}

TEST(CanonicalizeTest, KeepsANoOpWhoseRemovalWouldReturnAnInputOrAnOutputTwice) {
  Graph g;
  ValueId x = graph_add_input(g, "x", f32({4}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId c, graph_add_node1(g, OpKind::kCast, {x},
                                                       CastAttrs{DType::kF32}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId y, graph_add_node1(g, OpKind::kRelu, {x}, NoAttrs{}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId r, graph_add_node1(g, OpKind::kReshape, {y},
                                                       ReshapeAttrs{{4}}));
  g.outputs = {c, y, r};

  KILN_ASSERT_OK_AND_ASSIGN(bool changed, canonicalize_and_clean(g));
  EXPECT_FALSE(changed);
  EXPECT_EQ(g.nodes.size(), 3u);
}

TEST(CanonicalizeTest, RemovedNoOpHandsItsOutputNameToItsInput) {
  Graph g;
  ValueId x = graph_add_input(g, "x", f32({4}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId y, graph_add_node1(g, OpKind::kRelu, {x}, NoAttrs{}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId r, graph_add_node1(g, OpKind::kReshape, {y},
                                                       ReshapeAttrs{{4}}));
  g.values[r].name = "out";
  g.outputs = {r};

  KILN_ASSERT_OK_AND_ASSIGN(bool changed, canonicalize_and_clean(g));
  EXPECT_TRUE(changed);
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.outputs[0], g.nodes[0].outputs[0]);
  EXPECT_EQ(g.values[g.outputs[0]].name, "out");
}

TEST(CanonicalizeTest, PermuteMovingOnlyUnitDimsBecomesReshape) {
  Graph g;
  KILN_ASSERT_OK_AND_ASSIGN(DimExpr b, graph_add_symbol(g, SymbolInfo{"b", 1, 64, 8}));
  ValueId x = graph_add_input(g, "x", f32({b, 1, 3}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId p, graph_add_node1(g, OpKind::kPermute, {x},
                                                       PermuteAttrs{{1, 0, 2}}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId q, graph_add_node1(g, OpKind::kPermute, {x},
                                                       PermuteAttrs{{2, 1, 0}}));
  g.outputs = {p, q};

  KILN_ASSERT_OK_AND_ASSIGN(bool changed, canonicalize_and_clean(g));
  EXPECT_TRUE(changed);
  const Node* first = producer(g, g.outputs[0]);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->op, OpKind::kReshape);
  EXPECT_EQ(first->attrs_as<ReshapeAttrs>().shape, (Shape{1, b, 3}));
  EXPECT_EQ(g.type(g.outputs[0]), f32({1, b, 3}));
  // [b, 1, 3] -> [3, 1, b] moves b and 3 past each other: it stays a permute.
  EXPECT_EQ(producer(g, g.outputs[1])->op, OpKind::kPermute);
}

TEST(CanonicalizeTest, NegativePermEntriesCountFromTheFront) {
  Graph g;
  ValueId x = graph_add_input(g, "x", f32({2, 3}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId p, graph_add_node1(g, OpKind::kPermute, {x},
                                                       PermuteAttrs{{-1, 0}}));
  g.outputs = {p};

  KILN_ASSERT_OK_AND_ASSIGN(bool changed, canonicalize_and_clean(g));
  EXPECT_TRUE(changed);
  EXPECT_EQ(g.nodes[0].attrs_as<PermuteAttrs>().perm, (std::vector<int64_t>{1, 0}));
  KILN_ASSERT_OK_AND_ASSIGN(bool again, canonicalize(g, {}));
  EXPECT_FALSE(again);
}

}  // namespace
}  // namespace kiln
