// Numeric tests of the matmul and linear reference kernels (OpKind::kMatMul, OpKind::kLinear)
// against triple loops in double.
#include <gtest/gtest.h>

#include "nn_test_util.h"

namespace kiln {
namespace {

using nn_test::expect_close;
using nn_test::random_tensor;
using nn_test::rounding_rtol;
using nn_test::run_kernel;
using nn_test::Tensor;

// torch.matmul in double for a[..., M, K] @ b[..., K, N] (both rank >= 2, batch broadcast).
std::vector<double> naive_batched_matmul(const Tensor& a, const Tensor& b,
                                         const ConcreteShape& batch, int64_t m, int64_t n,
                                         int64_t k) {
  const std::vector<double> av = a.values(), bv = b.values();
  const size_t ra = a.shape.size() - 2, rb = b.shape.size() - 2;
  const int64_t batches = concrete_numel(batch);
  std::vector<double> out(static_cast<size_t>(batches * m * n));
  for (int64_t bi = 0; bi < batches; ++bi) {
    // Unravel bi over `batch`, then map to a's and b's batch index (size-1 dims broadcast).
    std::vector<int64_t> idx(batch.size());
    int64_t rem = bi;
    for (size_t d = batch.size(); d-- > 0;) {
      idx[d] = rem % batch[d];
      rem /= batch[d];
    }
    int64_t ia = 0, ib = 0;
    for (size_t d = 0; d < ra; ++d) {
      ia = ia * a.shape[d] + (a.shape[d] == 1 ? 0 : idx[batch.size() - ra + d]);
    }
    for (size_t d = 0; d < rb; ++d) {
      ib = ib * b.shape[d] + (b.shape[d] == 1 ? 0 : idx[batch.size() - rb + d]);
    }
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (int64_t p = 0; p < k; ++p) {
          s += av[static_cast<size_t>(ia * m * k + i * k + p)] *
               bv[static_cast<size_t>(ib * k * n + p * n + j)];
        }
        out[static_cast<size_t>(bi * m * n + i * n + j)] = s;
      }
    }
  }
  return out;
}

Node matmul_node() { return nn_test::make_node(OpKind::kMatMul, NoAttrs{}); }

// Runs matmul on random a, b and compares with the naive loop; `a_mat`/`b_mat` are a and b as
// rank >= 2 operands (1-D operands promoted), `batch` the broadcast batch shape.
void check_matmul(DType dt, ConcreteShape as, ConcreteShape bs, ConcreteShape out_shape,
                  ConcreteShape a_mat, ConcreteShape b_mat, ConcreteShape batch, uint32_t seed) {
  Tensor a = random_tensor(dt, as, seed), b = random_tensor(dt, bs, seed + 1);
  Tensor out(dt, out_shape);
  out.poison();
  ASSERT_TRUE(run_kernel(ref_kernel_MatMul, matmul_node(), {&a, &b}, {&out}).ok());
  Tensor a2 = a, b2 = b;
  a2.shape = a_mat;
  b2.shape = b_mat;
  const int64_t m = a_mat[a_mat.size() - 2], k = a_mat.back(), n = b_mat.back();
  const std::vector<double> expected = naive_batched_matmul(a2, b2, batch, m, n, k);
  expect_close(out.values(), expected, 1e-5 * std::sqrt(double(k)), rounding_rtol(dt));
}

TEST(MatmulKernelTest, Plain2DOddSizes) {
  check_matmul(DType::kF32, {37, 29}, {29, 45}, {37, 45}, {37, 29}, {29, 45}, {}, 1);
  check_matmul(DType::kF32, {1, 7}, {7, 1}, {1, 1}, {1, 7}, {7, 1}, {}, 2);
}

TEST(MatmulKernelTest, CrossesEveryBlockBoundary) {
  // M > one row tile (96), N > one column tile (512), K > one K-block (256).
  check_matmul(DType::kF32, {101, 263}, {263, 530}, {101, 530}, {101, 263}, {263, 530}, {}, 3);
}

TEST(MatmulKernelTest, VectorOperands) {
  check_matmul(DType::kF32, {13}, {13}, {}, {1, 13}, {13, 1}, {}, 4);            // dot
  check_matmul(DType::kF32, {5}, {3, 5, 7}, {3, 7}, {1, 5}, {3, 5, 7}, {3}, 5);  // vec @ batch
  check_matmul(DType::kF32, {2, 4, 6}, {6}, {2, 4}, {2, 4, 6}, {6, 1}, {2}, 6);  // batch @ vec
  check_matmul(DType::kF32, {9, 4}, {4}, {9}, {9, 4}, {4, 1}, {}, 7);            // mat @ vec
}

