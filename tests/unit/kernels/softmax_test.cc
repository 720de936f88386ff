// Numeric tests of the softmax and log_softmax reference kernels (OpKind::kSoftmax,
// OpKind::kLogSoftmax) against the definition evaluated in double.
#include <gtest/gtest.h>

#include <limits>

#include "nn_test_util.h"

namespace kiln {
namespace {

using nn_test::expect_close;
using nn_test::make_node;
using nn_test::random_tensor;
using nn_test::rounding_rtol;
using nn_test::run_kernel;
using nn_test::Tensor;

constexpr double kInf = std::numeric_limits<double>::infinity();

// softmax (or log_softmax) of x along `axis`, in double, straight from the definition.
std::vector<double> naive_softmax(const Tensor& x, int64_t axis, bool log) {
  int64_t outer = 1, len = x.shape[size_t(axis)], inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= x.shape[size_t(i)];
  for (size_t i = size_t(axis) + 1; i < x.shape.size(); ++i) inner *= x.shape[i];
  std::vector<double> xv = x.values(), y(xv.size());
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t j = 0; j < inner; ++j) {
      auto at = [&](int64_t a) { return size_t((o * len + a) * inner + j); };
      double mx = -kInf;
      for (int64_t a = 0; a < len; ++a) mx = std::max(mx, xv[at(a)]);
      double sum = 0;
      for (int64_t a = 0; a < len; ++a) sum += std::exp(xv[at(a)] - mx);
      for (int64_t a = 0; a < len; ++a) {
        y[at(a)] = log ? xv[at(a)] - mx - std::log(sum) : std::exp(xv[at(a)] - mx) / sum;
      }
    }
  }
  return y;
}

void check_softmax(DType dt, ConcreteShape shape, int64_t axis, bool log, uint32_t seed,
                   double lo = -4, double hi = 4) {
  Tensor x = random_tensor(dt, shape, seed, lo, hi), out(dt, shape);
  out.poison();
  const Node node = log ? make_node(OpKind::kLogSoftmax, AxisAttrs{axis})
                        : make_node(OpKind::kSoftmax, AxisAttrs{axis});
  ASSERT_TRUE(
      run_kernel(log ? ref_kernel_LogSoftmax : ref_kernel_Softmax, node, {&x}, {&out}).ok());
  const int64_t a = axis < 0 ? axis + int64_t(shape.size()) : axis;
  expect_close(out.values(), naive_softmax(x, a, log), log ? 1e-5 : 1e-7, rounding_rtol(dt));
}

TEST(SoftmaxKernelTest, EveryAxis) {
  check_softmax(DType::kF32, {3, 7}, -1, false, 1);
  check_softmax(DType::kF32, {3, 7}, 0, false, 2);
  check_softmax(DType::kF32, {2, 5, 3}, 1, false, 3);
  check_softmax(DType::kF32, {2, 3, 70}, 1, false, 4);  // more inner columns than one chunk
  check_softmax(DType::kF32, {9}, 0, false, 5);
}

TEST(SoftmaxKernelTest, LargeValuesAreStable) {
  check_softmax(DType::kF32, {4, 10}, -1, false, 6, 1000, 1010);
  Tensor x = nn_test::tensor_of(DType::kF32, {3}, {1000, 1001, 1002}), out(DType::kF32, {3});
  out.poison();
  ASSERT_TRUE(
      run_kernel(ref_kernel_Softmax, make_node(OpKind::kSoftmax, AxisAttrs{0}), {&x}, {&out}).ok());
  const double z = 1 + std::exp(-1.0) + std::exp(-2.0);
  expect_close(out.values(), {std::exp(-2.0) / z, std::exp(-1.0) / z, 1 / z}, 1e-7, 1e-6);
}

TEST(SoftmaxKernelTest, MinusInfinityMasksAndFullyMaskedRowIsNan) {
  Tensor x = nn_test::tensor_of(DType::kF32, {2, 3}, {0, -kInf, 0, -kInf, -kInf, -kInf});
  Tensor out(DType::kF32, {2, 3});
  out.poison();
  ASSERT_TRUE(
      run_kernel(ref_kernel_Softmax, make_node(OpKind::kSoftmax, AxisAttrs{-1}), {&x}, {&out})
          .ok());
  const double nan = std::nan("");
  expect_close(out.values(), {0.5, 0, 0.5, nan, nan, nan}, 0, 0);
  Tensor log_out(DType::kF32, {2, 3});
  log_out.poison();
  ASSERT_TRUE(run_kernel(ref_kernel_LogSoftmax, make_node(OpKind::kLogSoftmax, AxisAttrs{-1}), {&x},
                         {&log_out})
                  .ok());
  expect_close(log_out.values(), {-std::log(2.0), -kInf, -std::log(2.0), nan, nan, nan}, 1e-7, 0);
}

TEST(SoftmaxKernelTest, HalfPrecision) {
  check_softmax(DType::kF16, {3, 19}, -1, false, 7);
  check_softmax(DType::kBF16, {4, 5, 6}, 1, false, 8);
}

TEST(LogSoftmaxKernelTest, EveryAxis) {
  check_softmax(DType::kF32, {3, 7}, -1, true, 11);
  check_softmax(DType::kF32, {4, 2, 5}, 0, true, 12);
  check_softmax(DType::kF32, {2, 3, 70}, -2, true, 13);
  check_softmax(DType::kF32, {2, 6}, -1, true, 14, 500, 600);
}

TEST(LogSoftmaxKernelTest, HalfPrecision) {
  check_softmax(DType::kF16, {3, 19}, -1, true, 15);
  check_softmax(DType::kBF16, {4, 6}, 0, true, 16);
}

TEST(SoftmaxKernelTest, RejectsBadAxis) {
  Tensor x(DType::kF32, {2, 3}), out(DType::kF32, {2, 3});
  Status s =
      run_kernel(ref_kernel_Softmax, make_node(OpKind::kSoftmax, AxisAttrs{2}), {&x}, {&out});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("softmax"), std::string::npos);
}

}  // namespace
}  // namespace kiln
