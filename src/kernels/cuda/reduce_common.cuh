// Private helpers of the CUDA reduction, softmax and normalisation families (reduce.cu,
// softmax.cu, norm.cu): element loads into the compute type (fp32 for f32/f16/bf16, int64 for the
// integer types and bool), stores that round once into an output of any kiln dtype, warp and block
// reductions with a fixed combination order (results are deterministic run to run), dtype dispatch
// on the host, and the accepts() plumbing shared by the three families.
//
// Deliberately not here: anything an elementwise kernel needs beyond loads and stores, and any
// atomics (every reduction is a fixed tree, so the same input gives the same bits).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "check.h"
#include "kiln/ir/shape_inference.h"
#include "kiln/kernels/kernel.h"

namespace kiln::cuda_reduce {

// ---- Element types ------------------------------------------------------------------------------

// kiln's bool: one byte that reads as v != 0.
struct Bool8 {
  uint8_t b;
};

template <typename T>
struct Tag {
  using type = T;
};

template <typename T>
inline constexpr bool kIsFloatStorage = std::is_same_v<T, float> || std::is_same_v<T, __half> ||
                                        std::is_same_v<T, __nv_bfloat16>;

// The compute type of a storage type: float for the float types, int64_t for everything else.
template <typename T>
using AccOf = std::conditional_t<kIsFloatStorage<T>, float, int64_t>;

__device__ __forceinline__ float load_acc(float v) { return v; }
__device__ __forceinline__ float load_acc(__half v) { return __half2float(v); }
__device__ __forceinline__ float load_acc(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ int64_t load_acc(int64_t v) { return v; }
__device__ __forceinline__ int64_t load_acc(int32_t v) { return v; }
__device__ __forceinline__ int64_t load_acc(int8_t v) { return v; }
__device__ __forceinline__ int64_t load_acc(uint8_t v) { return v; }
__device__ __forceinline__ int64_t load_acc(Bool8 v) { return v.b != 0 ? 1 : 0; }

// float -> the same storage type, rounded once (round-to-nearest-even).
template <typename T>
__device__ __forceinline__ T from_float(float v) {
  if constexpr (std::is_same_v<T, float>) {
    return v;
  } else if constexpr (std::is_same_v<T, __half>) {
    return __float2half_rn(v);
  } else {
    static_assert(std::is_same_v<T, __nv_bfloat16>, "from_float: not a float storage type");
    return __float2bfloat16_rn(v);
  }
}

// As the reference's float_to_int64: truncation toward zero, NaN -> 0, saturated.
__device__ __forceinline__ int64_t float_to_int64(double d) {
  if (!(d == d)) return 0;
  if (d >= 9223372036854775808.0) return INT64_MAX;
  if (d <= -9223372036854775808.0) return INT64_MIN;
  return static_cast<int64_t>(d);
}

// Element i of an output of runtime dtype `t` = v, rounded once (ints wrap, bool is v != 0).
__device__ __forceinline__ void store_int(void* out, DType t, int64_t i, int64_t v) {
  switch (t) {
    case DType::kF32: static_cast<float*>(out)[i] = static_cast<float>(v); return;
    case DType::kF16: static_cast<__half*>(out)[i] = __float2half_rn(static_cast<float>(v)); return;
    case DType::kBF16:
      static_cast<__nv_bfloat16*>(out)[i] = __float2bfloat16_rn(static_cast<float>(v));
      return;
    case DType::kI64: static_cast<int64_t*>(out)[i] = v; return;
    case DType::kI32:
      static_cast<int32_t*>(out)[i] = static_cast<int32_t>(static_cast<uint32_t>(v));
      return;
    case DType::kI8:
      static_cast<int8_t*>(out)[i] = static_cast<int8_t>(static_cast<uint8_t>(v));
      return;
    case DType::kU8: static_cast<uint8_t*>(out)[i] = static_cast<uint8_t>(v); return;
    case DType::kBool: static_cast<uint8_t*>(out)[i] = v != 0 ? 1 : 0; return;
    case DType::kF64: static_cast<double*>(out)[i] = static_cast<double>(v); return;
  }
}

__device__ __forceinline__ void store_float(void* out, DType t, int64_t i, float v) {
  switch (t) {
    case DType::kF32: static_cast<float*>(out)[i] = v; return;
    case DType::kF16: static_cast<__half*>(out)[i] = __float2half_rn(v); return;
    case DType::kBF16: static_cast<__nv_bfloat16*>(out)[i] = __float2bfloat16_rn(v); return;
    case DType::kF64: static_cast<double*>(out)[i] = static_cast<double>(v); return;
    case DType::kBool: static_cast<uint8_t*>(out)[i] = v != 0.0f ? 1 : 0; return;
    default: store_int(out, t, i, float_to_int64(v)); return;
  }
}

__device__ __forceinline__ void store_acc(void* out, DType t, int64_t i, float v) {
  store_float(out, t, i, v);
}
__device__ __forceinline__ void store_acc(void* out, DType t, int64_t i, int64_t v) {
  store_int(out, t, i, v);
}

// ---- Warp and block reductions ------------------------------------------------------------------

// An (value, index) pair for argmax / argmin.
template <typename V>
struct ArgPair {
  V v;
  int64_t i;
};

template <typename T>
__device__ __forceinline__ T shfl_xor(T v, int mask) {
  return __shfl_xor_sync(0xffffffffu, v, mask);
}
template <typename V>
__device__ __forceinline__ ArgPair<V> shfl_xor(ArgPair<V> p, int mask) {
  return ArgPair<V>{__shfl_xor_sync(0xffffffffu, p.v, mask),
                    __shfl_xor_sync(0xffffffffu, p.i, mask)};
}

// Butterfly reduction: every lane of the (full) warp ends with the same result, since each
// combine used here is commutative.
template <typename T, typename Combine>
__device__ __forceinline__ T warp_reduce(T v, Combine combine) {
  for (int mask = 16; mask > 0; mask >>= 1) v = combine(v, shfl_xor(v, mask));
  return v;
}

// Reduction over a 1-D block whose size is a multiple of 32; every thread gets the result. May
// be called several times in a row (it synchronises before reusing its scratch).
template <typename T, typename Combine>
__device__ __forceinline__ T block_reduce(T v, Combine combine, T identity) {
  __shared__ T scratch[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int warps = static_cast<int>(blockDim.x >> 5);
  v = warp_reduce(v, combine);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < warps ? scratch[lane] : identity;
  return warp_reduce(v, combine);
}

struct AddF {
  __device__ float operator()(float a, float b) const { return a + b; }
};
struct MaxF {  // ignores NaN, as std::max in the reference's softmax does after the first element
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

// ---- Host side ----------------------------------------------------------------------------------

// Calls f(Tag<T>{}) for the storage type of a float dtype; other dtypes give an error.
template <typename F>
Status dispatch_float(DType t, std::string_view op, F&& f) {
  switch (t) {
    case DType::kF32: return f(Tag<float>{});
    case DType::kF16: return f(Tag<__half>{});
    case DType::kBF16: return f(Tag<__nv_bfloat16>{});
    default: return invalid_argument(op, ": expected f32, f16 or bf16, got ", dtype_name(t));
  }
}

// Calls f(Tag<T>{}) for the storage type of a float or integer dtype (not bool, not f64).
template <typename F>
Status dispatch_numeric(DType t, std::string_view op, F&& f) {
  switch (t) {
    case DType::kF32: return f(Tag<float>{});
    case DType::kF16: return f(Tag<__half>{});
    case DType::kBF16: return f(Tag<__nv_bfloat16>{});
    case DType::kI64: return f(Tag<int64_t>{});
    case DType::kI32: return f(Tag<int32_t>{});
    case DType::kI8: return f(Tag<int8_t>{});
    case DType::kU8: return f(Tag<uint8_t>{});
    case DType::kBool:
    case DType::kF64: break;
  }
  return invalid_argument(op, ": ", dtype_name(t), " is not computed by the CUDA kernels");
}

inline bool refuse(std::string* why, std::string reason) {
  if (why != nullptr) *why = std::move(reason);
  return false;
}

// The present inputs' types (null for absent ones) and the node's output types by shape inference;
// false with a reason when the node does not type.
inline bool typed_node(const Node& node, std::span<const TensorType> input_types,
                       std::vector<const TensorType*>& inputs, std::vector<TensorType>& outputs,
                       std::string* why) {
  if (input_types.size() != node.inputs.size()) {
    return refuse(why, str_cat("expected ", node.inputs.size(), " input types, got ",
                               input_types.size()));
  }
  inputs.clear();
  for (size_t i = 0; i < input_types.size(); ++i) {
    inputs.push_back(node.inputs[i] == kNoValue ? nullptr : &input_types[i]);
  }
  Expected<std::vector<TensorType>> out = infer_output_types(node.op, node.attrs, inputs);
  if (!out.ok()) return refuse(why, out.status().message());
  outputs = std::move(*out);
  return true;
}

// Launch grid limits used by the grid-stride loops of these kernels.
inline constexpr int64_t kMaxGridX = int64_t{1} << 30;
inline constexpr int64_t kMaxGridY = 65535;

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Threads for one block that handles a row of n elements: about 4 elements a thread, a multiple
// of 32, at most `max_threads`.
inline int block_threads_for(int64_t n, int max_threads) {
  int64_t t = ceil_div(ceil_div(n, 4), 32) * 32;
  if (t < 32) t = 32;
  if (t > max_threads) t = max_threads;
  return static_cast<int>(t);
}

// Input 0 (always required) and every output must have a device buffer unless empty. Optional
// inputs are absent exactly when their data is null, as for the reference kernels.
inline Status check_buffers(std::string_view op, const KernelArgs& args) {
  if (args.inputs.empty()) return invalid_argument(op, ": expected at least one input");
  if (args.inputs[0].data == nullptr && args.inputs[0].numel() > 0) {
    return invalid_argument(op, ": input 0 has no device buffer");
  }
  for (size_t i = 0; i < args.outputs.size(); ++i) {
    if (args.outputs[i].data == nullptr && args.outputs[i].numel() > 0) {
      return invalid_argument(op, ": output ", i, " has no device buffer");
    }
  }
  return ok_status();
}

inline cudaStream_t stream_of(const KernelArgs& args) {
  return static_cast<cudaStream_t>(args.stream);
}

}  // namespace kiln::cuda_reduce
