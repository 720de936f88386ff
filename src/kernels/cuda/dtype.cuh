// Element types on the GPU: the storage type of each kiln DType, reads into a compute type and
// writes back with the reference kernels' rounding (src/kernels/reference/common.h), and a
// host-side visitor that turns a runtime DType into a storage type. Any CUDA family may use it.
//
// Compute types are float (for f32, f16 and bf16 storage) and int64_t (integers and bool), exactly
// as the reference kernels: fp16/bf16 are computed in fp32 and rounded once (round to nearest
// even); a float written to an integer truncates toward zero (NaN gives 0, out-of-range values
// saturate to int64) and then wraps to the integer's width; anything written to bool is v != 0.
//
// Deliberately not here: f64 (kiln kernels never run it) and anything about shapes or launches.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

#include "kiln/ir/dtype.h"
#include "kiln/support/status.h"

namespace kiln::cuda {

// kiln's bool: one byte, written as exactly 0 or 1; any nonzero byte reads as true. A distinct
// type from uint8_t (u8), whose reads and writes differ.
struct Bool8 {
  uint8_t bits;
};

template <typename S>
inline constexpr bool kIsFloatStorage = std::is_same_v<S, float> || std::is_same_v<S, __half> ||
                                        std::is_same_v<S, __nv_bfloat16>;

// The compute type of a storage type: float for the float types, int64_t for integers and bool.
template <typename S>
using ComputeOf = std::conditional_t<kIsFloatStorage<S>, float, int64_t>;

// As ref::float_to_int64: truncation toward zero, NaN -> 0, saturated to the int64 range.
__host__ __device__ inline int64_t float_to_int64(float f) {
  if (!(f == f)) return 0;
  if (f >= 9223372036854775808.0f) return INT64_MAX;
  if (f <= -9223372036854775808.0f) return INT64_MIN;
  return static_cast<int64_t>(f);
}

// The same for a double (host code: clamp bounds, attribute values).
__host__ __device__ inline int64_t double_to_int64(double d) {
  if (!(d == d)) return 0;
  if (d >= 9223372036854775808.0) return INT64_MAX;
  if (d <= -9223372036854775808.0) return INT64_MIN;
  return static_cast<int64_t>(d);
}

__device__ inline float to_float(float x) { return x; }
__device__ inline float to_float(__half x) { return __half2float(x); }
__device__ inline float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }

// Storage -> compute type C (float or int64_t).
template <typename C, typename S>
__device__ inline C load_as(S x) {
  if constexpr (kIsFloatStorage<S>) {
    const float f = to_float(x);
    if constexpr (std::is_same_v<C, float>) {
      return f;
    } else {
      return float_to_int64(f);
    }
  } else if constexpr (std::is_same_v<S, Bool8>) {
    return C(x.bits != 0 ? 1 : 0);
  } else {
    return static_cast<C>(static_cast<int64_t>(x));
  }
}

// Compute value (float or int64_t) -> storage S, rounded once.
template <typename S, typename C>
__device__ inline S store_as(C v) {
  if constexpr (std::is_same_v<S, Bool8>) {
    return Bool8{static_cast<uint8_t>(v != C(0) ? 1 : 0)};
  } else if constexpr (kIsFloatStorage<S>) {
    const float f = static_cast<float>(v);  // int64 -> float rounds to nearest even
    if constexpr (std::is_same_v<S, float>) {
      return f;
    } else if constexpr (std::is_same_v<S, __half>) {
      return __float2half_rn(f);
    } else {
      return __float2bfloat16_rn(f);
    }
  } else {
    int64_t i;
    if constexpr (std::is_same_v<C, float>) {
      i = float_to_int64(v);
    } else {
      i = static_cast<int64_t>(v);
    }
    return static_cast<S>(i);  // two's-complement wrap
  }
}

template <typename S>
struct TypeTag {
  using type = S;
};

// Calls f(TypeTag<S>{}) with the storage type S of `d` and returns its Status; f64 (or an unknown
// value) gives an Unsupported Status naming `what`.
template <typename F>
Status visit_dtype(DType d, std::string_view what, F&& f) {
  switch (d) {
    case DType::kF32: return f(TypeTag<float>{});
    case DType::kF16: return f(TypeTag<__half>{});
    case DType::kBF16: return f(TypeTag<__nv_bfloat16>{});
    case DType::kI64: return f(TypeTag<int64_t>{});
    case DType::kI32: return f(TypeTag<int32_t>{});
    case DType::kI8: return f(TypeTag<int8_t>{});
    case DType::kU8: return f(TypeTag<uint8_t>{});
    case DType::kBool: return f(TypeTag<Bool8>{});
    case DType::kF64: break;
  }
  return unsupported(what, ": the CUDA kernels do not run ", dtype_name(d));
}

// As visit_dtype, for the float dtypes only (f32, f16, bf16).
template <typename F>
Status visit_float_dtype(DType d, std::string_view what, F&& f) {
  switch (d) {
    case DType::kF32: return f(TypeTag<float>{});
    case DType::kF16: return f(TypeTag<__half>{});
    case DType::kBF16: return f(TypeTag<__nv_bfloat16>{});
    default: break;
  }
  return unsupported(what, ": expected f32, f16 or bf16, got ", dtype_name(d));
}

}  // namespace kiln::cuda
