// CUDA kernels for max_pool, avg_pool, adaptive_avg_pool and adaptive_max_pool over the last 1 to
// 3 dims, with the reference's semantics and numerics (src/kernels/reference/pool.cc): torch's
// output-size formula with ceil_mode, -inf padding and dilation for max_pool (NaN propagates),
// count_include_pad and divisor_override for avg_pool, adaptive windows
// [floor(o * in / out), ceil((o + 1) * in / out)). Sums accumulate in double in the reference's
// order and are divided in double, then rounded to f32 and once more to f16/bf16, as the
// reference does, so results match it bit for bit.
//
// One thread per output element; the spatial dims are right-aligned into three (leading ones of
// size 1), as in the reference. f32, f16 and bf16.
//
// max_pool and avg_pool with channels_last take x [*lead, *spatial, C] and write
// [*lead, *spatial', C]: the same windows, read with a stride of C. When every index fits in 32
// bits (the common case) they run a faster kernel: one thread per V consecutive channels of an
// output position (channels innermost, so a warp reads and writes consecutive memory), V = 16
// bytes' worth when C is a multiple of it and both buffers are 16-byte aligned, else V = 1, with
// 32-bit index arithmetic. The 64-bit kernels stay for anything larger.
//
// Deliberately not here: the indices output of max_pool, channels-last adaptive pools, and
// splitting large windows (global pooling of big planes) over a warp.
#include <algorithm>
#include <array>
#include <cmath>

#include "dtype.cuh"
#include "families.h"
#include "movement.cuh"

namespace kiln {
namespace {

using cuda::store_as;
using cuda::to_float;
using cuda_move::shape_text;

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = int64_t{1} << 20;

// Geometry and windows, passed by value. Windows of adaptive pools are computed from in and out.
struct PoolParams {
  int64_t planes;
  int64_t in[3], out[3];
  int64_t k[3], stride[3], pad[3], dil[3];
  bool count_include_pad;
  int64_t divisor;  // divisor_override, or 0
  // channels_last (max_pool, avg_pool): `channels` is the last dim and planes = outer * channels.
  bool channels_last;
  int64_t channels;
};

// Output element e: its spatial position o[3] and where its input plane starts in x, with the
// distance between consecutive spatial elements of that plane (1, or C for channels_last).
struct PlaneAt {
  int64_t o[3];
  int64_t base, step;
};
__device__ __forceinline__ PlaneAt plane_at(int64_t e, const PoolParams& p) {
  const int64_t in_plane = p.in[0] * p.in[1] * p.in[2];
  PlaneAt r;
  int64_t t = e, c = 0;
  if (p.channels_last) {
    c = t % p.channels;
    t /= p.channels;
  }
  r.o[2] = t % p.out[2];
  t /= p.out[2];
  r.o[1] = t % p.out[1];
  t /= p.out[1];
  r.o[0] = t % p.out[0];
  t /= p.out[0];
  if (p.channels_last) {
    r.base = t * in_plane * p.channels + c;
    r.step = p.channels;
  } else {
    r.base = t * in_plane;
    r.step = 1;
  }
  return r;
}

// ---- Kernels ------------------------------------------------------------------------------------

template <typename T>
__global__ void max_pool_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t total,
                                PoolParams p) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
       e += step) {
    const PlaneAt at = plane_at(e, p);
    const T* xp = x + at.base;
    float best = -INFINITY;
    for (int64_t kd = 0; kd < p.k[0]; ++kd) {
      const int64_t id = at.o[0] * p.stride[0] - p.pad[0] + kd * p.dil[0];
      if (id < 0 || id >= p.in[0]) continue;
      for (int64_t kh = 0; kh < p.k[1]; ++kh) {
        const int64_t ih = at.o[1] * p.stride[1] - p.pad[1] + kh * p.dil[1];
        if (ih < 0 || ih >= p.in[1]) continue;
        const int64_t row = (id * p.in[1] + ih) * p.in[2];
        for (int64_t kw = 0; kw < p.k[2]; ++kw) {
          const int64_t iw = at.o[2] * p.stride[2] - p.pad[2] + kw * p.dil[2];
          if (iw < 0 || iw >= p.in[2]) continue;
          const float v = to_float(xp[(row + iw) * at.step]);
          if (v > best || isnan(v)) best = v;  // NaN, once seen, stays
        }
      }
    }
    y[e] = store_as<T>(best);
  }
}

