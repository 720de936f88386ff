// matmul and linear on cuBLASLt (see gemm.h), in three layers: elementwise kernels (the K == 0
// fill, and the activation pass for activations cuBLASLt has no epilogue for), the cuBLASLt
// launcher (handles, workspaces, cached plans, batch loops), and the entries that check shapes
// exactly like the reference kernels (src/kernels/reference/matmul.cc), size the workspace and map
// the shapes onto column-major cuBLASLt calls. Over 800 lines: the three layers of one family share
// the plan and workspace types, and splitting them would put those in a header for one user.
//
// Row-major C[M, N] = A[M, K] @ B[K, N] is, read as column-major memory, C^T = B^T @ A^T:
// cuBLASLt computes (m, n, k) = (N, M, K) with its "A" = our B (ld N) and its "B" = our A (ld K),
// C ld N. For linear, y[M, N] = x[M, K] @ w[N, K]^T: cuBLASLt's A is w with op T (stored K x N,
// ld K), its B is x (ld K); the bias then runs along cuBLASLt's rows (length N), as the BIAS
// epilogue wants.
//
// - Handles: one cublasLtHandle_t per device, created on first use under a mutex, never destroyed
//   (kiln lives inside the user's process; tearing down cuBLAS at exit races the CUDA runtime's own
//   teardown).
// - Activations: relu and gelu_tanh are cuBLASLt epilogues (RELU / RELU_BIAS, GELU / GELU_BIAS).
//   cuBLASLt's GELU is the tanh approximation: the form torch's _addmm_activation and XLA's GEMM
//   rewriter fuse into it; GemmEpilogues (tests/kernels/gemm_test.cc) checks it against the
//   formula. silu and exact (erf) gelu have no epilogue and run in a second kernel
//   (activation.cuh, the reference's formulas, in fp32). For f32 the GEMM writes x @ w^T into the
//   output and that kernel adds the bias and activates in place: exact like the reference. For
//   f16/bf16 it is what eager PyTorch and torch.compile do: the GEMM writes x @ w^T + bias in the
//   output dtype (the BIAS epilogue), and a vectorized in-place kernel (8 halves a thread when the
//   output is 16-byte aligned) activates it in fp32 and rounds again. That rounds the
//   pre-activation once more than the reference (docs/kernels.md, matmul section, bounds the
//   difference; tests/kernels/gemm_test.cc sets the harness tolerance from it), for 2 + 2 + 2
//   bytes an element between the two kernels instead of an fp32 result's 4 + 4 + 2, and no
//   scratch.
// - Workspace: the caller's (KernelArgs::workspace, sized by *_workspace_bytes from the shapes):
//   the cuBLASLt workspace, 256-byte aligned. The heuristic is asked
//   with the cuBLASLt workspace actually left (at most kMaxCublasWorkspace), so its algorithm
//   always fits; *_workspace_bytes asks it the same question with kMaxCublasWorkspace and pointers
//   taken as 256-byte aligned, and reports what that algorithm needs. A caller's workspace belongs
//   to that caller's launches (the runtime's arena is per execution context, and a graph captured
//   on it replays on it in stream order), so GEMMs captured into a CUDA graph use it like any
//   other. Standalone calls (no workspace) use 32 MiB per (device, stream), cudaMalloc'ed on the
//   first GEMM on that stream and kept for the process, and none while the stream is captured
//   (such a graph might replay on another stream while this one runs its own GEMMs in the same
//   memory), nor on streams beyond 16 per device; two streams never share one. (A destroyed
//   stream's handle value may be reused by a new stream, which then inherits the workspace; the
//   CUDA runtime finishes a destroyed stream's work first in practice.)
// - Plans: the matmul descriptor, the three layouts and the heuristic's best algorithm
//   (cublasLtMatmulAlgoGetHeuristic, one result) are cached per (device, dtypes, shapes, strides,
//   pointer alignments, epilogue, workspace limit) under a mutex; a plan's own mutex covers setting
//   the bias pointer and enqueueing. Heuristics that find nothing are cached too.
// - Batch dims: output batch dims and the operands' strides over them (0 where broadcast) are
//   collapsed; the innermost collapsed dim becomes cuBLASLt's strided batch (stride 0 for a
//   broadcast operand), the outer ones a host loop of launches. If cuBLASLt takes no algorithm for
//   a stride-0 batch, the innermost dim is looped too. When B is shared by the whole batch, the
//   batch folds into M instead: one plain GEMM.
// - Numerics: compute type fp32 (CUBLAS_COMPUTE_32F, or _FAST_TF32 when allowed for f32), scale
//   type fp32, alpha 1, beta 0 (C is never read). For a 16-bit output, split-K partial sums are
//   kept in fp32 (reduction scheme mask), so the result is rounded once like the reference's.
//
// Deliberately not here: timing several heuristic candidates (the builder's autotuner will),
// int8/fp8 GEMMs, strided (non-contiguous) operands, silu/gelu on matmul (no IR op asks for it),
// and freeing handles or workspaces.
#include "gemm.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <array>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "activation.cuh"
#include "check.h"
#include "families.h"
#include "kiln/ir/shape_inference.h"

#if KILN_HAVE_CUBLASLT
#include "gemm_cublas.h"
#endif