TEST(MatmulKernelTest, BatchBroadcasting) {
  check_matmul(DType::kF32, {2, 1, 4, 5}, {3, 5, 6}, {2, 3, 4, 6}, {2, 1, 4, 5}, {3, 5, 6}, {2, 3},
               8);
  check_matmul(DType::kF32, {2, 3, 4, 5}, {5, 6}, {2, 3, 4, 6}, {2, 3, 4, 5}, {5, 6}, {2, 3}, 9);
  check_matmul(DType::kF32, {4, 5}, {2, 5, 3}, {2, 4, 3}, {4, 5}, {2, 5, 3}, {2}, 10);
  check_matmul(DType::kF32, {3, 1, 7, 8}, {1, 2, 8, 9}, {3, 2, 7, 9}, {3, 1, 7, 8}, {1, 2, 8, 9},
               {3, 2}, 11);
}

TEST(MatmulKernelTest, HalfPrecisionRoundsOnce) {
  check_matmul(DType::kF16, {3, 17, 33}, {3, 33, 19}, {3, 17, 19}, {3, 17, 33}, {3, 33, 19}, {3},
               12);
  check_matmul(DType::kBF16, {17, 70}, {70, 23}, {17, 23}, {17, 70}, {70, 23}, {}, 13);
}

TEST(MatmulKernelTest, EmptyInnerDimGivesZeros) {
  Tensor a(DType::kF32, {2, 0}), b(DType::kF32, {0, 3}), out(DType::kF32, {2, 3});
  out.poison();
  ASSERT_TRUE(run_kernel(ref_kernel_MatMul, matmul_node(), {&a, &b}, {&out}).ok());
  expect_close(out.values(), std::vector<double>(6, 0.0), 0, 0);
}

TEST(MatmulKernelTest, HandComputed) {
  Tensor a = nn_test::tensor_of(DType::kF32, {2, 2}, {1, 2, 3, 4});
  Tensor b = nn_test::tensor_of(DType::kF32, {2, 3}, {5, 6, 7, 8, 9, 10});
  Tensor out(DType::kF32, {2, 3});
  out.poison();
  ASSERT_TRUE(run_kernel(ref_kernel_MatMul, matmul_node(), {&a, &b}, {&out}).ok());
  expect_close(out.values(), {21, 24, 27, 47, 54, 61}, 0, 0);
}

TEST(MatmulKernelTest, RejectsInconsistentShapesAndDtypes) {
  Tensor a(DType::kF32, {2, 3}), b(DType::kF32, {4, 5}), out(DType::kF32, {2, 5});
  Status s = run_kernel(ref_kernel_MatMul, matmul_node(), {&a, &b}, {&out});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("matmul"), std::string::npos);
  Tensor b2(DType::kF32, {3, 5}), wrong_out(DType::kF32, {2, 4});
  EXPECT_FALSE(run_kernel(ref_kernel_MatMul, matmul_node(), {&a, &b2}, {&wrong_out}).ok());
  Tensor b3(DType::kF16, {3, 5});
  EXPECT_FALSE(run_kernel(ref_kernel_MatMul, matmul_node(), {&a, &b3}, {&out}).ok());
  Tensor ia(DType::kI64, {2, 3}), ib(DType::kI64, {3, 5}), iout(DType::kI64, {2, 5});
  EXPECT_EQ(run_kernel(ref_kernel_MatMul, matmul_node(), {&ia, &ib}, {&iout}).code(),
            StatusCode::kUnsupported);
}

// linear in double: y[r, j] = sum_p x[r, p] * w[j, p] + bias[j].
std::vector<double> naive_linear(const Tensor& x, const Tensor& w, const Tensor* bias) {
  const int64_t n = w.shape[0], k = w.shape[1], rows = x.numel() / k;
  const std::vector<double> xv = x.values(), wv = w.values();
  std::vector<double> out(static_cast<size_t>(rows * n));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < n; ++j) {
      double s = bias ? bias->get(j) : 0.0;
      for (int64_t p = 0; p < k; ++p) s += xv[size_t(r * k + p)] * wv[size_t(j * k + p)];
      out[size_t(r * n + j)] = s;
    }
  }
  return out;
}

void check_linear(DType dt, ConcreteShape xs, int64_t n, bool with_bias, uint32_t seed) {
  const int64_t k = xs.back();
  Tensor x = random_tensor(dt, xs, seed), w = random_tensor(dt, {n, k}, seed + 1);
  Tensor bias = random_tensor(dt, {n}, seed + 2);
  ConcreteShape os = xs;
  os.back() = n;
  Tensor out(dt, os);
  out.poison();
  const Node node = nn_test::make_node(OpKind::kLinear, LinearAttrs{});
  std::vector<const Tensor*> inputs = {&x, &w};
  if (with_bias) inputs.push_back(&bias);
  ASSERT_TRUE(run_kernel(ref_kernel_Linear, node, inputs, {&out}).ok());
  expect_close(out.values(), naive_linear(x, w, with_bias ? &bias : nullptr),
               1e-5 * std::sqrt(double(k)), rounding_rtol(dt));
}

