// CUDA kernels for the normalisation layers, with the reference's numerics
// (src/kernels/reference/norm.cc): layer_norm and rms_norm over the trailing dims [axis, rank),
// group_norm over (C / groups) channels x spatial, and inference batch_norm with running
// statistics. Statistics are two-pass (the mean, then the biased variance around it) in f32 with
// a fixed tree order (the reference accumulates in double); the normalisation is applied in f32
// without fused multiply-adds, as the reference does; f16/bf16 are rounded once.
//
// layer_norm / rms_norm: rows of up to 8192 elements are kept in registers (register_norm_kernel,
// 32 f32 values a thread, 1024 a warp): one warp per row, or 2, 4 or 8 for longer rows; 16-byte
// loads and stores where the row length and the pointers allow (else one element at a time); both
// statistics passes over the registers, so the row is read once and written once. Longer rows run
// one block per row (trailing_norm_kernel), re-reading the row from L1/L2. group_norm: one block per (n, group).
// batch_norm: the per-channel scale and shift are computed in double exactly as the reference
// computes them, once per (n, c) plane by each thread of a plane-per-block kernel, or per element
// for small planes.
//
// Deliberately not here: training-mode batch_norm, the saved mean/rstd outputs of the ATen ops,
// and shared-memory row caching for rows too long for registers.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "families.h"
#include "reduce_common.cuh"

namespace kiln {
namespace {

using namespace cuda_reduce;

// ---- Kernels ------------------------------------------------------------------------------------

// Mean and inverse standard deviation of p[0 .. n) by the whole block (rms: mean 0, var = E[x^2]).
template <typename T, bool kRms>
__device__ __forceinline__ void block_moments(const T* p, int64_t n, float eps, float& mean,
                                              float& inv_std) {
  float m = 0.0f;
  if constexpr (!kRms) {
    float s = 0.0f;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += load_acc(p[i]);
    s = block_reduce(s, AddF{}, 0.0f);
    m = s / static_cast<float>(n);
  }
  float q = 0.0f;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    const float d = load_acc(p[i]) - m;
    q += d * d;
  }
  q = block_reduce(q, AddF{}, 0.0f);
  const float var = q / static_cast<float>(n);
  mean = m;
  inv_std = 1.0f / sqrtf(var + eps);
}

// layer_norm (kRms = false) and rms_norm over rows of n contiguous elements. w, b may be null.
template <typename T, bool kRms>
__global__ void trailing_norm_kernel(const T* __restrict__ x, const T* __restrict__ w,
                                     const T* __restrict__ b, T* __restrict__ y, int64_t rows,
                                     int64_t n, float eps) {
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {  // uniform across the block
    const T* p = x + row * n;
    T* q = y + row * n;
    float mean, inv;
    block_moments<T, kRms>(p, n, eps, mean, inv);
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
      float v = __fmul_rn(__fsub_rn(load_acc(p[i]), mean), inv);
      if (w != nullptr) v = __fmul_rn(v, load_acc(w[i]));
      if (b != nullptr) v = __fadd_rn(v, load_acc(b[i]));
      q[i] = from_float<T>(v);
    }
  }
}

// Rows in registers: each row belongs to kWarps * 32 threads (the "row group"); a block holds
// blockDim.x / (kWarps * 32) groups. Thread t of a group holds the packs t, t + G, ..., t + (kIters - 1) G
// (G = kWarps * 32 threads) of kVec elements each, converted to f32; packs past the row's n / kVec
// are zeros and count in no sum. kVec > 1 needs n % kVec == 0 and 16-byte aligned x, y, w and b
// (the launcher checks). Statistics: the mean, then the sum of squared deviations around it (the
// reference's two-pass, in f32 with a fixed tree order, like block_moments); the normalisation
// then matches trailing_norm_kernel's operation for operation.
constexpr int kRegisterBlockThreads = 128;
constexpr int kRegisterFloats = 32;  // f32 values a thread holds (kVec * kIters)

template <typename T, int kVec>
struct alignas(sizeof(T) * kVec) Pack {
  T v[kVec];
};

