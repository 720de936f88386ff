// Numeric tests of the conv and conv_transpose reference kernels (OpKind::kConv,
// OpKind::kConvTranspose) against direct loop nests in double: the 7-nested-loop definition of
// convolution, and the scatter definition of its transpose.
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

// Spatial parameters of one case, one entry per spatial dim.
struct Spatial {
  std::vector<int64_t> stride, pad, dil, out_pad;
};

// Pads a 1-3 entry spatial vector to 3 entries on the left with `fill`.
std::array<int64_t, 3> to3(const std::vector<int64_t>& v, int64_t fill) {
  std::array<int64_t, 3> r{fill, fill, fill};
  for (size_t i = 0; i < v.size(); ++i) r[3 - v.size() + i] = v[i];
  return r;
}

// out[n, o, od, oh, ow] = bias[o] + sum over c < C/g and taps of
//   x[n, g*C/g + c, od*s - p + kd*d, ...] * w[o, c, kd, kh, kw]   (zero outside x).
std::vector<double> naive_conv(const Tensor& x, const Tensor& w, const Tensor* bias,
                               const ConcreteShape& out_shape, const Spatial& sp, int64_t groups) {
  std::vector<int64_t> xin(x.shape.begin() + 2, x.shape.end());
  std::vector<int64_t> kin(w.shape.begin() + 2, w.shape.end());
  std::vector<int64_t> oin(out_shape.begin() + 2, out_shape.end());
  const auto in = to3(xin, 1), k = to3(kin, 1), out = to3(oin, 1);
  const auto s = to3(sp.stride, 1), p = to3(sp.pad, 0), d = to3(sp.dil, 1);
  const int64_t n_batch = x.shape[0], c_in = x.shape[1], c_out = w.shape[0];
  const int64_t cg = c_in / groups, og = c_out / groups;
  const std::vector<double> xv = x.values(), wv = w.values();
  std::vector<double> res;
  for (int64_t n = 0; n < n_batch; ++n)
    for (int64_t o = 0; o < c_out; ++o)
      for (int64_t od = 0; od < out[0]; ++od)
        for (int64_t oh = 0; oh < out[1]; ++oh)
          for (int64_t ow = 0; ow < out[2]; ++ow) {
            double acc = bias ? bias->get(o) : 0.0;
            const int64_t gi = o / og;
            for (int64_t c = 0; c < cg; ++c)
              for (int64_t kd = 0; kd < k[0]; ++kd)
                for (int64_t kh = 0; kh < k[1]; ++kh)
                  for (int64_t kw = 0; kw < k[2]; ++kw) {
                    const int64_t id = od * s[0] - p[0] + kd * d[0];
                    const int64_t ih = oh * s[1] - p[1] + kh * d[1];
                    const int64_t iw = ow * s[2] - p[2] + kw * d[2];
                    if (id < 0 || id >= in[0] || ih < 0 || ih >= in[1] || iw < 0 || iw >= in[2])
                      continue;
                    const int64_t ci = gi * cg + c;
                    const double xe =
                        xv[size_t((((n * c_in + ci) * in[0] + id) * in[1] + ih) * in[2] + iw)];
                    const double we =
                        wv[size_t((((o * cg + c) * k[0] + kd) * k[1] + kh) * k[2] + kw)];
                    acc += xe * we;
                  }
            res.push_back(acc);
          }
  return res;
}

ConcreteShape conv_out_shape(const ConcreteShape& xs, const ConcreteShape& ws, const Spatial& sp) {
  ConcreteShape o = {xs[0], ws[0]};
  for (size_t i = 2; i < xs.size(); ++i) {
    const size_t j = i - 2;
    o.push_back((xs[i] + 2 * sp.pad[j] - sp.dil[j] * (ws[i] - 1) - 1) / sp.stride[j] + 1);
  }
  return o;
}