template <typename T>
__global__ void avg_pool_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t total,
                                PoolParams p) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
       e += step) {
    const PlaneAt at = plane_at(e, p);
    const T* xp = x + at.base;
    // The window clipped to the padded input [-p, in + p), then to the real input [0, in).
    int64_t lo[3], hi[3], padded_count = 1, real_count = 1;
#pragma unroll
    for (int d = 0; d < 3; ++d) {
      const int64_t start = at.o[d] * p.stride[d] - p.pad[d];
      const int64_t stop = min(start + p.k[d], p.in[d] + p.pad[d]);
      padded_count *= stop - start;
      lo[d] = max(start, int64_t{0});
      hi[d] = min(stop, p.in[d]);
      real_count *= max(int64_t{0}, hi[d] - lo[d]);
    }
    if (real_count == 0) {
      y[e] = store_as<T>(0.0f);
      continue;
    }
    double sum = 0;
    for (int64_t id = lo[0]; id < hi[0]; ++id) {
      for (int64_t ih = lo[1]; ih < hi[1]; ++ih) {
        const int64_t row = (id * p.in[1] + ih) * p.in[2];
        for (int64_t iw = lo[2]; iw < hi[2]; ++iw) {
          sum += static_cast<double>(to_float(xp[(row + iw) * at.step]));
        }
      }
    }
    const int64_t divisor = p.divisor != 0          ? p.divisor
                            : p.count_include_pad ? padded_count
                                                  : real_count;
    y[e] = store_as<T>(static_cast<float>(sum / static_cast<double>(divisor)));
  }
}

// ---- Channels-last fast path: 32-bit indices, V channels per thread ----------------------------

// The geometry in 32 bits (the host checks that every index fits), channels counted in packs.
struct ClParams {
  int32_t in[3], out[3], k[3], stride[3], pad[3], dil[3];
  uint32_t packs;  // channels / V
  bool count_include_pad;
  int64_t divisor;  // divisor_override, or 0
};

// V elements moved as one load or store (16 bytes for V = 16 / sizeof(T)).
template <typename T, int V>
struct alignas(sizeof(T) * V) Pack {
  T v[V];
};