namespace kiln {
namespace cuda {
namespace {

constexpr uint64_t kMaxCublasWorkspace = uint64_t{32} << 20;  // asked of the heuristic at most
constexpr uint64_t kWorkspaceAlignment = 256;                 // of the cuBLASLt workspace

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

std::string shape_text(std::span<const int64_t> shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += str_cat(i ? ", " : "", shape[i]);
  return out + "]";
}

bool is_gemm_dtype(DType t) { return t == DType::kF32 || t == DType::kF16 || t == DType::kBF16; }

bool is_activation(Activation a) {
  return static_cast<size_t>(a) < std::size(EnumNames<Activation>::kNames);
}

std::string_view activation_name(Activation a) {
  return is_activation(a) ? EnumNames<Activation>::kNames[static_cast<size_t>(a)] : "invalid";
}

// cuBLASLt has an epilogue for these (with or without bias); silu and gelu need a second kernel.
// (Its BIAS epilogue serves every activation: the second kernel then activates the output.)
bool has_cublas_epilogue(Activation a) {
  return a == Activation::kNone || a == Activation::kRelu || a == Activation::kGeluTanh;
}

// Operands, output and bias share one dtype among f32/f16/bf16; with `need_data`, every non-empty
// tensor has data (the *_workspace_bytes twins read shapes only).
Status check_operands(std::string_view op, std::initializer_list<const TensorView*> tensors,
                      const TensorView& out, const GemmOptions& options, bool need_data) {
  if (!is_gemm_dtype(out.dtype)) {
    return invalid_argument(op, ": output is ", dtype_name(out.dtype),
                            "; the CUDA kernel takes f32, f16 or bf16");
  }
  if (!is_activation(options.activation)) {
    return invalid_argument(op, ": invalid activation ", static_cast<int>(options.activation));
  }
  for (const TensorView* t : tensors) {
    if (t == nullptr) continue;
    if (t->dtype != out.dtype) {
      return invalid_argument(op, ": operands are ", dtype_name(t->dtype), " and ",
                              dtype_name(out.dtype), "; the CUDA kernel needs one dtype");
    }
    if (need_data && t->data == nullptr && t->numel() != 0) {
      return invalid_argument(op, ": an operand has no data (null pointer)");
    }
  }
  if (need_data && out.data == nullptr && out.numel() != 0) {
    return invalid_argument(op, ": the output has no data (null pointer)");
  }
  return ok_status();
}

// A GEMM in cuBLASLt's column-major terms (see the top of this file): C[m, n] = op(A)[m, k] @
// B[k, n], A stored k x m (ld lda) when trans_a else m x k, B k x n (ld ldb), C m x n (ld ldc).
// Each batch dim adds element strides for A, B and C (0: the operand is broadcast).
struct BatchDim {
  int64_t size, a, b, c;
};

struct GemmCall {
  DType dtype = DType::kF32;  // A, B, C and the bias
  bool trans_a = false;
  int64_t m = 0, n = 0, k = 0, lda = 0, ldb = 0, ldc = 0;
  const void* a = nullptr;
  const void* b = nullptr;
  void* c = nullptr;
  bool has_bias = false;        // the BIAS epilogue, m elements
  const void* bias = nullptr;   // its data (null while only sizing the workspace)
  Activation epilogue = Activation::kNone;  // has_cublas_epilogue()
  bool tf32 = false;
  std::vector<BatchDim> batch;  // outermost first
};

// ---- Layer 1: elementwise kernels ---------------------------------------------------------------

__device__ inline float load_f32(float v) { return v; }
__device__ inline float load_f32(__half v) { return __half2float(v); }
__device__ inline float load_f32(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ inline void store_f32(float* p, float v) { *p = v; }
__device__ inline void store_f32(__half* p, float v) { *p = __float2half_rn(v); }
__device__ inline void store_f32(__nv_bfloat16* p, float v) { *p = __float2bfloat16_rn(v); }

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = 8192;

unsigned blocks_for(int64_t total) {
  return static_cast<unsigned>(std::min<int64_t>((total + kThreads - 1) / kThreads, kMaxBlocks));
}

// K == 0 (no products): out[r, j] = activation(bias[j]).
template <typename T>
__global__ void fill_rows_kernel(T* __restrict__ out, const T* __restrict__ bias, int64_t total,
                                 int64_t n, Activation act) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += step) {
    store_f32(out + i, apply_activation(act, load_f32(bias[i % n])));
  }
}

// out[rows, n] = activation(bias) on every row; zeros when there is no bias (every activation
// maps 0 to 0).
Status fill_rows(DType dtype, void* out, const void* bias, int64_t rows, int64_t n,
                 Activation act, cudaStream_t stream) {
  const int64_t total = rows * n;
  if (total == 0) return ok_status();
  if (bias == nullptr) {
    KILN_CUDA_RETURN_IF_ERROR(
        cudaMemsetAsync(out, 0, static_cast<size_t>(total * dtype_size(dtype)), stream));
    return ok_status();
  }
  const unsigned blocks = blocks_for(total);
  switch (dtype) {
    case DType::kF32:
      fill_rows_kernel<<<blocks, kThreads, 0, stream>>>(
          static_cast<float*>(out), static_cast<const float*>(bias), total, n, act);
      break;
    case DType::kF16:
      fill_rows_kernel<<<blocks, kThreads, 0, stream>>>(
          static_cast<__half*>(out), static_cast<const __half*>(bias), total, n, act);
      break;
    case DType::kBF16:
      fill_rows_kernel<<<blocks, kThreads, 0, stream>>>(static_cast<__nv_bfloat16*>(out),
                                                        static_cast<const __nv_bfloat16*>(bias),
                                                        total, n, act);
      break;
    default: return invalid_argument("gemm: no fill kernel for ", dtype_name(dtype));
  }
  KILN_CUDA_RETURN_IF_ERROR(cudaGetLastError());
  return ok_status();
}

// f32 silu/gelu: data[r, j] = A(data[r, j] + bias[j]) in place (bias may be null); data holds the
// GEMM's x @ w^T. Each element is read, then written, by one thread.
template <Activation A>
__global__ void bias_activation_f32_kernel(float* data, const float* __restrict__ bias,
                                           int64_t total, int64_t n) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += step) {
    float v = data[i];
    if (bias != nullptr) v += bias[i % n];
    data[i] = activate<A>(v);
  }
}

// f16/bf16 silu/gelu: data[i] = A(data[i]) in place, in fp32, rounded to T. kVec elements a thread
// per step (16 bytes when kVec = 16 / sizeof(T); the launcher checks the alignment, else kVec = 1);
// the total % kVec elements past the last full vector go to the first threads of block 0.
template <typename T, Activation A, int kVec>
__global__ void activation_inplace_kernel(T* data, int64_t total) {
  struct alignas(sizeof(T) * kVec) Pack {
    T v[kVec];
  };
  const int64_t packs = total / kVec;
  Pack* p = reinterpret_cast<Pack*>(data);
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < packs;
       i += step) {
    Pack pack = p[i];
#pragma unroll
    for (int j = 0; j < kVec; ++j) store_f32(&pack.v[j], activate<A>(load_f32(pack.v[j])));
    p[i] = pack;
  }
  const int64_t tail = total - packs * kVec;  // < kVec
  if (blockIdx.x == 0 && threadIdx.x < tail) {
    T* e = data + packs * kVec + threadIdx.x;
    store_f32(e, activate<A>(load_f32(*e)));
  }
}