void check_conv(DType dt, ConcreteShape xs, ConcreteShape ws, Spatial sp, int64_t groups,
                bool with_bias, uint32_t seed) {
  Tensor x = random_tensor(dt, xs, seed), w = random_tensor(dt, ws, seed + 1);
  Tensor bias = random_tensor(dt, {ws[0]}, seed + 2);
  const ConcreteShape os = conv_out_shape(xs, ws, sp);
  Tensor out(dt, os);
  out.poison();
  const Node node = make_node(OpKind::kConv, ConvAttrs{sp.stride, sp.pad, sp.dil, groups});
  std::vector<const Tensor*> inputs = {&x, &w};
  if (with_bias) inputs.push_back(&bias);
  const Status st = run_kernel(ref_kernel_Conv, node, inputs, {&out});
  ASSERT_TRUE(st.ok()) << st.to_string();
  int64_t k = ws[1];
  for (size_t i = 2; i < ws.size(); ++i) k *= ws[i];
  expect_close(out.values(), naive_conv(x, w, with_bias ? &bias : nullptr, os, sp, groups),
               2e-6 * std::sqrt(double(k)), rounding_rtol(dt));
}

TEST(ConvKernelTest, Basic2DSamePadding) {
  check_conv(DType::kF32, {2, 3, 7, 6}, {5, 3, 3, 3}, {{1, 1}, {1, 1}, {1, 1}, {}}, 1, true, 1);
}

TEST(ConvKernelTest, StridePaddingDilationAsymmetricKernel) {
  check_conv(DType::kF32, {1, 3, 11, 9}, {4, 3, 3, 2}, {{2, 3}, {2, 1}, {2, 1}, {}}, 1, true, 2);
  check_conv(DType::kF32, {2, 2, 8, 13}, {3, 2, 2, 4}, {{3, 2}, {0, 3}, {1, 3}, {}}, 1, false, 3);
}

TEST(ConvKernelTest, Groups) {
  check_conv(DType::kF32, {2, 4, 9, 7}, {6, 2, 3, 3}, {{1, 2}, {1, 0}, {1, 1}, {}}, 2, true, 4);
  check_conv(DType::kF32, {1, 6, 5, 5}, {9, 2, 2, 2}, {{1, 1}, {0, 0}, {2, 2}, {}}, 3, false, 5);
}

TEST(ConvKernelTest, DepthwiseAndChannelMultiplier) {
  check_conv(DType::kF32, {2, 5, 10, 9}, {5, 1, 3, 3}, {{2, 2}, {1, 1}, {1, 1}, {}}, 5, true, 6);
  check_conv(DType::kF32, {1, 3, 8, 11}, {6, 1, 3, 5}, {{1, 3}, {2, 2}, {2, 1}, {}}, 3, true, 7);
  check_conv(DType::kF32, {1, 4, 3, 3}, {4, 1, 5, 5}, {{1, 1}, {2, 2}, {1, 1}, {}}, 4, false, 8);
}

TEST(ConvKernelTest, PointwiseConvs) {
  check_conv(DType::kF32, {2, 7, 5, 6}, {9, 7, 1, 1}, {{1, 1}, {0, 0}, {1, 1}, {}}, 1, true, 9);
  check_conv(DType::kF32, {1, 7, 9, 6}, {5, 7, 1, 1}, {{2, 2}, {0, 0}, {1, 1}, {}}, 1, true, 10);
  check_conv(DType::kF32, {1, 4, 3, 3}, {6, 2, 1, 1}, {{1, 1}, {1, 1}, {1, 1}, {}}, 2, true, 11);
}

TEST(ConvKernelTest, OneDimensional) {
  check_conv(DType::kF32, {2, 4, 19}, {6, 4, 5}, {{3}, {2}, {1}, {}}, 1, true, 12);
  check_conv(DType::kF32, {1, 6, 23}, {6, 2, 3}, {{1}, {4}, {3}, {}}, 3, false, 13);
  check_conv(DType::kF32, {3, 4, 16}, {4, 1, 4}, {{2}, {1}, {1}, {}}, 4, true, 14);
}

