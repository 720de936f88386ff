// Numeric tests of the pooling reference kernels (OpKind::kMaxPool, OpKind::kAvgPool,
// OpKind::kAdaptiveAvgPool, OpKind::kAdaptiveMaxPool): hand-computed PyTorch results for the
// edge cases (ceil_mode, padding, count_include_pad, divisor_override, dilation), and direct
// window loops in double for larger random 1-D, 2-D and 3-D cases.
#include <gtest/gtest.h>

#include <limits>
#include <optional>

#include "nn_test_util.h"

namespace kiln {
namespace {

using nn_test::expect_close;
using nn_test::make_node;
using nn_test::random_tensor;
using nn_test::rounding_rtol;
using nn_test::run_kernel;
using nn_test::Tensor;

PoolAttrs pool_attrs(std::vector<int64_t> k, std::vector<int64_t> s, std::vector<int64_t> p,
                     std::vector<int64_t> d, bool ceil_mode, bool count_include_pad = true,
                     std::optional<int64_t> divisor = std::nullopt) {
  PoolAttrs a;
  a.kernel = std::move(k);
  a.stride = std::move(s);
  a.padding = std::move(p);
  a.dilation = std::move(d);
  a.ceil_mode = ceil_mode;
  a.count_include_pad = count_include_pad;
  a.divisor_override = divisor;
  return a;
}

std::vector<double> run_pool(Status (*kernel)(const KernelArgs&), OpKind op, Attrs attrs,
                             const Tensor& x, ConcreteShape out_shape) {
  Tensor out(x.dtype, std::move(out_shape));
  out.poison();
  const Status s = run_kernel(kernel, make_node(op, std::move(attrs)), {&x}, {&out});
  EXPECT_TRUE(s.ok()) << s.to_string();
  return out.values();
}

TEST(MaxPoolKernelTest, HandComputedEdgeCases) {
  Tensor x = nn_test::tensor_of(DType::kF32, {1, 1, 5}, {1, 5, 2, 8, 3});
  // ceil_mode keeps the last, partial window.
  expect_close(run_pool(ref_kernel_MaxPool, OpKind::kMaxPool, pool_attrs({2}, {2}, {0}, {1}, true),
                        x, {1, 1, 3}),
               {5, 8, 3}, 0, 0);
  expect_close(run_pool(ref_kernel_MaxPool, OpKind::kMaxPool, pool_attrs({2}, {2}, {0}, {1}, false),
                        x, {1, 1, 2}),
               {5, 8}, 0, 0);
  // Padding is -inf, not zero.
  Tensor neg = nn_test::tensor_of(DType::kF32, {1, 3}, {-1, -2, -3});
  expect_close(run_pool(ref_kernel_MaxPool, OpKind::kMaxPool, pool_attrs({3}, {1}, {1}, {1}, false),
                        neg, {1, 3}),
               {-1, -1, -2}, 0, 0);
  // Dilation 3: max(x[i], x[i + 3]).
  Tensor r = nn_test::tensor_of(DType::kF32, {1, 7}, {4, 0, 6, 1, 9, 2, 3});
  expect_close(run_pool(ref_kernel_MaxPool, OpKind::kMaxPool, pool_attrs({2}, {1}, {0}, {3}, false),
                        r, {1, 4}),
               {4, 9, 6, 3}, 0, 0);
  // NaN propagates.
  Tensor n = nn_test::tensor_of(DType::kF32, {1, 4}, {1, std::nan(""), 3, 2});
  expect_close(run_pool(ref_kernel_MaxPool, OpKind::kMaxPool, pool_attrs({2}, {2}, {0}, {1}, false),
                        n, {1, 2}),
               {std::nan(""), 3}, 0, 0);
}

TEST(AvgPoolKernelTest, HandComputedEdgeCases) {
  Tensor x5 = nn_test::tensor_of(DType::kF32, {1, 5}, {1, 2, 3, 4, 5});
  // ceil_mode: the last window [4, 6) is clipped to the input end and divides by 1.
  expect_close(run_pool(ref_kernel_AvgPool, OpKind::kAvgPool, pool_attrs({2}, {2}, {0}, {}, true),
                        x5, {1, 3}),
               {1.5, 3.5, 5}, 0, 1e-7);
  Tensor x6 = nn_test::tensor_of(DType::kF32, {1, 6}, {1, 2, 3, 4, 5, 6});
  // padding 1 with ceil_mode: windows [-1,2), [1,4), [3,6), [5,7) (clipped at in + pad = 7).
  expect_close(run_pool(ref_kernel_AvgPool, OpKind::kAvgPool,
                        pool_attrs({3}, {2}, {1}, {}, true, true), x6, {1, 4}),
               {1, 3, 5, 3}, 0, 1e-7);
  expect_close(run_pool(ref_kernel_AvgPool, OpKind::kAvgPool,
                        pool_attrs({3}, {2}, {1}, {}, true, false), x6, {1, 4}),
               {1.5, 3, 5, 6}, 0, 1e-7);
  expect_close(run_pool(ref_kernel_AvgPool, OpKind::kAvgPool,
                        pool_attrs({3}, {2}, {1}, {}, true, true, 2), x6, {1, 4}),
               {1.5, 4.5, 7.5, 3}, 0, 1e-7);
  // 2-D, stride defaults to the kernel size.
  Tensor x22 = nn_test::tensor_of(DType::kF32, {1, 1, 2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
  expect_close(run_pool(ref_kernel_AvgPool, OpKind::kAvgPool,
                        pool_attrs({2, 2}, {}, {0, 0}, {}, false), x22, {1, 1, 1, 2}),
               {3.5, 5.5}, 0, 1e-7);
}

// Output size per torch (pooling_output_shape).
int64_t pooled_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, bool ceil_mode) {
  const int64_t span = in + 2 * p - d * (k - 1) - 1;
  int64_t o = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
  if (ceil_mode && (o - 1) * s >= in + p) --o;
  return o;
}

// Direct max/avg pooling of a [planes, *sp] tensor with 1-3 pooled dims, in double.
std::vector<double> naive_pool(const Tensor& x, size_t nsp, const PoolAttrs& a, bool max,
                               ConcreteShape& out_shape) {
  const size_t lead = x.shape.size() - nsp;
  int64_t planes = 1;
  for (size_t i = 0; i < lead; ++i) planes *= x.shape[i];
  std::array<int64_t, 3> in{1, 1, 1}, out{1, 1, 1}, k{1, 1, 1}, s{1, 1, 1}, p{0, 0, 0}, d{1, 1, 1};
  out_shape.assign(x.shape.begin(), x.shape.begin() + long(lead));
  for (size_t i = 0; i < nsp; ++i) {
    const size_t j = 3 - nsp + i;
    in[j] = x.shape[lead + i];
    k[j] = a.kernel[i];
    s[j] = a.stride.empty() ? a.kernel[i] : a.stride[i];
    p[j] = a.padding[i];
    d[j] = (max && !a.dilation.empty()) ? a.dilation[i] : 1;
    out[j] = pooled_size(in[j], k[j], s[j], p[j], d[j], a.ceil_mode);
    out_shape.push_back(out[j]);
  }
  const std::vector<double> xv = x.values();
  std::vector<double> res;
  for (int64_t pl = 0; pl < planes; ++pl)
    for (int64_t o0 = 0; o0 < out[0]; ++o0)
      for (int64_t o1 = 0; o1 < out[1]; ++o1)
        for (int64_t o2 = 0; o2 < out[2]; ++o2) {
          double best = -std::numeric_limits<double>::infinity(), sum = 0;
          int64_t real = 0, padded = 1;
          const int64_t o[3] = {o0, o1, o2};
          for (int j = 0; j < 3; ++j) {
            const int64_t start = o[j] * s[j] - p[j];
            padded *= std::min(start + k[j], in[j] + p[j]) - start;
          }
          for (int64_t t0 = 0; t0 < k[0]; ++t0)
            for (int64_t t1 = 0; t1 < k[1]; ++t1)
              for (int64_t t2 = 0; t2 < k[2]; ++t2) {
                const int64_t i0 = o0 * s[0] - p[0] + t0 * d[0];
                const int64_t i1 = o1 * s[1] - p[1] + t1 * d[1];
                const int64_t i2 = o2 * s[2] - p[2] + t2 * d[2];
                if (i0 < 0 || i0 >= in[0] || i1 < 0 || i1 >= in[1] || i2 < 0 || i2 >= in[2])
                  continue;
                const double v = xv[size_t(((pl * in[0] + i0) * in[1] + i1) * in[2] + i2)];
                best = std::max(best, v);
                sum += v;
                ++real;
              }
          const int64_t div = a.divisor_override    ? *a.divisor_override
                              : a.count_include_pad ? padded
                                                    : real;
          res.push_back(max ? best : sum / double(div));
        }
  return res;
}

void check_pool(bool max, DType dt, ConcreteShape xs, const PoolAttrs& a, uint32_t seed) {
  Tensor x = random_tensor(dt, xs, seed, -3, 3);
  ConcreteShape os;
  const std::vector<double> expected = naive_pool(x, a.kernel.size(), a, max, os);
  const std::vector<double> got = max ? run_pool(ref_kernel_MaxPool, OpKind::kMaxPool, a, x, os)
                                      : run_pool(ref_kernel_AvgPool, OpKind::kAvgPool, a, x, os);
  expect_close(got, expected, 1e-6, rounding_rtol(dt));
}

TEST(MaxPoolKernelTest, RandomOneTwoThreeD) {
  check_pool(true, DType::kF32, {2, 3, 11}, pool_attrs({3}, {2}, {1}, {2}, true), 1);
  check_pool(true, DType::kF32, {2, 3, 9, 10}, pool_attrs({3, 3}, {2, 2}, {1, 1}, {1, 1}, false),
             2);
  check_pool(true, DType::kF32, {1, 2, 10, 7}, pool_attrs({3, 2}, {2, 3}, {1, 0}, {2, 1}, true), 3);
  check_pool(true, DType::kF32, {1, 2, 5, 6, 7},
             pool_attrs({2, 3, 2}, {2, 2, 1}, {1, 1, 0}, {1, 1, 2}, true), 4);
  check_pool(true, DType::kF16, {1, 3, 8, 8}, pool_attrs({2, 2}, {2, 2}, {0, 0}, {1, 1}, false), 5);
  check_pool(true, DType::kBF16, {2, 5, 7}, pool_attrs({3}, {2}, {1}, {1}, true), 6);
}

TEST(AvgPoolKernelTest, RandomOneTwoThreeD) {
  check_pool(false, DType::kF32, {2, 3, 11}, pool_attrs({3}, {2}, {1}, {}, true, true), 11);
  check_pool(false, DType::kF32, {2, 3, 11}, pool_attrs({3}, {2}, {1}, {}, true, false), 12);
  check_pool(false, DType::kF32, {1, 2, 9, 10}, pool_attrs({3, 2}, {2, 3}, {1, 1}, {}, true, false),
             13);
  check_pool(false, DType::kF32, {1, 2, 9, 10},
             pool_attrs({3, 3}, {2, 2}, {1, 0}, {}, false, true, 7), 14);
  check_pool(false, DType::kF32, {1, 2, 5, 6, 7},
             pool_attrs({2, 3, 3}, {2, 2, 3}, {1, 1, 1}, {}, true, true), 15);
  check_pool(false, DType::kF16, {1, 3, 8, 9}, pool_attrs({2, 2}, {2, 2}, {1, 1}, {}, true, false),
             16);
  check_pool(false, DType::kBF16, {2, 4, 6}, pool_attrs({2}, {1}, {1}, {}, false, true), 17);
}

TEST(PoolKernelTest, RejectsWrongOutputSizeAndBadPadding) {
  Tensor x(DType::kF32, {1, 1, 6}), out(DType::kF32, {1, 1, 4});
  Status s =
      run_kernel(ref_kernel_MaxPool,
                 make_node(OpKind::kMaxPool, pool_attrs({2}, {2}, {0}, {1}, false)), {&x}, {&out});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("max_pool"), std::string::npos);
  Tensor out3(DType::kF32, {1, 1, 3});
  EXPECT_FALSE(run_kernel(ref_kernel_AvgPool,
                          make_node(OpKind::kAvgPool, pool_attrs({2}, {2}, {2}, {}, false)), {&x},
                          {&out3})
                   .ok());
}

TEST(AdaptivePoolKernelTest, HandComputedWindows) {
  // in 5 -> out 3: windows [0, 2), [1, 4), [3, 5).
  Tensor x = nn_test::tensor_of(DType::kF32, {1, 1, 5}, {1, 2, 3, 4, 5});
  expect_close(run_pool(ref_kernel_AdaptiveAvgPool, OpKind::kAdaptiveAvgPool,
                        AdaptivePoolAttrs{{3}}, x, {1, 1, 3}),
               {1.5, 3, 4.5}, 0, 1e-7);
  Tensor y = nn_test::tensor_of(DType::kF32, {1, 1, 5}, {5, 1, 4, 2, 3});
  expect_close(run_pool(ref_kernel_AdaptiveMaxPool, OpKind::kAdaptiveMaxPool,
                        AdaptivePoolAttrs{{3}}, y, {1, 1, 3}),
               {5, 4, 3}, 0, 0);
  // Upsampling windows: in 2 -> out 3: [0, 1), [0, 2), [1, 2).
  Tensor z = nn_test::tensor_of(DType::kF32, {1, 2}, {2, 4});
  expect_close(run_pool(ref_kernel_AdaptiveAvgPool, OpKind::kAdaptiveAvgPool,
                        AdaptivePoolAttrs{{3}}, z, {1, 3}),
               {2, 3, 4}, 0, 1e-7);
}

// Direct adaptive pooling in double over 1-3 pooled dims.
std::vector<double> naive_adaptive(const Tensor& x, const std::vector<int64_t>& os, bool max) {
  const size_t nsp = os.size(), lead = x.shape.size() - nsp;
  int64_t planes = 1;
  for (size_t i = 0; i < lead; ++i) planes *= x.shape[i];
  std::array<int64_t, 3> in{1, 1, 1}, out{1, 1, 1};
  for (size_t i = 0; i < nsp; ++i) {
    in[3 - nsp + i] = x.shape[lead + i];
    out[3 - nsp + i] = os[i];
  }
  auto lo = [&](int j, int64_t o) {
    return int64_t(std::floor(double(o * in[j]) / double(out[j])));
  };
  auto hi = [&](int j, int64_t o) {
    return int64_t(std::ceil(double((o + 1) * in[j]) / double(out[j])));
  };
  const std::vector<double> xv = x.values();
  std::vector<double> res;
  for (int64_t pl = 0; pl < planes; ++pl)
    for (int64_t o0 = 0; o0 < out[0]; ++o0)
      for (int64_t o1 = 0; o1 < out[1]; ++o1)
        for (int64_t o2 = 0; o2 < out[2]; ++o2) {
          double best = -std::numeric_limits<double>::infinity(), sum = 0;
          int64_t n = 0;
          for (int64_t i0 = lo(0, o0); i0 < hi(0, o0); ++i0)
            for (int64_t i1 = lo(1, o1); i1 < hi(1, o1); ++i1)
              for (int64_t i2 = lo(2, o2); i2 < hi(2, o2); ++i2) {
                const double v = xv[size_t(((pl * in[0] + i0) * in[1] + i1) * in[2] + i2)];
                best = std::max(best, v);
                sum += v;
                ++n;
              }
          res.push_back(max ? best : sum / double(n));
        }
  return res;
}

void check_adaptive(bool max, DType dt, ConcreteShape xs, std::vector<int64_t> os, uint32_t seed) {
  Tensor x = random_tensor(dt, xs, seed, -3, 3);
  ConcreteShape out_shape(xs.begin(), xs.end() - long(os.size()));
  out_shape.insert(out_shape.end(), os.begin(), os.end());
  const std::vector<double> got =
      max ? run_pool(ref_kernel_AdaptiveMaxPool, OpKind::kAdaptiveMaxPool, AdaptivePoolAttrs{os}, x,
                     out_shape)
          : run_pool(ref_kernel_AdaptiveAvgPool, OpKind::kAdaptiveAvgPool, AdaptivePoolAttrs{os}, x,
                     out_shape);
  expect_close(got, naive_adaptive(x, os, max), 1e-6, rounding_rtol(dt));
}

TEST(AdaptivePoolKernelTest, RandomShapes) {
  for (bool max : {false, true}) {
    check_adaptive(max, DType::kF32, {2, 3, 7, 7}, {1, 1}, 20);  // global pooling
    check_adaptive(max, DType::kF32, {2, 3, 10, 13}, {3, 4}, 21);
    check_adaptive(max, DType::kF32, {1, 2, 4, 5}, {7, 6}, 22);  // larger than the input
    check_adaptive(max, DType::kF32, {2, 3, 17}, {5}, 23);
    check_adaptive(max, DType::kF32, {1, 2, 5, 6, 7}, {2, 3, 4}, 24);
    check_adaptive(max, DType::kF16, {1, 4, 9, 9}, {2, 2}, 25);
    check_adaptive(max, DType::kBF16, {1, 4, 9}, {4}, 26);
  }
}

TEST(AdaptivePoolKernelTest, RejectsOutputSizeMismatch) {
  Tensor x(DType::kF32, {1, 2, 6, 6}), out(DType::kF32, {1, 2, 3, 3});
  Status s =
      run_kernel(ref_kernel_AdaptiveAvgPool,
                 make_node(OpKind::kAdaptiveAvgPool, AdaptivePoolAttrs{{2, 2}}), {&x}, {&out});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("adaptive_avg_pool"), std::string::npos);
  EXPECT_FALSE(run_kernel(ref_kernel_AdaptiveMaxPool,
                          make_node(OpKind::kAdaptiveMaxPool, AdaptivePoolAttrs{{2, 2}}), {&x},
                          {&out})
                   .ok());
}

// max_pool / avg_pool with channels_last on permuted input against the NC* result, permuted: the
// same windows in the same order, so the results agree exactly. NaN is sprinkled in so that max's
// propagation is checked in both layouts.
void check_channels_last(OpKind op, DType dt, ConcreteShape xs, PoolAttrs a, uint32_t seed) {
  SCOPED_TRACE(testing::Message() << op_name(op) << " " << dtype_name(dt) << " seed " << seed);
  Status (*kernel)(const KernelArgs&) =
      op == OpKind::kMaxPool ? ref_kernel_MaxPool : ref_kernel_AvgPool;
  Tensor x = random_tensor(dt, xs, seed);
  for (int64_t i = 5; i < x.numel(); i += 17) x.set(i, std::nan(""));
  // The NC* output shape from shape inference's formula.
  ConcreteShape os = {xs[0], xs[1]};
  for (size_t i = 0; i + 2 < xs.size(); ++i) {
    const int64_t s = a.stride[i], p = a.padding[i], k = a.kernel[i];
    const int64_t d = a.dilation.empty() ? 1 : a.dilation[i];
    const int64_t span = xs[2 + i] + 2 * p - d * (k - 1) - 1;
    int64_t o = (a.ceil_mode ? (span + s - 1) / s : span / s) + 1;
    if (a.ceil_mode && (o - 1) * s >= xs[2 + i] + p) --o;
    os.push_back(o);
  }
  Tensor nc(dt, os);
  nc.poison();
  ASSERT_TRUE(run_kernel(kernel, make_node(op, a), {&x}, {&nc}).ok());
  const Tensor want = nn_test::to_channels_last(nc);
  const Tensor x_cl = nn_test::to_channels_last(x);
  a.channels_last = true;
  Tensor got(dt, want.shape);  // a finite poison: an unwritten element cannot match NaN or a value
  for (int64_t i = 0; i < got.numel(); ++i) got.set(i, 12345.0);
  const Status st = run_kernel(kernel, make_node(op, a), {&x_cl}, {&got});
  ASSERT_TRUE(st.ok()) << st.to_string();
  expect_close(got.values(), want.values(), 0, 0);
}

TEST(PoolKernelTest, ChannelsLastMatchesNcLayout) {
  uint32_t seed = 60;
  for (DType dt : {DType::kF32, DType::kF16, DType::kBF16}) {
    for (OpKind op : {OpKind::kMaxPool, OpKind::kAvgPool}) {
      const bool max = op == OpKind::kMaxPool;
      const std::vector<int64_t> dil2 = {max ? 2 : 1, 1};
      check_channels_last(op, dt, {2, 5, 9, 11}, pool_attrs({3, 3}, {2, 2}, {1, 1}, {1, 1}, false),
                          ++seed);
      check_channels_last(op, dt, {1, 3, 7, 10}, pool_attrs({3, 2}, {2, 3}, {1, 1}, dil2, true),
                          ++seed);
      check_channels_last(op, dt, {2, 4, 7, 10},
                          pool_attrs({3, 3}, {2, 2}, {1, 1}, {1, 1}, true, false), ++seed);
      check_channels_last(op, dt, {1, 6, 7, 8},
                          pool_attrs({2, 4}, {2, 3}, {1, 2}, {1, 1}, false, true, 3), ++seed);
      check_channels_last(op, dt, {3, 4, 13}, pool_attrs({4}, {3}, {2}, {1}, false, false),
                          ++seed);
      check_channels_last(op, dt, {1, 2, 5, 6, 7},
                          pool_attrs({2, 3, 2}, {1, 2, 2}, {1, 1, 0}, {1, 1, 1}, false), ++seed);
      check_channels_last(op, dt, {1, 1, 1, 1}, pool_attrs({1, 1}, {1, 1}, {0, 0}, {1, 1}, false),
                          ++seed);
    }
  }
}

TEST(PoolKernelTest, ChannelsLastRejectsChangedChannels) {
  PoolAttrs a = pool_attrs({2, 2}, {2, 2}, {0, 0}, {1, 1}, false);
  a.channels_last = true;
  Tensor x(DType::kF32, {1, 4, 4, 3}), out(DType::kF32, {1, 2, 2, 2});
  const Status s = run_kernel(ref_kernel_MaxPool, make_node(OpKind::kMaxPool, a), {&x}, {&out});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("channels"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace kiln