// The second kernel of a silu/gelu linear over its [rows, n] output (see the top of this file):
// for f32 it adds the bias too; for f16/bf16 the GEMM's epilogue added it.
Status finish_activation(DType dtype, void* data, const void* bias, int64_t rows, int64_t n,
                         Activation act, cudaStream_t stream) {
  const int64_t total = rows * n;
  if (total == 0) return ok_status();
  bool launched = false;
  const bool known = visit_activation(act, [&](auto a) {
    constexpr Activation kAct = decltype(a)::value;
    auto launch16 = [&](auto* typed) {
      using T = std::remove_pointer_t<decltype(typed)>;
      constexpr int kVec = 16 / sizeof(T);
      if (reinterpret_cast<uintptr_t>(typed) % 16 == 0) {
        activation_inplace_kernel<T, kAct, kVec>
            <<<blocks_for(std::max<int64_t>(total / kVec, 1)), kThreads, 0, stream>>>(typed,
                                                                                      total);
      } else {
        activation_inplace_kernel<T, kAct, 1><<<blocks_for(total), kThreads, 0, stream>>>(typed,
                                                                                          total);
      }
      launched = true;
    };
    switch (dtype) {
      case DType::kF32:
        bias_activation_f32_kernel<kAct><<<blocks_for(total), kThreads, 0, stream>>>(
            static_cast<float*>(data), static_cast<const float*>(bias), total, n);
        launched = true;
        break;
      case DType::kF16: launch16(static_cast<__half*>(data)); break;
      case DType::kBF16: launch16(static_cast<__nv_bfloat16*>(data)); break;
      default: break;
    }
  });
  if (!known || !launched) {
    return invalid_argument("gemm: no activation kernel for ", dtype_name(dtype),
                            " and activation ", static_cast<int>(act));
  }
  KILN_CUDA_RETURN_IF_ERROR(cudaGetLastError());
  return ok_status();
}

// ---- Layer 2: the cuBLASLt launcher -------------------------------------------------------------

// Where a launch's cuBLASLt workspace lives; null data: none.
struct Workspace {
  void* data = nullptr;
  uint64_t bytes = 0;
};

#if KILN_HAVE_CUBLASLT

constexpr uint64_t kStandaloneWorkspaceBytes = uint64_t{32} << 20;
constexpr size_t kMaxWorkspacesPerDevice = 16;
constexpr size_t kMaxPlans = 4096;     // the cache is cleared (not evicted piecemeal) past this
constexpr int64_t kMaxBatch = 65535;   // cuBLASLt batch count per launch (kept within grid.z)

cudaDataType_t cuda_data_type(DType t) {
  switch (t) {
    case DType::kF16: return CUDA_R_16F;
    case DType::kBF16: return CUDA_R_16BF;
    default: return CUDA_R_32F;
  }
}

Expected<cublasLtHandle_t> handle_for(int device) {
  static std::mutex mutex;
  static auto* handles = new std::map<int, cublasLtHandle_t>();  // never destroyed (see top)
  std::lock_guard<std::mutex> lock(mutex);
  auto it = handles->find(device);
  if (it != handles->end()) return it->second;
  cublasLtHandle_t handle = nullptr;
  // Relaxed for this thread, in case creating the handle allocates while a stream is captured.
  cudaStreamCaptureMode mode = cudaStreamCaptureModeRelaxed;
  KILN_CUDA_RETURN_IF_ERROR(cudaThreadExchangeStreamCaptureMode(&mode));
  const cublasStatus_t created = cublasLtCreate(&handle);
  KILN_CUDA_RETURN_IF_ERROR(cudaThreadExchangeStreamCaptureMode(&mode));
  KILN_RETURN_IF_ERROR(cublas_status(created, "cublasLtCreate(&handle)"));
  handles->emplace(device, handle);
  return handle;
}

// The standalone workspace of (device, stream); empty (no workspace) where none may or could be
// allocated (see the top of this file). Failures here are not errors: the GEMM runs without
// workspace. Errors the CUDA runtime records on the way are cleared so that a later
// cudaGetLastError() does not report them.
Workspace standalone_workspace(int device, cudaStream_t stream) {
  struct Table {
    std::mutex mutex;
    std::map<std::pair<int, cudaStream_t>, void*> slots;
    std::map<int, size_t> per_device;
  };
  static auto* table = new Table();  // never destroyed (see top)
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  if (cudaStreamIsCapturing(stream, &capture) != cudaSuccess) {
    (void)cudaGetLastError();
    return {};
  }
  if (capture != cudaStreamCaptureStatusNone) return {};
  std::lock_guard<std::mutex> lock(table->mutex);
  const auto key = std::make_pair(device, stream);
  auto it = table->slots.find(key);
  if (it != table->slots.end()) return {it->second, it->second ? kStandaloneWorkspaceBytes : 0};
  if (table->per_device[device] >= kMaxWorkspacesPerDevice) return {};
  // Relaxed for this thread: a cudaMalloc here must not invalidate another thread's capture.
  cudaStreamCaptureMode mode = cudaStreamCaptureModeRelaxed;
  if (cudaThreadExchangeStreamCaptureMode(&mode) != cudaSuccess) {
    (void)cudaGetLastError();
    return {};
  }
  void* data = nullptr;
  if (cudaMalloc(&data, kStandaloneWorkspaceBytes) != cudaSuccess) {
    (void)cudaGetLastError();
    data = nullptr;  // remembered: this stream runs without workspace from now on
  }
  (void)cudaThreadExchangeStreamCaptureMode(&mode);
  table->slots.emplace(key, data);
  ++table->per_device[device];
  return {data, data ? kStandaloneWorkspaceBytes : 0};
}

// The largest power of two (at most 256) dividing the address and every byte stride of an operand
// (a null address, when only sizing the workspace, counts as 256-byte aligned).
uint32_t alignment_of(const void* p, std::span<const int64_t> byte_strides) {
  uint64_t v = reinterpret_cast<uintptr_t>(p);
  for (int64_t s : byte_strides) v |= static_cast<uint64_t>(s);
  if (v == 0) return 256;
  return static_cast<uint32_t>(std::min<uint64_t>(v & (~v + 1), 256));
}

Expected<cublasLtEpilogue_t> epilogue_of(Activation act, bool bias) {
  switch (act) {
    case Activation::kNone: return bias ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT;
    case Activation::kRelu: return bias ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_RELU;
    case Activation::kGeluTanh:
      return bias ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_GELU;
    default: break;
  }
  return internal_error("gemm: activation ", static_cast<int>(act), " has no cuBLASLt epilogue");
}

// One launch's shape: what a plan is built for.
struct PlanShape {
  DType dtype;
  bool trans_a, bias, tf32;
  Activation act;
  int64_t m, n, k, lda, ldb, ldc;
  int64_t batch, stride_a, stride_b, stride_c;  // batch 1: strides unused
  uint32_t align_a, align_b, align_c;
  uint64_t workspace;  // the most the algorithm may use
};

using PlanKey = std::array<int64_t, 20>;

PlanKey plan_key(int device, const PlanShape& s) {
  return {device,
          static_cast<int64_t>(s.dtype),
          s.trans_a,
          s.bias,
          s.tf32,
          static_cast<int64_t>(s.act),
          s.m,
          s.n,
          s.k,
          s.lda,
          s.ldb,
          s.ldc,
          s.batch,
          s.batch > 1 ? s.stride_a : 0,
          s.batch > 1 ? s.stride_b : 0,
          s.batch > 1 ? s.stride_c : 0,
          s.align_a,
          s.align_b,
          s.align_c,
          static_cast<int64_t>(s.workspace)};
}