// Thread e owns pack e of y, viewed as [outer, out0, out1, out2, packs]; its window reads packs of
// x [outer, in0, in1, in2, packs] at the same pack index. Per channel, the taps and their order
// are the generic kernels' (and the reference's), so results are bit-identical to them.
template <typename T, int V, bool kMax>
__global__ void pool_cl_kernel(const Pack<T, V>* __restrict__ x, Pack<T, V>* __restrict__ y,
                               uint32_t total, ClParams p) {
  const uint32_t step = gridDim.x * blockDim.x;
  for (uint32_t e = blockIdx.x * blockDim.x + threadIdx.x; e < total; e += step) {
    uint32_t t = e;
    const uint32_t c = t % p.packs;
    t /= p.packs;
    int32_t o[3];
    o[2] = static_cast<int32_t>(t % static_cast<uint32_t>(p.out[2]));
    t /= static_cast<uint32_t>(p.out[2]);
    o[1] = static_cast<int32_t>(t % static_cast<uint32_t>(p.out[1]));
    t /= static_cast<uint32_t>(p.out[1]);
    o[0] = static_cast<int32_t>(t % static_cast<uint32_t>(p.out[0]));
    t /= static_cast<uint32_t>(p.out[0]);
    const Pack<T, V>* xp =
        x + t * static_cast<uint32_t>(p.in[0] * p.in[1] * p.in[2]) * p.packs + c;
    Pack<T, V> r;
    if constexpr (kMax) {
      float best[V];
#pragma unroll
      for (int v = 0; v < V; ++v) best[v] = -INFINITY;
      for (int32_t kd = 0; kd < p.k[0]; ++kd) {
        const int32_t id = o[0] * p.stride[0] - p.pad[0] + kd * p.dil[0];
        if (id < 0 || id >= p.in[0]) continue;
        for (int32_t kh = 0; kh < p.k[1]; ++kh) {
          const int32_t ih = o[1] * p.stride[1] - p.pad[1] + kh * p.dil[1];
          if (ih < 0 || ih >= p.in[1]) continue;
          const uint32_t row = static_cast<uint32_t>((id * p.in[1] + ih) * p.in[2]);
          for (int32_t kw = 0; kw < p.k[2]; ++kw) {
            const int32_t iw = o[2] * p.stride[2] - p.pad[2] + kw * p.dil[2];
            if (iw < 0 || iw >= p.in[2]) continue;
            const Pack<T, V> in = xp[(row + static_cast<uint32_t>(iw)) * p.packs];
#pragma unroll
            for (int v = 0; v < V; ++v) {
              const float f = to_float(in.v[v]);
              if (f > best[v] || isnan(f)) best[v] = f;  // NaN, once seen, stays
            }
          }
        }
      }
#pragma unroll
      for (int v = 0; v < V; ++v) r.v[v] = store_as<T>(best[v]);
    } else {
      int32_t lo[3], hi[3];
      int64_t padded_count = 1, real_count = 1;
#pragma unroll
      for (int d = 0; d < 3; ++d) {
        const int32_t start = o[d] * p.stride[d] - p.pad[d];
        const int32_t stop = min(start + p.k[d], p.in[d] + p.pad[d]);
        padded_count *= stop - start;
        lo[d] = max(start, 0);
        hi[d] = min(stop, p.in[d]);
        real_count *= max(0, hi[d] - lo[d]);
      }
      if (real_count == 0) {
#pragma unroll
        for (int v = 0; v < V; ++v) r.v[v] = store_as<T>(0.0f);
      } else {
        double sum[V];
#pragma unroll
        for (int v = 0; v < V; ++v) sum[v] = 0;
        for (int32_t id = lo[0]; id < hi[0]; ++id) {
          for (int32_t ih = lo[1]; ih < hi[1]; ++ih) {
            const uint32_t row = static_cast<uint32_t>((id * p.in[1] + ih) * p.in[2]);
            for (int32_t iw = lo[2]; iw < hi[2]; ++iw) {
              const Pack<T, V> in = xp[(row + static_cast<uint32_t>(iw)) * p.packs];
#pragma unroll
              for (int v = 0; v < V; ++v) sum[v] += static_cast<double>(to_float(in.v[v]));
            }
          }
        }
        const int64_t divisor = p.divisor != 0          ? p.divisor
                                : p.count_include_pad ? padded_count
                                                      : real_count;
#pragma unroll
        for (int v = 0; v < V; ++v) {
          r.v[v] = store_as<T>(static_cast<float>(sum[v] / static_cast<double>(divisor)));
        }
      }
    }
    y[e] = r;
  }
}