// Sum over the row group of `v`: a warp reduction, then (kWarps > 1) one through shared memory.
// Every thread of the block calls it the same number of times (rows are uniform per block).
template <int kWarps>
__device__ __forceinline__ float row_group_sum(float v, float* scratch) {
  v = warp_reduce(v, AddF{});
  if constexpr (kWarps == 1) {
    return v;
  } else {
    const int warp = threadIdx.x >> 5, group = warp / kWarps;
    __syncthreads();  // the previous call's readers are done
    if ((threadIdx.x & 31) == 0) scratch[warp] = v;
    __syncthreads();
    float s = 0.0f;
#pragma unroll
    for (int i = 0; i < kWarps; ++i) s += scratch[group * kWarps + i];
    return s;
  }
}

template <typename T, bool kRms, int kVec, int kWarps>
__global__ void __launch_bounds__(kRegisterBlockThreads * (kWarps > 4 ? kWarps / 4 : 1))
    register_norm_kernel(const T* __restrict__ x, const T* __restrict__ w,
                         const T* __restrict__ b, T* __restrict__ y, int64_t rows, int64_t n,
                         float eps) {
  constexpr int kIters = kRegisterFloats / kVec;
  constexpr int kGroup = kWarps * 32;
  using P = Pack<T, kVec>;
  __shared__ float scratch[32];
  const int rows_per_block = static_cast<int>(blockDim.x) / kGroup;
  const int t = static_cast<int>(threadIdx.x) % kGroup;
  const int64_t packs = n / kVec;
  for (int64_t base = int64_t{blockIdx.x} * rows_per_block; base < rows;
       base += int64_t{gridDim.x} * rows_per_block) {  // uniform across the block
    const int64_t row = base + static_cast<int>(threadIdx.x) / kGroup;
    const bool live = row < rows;  // dead groups still join the block's reductions
    const P* src = reinterpret_cast<const P*>(x + (live ? row : 0) * n);
    float v[kIters][kVec];
    // 1. Load; the mean (layer_norm).
    float s = 0.0f;
#pragma unroll
    for (int it = 0; it < kIters; ++it) {
      const int64_t p = int64_t{it} * kGroup + t;
      if (live && p < packs) {
        const P pack = src[p];
#pragma unroll
        for (int j = 0; j < kVec; ++j) {
          v[it][j] = load_acc(pack.v[j]);
          s += v[it][j];
        }
      } else {
#pragma unroll
        for (int j = 0; j < kVec; ++j) v[it][j] = 0.0f;
      }
    }
    float mean = 0.0f;
    if constexpr (!kRms) mean = row_group_sum<kWarps>(s, scratch) / static_cast<float>(n);
    // 2. The sum of squared deviations around the mean (packs past the row add nothing).
    float q = 0.0f;
#pragma unroll
    for (int it = 0; it < kIters; ++it) {
      if (int64_t{it} * kGroup + t < packs) {
#pragma unroll
        for (int j = 0; j < kVec; ++j) {
          const float d = v[it][j] - mean;
          q += d * d;
        }
      }
    }
    q = row_group_sum<kWarps>(q, scratch);
    const float inv = 1.0f / sqrtf(q / static_cast<float>(n) + eps);
    if (!live) continue;  // no reductions follow in this iteration
    // 3. Normalise, weight, bias; round once; store.
    const P* wp = reinterpret_cast<const P*>(w);
    const P* bp = reinterpret_cast<const P*>(b);
    P* dst = reinterpret_cast<P*>(y + row * n);
#pragma unroll
    for (int it = 0; it < kIters; ++it) {
      const int64_t p = int64_t{it} * kGroup + t;
      if (p >= packs) continue;
      P out, wv, bv;
      if (w != nullptr) wv = wp[p];
      if (b != nullptr) bv = bp[p];
#pragma unroll
      for (int j = 0; j < kVec; ++j) {
        float r = __fmul_rn(__fsub_rn(v[it][j], mean), inv);
        if (w != nullptr) r = __fmul_rn(r, load_acc(wv.v[j]));
        if (b != nullptr) r = __fadd_rn(r, load_acc(bv.v[j]));
        out.v[j] = from_float<T>(r);
      }
      dst[p] = out;
    }
  }
}

