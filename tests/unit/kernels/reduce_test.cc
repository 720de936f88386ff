// Numeric tests of the reduction reference kernels: reduce_sum / mean / max / min / prod, var,
// argmax, argmin, cumsum, topk. Expected values are literals or plain loops in double.
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
using ref_test::rounded;
using ref_test::run_kernel;
using ref_test::Tensor;
using ref_test::tensor_of;

const double kNan = std::numeric_limits<double>::quiet_NaN();

// x[i][j][k] = a distinct non-integer value, so a wrong element shows.
Tensor cube(DType t) {
  Tensor x(t, {2, 3, 4});
  for (int64_t i = 0; i < x.numel(); ++i) x.set(i, 0.5 * i - 3.25 + (i % 5) * 0.125);
  return x;
}

// Sums of cube() over the listed axes, computed by looping over every element.
std::vector<double> cube_sums(const Tensor& x, bool r0, bool r1, bool r2) {
  const int64_t n0 = r0 ? 1 : 2, n1 = r1 ? 1 : 3, n2 = r2 ? 1 : 4;
  std::vector<double> out(static_cast<size_t>(n0 * n1 * n2), 0.0);
  for (int64_t i = 0; i < 2; ++i) {
    for (int64_t j = 0; j < 3; ++j) {
      for (int64_t k = 0; k < 4; ++k) {
        const int64_t o = ((r0 ? 0 : i) * n1 + (r1 ? 0 : j)) * n2 + (r2 ? 0 : k);
        out[static_cast<size_t>(o)] += x.get((i * 3 + j) * 4 + k);
      }
    }
  }
  return out;
}

TEST(ReduceTest, SumOverAxesAndKeepdim) {
  Tensor x = cube(DType::kF32);
  Tensor o1 = output(DType::kF32, {2, 4});
  ASSERT_TRUE(run_kernel(OpKind::kReduceSum, ReduceAttrs{{1}, false}, {&x}, {&o1}).ok());
  expect_values(o1, cube_sums(x, false, true, false), 1e-6, 1e-6);

  Tensor o2 = output(DType::kF32, {1, 3, 1});
  ASSERT_TRUE(run_kernel(OpKind::kReduceSum, ReduceAttrs{{-1, 0}, true}, {&x}, {&o2}).ok());
  expect_values(o2, cube_sums(x, true, false, true), 1e-6, 1e-6);

  Tensor all = output(DType::kF32, {});
  ASSERT_TRUE(run_kernel(OpKind::kReduceSum, ReduceAttrs{{}, false}, {&x}, {&all}).ok());
  expect_values(all, cube_sums(x, true, true, true), 1e-6, 1e-6);

  Tensor o3 = output(DType::kF32, {3});
  ASSERT_TRUE(run_kernel(OpKind::kReduceSum, ReduceAttrs{{0, 2}, false}, {&x}, {&o3}).ok());
  expect_values(o3, cube_sums(x, true, false, true), 1e-6, 1e-6);
}

TEST(ReduceTest, SumHalfAndIntegers) {
  for (DType t : {DType::kF16, DType::kBF16}) {
    Tensor x = cube(t);
    Tensor o = output(t, {2, 3});
    ASSERT_TRUE(run_kernel(OpKind::kReduceSum, ReduceAttrs{{2}, false}, {&x}, {&o}).ok());
    std::vector<double> want = cube_sums(x, false, false, true);
    for (double& w : want) w = rounded(t, w);  // exact sum, rounded once
    expect_values(o, want);
  }
  // int32 accumulates in int64: no wrap when the output is i64 (as torch.sum on int32).
  Tensor i = tensor_of(DType::kI32, {2, 2}, {2147483647, 1, -5, 3});
  Tensor io = output(DType::kI64, {2});
  ASSERT_TRUE(run_kernel(OpKind::kReduceSum, ReduceAttrs{{1}, false}, {&i}, {&io}).ok());
  expect_ints(io, {2147483648LL, -2});
  Tensor b = tensor_of(DType::kBool, {5}, {1, 0, 1, 1, 0});
  Tensor bo = output(DType::kI64, {});
  ASSERT_TRUE(run_kernel(OpKind::kReduceSum, ReduceAttrs{{0}, false}, {&b}, {&bo}).ok());
  expect_ints(bo, {3});
  // Sum over an empty dim is 0.
  Tensor e(DType::kF32, {0, 3});
  Tensor eo = output(DType::kF32, {3});
  ASSERT_TRUE(run_kernel(OpKind::kReduceSum, ReduceAttrs{{0}, false}, {&e}, {&eo}).ok());
  expect_values(eo, {0, 0, 0});
}

