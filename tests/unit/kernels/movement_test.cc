// Numeric tests of the data-movement reference kernels: reshape, permute, expand, slice, concat,
// split, take, gather, pad, tile, flip, roll, trilu. Expected values are literals or index loops.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "ref_test_util.h"

namespace kiln {
namespace {

using ref_test::expect_ints;
using ref_test::expect_values;
using ref_test::f32;
using ref_test::i64;
using ref_test::output;
using ref_test::run_kernel;
using ref_test::Tensor;
using ref_test::tensor_of;

// 0, 1, 2, ... in any dtype.
Tensor iota(DType t, ConcreteShape shape) {
  Tensor x(t, std::move(shape));
  for (int64_t i = 0; i < x.numel(); ++i) x.set(i, static_cast<double>(i));
  return x;
}

TEST(ReshapeTest, CopiesBytes) {
  Tensor x = iota(DType::kI8, {2, 3});
  Tensor y = output(DType::kI8, {3, 1, 2});
  ASSERT_TRUE(run_kernel(OpKind::kReshape, ReshapeAttrs{{3, 1, 2}}, {&x}, {&y}).ok());
  expect_ints(y, {0, 1, 2, 3, 4, 5});
  Tensor bad = output(DType::kI8, {4});
  EXPECT_EQ(run_kernel(OpKind::kReshape, ReshapeAttrs{{4}}, {&x}, {&bad}).code(),
            StatusCode::kInvalidArgument);
}

TEST(PermuteTest, MatchesIndexLoop) {
  for (DType t : {DType::kF32, DType::kF16, DType::kI64, DType::kU8}) {
    Tensor x = iota(t, {2, 3, 4});
    Tensor y = output(t, {4, 2, 3});
    ASSERT_TRUE(run_kernel(OpKind::kPermute, PermuteAttrs{{2, 0, 1}}, {&x}, {&y}).ok());
    std::vector<double> want;
    for (int64_t k = 0; k < 4; ++k) {
      for (int64_t i = 0; i < 2; ++i) {
        for (int64_t j = 0; j < 3; ++j) want.push_back(static_cast<double>((i * 3 + j) * 4 + k));
      }
    }
    expect_values(y, want);
  }
  Tensor x = iota(DType::kF32, {2, 3});
  Tensor y = output(DType::kF32, {3, 2});
  ASSERT_TRUE(run_kernel(OpKind::kPermute, PermuteAttrs{{-1, 0}}, {&x}, {&y}).ok());
  expect_values(y, {0, 3, 1, 4, 2, 5});
  EXPECT_EQ(run_kernel(OpKind::kPermute, PermuteAttrs{{0, 0}}, {&x}, {&y}).code(),
            StatusCode::kInvalidArgument);
}

TEST(PermuteTest, LargeTranspose) {
  Tensor x = iota(DType::kF32, {64, 33, 47});
  Tensor y = output(DType::kF32, {47, 64, 33});
  ASSERT_TRUE(run_kernel(OpKind::kPermute, PermuteAttrs{{2, 0, 1}}, {&x}, {&y}).ok());
  for (int64_t k = 0; k < 47; ++k) {
    for (int64_t i = 0; i < 64; ++i) {
      for (int64_t j = 0; j < 33; ++j) {
        ASSERT_EQ(y.get((k * 64 + i) * 33 + j), static_cast<double>((i * 33 + j) * 47 + k));
      }
    }
  }
}

TEST(ExpandTest, Broadcasts) {
  Tensor x = f32({3, 1}, {1, 2, 3});
  Tensor y = output(DType::kF32, {2, 3, 4});
  ASSERT_TRUE(run_kernel(OpKind::kExpand, ExpandAttrs{{2, 3, 4}}, {&x}, {&y}).ok());
  std::vector<double> want;
  for (int i = 0; i < 2; ++i) {
    for (double v : {1.0, 2.0, 3.0}) want.insert(want.end(), 4, v);
  }
  expect_values(y, want);
  Tensor s = tensor_of(DType::kBool, {}, {1});
  Tensor sy = output(DType::kBool, {2, 2});
  ASSERT_TRUE(run_kernel(OpKind::kExpand, ExpandAttrs{{2, 2}}, {&s}, {&sy}).ok());
  expect_ints(sy, {1, 1, 1, 1});
  Tensor bad = output(DType::kF32, {2, 4});
  Tensor x2 = f32({3}, {1, 2, 3});
  EXPECT_EQ(run_kernel(OpKind::kExpand, ExpandAttrs{{2, 4}}, {&x2}, {&bad}).code(),
            StatusCode::kInvalidArgument);
}

TEST(SliceTest, PythonBounds) {
  Tensor x = iota(DType::kI64, {7});
  Tensor a = output(DType::kI64, {3});
  ASSERT_TRUE(run_kernel(OpKind::kSlice, SliceAttrs{0, 1, -1, 2}, {&x}, {&a}).ok());
  expect_ints(a, {1, 3, 5});
  Tensor b = output(DType::kI64, {3});
  ASSERT_TRUE(run_kernel(OpKind::kSlice, SliceAttrs{-1, -100, 100, 3}, {&x}, {&b}).ok());
  expect_ints(b, {0, 3, 6});
  Tensor c = output(DType::kI64, {0});
  EXPECT_TRUE(run_kernel(OpKind::kSlice, SliceAttrs{0, 4, 2, 1}, {&x}, {&c}).ok());
  Tensor d = output(DType::kI64, {2});
  const int64_t kMax = std::numeric_limits<int64_t>::max();
  ASSERT_TRUE(run_kernel(OpKind::kSlice, SliceAttrs{0, -2, kMax, 1}, {&x}, {&d}).ok());
  expect_ints(d, {5, 6});
  Tensor wrong = output(DType::kI64, {4});
  EXPECT_EQ(run_kernel(OpKind::kSlice, SliceAttrs{0, 1, -1, 2}, {&x}, {&wrong}).code(),
            StatusCode::kInvalidArgument);
}

TEST(SliceTest, InnerAxisWithSymbolicBounds) {
  Tensor x = iota(DType::kF16, {2, 5});
  // start = s0, end = 2 * s0 + 1 with s0 = 1: columns 1 and 2.
  SliceAttrs a{1, DimExpr::symbol(0), DimExpr::symbol(0) * 2 + 1, 1};
  Tensor y = output(DType::kF16, {2, 2});
  ASSERT_TRUE(run_kernel(OpKind::kSlice, a, {&x}, {&y}, {1}).ok());
  expect_values(y, {1, 2, 6, 7});
  Tensor z = output(DType::kF16, {1, 5});
  ASSERT_TRUE(run_kernel(OpKind::kSlice, SliceAttrs{0, 1, 2, 1}, {&x}, {&z}).ok());
  expect_values(z, {5, 6, 7, 8, 9});
}

TEST(ConcatTest, AlongAxesSkippingEmpty) {
  Tensor a = f32({2, 1}, {1, 2});
  Tensor b = f32({2, 3}, {3, 4, 5, 6, 7, 8});
  Tensor e(DType::kF32, {0});
  Tensor y = output(DType::kF32, {2, 4});
  ASSERT_TRUE(run_kernel(OpKind::kConcat, AxisAttrs{1}, {&a, &e, &b}, {&y}).ok());
  expect_values(y, {1, 3, 4, 5, 2, 6, 7, 8});
  Tensor c = i64({1, 2}, {-1, -2});
  Tensor d = i64({2, 2}, {1, 2, 3, 4});
  Tensor z = output(DType::kI64, {3, 2});
  ASSERT_TRUE(run_kernel(OpKind::kConcat, AxisAttrs{-2}, {&d, &c}, {&z}).ok());
  expect_ints(z, {1, 2, 3, 4, -1, -2});
  Tensor bad = output(DType::kI64, {4, 2});
  EXPECT_EQ(run_kernel(OpKind::kConcat, AxisAttrs{0}, {&d, &c}, {&bad}).code(),
            StatusCode::kInvalidArgument);
  // Inputs that are empty because another dim is 0 still fill their span of the axis.
  Tensor p(DType::kF32, {0, 2}), q(DType::kF32, {0, 4});
  Tensor pq = output(DType::kF32, {0, 6});
  EXPECT_TRUE(run_kernel(OpKind::kConcat, AxisAttrs{1}, {&p, &q}, {&pq}).ok());
}

TEST(SplitTest, IntoSizes) {
  Tensor x = iota(DType::kBF16, {5, 2});
  Tensor a = output(DType::kBF16, {2, 2});
  Tensor b = output(DType::kBF16, {3, 2});
  ASSERT_TRUE(run_kernel(OpKind::kSplit, SplitAttrs{0, {2, 3}}, {&x}, {&a, &b}).ok());
  expect_values(a, {0, 1, 2, 3});
  expect_values(b, {4, 5, 6, 7, 8, 9});
  Tensor c = output(DType::kBF16, {5, 1});
  Tensor d = output(DType::kBF16, {5, 1});
  ASSERT_TRUE(run_kernel(OpKind::kSplit, SplitAttrs{-1, {1, 1}}, {&x}, {&c, &d}).ok());
  expect_values(c, {0, 2, 4, 6, 8});
  expect_values(d, {1, 3, 5, 7, 9});
  Tensor e = output(DType::kBF16, {2, 2});
  Tensor f = output(DType::kBF16, {2, 2});
  EXPECT_EQ(run_kernel(OpKind::kSplit, SplitAttrs{0, {2, 2}}, {&x}, {&e, &f}).code(),
            StatusCode::kInvalidArgument);
}

TEST(TakeTest, RowsAndNegativeIndices) {
  Tensor x = f32({3, 2}, {1, 2, 3, 4, 5, 6});
  Tensor idx = i64({2, 2}, {2, -1, 0, 1});
  Tensor y = output(DType::kF32, {2, 2, 2});
  ASSERT_TRUE(run_kernel(OpKind::kTake, AxisAttrs{0}, {&x, &idx}, {&y}).ok());
  expect_values(y, {5, 6, 5, 6, 1, 2, 3, 4});
  Tensor cols = tensor_of(DType::kI32, {3}, {1, 1, 0});
  Tensor z = output(DType::kF32, {3, 3});
  ASSERT_TRUE(run_kernel(OpKind::kTake, AxisAttrs{-1}, {&x, &cols}, {&z}).ok());
  expect_values(z, {2, 2, 1, 4, 4, 3, 6, 6, 5});
}

TEST(TakeTest, OutOfRangeIsAnError) {
  Tensor x = f32({3, 2}, {1, 2, 3, 4, 5, 6});
  Tensor y = output(DType::kF32, {2, 2});
  for (int64_t bad : {3, -4}) {
    Tensor idx = i64({2}, {0, bad});
    Status s = run_kernel(OpKind::kTake, AxisAttrs{0}, {&x, &idx}, {&y});
    EXPECT_EQ(s.code(), StatusCode::kOutOfRange) << s.to_string();
    EXPECT_NE(s.message().find("take"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("index " + std::to_string(bad)), std::string::npos) << s.message();
  }
}

TEST(GatherTest, TorchSemantics) {
  Tensor x = f32({2, 2}, {1, 2, 3, 4});
  Tensor idx = i64({2, 2}, {0, 0, 1, 0});
  Tensor y = output(DType::kF32, {2, 2});
  ASSERT_TRUE(run_kernel(OpKind::kGather, AxisAttrs{1}, {&x, &idx}, {&y}).ok());
  expect_values(y, {1, 1, 4, 3});
  // Index smaller than x in the other dim; axis 0.
  Tensor small = tensor_of(DType::kI32, {1, 2}, {1, 0});
  Tensor z = output(DType::kF32, {1, 2});
  ASSERT_TRUE(run_kernel(OpKind::kGather, AxisAttrs{-2}, {&x, &small}, {&z}).ok());
  expect_values(z, {3, 2});
  // 3-D along the middle axis: out[i][j][k] = x[i][index[i][j][k]][k].
  Tensor x3 = iota(DType::kI64, {2, 3, 2});
  Tensor i3 = i64({2, 2, 2}, {2, 0, 1, 1, 0, 2, 2, 2});
  Tensor y3 = output(DType::kI64, {2, 2, 2});
  ASSERT_TRUE(run_kernel(OpKind::kGather, AxisAttrs{1}, {&x3, &i3}, {&y3}).ok());
  expect_ints(y3, {4, 1, 2, 3, 6, 11, 10, 11});
}

TEST(GatherTest, BadIndexIsAnError) {
  Tensor x = f32({2, 2}, {1, 2, 3, 4});
  Tensor y = output(DType::kF32, {2, 2});
  for (int64_t bad : {2, -1}) {
    Tensor idx = i64({2, 2}, {0, bad, 1, 0});
    Status s = run_kernel(OpKind::kGather, AxisAttrs{1}, {&x, &idx}, {&y});
    EXPECT_EQ(s.code(), StatusCode::kOutOfRange) << s.to_string();
    EXPECT_NE(s.message().find("index " + std::to_string(bad)), std::string::npos) << s.message();
  }
}

TEST(PadTest, ConstantReflectReplicate) {
  Tensor x = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor c = output(DType::kF32, {3, 5});
  ASSERT_TRUE(
      run_kernel(OpKind::kPad, PadAttrs{{1, 0, 0, 2}, PadMode::kConstant, 9}, {&x}, {&c}).ok());
  expect_values(c, {9, 9, 9, 9, 9, 1, 2, 3, 9, 9, 4, 5, 6, 9, 9});

  Tensor row = f32({1, 4}, {1, 2, 3, 4});
  Tensor r = output(DType::kF32, {1, 7});
  ASSERT_TRUE(
      run_kernel(OpKind::kPad, PadAttrs{{0, 0, 2, 1}, PadMode::kReflect, 0}, {&row}, {&r}).ok());
  expect_values(r, {3, 2, 1, 2, 3, 4, 3});
  ASSERT_TRUE(
      run_kernel(OpKind::kPad, PadAttrs{{0, 0, 2, 1}, PadMode::kReplicate, 0}, {&row}, {&r}).ok());
  expect_values(r, {1, 1, 1, 2, 3, 4, 4});

  // Reflect and replicate on both dims of a 2-D tensor.
  Tensor both = output(DType::kF32, {4, 5});
  ASSERT_TRUE(
      run_kernel(OpKind::kPad, PadAttrs{{1, 1, 1, 1}, PadMode::kReflect, 0}, {&x}, {&both}).ok());
  expect_values(both, {5, 4, 5, 6, 5, 2, 1, 2, 3, 2, 5, 4, 5, 6, 5, 2, 1, 2, 3, 2});
  ASSERT_TRUE(
      run_kernel(OpKind::kPad, PadAttrs{{1, 1, 1, 1}, PadMode::kReplicate, 0}, {&x}, {&both})
          .ok());
  expect_values(both, {1, 1, 2, 3, 3, 1, 1, 2, 3, 3, 4, 4, 5, 6, 6, 4, 4, 5, 6, 6});
}

TEST(PadTest, NegativePadsCropAndValueRounds) {
  Tensor x = iota(DType::kF16, {2, 4});
  Tensor y = output(DType::kF16, {1, 4});
  // Crop the first row; drop one column at the start, add one constant column at the end.
  ASSERT_TRUE(
      run_kernel(OpKind::kPad, PadAttrs{{-1, 0, -1, 1}, PadMode::kConstant, 1.0 / 3}, {&x}, {&y})
          .ok());
  expect_values(y, {5, 6, 7, 0.333251953125});
  Tensor i = i64({3}, {7, 8, 9});
  Tensor io = output(DType::kI64, {5});
  ASSERT_TRUE(run_kernel(OpKind::kPad, PadAttrs{{1, 1}, PadMode::kConstant, -2}, {&i}, {&io}).ok());
  expect_ints(io, {-2, 7, 8, 9, -2});
  // Reflect needs pad < size.
  Tensor too_far = output(DType::kI64, {7});
  EXPECT_EQ(
      run_kernel(OpKind::kPad, PadAttrs{{3, 1}, PadMode::kReflect, 0}, {&i}, {&too_far}).code(),
      StatusCode::kInvalidArgument);
}

TEST(TileTest, RepeatsLikeTorch) {
  Tensor x = f32({2}, {1, 2});
  Tensor y = output(DType::kF32, {2, 6});
  ASSERT_TRUE(run_kernel(OpKind::kTile, TileAttrs{{2, 3}}, {&x}, {&y}).ok());
  expect_values(y, {1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2});
  Tensor m = i64({2, 2}, {1, 2, 3, 4});
  Tensor z = output(DType::kI64, {4, 2});
  ASSERT_TRUE(run_kernel(OpKind::kTile, TileAttrs{{2, 1}}, {&m}, {&z}).ok());
  expect_ints(z, {1, 2, 3, 4, 1, 2, 3, 4});
  EXPECT_EQ(run_kernel(OpKind::kTile, TileAttrs{{2}}, {&m}, {&z}).code(),
            StatusCode::kInvalidArgument);
}

TEST(FlipTest, AxesAndNegativeAxes) {
  Tensor x = iota(DType::kI32, {2, 3});
  Tensor y = output(DType::kI32, {2, 3});
  ASSERT_TRUE(run_kernel(OpKind::kFlip, AxesAttrs{{0}}, {&x}, {&y}).ok());
  expect_ints(y, {3, 4, 5, 0, 1, 2});
  ASSERT_TRUE(run_kernel(OpKind::kFlip, AxesAttrs{{-1}}, {&x}, {&y}).ok());
  expect_ints(y, {2, 1, 0, 5, 4, 3});
  ASSERT_TRUE(run_kernel(OpKind::kFlip, AxesAttrs{{0, 1}}, {&x}, {&y}).ok());
  expect_ints(y, {5, 4, 3, 2, 1, 0});
}

TEST(RollTest, PerAxisAndFlattened) {
  Tensor x = iota(DType::kF32, {5});
  Tensor y = output(DType::kF32, {5});
  ASSERT_TRUE(run_kernel(OpKind::kRoll, RollAttrs{{2}, {0}}, {&x}, {&y}).ok());
  expect_values(y, {3, 4, 0, 1, 2});
  ASSERT_TRUE(run_kernel(OpKind::kRoll, RollAttrs{{-6}, {-1}}, {&x}, {&y}).ok());
  expect_values(y, {1, 2, 3, 4, 0});

  Tensor m = iota(DType::kI64, {2, 3});
  Tensor f = output(DType::kI64, {2, 3});
  ASSERT_TRUE(run_kernel(OpKind::kRoll, RollAttrs{{1}, {}}, {&m}, {&f}).ok());
  expect_ints(f, {5, 0, 1, 2, 3, 4});
  ASSERT_TRUE(run_kernel(OpKind::kRoll, RollAttrs{{1, -1}, {0, 1}}, {&m}, {&f}).ok());
  expect_ints(f, {4, 5, 3, 1, 2, 0});
}

TEST(TriluTest, UpperAndLowerWithDiagonals) {
  for (bool upper : {true, false}) {
    for (int64_t diag : {-5, -1, 0, 1, 2, 9}) {
      Tensor x(DType::kF32, {2, 3, 4});
      for (int64_t i = 0; i < x.numel(); ++i) x.set(i, i + 1.5);
      Tensor y = output(DType::kF32, {2, 3, 4});
      ASSERT_TRUE(run_kernel(OpKind::kTrilu, TriluAttrs{upper, diag}, {&x}, {&y}).ok());
      std::vector<double> want;
      for (int64_t b = 0; b < 2; ++b) {
        for (int64_t i = 0; i < 3; ++i) {
          for (int64_t j = 0; j < 4; ++j) {
            const bool keep = upper ? j - i >= diag : j - i <= diag;
            want.push_back(keep ? ((b * 3 + i) * 4 + j) + 1.5 : 0.0);
          }
        }
      }
      expect_values(y, want, 0, 0, (upper ? "triu " : "tril ") + std::to_string(diag));
    }
  }
  Tensor v = iota(DType::kI64, {3});
  Tensor vo = output(DType::kI64, {3});
  EXPECT_EQ(run_kernel(OpKind::kTrilu, TriluAttrs{true, 0}, {&v}, {&vo}).code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kiln
