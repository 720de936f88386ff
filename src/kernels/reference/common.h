// Shared helpers for the CPU reference kernels: element access by dtype, fp32 staging for the
// half-precision types, contiguous strides and broadcast index mapping. Reference kernels favour
// clarity: they may stage whole tensors as float/double/int64 and write back with one rounding.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "kiln/kernels/kernel.h"

namespace kiln::ref {

// Row-major strides (in elements) of a contiguous tensor of this shape.
std::vector<int64_t> contiguous_strides(std::span<const int64_t> shape);

// For an output of shape `out` and an input of shape `in` (numpy-broadcastable to `out`), the
// input's strides expanded to out's rank, with 0 on broadcast dims.
std::vector<int64_t> broadcast_strides(std::span<const int64_t> in, std::span<const int64_t> out);

// Element `i` of `t` as a double / int64 (floats truncate toward zero for the int read).
double load_double(const TensorView& t, int64_t i);
int64_t load_int(const TensorView& t, int64_t i);
// Stores `v` into element `i`, rounding once to t's dtype (round-to-nearest-even for f16/bf16,
// truncation toward zero for ints, v != 0 for bool).
void store_double(const TensorView& t, int64_t i, double v);
void store_int(const TensorView& t, int64_t i, int64_t v);

// Whole-tensor staging: every element as float (for fp32/fp16/bf16 kernels), and back.
std::vector<float> to_float(const TensorView& t);
void from_float(std::span<const float> values, const TensorView& out);

// Float access for fp32/fp16/bf16 kernels without copying f32 data. FloatInput points at an f32
// tensor's own data or at an fp32 staging of a f16/bf16 one. FloatOutput hands out f32 storage:
// the output's own buffer for f32, else scratch that commit() rounds once into the output.
class FloatInput {
 public:
  explicit FloatInput(const TensorView& t);
  const float* data() const { return ptr_; }

 private:
  std::vector<float> staged_;
  const float* ptr_ = nullptr;
};

class FloatOutput {
 public:
  explicit FloatOutput(const TensorView& t);
  float* data() { return ptr_; }
  void commit();  // no-op for f32

