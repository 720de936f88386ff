// Numeric tests of the normalisation reference kernels (OpKind::kBatchNorm, OpKind::kLayerNorm,
// OpKind::kRmsNorm, OpKind::kGroupNorm) against the formulas evaluated in double.
#include <gtest/gtest.h>

#include "nn_test_util.h"

namespace kiln {
namespace {

using nn_test::expect_close;
using nn_test::make_node;
using nn_test::random_tensor;
using nn_test::rounding_rtol;
using nn_test::run_kernel;
using nn_test::Tensor;

// Normalises each of `groups` consecutive blocks of `block` values (biased variance), then applies
// scale[i / per] and shift[i / per] where `per` values share one parameter (empty: 1 and 0).
// `rms`: no mean subtraction, mean of squares instead of variance.
std::vector<double> normalise_blocks(const std::vector<double>& x, int64_t block, double eps,
                                     bool rms, const std::vector<double>& scale,
                                     const std::vector<double>& shift, int64_t per,
                                     int64_t params_period) {
  std::vector<double> y(x.size());
  for (size_t b0 = 0; b0 < x.size(); b0 += size_t(block)) {
    double mean = 0, var = 0;
    for (int64_t i = 0; i < block; ++i) mean += x[b0 + i];
    mean /= double(block);
    for (int64_t i = 0; i < block; ++i) {
      const double d = rms ? x[b0 + i] : x[b0 + i] - mean;
      var += d * d;
    }
    var /= double(block);
    for (int64_t i = 0; i < block; ++i) {
      const size_t at = b0 + size_t(i);
      const int64_t p = (int64_t(at) / per) % params_period;
      const double v = ((rms ? x[at] : x[at] - mean) / std::sqrt(var + eps));
      y[at] =
          v * (scale.empty() ? 1.0 : scale[size_t(p)]) + (shift.empty() ? 0.0 : shift[size_t(p)]);
    }
  }
  return y;
}

TEST(BatchNormKernelTest, WithAndWithoutAffine) {
  for (DType dt : {DType::kF32, DType::kF16, DType::kBF16}) {
    Tensor x = random_tensor(dt, {2, 3, 4, 5}, 1, -3, 3);
    Tensor mean = random_tensor(dt, {3}, 2), var = random_tensor(dt, {3}, 3, 0.2, 2.0);
    Tensor w = random_tensor(dt, {3}, 4), b = random_tensor(dt, {3}, 5);
    for (bool affine : {true, false}) {
      Tensor out(dt, x.shape);
      out.poison();
      const Node node = make_node(OpKind::kBatchNorm, BatchNormAttrs{1e-3});
      std::vector<const Tensor*> in = {&x, &mean, &var};
      if (affine) in.insert(in.end(), {&w, &b});
      ASSERT_TRUE(run_kernel(ref_kernel_BatchNorm, node, in, {&out}).ok());
      std::vector<double> expected(size_t(x.numel()));
      for (int64_t i = 0; i < x.numel(); ++i) {
        const int64_t c = (i / 20) % 3;
        double y = (x.get(i) - mean.get(c)) / std::sqrt(var.get(c) + 1e-3);
        if (affine) y = y * w.get(c) + b.get(c);
        expected[size_t(i)] = y;
      }
      expect_close(out.values(), expected, 1e-5, rounding_rtol(dt), dtype_name(dt).data());
    }
  }
}

TEST(BatchNormKernelTest, TwoDimensionalInputAndBiasOnly) {
  Tensor x = random_tensor(DType::kF32, {4, 3}, 6), mean = random_tensor(DType::kF32, {3}, 7);
  Tensor var = random_tensor(DType::kF32, {3}, 8, 0.5, 1.5), b = random_tensor(DType::kF32, {3}, 9);
  Tensor absent, out(DType::kF32, {4, 3});
  out.poison();
  const Node node = make_node(OpKind::kBatchNorm, BatchNormAttrs{1e-5});
  ASSERT_TRUE(run_kernel(ref_kernel_BatchNorm, node, {&x, &mean, &var, &absent, &b}, {&out}).ok());
  std::vector<double> expected;
  for (int64_t i = 0; i < 12; ++i) {
    const int64_t c = i % 3;
    expected.push_back((x.get(i) - mean.get(c)) / std::sqrt(var.get(c) + 1e-5) + b.get(c));
  }
  expect_close(out.values(), expected, 1e-6, 1e-5);
}

TEST(BatchNormKernelTest, RejectsWrongParameterSize) {
  Tensor x(DType::kF32, {2, 3, 4}), mean(DType::kF32, {4}), var(DType::kF32, {3});
  Tensor out(DType::kF32, {2, 3, 4});
  const Node node = make_node(OpKind::kBatchNorm, BatchNormAttrs{});
  Status s = run_kernel(ref_kernel_BatchNorm, node, {&x, &mean, &var}, {&out});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("batch_norm"), std::string::npos);
}

void check_layer_norm(DType dt, ConcreteShape shape, int64_t axis, bool weight, bool bias,
                      double eps, uint32_t seed) {
  const size_t a = size_t(axis < 0 ? axis + int64_t(shape.size()) : axis);
  ConcreteShape trailing(shape.begin() + long(a), shape.end());
  const int64_t inner = concrete_numel(trailing);
  Tensor x = random_tensor(dt, shape, seed, -2, 4);
  Tensor w = random_tensor(dt, trailing, seed + 1), b = random_tensor(dt, trailing, seed + 2);
  Tensor absent, out(dt, shape);
  out.poison();
  const Node node = make_node(OpKind::kLayerNorm, NormAttrs{axis, eps});
  ASSERT_TRUE(run_kernel(ref_kernel_LayerNorm, node,
                         {&x, weight ? &w : &absent, bias ? &b : &absent}, {&out})
                  .ok());
  expect_close(
      out.values(),
      normalise_blocks(x.values(), inner, eps, false, weight ? w.values() : std::vector<double>{},
                       bias ? b.values() : std::vector<double>{}, 1, inner),
      2e-6, rounding_rtol(dt));
}

TEST(LayerNormKernelTest, LastAxisAndTrailingDims) {
  check_layer_norm(DType::kF32, {3, 4, 37}, -1, true, true, 1e-5, 10);
  check_layer_norm(DType::kF32, {3, 4, 5}, 1, true, true, 1e-5, 11);
  check_layer_norm(DType::kF32, {2, 3, 4, 5}, -3, false, false, 1e-5, 12);
  check_layer_norm(DType::kF32, {5, 8}, -1, true, false, 0.5, 13);  // large eps matters
  check_layer_norm(DType::kF32, {7}, 0, false, true, 1e-5, 14);
}

TEST(LayerNormKernelTest, HalfPrecision) {
  check_layer_norm(DType::kF16, {4, 33}, -1, true, true, 1e-5, 15);
  check_layer_norm(DType::kBF16, {2, 3, 16}, -2, true, true, 1e-5, 16);
}

TEST(LayerNormKernelTest, ConstantRowGivesBias) {
  Tensor x = nn_test::tensor_of(DType::kF32, {1, 4}, {2, 2, 2, 2});
  Tensor w = nn_test::tensor_of(DType::kF32, {4}, {1, 2, 3, 4});
  Tensor b = nn_test::tensor_of(DType::kF32, {4}, {0.5, -1, 0, 7});
  Tensor out(DType::kF32, {1, 4});
  out.poison();
  const Node node = make_node(OpKind::kLayerNorm, NormAttrs{-1, 1e-5});
  ASSERT_TRUE(run_kernel(ref_kernel_LayerNorm, node, {&x, &w, &b}, {&out}).ok());
  expect_close(out.values(), {0.5, -1, 0, 7}, 0, 0);
}

TEST(LayerNormKernelTest, RejectsBadAxisAndWeight) {
  Tensor x(DType::kF32, {2, 3}), out(DType::kF32, {2, 3}), w(DType::kF32, {2});
  EXPECT_FALSE(run_kernel(ref_kernel_LayerNorm, make_node(OpKind::kLayerNorm, NormAttrs{2, 1e-5}),
                          {&x}, {&out})
                   .ok());
  Status s = run_kernel(ref_kernel_LayerNorm, make_node(OpKind::kLayerNorm, NormAttrs{-1, 1e-5}),
                        {&x, &w}, {&out});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("layer_norm"), std::string::npos);
}

