// Element types of kiln tensors, their names and sizes, and the fp16/bf16 <-> fp32 conversions that
// the reference kernels use ("compute in fp32, round once per op"). f64 exists only so that importers
// can name it before casting it away: the verifier rejects f64 inside an engine.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace kiln {

// X-macro: enum name, text name, size in bytes. The order is the file format's numbering: append only.
#define KILN_DTYPE_LIST(X) \
  X(kF32, "f32", 4)        \
  X(kF16, "f16", 2)        \
  X(kBF16, "bf16", 2)      \
  X(kI64, "i64", 8)        \
  X(kI32, "i32", 4)        \
  X(kI8, "i8", 1)          \
  X(kU8, "u8", 1)          \
  X(kBool, "bool", 1)      \
  X(kF64, "f64", 8)

enum class DType : uint8_t {
#define KILN_DTYPE_ENUM_(e, n, s) e,
  KILN_DTYPE_LIST(KILN_DTYPE_ENUM_)
#undef KILN_DTYPE_ENUM_
};

inline constexpr int kNumDTypes = 0
#define KILN_DTYPE_COUNT_(e, n, s) +1
    KILN_DTYPE_LIST(KILN_DTYPE_COUNT_)
#undef KILN_DTYPE_COUNT_
    ;

std::string_view dtype_name(DType t);
std::optional<DType> dtype_from_name(std::string_view name);
int64_t dtype_size(DType t);

inline bool dtype_is_float(DType t) {
  return t == DType::kF32 || t == DType::kF16 || t == DType::kBF16 || t == DType::kF64;
}
inline bool dtype_is_int(DType t) {
  return t == DType::kI64 || t == DType::kI32 || t == DType::kI8 || t == DType::kU8;
}

// IEEE binary16 and bfloat16 conversions, round-to-nearest-even, NaN preserved.
inline float f16_to_f32(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      int e = -1;
      do {
        mant <<= 1;
        ++e;
      } while ((mant & 0x400u) == 0);
      mant &= 0x3ffu;
      bits = sign | (uint32_t(127 - 15 - e) << 23) | (mant << 13);
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline uint16_t f32_to_f16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t absx = x & 0x7fffffffu;
  if (absx >= 0x7f800000u) {  // inf or nan
    return uint16_t(sign | 0x7c00u | (absx > 0x7f800000u ? 0x200u | ((absx >> 13) & 0x3ffu) : 0));
  }
  if (absx >= 0x477ff000u) return uint16_t(sign | 0x7c00u);  // rounds to inf
  if (absx < 0x38800000u) {  // f16 subnormal or zero: scale by 2^24, round half to even
    float v = std::nearbyint(std::fabs(f) * 16777216.0f);
    return uint16_t(sign | uint32_t(v));
  }
  uint32_t r = absx + 0xc8000000u;  // rebias exponent (127 -> 15)
  uint32_t lsb = (r >> 13) & 1u;
  r += 0xfffu + lsb;
  return uint16_t(sign | (r >> 13));
}

inline float bf16_to_f32(uint16_t h) {
  uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline uint16_t f32_to_bf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return uint16_t((x >> 16) | 0x40u);  // quiet nan
  uint32_t lsb = (x >> 16) & 1u;
  x += 0x7fffu + lsb;
  return uint16_t(x >> 16);
}

}  // namespace kiln