TEST(ConvKernelTest, ThreeDimensional) {
  check_conv(DType::kF32, {1, 2, 5, 6, 7}, {3, 2, 3, 2, 3}, {{2, 1, 2}, {1, 0, 1}, {1, 2, 1}, {}},
             1, true, 15);
  check_conv(DType::kF32, {2, 4, 4, 5, 3}, {4, 1, 2, 3, 3}, {{1, 2, 1}, {1, 1, 1}, {1, 1, 1}, {}},
             4, true, 16);
}

TEST(ConvKernelTest, LargerThanOneGemmTile) {
  // K = 40 * 9 = 360 > one K-block, N = 18 * 18 = 324, M = 100 > one row tile.
  check_conv(DType::kF32, {1, 40, 18, 18}, {100, 40, 3, 3}, {{1, 1}, {1, 1}, {1, 1}, {}}, 1, true,
             17);
}

TEST(ConvKernelTest, HalfPrecision) {
  check_conv(DType::kF16, {2, 4, 7, 8}, {6, 2, 3, 3}, {{2, 1}, {1, 1}, {1, 1}, {}}, 2, true, 18);
  check_conv(DType::kBF16, {1, 3, 9, 9}, {4, 3, 3, 3}, {{1, 1}, {1, 1}, {1, 1}, {}}, 1, true, 19);
  check_conv(DType::kBF16, {1, 3, 9, 9}, {3, 1, 3, 3}, {{1, 1}, {1, 1}, {1, 1}, {}}, 3, true, 20);
}

TEST(ConvKernelTest, HandComputed1D) {
  // x = [1, 2, 3, 4], w = [1, -1], bias 0.5, padding 1: [-0.5, -0.5, -0.5, -0.5, 4.5].
  Tensor x = nn_test::tensor_of(DType::kF32, {1, 1, 4}, {1, 2, 3, 4});
  Tensor w = nn_test::tensor_of(DType::kF32, {1, 1, 2}, {1, -1});
  Tensor b = nn_test::tensor_of(DType::kF32, {1}, {0.5});
  Tensor out(DType::kF32, {1, 1, 5});
  out.poison();
  const Node node = make_node(OpKind::kConv, ConvAttrs{{1}, {1}, {1}, 1});
  ASSERT_TRUE(run_kernel(ref_kernel_Conv, node, {&x, &w, &b}, {&out}).ok());
  expect_close(out.values(), {-0.5, -0.5, -0.5, -0.5, 4.5}, 0, 0);
}

TEST(ConvKernelTest, RejectsInconsistentShapes) {
  Tensor x(DType::kF32, {1, 4, 5, 5}), w(DType::kF32, {6, 3, 3, 3}), out(DType::kF32, {1, 6, 3, 3});
  const Node node = make_node(OpKind::kConv, ConvAttrs{{1, 1}, {0, 0}, {1, 1}, 1});
  Status s = run_kernel(ref_kernel_Conv, node, {&x, &w}, {&out});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("conv"), std::string::npos);
  Tensor w2(DType::kF32, {6, 4, 3, 3}), bad_out(DType::kF32, {1, 6, 4, 4});
  EXPECT_FALSE(run_kernel(ref_kernel_Conv, node, {&x, &w2}, {&bad_out}).ok());
  const Node bad_attrs = make_node(OpKind::kConv, ConvAttrs{{1}, {0, 0}, {1, 1}, 1});
  EXPECT_FALSE(run_kernel(ref_kernel_Conv, bad_attrs, {&x, &w2}, {&out}).ok());
}

// ---- Fused epilogue (residual, activation) and channels_last ----------------------------------

constexpr Activation kActivations[] = {Activation::kNone, Activation::kRelu, Activation::kSilu,
                                       Activation::kGelu, Activation::kGeluTanh};

