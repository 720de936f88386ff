// Harness cases of the cuBLASLt GEMM family (src/kernels/cuda/gemm.cu): cuda.matmul and
// cuda.linear against ref.matmul and ref.linear over odd M/N/K (1, 7, 33, 129), a long K, K = 0,
// M = 0, N = 0 and empty batches, plain batches, a shared B (folded into M), a shared A (stride 0),
// [b, 1] against [1, b] broadcasting, rank 5 against rank 4, and 1-D operands on either side; f32,
// f16 and bf16. Inputs are in [-1, 1].
//
// Also a plain test of the internal epilogue variants for a later fusion pass (bias + ReLU,
// bias + GELU-tanh, ReLU, GELU-tanh, and TF32), against act(x @ w^T + bias) computed in double.
#include <cmath>
#include <string>
#include <vector>

#include "harness.h"

#if KILN_HAVE_CUDA && KILN_HAVE_CUBLASLT
#include "../../src/kernels/cuda/gemm.h"
#endif

namespace kiln::harness {
namespace {

const char* const kFloatTypes[] = {"f32", "f16", "bf16"};

// fp32 accumulation in another order than the reference's blocked GEMM (K up to 1000, |x| <= 1),
// then one rounding of the output dtype: neighbouring f16/bf16 values may differ by one ulp.
std::map<DType, Tolerance> gemm_tolerances() {
  return {{DType::kF32, {1e-5, 1e-4}}, {DType::kF16, {2e-3, 2e-4}}, {DType::kBF16, {1.6e-2, 2e-3}}};
}

// cuBLASLt's bias epilogue appears to round x @ w^T to the output dtype before adding the bias (seen
// on the H100, 2026-11-27); the reference rounds once. Under cancellation the result can be off
// by one ulp of |x @ w^T| (up to ~4 here, bf16 ulp 0.0156; f16 ulp 0.002).
void allow_bias_rounding(HarnessCase& c) {
  c.tolerances[DType::kF16].atol = 2e-3;
  c.tolerances[DType::kBF16].atol = 1.6e-2;
}

HarnessCase gemm_case(std::string name, std::string ir) {
  HarnessCase c;
  c.name = std::move(name);
  c.ir = std::move(ir);
  c.range.lo = -1;
  c.range.hi = 1;
  c.tolerances = gemm_tolerances();
  return c;
}

// Declarations of the symbols (single letters) that appear in `dims`, each in [0, 100000].
std::string symbols_in(const std::string& dims) {
  std::string out;
  for (char c = 'a'; c <= 'z'; ++c) {
    if (dims.find(c) != std::string::npos) {
      out += std::string("  symbol ") + c + " in [0, 100000] opt 4\n";
    }
  }
  return out;
}

// One matmul node: a : dt[a_dims] @ b : dt[b_dims].
std::string matmul_ir(const std::string& dt, const std::string& a_dims, const std::string& b_dims) {
  return "graph @g {\n" + symbols_in(a_dims + b_dims) + "  input %a : " + dt + "[" + a_dims +
         "]\n  input %b : " + dt + "[" + b_dims + "]\n  %0 = matmul(%a, %b)\n  return %0\n}\n";
}

// One linear node: x : dt[x_dims], w : dt[n, k], bias : dt[n] (or absent).
std::string linear_ir(const std::string& dt, const std::string& x_dims, bool bias) {
  return "graph @g {\n" + symbols_in(x_dims + "n, k") + "  input %x : " + dt + "[" + x_dims +
         "]\n  input %w : " + dt + "[n, k]\n" + (bias ? "  input %bias : " + dt + "[n]\n" : "") +
         "  %0 = linear(%x, %w, " + (bias ? "%bias" : "_") + ")\n  return %0\n}\n";
}

using Binding = std::map<std::string, int64_t>;

// `shapes`, each restricted to the symbols that `c`'s graph declares (the harness wants exactly
// those bound).
void bind(HarnessCase& c, const std::vector<Binding>& shapes) {
  for (const Binding& all : shapes) {
    Binding used;
    for (const auto& [name, value] : all) {
      if (c.ir.find("symbol " + name + " ") != std::string::npos) used[name] = value;
    }
    c.shapes.push_back(used);
  }
}

std::vector<HarnessCase> gemm_cases() {
  std::vector<HarnessCase> cases;
  for (const std::string dt : kFloatTypes) {
    const std::string p = "matmul_" + dt;
    // Plain 2-D: every combination of odd sizes, a long K, and the degenerate sizes.
    HarnessCase plain = gemm_case(p + "_2d", matmul_ir(dt, "m, k", "k, n"));
    for (int64_t m : {1, 7, 33, 129}) {
      for (int64_t n : {1, 7, 33, 129}) {
        for (int64_t k : {1, 7, 33, 129}) plain.shapes.push_back({{"m", m}, {"n", n}, {"k", k}});
      }
    }
    plain.shapes.push_back({{"m", 257}, {"n", 300}, {"k", 1000}});
    plain.shapes.push_back({{"m", 5}, {"n", 7}, {"k", 0}});  // K = 0: zeros
    plain.shapes.push_back({{"m", 0}, {"n", 7}, {"k", 5}});
    plain.shapes.push_back({{"m", 4}, {"n", 0}, {"k", 5}});
    cases.push_back(plain);

    // Batches: equal (one strided-batched launch), B shared (folded into M), A shared (stride 0).
    const std::vector<Binding> batch_shapes = {
        {{"p", 5}, {"m", 7}, {"n", 9}, {"k", 33}},   {{"p", 3}, {"m", 1}, {"n", 33}, {"k", 129}},
        {{"p", 2}, {"m", 33}, {"n", 1}, {"k", 7}},   {{"p", 2}, {"m", 33}, {"n", 7}, {"k", 0}},
        {{"p", 0}, {"m", 5}, {"n", 7}, {"k", 3}},    {{"p", 1}, {"m", 7}, {"n", 9}, {"k", 33}}};
    HarnessCase batched = gemm_case(p + "_batched", matmul_ir(dt, "p, m, k", "p, k, n"));
    bind(batched, batch_shapes);
    cases.push_back(batched);
    HarnessCase shared_b = gemm_case(p + "_shared_b", matmul_ir(dt, "p, m, k", "k, n"));
    bind(shared_b, batch_shapes);
    cases.push_back(shared_b);
    HarnessCase shared_a = gemm_case(p + "_shared_a", matmul_ir(dt, "m, k", "p, k, n"));
    bind(shared_a, batch_shapes);
    cases.push_back(shared_a);

    // Broadcasting [p, 1] against [1, q] and the other way round; rank 5 against rank 4.
    const std::vector<Binding> cross_shapes = {
        {{"p", 4}, {"q", 3}, {"m", 7}, {"n", 6}, {"k", 33}},
        {{"p", 2}, {"q", 5}, {"m", 1}, {"n", 129}, {"k", 7}},
        {{"p", 3}, {"q", 1}, {"m", 33}, {"n", 1}, {"k", 9}},
        {{"p", 0}, {"q", 3}, {"m", 7}, {"n", 6}, {"k", 5}}};
    HarnessCase cross = gemm_case(p + "_broadcast", matmul_ir(dt, "p, 1, m, k", "1, q, k, n"));
    bind(cross, cross_shapes);
    cases.push_back(cross);
    HarnessCase cross2 = gemm_case(p + "_broadcast_swapped", matmul_ir(dt, "1, q, m, k", "p, 1, k, n"));
    bind(cross2, cross_shapes);
    cases.push_back(cross2);
    HarnessCase rank5 = gemm_case(p + "_rank5", matmul_ir(dt, "p, q, r, m, k", "q, 1, k, n"));
    rank5.shapes = {{{"p", 2}, {"q", 3}, {"r", 4}, {"m", 7}, {"n", 6}, {"k", 5}},
                    {{"p", 1}, {"q", 2}, {"r", 3}, {"m", 1}, {"n", 33}, {"k", 33}}};
    cases.push_back(rank5);

    // 1-D operands.
    const std::vector<Binding> vec_shapes = {{{"p", 4}, {"m", 7}, {"n", 9}, {"k", 33}},
                                             {{"p", 2}, {"m", 1}, {"n", 1}, {"k", 129}},
                                             {{"p", 3}, {"m", 5}, {"n", 6}, {"k", 0}}};
    const std::pair<const char*, std::pair<const char*, const char*>> vec_forms[] = {
        {"dot", {"k", "k"}},           {"vec_mat", {"k", "k, n"}},
        {"mat_vec", {"m, k", "k"}},    {"vec_batched", {"k", "p, k, n"}},
        {"batched_vec", {"p, m, k", "k"}}};
    for (const auto& [form, dims] : vec_forms) {
      HarnessCase v = gemm_case(p + "_" + form, matmul_ir(dt, dims.first, dims.second));
      bind(v, vec_shapes);
      cases.push_back(v);
    }

    // linear, with and without bias.
    for (bool bias : {false, true}) {
      const std::string l = "linear_" + dt + (bias ? "_bias" : "");
      HarnessCase rows = gemm_case(l, linear_ir(dt, "m, k", bias));
      for (int64_t k : {1, 7, 33, 129}) {
        for (int64_t n : {1, 7, 33, 129}) rows.shapes.push_back({{"m", 7}, {"n", n}, {"k", k}});
      }
      rows.shapes.push_back({{"m", 1}, {"n", 129}, {"k", 33}});
      rows.shapes.push_back({{"m", 64}, {"n", 3072}, {"k", 768}});  // a BERT-sized layer
      rows.shapes.push_back({{"m", 5}, {"n", 7}, {"k", 0}});  // K = 0: zeros or the bias per row
      rows.shapes.push_back({{"m", 0}, {"n", 7}, {"k", 33}});
      rows.shapes.push_back({{"m", 3}, {"n", 0}, {"k", 33}});
      if (bias) allow_bias_rounding(rows);
      cases.push_back(rows);
      HarnessCase batched_x = gemm_case(l + "_batched", linear_ir(dt, "p, q, k", bias));
      batched_x.shapes = {{{"p", 2}, {"q", 3}, {"n", 129}, {"k", 33}},
                          {{"p", 0}, {"q", 3}, {"n", 7}, {"k", 5}},
                          {{"p", 2}, {"q", 1}, {"n", 9}, {"k", 0}}};
      if (bias) allow_bias_rounding(batched_x);
      cases.push_back(batched_x);
      HarnessCase vector_x = gemm_case(l + "_1d", linear_ir(dt, "k", bias));
      vector_x.shapes = {{{"n", 7}, {"k", 33}}, {{"n", 1}, {"k", 1}}, {{"n", 5}, {"k", 0}}};
      if (bias) allow_bias_rounding(vector_x);
      cases.push_back(vector_x);
    }
  }
  return cases;
}

KILN_HARNESS_CASES(Gemm, gemm_cases);

// ---- the internal epilogue variants --------------------------------------------------------------
#if KILN_HAVE_CUDA && KILN_HAVE_CUBLASLT

// x[m, k] @ w[n, k]^T (+ bias), then the activation, in double; compared with cuda::gemm_linear.
void check_epilogue(Device& device, DType dt, int64_t m, int64_t n, int64_t k,
                    cuda::GemmActivation act, bool bias, bool tf32) {
  SCOPED_TRACE(std::string(dtype_name(dt)) + " m=" + std::to_string(m) + " n=" +
               std::to_string(n) + " k=" + std::to_string(k) + " activation=" +
               std::to_string(static_cast<int>(act)) + (bias ? " bias" : "") +
               (tf32 ? " tf32" : ""));
  InputRange range;
  range.lo = -1;
  range.hi = 1;
  HostTensor x(dt, {m, k}), w(dt, {n, k}), b(dt, {n}), want(dt, {m, n}), got(dt, {m, n});
  fill_random(x, range, 1);
  fill_random(w, range, 2);
  fill_random(b, range, 3);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double s = bias ? b.get(j) : 0.0;
      for (int64_t p = 0; p < k; ++p) s += x.get(i * k + p) * w.get(j * k + p);
      if (act == cuda::GemmActivation::kRelu) s = s < 0 ? 0 : s;
      if (act == cuda::GemmActivation::kGeluTanh) {
        s = 0.5 * s * (1.0 + std::tanh(0.7978845608028654 * (s + 0.044715 * s * s * s)));
      }
      want.set(i * n + j, s);
    }
  }
  // 1. Device buffers; the output poisoned with NaN.
  auto put = [&](const HostTensor& h) -> TensorView {
    Expected<void*> p = device.allocate(std::max<int64_t>(h.nbytes(), 1));
    EXPECT_TRUE(p.ok()) << p.status().message();
    if (!p.ok()) return {};
    if (h.nbytes() > 0) {
      EXPECT_TRUE(device.upload(*p, h.bytes.data(), h.nbytes()).ok());
    }
    return {*p, h.dtype, h.shape};
  };
  poison(got, 0);
  const TensorView dx = put(x), dw = put(w), db = put(b), dout = put(got);
  ASSERT_NE(dout.data, nullptr);
  // 2. The GEMM, then the comparison.
  cuda::GemmOptions options;
  options.activation = act;
  options.allow_tf32 = tf32;
  const Status s = cuda::gemm_linear(dx, dw, bias ? &db : nullptr, dout, options, device.stream());
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_TRUE(device.synchronize().ok());
  ASSERT_TRUE(device.download(got.bytes.data(), dout.data, got.nbytes()).ok());
  Tolerance tol = gemm_tolerances()[dt];
  // TF32 keeps 10 mantissa bits of each operand: about 1e-3 relative per product.
  if (tf32) tol = {2e-3, 2e-3 * std::sqrt(static_cast<double>(k))};
  EXPECT_EQ(compare(got, want, tol), "");
}

TEST(GemmEpilogues, MatchDoublePrecision) {
  Expected<std::unique_ptr<Device>> device = open_cuda_device();
  if (!device.ok()) {
    if (require_cuda) FAIL() << device.status().message();
    GTEST_SKIP() << device.status().message();
  }
  using cuda::GemmActivation;
  for (DType dt : {DType::kF32, DType::kF16, DType::kBF16}) {
    for (GemmActivation act :
         {GemmActivation::kNone, GemmActivation::kRelu, GemmActivation::kGeluTanh}) {
      for (bool bias : {false, true}) {
        check_epilogue(**device, dt, 33, 65, 129, act, bias, false);
        check_epilogue(**device, dt, 7, 9, 0, act, bias, false);  // K = 0: act(bias) per row
      }
    }
  }
  check_epilogue(**device, DType::kF32, 64, 96, 256, GemmActivation::kNone, true, true);
  (*device)->release_all();
}

#endif  // KILN_HAVE_CUDA && KILN_HAVE_CUBLASLT

}  // namespace
}  // namespace kiln::harness