// One block per (n, group): the group's cg * plane elements are contiguous.
template <typename T>
__global__ void group_norm_kernel(const T* __restrict__ x, const T* __restrict__ w,
                                  const T* __restrict__ b, T* __restrict__ y, int64_t tasks,
                                  int64_t groups, int64_t cg, int64_t plane, float eps) {
  const int64_t n = cg * plane;
  for (int64_t t = blockIdx.x; t < tasks; t += gridDim.x) {  // uniform across the block
    const T* p = x + t * n;
    T* q = y + t * n;
    const int64_t c0 = (t % groups) * cg;
    float mean, inv;
    block_moments<T, false>(p, n, eps, mean, inv);
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
      const int64_t ch = c0 + i / plane;
      const float wv = w != nullptr ? load_acc(w[ch]) : 1.0f;
      const float bv = b != nullptr ? load_acc(b[ch]) : 0.0f;
      const float v = __fmul_rn(__fmul_rn(__fsub_rn(load_acc(p[i]), mean), inv), wv);
      q[i] = from_float<T>(__fadd_rn(v, bv));
    }
  }
}

// The reference's per-channel y = x * scale + shift, computed in double and rounded to f32.
template <typename T>
__device__ __forceinline__ void bn_scale_shift(const T* mean, const T* var, const T* w,
                                               const T* b, int64_t c, double eps, float& scale,
                                               float& shift) {
  const double inv_std = 1.0 / sqrt(static_cast<double>(load_acc(var[c])) + eps);
  const double s = inv_std * (w != nullptr ? static_cast<double>(load_acc(w[c])) : 1.0);
  scale = static_cast<float>(s);
  shift = static_cast<float>((b != nullptr ? static_cast<double>(load_acc(b[c])) : 0.0) -
                             static_cast<double>(load_acc(mean[c])) * s);
}

// Large planes: blockIdx.y walks the (n, c) planes, blockIdx.x / threads walk within a plane.
template <typename T>
__global__ void batch_norm_planes_kernel(const T* __restrict__ x, const T* __restrict__ mean,
                                         const T* __restrict__ var, const T* __restrict__ w,
                                         const T* __restrict__ b, T* __restrict__ y,
                                         int64_t planes, int64_t c, int64_t plane, double eps) {
  for (int64_t row = blockIdx.y; row < planes; row += gridDim.y) {
    float s, t;
    bn_scale_shift(mean, var, w, b, row % c, eps, s, t);
    const T* p = x + row * plane;
    T* q = y + row * plane;
    for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < plane;
         i += int64_t{gridDim.x} * blockDim.x) {
      q[i] = from_float<T>(__fadd_rn(__fmul_rn(load_acc(p[i]), s), t));
    }
  }
}

// Small planes (e.g. [N, C] inputs): one element a thread, channel scale/shift per element.
template <typename T>
__global__ void batch_norm_flat_kernel(const T* __restrict__ x, const T* __restrict__ mean,
                                       const T* __restrict__ var, const T* __restrict__ w,
                                       const T* __restrict__ b, T* __restrict__ y, int64_t numel,
                                       int64_t c, int64_t plane, double eps) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < numel;
       i += int64_t{gridDim.x} * blockDim.x) {
    float s, t;
    bn_scale_shift(mean, var, w, b, (i / plane) % c, eps, s, t);
    y[i] = from_float<T>(__fadd_rn(__fmul_rn(load_acc(x[i]), s), t));
  }
}

// ---- Entry points -------------------------------------------------------------------------------

// x and every present parameter share one float dtype (shape inference demands it too).
bool norm_accepts(const Node& node, std::span<const TensorType> input_types, std::string* why) {
  std::vector<const TensorType*> inputs;
  std::vector<TensorType> outputs;
  if (!typed_node(node, input_types, inputs, outputs, why)) return false;
  if (inputs.empty() || inputs[0] == nullptr) return refuse(why, "input 0 is required");
  const DType t = inputs[0]->dtype;
  if (t != DType::kF32 && t != DType::kF16 && t != DType::kBF16) {
    return refuse(why, str_cat("input is ", dtype_name(t), "; the kernel takes f32, f16, bf16"));
  }
  for (size_t i = 1; i < inputs.size(); ++i) {
    if (inputs[i] != nullptr && inputs[i]->dtype != t) {
      return refuse(why, str_cat("input ", i, " is ", dtype_name(inputs[i]->dtype), ", not ",
                                 dtype_name(t), " like the input; the kernel needs one dtype"));
    }
  }
  if (node.op == OpKind::kBatchNorm && (inputs.size() < 3 || !inputs[1] || !inputs[2])) {
    return refuse(why, "batch_norm needs the running mean and var");
  }
  return true;
}