// The same values as f32 (exact: every f16/bf16 value is an f32 value).
Tensor as_f32(const Tensor& t) {
  Tensor r(DType::kF32, t.shape);
  for (int64_t i = 0; i < t.numel(); ++i) r.set(i, t.get(i));
  return r;
}

// Runs one kernel and returns its output of `dt`[os].
Tensor run_op(Status (*kernel)(const KernelArgs&), const Node& node,
              const std::vector<const Tensor*>& inputs, DType dt, const ConcreteShape& os) {
  Tensor out(dt, os);
  out.poison();
  const Status st = run_kernel(kernel, node, inputs, {&out});
  EXPECT_TRUE(st.ok()) << st.to_string();
  return out;
}

// `act` as the standalone reference op, in place of `t` (kNone: t itself).
Tensor run_activation_op(Activation act, const Tensor& t) {
  switch (act) {
    case Activation::kNone: return t;
    case Activation::kRelu:
      return run_op(ref_kernel_Relu, make_node(OpKind::kRelu, NoAttrs{}), {&t}, t.dtype, t.shape);
    case Activation::kSilu:
      return run_op(ref_kernel_Silu, make_node(OpKind::kSilu, NoAttrs{}), {&t}, t.dtype, t.shape);
    case Activation::kGelu:
      return run_op(ref_kernel_Gelu, make_node(OpKind::kGelu, GeluAttrs{GeluApprox::kNone}), {&t},
                    t.dtype, t.shape);
    case Activation::kGeluTanh:
      return run_op(ref_kernel_Gelu, make_node(OpKind::kGelu, GeluAttrs{GeluApprox::kTanh}), {&t},
                    t.dtype, t.shape);
  }
  return t;
}

// Checks the fused conv (bias, residual, activation in one op, NC* layout) against the unfused
// sequence conv -> add -> activation of the existing reference ops run in f32 on the same values
// and rounded once to `dt` at the end: the fused op computes in f32 and rounds once, so the two
// must agree exactly. Then the same conv with channels_last on permuted operands must give the
// permuted output, exactly (the same f32 sums).
void check_fused_conv(DType dt, ConcreteShape xs, ConcreteShape ws, Spatial sp, int64_t groups,
                      bool with_bias, bool with_residual, Activation act, uint32_t seed) {
  SCOPED_TRACE(testing::Message() << dtype_name(dt) << " activation " << static_cast<int>(act)
                                  << " bias " << with_bias << " residual " << with_residual);
  Tensor x = random_tensor(dt, xs, seed), w = random_tensor(dt, ws, seed + 1);
  Tensor bias = random_tensor(dt, {ws[0]}, seed + 2);
  const ConcreteShape os = conv_out_shape(xs, ws, sp);
  Tensor residual = random_tensor(dt, os, seed + 3, -2.0, 2.0);
  ConvAttrs a{sp.stride, sp.pad, sp.dil, groups};
  a.activation = act;
  std::vector<const Tensor*> inputs = {&x, &w, with_bias ? &bias : nullptr};
  if (with_residual) inputs.push_back(&residual);
  const Tensor fused = run_op(ref_kernel_Conv, make_node(OpKind::kConv, a), inputs, dt, os);
  for (double v : fused.values()) ASSERT_FALSE(std::isnan(v)) << "an element was not written";

  // 1. Unfused, in f32.
  const Tensor x32 = as_f32(x), w32 = as_f32(w), b32 = as_f32(bias), r32 = as_f32(residual);
  Tensor y32 = run_op(ref_kernel_Conv,
                      make_node(OpKind::kConv, ConvAttrs{sp.stride, sp.pad, sp.dil, groups}),
                      {&x32, &w32, with_bias ? &b32 : nullptr}, DType::kF32, os);
  if (with_residual) {
    y32 = run_op(ref_kernel_Add, make_node(OpKind::kAdd, NoAttrs{}), {&y32, &r32}, DType::kF32, os);
  }
  y32 = run_activation_op(act, y32);
  Tensor unfused(dt, os);
  for (int64_t i = 0; i < unfused.numel(); ++i) unfused.set(i, y32.get(i));
  expect_close(fused.values(), unfused.values(), 0, 0, "fused vs unfused");

  // 2. channels_last on permuted operands.
  const Tensor x_cl = nn_test::to_channels_last(x), w_cl = nn_test::to_channels_last(w);
  const Tensor r_cl = nn_test::to_channels_last(residual);
  const Tensor want_cl = nn_test::to_channels_last(fused);
  a.channels_last = true;
  std::vector<const Tensor*> cl_inputs = {&x_cl, &w_cl, with_bias ? &bias : nullptr};
  if (with_residual) cl_inputs.push_back(&r_cl);
  const Tensor got_cl =
      run_op(ref_kernel_Conv, make_node(OpKind::kConv, a), cl_inputs, dt, want_cl.shape);
  for (double v : got_cl.values()) ASSERT_FALSE(std::isnan(v)) << "an element was not written";
  expect_close(got_cl.values(), want_cl.values(), 0, 0, "channels_last vs NC*");
}

