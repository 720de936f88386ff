// Constant data for the IR text: decoding the parser's number lists and generators into bytes of
// a dtype, and printing bytes back as numbers. It does not read tokens (parser.cc does) and does
// not decide when to elide data (printer.cc does).
#include "constant_data.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

namespace kiln {
namespace {

constexpr uint64_t kMaxGeneratedBytes = uint64_t{1} << 30;

uint64_t splitmix64(uint64_t& state) {
  state += 0x9e3779b97f4a7c15ull;
  uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

template <typename T>
Status store_int(const DataNumber& n, DType dtype, uint8_t* dst) {
  int64_t v = 0;
  if (n.is_int) {
    v = n.i;
  } else {
    if (!std::isfinite(n.d)) {
      return invalid_argument("cannot store ", format_double(n.d), " in ", dtype_name(dtype));
    }
    double r = std::nearbyint(n.d);
    if (!(r >= -0x1p63 && r < 0x1p63)) {
      return invalid_argument("value ", format_double(n.d), " does not fit in ", dtype_name(dtype));
    }
    v = static_cast<int64_t>(r);
  }
  if (v < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
      v > static_cast<int64_t>(std::numeric_limits<T>::max())) {
    return invalid_argument("value ", n.is_int ? std::to_string(n.i) : format_double(n.d),
                            " does not fit in ", dtype_name(dtype));
  }
  T t = static_cast<T>(v);
  std::memcpy(dst, &t, sizeof(T));
  return ok_status();
}

template <typename T>
void store_raw(T v, uint8_t* dst) {
  std::memcpy(dst, &v, sizeof(T));
}

// Writes one number as `dtype` at dst.
Status store_number(const DataNumber& n, DType dtype, uint8_t* dst) {
  const double d = n.is_int ? static_cast<double>(n.i) : n.d;
  switch (dtype) {
    case DType::kF32: store_raw(static_cast<float>(d), dst); return ok_status();
    case DType::kF64: store_raw(d, dst); return ok_status();
    case DType::kF16: store_raw(f32_to_f16(static_cast<float>(d)), dst); return ok_status();
    case DType::kBF16: store_raw(f32_to_bf16(static_cast<float>(d)), dst); return ok_status();
    case DType::kBool:
      store_raw(static_cast<uint8_t>(n.is_int ? n.i != 0 : n.d != 0), dst);
      return ok_status();
    case DType::kI64: return store_int<int64_t>(n, dtype, dst);
    case DType::kI32: return store_int<int32_t>(n, dtype, dst);
    case DType::kI8: return store_int<int8_t>(n, dtype, dst);
    case DType::kU8: return store_int<uint8_t>(n, dtype, dst);
  }
  return internal_error("unknown dtype #", static_cast<int>(dtype));
}

template <typename T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

template <typename T>
void append_chars(T v, std::string* out) {
  char buf[64];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, ec == std::errc() ? ptr : buf);
}

}  // namespace

std::string format_double(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  std::string out;
  append_chars(v, &out);
  return out;
}

std::string format_float(float v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  std::string out;
  append_chars(v, &out);
  return out;
}

Status resolve_constant_data(ConstantAttrs& attrs, const std::optional<DataSpec>& spec,
                             const WhereFn& where, size_t op_offset) {
  // 1. The size the data must have.
  std::string type_text = str_cat(dtype_name(attrs.dtype), "[");
  for (size_t i = 0; i < attrs.shape.size(); ++i) {
    type_text += str_cat(i ? ", " : "", attrs.shape[i]);
  }
  type_text += "]";
  uint64_t numel = 1;
  bool overflow = false;
  for (int64_t d : attrs.shape) {
    if (d < 0) {
      return invalid_argument(where(op_offset), ": constant shape has a negative dim (", d, ")");
    }
    overflow |= __builtin_mul_overflow(numel, static_cast<uint64_t>(d), &numel);
  }
  const uint64_t elem = static_cast<uint64_t>(dtype_size(attrs.dtype));
  uint64_t bytes = 0;
  overflow |= __builtin_mul_overflow(numel, elem, &bytes);
  if (overflow || bytes > std::numeric_limits<size_t>::max()) {
    return invalid_argument(where(op_offset), ": constant ", type_text, " is too large");
  }
  if (!spec) {
    if (attrs.data.size == bytes) return ok_status();
    return invalid_argument(where(op_offset), ": constant ", type_text, " needs data with ", numel,
                            " element(s), got none");
  }

  // 2. The elements.
  if (spec->kind == DataSpec::Kind::kList && spec->numbers.size() != numel) {
    return invalid_argument(where(spec->offset), ": constant data has ", spec->numbers.size(),
                            " element(s), expected ", numel, " for ", type_text);
  }
  if (spec->kind != DataSpec::Kind::kList && bytes > kMaxGeneratedBytes) {
    return invalid_argument(where(spec->offset), ": generated constant data for ", type_text,
                            " would take ", bytes, " bytes (the limit is ", kMaxGeneratedBytes,
                            ")");
  }
  std::shared_ptr<uint8_t> buf(new uint8_t[bytes == 0 ? 1 : bytes],
                               std::default_delete<uint8_t[]>());
  uint64_t state = spec->seed;
  for (uint64_t k = 0; k < numel; ++k) {
    DataNumber n;
    switch (spec->kind) {
      case DataSpec::Kind::kList: n = spec->numbers[k]; break;
      case DataSpec::Kind::kSplat: n = spec->numbers.at(0); break;
      case DataSpec::Kind::kRandom: {
        double u = static_cast<double>(splitmix64(state) >> 11) * 0x1p-53;
        n.d = (u * 2 - 1) * spec->scale;
        n.offset = spec->offset;
        break;
      }
    }
    Status s = store_number(n, attrs.dtype, buf.get() + k * elem);
    if (!s.ok()) {
      return s.with_context(where(spec->kind == DataSpec::Kind::kRandom ? spec->offset : n.offset));
    }
  }
  attrs.data = TensorData{std::move(buf), static_cast<size_t>(bytes)};
  return ok_status();
}

void append_data_text(DType dtype, const TensorData& data, std::string* out) {
  const size_t elem = static_cast<size_t>(dtype_size(dtype));
  const size_t count = (data.data() == nullptr || elem == 0) ? 0 : data.size / elem;
  out->push_back('[');
  for (size_t k = 0; k < count; ++k) {
    if (k) out->append(", ");
    const uint8_t* p = data.data() + k * elem;
    switch (dtype) {
      case DType::kF32: out->append(format_float(load<float>(p))); break;
      case DType::kF64: out->append(format_double(load<double>(p))); break;
      case DType::kF16: out->append(format_float(f16_to_f32(load<uint16_t>(p)))); break;
      case DType::kBF16: out->append(format_float(bf16_to_f32(load<uint16_t>(p)))); break;
      case DType::kBool: out->push_back(*p != 0 ? '1' : '0'); break;
      case DType::kI64: append_chars(load<int64_t>(p), out); break;
      case DType::kI32: append_chars(load<int32_t>(p), out); break;
      case DType::kI8: append_chars(static_cast<int>(load<int8_t>(p)), out); break;
      case DType::kU8: append_chars(static_cast<int>(*p), out); break;
    }
  }
  out->push_back(']');
}

}  // namespace kiln
