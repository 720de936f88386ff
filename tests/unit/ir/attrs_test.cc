// attrs_equal / attrs_hash: structural equality field by field, content equality for tensor data,
// and a hash that agrees with equality.
#include "kiln/ir/attrs.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "kiln/ir/op.h"

namespace kiln {
namespace {

void expect_equal(const Attrs& a, const Attrs& b) {
  EXPECT_TRUE(attrs_equal(a, b));
  EXPECT_TRUE(attrs_equal(b, a));
  EXPECT_EQ(attrs_hash(a), attrs_hash(b));
}

void expect_different(const Attrs& a, const Attrs& b) {
  EXPECT_FALSE(attrs_equal(a, b));
  EXPECT_FALSE(attrs_equal(b, a));
}

TEST(AttrsTest, DefaultsOfEveryOpEqualThemselves) {
  for (int i = 0; i < kNumOps; ++i) {
    const OpKind op = static_cast<OpKind>(i);
    expect_equal(default_attrs(op), default_attrs(op));
  }
}

TEST(AttrsTest, DifferentKindsDiffer) {
  expect_different(NoAttrs{}, AxisAttrs{0});
  // Same field values, different struct types.
  expect_different(ReshapeAttrs{{2, 3}}, ExpandAttrs{{2, 3}});
  EXPECT_NE(attrs_hash(ReshapeAttrs{{2, 3}}), attrs_hash(ExpandAttrs{{2, 3}}));
}

TEST(AttrsTest, EveryFieldTakesPart) {
  ConvAttrs base{{1, 1}, {0, 0}, {1, 1}, 1};
  expect_equal(base, ConvAttrs{{1, 1}, {0, 0}, {1, 1}, 1});
  expect_different(base, ConvAttrs{{2, 1}, {0, 0}, {1, 1}, 1});
  expect_different(base, ConvAttrs{{1, 1}, {0, 1}, {1, 1}, 1});
  expect_different(base, ConvAttrs{{1, 1}, {0, 0}, {1, 1, 1}, 1});
  expect_different(base, ConvAttrs{{1, 1}, {0, 0}, {1, 1}, 2});

  PoolAttrs p;
  p.kernel = {2, 2};
  PoolAttrs q = p;
  expect_equal(p, q);
  q.divisor_override = 4;
  expect_different(p, q);
  q.divisor_override = std::nullopt;
  q.count_include_pad = false;
  expect_different(p, q);

  expect_equal(ClampAttrs{0.0, 6.0}, ClampAttrs{0.0, 6.0});
  expect_different(ClampAttrs{0.0, 6.0}, ClampAttrs{0.0, std::nullopt});
  expect_different(ClampAttrs{0.0, 6.0}, ClampAttrs{std::nullopt, 6.0});
  expect_different(GeluAttrs{GeluApprox::kNone}, GeluAttrs{GeluApprox::kTanh});
  expect_different(CastAttrs{DType::kF16}, CastAttrs{DType::kBF16});
  expect_different(ResizeAttrs{ResizeMode::kNearest, false, {4, 4}, {2.0, 2.0}},
                   ResizeAttrs{ResizeMode::kNearest, false, {4, 4}, {2.0, 2.5}});
  expect_different(ReduceAttrs{{1}, true}, ReduceAttrs{{1}, false});
}

TEST(AttrsTest, DimExprFieldsCompareStructurally) {
  const DimExpr s0 = DimExpr::symbol(0);
  const DimExpr s1 = DimExpr::symbol(1);
  expect_equal(ReshapeAttrs{{s0 * 2, -1}}, ReshapeAttrs{{s0 + s0, -1}});
  expect_different(ReshapeAttrs{{s0, -1}}, ReshapeAttrs{{s1, -1}});
  expect_equal(SliceAttrs{1, s0 - 1, s0, 1}, SliceAttrs{1, s0 - 1, s0, 1});
  expect_different(SliceAttrs{1, 0, s0, 1}, SliceAttrs{1, 0, s0 + 1, 1});
  expect_different(SliceAttrs{1, 0, s0, 1}, SliceAttrs{1, 0, s0, 2});
}

TEST(AttrsTest, DoublesCompareByBits) {
  expect_equal(FullAttrs{{2}, NAN, DType::kF32}, FullAttrs{{2}, NAN, DType::kF32});
  expect_different(FullAttrs{{2}, 0.0, DType::kF32}, FullAttrs{{2}, -0.0, DType::kF32});
  expect_different(LeakyReluAttrs{0.01}, LeakyReluAttrs{0.02});
}

TEST(AttrsTest, TensorDataComparesByContent) {
  const std::vector<float> a = {1, 2, 3};
  const std::vector<float> b = {1, 2, 4};
  auto constant = [](const std::vector<float>& v) {
    ConstantAttrs c;
    c.dtype = DType::kF32;
    c.shape = {static_cast<int64_t>(v.size())};
    c.data = TensorData::copy_of(v.data(), v.size() * sizeof(float));
    return c;
  };
  // Two separate copies of the same bytes are equal; one changed byte is not.
  expect_equal(constant(a), constant(a));
  expect_different(constant(a), constant(b));
  ConstantAttrs shorter = constant(a);
  shorter.data = TensorData::copy_of(a.data(), 2 * sizeof(float));
  expect_different(constant(a), shorter);
  ConstantAttrs reshaped = constant(a);
  reshaped.shape = {3, 1};
  expect_different(constant(a), reshaped);
}

TEST(AttrsTest, HashReadsTheFirstBytesOfLargeTensors) {
  // 8 KiB tensors that differ only after the first 4 KiB: unequal, and their hashes may agree
  // (the hash reads 4 KiB); ones that differ in the first bytes hash differently.
  std::vector<uint8_t> x(8192, 7), y = x, z = x;
  y[6000] = 8;
  z[10] = 8;
  ConstantAttrs cx, cy, cz;
  cx.dtype = cy.dtype = cz.dtype = DType::kU8;
  cx.shape = cy.shape = cz.shape = {8192};
  cx.data = TensorData::copy_of(x.data(), x.size());
  cy.data = TensorData::copy_of(y.data(), y.size());
  cz.data = TensorData::copy_of(z.data(), z.size());
  expect_different(cx, cy);
  EXPECT_EQ(attrs_hash(cx), attrs_hash(cy));
  expect_different(cx, cz);
  EXPECT_NE(attrs_hash(cx), attrs_hash(cz));
}

TEST(AttrsTest, HashSeparatesCommonVariants) {
  // Not a guarantee of the hash, but a collision among these would make CSE tables slow and
  // almost certainly means a field is ignored.
  std::vector<Attrs> all = {
      AxisAttrs{0},          AxisAttrs{1},          AxisAttrs{-1},
      ReduceAttrs{{0}, false}, ReduceAttrs{{0}, true}, ReduceAttrs{{1}, false},
      PermuteAttrs{{0, 1}},  PermuteAttrs{{1, 0}},  TileAttrs{{0, 1}},
      DivAttrs{DivRounding::kTrunc}, DivAttrs{DivRounding::kFloor}};
  for (size_t i = 0; i < all.size(); ++i) {
    for (size_t j = i + 1; j < all.size(); ++j) {
      EXPECT_FALSE(attrs_equal(all[i], all[j])) << i << " " << j;
      EXPECT_NE(attrs_hash(all[i]), attrs_hash(all[j])) << i << " " << j;
    }
  }
}

}  // namespace
}  // namespace kiln
