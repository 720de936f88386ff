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

constexpr const char* kVitBlock = R"(
graph @vit_attention {
  input %x : f32[2, 5, 8]
  %w = constant {dtype=f32, shape=[24, 8], data=random(seed=1)}
  %bi = constant {dtype=f32, shape=[24], data=random(seed=2)}
  %wo = constant {dtype=f32, shape=[8, 8], data=random(seed=3)}
  %t = permute(%x) {perm=[1, 0, 2]}
  %in = linear(%t, %w, %bi)
  %u = reshape(%in) {shape=[1, 5, 2, 3, 8]}
  %tr = permute(%u) {perm=[3, 1, 2, 0, 4]}
  %sq = reshape(%tr) {shape=[3, 5, 2, 8]}
  %q0 = slice(%sq) {axis=0, start=0, end=1, step=1}
  %k0 = slice(%sq) {axis=0, start=1, end=2, step=1}
  %v0 = slice(%sq) {axis=0, start=2, end=3, step=1}
  %q1 = reshape(%q0) {shape=[5, 4, 4]}
  %q2 = permute(%q1) {perm=[1, 0, 2]}
  %q = reshape(%q2) {shape=[2, 2, 5, 4]}
  %k1 = reshape(%k0) {shape=[5, 4, 4]}
  %k2 = permute(%k1) {perm=[1, 0, 2]}
  %k = reshape(%k2) {shape=[2, 2, 5, 4]}
  %v1 = reshape(%v0) {shape=[5, 4, 4]}
  %v2 = permute(%v1) {perm=[1, 0, 2]}
  %v = reshape(%v2) {shape=[2, 2, 5, 4]}
  %o = attention(%q, %k, %v)
  %o1 = permute(%o) {perm=[2, 0, 1, 3]}
  %o2 = reshape(%o1) {shape=[10, 8]}
  %o3 = linear(%o2, %wo)
  %o4 = reshape(%o3) {shape=[5, 2, 8]}
  %y = permute(%o4) {perm=[1, 0, 2]}
  return %y
}
)";

TEST(FoldViewsTest, MultiheadAttentionKeepsNoPermuteAndTheSameNumbers) {
  KILN_ASSERT_OK_AND_ASSIGN(Graph g, parse_graph(kVitBlock));
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

}  // namespace
}  // namespace kiln