void check_rms_norm(DType dt, ConcreteShape shape, int64_t axis, bool weight, double eps,
                    uint32_t seed) {
  const size_t a = size_t(axis < 0 ? axis + int64_t(shape.size()) : axis);
  ConcreteShape trailing(shape.begin() + long(a), shape.end());
  const int64_t inner = concrete_numel(trailing);
  Tensor x = random_tensor(dt, shape, seed, -2, 3), w = random_tensor(dt, trailing, seed + 1);
  Tensor out(dt, shape);
  out.poison();
  const Node node = make_node(OpKind::kRmsNorm, NormAttrs{axis, eps});
  std::vector<const Tensor*> in = {&x};
  if (weight) in.push_back(&w);
  ASSERT_TRUE(run_kernel(ref_kernel_RmsNorm, node, in, {&out}).ok());
  expect_close(out.values(),
               normalise_blocks(x.values(), inner, eps, true,
                                weight ? w.values() : std::vector<double>{}, {}, 1, inner),
               2e-6, rounding_rtol(dt));
}

TEST(RmsNormKernelTest, Variants) {
  check_rms_norm(DType::kF32, {3, 41}, -1, true, 1e-6, 20);
  check_rms_norm(DType::kF32, {2, 3, 5}, -2, false, 1e-5, 21);
  check_rms_norm(DType::kF32, {4, 6}, 1, true, 0.25, 22);
  check_rms_norm(DType::kF16, {2, 3, 8}, -1, true, 1e-5, 23);
  check_rms_norm(DType::kBF16, {5, 16}, -1, true, 1e-5, 24);
}