template <typename T, bool kMax>
__global__ void adaptive_pool_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t total,
                                     PoolParams p) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t in_plane = p.in[0] * p.in[1] * p.in[2];
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
       e += step) {
    const int64_t ow = e % p.out[2], oh = (e / p.out[2]) % p.out[1];
    const int64_t t = e / (p.out[2] * p.out[1]);
    const int64_t o[3] = {t % p.out[0], oh, ow};
    const T* xp = x + (t / p.out[0]) * in_plane;
    int64_t lo[3], hi[3];
#pragma unroll
    for (int d = 0; d < 3; ++d) {
      lo[d] = (o[d] * p.in[d]) / p.out[d];
      hi[d] = ((o[d] + 1) * p.in[d] + p.out[d] - 1) / p.out[d];
    }
    double sum = 0;
    float best = -INFINITY;
    for (int64_t id = lo[0]; id < hi[0]; ++id) {
      for (int64_t ih = lo[1]; ih < hi[1]; ++ih) {
        const T* row = xp + (id * p.in[1] + ih) * p.in[2];
        for (int64_t iw = lo[2]; iw < hi[2]; ++iw) {
          const float v = to_float(row[iw]);
          if constexpr (kMax) {
            if (v > best || isnan(v)) best = v;
          } else {
            sum += static_cast<double>(v);
          }
        }
      }
    }
    if constexpr (kMax) {
      y[e] = store_as<T>(best);
    } else {
      const int64_t count = (hi[0] - lo[0]) * (hi[1] - lo[1]) * (hi[2] - lo[2]);
      y[e] = store_as<T>(static_cast<float>(sum / static_cast<double>(count)));
    }
  }
}

// ---- Host: validation (as the reference's) ------------------------------------------------------

// x[*lead, *spatial] -> out[*lead, *spatial'] with nsp pooled dims, right-aligned into p.in/out;
// with channels_last x[*lead, *spatial, C] -> out[*lead, *spatial', C].
Status pool_geometry(std::string_view op, const KernelArgs& args, size_t nsp, bool channels_last,
                     PoolParams& p) {
  if (args.inputs.size() != 1 || args.outputs.size() != 1) {
    return invalid_argument(op, ": expected 1 input and 1 output, got ", args.inputs.size(),
                            " and ", args.outputs.size());
  }
  KILN_RETURN_IF_ERROR(cuda_move::check_buffers(op, args, true));
  const TensorView& x = args.inputs[0];
  const TensorView& out = args.outputs[0];
  if (x.dtype != DType::kF32 && x.dtype != DType::kF16 && x.dtype != DType::kBF16) {
    return unsupported(op, ": the CUDA kernel takes f32, f16 or bf16, got ", dtype_name(x.dtype));
  }
  const size_t extra = channels_last ? 2 : 1;  // leading dims (and C) besides the pooled ones
  if (nsp < 1 || nsp > 3 || x.shape.size() < nsp + extra || out.shape.size() != x.shape.size()) {
    return invalid_argument(op, ": expected 1 to 3 pooled dims after at least one leading dim",
                            channels_last ? " and before the channels (channels_last), " : ", ",
                            "got ", nsp, " pooled dims, x", shape_text(x.shape), " and output",
                            shape_text(out.shape));
  }
  const size_t lead = x.shape.size() - nsp - (channels_last ? 1 : 0);
  p.channels_last = channels_last;
  p.channels = channels_last ? x.shape.back() : 1;
  if (channels_last && out.shape.back() != p.channels) {
    return invalid_argument(op, ": output", shape_text(out.shape),
                            " must keep the channels (last dim) of x", shape_text(x.shape));
  }
  p.planes = p.channels;
  for (size_t i = 0; i < lead; ++i) {
    if (out.shape[i] != x.shape[i]) {
      return invalid_argument(op, ": output", shape_text(out.shape),
                              " must keep the leading dims of x", shape_text(x.shape));
    }
    p.planes *= x.shape[i];
  }
  for (int d = 0; d < 3; ++d) p.in[d] = p.out[d] = 1;
  for (size_t i = 0; i < nsp; ++i) {
    p.in[3 - nsp + i] = x.shape[lead + i];
    p.out[3 - nsp + i] = out.shape[lead + i];
  }
  return ok_status();
}

