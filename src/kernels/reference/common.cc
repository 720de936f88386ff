// Element access and staging helpers for the reference kernels (see common.h).
#include "common.h"

#include <algorithm>
#include <cmath>

#include "kiln/support/parallel.h"

namespace kiln::ref {

std::vector<int64_t> contiguous_strides(std::span<const int64_t> shape) {
  std::vector<int64_t> strides(shape.size());
  int64_t s = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

std::vector<int64_t> broadcast_strides(std::span<const int64_t> in, std::span<const int64_t> out) {
  std::vector<int64_t> strides(out.size(), 0);
  std::vector<int64_t> in_strides = contiguous_strides(in);
  size_t offset = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i) {
    strides[offset + i] = (in[i] == 1 && out[offset + i] != 1) ? 0 : in_strides[i];
  }
  return strides;
}

double load_double(const TensorView& t, int64_t i) {
  const uint8_t* p = static_cast<const uint8_t*>(t.data);
  switch (t.dtype) {
    case DType::kF32: { float v; std::memcpy(&v, p + 4 * i, 4); return v; }
    case DType::kF64: { double v; std::memcpy(&v, p + 8 * i, 8); return v; }
    case DType::kF16: { uint16_t v; std::memcpy(&v, p + 2 * i, 2); return f16_to_f32(v); }
    case DType::kBF16: { uint16_t v; std::memcpy(&v, p + 2 * i, 2); return bf16_to_f32(v); }
    case DType::kI64: { int64_t v; std::memcpy(&v, p + 8 * i, 8); return double(v); }
    case DType::kI32: { int32_t v; std::memcpy(&v, p + 4 * i, 4); return v; }
    case DType::kI8: return static_cast<const int8_t*>(t.data)[i];
    case DType::kU8: return p[i];
    case DType::kBool: return p[i] != 0 ? 1.0 : 0.0;
  }
  return 0;
}

int64_t load_int(const TensorView& t, int64_t i) {
  const uint8_t* p = static_cast<const uint8_t*>(t.data);
  switch (t.dtype) {
    case DType::kI64: { int64_t v; std::memcpy(&v, p + 8 * i, 8); return v; }
    case DType::kI32: { int32_t v; std::memcpy(&v, p + 4 * i, 4); return v; }
    case DType::kI8: return static_cast<const int8_t*>(t.data)[i];
    case DType::kU8: return p[i];
    case DType::kBool: return p[i] != 0;
    default: {
      double d = load_double(t, i);
      if (!(d == d)) return 0;
      if (d >= 9.2e18) return INT64_MAX;
      if (d <= -9.2e18) return INT64_MIN;
      return static_cast<int64_t>(d);
    }
  }
}

void store_double(const TensorView& t, int64_t i, double v) {
  uint8_t* p = static_cast<uint8_t*>(t.data);
  switch (t.dtype) {
    case DType::kF32: { float f = static_cast<float>(v); std::memcpy(p + 4 * i, &f, 4); return; }
    case DType::kF64: std::memcpy(p + 8 * i, &v, 8); return;
    case DType::kF16: { uint16_t h = f32_to_f16(static_cast<float>(v)); std::memcpy(p + 2 * i, &h, 2); return; }
    case DType::kBF16: { uint16_t h = f32_to_bf16(static_cast<float>(v)); std::memcpy(p + 2 * i, &h, 2); return; }
    case DType::kBool: p[i] = v != 0; return;
    default: {
      int64_t iv = 0;
      if (v == v) iv = v >= 9.2e18 ? INT64_MAX : (v <= -9.2e18 ? INT64_MIN : static_cast<int64_t>(v));
      store_int(t, i, iv);
      return;
    }
  }
}

void store_int(const TensorView& t, int64_t i, int64_t v) {
  uint8_t* p = static_cast<uint8_t*>(t.data);
  switch (t.dtype) {
    case DType::kI64: std::memcpy(p + 8 * i, &v, 8); return;
    case DType::kI32: { int32_t x = static_cast<int32_t>(v); std::memcpy(p + 4 * i, &x, 4); return; }
    case DType::kI8: static_cast<int8_t*>(t.data)[i] = static_cast<int8_t>(v); return;
    case DType::kU8: p[i] = static_cast<uint8_t>(v); return;
    case DType::kBool: p[i] = v != 0; return;
    default: store_double(t, i, static_cast<double>(v)); return;
  }
}

std::vector<float> to_float(const TensorView& t) {
  int64_t n = t.numel();
  std::vector<float> out(static_cast<size_t>(n));
  if (t.dtype == DType::kF32) {
    if (n) std::memcpy(out.data(), t.data, static_cast<size_t>(n) * 4);
    return out;
  }
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(load_double(t, i));
  return out;
}

void from_float(std::span<const float> values, const TensorView& out) {
  if (out.dtype == DType::kF32) {
    if (!values.empty()) std::memcpy(out.data, values.data(), values.size() * 4);
    return;
  }
  for (size_t i = 0; i < values.size(); ++i) store_double(out, static_cast<int64_t>(i), values[i]);
}

FloatInput::FloatInput(const TensorView& t) {
  if (t.dtype == DType::kF32) {
    ptr_ = static_cast<const float*>(t.data);
  } else {
    staged_ = to_float(t);
    ptr_ = staged_.data();
  }
}

FloatOutput::FloatOutput(const TensorView& t) : out_(t) {
  if (t.dtype == DType::kF32) {
    ptr_ = static_cast<float*>(t.data);
  } else {
    scratch_.resize(static_cast<size_t>(t.numel()));
    ptr_ = scratch_.data();
  }
}

void FloatOutput::commit() {
  if (out_.dtype != DType::kF32) from_float(scratch_, out_);
}

void to_channels_first(const float* src, int64_t outer, int64_t len, int64_t channels, float* dst) {
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, len));
  parallel_for(outer * channels, grain, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const float* s = src + (t / channels) * len * channels + t % channels;
      float* d = dst + t * len;
      for (int64_t l = 0; l < len; ++l) d[l] = s[l * channels];
    }
  });
}

void to_channels_last(const float* src, int64_t outer, int64_t len, int64_t channels, float* dst) {
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, channels));
  parallel_for(outer * len, grain, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const float* s = src + (t / len) * channels * len + t % len;
      float* d = dst + t * channels;
      for (int64_t c = 0; c < channels; ++c) d[c] = s[c * len];
    }
  });
}

std::string shape_text(std::span<const int64_t> shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

Status check_float_operands(std::string_view op, const KernelArgs& args, size_t num_inputs) {
  if (args.outputs.empty()) return invalid_argument(op, ": no output buffer");
  const DType t = args.outputs[0].dtype;
  if (!is_float_compute_dtype(t)) {
    return unsupported(op, ": the reference kernel takes f32, f16 or bf16, got ", dtype_name(t));
  }
  for (size_t i = 0; i < num_inputs && i < args.inputs.size(); ++i) {
    if (args.inputs[i].data != nullptr && args.inputs[i].dtype != t) {
      return invalid_argument(op, ": input ", i, " is ", dtype_name(args.inputs[i].dtype),
                              " but the output is ", dtype_name(t));
    }
  }
  return ok_status();
}

}  // namespace kiln::ref
