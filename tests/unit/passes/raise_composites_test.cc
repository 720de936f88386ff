// raise-composites inside the default pipeline: a GPT-2 block's MLP as torch.export spells it
// (Conv1D matmuls with bias adds between reshapes, the tanh-GELU op by op) and an RMSNorm chain
// become linear {gelu_tanh} / linear / rms_norm, computing the same numbers with the reference
// kernels.
#include <gtest/gtest.h>

#include <string>

#include "kiln/passes/passes.h"
#include "kiln/text/parser.h"
#include "pass_test_util.h"
#include "reference_eval.h"

namespace kiln {
namespace {

using pass_test::count_ops;
using pass_test::evaluate_reference;
using pass_test::expect_close;
using pass_test::random_inputs;
using pass_test::run_pipeline;

constexpr const char* kGpt2Mlp = R"(
graph @gpt2_mlp {
  input %x : f32[2, 3, 8]
  %w1 = constant {dtype=f32, shape=[8, 16], data=random(seed=1, scale=0.5)}
  %b1 = constant {dtype=f32, shape=[16], data=random(seed=2, scale=0.5)}
  %w2 = constant {dtype=f32, shape=[16, 8], data=random(seed=3, scale=0.5)}
  %b2 = constant {dtype=f32, shape=[8], data=random(seed=4, scale=0.5)}
  %half = constant {dtype=f32, shape=[], data=[0.5]}
  %three = constant {dtype=f32, shape=[], data=[3]}
  %k = constant {dtype=f32, shape=[], data=[0.044715]}
  %c = constant {dtype=f32, shape=[], data=[0.7978845608028654]}
  %one = constant {dtype=f32, shape=[], data=[1]}
  %x2 = reshape(%x) {shape=[6, 8]}
  %m1 = matmul(%x2, %w1)
  %a1 = add(%b1, %m1)
  %h = reshape(%a1) {shape=[2, 3, 16]}
  %g0 = mul(%h, %half)
  %g1 = pow(%h, %three)
  %g2 = mul(%g1, %k)
  %g3 = add(%h, %g2)
  %g4 = mul(%g3, %c)
  %g5 = tanh(%g4)
  %g6 = add(%g5, %one)
  %g = mul(%g0, %g6)
  %g2d = reshape(%g) {shape=[6, 16]}
  %m2 = matmul(%g2d, %w2)
  %a2 = add(%b2, %m2)
  %y = reshape(%a2) {shape=[2, 3, 8]}
  %out = add(%x, %y)
  return %out
}
)";

constexpr const char* kRmsNorm = R"(
graph @rms_norm {
  input %x : f32[4, 16]
  %w = constant {dtype=f32, shape=[16], data=random(seed=5)}
  %two = constant {dtype=f32, shape=[], data=[2]}
  %eps = constant {dtype=f32, shape=[], data=[1e-06]}
  %sq = pow(%x, %two)
  %ms = reduce_mean(%sq) {axes=[-1], keepdim=true}
  %se = add(%ms, %eps)
  %r = rsqrt(%se)
  %n = mul(%x, %r)
  %y = mul(%w, %n)
  return %y
}
)";

TEST(RaiseCompositesTest, Gpt2MlpBecomesTwoLinearsWithGeluInsideAndTheSameNumbers) {
  KILN_ASSERT_OK_AND_ASSIGN(Graph g, parse_graph(kGpt2Mlp));
  const auto inputs = random_inputs(g);
  KILN_ASSERT_OK_AND_ASSIGN(auto before, evaluate_reference(g, inputs));
  KILN_ASSERT_OK_AND_ASSIGN(Graph raised, run_pipeline(g, default_pipeline()));
  EXPECT_EQ(count_ops(raised, OpKind::kLinear), 2);
  for (OpKind op : {OpKind::kMatMul, OpKind::kPow, OpKind::kTanh, OpKind::kGelu, OpKind::kMul,
                    OpKind::kReshape}) {
    EXPECT_EQ(count_ops(raised, op), 0) << op_name(op);
  }
  EXPECT_EQ(count_ops(raised, OpKind::kAdd), 1);  // the residual
  for (const Node& n : raised.nodes) {
    if (n.op != OpKind::kLinear) continue;
    EXPECT_EQ(n.inputs.size(), 3u) << "the bias is inside";
    const Activation want = raised.type(n.outputs[0]).shape.back() == 16 ? Activation::kGeluTanh
                                                                      : Activation::kNone;
    EXPECT_EQ(n.attrs_as<LinearAttrs>().activation, want);
  }
  KILN_ASSERT_OK_AND_ASSIGN(auto after, evaluate_reference(raised, inputs));
  expect_close(before, after, 1e-5, 1e-4);
}

TEST(RaiseCompositesTest, RmsNormChainBecomesRmsNormWithTheSameNumbers) {
  KILN_ASSERT_OK_AND_ASSIGN(Graph g, parse_graph(kRmsNorm));
  const auto inputs = random_inputs(g);
  KILN_ASSERT_OK_AND_ASSIGN(auto before, evaluate_reference(g, inputs));
  KILN_ASSERT_OK_AND_ASSIGN(Graph raised, run_pipeline(g, default_pipeline()));
  EXPECT_EQ(count_ops(raised, OpKind::kRmsNorm), 1);
  EXPECT_EQ(raised.nodes.size(), 2u) << "the weight and rms_norm";
  KILN_ASSERT_OK_AND_ASSIGN(auto after, evaluate_reference(raised, inputs));
  expect_close(before, after, 1e-5, 1e-5);
}

TEST(RaiseCompositesTest, RaisingTwiceChangesNothing) {
  KILN_ASSERT_OK_AND_ASSIGN(Graph g, parse_graph(kRmsNorm));
  KILN_ASSERT_OK_AND_ASSIGN(Graph raised, run_pipeline(g, {"raise-composites"}));
  KILN_ASSERT_OK_AND_ASSIGN(bool changed, raise_composites(raised, PassOptions{}));
  EXPECT_FALSE(changed) << "a second run finds nothing";
}

}  // namespace
}  // namespace kiln