TEST(ReduceTest, LargeSumAcrossThreads) {
  Tensor x(DType::kF32, {300, 257});
  for (int64_t i = 0; i < x.numel(); ++i) x.set(i, ((i * 7) % 11) - 5);
  Tensor rows = output(DType::kF32, {300});
  ASSERT_TRUE(run_kernel(OpKind::kReduceSum, ReduceAttrs{{1}, false}, {&x}, {&rows}).ok());
  Tensor cols = output(DType::kF32, {257});
  ASSERT_TRUE(run_kernel(OpKind::kReduceSum, ReduceAttrs{{0}, false}, {&x}, {&cols}).ok());
  std::vector<double> want_rows(300, 0), want_cols(257, 0);
  for (int64_t i = 0; i < 300; ++i) {
    for (int64_t j = 0; j < 257; ++j) {
      want_rows[static_cast<size_t>(i)] += x.get(i * 257 + j);
      want_cols[static_cast<size_t>(j)] += x.get(i * 257 + j);
    }
  }
  expect_values(rows, want_rows);
  expect_values(cols, want_cols);
}

TEST(ReduceTest, MeanFloatAndEmpty) {
  Tensor x = f32({2, 3}, {1, 2, 4, -1, 0, 7});
  Tensor o = output(DType::kF32, {2});
  ASSERT_TRUE(run_kernel(OpKind::kReduceMean, ReduceAttrs{{1}, false}, {&x}, {&o}).ok());
  expect_values(o, {7.0 / 3, 2}, 1e-7, 0);
  Tensor h = tensor_of(DType::kBF16, {4}, {1, 2, 3, 5});
  Tensor ho = output(DType::kBF16, {1});
  ASSERT_TRUE(run_kernel(OpKind::kReduceMean, ReduceAttrs{{}, true}, {&h}, {&ho}).ok());
  expect_values(ho, {2.75});
  // The mean of nothing is NaN, as in torch.
  Tensor e(DType::kF32, {0, 2});
  Tensor eo = output(DType::kF32, {2});
  ASSERT_TRUE(run_kernel(OpKind::kReduceMean, ReduceAttrs{{0}, false}, {&e}, {&eo}).ok());
  expect_values(eo, {kNan, kNan});
  Tensor i = i64({2}, {1, 2});
  Tensor io = output(DType::kI64, {});
  EXPECT_EQ(run_kernel(OpKind::kReduceMean, ReduceAttrs{{}, false}, {&i}, {&io}).code(),
            StatusCode::kInvalidArgument);
}