std::string plan_text(const PlanShape& s) {
  return str_cat(dtype_name(s.dtype), " m=", s.m, " n=", s.n,
                 " k=", s.k, s.trans_a ? " A^T" : "", " batch=", s.batch, " strides=(",
                 s.stride_a, ", ", s.stride_b, ", ", s.stride_c, ") align=(", s.align_a, ", ",
                 s.align_b, ", ", s.align_c, ") workspace<=", s.workspace);
}

struct Plan {
  std::mutex mutex;  // held while the bias pointer is set and the GEMM enqueued
  CublasLtDesc op;
  CublasLtLayout a, b, c;
  cublasLtMatmulAlgo_t algo{};
  uint64_t workspace = 0;  // what `algo` uses (the heuristic's workspaceSize)
};

Status make_layout(CublasLtLayout& out, DType dtype, int64_t rows, int64_t cols, int64_t ld,
                   int64_t batch, int64_t stride) {
  cublasLtMatrixLayout_t raw = nullptr;
  KILN_CUBLAS_RETURN_IF_ERROR(cublasLtMatrixLayoutCreate(&raw, cuda_data_type(dtype),
                                                         static_cast<uint64_t>(rows),
                                                         static_cast<uint64_t>(cols), ld));
  out.reset(raw);
  if (batch > 1) {
    const int32_t count = static_cast<int32_t>(batch);
    KILN_CUBLAS_RETURN_IF_ERROR(cublasLtMatrixLayoutSetAttribute(
        raw, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof(count)));
    KILN_CUBLAS_RETURN_IF_ERROR(cublasLtMatrixLayoutSetAttribute(
        raw, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof(stride)));
  }
  return ok_status();
}

// The heuristic's best algorithm for `plan`'s descriptors, or false when it has none. A GEMM with
// a 16-bit output first asks for algorithms whose split-K partial sums stay in fp32; should none
// qualify it takes the heuristic's unrestricted choice.
Expected<bool> choose_algorithm(cublasLtHandle_t handle, const PlanShape& s, Plan& plan) {
  const bool narrow_output = s.dtype != DType::kF32;
  for (int attempt = 0; attempt < (narrow_output ? 2 : 1); ++attempt) {
    const bool restrict_reduction = narrow_output && attempt == 0;
    cublasLtMatmulPreference_t raw = nullptr;
    KILN_CUBLAS_RETURN_IF_ERROR(cublasLtMatmulPreferenceCreate(&raw));
    CublasLtPreference pref(raw);
    const uint64_t workspace = s.workspace;
    KILN_CUBLAS_RETURN_IF_ERROR(cublasLtMatmulPreferenceSetAttribute(
        raw, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace, sizeof(workspace)));
    const std::pair<cublasLtMatmulPreferenceAttributes_t, uint32_t> alignments[] = {
        {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, s.align_a},
        {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, s.align_b},
        {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, s.align_c},
        {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, s.align_c},
    };
    for (const auto& [attr, value] : alignments) {
      KILN_CUBLAS_RETURN_IF_ERROR(
          cublasLtMatmulPreferenceSetAttribute(raw, attr, &value, sizeof(value)));
    }
    if (restrict_reduction) {
      const uint32_t mask = CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE;
      KILN_CUBLAS_RETURN_IF_ERROR(cublasLtMatmulPreferenceSetAttribute(
          raw, CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK, &mask, sizeof(mask)));
    }
    cublasLtMatmulHeuristicResult_t result{};
    int count = 0;
    const cublasStatus_t st =
        cublasLtMatmulAlgoGetHeuristic(handle, plan.op.get(), plan.a.get(), plan.b.get(),
                                       plan.c.get(), plan.c.get(), raw, 1, &result, &count);
    if (st == CUBLAS_STATUS_SUCCESS && count > 0 && result.state == CUBLAS_STATUS_SUCCESS &&
        result.workspaceSize <= s.workspace) {
      plan.algo = result.algo;
      plan.workspace = result.workspaceSize;
      return true;
    }
    if (st != CUBLAS_STATUS_SUCCESS && st != CUBLAS_STATUS_NOT_SUPPORTED) {
      return cublas_status(st, "cublasLtMatmulAlgoGetHeuristic");
    }
  }
  return false;
}

// Descriptors and algorithm for one launch shape; null when cuBLASLt has no algorithm for it.
Expected<std::shared_ptr<Plan>> make_plan(cublasLtHandle_t handle, const PlanShape& s) {
  KILN_ASSIGN_OR_RETURN(const cublasLtEpilogue_t epilogue, epilogue_of(s.act, s.bias));
  auto plan = std::make_shared<Plan>();
  const bool tf32 = s.dtype == DType::kF32 && s.tf32;
  cublasLtMatmulDesc_t raw = nullptr;
  KILN_CUBLAS_RETURN_IF_ERROR(cublasLtMatmulDescCreate(
      &raw, tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F, CUDA_R_32F));
  plan->op.reset(raw);
  const cublasOperation_t trans_a = s.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t trans_b = CUBLAS_OP_N;
  KILN_CUBLAS_RETURN_IF_ERROR(cublasLtMatmulDescSetAttribute(raw, CUBLASLT_MATMUL_DESC_TRANSA,
                                                             &trans_a, sizeof(trans_a)));
  KILN_CUBLAS_RETURN_IF_ERROR(cublasLtMatmulDescSetAttribute(raw, CUBLASLT_MATMUL_DESC_TRANSB,
                                                             &trans_b, sizeof(trans_b)));
  KILN_CUBLAS_RETURN_IF_ERROR(cublasLtMatmulDescSetAttribute(raw, CUBLASLT_MATMUL_DESC_EPILOGUE,
                                                             &epilogue, sizeof(epilogue)));
  const int64_t a_rows = s.trans_a ? s.k : s.m, a_cols = s.trans_a ? s.m : s.k;
  KILN_RETURN_IF_ERROR(make_layout(plan->a, s.dtype, a_rows, a_cols, s.lda, s.batch, s.stride_a));
  KILN_RETURN_IF_ERROR(make_layout(plan->b, s.dtype, s.k, s.n, s.ldb, s.batch, s.stride_b));
  KILN_RETURN_IF_ERROR(
      make_layout(plan->c, s.dtype, s.m, s.n, s.ldc, s.batch, s.stride_c));
  KILN_ASSIGN_OR_RETURN(const bool found, choose_algorithm(handle, s, *plan));
  if (!found) return std::shared_ptr<Plan>();
  return plan;
}