// Common checks; `params` (inputs 1..) are null when absent and must have `numel` elements.
Status check_norm_args(std::string_view op, const KernelArgs& args, size_t max_inputs) {
  if (args.inputs.empty() || args.inputs.size() > max_inputs || args.outputs.size() != 1) {
    return invalid_argument(op, ": expected 1 to ", max_inputs, " inputs and 1 output, got ",
                            args.inputs.size(), " and ", args.outputs.size());
  }
  KILN_RETURN_IF_ERROR(check_buffers(op, args));
  const TensorView& x = args.inputs[0];
  if (args.outputs[0].shape != x.shape || args.outputs[0].dtype != x.dtype) {
    return invalid_argument(op, ": the output must have the input's dtype and shape");
  }
  for (size_t i = 1; i < args.inputs.size(); ++i) {
    if (args.inputs[i].data != nullptr && args.inputs[i].dtype != x.dtype) {
      return invalid_argument(op, ": input ", i, " is ", dtype_name(args.inputs[i].dtype),
                              ", expected ", dtype_name(x.dtype));
    }
  }
  return ok_status();
}

// Input i's device pointer if present (with exactly `numel` elements), else null.
template <typename T>
Status param_ptr(std::string_view op, const KernelArgs& args, size_t i, int64_t numel,
                 std::string_view what, const T*& out) {
  out = nullptr;
  if (i >= args.inputs.size() || args.inputs[i].data == nullptr) return ok_status();
  if (args.inputs[i].numel() != numel) {
    return invalid_argument(op, ": ", what, " must have ", numel, " elements, got ",
                            args.inputs[i].numel());
  }
  out = static_cast<const T*>(args.inputs[i].data);
  return ok_status();
}

// Launches register_norm_kernel with kVec elements a pack and the fewest warps per row (1, 2, 4 or
// 8) whose registers hold the row; false when even 8 do not (the caller runs the block kernel).
template <typename T, bool kRms, int kVec>
bool launch_register_norm_vec(const T* x, const T* w, const T* b, T* y, int64_t rows, int64_t n,
                              float eps, cudaStream_t stream) {
  const int64_t packs = n / kVec;
  constexpr int64_t kPacksPerThread = kRegisterFloats / kVec;
  auto launch = [&](auto warps_tag) {
    constexpr int kWarps = decltype(warps_tag)::value;
    const int threads = std::max(kRegisterBlockThreads, kWarps * 32);
    const int64_t rows_per_block = threads / (kWarps * 32);
    const unsigned blocks =
        static_cast<unsigned>(std::min(ceil_div(rows, rows_per_block), kMaxGridX));
    register_norm_kernel<T, kRms, kVec, kWarps><<<blocks, threads, 0, stream>>>(x, w, b, y, rows,
                                                                                n, eps);
  };
  if (packs <= 32 * kPacksPerThread) {
    launch(std::integral_constant<int, 1>{});
  } else if (packs <= 64 * kPacksPerThread) {
    launch(std::integral_constant<int, 2>{});
  } else if (packs <= 128 * kPacksPerThread) {
    launch(std::integral_constant<int, 4>{});
  } else if (packs <= 256 * kPacksPerThread) {
    launch(std::integral_constant<int, 8>{});
  } else {
    return false;
  }
  return true;
}

