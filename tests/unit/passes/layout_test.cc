#include <gtest/gtest.h>

#include "kiln/passes/passes.h"
#include "kiln/text/printer.h"
#include "small_models.h"

namespace kiln {
namespace {

using pass_test::count_ops;
using pass_test::evaluate_reference;
using pass_test::expect_close;
using pass_test::ModelBuilder;
using pass_test::random_inputs;
using pass_test::run_pipeline;

// The permutation of every permute node of `g`, in order.
std::vector<std::vector<int64_t>> activation_permutes(const Graph& g) {
  std::vector<std::vector<int64_t>> out;
  for (const Node& n : g.nodes) {
    if (n.op == OpKind::kPermute) out.push_back(n.attrs_as<PermuteAttrs>().perm);
  }
  return out;
}

bool all_channels_last(const Graph& g) {
  for (const Node& n : g.nodes) {
    if (n.op == OpKind::kConv && !n.attrs_as<ConvAttrs>().channels_last) return false;
    if ((n.op == OpKind::kMaxPool || n.op == OpKind::kAvgPool) &&
        !n.attrs_as<PoolAttrs>().channels_last) {
      return false;
    }
  }
  return true;
}

TEST(LayoutTest, DoesNothingOnTheCpu) {
  KILN_ASSERT_OK_AND_ASSIGN(Graph g, pass_test::mini_resnet_graph());
  const std::string before = print_graph(g);
  KILN_ASSERT_OK_AND_ASSIGN(bool changed, layout(g, PassOptions{DeviceKind::kCpu}));
  EXPECT_FALSE(changed);
  EXPECT_EQ(print_graph(g), before);
}

TEST(LayoutTest, MiniResNetRunsChannelsLastAfterOnePermuteIn) {
  KILN_ASSERT_OK_AND_ASSIGN(Graph g, pass_test::mini_resnet_graph());
  KILN_ASSERT_OK_AND_ASSIGN(Graph cuda, run_pipeline(g, default_pipeline(), DeviceKind::kCuda));
  // One permute at the input; the global average pool is a mean over H and W of the channels-last
  // data, whose [N, 1, 1, C] result needs only a reshape. Weights are permuted constants.
  EXPECT_EQ(activation_permutes(cuda), (std::vector<std::vector<int64_t>>{{0, 2, 3, 1}}));
  EXPECT_EQ(count_ops(cuda, OpKind::kAdaptiveAvgPool), 0);
  EXPECT_EQ(count_ops(cuda, OpKind::kReduceMean), 1);
  const Node* first = nullptr;
  for (const Node& n : cuda.nodes) {
    if (n.op == OpKind::kPermute && first == nullptr) first = &n;
  }
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->inputs[0], cuda.inputs[0]);
  EXPECT_TRUE(all_channels_last(cuda));
  EXPECT_EQ(count_ops(cuda, OpKind::kConv), 6);
  EXPECT_EQ(count_ops(cuda, OpKind::kBatchNorm), 0);
  EXPECT_EQ(count_ops(cuda, OpKind::kAdd), 0);  // fused into the convs, with their relus
  EXPECT_EQ(count_ops(cuda, OpKind::kRelu), 0);