// The cached plan for this shape on `device` (null: cuBLASLt has no algorithm for it).
Expected<std::shared_ptr<Plan>> plan_for(int device, cublasLtHandle_t handle, const PlanShape& s) {
  static std::mutex mutex;
  static auto* cache = new std::map<PlanKey, std::shared_ptr<Plan>>();  // never destroyed
  const PlanKey key = plan_key(device, s);
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = cache->find(key);
    if (it != cache->end()) return it->second;
  }
  // Built outside the lock (the heuristic query takes microseconds to milliseconds); if two
  // threads race, the first insertion wins and both use it.
  KILN_ASSIGN_OR_RETURN(std::shared_ptr<Plan> plan, make_plan(handle, s));
  std::lock_guard<std::mutex> lock(mutex);
  if (cache->size() >= kMaxPlans) cache->clear();  // in-flight users hold their shared_ptr
  return cache->emplace(key, std::move(plan)).first->second;
}

Status launch_plan(cublasLtHandle_t handle, Plan& plan, const void* a, const void* b, void* c,
                   const void* bias, const Workspace& ws, cudaStream_t stream) {
  const float alpha = 1.0f, beta = 0.0f;
  std::lock_guard<std::mutex> lock(plan.mutex);
  if (bias != nullptr) {
    KILN_CUBLAS_RETURN_IF_ERROR(cublasLtMatmulDescSetAttribute(
        plan.op.get(), CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)));
  }
  KILN_CUBLAS_RETURN_IF_ERROR(cublasLtMatmul(handle, plan.op.get(), &alpha, a, plan.a.get(), b,
                                             plan.b.get(), &beta, c, plan.c.get(), c,
                                             plan.c.get(), &plan.algo, ws.data, ws.bytes, stream));
  return ok_status();
}

// Batch dims with size 1 dropped and neighbours merged where all three strides allow it.
std::vector<BatchDim> collapse_batch(std::span<const BatchDim> dims) {
  std::vector<BatchDim> out;
  for (const BatchDim& d : dims) {
    if (d.size == 1) continue;
    if (!out.empty()) {
      BatchDim& o = out.back();
      if (o.a == d.a * d.size && o.b == d.b * d.size && o.c == d.c * d.size) {
        o = {o.size * d.size, d.a, d.b, d.c};
        continue;
      }
    }
    out.push_back(d);
  }
  return out;
}

// How one GemmCall is launched: a loop over `outer`, and cuBLASLt batches of `chunk` along
// `inner` with plan `full` (and `rest` for the remainder).
struct Launches {
  cublasLtHandle_t handle = nullptr;
  std::vector<BatchDim> outer;
  BatchDim inner{1, 0, 0, 0};
  int64_t chunk = 1;
  std::shared_ptr<Plan> full, rest;
  uint64_t workspace() const {
    return std::max(full->workspace, rest ? rest->workspace : uint64_t{0});
  }
};

// The plans of `call` with a cuBLASLt workspace of at most `workspace_limit` bytes.
Expected<Launches> plan_launches(const GemmCall& call, uint64_t workspace_limit) {
  // 1. Device and handle.
  int device = 0;
  KILN_CUDA_RETURN_IF_ERROR(cudaGetDevice(&device));
  Launches l;
  KILN_ASSIGN_OR_RETURN(l.handle, handle_for(device));

  // 2. Batch dims: the innermost becomes cuBLASLt's batch, the others a loop.
  l.outer = collapse_batch(call.batch);
  if (!l.outer.empty()) {
    l.inner = l.outer.back();
    l.outer.pop_back();
  }
  const int64_t esize = dtype_size(call.dtype);
  auto strides_of = [&](int64_t BatchDim::*member, int64_t element) {
    std::vector<int64_t> s{l.inner.*member * element};
    for (const BatchDim& d : l.outer) s.push_back(d.*member * element);
    return s;
  };
  const PlanShape shape{call.dtype,
                        call.trans_a,
                        call.has_bias,
                        call.tf32,
                        call.epilogue,
                        call.m,
                        call.n,
                        call.k,
                        call.lda,
                        call.ldb,
                        call.ldc,
                        1,
                        l.inner.a,
                        l.inner.b,
                        l.inner.c,
                        alignment_of(call.a, strides_of(&BatchDim::a, esize)),
                        alignment_of(call.b, strides_of(&BatchDim::b, esize)),
                        alignment_of(call.c, strides_of(&BatchDim::c, esize)),
                        workspace_limit};

  // 3. Plans for a full chunk of the inner batch and for the remainder. A stride-0 batch that
  //    cuBLASLt refuses (no algorithm, or an error while describing it) moves into the loop.
  auto plan_with_batch = [&](int64_t batch) -> Expected<std::shared_ptr<Plan>> {
    PlanShape s = shape;
    s.batch = batch;
    return plan_for(device, l.handle, s);
  };
  l.chunk = std::min(l.inner.size, kMaxBatch);
  Expected<std::shared_ptr<Plan>> first = plan_with_batch(l.chunk);
  const bool broadcast = l.chunk > 1 && (l.inner.a == 0 || l.inner.b == 0);
  const bool loop_inner = broadcast && (!first.ok() || !*first);
  if (loop_inner) {
    l.outer.push_back(l.inner);
    l.inner = {1, 0, 0, 0};
    l.chunk = 1;
  }
  KILN_ASSIGN_OR_RETURN(l.full, loop_inner ? plan_with_batch(1) : std::move(first));
  if (!l.full) return unsupported("cuBLASLt has no algorithm for ", plan_text(shape));
  if (const int64_t r = l.inner.size % l.chunk; r != 0) {
    KILN_ASSIGN_OR_RETURN(l.rest, plan_with_batch(r));
    if (!l.rest) {
      return unsupported("cuBLASLt has no algorithm for a batch of ", r, " of ", plan_text(shape));
    }
  }
  return l;
}

// The cuBLASLt workspace `call` wants: what the heuristic's algorithm needs when offered
// kMaxCublasWorkspace, with the pointers taken as 256-byte aligned (they are not read).
Expected<uint64_t> cublas_workspace_need(GemmCall call) {
  call.a = call.b = call.bias = nullptr;
  call.c = nullptr;
  KILN_ASSIGN_OR_RETURN(const Launches l, plan_launches(call, kMaxCublasWorkspace));
  return l.workspace();
}

