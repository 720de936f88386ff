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

// The activations and residuals of the conv nodes of `g`, in order.
std::vector<std::pair<Activation, bool>> conv_epilogues(const Graph& g) {
  std::vector<std::pair<Activation, bool>> out;
  for (const Node& n : g.nodes) {
    if (n.op != OpKind::kConv) continue;
    const bool residual = n.inputs.size() > 3 && n.inputs[3] != kNoValue;
    out.emplace_back(n.attrs_as<ConvAttrs>().activation, residual);
  }
  return out;
}

TEST(FuseEpiloguesTest, ConvBatchNormReluBecomesOneConvWithTheSameNumbers) {
  KILN_ASSERT_OK_AND_ASSIGN(Graph g, pass_test::conv_bn_relu_graph());
  const auto inputs = random_inputs(g);
  KILN_ASSERT_OK_AND_ASSIGN(auto before, evaluate_reference(g, inputs));
  KILN_ASSERT_OK_AND_ASSIGN(Graph fused, run_pipeline(g, default_pipeline()));
  EXPECT_EQ(count_ops(fused, OpKind::kRelu), 0);
  EXPECT_EQ(conv_epilogues(fused),
            (std::vector<std::pair<Activation, bool>>{{Activation::kRelu, false}}));
  KILN_ASSERT_OK_AND_ASSIGN(auto after, evaluate_reference(fused, inputs));
  expect_close(before, after);
}

TEST(FuseEpiloguesTest, ResidualBlocksFuseTheAddAndReluIntoTheLastConv) {
  KILN_ASSERT_OK_AND_ASSIGN(Graph g, pass_test::residual_blocks_graph());
  const auto inputs = random_inputs(g);
  KILN_ASSERT_OK_AND_ASSIGN(auto before, evaluate_reference(g, inputs));
  KILN_ASSERT_OK_AND_ASSIGN(Graph fused, run_pipeline(g, default_pipeline()));
  EXPECT_EQ(count_ops(fused, OpKind::kAdd), 0);
  EXPECT_EQ(count_ops(fused, OpKind::kRelu), 0);
  EXPECT_EQ(count_ops(fused, OpKind::kBatchNorm), 0);
  // Block 1: conv+relu, conv+residual(x)+relu. Block 2: conv+relu, the shortcut conv, then the
  // main path's second conv, moved to the relu's place, with the shortcut as its residual.
  using E = std::pair<Activation, bool>;
  EXPECT_EQ(conv_epilogues(fused),
            (std::vector<E>{{Activation::kRelu, false}, {Activation::kRelu, true},
                            {Activation::kRelu, false}, {Activation::kNone, false},
                            {Activation::kRelu, true}}));
  KILN_ASSERT_OK_AND_ASSIGN(auto after, evaluate_reference(fused, inputs));
  expect_close(before, after);
}

TEST(FuseEpiloguesTest, LinearTakesGeluBothFormsSiluAndRelu) {
  KILN_ASSERT_OK_AND_ASSIGN(Graph g, pass_test::linear_mlp_graph());
  const auto inputs = random_inputs(g);
  KILN_ASSERT_OK_AND_ASSIGN(auto before, evaluate_reference(g, inputs));
  KILN_ASSERT_OK_AND_ASSIGN(Graph fused, run_pipeline(g, {"fuse-epilogues", "dce"}));
  std::vector<Activation> acts;
  for (const Node& n : fused.nodes) {
    if (n.op == OpKind::kLinear) acts.push_back(n.attrs_as<LinearAttrs>().activation);
  }
  EXPECT_EQ(acts, (std::vector<Activation>{Activation::kGelu, Activation::kGeluTanh,
                                           Activation::kSilu, Activation::kRelu}));
  EXPECT_EQ(count_ops(fused, OpKind::kGelu) + count_ops(fused, OpKind::kSilu) +
                count_ops(fused, OpKind::kRelu),
            0);
  KILN_ASSERT_OK_AND_ASSIGN(auto after, evaluate_reference(fused, inputs));
  expect_close(before, after);
}

TEST(FuseEpiloguesTest, LeavesBroadcastAddsAndSharedOutputsAlone) {
  ModelBuilder m;
  ValueId x = m.input("x", {1, 2, 4, 4});
  KILN_ASSERT_OK_AND_ASSIGN(ValueId c1, m.conv(x, 2, 1, 1, 0));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId shift, m.constant({2, 1, 1}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId y1, m.op(OpKind::kAdd, {c1, shift}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId c2, m.conv(x, 2, 1, 1, 0));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId y2, m.op(OpKind::kRelu, {c2}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId c3, m.conv(x, 2, 1, 1, 0));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId y3, m.op(OpKind::kAdd, {c3, c3}));
  m.g.outputs = {y1, y2, c2, y3};
  KILN_ASSERT_OK_AND_ASSIGN(bool changed, fuse_epilogues(m.g, {}));
  EXPECT_FALSE(changed);
}

}  // namespace
}  // namespace kiln