// The register kernel for rows it can hold (n <= 8 warps * 32 threads * kRegisterFloats = 8192):
// 16-byte packs when n and every pointer allow, else single elements. False: not launched (the row
// is too long for registers).
template <typename T>
Expected<bool> launch_register_norm(const T* x, const T* w, const T* b, T* y, int64_t rows,
                                    int64_t n, float eps, bool rms, cudaStream_t stream) {
  constexpr int kVec = 16 / sizeof(T);
  auto aligned = [](const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; };
  const bool vec = n % kVec == 0 && aligned(x) && aligned(y) && aligned(w) && aligned(b);
  bool launched = false;
  if (rms) {
    launched = vec ? launch_register_norm_vec<T, true, kVec>(x, w, nullptr, y, rows, n, eps, stream)
                   : launch_register_norm_vec<T, true, 1>(x, w, nullptr, y, rows, n, eps, stream);
  } else {
    launched = vec ? launch_register_norm_vec<T, false, kVec>(x, w, b, y, rows, n, eps, stream)
                   : launch_register_norm_vec<T, false, 1>(x, w, b, y, rows, n, eps, stream);
  }
  if (launched) KILN_CUDA_RETURN_IF_ERROR(cudaGetLastError());
  return launched;
}

Status trailing_norm_run(std::string_view op, const KernelArgs& args, bool rms) {
  KILN_RETURN_IF_ERROR(check_norm_args(op, args, rms ? 2 : 3));
  const TensorView& x = args.inputs[0];
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  const int64_t axis_attr = args.node.attrs_as<NormAttrs>().axis;
  const int64_t axis = axis_attr < 0 ? axis_attr + rank : axis_attr;
  if (axis < 0 || axis >= rank) {
    return invalid_argument(op, ": axis ", axis_attr, " is out of range for rank ", rank);
  }
  int64_t n = 1;
  for (int64_t i = axis; i < rank; ++i) n *= x.shape[static_cast<size_t>(i)];
  const int64_t rows = n == 0 ? 0 : x.numel() / n;
  const float eps = static_cast<float>(args.node.attrs_as<NormAttrs>().eps);
  return dispatch_float(x.dtype, op, [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    const T *w = nullptr, *b = nullptr;
    KILN_RETURN_IF_ERROR(param_ptr<T>(op, args, 1, n, "weight", w));
    if (!rms) KILN_RETURN_IF_ERROR(param_ptr<T>(op, args, 2, n, "bias", b));
    if (rows == 0) return ok_status();
    const T* xp = static_cast<const T*>(x.data);
    T* yp = static_cast<T*>(args.outputs[0].data);
    Expected<bool> in_registers = launch_register_norm<T>(xp, w, b, yp, rows, n, eps, rms,
                                                          stream_of(args));
    if (!in_registers.ok()) return in_registers.status();
    if (*in_registers) return ok_status();
    const unsigned blocks = static_cast<unsigned>(std::min(rows, kMaxGridX));
    const int threads = block_threads_for(n, 1024);
    if (rms) {
      trailing_norm_kernel<T, true>
          <<<blocks, threads, 0, stream_of(args)>>>(xp, w, nullptr, yp, rows, n, eps);
    } else {
      trailing_norm_kernel<T, false><<<blocks, threads, 0, stream_of(args)>>>(xp, w, b, yp, rows,
                                                                              n, eps);
    }
    KILN_CUDA_RETURN_IF_ERROR(cudaGetLastError());
    return ok_status();
  });
}

Status layer_norm_entry(const KernelArgs& args) {
  return trailing_norm_run("layer_norm", args, false);
}
Status rms_norm_entry(const KernelArgs& args) { return trailing_norm_run("rms_norm", args, true); }