TEST(RmsNormKernelTest, HandComputed) {
  // mean(x^2) = (9 + 16) / 2 = 12.5; y = x / sqrt(12.5) * w.
  Tensor x = nn_test::tensor_of(DType::kF32, {2}, {3, 4});
  Tensor w = nn_test::tensor_of(DType::kF32, {2}, {2, 1});
  Tensor out(DType::kF32, {2});
  out.poison();
  const Node node = make_node(OpKind::kRmsNorm, NormAttrs{-1, 0.0});
  ASSERT_TRUE(run_kernel(ref_kernel_RmsNorm, node, {&x, &w}, {&out}).ok());
  expect_close(out.values(), {6 / std::sqrt(12.5), 4 / std::sqrt(12.5)}, 1e-6, 1e-6);
}

void check_group_norm(DType dt, ConcreteShape shape, int64_t groups, bool affine, uint32_t seed) {
  const int64_t c = shape[1], plane = concrete_numel(shape) / (shape[0] * c);
  Tensor x = random_tensor(dt, shape, seed, -1, 3);
  Tensor w = random_tensor(dt, {c}, seed + 1), b = random_tensor(dt, {c}, seed + 2);
  Tensor out(dt, shape);
  out.poison();
  const Node node = make_node(OpKind::kGroupNorm, GroupNormAttrs{groups, 1e-4});
  std::vector<const Tensor*> in = {&x};
  if (affine) in.insert(in.end(), {&w, &b});
  ASSERT_TRUE(run_kernel(ref_kernel_GroupNorm, node, in, {&out}).ok());
  expect_close(out.values(),
               normalise_blocks(x.values(), c / groups * plane, 1e-4, false,
                                affine ? w.values() : std::vector<double>{},
                                affine ? b.values() : std::vector<double>{}, plane, c),
               2e-6, rounding_rtol(dt));
}

TEST(GroupNormKernelTest, GroupsSpatialRanksAndAffine) {
  check_group_norm(DType::kF32, {2, 6, 3, 4}, 3, true, 30);
  check_group_norm(DType::kF32, {2, 6, 3, 4}, 1, false, 31);
  check_group_norm(DType::kF32, {3, 4, 7}, 4, true, 32);  // instance norm
  check_group_norm(DType::kF32, {1, 8, 2, 3, 2}, 2, true, 33);
  check_group_norm(DType::kF16, {2, 4, 5, 5}, 2, true, 34);
  check_group_norm(DType::kBF16, {2, 4, 9}, 2, true, 35);
}

TEST(GroupNormKernelTest, RejectsIndivisibleGroups) {
  Tensor x(DType::kF32, {1, 6, 4}), out(DType::kF32, {1, 6, 4});
  Status s = run_kernel(ref_kernel_GroupNorm,
                        make_node(OpKind::kGroupNorm, GroupNormAttrs{4, 1e-5}), {&x}, {&out});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("group_norm"), std::string::npos);
}

}  // namespace
}  // namespace kiln
