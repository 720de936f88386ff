#include <gtest/gtest.h>

#include "kiln/passes/passes.h"
#include "small_models.h"

namespace kiln {
namespace {

using pass_test::count_ops;
using pass_test::evaluate_reference;
using pass_test::expect_close;
using pass_test::ModelBuilder;
using pass_test::random_inputs;
using pass_test::run_pipeline;

TEST(FoldBatchNormTest, FoldsConvBatchNormAndComputesTheSameNumbers) {
  KILN_ASSERT_OK_AND_ASSIGN(Graph g, pass_test::conv_bn_relu_graph());
  const auto inputs = random_inputs(g);
  KILN_ASSERT_OK_AND_ASSIGN(auto before, evaluate_reference(g, inputs));

  KILN_ASSERT_OK_AND_ASSIGN(Graph folded, run_pipeline(g, {"fold-batch-norm", "dce"}));
  EXPECT_EQ(count_ops(folded, OpKind::kBatchNorm), 0);
  EXPECT_EQ(count_ops(folded, OpKind::kConv), 1);
  EXPECT_EQ(count_ops(folded, OpKind::kConstant), 2) << "only the folded weight and bias remain";
  KILN_ASSERT_OK_AND_ASSIGN(auto after, evaluate_reference(folded, inputs));
  expect_close(before, after);

  KILN_ASSERT_OK_AND_ASSIGN(bool again, fold_batch_norm(folded, {}));
  EXPECT_FALSE(again);
}

TEST(FoldBatchNormTest, FoldsEveryBatchNormOfResidualBlocks) {
  KILN_ASSERT_OK_AND_ASSIGN(Graph g, pass_test::residual_blocks_graph());
  ASSERT_EQ(count_ops(g, OpKind::kBatchNorm), 5);
  const auto inputs = random_inputs(g);
  KILN_ASSERT_OK_AND_ASSIGN(auto before, evaluate_reference(g, inputs));
  KILN_ASSERT_OK_AND_ASSIGN(Graph folded, run_pipeline(g, {"fold-batch-norm", "dce"}));
  EXPECT_EQ(count_ops(folded, OpKind::kBatchNorm), 0);
  EXPECT_EQ(count_ops(folded, OpKind::kConv), 5);
  KILN_ASSERT_OK_AND_ASSIGN(auto after, evaluate_reference(folded, inputs));
  expect_close(before, after);
}

TEST(FoldBatchNormTest, FoldsIntoGroupedConvTranspose) {
  ModelBuilder m;
  ValueId x = m.input("x", {1, 4, 3, 3});
  KILN_ASSERT_OK_AND_ASSIGN(ValueId w, m.constant({4, 3, 2, 2}));  // [C, O/groups, kH, kW]
  ConvTransposeAttrs a{{2, 2}, {0, 0}, {0, 0}, {1, 1}, 2};
  KILN_ASSERT_OK_AND_ASSIGN(ValueId c, m.op(OpKind::kConvTranspose, {x, w}, a));
  ASSERT_EQ(m.channels(c), 6);
  KILN_ASSERT_OK_AND_ASSIGN(ValueId y, m.batch_norm(c));
  m.g.outputs = {y};
  const auto inputs = random_inputs(m.g);
  KILN_ASSERT_OK_AND_ASSIGN(auto before, evaluate_reference(m.g, inputs));
  KILN_ASSERT_OK_AND_ASSIGN(Graph folded, run_pipeline(m.g, {"fold-batch-norm", "dce"}));
  EXPECT_EQ(count_ops(folded, OpKind::kBatchNorm), 0);
  EXPECT_EQ(count_ops(folded, OpKind::kConvTranspose), 1);
  KILN_ASSERT_OK_AND_ASSIGN(auto after, evaluate_reference(folded, inputs));
  expect_close(before, after);
}

TEST(FoldBatchNormTest, LeavesASharedConvAndNonConstantParametersAlone) {
  ModelBuilder m;
  ValueId x = m.input("x", {1, 2, 4, 4});
  ValueId mean = m.input("mean", {2});
  KILN_ASSERT_OK_AND_ASSIGN(ValueId c1, m.conv(x, 2, 1, 1, 0));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId y1, m.batch_norm(c1));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId c2, m.conv(x, 2, 1, 1, 0));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId var, m.constant({2}, 0.5f, 1.0f));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId y2, m.op(OpKind::kBatchNorm, {c2, mean, var},
                                             BatchNormAttrs{}));
  m.g.outputs = {y1, c1, y2};
  KILN_ASSERT_OK_AND_ASSIGN(bool changed, fold_batch_norm(m.g, {}));
  EXPECT_FALSE(changed);
  EXPECT_EQ(count_ops(m.g, OpKind::kBatchNorm), 2);
}

TEST(FoldBatchNormTest, ADeadSecondUseDoesNotBlockTheFold) {
  ModelBuilder m;
  ValueId x = m.input("x", {1, 2, 4, 4});
  KILN_ASSERT_OK_AND_ASSIGN(ValueId c, m.conv(x, 2, 1, 1, 0));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId unused, m.op(OpKind::kNeg, {c}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId y, m.batch_norm(c));
  m.g.outputs = {y};
  (void)unused;
  KILN_ASSERT_OK_AND_ASSIGN(bool changed, fold_batch_norm(m.g, {}));
  EXPECT_TRUE(changed);
  KILN_ASSERT_OK(verify_graph(m.g));
  EXPECT_EQ(count_ops(m.g, OpKind::kConv), 2) << "the old conv stays for the neg, until dce";
}

}  // namespace
}  // namespace kiln