Status group_norm_entry(const KernelArgs& args) {
  constexpr std::string_view op = "group_norm";
  KILN_RETURN_IF_ERROR(check_norm_args(op, args, 3));
  const TensorView& x = args.inputs[0];
  if (x.shape.size() < 2) {
    return invalid_argument(op, ": x must be [N, C, ...], got rank ", x.shape.size());
  }
  const GroupNormAttrs& at = args.node.attrs_as<GroupNormAttrs>();
  const int64_t n = x.shape[0], c = x.shape[1], groups = at.groups;
  if (groups < 1 || c % groups != 0) {
    return invalid_argument(op, ": ", c, " channels are not divisible into ", groups, " groups");
  }
  const int64_t plane = n * c == 0 ? 0 : x.numel() / (n * c), cg = c / groups;
  return dispatch_float(x.dtype, op, [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    const T *w = nullptr, *b = nullptr;
    KILN_RETURN_IF_ERROR(param_ptr<T>(op, args, 1, c, "weight", w));
    KILN_RETURN_IF_ERROR(param_ptr<T>(op, args, 2, c, "bias", b));
    if (x.numel() == 0) return ok_status();
    const int64_t tasks = n * groups;
    const unsigned blocks = static_cast<unsigned>(std::min(tasks, kMaxGridX));
    group_norm_kernel<T><<<blocks, block_threads_for(cg * plane, 1024), 0, stream_of(args)>>>(
        static_cast<const T*>(x.data), w, b, static_cast<T*>(args.outputs[0].data), tasks, groups,
        cg, plane, static_cast<float>(at.eps));
    KILN_CUDA_RETURN_IF_ERROR(cudaGetLastError());
    return ok_status();
  });
}

Status batch_norm_entry(const KernelArgs& args) {
  constexpr std::string_view op = "batch_norm";
  KILN_RETURN_IF_ERROR(check_norm_args(op, args, 5));
  const TensorView& x = args.inputs[0];
  if (x.shape.size() < 2) {
    return invalid_argument(op, ": x must be [N, C, ...], got rank ", x.shape.size());
  }
  const double eps = args.node.attrs_as<BatchNormAttrs>().eps;
  const int64_t n = x.shape[0], c = x.shape[1];
  const int64_t plane = x.numel() / std::max<int64_t>(1, n * c);
  return dispatch_float(x.dtype, op, [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    const T *mean = nullptr, *var = nullptr, *w = nullptr, *b = nullptr;
    KILN_RETURN_IF_ERROR(param_ptr<T>(op, args, 1, c, "mean", mean));
    KILN_RETURN_IF_ERROR(param_ptr<T>(op, args, 2, c, "var", var));
    KILN_RETURN_IF_ERROR(param_ptr<T>(op, args, 3, c, "weight", w));
    KILN_RETURN_IF_ERROR(param_ptr<T>(op, args, 4, c, "bias", b));
    if ((mean == nullptr || var == nullptr) && c > 0) {
      return invalid_argument(op, ": running mean and var are required");
    }
    if (x.numel() == 0) return ok_status();
    const T* xp = static_cast<const T*>(x.data);
    T* yp = static_cast<T*>(args.outputs[0].data);
    constexpr int threads = 256;
    if (plane >= 1024) {
      const int64_t planes = n * c;
      const dim3 grid(static_cast<unsigned>(std::min(ceil_div(plane, threads * 4), kMaxGridX)),
                      static_cast<unsigned>(std::min(planes, kMaxGridY)));
      batch_norm_planes_kernel<T>
          <<<grid, threads, 0, stream_of(args)>>>(xp, mean, var, w, b, yp, planes, c, plane, eps);
    } else {
      const int64_t numel = x.numel();
      const unsigned blocks = static_cast<unsigned>(std::min(ceil_div(numel, threads), kMaxGridX));
      batch_norm_flat_kernel<T>
          <<<blocks, threads, 0, stream_of(args)>>>(xp, mean, var, w, b, yp, numel, c, plane, eps);
    }
    KILN_CUDA_RETURN_IF_ERROR(cudaGetLastError());
    return ok_status();
  });
}

const Kernel kNormKernels[] = {
    {"cuda.batch_norm", OpKind::kBatchNorm, DeviceKind::kCuda, 1, &norm_accepts,
     &batch_norm_entry},
    {"cuda.layer_norm", OpKind::kLayerNorm, DeviceKind::kCuda, 2, &norm_accepts,
     &layer_norm_entry},
    {"cuda.rms_norm", OpKind::kRmsNorm, DeviceKind::kCuda, 2, &norm_accepts, &rms_norm_entry},
    {"cuda.group_norm", OpKind::kGroupNorm, DeviceKind::kCuda, 1, &norm_accepts,
     &group_norm_entry},
};

}  // namespace

std::span<const Kernel> cuda_norm_kernels() { return kNormKernels; }

}  // namespace kiln