TEST(LinearKernelTest, WithAndWithoutBias) {
  check_linear(DType::kF32, {7, 13}, 11, true, 20);
  check_linear(DType::kF32, {2, 3, 13}, 17, false, 21);
  check_linear(DType::kF32, {13}, 5, true, 22);
  check_linear(DType::kF32, {3, 300}, 40, true, 23);
}

TEST(LinearKernelTest, AbsentBiasSlotIsIgnored) {
  Tensor x = random_tensor(DType::kF32, {4, 6}, 30), w = random_tensor(DType::kF32, {3, 6}, 31);
  Tensor absent, out(DType::kF32, {4, 3});
  out.poison();
  const Node node = nn_test::make_node(OpKind::kLinear, LinearAttrs{});
  ASSERT_TRUE(run_kernel(ref_kernel_Linear, node, {&x, &w, &absent}, {&out}).ok());
  expect_close(out.values(), naive_linear(x, w, nullptr), 1e-5, 1e-5);
}

TEST(LinearKernelTest, HalfPrecision) {
  check_linear(DType::kF16, {5, 33}, 9, true, 24);
  check_linear(DType::kBF16, {2, 5, 33}, 9, true, 25);
}

// The fused activation against the unfused sequence linear -> activation op: in f32 the two agree
// exactly (the same GEMM, the same activation function); f16/bf16 compute in f32 and round once,
// so they equal the f32 sequence on the same values rounded once at the end.
TEST(LinearKernelTest, FusedActivationMatchesUnfusedOps) {
  const Activation acts[] = {Activation::kNone, Activation::kRelu, Activation::kSilu,
                             Activation::kGelu, Activation::kGeluTanh};
  uint32_t seed = 40;
  for (DType dt : {DType::kF32, DType::kF16, DType::kBF16}) {
    for (Activation act : acts) {
      for (bool with_bias : {true, false}) {
        SCOPED_TRACE(testing::Message() << dtype_name(dt) << " activation "
                                        << static_cast<int>(act) << " bias " << with_bias);
        Tensor x = random_tensor(dt, {3, 5, 37}, ++seed, -2.0, 2.0);
        Tensor w = random_tensor(dt, {19, 37}, ++seed), bias = random_tensor(dt, {19}, ++seed);
        Tensor fused(dt, {3, 5, 19});
        fused.poison();
        std::vector<const Tensor*> inputs = {&x, &w, with_bias ? &bias : nullptr};
        ASSERT_TRUE(run_kernel(ref_kernel_Linear,
                               nn_test::make_node(OpKind::kLinear, LinearAttrs{act}), inputs,
                               {&fused})
                        .ok());
        // Unfused, in f32 on the same values.
        auto f32 = [](const Tensor& t) {
          Tensor r(DType::kF32, t.shape);
          for (int64_t i = 0; i < t.numel(); ++i) r.set(i, t.get(i));
          return r;
        };
        const Tensor x32 = f32(x), w32 = f32(w), b32 = f32(bias);
        Tensor y(DType::kF32, {3, 5, 19}), z(DType::kF32, {3, 5, 19});
        const Node plain = nn_test::make_node(OpKind::kLinear, LinearAttrs{});
        ASSERT_TRUE(
            run_kernel(ref_kernel_Linear, plain, {&x32, &w32, with_bias ? &b32 : nullptr}, {&y})
                .ok());
        Status st = ok_status();
        switch (act) {
          case Activation::kNone: z = y; break;
          case Activation::kRelu:
            st = run_kernel(ref_kernel_Relu, nn_test::make_node(OpKind::kRelu, NoAttrs{}), {&y},
                            {&z});
            break;
          case Activation::kSilu:
            st = run_kernel(ref_kernel_Silu, nn_test::make_node(OpKind::kSilu, NoAttrs{}), {&y},
                            {&z});
            break;
          case Activation::kGelu:
          case Activation::kGeluTanh:
            st = run_kernel(ref_kernel_Gelu,
                            nn_test::make_node(OpKind::kGelu,
                                               GeluAttrs{act == Activation::kGelu
                                                             ? GeluApprox::kNone
                                                             : GeluApprox::kTanh}),
                            {&y}, {&z});
            break;
        }
        ASSERT_TRUE(st.ok()) << st.to_string();
        for (double v : fused.values()) ASSERT_FALSE(std::isnan(v)) << "not written";
        Tensor want(dt, z.shape);
        for (int64_t i = 0; i < z.numel(); ++i) want.set(i, z.get(i));
        expect_close(fused.values(), want.values(), 0, 0);
      }
    }
  }
}

TEST(LinearKernelTest, RejectsMismatchedWeight) {
  Tensor x(DType::kF32, {4, 6}), w(DType::kF32, {3, 5}), out(DType::kF32, {4, 3});
  const Node node = nn_test::make_node(OpKind::kLinear, LinearAttrs{});
  Status s = run_kernel(ref_kernel_Linear, node, {&x, &w}, {&out});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("linear"), std::string::npos);
}

}  // namespace
}  // namespace kiln
