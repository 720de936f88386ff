// The cuBLASLt GEMM family's internal entry points (src/kernels/cuda/gemm.cu), for the registered
// kernels cuda.matmul / cuda.linear and for a later fusion pass that folds an activation (and, for
// linear, the bias) into the GEMM's epilogue. cuda_gemm_kernels() (families.h) lists the registered
// kernels; without cuBLASLt (KILN_HAVE_CUBLASLT=0) it is empty and these entries fail Unsupported.
//
// Numerics follow the reference kernels (src/kernels/reference/matmul.cc): f16/bf16 operands with
// fp32 accumulation and one rounding of the result (split-K reductions in fp32 only); f32 in exact
// fp32 unless allow_tf32. The bias is added, and the activation applied, in fp32 before that
// rounding. Tensors are contiguous row-major device buffers of the current CUDA device.
#pragma once

#include <cstdint>

#include "kiln/kernels/kernel.h"

namespace kiln::cuda {

enum class GemmActivation : uint8_t {
  kNone,
  kRelu,
  // gelu(approximate="tanh"): cuBLASLt's GELU epilogue is the tanh form, so a fusion pass may only
  // fold a GeluApprox::kTanh gelu into it (checked against ref.gelu on the GPU by gemm_test.cc).
  kGeluTanh,
};

struct GemmOptions {
  GemmActivation activation = GemmActivation::kNone;
  // f32 only: let cuBLASLt compute with TF32 tensor cores (CUBLAS_COMPUTE_32F_FAST_TF32). Off is
  // exact fp32, which is what the registered kernels use until the engine carries disable_tf32.
  bool allow_tf32 = false;
};

// out = activation(a @ b) with torch.matmul semantics: 1-D operands are promoted (a to [1, K], b to
// [K, 1]) and the added dim dropped from the result; batch dims broadcast. K == 0 gives zeros.
// `stream` is a cudaStream_t.
Status gemm_matmul(const TensorView& a, const TensorView& b, const TensorView& out,
                   const GemmOptions& options, void* stream);

// out = activation(x @ w^T + bias) for x[..., K], w[N, K], bias[N] (null: no bias), out[..., N].
Status gemm_linear(const TensorView& x, const TensorView& w, const TensorView* bias,
                   const TensorView& out, const GemmOptions& options, void* stream);

}  // namespace kiln::cuda