TEST(ConvKernelTest, FusedEpilogueMatchesUnfusedOpsForEveryActivation) {
  uint32_t seed = 100;
  for (DType dt : {DType::kF32, DType::kF16, DType::kBF16}) {
    for (Activation act : kActivations) {
      check_fused_conv(dt, {2, 4, 7, 6}, {6, 2, 3, 3}, {{1, 2}, {1, 1}, {1, 1}, {}}, 2, true,
                       true, act, seed += 4);
      check_fused_conv(dt, {1, 3, 5, 5}, {5, 3, 1, 1}, {{1, 1}, {0, 0}, {1, 1}, {}}, 1, false,
                       true, act, seed += 4);
      check_fused_conv(dt, {1, 3, 9}, {4, 3, 3}, {{2}, {1}, {1}, {}}, 1, true, false, act,
                       seed += 4);
    }
  }
}

TEST(ConvKernelTest, ChannelsLastMatchesNcLayout) {
  // Grouped, depthwise (with a channel multiplier), pointwise, strided and dilated, 1-D and 3-D,
  // odd sizes, with and without bias and residual; check_fused_conv compares both layouts.
  for (DType dt : {DType::kF32, DType::kF16, DType::kBF16}) {
    check_fused_conv(dt, {2, 6, 7, 9}, {9, 2, 3, 2}, {{2, 1}, {1, 0}, {1, 2}, {}}, 3, true, true,
                     Activation::kRelu, 200);
    check_fused_conv(dt, {2, 5, 10, 9}, {5, 1, 3, 3}, {{2, 2}, {1, 1}, {1, 1}, {}}, 5, true, false,
                     Activation::kNone, 201);
    check_fused_conv(dt, {1, 3, 8, 11}, {6, 1, 3, 5}, {{1, 3}, {2, 2}, {2, 1}, {}}, 3, false,
                     true, Activation::kSilu, 202);
    check_fused_conv(dt, {2, 7, 5, 6}, {9, 7, 1, 1}, {{1, 1}, {0, 0}, {1, 1}, {}}, 1, true, true,
                     Activation::kGelu, 203);
    check_fused_conv(dt, {1, 40, 18, 18}, {33, 40, 3, 3}, {{1, 1}, {1, 1}, {1, 1}, {}}, 1, true,
                     true, Activation::kGeluTanh, 204);
    check_fused_conv(dt, {3, 4, 16}, {4, 1, 4}, {{2}, {1}, {1}, {}}, 4, true, true,
                     Activation::kRelu, 205);
    check_fused_conv(dt, {1, 2, 5, 6, 7}, {3, 2, 3, 2, 3}, {{2, 1, 2}, {1, 0, 1}, {1, 2, 1}, {}},
                     1, true, true, Activation::kNone, 206);
    check_fused_conv(dt, {2, 4, 4, 5, 3}, {4, 1, 2, 3, 3}, {{1, 2, 1}, {1, 1, 1}, {1, 1, 1}, {}},
                     4, false, false, Activation::kRelu, 207);
  }
}

