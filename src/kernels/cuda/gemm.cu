// matmul and linear on cuBLASLt (see gemm.h), in three layers: a fill kernel for K == 0, the
// cuBLASLt launcher (handles, workspaces, cached plans, batch loops), and the entries that check
// shapes exactly like the reference kernels (src/kernels/reference/matmul.cc) and map them onto
// column-major cuBLASLt calls.
//
// Row-major C[M, N] = A[M, K] @ B[K, N] is, read as column-major memory, C^T = B^T @ A^T: cuBLASLt
// computes (m, n, k) = (N, M, K) with its "A" = our B (ld N) and its "B" = our A (ld K), C ld N. For
// linear, y[M, N] = x[M, K] @ w[N, K]^T: cuBLASLt's A is w with op T (stored K x N, ld K), its B is x
// (ld K); the bias then runs along cuBLASLt's rows (length N), as the BIAS epilogue wants.
//
// - Handles: one cublasLtHandle_t per device, created on first use under a mutex, never destroyed
//   (kiln lives inside the user's process; tearing down cuBLAS at exit races the CUDA runtime's own
//   teardown).
// - Workspace: 32 MiB per (device, stream), cudaMalloc'ed on the first GEMM on that stream and kept
//   for the process (a stream-ordered cudaMallocAsync per call would trim and re-map memory at every
//   synchronisation with the default pool). GEMMs captured into a CUDA graph use none (the graph
//   may replay on another stream while this one uses its workspace), nor do streams beyond 16 per
//   device: the heuristic then only picks algorithms that need no workspace. Two streams never
//   share a workspace. (A destroyed stream's handle value may be reused by a new stream, which
//   then inherits the workspace; the CUDA runtime finishes a destroyed stream's work first in
//   practice.) Once KernelArgs carries scratch memory from the runtime's arena, use that instead.
// - Plans: the matmul descriptor, the three layouts and the heuristic's best algorithm
//   (cublasLtMatmulAlgoGetHeuristic, one result) are cached per (device, dtype, shapes, strides,
//   pointer alignments, epilogue, workspace size) under a mutex; a plan's own mutex covers setting
//   the bias pointer and enqueueing. Heuristics that find nothing are cached too.
// - Batch dims: output batch dims and the operands' strides over them (0 where broadcast) are
//   collapsed; the innermost collapsed dim becomes cuBLASLt's strided batch (stride 0 for a
//   broadcast operand), the outer ones a host loop of launches. If cuBLASLt takes no algorithm for
//   a stride-0 batch, the innermost dim is looped too. When B is shared by the whole batch, the
//   batch folds into M instead: one plain GEMM.
// - Numerics: compute type fp32 (CUBLAS_COMPUTE_32F, or _FAST_TF32 when allowed for f32), scale
//   type fp32, alpha 1, beta 0 (C is never read). For f16/bf16, split-K partial sums are kept in
//   fp32 (reduction scheme mask), so the result is rounded once like the reference's.
//
// Deliberately not here: timing several heuristic candidates (the builder's autotuner will),
// int8/fp8 GEMMs, strided (non-contiguous) operands, and freeing handles or workspaces.
#include "gemm.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "check.h"
#include "families.h"
#include "kiln/ir/shape_inference.h"

#if KILN_HAVE_CUBLASLT
#include "gemm_cublas.h"
#endif