// One entry per pooled dim, or empty for the fallback (the kernel size for stride).
Status pool_param(std::string_view op, std::string_view name, const std::vector<int64_t>& v,
                  size_t nsp, const int64_t* fallback, int64_t fallback_value, int64_t min_value,
                  int64_t* out) {
  if (!v.empty() && v.size() != nsp) {
    return invalid_argument(op, ": ", name, " has ", v.size(), " entries for ", nsp,
                            " pooled dims");
  }
  for (size_t i = 0; i < nsp; ++i) {
    const size_t d = 3 - nsp + i;
    const int64_t x = !v.empty() ? v[i] : (fallback ? fallback[d] : fallback_value);
    if (x < min_value) {
      return invalid_argument(op, ": ", name, "[", i, "] = ", x, ", expected >= ", min_value);
    }
    out[d] = x;
  }
  return ok_status();
}

Status read_windows(std::string_view op, const PoolAttrs& at, bool use_dilation,
                    const KernelArgs& args, PoolParams& p) {
  const size_t nsp = at.kernel.size();
  KILN_RETURN_IF_ERROR(pool_geometry(op, args, nsp, at.channels_last, p));
  for (int d = 0; d < 3; ++d) {
    p.k[d] = p.stride[d] = p.dil[d] = 1;
    p.pad[d] = 0;
  }
  KILN_RETURN_IF_ERROR(pool_param(op, "kernel", at.kernel, nsp, nullptr, 1, 1, p.k));
  KILN_RETURN_IF_ERROR(pool_param(op, "stride", at.stride, nsp, p.k, 1, 1, p.stride));
  KILN_RETURN_IF_ERROR(pool_param(op, "padding", at.padding, nsp, nullptr, 0, 0, p.pad));
  if (use_dilation) {
    KILN_RETURN_IF_ERROR(pool_param(op, "dilation", at.dilation, nsp, nullptr, 1, 1, p.dil));
  }
  for (size_t i = 0; i < nsp; ++i) {
    const size_t d = 3 - nsp + i;
    if (p.pad[d] * 2 > p.k[d]) {
      return invalid_argument(op, ": padding[", i, "] = ", p.pad[d],
                              " must be at most half the kernel size ", p.k[d]);
    }
    const int64_t span = p.in[d] + 2 * p.pad[d] - p.dil[d] * (p.k[d] - 1) - 1;
    int64_t expected = 0;
    if (span >= 0) {
      expected = (at.ceil_mode ? (span + p.stride[d] - 1) / p.stride[d] : span / p.stride[d]) + 1;
      if (at.ceil_mode && (expected - 1) * p.stride[d] >= p.in[d] + p.pad[d]) --expected;
    }
    if (p.out[d] != expected) {
      return invalid_argument(op, ": output size ", p.out[d], " along pooled dim ", i,
                              ", expected ", expected, " for input ", p.in[d], ", kernel ", p.k[d],
                              ", stride ", p.stride[d], ", padding ", p.pad[d],
                              at.ceil_mode ? ", ceil_mode" : "");
    }
  }
  return ok_status();
}

// ---- Host: launch -------------------------------------------------------------------------------

enum class PoolKind { kMax, kAvg, kAdaptiveAvg, kAdaptiveMax };

// The channels-last geometry in 32 bits, or false when some index could overflow them: both
// tensors under 2^31 elements, and every window coordinate o * stride - pad + k * dil (and the
// window ends of avg_pool) within +-2^30.
bool cl_params(const PoolParams& p, int64_t x_numel, int64_t y_numel, ClParams& q) {
  constexpr int64_t kLimit = int64_t{1} << 30;
  if (x_numel >= 2 * kLimit || y_numel >= 2 * kLimit) return false;
  for (int d = 0; d < 3; ++d) {
    const int64_t reach = p.out[d] * p.stride[d] + p.k[d] * p.dil[d] + p.in[d] + 2 * p.pad[d];
    if (p.out[d] < 0 || p.stride[d] < 0 || p.k[d] < 0 || p.dil[d] < 0 || p.pad[d] < 0 ||
        reach >= kLimit) {
      return false;
    }
    q.in[d] = static_cast<int32_t>(p.in[d]);
    q.out[d] = static_cast<int32_t>(p.out[d]);
    q.k[d] = static_cast<int32_t>(p.k[d]);
    q.stride[d] = static_cast<int32_t>(p.stride[d]);
    q.pad[d] = static_cast<int32_t>(p.pad[d]);
    q.dil[d] = static_cast<int32_t>(p.dil[d]);
  }
  q.count_include_pad = p.count_include_pad;
  q.divisor = p.divisor;
  return true;
}