TEST(ReduceTest, MaxMinPropagateNan) {
  for (DType t : {DType::kF32, DType::kF16, DType::kBF16}) {
    Tensor x = tensor_of(t, {3, 3}, {1, -2, 3, kNan, 5, 0, -7, -8, -0.5});
    Tensor o = output(t, {3});
    ASSERT_TRUE(run_kernel(OpKind::kReduceMax, ReduceAttrs{{1}, false}, {&x}, {&o}).ok());
    expect_values(o, {3, kNan, -0.5});
    ASSERT_TRUE(run_kernel(OpKind::kReduceMin, ReduceAttrs{{1}, false}, {&x}, {&o}).ok());
    expect_values(o, {-2, kNan, -8});
    ASSERT_TRUE(run_kernel(OpKind::kReduceMax, ReduceAttrs{{0}, false}, {&x}, {&o}).ok());
    expect_values(o, {kNan, 5, 3});
    ASSERT_TRUE(run_kernel(OpKind::kReduceMin, ReduceAttrs{{-2}, false}, {&x}, {&o}).ok());
    expect_values(o, {kNan, -8, -0.5});
  }
  const int64_t big = (1LL << 62) + 1;
  Tensor i = i64({2, 2}, {big, big - 1, -3, -big});
  Tensor io = output(DType::kI64, {2});
  ASSERT_TRUE(run_kernel(OpKind::kReduceMax, ReduceAttrs{{1}, false}, {&i}, {&io}).ok());
  expect_ints(io, {big, -3});
  ASSERT_TRUE(run_kernel(OpKind::kReduceMin, ReduceAttrs{{1}, false}, {&i}, {&io}).ok());
  expect_ints(io, {big - 1, -big});
  Tensor e(DType::kF32, {0, 2});
  Tensor eo = output(DType::kF32, {2});
  EXPECT_EQ(run_kernel(OpKind::kReduceMax, ReduceAttrs{{0}, false}, {&e}, {&eo}).code(),
            StatusCode::kInvalidArgument);
}

TEST(ReduceTest, Prod) {
  Tensor x = f32({2, 3}, {1, 2, 3, -0.5, 4, 0.25});
  Tensor o = output(DType::kF32, {3});
  ASSERT_TRUE(run_kernel(OpKind::kReduceProd, ReduceAttrs{{0}, false}, {&x}, {&o}).ok());
  expect_values(o, {-0.5, 8, 0.75});
  Tensor i = i64({2}, {1LL << 32, 1LL << 32});
  Tensor io = output(DType::kI64, {});
  ASSERT_TRUE(run_kernel(OpKind::kReduceProd, ReduceAttrs{{}, false}, {&i}, {&io}).ok());
  expect_ints(io, {0});  // 2^64 wraps to 0
  Tensor e(DType::kF32, {2, 0});
  Tensor eo = output(DType::kF32, {2});
  ASSERT_TRUE(run_kernel(OpKind::kReduceProd, ReduceAttrs{{1}, false}, {&e}, {&eo}).ok());
  expect_values(eo, {1, 1});
}

TEST(ReduceTest, VarWithCorrection) {
  Tensor x = f32({2, 4}, {1, 2, 3, 4, 2, 2, 2, 10});
  Tensor o = output(DType::kF32, {2});
  // Row 0: mean 2.5, squared deviations 5. Row 1: mean 4, squared deviations 48.
  ASSERT_TRUE(run_kernel(OpKind::kVar, VarAttrs{{1}, false, 1}, {&x}, {&o}).ok());
  expect_values(o, {5.0 / 3, 16}, 1e-7, 0);
  ASSERT_TRUE(run_kernel(OpKind::kVar, VarAttrs{{-1}, false, 0}, {&x}, {&o}).ok());
  expect_values(o, {1.25, 12}, 1e-7, 0);
  Tensor all = output(DType::kF32, {1, 1});
  ASSERT_TRUE(run_kernel(OpKind::kVar, VarAttrs{{}, true, 1}, {&x}, {&all}).ok());
  // Mean 3.25; squared deviations 5.0625 + 1.5625 + 0.0625 + 0.5625 + 3 * 1.5625 + 45.5625 = 57.5.
  expect_values(all, {57.5 / 7}, 1e-7, 0);
  // One element with correction 1: 0 / 0 = NaN, as in torch.
  Tensor one = f32({1}, {3});
  Tensor oo = output(DType::kF32, {});
  ASSERT_TRUE(run_kernel(OpKind::kVar, VarAttrs{{0}, false, 1}, {&one}, {&oo}).ok());
  expect_values(oo, {kNan});
  Tensor h = tensor_of(DType::kF16, {3}, {1, 2, 6});
  Tensor ho = output(DType::kF16, {});
  ASSERT_TRUE(run_kernel(OpKind::kVar, VarAttrs{{0}, false, 1}, {&h}, {&ho}).ok());
  expect_values(ho, {7});  // mean 3, deviations 4 + 1 + 9 = 14, / 2
}