TEST(ConvKernelTest, ChannelsLastAgainstTheDefinition) {
  // Independent of the NC* path: the naive loops on the NC* data, permuted.
  const Spatial sp{{2, 1}, {1, 1}, {1, 2}, {}};
  Tensor x = random_tensor(DType::kF32, {2, 4, 6, 7}, 300);
  Tensor w = random_tensor(DType::kF32, {6, 2, 3, 3}, 301);
  Tensor bias = random_tensor(DType::kF32, {6}, 302);
  const ConcreteShape os = conv_out_shape(x.shape, w.shape, sp);
  Tensor want(DType::kF32, os);
  const std::vector<double> ref = naive_conv(x, w, &bias, os, sp, 2);
  for (int64_t i = 0; i < want.numel(); ++i) want.set(i, ref[size_t(i)]);
  ConvAttrs a{sp.stride, sp.pad, sp.dil, 2};
  a.channels_last = true;
  const Tensor x_cl = nn_test::to_channels_last(x), w_cl = nn_test::to_channels_last(w);
  const Tensor want_cl = nn_test::to_channels_last(want);
  const Tensor got = run_op(ref_kernel_Conv, make_node(OpKind::kConv, a), {&x_cl, &w_cl, &bias},
                            DType::kF32, want_cl.shape);
  expect_close(got.values(), want_cl.values(), 1e-5, 1e-5);
}

TEST(ConvKernelTest, HandComputedResidualAndRelu) {
  // conv = [-0.5, -0.5, -0.5, -0.5, 4.5] (HandComputed1D); + residual [1, 0, 0.25, -1, -5], relu:
  // [0.5, 0, 0, 0, 0].
  Tensor x = nn_test::tensor_of(DType::kF32, {1, 1, 4}, {1, 2, 3, 4});
  Tensor w = nn_test::tensor_of(DType::kF32, {1, 1, 2}, {1, -1});
  Tensor b = nn_test::tensor_of(DType::kF32, {1}, {0.5});
  Tensor r = nn_test::tensor_of(DType::kF32, {1, 1, 5}, {1, 0, 0.25, -1, -5});
  ConvAttrs a{{1}, {1}, {1}, 1};
  a.activation = Activation::kRelu;
  const Tensor out = run_op(ref_kernel_Conv, make_node(OpKind::kConv, a), {&x, &w, &b, &r},
                            DType::kF32, {1, 1, 5});
  expect_close(out.values(), {0.5, 0, 0, 0, 0}, 0, 0);
}

TEST(ConvKernelTest, RejectsBadResidualAndChannelsLastShapes) {
  Tensor x(DType::kF32, {1, 4, 5, 5}), w(DType::kF32, {6, 4, 3, 3}), out(DType::kF32, {1, 6, 3, 3});
  Tensor bad_res(DType::kF32, {1, 6, 3, 1});
  const Node node = make_node(OpKind::kConv, ConvAttrs{{1, 1}, {0, 0}, {1, 1}, 1});
  Status s = run_kernel(ref_kernel_Conv, node, {&x, &w, nullptr, &bad_res}, {&out});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("residual"), std::string::npos) << s.message();
  Tensor half_res(DType::kF16, {1, 6, 3, 3});
  EXPECT_FALSE(run_kernel(ref_kernel_Conv, node, {&x, &w, nullptr, &half_res}, {&out}).ok());
  // channels_last reads C from the last dim: NC* operands do not fit.
  ConvAttrs cl{{1, 1}, {0, 0}, {1, 1}, 1};
  cl.channels_last = true;
  s = run_kernel(ref_kernel_Conv, make_node(OpKind::kConv, cl), {&x, &w}, {&out});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
}

