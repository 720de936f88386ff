#include <gtest/gtest.h>

#include "kiln/passes/passes.h"
#include "pass_test_util.h"

namespace kiln {
namespace {

using pass_test::add_f32_constant;
using pass_test::constant_f32;
using pass_test::count_ops;
using pass_test::f32;
using pass_test::producer;

TEST(FoldConstantsTest, FoldsAChainOfConstantExpressionsInOneRun) {
  Graph g;
  ValueId x = graph_add_input(g, "x", f32({2}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId c1, add_f32_constant(g, {2}, {1, 2}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId c2, add_f32_constant(g, {2}, {10, 20}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId sum,
                            graph_add_node1(g, OpKind::kAdd, {c1, c2}, NoAttrs{}, "model.py:3"));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId neg, graph_add_node1(g, OpKind::kNeg, {sum}, NoAttrs{}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId y, graph_add_node1(g, OpKind::kMul, {x, neg}, NoAttrs{}));
  g.outputs = {y};

  KILN_ASSERT_OK_AND_ASSIGN(bool changed, fold_constants(g, {}));
  EXPECT_TRUE(changed);
  EXPECT_EQ(count_ops(g, OpKind::kAdd), 0);
  EXPECT_EQ(count_ops(g, OpKind::kNeg), 0);
  EXPECT_EQ(count_ops(g, OpKind::kConstant), 4);  // c1 and c2 stay for dce
  // The folded values keep their ids, so the mul still reads `neg`, now a constant.
  EXPECT_EQ(constant_f32(g, sum), (std::vector<float>{11, 22}));
  EXPECT_EQ(constant_f32(g, neg), (std::vector<float>{-11, -22}));
  EXPECT_EQ(producer(g, sum)->loc, "model.py:3");
  EXPECT_EQ(g.nodes.back().op, OpKind::kMul);
  EXPECT_EQ(g.nodes.back().inputs[1], neg);
  KILN_ASSERT_OK(verify_graph(g));

  KILN_ASSERT_OK_AND_ASSIGN(bool again, fold_constants(g, {}));
  EXPECT_FALSE(again);
}

TEST(FoldConstantsTest, LeavesNodesThatReadGraphInputs) {
  Graph g;
  ValueId x = graph_add_input(g, "x", f32({2}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId c, add_f32_constant(g, {2}, {1, 2}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId y, graph_add_node1(g, OpKind::kAdd, {x, c}, NoAttrs{}));
  g.outputs = {y};

  KILN_ASSERT_OK_AND_ASSIGN(bool changed, fold_constants(g, {}));
  EXPECT_FALSE(changed);
  EXPECT_EQ(count_ops(g, OpKind::kAdd), 1);
}

TEST(FoldConstantsTest, FoldsSourcesWithStaticShapes) {
  Graph g;
  KILN_ASSERT_OK_AND_ASSIGN(ValueId full, graph_add_node1(g, OpKind::kFull, {},
                                                          FullAttrs{{2, 2}, 3.0, DType::kF32}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId range, graph_add_node1(g, OpKind::kArange, {},
                                                           ArangeAttrs{1, 2, 3, DType::kF32}));
  g.outputs = {full, range};

  KILN_ASSERT_OK_AND_ASSIGN(bool changed, fold_constants(g, {}));
  EXPECT_TRUE(changed);
  EXPECT_EQ(count_ops(g, OpKind::kConstant), 2);
  EXPECT_EQ(constant_f32(g, full), (std::vector<float>{3, 3, 3, 3}));
  EXPECT_EQ(constant_f32(g, range), (std::vector<float>{1, 3, 5}));
  EXPECT_EQ(g.type(full), f32({2, 2}));
  KILN_ASSERT_OK(verify_graph(g));
}

TEST(FoldConstantsTest, LeavesSymbolicShapesAlone) {
  Graph g;
  KILN_ASSERT_OK_AND_ASSIGN(DimExpr b, graph_add_symbol(g, SymbolInfo{"b", 1, 64, 8}));
  graph_add_input(g, "x", f32({b}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId full, graph_add_node1(g, OpKind::kFull, {},
                                                          FullAttrs{{b}, 1.0, DType::kF32}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId range, graph_add_node1(g, OpKind::kArange, {},
                                                           ArangeAttrs{0, 1, b, DType::kI64}));
  g.outputs = {full, range};

  KILN_ASSERT_OK_AND_ASSIGN(bool changed, fold_constants(g, {}));
  EXPECT_FALSE(changed);
  EXPECT_EQ(count_ops(g, OpKind::kConstant), 0);
}

TEST(FoldConstantsTest, FoldsEachOutputOfAMultiOutputNode) {
  Graph g;
  KILN_ASSERT_OK_AND_ASSIGN(ValueId c, add_f32_constant(g, {4}, {1, 2, 3, 4}));
  KILN_ASSERT_OK_AND_ASSIGN(std::vector<ValueId> parts,
                            graph_add_node(g, OpKind::kSplit, {c}, SplitAttrs{0, {1, 3}}));
  ASSERT_EQ(parts.size(), 2u);
  g.outputs = {parts[1], parts[0]};

  KILN_ASSERT_OK_AND_ASSIGN(bool changed, fold_constants(g, {}));
  EXPECT_TRUE(changed);
  EXPECT_EQ(count_ops(g, OpKind::kSplit), 0);
  EXPECT_EQ(count_ops(g, OpKind::kConstant), 3);
  EXPECT_EQ(constant_f32(g, parts[0]), (std::vector<float>{1}));
  EXPECT_EQ(constant_f32(g, parts[1]), (std::vector<float>{2, 3, 4}));
  KILN_ASSERT_OK(verify_graph(g));
}

TEST(FoldConstantsTest, FoldsUpTo16MiBAndNoMore) {
  constexpr int64_t kElements = int64_t{4} << 20;  // 16 MiB of f32
  Graph g;
  // neg does not grow its input, so only the size limit applies.
  KILN_ASSERT_OK_AND_ASSIGN(ValueId a, add_f32_constant(g, {kElements},
                                                        std::vector<float>(kElements, 1.0f)));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId b, add_f32_constant(g, {kElements + 1},
                                                        std::vector<float>(kElements + 1, 1.0f)));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId fits, graph_add_node1(g, OpKind::kNeg, {a}, NoAttrs{}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId too_big, graph_add_node1(g, OpKind::kNeg, {b}, NoAttrs{}));
  g.outputs = {fits, too_big};

  KILN_ASSERT_OK_AND_ASSIGN(bool changed, fold_constants(g, {}));
  EXPECT_TRUE(changed);
  EXPECT_EQ(producer(g, fits)->op, OpKind::kConstant);
  EXPECT_EQ(producer(g, too_big)->op, OpKind::kNeg);
}

TEST(FoldConstantsTest, ANodeThatMakesMuchDataFromLittleStaysUnlessItFeedsAMask) {
  Graph g;
  ValueId q = graph_add_input(g, "q", f32({1, 1, 128, 8}));
  // 4 KiB from nothing folds; 4 KiB and 4 bytes does not.
  KILN_ASSERT_OK_AND_ASSIGN(ValueId small, graph_add_node1(g, OpKind::kFull, {},
                                                           FullAttrs{{1024}, 2.0}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId grown, graph_add_node1(g, OpKind::kFull, {},
                                                           FullAttrs{{1025}, 2.0}));
  // A broadcast of a constant is measured against the constant it reads (8 bytes).
  KILN_ASSERT_OK_AND_ASSIGN(ValueId c, add_f32_constant(g, {2}, {1, 2}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId wide,
                            graph_add_node1(g, OpKind::kExpand, {c}, ExpandAttrs{{1024, 2}}));
  // Up to 4 times the bytes read folds (a padded or widened weight); more does not.
  KILN_ASSERT_OK_AND_ASSIGN(ValueId row, add_f32_constant(g, {1, 1024},
                                                          std::vector<float>(1024, 3.0f)));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId four,
                            graph_add_node1(g, OpKind::kExpand, {row}, ExpandAttrs{{4, 1024}}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId five,
                            graph_add_node1(g, OpKind::kExpand, {row}, ExpandAttrs{{5, 1024}}));
  // Nodes after one that stayed cannot fold: their input is no longer constant.
  KILN_ASSERT_OK_AND_ASSIGN(ValueId after, graph_add_node1(g, OpKind::kNeg, {wide}, NoAttrs{}));
  // Bytes read count each distinct input once: five copies of 8 KiB are 5 times it.
  KILN_ASSERT_OK_AND_ASSIGN(ValueId pair, add_f32_constant(g, {2, 1024},
                                                           std::vector<float>(2048, 1.0f)));
  KILN_ASSERT_OK_AND_ASSIGN(
      ValueId copies,
      graph_add_node1(g, OpKind::kConcat, {pair, pair, pair, pair, pair}, AxisAttrs{0}));
  // A 64 KiB mask part that meets a graph input (a padding mask) is not constant at the mask:
  // no exception for it.
  ValueId padding = graph_add_input(g, "padding", f32({1, 1, 128, 128}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId causal, graph_add_node1(g, OpKind::kFull, {},
                                                            FullAttrs{{1, 1, 128, 128}, 0.0}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId mixed,
                            graph_add_node1(g, OpKind::kAdd, {causal, padding}, NoAttrs{}));
  KILN_ASSERT_OK_AND_ASSIGN(
      ValueId padded, graph_add_node1(g, OpKind::kAttention, {q, q, q, mixed}, AttentionAttrs{}));
  // A 64 KiB mask, through a reshape, folds whatever its size.
  KILN_ASSERT_OK_AND_ASSIGN(ValueId zeros, graph_add_node1(g, OpKind::kFull, {},
                                                           FullAttrs{{128, 128}, 0.0}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId mask, graph_add_node1(g, OpKind::kReshape, {zeros},
                                                          ReshapeAttrs{{1, 1, 128, 128}}));
  KILN_ASSERT_OK_AND_ASSIGN(
      ValueId y, graph_add_node1(g, OpKind::kAttention, {q, q, q, mask}, AttentionAttrs{}));
  g.outputs = {small, grown, four, five, copies, after, padded, y};

  KILN_ASSERT_OK_AND_ASSIGN(bool changed, fold_constants(g, {}));
  EXPECT_TRUE(changed);
  EXPECT_EQ(producer(g, small)->op, OpKind::kConstant);
  EXPECT_EQ(producer(g, grown)->op, OpKind::kFull);
  EXPECT_EQ(producer(g, four)->op, OpKind::kConstant);
  EXPECT_EQ(producer(g, five)->op, OpKind::kExpand);
  EXPECT_EQ(producer(g, wide)->op, OpKind::kExpand);
  EXPECT_EQ(producer(g, copies)->op, OpKind::kConcat);
  EXPECT_EQ(producer(g, causal)->op, OpKind::kFull);
  EXPECT_EQ(producer(g, after)->op, OpKind::kNeg);
  EXPECT_EQ(producer(g, zeros)->op, OpKind::kConstant);
  EXPECT_EQ(producer(g, mask)->op, OpKind::kConstant);
  KILN_ASSERT_OK(verify_graph(g));
}

TEST(FoldConstantsTest, AKernelErrorFailsThePassNamingTheNodeAndChangesNothing) {
  Graph g;
  const int32_t numerators[] = {6, 7};
  const int32_t zeros[] = {1, 0};
  const TensorType i32{DType::kI32, {2}};
  KILN_ASSERT_OK_AND_ASSIGN(ValueId a, graph_add_constant(g, i32, numerators, sizeof(numerators)));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId b, graph_add_constant(g, i32, zeros, sizeof(zeros)));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId neg, graph_add_node1(g, OpKind::kNeg, {a}, NoAttrs{}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId q, graph_add_node1(g, OpKind::kDiv, {neg, b},
                                                       DivAttrs{DivRounding::kTrunc}, "m.py:9"));
  g.outputs = {q};

  Expected<bool> result = fold_constants(g, {});
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("fold-constants: node 3 (div at m.py:9)"),
            std::string::npos)
      << result.status().message();
  EXPECT_EQ(count_ops(g, OpKind::kNeg), 1) << "a failed pass leaves the graph as it was";
  EXPECT_EQ(count_ops(g, OpKind::kDiv), 1);

  // Unused, the same division is not evaluated at all (dce removes it); the neg still folds.
  g.outputs = {neg};
  KILN_ASSERT_OK_AND_ASSIGN(bool changed, fold_constants(g, {}));
  EXPECT_TRUE(changed);
  EXPECT_EQ(count_ops(g, OpKind::kNeg), 0);
  EXPECT_EQ(count_ops(g, OpKind::kDiv), 1);
}

}  // namespace
}  // namespace kiln