namespace kiln {
namespace cuda {
namespace {

std::string shape_text(std::span<const int64_t> shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += str_cat(i ? ", " : "", shape[i]);
  return out + "]";
}

bool is_gemm_dtype(DType t) { return t == DType::kF32 || t == DType::kF16 || t == DType::kBF16; }

// Operands, output and bias share one dtype among f32/f16/bf16, and every non-empty tensor has data.
Status check_operands(std::string_view op, std::initializer_list<const TensorView*> tensors,
                      const TensorView& out) {
  if (!is_gemm_dtype(out.dtype)) {
    return invalid_argument(op, ": output is ", dtype_name(out.dtype),
                            "; the CUDA kernel takes f32, f16 or bf16");
  }
  for (const TensorView* t : tensors) {
    if (t == nullptr) continue;
    if (t->dtype != out.dtype) {
      return invalid_argument(op, ": operands are ", dtype_name(t->dtype), " and ",
                              dtype_name(out.dtype), "; the CUDA kernel needs one dtype");
    }
    if (t->data == nullptr && t->numel() != 0) {
      return invalid_argument(op, ": an operand has no data (null pointer)");
    }
  }
  if (out.data == nullptr && out.numel() != 0) {
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
  DType dtype = DType::kF32;
  bool trans_a = false;
  int64_t m = 0, n = 0, k = 0, lda = 0, ldb = 0, ldc = 0;
  const void* a = nullptr;
  const void* b = nullptr;
  void* c = nullptr;
  const void* bias = nullptr;  // m elements, or null
  std::vector<BatchDim> batch;  // outermost first
  GemmOptions options;
};

// ---- Layer 1: K == 0 (no products): out[r, j] = activation(bias[j]), or 0 -------------------------

__device__ inline float load_f32(float v) { return v; }
__device__ inline float load_f32(__half v) { return __half2float(v); }
__device__ inline float load_f32(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ inline void store_f32(float* p, float v) { *p = v; }
__device__ inline void store_f32(__half* p, float v) { *p = __float2half_rn(v); }
__device__ inline void store_f32(__nv_bfloat16* p, float v) { *p = __float2bfloat16_rn(v); }

__device__ inline float activate(float v, GemmActivation act) {
  switch (act) {
    case GemmActivation::kNone: return v;
    case GemmActivation::kRelu: return v < 0.0f ? 0.0f : v;  // NaN stays NaN, as in torch
    case GemmActivation::kGeluTanh: {
      const float inner = 0.7978845608028654f * (v + 0.044715f * v * v * v);
      return 0.5f * v * (1.0f + tanhf(inner));
    }
  }
  return v;
}

template <typename T>
__global__ void fill_rows_kernel(T* __restrict__ out, const T* __restrict__ bias, int64_t total,
                                 int64_t n, GemmActivation act) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += step) {
    store_f32(out + i, activate(load_f32(bias[i % n]), act));
  }
}

// out[rows, n] = activation(bias) on every row; zeros when there is no bias (relu(0) = gelu(0) = 0).
Status fill_rows(DType dtype, void* out, const void* bias, int64_t rows, int64_t n,
                 GemmActivation act, cudaStream_t stream) {
  const int64_t total = rows * n;
  if (total == 0) return ok_status();
  if (bias == nullptr) {
    KILN_CUDA_RETURN_IF_ERROR(
        cudaMemsetAsync(out, 0, static_cast<size_t>(total * dtype_size(dtype)), stream));
    return ok_status();
  }
  constexpr int kThreads = 256;
  const unsigned blocks =
      static_cast<unsigned>(std::min<int64_t>((total + kThreads - 1) / kThreads, 4096));
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

// ---- Layer 2: the cuBLASLt launcher --------------------------------------------------------------
#if KILN_HAVE_CUBLASLT

constexpr uint64_t kWorkspaceBytes = uint64_t{32} << 20;
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

struct Workspace {
  void* data = nullptr;
  uint64_t bytes = 0;
};

// The workspace of (device, stream); empty (no workspace) where none may or could be allocated.
// Failures here are not errors: the GEMM runs without workspace. Errors the CUDA runtime records
// on the way are cleared so that a later cudaGetLastError() does not report them.
Workspace workspace_for(int device, cudaStream_t stream) {
  struct Table {
    std::mutex mutex;
    std::map<std::pair<int, cudaStream_t>, void*> slots;
    std::map<int, size_t> per_device;
  };
  static auto* table = new Table();  // never destroyed (see top)
  // A captured launch would bake this stream's workspace into a graph that may later replay on
  // another stream, concurrently with this stream's own GEMMs: captured GEMMs get none.
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  if (cudaStreamIsCapturing(stream, &capture) != cudaSuccess) {
    (void)cudaGetLastError();
    return {};
  }
  if (capture != cudaStreamCaptureStatusNone) return {};
  std::lock_guard<std::mutex> lock(table->mutex);
  const auto key = std::make_pair(device, stream);
  auto it = table->slots.find(key);
  if (it != table->slots.end()) return {it->second, it->second ? kWorkspaceBytes : 0};
  if (table->per_device[device] >= kMaxWorkspacesPerDevice) return {};
  // Relaxed for this thread: a cudaMalloc here must not invalidate another thread's capture.
  cudaStreamCaptureMode mode = cudaStreamCaptureModeRelaxed;
  if (cudaThreadExchangeStreamCaptureMode(&mode) != cudaSuccess) {
    (void)cudaGetLastError();
    return {};
  }
  void* data = nullptr;
  if (cudaMalloc(&data, kWorkspaceBytes) != cudaSuccess) {
    (void)cudaGetLastError();
    data = nullptr;  // remembered: this stream runs without workspace from now on
  }
  (void)cudaThreadExchangeStreamCaptureMode(&mode);
  table->slots.emplace(key, data);
  ++table->per_device[device];
  return {data, data ? kWorkspaceBytes : 0};
}

// The largest power of two (at most 256) dividing the address and every byte stride of an operand.
uint32_t alignment_of(const void* p, std::span<const int64_t> byte_strides) {
  uint64_t v = reinterpret_cast<uintptr_t>(p);
  for (int64_t s : byte_strides) v |= static_cast<uint64_t>(s);
  if (v == 0) return 256;
  return static_cast<uint32_t>(std::min<uint64_t>(v & (~v + 1), 256));
}

cublasLtEpilogue_t epilogue_of(GemmActivation act, bool bias) {
  switch (act) {
    case GemmActivation::kNone: return bias ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT;
    case GemmActivation::kRelu: return bias ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_RELU;
    case GemmActivation::kGeluTanh:
      return bias ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_GELU;
  }
  return CUBLASLT_EPILOGUE_DEFAULT;
}

// One launch's shape: what a plan is built for.
struct PlanShape {
  DType dtype;
  bool trans_a, bias, tf32;
  GemmActivation act;
  int64_t m, n, k, lda, ldb, ldc;
  int64_t batch, stride_a, stride_b, stride_c;  // batch 1: strides unused
  uint32_t align_a, align_b, align_c;
  uint64_t workspace;
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
  return str_cat(dtype_name(s.dtype), " m=", s.m, " n=", s.n, " k=", s.k, s.trans_a ? " A^T" : "",
                 " batch=", s.batch, " strides=(", s.stride_a, ", ", s.stride_b, ", ", s.stride_c,
                 ") align=(", s.align_a, ", ", s.align_b, ", ", s.align_c, ")");
}

struct Plan {
  std::mutex mutex;  // held while the bias pointer is set and the GEMM enqueued
  CublasLtDesc op;
  CublasLtLayout a, b, c;
  cublasLtMatmulAlgo_t algo{};
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

// The heuristic's best algorithm for `plan`'s descriptors, or false when it has none. A 16-bit GEMM
// first asks for algorithms whose split-K partial sums stay in fp32; should none qualify it takes
// the heuristic's unrestricted choice.
Expected<bool> choose_algorithm(cublasLtHandle_t handle, const PlanShape& s, Plan& plan) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool restrict_reduction = attempt == 0 && s.dtype != DType::kF32;
    if (attempt == 1 && s.dtype == DType::kF32) break;
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
    if (st == CUBLAS_STATUS_SUCCESS && count > 0 && result.state == CUBLAS_STATUS_SUCCESS) {
      plan.algo = result.algo;
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
  auto plan = std::make_shared<Plan>();
  const bool tf32 = s.dtype == DType::kF32 && s.tf32;
  cublasLtMatmulDesc_t raw = nullptr;
  KILN_CUBLAS_RETURN_IF_ERROR(cublasLtMatmulDescCreate(
      &raw, tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F, CUDA_R_32F));
  plan->op.reset(raw);
  const cublasOperation_t trans_a = s.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t trans_b = CUBLAS_OP_N;
  const cublasLtEpilogue_t epilogue = epilogue_of(s.act, s.bias);
  KILN_CUBLAS_RETURN_IF_ERROR(cublasLtMatmulDescSetAttribute(raw, CUBLASLT_MATMUL_DESC_TRANSA,
                                                             &trans_a, sizeof(trans_a)));
  KILN_CUBLAS_RETURN_IF_ERROR(cublasLtMatmulDescSetAttribute(raw, CUBLASLT_MATMUL_DESC_TRANSB,
                                                             &trans_b, sizeof(trans_b)));
  KILN_CUBLAS_RETURN_IF_ERROR(cublasLtMatmulDescSetAttribute(raw, CUBLASLT_MATMUL_DESC_EPILOGUE,
                                                             &epilogue, sizeof(epilogue)));
  const int64_t a_rows = s.trans_a ? s.k : s.m, a_cols = s.trans_a ? s.m : s.k;
  KILN_RETURN_IF_ERROR(make_layout(plan->a, s.dtype, a_rows, a_cols, s.lda, s.batch, s.stride_a));
  KILN_RETURN_IF_ERROR(make_layout(plan->b, s.dtype, s.k, s.n, s.ldb, s.batch, s.stride_b));
  KILN_RETURN_IF_ERROR(make_layout(plan->c, s.dtype, s.m, s.n, s.ldc, s.batch, s.stride_c));
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

Status run_gemm(const GemmCall& call, cudaStream_t stream) {
  // 1. Device, handle, workspace.
  int device = 0;
  KILN_CUDA_RETURN_IF_ERROR(cudaGetDevice(&device));
  KILN_ASSIGN_OR_RETURN(cublasLtHandle_t handle, handle_for(device));
  const Workspace ws = workspace_for(device, stream);

  // 2. Batch dims: the innermost becomes cuBLASLt's batch, the others a loop.
  std::vector<BatchDim> outer = collapse_batch(call.batch);
  BatchDim inner{1, 0, 0, 0};
  if (!outer.empty()) {
    inner = outer.back();
    outer.pop_back();
  }
  const int64_t esize = dtype_size(call.dtype);
  auto strides_of = [&](int64_t BatchDim::*member) {
    std::vector<int64_t> s{inner.*member * esize};
    for (const BatchDim& d : outer) s.push_back(d.*member * esize);
    return s;
  };
  PlanShape shape{call.dtype,
                  call.trans_a,
                  call.bias != nullptr,
                  call.options.allow_tf32,
                  call.options.activation,
                  call.m,
                  call.n,
                  call.k,
                  call.lda,
                  call.ldb,
                  call.ldc,
                  1,
                  inner.a,
                  inner.b,
                  inner.c,
                  alignment_of(call.a, strides_of(&BatchDim::a)),
                  alignment_of(call.b, strides_of(&BatchDim::b)),
                  alignment_of(call.c, strides_of(&BatchDim::c)),
                  ws.bytes};

  // 3. Plans for a full chunk of the inner batch and for the remainder. A stride-0 batch that
  //    cuBLASLt refuses (no algorithm, or an error while describing it) moves into the loop.
  auto plan_with_batch = [&](int64_t batch) -> Expected<std::shared_ptr<Plan>> {
    PlanShape s = shape;
    s.batch = batch;
    return plan_for(device, handle, s);
  };
  int64_t chunk = std::min(inner.size, kMaxBatch);
  Expected<std::shared_ptr<Plan>> first = plan_with_batch(chunk);
  const bool broadcast = chunk > 1 && (inner.a == 0 || inner.b == 0);
  const bool loop_inner = broadcast && (!first.ok() || !*first);
  if (loop_inner) {
    outer.push_back(inner);
    inner = {1, 0, 0, 0};
    chunk = 1;
  }
  KILN_ASSIGN_OR_RETURN(std::shared_ptr<Plan> full,
                        loop_inner ? plan_with_batch(1) : std::move(first));
  if (!full) return unsupported("cuBLASLt has no algorithm for ", plan_text(shape));
  std::shared_ptr<Plan> rest;
  if (const int64_t r = inner.size % chunk; r != 0) {
    KILN_ASSIGN_OR_RETURN(rest, plan_with_batch(r));
    if (!rest) return unsupported("cuBLASLt has no algorithm for a batch of ", r, " of ",
                                  plan_text(shape));
  }

  // 4. The launches: every outer index, every chunk of the inner batch.
  int64_t outer_count = 1;
  for (const BatchDim& d : outer) outer_count *= d.size;
  const char* a0 = static_cast<const char*>(call.a);
  const char* b0 = static_cast<const char*>(call.b);
  char* c0 = static_cast<char*>(call.c);
  for (int64_t o = 0; o < outer_count; ++o) {
    int64_t oa = 0, ob = 0, oc = 0, rem = o;
    for (size_t d = outer.size(); d-- > 0;) {
      const int64_t idx = rem % outer[d].size;
      rem /= outer[d].size;
      oa += idx * outer[d].a;
      ob += idx * outer[d].b;
      oc += idx * outer[d].c;
    }
    for (int64_t i0 = 0; i0 < inner.size; i0 += chunk) {
      Plan& plan = inner.size - i0 >= chunk ? *full : *rest;
      KILN_RETURN_IF_ERROR(launch_plan(handle, plan, a0 + (oa + i0 * inner.a) * esize,
                                       b0 + (ob + i0 * inner.b) * esize,
                                       c0 + (oc + i0 * inner.c) * esize, call.bias, ws, stream));
    }
  }
  return ok_status();
}

#else  // !KILN_HAVE_CUBLASLT

Status run_gemm(const GemmCall&, cudaStream_t) {
  return unsupported("this kiln was built without cuBLASLt (see cmake/cuda.cmake)");
}

#endif  // KILN_HAVE_CUBLASLT

}  // namespace

// ---- Layer 3: the entries ------------------------------------------------------------------------

Status gemm_matmul(const TensorView& a, const TensorView& b, const TensorView& out,
                   const GemmOptions& options, void* stream) {
  // 1. Shapes, exactly as ref.matmul: promote 1-D operands, broadcast the batch dims.
  KILN_RETURN_IF_ERROR(check_operands("matmul", {&a, &b}, out));
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
  const auto cuda_stream = static_cast<cudaStream_t>(stream);
  if (out.numel() == 0) return ok_status();
  if (k == 0) return fill_rows(out.dtype, out.data, nullptr, out.numel(), 1, options.activation,
                               cuda_stream);

  // 2. cuBLASLt's view (see the top of this file): its A is our b, its B our a.
  GemmCall call;
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
  call.options = options;
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
  return run_gemm(call, cuda_stream);
}

Status gemm_linear(const TensorView& x, const TensorView& w, const TensorView* bias,
                   const TensorView& out, const GemmOptions& options, void* stream) {
  // 1. Shapes, exactly as ref.linear.
  KILN_RETURN_IF_ERROR(check_operands("linear", {&x, &w, bias}, out));
  if (x.shape.empty() || w.shape.size() != 2 || w.shape[1] != x.shape.back()) {
    return invalid_argument("linear: expected x[..., K] and w[N, K], got x", shape_text(x.shape),
                            " and w", shape_text(w.shape));
  }
  const int64_t k = w.shape[1], n = w.shape[0];
  ConcreteShape expected = x.shape;
  expected.back() = n;
  if (out.shape != expected) {
    return invalid_argument("linear: output shape ", shape_text(out.shape), ", expected ",
                            shape_text(expected));
  }
  if (bias != nullptr && bias->shape != ConcreteShape{n}) {
    return invalid_argument("linear: bias shape ", shape_text(bias->shape), ", expected [", n,
                            "]");
  }
  const int64_t m = concrete_numel(ConcreteShape(x.shape.begin(), x.shape.end() - 1));
  const auto cuda_stream = static_cast<cudaStream_t>(stream);
  if (out.numel() == 0) return ok_status();
  const void* bias_data = bias != nullptr ? bias->data : nullptr;
  if (k == 0) return fill_rows(out.dtype, out.data, bias_data, m, n, options.activation, cuda_stream);

  // 2. cuBLASLt's view: its A is w with op T (stored K x N), its B is x; the bias runs along N.
  GemmCall call;
  call.dtype = out.dtype;
  call.trans_a = true;
  call.m = n;
  call.n = m;
  call.k = k;
  call.lda = k;
  call.ldb = k;
  call.ldc = n;
  call.a = w.data;
  call.b = x.data;
  call.c = out.data;
  call.bias = bias_data;
  call.options = options;
  return run_gemm(call, cuda_stream);
}

namespace {

bool refuse(std::string* why, std::string reason) {
  if (why != nullptr) *why = std::move(reason);
  return false;
}

// Both kernels: the node types under shape inference, and every present input and the output
// share one dtype among f32, f16 and bf16.
bool gemm_accepts(const Node& node, std::span<const TensorType> input_types, std::string* why) {
  if (input_types.size() != node.inputs.size()) {
    return refuse(why, str_cat("expected ", node.inputs.size(), " input types, got ",
                               input_types.size()));
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

Status matmul_entry(const KernelArgs& args) {
  if (args.inputs.size() != 2 || args.outputs.size() != 1) {
    return invalid_argument("matmul: expected 2 inputs and 1 output, got ", args.inputs.size(),
                            " and ", args.outputs.size());
  }
  return gemm_matmul(args.inputs[0], args.inputs[1], args.outputs[0], GemmOptions{}, args.stream);
}

Status linear_entry(const KernelArgs& args) {
  if (args.inputs.size() < 2 || args.inputs.size() > 3 || args.outputs.size() != 1) {
    return invalid_argument("linear: expected 2 or 3 inputs and 1 output, got ", args.inputs.size(),
                            " and ", args.outputs.size());
  }
  const TensorView* bias =
      args.inputs.size() == 3 && args.inputs[2].data != nullptr ? &args.inputs[2] : nullptr;
  return gemm_linear(args.inputs[0], args.inputs[1], bias, args.outputs[0], GemmOptions{},
                     args.stream);
}

constexpr Kernel kGemmKernels[] = {
    {"cuda.matmul", OpKind::kMatMul, DeviceKind::kCuda, 1, &gemm_accepts, &matmul_entry},
    {"cuda.linear", OpKind::kLinear, DeviceKind::kCuda, 1, &gemm_accepts, &linear_entry},
};

}  // namespace
}  // namespace cuda

std::span<const Kernel> cuda_gemm_kernels() {
  if (!KILN_HAVE_CUBLASLT) return {};
  return cuda::kGemmKernels;
}

}  // namespace kiln
