// fold-views: random chains of reshapes and permutes (with splits and merges of dims and unit
// dims) compute the same elements after the pass, with at most one permute left per chain; and
// nn.MultiheadAttention's exported form runs through the default pipeline without a permute and
// with the same numbers.
#include <gtest/gtest.h>

#include <random>
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

// A random shape with `numel` elements: its prime factors grouped into dims, unit dims between.
std::vector<int64_t> random_shape(int64_t numel, std::mt19937& rng) {
  std::vector<int64_t> factors;
  for (int64_t p = 2; numel > 1; ++p) {
    while (numel % p == 0) {
      factors.push_back(p);
      numel /= p;
    }
  }
  std::shuffle(factors.begin(), factors.end(), rng);
  std::vector<int64_t> shape;
  for (int64_t f : factors) {
    if (shape.empty() || rng() % 2) {
      shape.push_back(f);
    } else {
      shape.back() *= f;
    }
    if (rng() % 6 == 0) shape.push_back(1);
  }
  if (shape.empty()) shape.push_back(1);
  return shape;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

TEST(FoldViewsTest, RandomChainsKeepTheirElementsWithAtMostOnePermute) {
  std::mt19937 rng(1234);
  int folded = 0;
  for (int trial = 0; trial < 300; ++trial) {
    const int64_t numels[] = {24, 36, 48, 60, 64, 90, 120};
    const int64_t numel = numels[rng() % std::size(numels)];
    std::vector<int64_t> shape = random_shape(numel, rng);
    std::string text = "graph @chain {\n  input %x : f32" + shape_text(shape) + "\n";
    std::string v = "%x";
    const int ops = 2 + static_cast<int>(rng() % 5);
    for (int k = 0; k < ops; ++k) {
      const std::string out = "%v" + std::to_string(k);
      if (rng() % 2 && shape.size() > 1) {
        std::vector<int64_t> perm(shape.size());
        for (size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<int64_t>(i);
        std::shuffle(perm.begin(), perm.end(), rng);
        std::vector<int64_t> next;
        for (int64_t p : perm) next.push_back(shape[static_cast<size_t>(p)]);
        text += "  " + out + " = permute(" + v + ") {perm=" + shape_text(perm) + "}\n";
        shape = next;
      } else {
        shape = random_shape(numel, rng);
        text += "  " + out + " = reshape(" + v + ") {shape=" + shape_text(shape) + "}\n";
      }
      v = out;
    }
    text += "  %y = neg(" + v + ")\n  return %y\n}\n";
    SCOPED_TRACE(text);
    KILN_ASSERT_OK_AND_ASSIGN(Graph g, parse_graph(text));
    const auto inputs = random_inputs(g);
    KILN_ASSERT_OK_AND_ASSIGN(auto before, evaluate_reference(g, inputs));
    KILN_ASSERT_OK_AND_ASSIGN(Graph after_pass, run_pipeline(g, {"fold-views", "dce"}));
    KILN_ASSERT_OK_AND_ASSIGN(auto after, evaluate_reference(after_pass, inputs));
    expect_close(before, after, 0, 0);  // views move elements exactly
    const int permutes_before = count_ops(g, OpKind::kPermute);
    const int permutes_after = count_ops(after_pass, OpKind::kPermute);
    EXPECT_LE(permutes_after, permutes_before);
    if (permutes_after < permutes_before) ++folded;
  }
  EXPECT_GT(folded, 50) << "the chains exercise the folding";
}

// torchvision's ViT attention (nn.MultiheadAttention, batch first) as exported, for batch `b`.
std::string vit_block(int b) {
  const std::string B = std::to_string(b), BH = std::to_string(2 * b), LB = std::to_string(5 * b);
  return "graph @vit_attention {\n"
         "  input %x : f32[" + B + ", 5, 8]\n"
         "  %w = constant {dtype=f32, shape=[24, 8], data=random(seed=1)}\n"
         "  %bi = constant {dtype=f32, shape=[24], data=random(seed=2)}\n"
         "  %wo = constant {dtype=f32, shape=[8, 8], data=random(seed=3)}\n"
         "  %t = permute(%x) {perm=[1, 0, 2]}\n"
         "  %in = linear(%t, %w, %bi)\n"
         "  %u = reshape(%in) {shape=[1, 5, " + B + ", 3, 8]}\n"
         "  %tr = permute(%u) {perm=[3, 1, 2, 0, 4]}\n"
         "  %sq = reshape(%tr) {shape=[3, 5, " + B + ", 8]}\n"
         "  %q0 = slice(%sq) {axis=0, start=0, end=1, step=1}\n"
         "  %k0 = slice(%sq) {axis=0, start=1, end=2, step=1}\n"
         "  %v0 = slice(%sq) {axis=0, start=2, end=3, step=1}\n"
         "  %q1 = reshape(%q0) {shape=[5, " + BH + ", 4]}\n"
         "  %q2 = permute(%q1) {perm=[1, 0, 2]}\n"
         "  %q = reshape(%q2) {shape=[" + B + ", 2, 5, 4]}\n"
         "  %k1 = reshape(%k0) {shape=[5, " + BH + ", 4]}\n"
         "  %k2 = permute(%k1) {perm=[1, 0, 2]}\n"
         "  %k = reshape(%k2) {shape=[" + B + ", 2, 5, 4]}\n"
         "  %v1 = reshape(%v0) {shape=[5, " + BH + ", 4]}\n"
         "  %v2 = permute(%v1) {perm=[1, 0, 2]}\n"
         "  %v = reshape(%v2) {shape=[" + B + ", 2, 5, 4]}\n"
         "  %o = attention(%q, %k, %v)\n"
         "  %o1 = permute(%o) {perm=[2, 0, 1, 3]}\n"
         "  %o2 = reshape(%o1) {shape=[" + LB + ", 8]}\n"
         "  %o3 = linear(%o2, %wo)\n"
         "  %o4 = reshape(%o3) {shape=[5, " + B + ", 8]}\n"
         "  %y = permute(%o4) {perm=[1, 0, 2]}\n"
         "  return %y\n"
         "}\n";
}

// The block through the default pipeline on both devices: no permute, two linears, the same
// numbers.
void check_vit_block(int batch) {
  KILN_ASSERT_OK_AND_ASSIGN(Graph g, parse_graph(vit_block(batch)));
  const auto inputs = random_inputs(g);
  KILN_ASSERT_OK_AND_ASSIGN(auto before, evaluate_reference(g, inputs));
  for (DeviceKind device : {DeviceKind::kCpu, DeviceKind::kCuda}) {
    KILN_ASSERT_OK_AND_ASSIGN(Graph folded, run_pipeline(g, default_pipeline(), device));
    EXPECT_EQ(count_ops(folded, OpKind::kPermute), 0);
    EXPECT_EQ(count_ops(folded, OpKind::kLinear), 2);
    KILN_ASSERT_OK_AND_ASSIGN(auto after, evaluate_reference(folded, inputs));
    expect_close(before, after, 1e-5, 1e-5);
  }
}

TEST(FoldViewsTest, MultiheadAttentionKeepsNoPermuteAndTheSameNumbers) {
  for (int batch : {1, 2}) {  // at batch 1, canonicalize first makes the unit-dim permutes reshapes
    SCOPED_TRACE(batch);
    check_vit_block(batch);
  }
}

}  // namespace
}  // namespace kiln