 private:
  TensorView out_;
  std::vector<float> scratch_;
  float* ptr_ = nullptr;
};

// Layout permutations of f32 data for the channels_last kernels (conv, pools), with `outer`
// independent blocks of `len` positions by `channels` channels:
//   to_channels_first: dst[o, c, l] = src[o, l, c];  to_channels_last: dst[o, l, c] = src[o, c, l].
void to_channels_first(const float* src, int64_t outer, int64_t len, int64_t channels, float* dst);
void to_channels_last(const float* src, int64_t outer, int64_t len, int64_t channels, float* dst);

// "[2, 3, 4]": a concrete shape for error messages.
std::string shape_text(std::span<const int64_t> shape);

// For the float-only NN kernels: output 0 is f32, f16 or bf16 and every present input among the
// first `num_inputs` has the same dtype. Messages name `op`.
Status check_float_operands(std::string_view op, const KernelArgs& args, size_t num_inputs);

// True for f32, f16 and bf16: the dtypes that FloatInput and FloatOutput handle.
inline bool is_float_compute_dtype(DType t) {
  return t == DType::kF32 || t == DType::kF16 || t == DType::kBF16;
}

// ---- Typed block access (added for the elementwise, reduction and movement kernels) -------------
// Compute types are float (f32/f16/bf16 kernels), double and int64_t. Reading converts exactly
// where the compute type can hold the value; a float read as int64_t truncates toward zero (NaN
// gives 0, out-of-range values saturate), a bool reads as 0 or 1. Writing rounds once to the
// tensor's dtype: round-to-nearest-even for floats, truncation toward zero then two's-complement
// wrap for integers (NaN gives 0), v != 0 for bool.

// d truncated toward zero, NaN -> 0, saturated to the int64 range (never UB).
inline int64_t float_to_int64(double d) {
  if (!(d == d)) return 0;
  if (d >= 9223372036854775808.0) return INT64_MAX;
  if (d <= -9223372036854775808.0) return INT64_MIN;
  return static_cast<int64_t>(d);
}

template <typename T, typename S>
inline T convert_element(S v) {
  if constexpr (std::is_same_v<T, int64_t> && std::is_floating_point_v<S>) {
    return float_to_int64(static_cast<double>(v));
  } else {
    return static_cast<T>(v);
  }
}

// dst[i] = element (offset + i * stride) of t, for i < count. stride may be 0 (broadcast).
template <typename T>
void load_strided(const TensorView& t, int64_t offset, int64_t stride, int64_t count, T* dst) {
  auto run = [&](const auto* p, auto conv) {
    p += offset;
    if (stride == 1) {  // the common case, kept separate so that it vectorises
      for (int64_t i = 0; i < count; ++i) dst[i] = conv(p[i]);
    } else if (stride == 0) {
      std::fill(dst, dst + count, conv(p[0]));
    } else {
      for (int64_t i = 0; i < count; ++i) dst[i] = conv(p[i * stride]);
    }
  };
  auto plain = [](auto v) { return convert_element<T>(v); };
  switch (t.dtype) {
    case DType::kF32: run(static_cast<const float*>(t.data), plain); return;
    case DType::kF64: run(static_cast<const double*>(t.data), plain); return;
    case DType::kF16:
      run(static_cast<const uint16_t*>(t.data),
          [](uint16_t h) { return convert_element<T>(f16_to_f32(h)); });
      return;
    case DType::kBF16:
      run(static_cast<const uint16_t*>(t.data),
          [](uint16_t h) { return convert_element<T>(bf16_to_f32(h)); });
      return;
    case DType::kI64: run(static_cast<const int64_t*>(t.data), plain); return;
    case DType::kI32: run(static_cast<const int32_t*>(t.data), plain); return;
    case DType::kI8: run(static_cast<const int8_t*>(t.data), plain); return;
    case DType::kU8: run(static_cast<const uint8_t*>(t.data), plain); return;
    case DType::kBool:
      run(static_cast<const uint8_t*>(t.data), [](uint8_t b) { return T(b != 0 ? 1 : 0); });
      return;
  }
}

// Elements [offset, offset + count) of t = src[0 .. count), rounded once to t's dtype.
template <typename T>
void store_contiguous(const TensorView& t, int64_t offset, int64_t count, const T* src) {
  auto run = [&](auto* p, auto conv) {
    p += offset;
    for (int64_t i = 0; i < count; ++i) p[i] = conv(src[i]);
  };
  auto to_int = [](T v) { return convert_element<int64_t>(v); };
  switch (t.dtype) {
    case DType::kF32: run(static_cast<float*>(t.data), [](T v) { return float(v); }); return;
    case DType::kF64: run(static_cast<double*>(t.data), [](T v) { return double(v); }); return;
    case DType::kF16:
      run(static_cast<uint16_t*>(t.data), [](T v) { return f32_to_f16(float(v)); });
      return;
    case DType::kBF16:
      run(static_cast<uint16_t*>(t.data), [](T v) { return f32_to_bf16(float(v)); });
      return;
    case DType::kI64: run(static_cast<int64_t*>(t.data), to_int); return;
    case DType::kI32:
      run(static_cast<int32_t*>(t.data), [&](T v) { return static_cast<int32_t>(to_int(v)); });
      return;
    case DType::kI8:
      run(static_cast<int8_t*>(t.data), [&](T v) { return static_cast<int8_t>(to_int(v)); });
      return;
    case DType::kU8:
      run(static_cast<uint8_t*>(t.data), [&](T v) { return static_cast<uint8_t>(to_int(v)); });
      return;
    case DType::kBool:
      run(static_cast<uint8_t*>(t.data), [](T v) { return uint8_t(v != T(0)); });
      return;
  }
}

}  // namespace kiln::ref