  // The same numbers as the graph before any pass, and as the CPU pipeline's graph.
  const auto inputs = random_inputs(g);
  KILN_ASSERT_OK_AND_ASSIGN(auto expected, evaluate_reference(g, inputs));
  KILN_ASSERT_OK_AND_ASSIGN(Graph cpu, run_pipeline(g, default_pipeline(), DeviceKind::kCpu));
  EXPECT_EQ(count_ops(cpu, OpKind::kPermute), 0);
  KILN_ASSERT_OK_AND_ASSIGN(auto from_cpu, evaluate_reference(cpu, inputs));
  expect_close(expected, from_cpu, 1e-5, 1e-4);
  KILN_ASSERT_OK_AND_ASSIGN(auto from_cuda, evaluate_reference(cuda, inputs));
  expect_close(expected, from_cuda, 1e-5, 1e-4);
}

TEST(LayoutTest, ResidualBlocksNeedOnlyTheGraphsOwnPermutes) {
  KILN_ASSERT_OK_AND_ASSIGN(Graph g, pass_test::residual_blocks_graph());
  KILN_ASSERT_OK_AND_ASSIGN(Graph cuda, run_pipeline(g, default_pipeline(), DeviceKind::kCuda));
  EXPECT_EQ(activation_permutes(cuda),
            (std::vector<std::vector<int64_t>>{{0, 2, 3, 1}, {0, 3, 1, 2}}));
  EXPECT_TRUE(all_channels_last(cuda));
  const auto inputs = random_inputs(g);
  KILN_ASSERT_OK_AND_ASSIGN(auto expected, evaluate_reference(g, inputs));
  KILN_ASSERT_OK_AND_ASSIGN(auto actual, evaluate_reference(cuda, inputs));
  expect_close(expected, actual, 1e-5, 1e-4);
}

TEST(LayoutTest, SqueezeExcitationScaleFollowsAsAReshape) {
  KILN_ASSERT_OK_AND_ASSIGN(Graph g, pass_test::se_block_graph());
  KILN_ASSERT_OK_AND_ASSIGN(Graph cuda, run_pipeline(g, default_pipeline(), DeviceKind::kCuda));
  // In and out only. The pool is a mean over H and W of the channels-last data, and the pooled
  // [N, C, 1, 1] branch needs no data movement: its permutes move only size-1 dims and become
  // reshapes. The mul by the gate stays channels-last.
  EXPECT_EQ(activation_permutes(cuda),
            (std::vector<std::vector<int64_t>>{{0, 2, 3, 1}, {0, 3, 1, 2}}));
  EXPECT_EQ(count_ops(cuda, OpKind::kMul), 1);
  EXPECT_TRUE(all_channels_last(cuda));
  const auto inputs = random_inputs(g);
  KILN_ASSERT_OK_AND_ASSIGN(auto expected, evaluate_reference(g, inputs));
  KILN_ASSERT_OK_AND_ASSIGN(auto actual, evaluate_reference(cuda, inputs));
  expect_close(expected, actual, 1e-5, 1e-4);
}

TEST(LayoutTest, APermuteWithSeveralUsersSinksPerUserAndStaysForTheOthers) {
  ModelBuilder m;
  ValueId x = m.input("x", {1, 2, 3, 3});
  ValueId other = m.input("other", {1, 2, 3, 3});
  KILN_ASSERT_OK_AND_ASSIGN(ValueId c, m.conv(x, 2, 1, 1, 0));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId r, m.op(OpKind::kRelu, {c}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId f, m.op(OpKind::kReshape, {c}, ReshapeAttrs{{1, 18}}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId s, m.op(OpKind::kAdd, {r, other}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId half, m.constant({}));
  KILN_ASSERT_OK_AND_ASSIGN(ValueId t, m.op(OpKind::kMul, {r, half}));
  m.g.outputs = {f, s, t};
  const auto inputs = random_inputs(m.g);
  KILN_ASSERT_OK_AND_ASSIGN(auto expected, evaluate_reference(m.g, inputs));

  KILN_ASSERT_OK_AND_ASSIGN(Graph cuda, run_pipeline(m.g, {"layout", "canonicalize", "dce"},
                                                     DeviceKind::kCuda));
  // In: x (the 1x1 weight's permute is a reshape). Out: the conv for the reshape, the relu for
  // the add (other is NCHW, with no channels-last copy), the mul by a scalar.
  EXPECT_EQ(activation_permutes(cuda),
            (std::vector<std::vector<int64_t>>{
                {0, 2, 3, 1}, {0, 3, 1, 2}, {0, 3, 1, 2}, {0, 3, 1, 2}}));
  KILN_ASSERT_OK_AND_ASSIGN(auto actual, evaluate_reference(cuda, inputs));
  expect_close(expected, actual);
}

}  // namespace
}  // namespace kiln
