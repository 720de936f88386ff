// Numeric tests of the resize reference kernel (OpKind::kResize): hand-computed
// F.interpolate results for nearest and (bi)linear with and without align_corners and
// scale_factor, and a separable per-dim interpolation in double for random 1-D, 2-D and 3-D cases.
#include <gtest/gtest.h>

#include <cmath>

#include "nn_test_util.h"

namespace kiln {
namespace {

using nn_test::expect_close;
using nn_test::make_node;
using nn_test::random_tensor;
using nn_test::rounding_rtol;
using nn_test::run_kernel;
using nn_test::Tensor;

ResizeAttrs resize_attrs(ResizeMode mode, bool align_corners, std::vector<int64_t> size,
                         std::vector<double> scales = {}) {
  ResizeAttrs a;
  a.mode = mode;
  a.align_corners = align_corners;
  for (int64_t s : size) a.size.push_back(DimExpr(s));
  a.scales = std::move(scales);
  return a;
}

std::vector<double> run_resize(const Tensor& x, const ResizeAttrs& a) {
  ConcreteShape os = {x.shape[0], x.shape[1]};
  for (const DimExpr& d : a.size) os.push_back(d.constant_value());
  Tensor out(x.dtype, os);
  out.poison();
  const Status s = run_kernel(ref_kernel_Resize, make_node(OpKind::kResize, a), {&x}, {&out});
  EXPECT_TRUE(s.ok()) << s.to_string();
  return out.values();
}

TEST(ResizeKernelTest, NearestHandComputed) {
  Tensor x3 = nn_test::tensor_of(DType::kF32, {1, 1, 3}, {1, 2, 3});
  expect_close(run_resize(x3, resize_attrs(ResizeMode::kNearest, false, {5})), {1, 1, 2, 2, 3}, 0,
               0);
  expect_close(run_resize(x3, resize_attrs(ResizeMode::kNearest, false, {6})), {1, 1, 2, 2, 3, 3},
               0, 0);
  expect_close(run_resize(x3, resize_attrs(ResizeMode::kNearest, false, {2})), {1, 2}, 0, 0);
  // scale_factor 0.7 maps with 1/0.7, not in/out = 5/3: [0, 1, 2] rather than [0, 1, 3].
  Tensor x5 = nn_test::tensor_of(DType::kF32, {1, 1, 5}, {10, 20, 30, 40, 50});
  expect_close(run_resize(x5, resize_attrs(ResizeMode::kNearest, false, {3}, {0.7})), {10, 20, 30},
               0, 0);
  expect_close(run_resize(x5, resize_attrs(ResizeMode::kNearest, false, {3})), {10, 20, 40}, 0, 0);
  // An unchanged size with scale_factor 1.2 still maps with 1/1.2 (torch's contiguous kernel).
  expect_close(run_resize(x3, resize_attrs(ResizeMode::kNearest, false, {3}, {1.2})), {1, 1, 2}, 0,
               0);
  // Doubling with scale_factor 2.2 maps with 1/2.2, not dst / 2: index 2 reads x[0].
  Tensor x4 = nn_test::tensor_of(DType::kF32, {1, 1, 4}, {1, 2, 3, 4});
  expect_close(run_resize(x4, resize_attrs(ResizeMode::kNearest, false, {8}, {2.2})),
               {1, 1, 1, 2, 2, 3, 3, 4}, 0, 0);
  // 2-D: rows and columns independently.
  Tensor x22 = nn_test::tensor_of(DType::kF32, {1, 1, 2, 2}, {1, 2, 3, 4});
  expect_close(run_resize(x22, resize_attrs(ResizeMode::kNearest, false, {3, 4})),
               {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4}, 0, 0);
}

TEST(ResizeKernelTest, LinearHandComputed) {
  Tensor x2 = nn_test::tensor_of(DType::kF32, {1, 1, 2}, {0, 10});
  expect_close(run_resize(x2, resize_attrs(ResizeMode::kBilinear, false, {4})), {0, 2.5, 7.5, 10},
               1e-6, 1e-6);
  expect_close(run_resize(x2, resize_attrs(ResizeMode::kBilinear, true, {4})),
               {0, 10.0 / 3, 20.0 / 3, 10}, 1e-5, 1e-6);
  Tensor x3 = nn_test::tensor_of(DType::kF32, {1, 1, 3}, {0, 10, 20});
  // scale_factor 1.5: source = (dst + 0.5) / 1.5 - 0.5, not (dst + 0.5) * 3/4 - 0.5.
  expect_close(run_resize(x3, resize_attrs(ResizeMode::kBilinear, false, {4}, {1.5})),
               {0, 5, 35.0 / 3, 55.0 / 3}, 1e-5, 1e-6);
  expect_close(run_resize(x3, resize_attrs(ResizeMode::kBilinear, false, {4})),
               {0, 6.25, 13.75, 20}, 1e-5, 1e-6);
  // An unchanged size copies, whatever the scale_factor.
  expect_close(run_resize(x3, resize_attrs(ResizeMode::kBilinear, false, {3}, {1.2})), {0, 10, 20},
               0, 0);
  // align_corners ignores scales; output size 1 takes the first element.
  expect_close(run_resize(x3, resize_attrs(ResizeMode::kBilinear, true, {1}, {0.5})), {0}, 0, 0);
  // Bilinear 2x2 -> 3x3 with align_corners: the centre is the mean of the four corners.
  Tensor x22 = nn_test::tensor_of(DType::kF32, {1, 1, 2, 2}, {1, 2, 3, 5});
  expect_close(run_resize(x22, resize_attrs(ResizeMode::kBilinear, true, {3, 3})),
               {1, 1.5, 2, 2, 2.75, 3.5, 3, 4, 5}, 1e-6, 1e-6);
}

// torch's per-dim source mapping in double: nearest index, or (i0, i1, lambda) for linear.
struct RefTap {
  int64_t i0, i1;
  double lambda;
};

RefTap ref_tap(bool nearest, bool align_corners, int64_t in, int64_t out, double scale_factor,
               int64_t o) {
  const float scale = scale_factor > 0 ? float(1.0 / scale_factor) : float(in) / float(out);
  if (nearest) {
    const int64_t i = std::min(int64_t(std::floor(float(o) * scale)), in - 1);
    return {i, i, 0.0};
  }
  if (out == in) return {o, o, 0.0};
  double src = align_corners ? (out > 1 ? double(in - 1) / double(out - 1) * double(o) : 0.0)
                             : std::max(0.0, double(scale) * (double(o) + 0.5) - 0.5);
  const int64_t i0 = std::min(int64_t(std::floor(src)), in - 1);
  return {i0, std::min(i0 + 1, in - 1), std::min(1.0, src - double(i0))};
}

// Separable interpolation of x[N, C, *sp] in double: a sum over the 2^nsp corners.
std::vector<double> naive_resize(const Tensor& x, const ResizeAttrs& a) {
  const size_t nsp = x.shape.size() - 2;
  std::vector<int64_t> in(x.shape.begin() + 2, x.shape.end()), out;
  for (const DimExpr& d : a.size) out.push_back(d.constant_value());
  const int64_t planes = x.shape[0] * x.shape[1];
  const int64_t in_plane = concrete_numel(in), out_plane = concrete_numel(out);
  const bool nearest = a.mode == ResizeMode::kNearest;
  std::vector<double> res(size_t(planes * out_plane));
  for (int64_t p = 0; p < planes; ++p) {
    for (int64_t q = 0; q < out_plane; ++q) {
      std::vector<int64_t> o(nsp);
      for (size_t d = nsp, rem = size_t(q); d-- > 0;) {
        o[d] = int64_t(rem % size_t(out[d]));
        rem /= size_t(out[d]);
      }
      std::vector<RefTap> taps;
      for (size_t d = 0; d < nsp; ++d) {
        taps.push_back(ref_tap(nearest, a.align_corners, in[d], out[d],
                               a.scales.empty() ? -1.0 : a.scales[d], o[d]));
      }
      double v = 0;
      for (int corner = 0; corner < (1 << nsp); ++corner) {
        double w = 1;
        int64_t idx = 0;
        for (size_t d = 0; d < nsp; ++d) {
          const bool hi = (corner >> d) & 1;
          w *= hi ? taps[d].lambda : 1 - taps[d].lambda;
          idx = idx * in[d] + (hi ? taps[d].i1 : taps[d].i0);
        }
        if (w != 0) v += w * x.get(p * in_plane + idx);
      }
      res[size_t(p * out_plane + q)] = v;
    }
  }
  return res;
}

void check_resize(DType dt, ConcreteShape xs, ResizeAttrs a, uint32_t seed) {
  Tensor x = random_tensor(dt, xs, seed, -2, 2);
  expect_close(run_resize(x, a), naive_resize(x, a), 1e-5, rounding_rtol(dt));
}

TEST(ResizeKernelTest, RandomNearest) {
  check_resize(DType::kF32, {2, 3, 5, 7}, resize_attrs(ResizeMode::kNearest, false, {9, 4}), 1);
  check_resize(DType::kF32, {1, 2, 4, 6},
               resize_attrs(ResizeMode::kNearest, false, {10, 9}, {2.5, 1.5}), 2);
  check_resize(DType::kF32, {1, 2, 7}, resize_attrs(ResizeMode::kNearest, false, {3}), 3);
  check_resize(DType::kF32, {1, 2, 3, 4, 5}, resize_attrs(ResizeMode::kNearest, false, {6, 8, 7}),
               4);
  check_resize(DType::kF16, {1, 3, 4, 4}, resize_attrs(ResizeMode::kNearest, false, {8, 8}), 5);
}

TEST(ResizeKernelTest, RandomLinear) {
  for (bool align : {false, true}) {
    check_resize(DType::kF32, {2, 3, 5, 7}, resize_attrs(ResizeMode::kBilinear, align, {9, 4}), 10);
    check_resize(DType::kF32, {1, 2, 4, 6},
                 resize_attrs(ResizeMode::kBilinear, align, {10, 9}, {2.5, 1.5}), 11);
    check_resize(DType::kF32, {1, 2, 9}, resize_attrs(ResizeMode::kBilinear, align, {4}), 12);
    check_resize(DType::kF32, {1, 2, 3, 4, 5},
                 resize_attrs(ResizeMode::kBilinear, align, {6, 8, 7}), 13);
    check_resize(DType::kF16, {1, 3, 5, 4}, resize_attrs(ResizeMode::kBilinear, align, {8, 8}), 14);
    check_resize(DType::kBF16, {2, 2, 3, 3}, resize_attrs(ResizeMode::kBilinear, align, {7, 5}),
                 15);
  }
}

TEST(ResizeKernelTest, RejectsMismatchedBatchOrRank) {
  Tensor x(DType::kF32, {1, 2, 4, 4}), out(DType::kF32, {1, 3, 8, 8});
  Status s = run_kernel(
      ref_kernel_Resize,
      make_node(OpKind::kResize, resize_attrs(ResizeMode::kNearest, false, {8, 8})), {&x}, {&out});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("resize"), std::string::npos);
  Tensor out2(DType::kF32, {1, 2, 8, 8});
  EXPECT_FALSE(
      run_kernel(ref_kernel_Resize,
                 make_node(OpKind::kResize, resize_attrs(ResizeMode::kNearest, false, {8})), {&x},
                 {&out2})
          .ok());
}

}  // namespace
}  // namespace kiln