TEST(ReduceTest, ArgMaxArgMinTiesAndNan) {
  Tensor x = f32({2, 4}, {1, 5, 5, 2, 3, kNan, 7, kNan});
  Tensor o = output(DType::kI64, {2});
  ASSERT_TRUE(run_kernel(OpKind::kArgMax, ArgReduceAttrs{1, false}, {&x}, {&o}).ok());
  expect_ints(o, {1, 1});  // first of the tied maxima; the first NaN
  ASSERT_TRUE(run_kernel(OpKind::kArgMin, ArgReduceAttrs{-1, false}, {&x}, {&o}).ok());
  expect_ints(o, {0, 1});  // NaN also wins argmin
  Tensor o0 = output(DType::kI64, {1, 4});
  ASSERT_TRUE(run_kernel(OpKind::kArgMax, ArgReduceAttrs{0, true}, {&x}, {&o0}).ok());
  expect_ints(o0, {1, 1, 1, 1});
  ASSERT_TRUE(run_kernel(OpKind::kArgMin, ArgReduceAttrs{0, true}, {&x}, {&o0}).ok());
  expect_ints(o0, {0, 1, 0, 1});

  Tensor i = tensor_of(DType::kI32, {3, 2}, {4, -1, 9, -1, 9, -6});
  Tensor io = output(DType::kI64, {2});
  ASSERT_TRUE(run_kernel(OpKind::kArgMax, ArgReduceAttrs{0, false}, {&i}, {&io}).ok());
  expect_ints(io, {1, 0});
  ASSERT_TRUE(run_kernel(OpKind::kArgMin, ArgReduceAttrs{0, false}, {&i}, {&io}).ok());
  expect_ints(io, {0, 2});
  Tensor h = tensor_of(DType::kBF16, {5}, {-1, -3, 2, -3, 2});
  Tensor ho = output(DType::kI64, {});
  ASSERT_TRUE(run_kernel(OpKind::kArgMin, ArgReduceAttrs{0, false}, {&h}, {&ho}).ok());
  expect_ints(ho, {1});
  ASSERT_TRUE(run_kernel(OpKind::kArgMax, ArgReduceAttrs{0, false}, {&h}, {&ho}).ok());
  expect_ints(ho, {2});
  EXPECT_EQ(run_kernel(OpKind::kArgMax, ArgReduceAttrs{2, false}, {&h}, {&ho}).code(),
            StatusCode::kInvalidArgument);
}

TEST(CumsumTest, AlongEachAxis) {
  Tensor x = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor o = output(DType::kF32, {2, 3});
  ASSERT_TRUE(run_kernel(OpKind::kCumsum, AxisAttrs{1}, {&x}, {&o}).ok());
  expect_values(o, {1, 3, 6, 4, 9, 15});
  ASSERT_TRUE(run_kernel(OpKind::kCumsum, AxisAttrs{-2}, {&x}, {&o}).ok());
  expect_values(o, {1, 2, 3, 5, 7, 9});
  Tensor i = tensor_of(DType::kI32, {4}, {2147483647, 1, -3, 5});
  Tensor io = output(DType::kI64, {4});
  ASSERT_TRUE(run_kernel(OpKind::kCumsum, AxisAttrs{0}, {&i}, {&io}).ok());
  expect_ints(io, {2147483647, 2147483648LL, 2147483645, 2147483650LL});
  Tensor b = tensor_of(DType::kI64, {3}, {1, 0, 1});
  Tensor bo = output(DType::kI64, {3});
  ASSERT_TRUE(run_kernel(OpKind::kCumsum, AxisAttrs{0}, {&b}, {&bo}).ok());
  expect_ints(bo, {1, 1, 2});
}

