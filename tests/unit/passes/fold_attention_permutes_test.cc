// fold-attention-permutes on a BERT-style self-attention block: the default pipeline leaves no
// permute on either device, and the reference runtime computes the same outputs before and after.
#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "kiln/passes/passes.h"
#include "kiln/text/parser.h"
#include "kiln/text/printer.h"
#include "reference_eval.h"

namespace kiln {
namespace {

using pass_test::count_ops;
using pass_test::evaluate_reference;
using pass_test::expect_close;
using pass_test::random_inputs;
using pass_test::run_pipeline;

// x [2, 5, 32] -> q, k, v linears -> [B, L, H=2, E=16] -> permute -> attention (padding mask)
// -> permute back -> [B, L, 32] -> output linear, as HF BERT exports it. `%pad` and the attention
// attributes are filled in per test.
std::string block(const std::string& mask, const std::string& attrs) {
  return R"(graph @block {
  input %x : f32[2, 5, 32]
  input %pad : f32[2, 1, 1, 5]
  %wq = constant {dtype=f32, shape=[32, 32], data=random(seed=1)}
  %wk = constant {dtype=f32, shape=[32, 32], data=random(seed=2)}
  %wv = constant {dtype=f32, shape=[32, 32], data=random(seed=3)}
  %wo = constant {dtype=f32, shape=[32, 32], data=random(seed=4)}
  %q = linear(%x, %wq)
  %k = linear(%x, %wk)
  %v = linear(%x, %wv)
  %q4 = reshape(%q) {shape=[2, 5, 2, 16]}
  %k4 = reshape(%k) {shape=[2, 5, 2, 16]}
  %v4 = reshape(%v) {shape=[2, 5, 2, 16]}
  %qh = permute(%q4) {perm=[0, 2, 1, 3]}
  %kh = permute(%k4) {perm=[0, 2, 1, 3]}
  %vh = permute(%v4) {perm=[0, 2, 1, 3]}
  %a = attention(%qh, %kh, %vh)" +
         mask + ") {" + attrs + R"(}
  %at = permute(%a) {perm=[0, 2, 1, 3]}
  %y3 = reshape(%at) {shape=[2, 5, 32]}
  %y = linear(%y3, %wo)
  return %y
}
)";
}

bool every_attention_bshd(const Graph& g) {
  for (const Node& n : g.nodes) {
    if (n.op == OpKind::kAttention && !n.attrs_as<AttentionAttrs>().bshd) return false;
  }
  return true;
}

TEST(FoldAttentionPermutesTest, RewritesOnceThenDoesNothing) {
  KILN_ASSERT_OK_AND_ASSIGN(Graph g, parse_graph(block(", %pad", "is_causal=false")));
  KILN_ASSERT_OK_AND_ASSIGN(bool changed, fold_attention_permutes(g, PassOptions{}));
  EXPECT_TRUE(changed);
  EXPECT_TRUE(every_attention_bshd(g));
  EXPECT_EQ(count_ops(g, OpKind::kPermute), 5);  // the three input permutes stay for dce
  const std::string once = print_graph(g);
  KILN_ASSERT_OK_AND_ASSIGN(changed, fold_attention_permutes(g, PassOptions{}));
  EXPECT_FALSE(changed);
  EXPECT_EQ(print_graph(g), once);
}

TEST(FoldAttentionPermutesTest, PipelineLeavesNoPermuteAndTheSameNumbers) {
  using Form = std::pair<std::string, std::string>;  // mask operand, attributes
  for (const auto& [mask, attrs] : {Form{", %pad", "is_causal=false"},
                                    Form{"", "is_causal=true, scale=0.2"}}) {
    SCOPED_TRACE(attrs);
    KILN_ASSERT_OK_AND_ASSIGN(Graph g, parse_graph(block(mask, attrs)));
    EXPECT_EQ(count_ops(g, OpKind::kPermute), 4);
    const auto inputs = random_inputs(g);
    KILN_ASSERT_OK_AND_ASSIGN(auto expected, evaluate_reference(g, inputs));
    for (DeviceKind device : {DeviceKind::kCpu, DeviceKind::kCuda}) {
      KILN_ASSERT_OK_AND_ASSIGN(Graph out, run_pipeline(g, default_pipeline(), device));
      EXPECT_EQ(count_ops(out, OpKind::kPermute), 0) << print_graph(out);
      EXPECT_EQ(count_ops(out, OpKind::kAttention), 1);
      EXPECT_TRUE(every_attention_bshd(out));
      KILN_ASSERT_OK_AND_ASSIGN(auto got, evaluate_reference(out, inputs));
      expect_close(expected, got, 1e-6, 1e-6);
    }
  }
}

}  // namespace
}  // namespace kiln