template <typename T, int V>
void launch_cl(bool max, const void* x, void* y, int64_t y_numel, ClParams q,
               cudaStream_t stream) {
  q.packs /= V;
  const int64_t total = y_numel / V;
  const unsigned blocks =
      static_cast<unsigned>(std::min((total + kThreads - 1) / kThreads, kMaxBlocks));
  const auto* xp = static_cast<const Pack<T, V>*>(x);
  auto* yp = static_cast<Pack<T, V>*>(y);
  if (max) {
    pool_cl_kernel<T, V, true>
        <<<blocks, kThreads, 0, stream>>>(xp, yp, static_cast<uint32_t>(total), q);
  } else {
    pool_cl_kernel<T, V, false>
        <<<blocks, kThreads, 0, stream>>>(xp, yp, static_cast<uint32_t>(total), q);
  }
}

Status launch_pool(std::string_view op, PoolKind kind, const KernelArgs& args,
                   const PoolParams& p) {
  const TensorView& x = args.inputs[0];
  const TensorView& y = args.outputs[0];
  const int64_t total = y.numel();
  if (total == 0) return ok_status();
  const unsigned blocks =
      static_cast<unsigned>(std::min((total + kThreads - 1) / kThreads, kMaxBlocks));
  cudaStream_t stream = cuda_move::stream_of(args);
  KILN_RETURN_IF_ERROR(cuda::visit_float_dtype(x.dtype, op, [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    const T* xp = static_cast<const T*>(x.data);
    T* yp = static_cast<T*>(y.data);
    ClParams q{};
    if (p.channels_last && (kind == PoolKind::kMax || kind == PoolKind::kAvg) && p.channels > 0 &&
        cl_params(p, x.numel(), total, q)) {
      constexpr int kVec = static_cast<int>(16 / sizeof(T));
      q.packs = static_cast<uint32_t>(p.channels);
      const bool vec = p.channels % kVec == 0 && reinterpret_cast<uintptr_t>(xp) % 16 == 0 &&
                       reinterpret_cast<uintptr_t>(yp) % 16 == 0;
      if (vec) {
        launch_cl<T, kVec>(kind == PoolKind::kMax, xp, yp, total, q, stream);
      } else {
        launch_cl<T, 1>(kind == PoolKind::kMax, xp, yp, total, q, stream);
      }
      return ok_status();
    }
    switch (kind) {
      case PoolKind::kMax:
        max_pool_kernel<T><<<blocks, kThreads, 0, stream>>>(xp, yp, total, p);
        break;
      case PoolKind::kAvg:
        avg_pool_kernel<T><<<blocks, kThreads, 0, stream>>>(xp, yp, total, p);
        break;
      case PoolKind::kAdaptiveAvg:
        adaptive_pool_kernel<T, false><<<blocks, kThreads, 0, stream>>>(xp, yp, total, p);
        break;
      case PoolKind::kAdaptiveMax:
        adaptive_pool_kernel<T, true><<<blocks, kThreads, 0, stream>>>(xp, yp, total, p);
        break;
    }
    return ok_status();
  }));
  KILN_CUDA_RETURN_IF_ERROR(cudaGetLastError());
  return ok_status();
}

// ---- Entries ------------------------------------------------------------------------------------

Status max_pool_run(const KernelArgs& args) {
  PoolParams p{};
  KILN_RETURN_IF_ERROR(read_windows("max_pool", args.node.attrs_as<PoolAttrs>(), true, args, p));
  return launch_pool("max_pool", PoolKind::kMax, args, p);
}