// The transpose by its definition: each input element scatters x[n, ci, i] * w[ci, co, t] to
// out[n, g*O/g + co, i*s - p + t*d] when that lies inside the output.
std::vector<double> naive_conv_transpose(const Tensor& x, const Tensor& w, const Tensor* bias,
                                         const ConcreteShape& out_shape, const Spatial& sp,
                                         int64_t groups) {
  std::vector<int64_t> xin(x.shape.begin() + 2, x.shape.end());
  std::vector<int64_t> kin(w.shape.begin() + 2, w.shape.end());
  std::vector<int64_t> oin(out_shape.begin() + 2, out_shape.end());
  const auto in = to3(xin, 1), k = to3(kin, 1), out = to3(oin, 1);
  const auto s = to3(sp.stride, 1), p = to3(sp.pad, 0), d = to3(sp.dil, 1);
  const int64_t n_batch = x.shape[0], c_in = x.shape[1], og = w.shape[1], c_out = og * groups;
  const int64_t cg = c_in / groups;
  const std::vector<double> xv = x.values(), wv = w.values();
  const int64_t plane = out[0] * out[1] * out[2];
  std::vector<double> res(size_t(n_batch * c_out * plane));
  for (int64_t n = 0; n < n_batch; ++n)
    for (int64_t o = 0; o < c_out; ++o)
      for (int64_t q = 0; q < plane; ++q)
        res[size_t((n * c_out + o) * plane + q)] = bias ? bias->get(o) : 0.0;
  for (int64_t n = 0; n < n_batch; ++n)
    for (int64_t ci = 0; ci < c_in; ++ci)
      for (int64_t id = 0; id < in[0]; ++id)
        for (int64_t ih = 0; ih < in[1]; ++ih)
          for (int64_t iw = 0; iw < in[2]; ++iw)
            for (int64_t co = 0; co < og; ++co)
              for (int64_t kd = 0; kd < k[0]; ++kd)
                for (int64_t kh = 0; kh < k[1]; ++kh)
                  for (int64_t kw = 0; kw < k[2]; ++kw) {
                    const int64_t od = id * s[0] - p[0] + kd * d[0];
                    const int64_t oh = ih * s[1] - p[1] + kh * d[1];
                    const int64_t ow = iw * s[2] - p[2] + kw * d[2];
                    if (od < 0 || od >= out[0] || oh < 0 || oh >= out[1] || ow < 0 || ow >= out[2])
                      continue;
                    const int64_t o = (ci / cg) * og + co;
                    const double xe =
                        xv[size_t((((n * c_in + ci) * in[0] + id) * in[1] + ih) * in[2] + iw)];
                    const double we =
                        wv[size_t((((ci * og + co) * k[0] + kd) * k[1] + kh) * k[2] + kw)];
                    res[size_t((n * c_out + o) * plane + (od * out[1] + oh) * out[2] + ow)] +=
                        xe * we;
                  }
  return res;
}

void check_conv_transpose(DType dt, ConcreteShape xs, ConcreteShape ws, Spatial sp, int64_t groups,
                          bool with_bias, uint32_t seed) {
  Tensor x = random_tensor(dt, xs, seed), w = random_tensor(dt, ws, seed + 1);
  const int64_t c_out = ws[1] * groups;
  Tensor bias = random_tensor(dt, {c_out}, seed + 2);
  ConcreteShape os = {xs[0], c_out};
  for (size_t i = 2; i < xs.size(); ++i) {
    const size_t j = i - 2;
    os.push_back((xs[i] - 1) * sp.stride[j] - 2 * sp.pad[j] + sp.dil[j] * (ws[i] - 1) +
                 sp.out_pad[j] + 1);
  }
  Tensor out(dt, os);
  out.poison();
  const Node node = make_node(OpKind::kConvTranspose,
                              ConvTransposeAttrs{sp.stride, sp.pad, sp.out_pad, sp.dil, groups});
  std::vector<const Tensor*> inputs = {&x, &w};
  if (with_bias) inputs.push_back(&bias);
  const Status st = run_kernel(ref_kernel_ConvTranspose, node, inputs, {&out});
  ASSERT_TRUE(st.ok()) << st.to_string();
  expect_close(out.values(),
               naive_conv_transpose(x, w, with_bias ? &bias : nullptr, os, sp, groups),
               2e-6 * std::sqrt(double(xs[1] * 9)), rounding_rtol(dt));
}