// Runs `call` with the caller's cuBLASLt workspace, or (null) the standalone one of the stream.
Status run_gemm(const GemmCall& call, const Workspace* given, cudaStream_t stream) {
  Workspace ws;
  if (given != nullptr) {
    ws = *given;
  } else {
    int device = 0;
    KILN_CUDA_RETURN_IF_ERROR(cudaGetDevice(&device));
    ws = standalone_workspace(device, stream);
  }
  KILN_ASSIGN_OR_RETURN(const Launches l, plan_launches(call, ws.bytes));
  if (l.workspace() > ws.bytes) {
    return internal_error("gemm: the algorithm wants ", l.workspace(), " bytes of workspace, ",
                          ws.bytes, " available");
  }
  // Every outer index, every chunk of the inner batch.
  int64_t outer_count = 1;
  for (const BatchDim& d : l.outer) outer_count *= d.size;
  const int64_t esize = dtype_size(call.dtype);
  const char* a0 = static_cast<const char*>(call.a);
  const char* b0 = static_cast<const char*>(call.b);
  char* c0 = static_cast<char*>(call.c);
  for (int64_t o = 0; o < outer_count; ++o) {
    int64_t oa = 0, ob = 0, oc = 0, rem = o;
    for (size_t d = l.outer.size(); d-- > 0;) {
      const int64_t idx = rem % l.outer[d].size;
      rem /= l.outer[d].size;
      oa += idx * l.outer[d].a;
      ob += idx * l.outer[d].b;
      oc += idx * l.outer[d].c;
    }
    for (int64_t i0 = 0; i0 < l.inner.size; i0 += l.chunk) {
      Plan& plan = l.inner.size - i0 >= l.chunk ? *l.full : *l.rest;
      KILN_RETURN_IF_ERROR(launch_plan(l.handle, plan, a0 + (oa + i0 * l.inner.a) * esize,
                                       b0 + (ob + i0 * l.inner.b) * esize,
                                       c0 + (oc + i0 * l.inner.c) * esize, call.bias, ws,
                                       stream));
    }
  }
  return ok_status();
}

#else  // !KILN_HAVE_CUBLASLT

Expected<uint64_t> cublas_workspace_need(const GemmCall&) {
  return unsupported("this kiln was built without cuBLASLt (see cmake/cuda.cmake)");
}
Status run_gemm(const GemmCall&, const Workspace*, cudaStream_t) {
  return unsupported("this kiln was built without cuBLASLt (see cmake/cuda.cmake)");
}

#endif  // KILN_HAVE_CUBLASLT

// ---- Layer 3 helpers: workspace layout ----------------------------------------------------------

// The caller's workspace, carved: the cuBLASLt workspace, 256-byte aligned.
struct Carved {
  Workspace cublas;
};

// Bytes a call wants: alignment slack and the cuBLASLt workspace. Never 0, so that a runtime that
// passes null for "no scratch" never makes a call standalone by accident.
uint64_t workspace_total(uint64_t cublas_bytes) { return kWorkspaceAlignment + cublas_bytes; }

Expected<Carved> carve(std::string_view op, const GemmWorkspace& given, uint64_t required) {
  if (given.bytes < required) {
    return invalid_argument(op, ": the workspace has ", given.bytes, " bytes; these shapes need ",
                            required, " (the kernel's workspace_bytes)");
  }
  const uintptr_t begin = reinterpret_cast<uintptr_t>(given.data);
  const uintptr_t end = begin + given.bytes;
  const uintptr_t base = align_up(begin, kWorkspaceAlignment);
  const uintptr_t cublas = base;
  Carved c;
  c.cublas.data = reinterpret_cast<void*>(cublas);
  c.cublas.bytes = std::min<uint64_t>(end - cublas, kMaxCublasWorkspace);
  return c;
}

}  // namespace

// ---- Layer 3: the entries -----------------------------------------------------------------------