TEST(CumsumTest, HalfKeepsARunningSum) {
  // The running sum is kept wide and only each output is rounded: 1024.5 rounds to 1024 in f16,
  // but the next output is 1025, not 1024 + 0.5 rounded again.
  Tensor x = tensor_of(DType::kF16, {3}, {1024, 0.5, 0.5});
  Tensor o = output(DType::kF16, {3});
  ASSERT_TRUE(run_kernel(OpKind::kCumsum, AxisAttrs{0}, {&x}, {&o}).ok());
  expect_values(o, {1024, 1024, 1025});
}

TEST(CumsumTest, LargeMatchesLoop) {
  Tensor x(DType::kF32, {3, 400, 300});
  for (int64_t i = 0; i < x.numel(); ++i) x.set(i, ((i * 13) % 7) - 3);
  Tensor o = output(DType::kF32, {3, 400, 300});
  ASSERT_TRUE(run_kernel(OpKind::kCumsum, AxisAttrs{1}, {&x}, {&o}).ok());
  std::vector<double> want(static_cast<size_t>(x.numel()));
  for (int64_t a = 0; a < 3; ++a) {
    for (int64_t c = 0; c < 300; ++c) {
      double acc = 0;
      for (int64_t b = 0; b < 400; ++b) {
        const int64_t i = (a * 400 + b) * 300 + c;
        acc += x.get(i);
        want[static_cast<size_t>(i)] = acc;
      }
    }
  }
  expect_values(o, want);
}

TEST(TopKTest, LargestAndSmallestWithStableTies) {
  Tensor x = f32({2, 5}, {3, 1, 3, 2, 5, 0, -1, 0, 7, -1});
  Tensor v = output(DType::kF32, {2, 3});
  Tensor i = output(DType::kI64, {2, 3});
  ASSERT_TRUE(run_kernel(OpKind::kTopK, TopKAttrs{3, -1, true}, {&x}, {&v, &i}).ok());
  expect_values(v, {5, 3, 3, 7, 0, 0});
  expect_ints(i, {4, 0, 2, 3, 0, 2});
  ASSERT_TRUE(run_kernel(OpKind::kTopK, TopKAttrs{3, 1, false}, {&x}, {&v, &i}).ok());
  expect_values(v, {1, 2, 3, -1, -1, 0});
  expect_ints(i, {1, 3, 0, 1, 4, 0});
}

TEST(TopKTest, AlongAxisZeroAndNan) {
  Tensor x = tensor_of(DType::kF16, {3, 2}, {1, kNan, 4, 2, kNan, 8});
  Tensor v = output(DType::kF16, {2, 2});
  Tensor i = output(DType::kI64, {2, 2});
  ASSERT_TRUE(run_kernel(OpKind::kTopK, TopKAttrs{2, 0, true}, {&x}, {&v, &i}).ok());
  expect_values(v, {kNan, kNan, 4, 8});  // NaN counts as the largest
  expect_ints(i, {2, 0, 1, 2});
  ASSERT_TRUE(run_kernel(OpKind::kTopK, TopKAttrs{2, 0, false}, {&x}, {&v, &i}).ok());
  expect_values(v, {1, 2, 4, 8});
  expect_ints(i, {0, 1, 1, 2});
}

TEST(TopKTest, IntegersKZeroAndErrors) {
  const int64_t big = (1LL << 60) + 1;
  Tensor x = i64({4}, {big, big - 1, -2, big});
  Tensor v = output(DType::kI64, {2});
  Tensor i = output(DType::kI64, {2});
  ASSERT_TRUE(run_kernel(OpKind::kTopK, TopKAttrs{2, 0, true}, {&x}, {&v, &i}).ok());
  expect_ints(v, {big, big});
  expect_ints(i, {0, 3});
  Tensor v0(DType::kI64, {0});
  Tensor i0(DType::kI64, {0});
  EXPECT_TRUE(run_kernel(OpKind::kTopK, TopKAttrs{0, 0, true}, {&x}, {&v0, &i0}).ok());
  Tensor v5 = output(DType::kI64, {5});
  Tensor i5 = output(DType::kI64, {5});
  EXPECT_EQ(run_kernel(OpKind::kTopK, TopKAttrs{5, 0, true}, {&x}, {&v5, &i5}).code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kiln