TEST(ConvTransposeKernelTest, StrideTwoWithOutputPadding) {
  check_conv_transpose(DType::kF32, {2, 3, 5, 4}, {3, 4, 3, 3}, {{2, 2}, {1, 1}, {1, 1}, {1, 1}}, 1,
                       true, 30);
  check_conv_transpose(DType::kF32, {1, 4, 4, 4}, {4, 2, 2, 2}, {{2, 2}, {0, 0}, {1, 1}, {0, 0}}, 1,
                       false, 31);
}

TEST(ConvTransposeKernelTest, GroupsDilationAsymmetric) {
  check_conv_transpose(DType::kF32, {2, 4, 5, 6}, {4, 3, 3, 2}, {{3, 1}, {2, 1}, {2, 1}, {1, 0}}, 2,
                       true, 32);
  check_conv_transpose(DType::kF32, {1, 6, 3, 4}, {6, 1, 3, 3}, {{2, 3}, {1, 2}, {1, 2}, {0, 1}}, 6,
                       true, 33);
}

TEST(ConvTransposeKernelTest, OneAndThreeDimensional) {
  check_conv_transpose(DType::kF32, {2, 3, 9}, {3, 5, 4}, {{3}, {2}, {1}, {2}}, 1, true, 34);
  check_conv_transpose(DType::kF32, {1, 2, 3, 4, 3}, {2, 3, 2, 3, 2},
                       {{2, 1, 2}, {1, 1, 0}, {1, 1, 2}, {1, 0, 1}}, 1, true, 35);
}

TEST(ConvTransposeKernelTest, HalfPrecision) {
  check_conv_transpose(DType::kF16, {1, 4, 5, 5}, {4, 3, 3, 3}, {{2, 2}, {1, 1}, {1, 1}, {1, 1}}, 1,
                       true, 36);
  check_conv_transpose(DType::kBF16, {2, 4, 4, 3}, {4, 2, 3, 3}, {{1, 2}, {1, 0}, {1, 1}, {0, 1}},
                       2, true, 37);
}

TEST(ConvTransposeKernelTest, HandComputed1D) {
  // x = [1, 2], w = [1, 10], stride 2: [1, 10, 2, 20].
  Tensor x = nn_test::tensor_of(DType::kF32, {1, 1, 2}, {1, 2});
  Tensor w = nn_test::tensor_of(DType::kF32, {1, 1, 2}, {1, 10});
  Tensor out(DType::kF32, {1, 1, 4});
  out.poison();
  const Node node = make_node(OpKind::kConvTranspose, ConvTransposeAttrs{{2}, {0}, {0}, {1}, 1});
  ASSERT_TRUE(run_kernel(ref_kernel_ConvTranspose, node, {&x, &w}, {&out}).ok());
  expect_close(out.values(), {1, 10, 2, 20}, 0, 0);
}

TEST(ConvTransposeKernelTest, RejectsWrongOutputShape) {
  Tensor x(DType::kF32, {1, 2, 3, 3}), w(DType::kF32, {2, 3, 3, 3}), out(DType::kF32, {1, 3, 6, 6});
  const Node node =
      make_node(OpKind::kConvTranspose, ConvTransposeAttrs{{2, 2}, {1, 1}, {0, 0}, {1, 1}, 1});
  Status s = run_kernel(ref_kernel_ConvTranspose, node, {&x, &w}, {&out});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("conv_transpose"), std::string::npos);
}

}  // namespace
}  // namespace kiln