namespace {

// A matmul mapped onto one GemmCall; `gemm` false when there are no products (empty output, or
// K == 0: zeros).
struct MatmulCall {
  bool gemm = false;
  GemmCall call;
};

Expected<MatmulCall> matmul_call(const TensorView& a, const TensorView& b, const TensorView& out,
                                 const GemmOptions& options, bool need_data) {
  // 1. Shapes, exactly as ref.matmul: promote 1-D operands, broadcast the batch dims.
  KILN_RETURN_IF_ERROR(check_operands("matmul", {&a, &b}, out, options, need_data));
  if (!has_cublas_epilogue(options.activation)) {
    return unsupported("matmul: activation ", activation_name(options.activation),
                       " has no cuBLASLt epilogue (only linear runs it as a second kernel)");
  }
  if (a.shape.empty() || b.shape.empty()) {
    return invalid_argument("matmul: operands must have rank >= 1, got ", shape_text(a.shape),
                            " and ", shape_text(b.shape));
  }
  ConcreteShape as = a.shape, bs = b.shape;
  const bool a_vec = as.size() == 1, b_vec = bs.size() == 1;
  if (a_vec) as.insert(as.begin(), 1);
  if (b_vec) bs.push_back(1);
  const int64_t m = as[as.size() - 2], k = as.back(), n = bs.back();
  if (bs[bs.size() - 2] != k) {
    return invalid_argument("matmul: inner dims differ: ", shape_text(a.shape), " @ ",
                            shape_text(b.shape));
  }
  const ConcreteShape a_batch(as.begin(), as.end() - 2), b_batch(bs.begin(), bs.end() - 2);
  const size_t rank = std::max(a_batch.size(), b_batch.size());
  ConcreteShape batch(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t da = i + a_batch.size() >= rank ? a_batch[i + a_batch.size() - rank] : 1;
    const int64_t db = i + b_batch.size() >= rank ? b_batch[i + b_batch.size() - rank] : 1;
    if (da != db && da != 1 && db != 1) {
      return invalid_argument("matmul: batch dims do not broadcast: ", shape_text(a.shape), " @ ",
                              shape_text(b.shape));
    }
    batch[i] = da == 1 ? db : da;
  }
  ConcreteShape expected = batch;
  if (!a_vec) expected.push_back(m);
  if (!b_vec) expected.push_back(n);
  if (out.shape != expected) {
    return invalid_argument("matmul: output shape ", shape_text(out.shape), " but ",
                            shape_text(a.shape), " @ ", shape_text(b.shape), " gives ",
                            shape_text(expected));
  }
  MatmulCall mc;
  if (out.numel() == 0 || k == 0) return mc;

  // 2. cuBLASLt's view (see the top of this file): its A is our b, its B our a.
  mc.gemm = true;
  GemmCall& call = mc.call;
  call.dtype = out.dtype;
  call.m = n;
  call.n = m;
  call.k = k;
  call.lda = n;
  call.ldb = k;
  call.ldc = n;
  call.a = b.data;
  call.b = a.data;
  call.c = out.data;
  call.epilogue = options.activation;
  call.tf32 = options.allow_tf32;
  // Element strides of each operand over the output's batch dims (0 where broadcast).
  const int64_t batches = concrete_numel(batch);
  int64_t stride_a = m * k, stride_b = k * n, stride_c = m * n;
  std::vector<BatchDim> dims(rank);
  for (size_t i = rank; i-- > 0;) {
    const int64_t da = i + a_batch.size() >= rank ? a_batch[i + a_batch.size() - rank] : 1;
    const int64_t db = i + b_batch.size() >= rank ? b_batch[i + b_batch.size() - rank] : 1;
    // cuBLASLt's A is our b and its B our a.
    dims[i] = {batch[i], db == 1 ? 0 : stride_b, da == 1 ? 0 : stride_a, stride_c};
    stride_a *= da;
    stride_b *= db;
    stride_c *= batch[i];
  }
  const bool b_shared = std::all_of(dims.begin(), dims.end(), [](const BatchDim& d) {
    return d.size == 1 || d.a == 0;
  });
  if (b_shared && concrete_numel(a_batch) == batches) {
    call.n = batches * m;  // our a's batch is contiguous rows: one tall GEMM
  } else {
    call.batch = std::move(dims);
  }
  return mc;
}

Expected<uint64_t> matmul_required(const MatmulCall& mc) {
  uint64_t cublas = 0;
  if (mc.gemm) {
    KILN_ASSIGN_OR_RETURN(cublas, cublas_workspace_need(mc.call));
  }
  return workspace_total(cublas);
}

// A linear's shape and how it runs: `two_step` when the activation has no cuBLASLt epilogue (the
// GEMM, then finish_activation in place on the output).
struct LinearShape {
  int64_t m = 0, n = 0, k = 0;
  bool two_step = false;
};

Expected<LinearShape> linear_shape(const TensorView& x, const TensorView& w, const TensorView* bias,
                                   const TensorView& out, const GemmOptions& options,
                                   bool need_data) {
  KILN_RETURN_IF_ERROR(check_operands("linear", {&x, &w, bias}, out, options, need_data));
  if (x.shape.empty() || w.shape.size() != 2 || w.shape[1] != x.shape.back()) {
    return invalid_argument("linear: expected x[..., K] and w[N, K], got x", shape_text(x.shape),
                            " and w", shape_text(w.shape));
  }
  LinearShape s;
  s.k = w.shape[1];
  s.n = w.shape[0];
  ConcreteShape expected = x.shape;
  expected.back() = s.n;
  if (out.shape != expected) {
    return invalid_argument("linear: output shape ", shape_text(out.shape), ", expected ",
                            shape_text(expected));
  }
  if (bias != nullptr && bias->shape != ConcreteShape{s.n}) {
    return invalid_argument("linear: bias shape ", shape_text(bias->shape), ", expected [", s.n,
                            "]");
  }
  s.m = concrete_numel(ConcreteShape(x.shape.begin(), x.shape.end() - 1));
  s.two_step = !has_cublas_epilogue(options.activation);
  return s;
}

bool has_products(const LinearShape& s) { return s.m * s.n != 0 && s.k != 0; }

// The GEMM of a linear: its A is w with op T (stored K x N), its B is x; the bias runs along N.
// It writes the output. Two-step linears take no activation epilogue; an f32 one leaves the bias to
// finish_activation too (which adds it in fp32, exactly), a 16-bit one adds it here (BIAS).
GemmCall linear_call(const LinearShape& s, DType dtype, const TensorView& x, const TensorView& w,
                     const TensorView* bias, const TensorView& out, const GemmOptions& options) {
  GemmCall call;
  call.dtype = dtype;
  call.trans_a = true;
  call.m = s.n;
  call.n = s.m;
  call.k = s.k;
  call.lda = s.k;
  call.ldb = s.k;
  call.ldc = s.n;
  call.a = w.data;
  call.b = x.data;
  call.c = out.data;
  call.has_bias = bias != nullptr && !(s.two_step && dtype == DType::kF32);
  call.bias = call.has_bias ? bias->data : nullptr;
  call.epilogue = s.two_step ? Activation::kNone : options.activation;
  call.tf32 = options.allow_tf32;
  return call;
}

// The cuBLASLt workspace for the linear (none without products).
Expected<uint64_t> linear_required(const LinearShape& s, DType dtype, const TensorView& x,
                                   const TensorView& w, const TensorView* bias,
                                   const TensorView& out, const GemmOptions& options) {
  if (!has_products(s)) return workspace_total(0);
  KILN_ASSIGN_OR_RETURN(const uint64_t cublas,
                        cublas_workspace_need(linear_call(s, dtype, x, w, bias, out, options)));
  return workspace_total(cublas);
}

}  // namespace

Expected<size_t> gemm_matmul_workspace_bytes(const TensorView& a, const TensorView& b,
                                             const TensorView& out, const GemmOptions& options) {
  KILN_ASSIGN_OR_RETURN(const MatmulCall mc, matmul_call(a, b, out, options, false));
  KILN_ASSIGN_OR_RETURN(const uint64_t required, matmul_required(mc));
  return static_cast<size_t>(required);
}

Status gemm_matmul(const TensorView& a, const TensorView& b, const TensorView& out,
                   const GemmOptions& options, const GemmWorkspace& workspace, void* stream) {
  KILN_ASSIGN_OR_RETURN(const MatmulCall mc, matmul_call(a, b, out, options, true));
  const auto cuda_stream = static_cast<cudaStream_t>(stream);
  Carved carved;
  if (workspace.data != nullptr) {
    KILN_ASSIGN_OR_RETURN(const uint64_t required, matmul_required(mc));
    KILN_ASSIGN_OR_RETURN(carved, carve("matmul", workspace, required));
  }
  if (!mc.gemm) {  // no products: zeros (every activation maps 0 to 0)
    return fill_rows(out.dtype, out.data, nullptr, out.numel(), 1, Activation::kNone,
                     cuda_stream);
  }
  return run_gemm(mc.call, workspace.data != nullptr ? &carved.cublas : nullptr, cuda_stream);
}

Expected<size_t> gemm_linear_workspace_bytes(const TensorView& x, const TensorView& w,
                                             const TensorView* bias, const TensorView& out,
                                             const GemmOptions& options) {
  KILN_ASSIGN_OR_RETURN(const LinearShape s, linear_shape(x, w, bias, out, options, false));
  KILN_ASSIGN_OR_RETURN(const uint64_t required,
                        linear_required(s, out.dtype, x, w, bias, out, options));
  return static_cast<size_t>(required);
}