Status avg_pool_run(const KernelArgs& args) {
  const PoolAttrs& at = args.node.attrs_as<PoolAttrs>();
  PoolParams p{};
  KILN_RETURN_IF_ERROR(read_windows("avg_pool", at, false, args, p));
  if (at.divisor_override.has_value() && *at.divisor_override == 0) {
    return invalid_argument("avg_pool: divisor_override must not be zero");
  }
  p.count_include_pad = at.count_include_pad;
  p.divisor = at.divisor_override.value_or(0);
  return launch_pool("avg_pool", PoolKind::kAvg, args, p);
}

Status adaptive_run(std::string_view op, const KernelArgs& args, PoolKind kind) {
  const AdaptivePoolAttrs& at = args.node.attrs_as<AdaptivePoolAttrs>();
  const size_t nsp = at.output_size.size();
  PoolParams p{};
  KILN_RETURN_IF_ERROR(pool_geometry(op, args, nsp, false, p));
  for (size_t i = 0; i < nsp; ++i) {
    const size_t d = 3 - nsp + i;
    if (p.out[d] != at.output_size[i]) {
      return invalid_argument(op, ": output size ", p.out[d], " along pooled dim ", i,
                              " differs from output_size ", at.output_size[i]);
    }
    if (p.out[d] > 0 && p.in[d] == 0) {
      return invalid_argument(op, ": cannot pool an empty input dim ", i, " to size ", p.out[d]);
    }
  }
  return launch_pool(op, kind, args, p);
}

Status adaptive_avg_pool_run(const KernelArgs& args) {
  return adaptive_run("adaptive_avg_pool", args, PoolKind::kAdaptiveAvg);
}

Status adaptive_max_pool_run(const KernelArgs& args) {
  return adaptive_run("adaptive_max_pool", args, PoolKind::kAdaptiveMax);
}

bool pool_accepts(const Node& node, std::span<const TensorType> input_types, std::string* why) {
  std::vector<const TensorType*> inputs;
  std::vector<TensorType> outputs;
  if (!cuda_move::typed_node(node, input_types, INT64_MAX, inputs, outputs, why)) return false;
  if (inputs.size() != 1 || inputs[0] == nullptr) return cuda_move::refuse(why, "expected 1 input");
  const DType t = inputs[0]->dtype;
  if (t != DType::kF32 && t != DType::kF16 && t != DType::kBF16) {
    return cuda_move::refuse(why, str_cat("input is ", dtype_name(t),
                                          "; the CUDA kernel takes f32, f16 or bf16"));
  }
  const size_t nsp = node.op == OpKind::kMaxPool || node.op == OpKind::kAvgPool
                         ? node.attrs_as<PoolAttrs>().kernel.size()
                         : node.attrs_as<AdaptivePoolAttrs>().output_size.size();
  if (nsp < 1 || nsp > 3) {
    return cuda_move::refuse(why, str_cat(nsp, " pooled dims; the CUDA kernel pools 1 to 3"));
  }
  return true;
}

const Kernel kPoolKernels[] = {
    {"cuda.max_pool", OpKind::kMaxPool, DeviceKind::kCuda, 1, &pool_accepts, &max_pool_run},
    {"cuda.avg_pool", OpKind::kAvgPool, DeviceKind::kCuda, 1, &pool_accepts, &avg_pool_run},
    {"cuda.adaptive_avg_pool", OpKind::kAdaptiveAvgPool, DeviceKind::kCuda, 1, &pool_accepts,
     &adaptive_avg_pool_run},
    {"cuda.adaptive_max_pool", OpKind::kAdaptiveMaxPool, DeviceKind::kCuda, 1, &pool_accepts,
     &adaptive_max_pool_run},
};

}  // namespace

std::span<const Kernel> cuda_pool_kernels() { return kPoolKernels; }

}  // namespace kiln
