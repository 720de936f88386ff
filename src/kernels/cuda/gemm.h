// The cuBLASLt GEMM family's internal entry points (src/kernels/cuda/gemm.cu), for the registered
// kernels cuda.matmul / cuda.linear and for tests that reach options the IR does not carry (TF32).
// cuda_gemm_kernels() (families.h) lists the registered kernels; without cuBLASLt
// (KILN_HAVE_CUBLASLT=0) it is empty and these entries fail Unsupported.
//
// Numerics follow the reference kernels (src/kernels/reference/matmul.cc): f16/bf16 operands with
// fp32 accumulation and one rounding of the result (split-K reductions in fp32 only); f32 in exact
// fp32 unless allow_tf32. The bias is added, and the activation applied, in fp32 before that
// rounding, except for silu and gelu (erf) on f16/bf16: like eager PyTorch, those round
// x @ w^T + bias to the output dtype, then activate it in fp32 and round again (gemm.cu).
// Tensors are contiguous row-major device buffers of the current CUDA device.
//
// Scratch: each entry has a *_workspace_bytes twin that says, from the shapes alone, how many bytes
// of scratch the entry wants (never 0). Given a workspace of at least that size, the entry uses
// only it (also inside a CUDA graph capture); given less, it fails InvalidArgument; given none
// (data null: a standalone call), it falls back to a per-stream cuBLASLt workspace (gemm.cu).
#pragma once

#include <cstddef>

#include "kiln/ir/attrs.h"
#include "kiln/kernels/kernel.h"

namespace kiln::cuda {

struct GemmOptions {
  // relu and gelu_tanh run in cuBLASLt's epilogue (its GELU is the tanh form); silu and gelu (erf)
  // have no cuBLASLt epilogue and run in a second kernel, in place on the GEMM's output. matmul
  // takes only the epilogue ones.
  Activation activation = Activation::kNone;
  // f32 only: let cuBLASLt compute with TF32 tensor cores (CUBLAS_COMPUTE_32F_FAST_TF32). Off is
  // exact fp32, which is what the registered kernels use until the engine carries disable_tf32.
  bool allow_tf32 = false;
};

// Scratch memory for one call (KernelArgs::workspace, workspace_bytes). data null: standalone.
struct GemmWorkspace {
  void* data = nullptr;
  size_t bytes = 0;
};

// out = activation(a @ b) with torch.matmul semantics: 1-D operands are promoted (a to [1, K], b to
// [K, 1]) and the added dim dropped from the result; batch dims broadcast. K == 0 gives zeros.
// `stream` is a cudaStream_t. The workspace twin reads shapes and dtypes only (data may be null).
Expected<size_t> gemm_matmul_workspace_bytes(const TensorView& a, const TensorView& b,
                                             const TensorView& out, const GemmOptions& options);
Status gemm_matmul(const TensorView& a, const TensorView& b, const TensorView& out,
                   const GemmOptions& options, const GemmWorkspace& workspace, void* stream);

// out = activation(x @ w^T + bias) for x[..., K], w[N, K], bias[N] (null: no bias), out[..., N].
Expected<size_t> gemm_linear_workspace_bytes(const TensorView& x, const TensorView& w,
                                             const TensorView* bias, const TensorView& out,
                                             const GemmOptions& options);
Status gemm_linear(const TensorView& x, const TensorView& w, const TensorView* bias,
                   const TensorView& out, const GemmOptions& options,
                   const GemmWorkspace& workspace, void* stream);

}  // namespace kiln::cuda