Status gemm_linear(const TensorView& x, const TensorView& w, const TensorView* bias,
                   const TensorView& out, const GemmOptions& options,
                   const GemmWorkspace& workspace, void* stream) {
  // 1. Shapes, exactly as ref.linear; no products: the bias (activated) or zeros per row.
  KILN_ASSIGN_OR_RETURN(const LinearShape s, linear_shape(x, w, bias, out, options, true));
  const auto cuda_stream = static_cast<cudaStream_t>(stream);
  const void* bias_data = bias != nullptr ? bias->data : nullptr;
  if (s.m * s.n == 0) return ok_status();
  if (s.k == 0) {
    return fill_rows(out.dtype, out.data, bias_data, s.m, s.n, options.activation, cuda_stream);
  }

  // 2. The cuBLASLt workspace: carved from the caller's, or standalone.
  Carved carved;
  const Workspace* cublas = nullptr;
  if (workspace.data != nullptr) {
    KILN_ASSIGN_OR_RETURN(const uint64_t required,
                          linear_required(s, out.dtype, x, w, bias, out, options));
    KILN_ASSIGN_OR_RETURN(carved, carve("linear", workspace, required));
    cublas = &carved.cublas;
  }

  // 3. The GEMM, then (two-step) the activation in place on the output.
  KILN_RETURN_IF_ERROR(
      run_gemm(linear_call(s, out.dtype, x, w, bias, out, options), cublas, cuda_stream));
  if (s.two_step) {
    KILN_RETURN_IF_ERROR(finish_activation(out.dtype, out.data, bias_data, s.m, s.n,
                                           options.activation, cuda_stream));
  }
  return ok_status();
}

namespace {

bool refuse(std::string* why, std::string reason) {
  if (why != nullptr) *why = std::move(reason);
  return false;
}

// Both kernels: the node types under shape inference, and every present input and the output
// share one dtype among f32, f16 and bf16; a linear's activation is one of the enum.
bool gemm_accepts(const Node& node, std::span<const TensorType> input_types, std::string* why) {
  if (input_types.size() != node.inputs.size()) {
    return refuse(why, str_cat("expected ", node.inputs.size(), " input types, got ",
                               input_types.size()));
  }
  if (node.op == OpKind::kLinear) {
    const LinearAttrs* attrs = std::get_if<LinearAttrs>(&node.attrs);
    if (attrs == nullptr) return refuse(why, "linear without LinearAttrs");
    if (!is_activation(attrs->activation)) {
      return refuse(why, str_cat("invalid activation ", static_cast<int>(attrs->activation)));
    }
  }
  std::vector<const TensorType*> inputs;
  for (size_t i = 0; i < input_types.size(); ++i) {
    inputs.push_back(node.inputs[i] == kNoValue ? nullptr : &input_types[i]);
  }
  if (inputs.size() < 2 || inputs[0] == nullptr || inputs[1] == nullptr) {
    return refuse(why, "inputs 0 and 1 are required");
  }
  const DType t = inputs[0]->dtype;
  if (!is_gemm_dtype(t)) {
    return refuse(why, str_cat("input is ", dtype_name(t),
                               "; the cuBLASLt kernel takes f32, f16 or bf16"));
  }
  for (size_t i = 1; i < inputs.size(); ++i) {
    if (inputs[i] != nullptr && inputs[i]->dtype != t) {
      return refuse(why, str_cat("input ", i, " is ", dtype_name(inputs[i]->dtype), ", not ",
                                 dtype_name(t), "; the cuBLASLt kernel needs one dtype"));
    }
  }
  Expected<std::vector<TensorType>> outputs = infer_output_types(node.op, node.attrs, inputs);
  if (!outputs.ok()) return refuse(why, outputs.status().message());
  if (outputs->size() != 1 || (*outputs)[0].dtype != t) {
    return refuse(why, "the output's dtype differs from the inputs'");
  }
  return true;
}

Status check_matmul_args(const KernelArgs& args) {
  if (args.inputs.size() != 2 || args.outputs.size() != 1) {
    return invalid_argument("matmul: expected 2 inputs and 1 output, got ", args.inputs.size(),
                            " and ", args.outputs.size());
  }
  return ok_status();
}

Expected<size_t> matmul_workspace(const KernelArgs& args) {
  KILN_RETURN_IF_ERROR(check_matmul_args(args));
  return gemm_matmul_workspace_bytes(args.inputs[0], args.inputs[1], args.outputs[0],
                                     GemmOptions{});
}

Status matmul_entry(const KernelArgs& args) {
  KILN_RETURN_IF_ERROR(check_matmul_args(args));
  return gemm_matmul(args.inputs[0], args.inputs[1], args.outputs[0], GemmOptions{},
                     {args.workspace, args.workspace_bytes}, args.stream);
}

// The options of a linear node (its activation; TF32 off: exact fp32).
Expected<GemmOptions> linear_options(const KernelArgs& args) {
  if (args.inputs.size() < 2 || args.inputs.size() > 3 || args.outputs.size() != 1) {
    return invalid_argument("linear: expected 2 or 3 inputs and 1 output, got ", args.inputs.size(),
                            " and ", args.outputs.size());
  }
  const LinearAttrs* attrs = std::get_if<LinearAttrs>(&args.node.attrs);
  if (attrs == nullptr) return invalid_argument("linear: the node has no LinearAttrs");
  GemmOptions options;
  options.activation = attrs->activation;
  return options;
}

// The bias view, or null. Running, an absent bias has no data (as ref.linear reads it); sizing
// the workspace, nothing has data, so the node says whether the bias is there.
const TensorView* linear_bias(const KernelArgs& args, bool sizing) {
  if (args.inputs.size() != 3) return nullptr;
  if (!sizing) return args.inputs[2].data != nullptr ? &args.inputs[2] : nullptr;
  const bool absent = args.node.inputs.size() == 3 && args.node.inputs[2] == kNoValue;
  return absent ? nullptr : &args.inputs[2];
}

Expected<size_t> linear_workspace(const KernelArgs& args) {
  KILN_ASSIGN_OR_RETURN(const GemmOptions options, linear_options(args));
  return gemm_linear_workspace_bytes(args.inputs[0], args.inputs[1], linear_bias(args, true),
                                     args.outputs[0], options);
}

Status linear_entry(const KernelArgs& args) {
  KILN_ASSIGN_OR_RETURN(const GemmOptions options, linear_options(args));
  return gemm_linear(args.inputs[0], args.inputs[1], linear_bias(args, false), args.outputs[0],
                     options, {args.workspace, args.workspace_bytes}, args.stream);
}

constexpr Kernel kGemmKernels[] = {
    {"cuda.matmul", OpKind::kMatMul, DeviceKind::kCuda, 2, &gemm_accepts, &matmul_entry,
     &matmul_workspace},
    {"cuda.linear", OpKind::kLinear, DeviceKind::kCuda, 3, &gemm_accepts, &linear_entry,
     &linear_workspace},
};

}  // namespace
}  // namespace cuda

std::span<const Kernel> cuda_gemm_kernels() {
  if (!KILN_HAVE_CUBLASLT) return {};
  return cuda::kGemmKernels;
}

}  // namespace kiln
