// Test helpers for the reference kernels of sources, elementwise ops, reductions and data movement:
// owned tensors of every dtype with their own (test-side) conversions, output poisoning, running a
// reference kernel on a Node, and element comparisons.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

#include "kiln/kernels/kernel.h"

namespace kiln::ref_test {

// A tensor that owns its bytes. `set` rounds to the dtype (floats round to nearest even, ints
// take the value as given, bool is v != 0).
struct Tensor {
  DType dtype = DType::kF32;
  ConcreteShape shape;
  std::vector<uint8_t> bytes;

  Tensor() = default;
  Tensor(DType t, ConcreteShape s) : dtype(t), shape(std::move(s)) {
    bytes.resize(static_cast<size_t>(concrete_numel(shape) * dtype_size(dtype)));
  }
  int64_t numel() const { return concrete_numel(shape); }
  TensorView view() const { return TensorView{const_cast<uint8_t*>(bytes.data()), dtype, shape}; }

  void set(int64_t i, double v) {
    uint8_t* p = bytes.data();
    switch (dtype) {
      case DType::kF32: put(p + 4 * i, static_cast<float>(v)); break;
      case DType::kF64: put(p + 8 * i, v); break;
      case DType::kF16: put(p + 2 * i, f32_to_f16(static_cast<float>(v))); break;
      case DType::kBF16: put(p + 2 * i, f32_to_bf16(static_cast<float>(v))); break;
      case DType::kI64: set_int(i, static_cast<int64_t>(v)); break;
      case DType::kI32: set_int(i, static_cast<int64_t>(v)); break;
      case DType::kI8: set_int(i, static_cast<int64_t>(v)); break;
      case DType::kU8: set_int(i, static_cast<int64_t>(v)); break;
      case DType::kBool: p[i] = v != 0; break;
    }
  }
  void set_int(int64_t i, int64_t v) {
    uint8_t* p = bytes.data();
    switch (dtype) {
      case DType::kI64: put(p + 8 * i, v); break;
      case DType::kI32: put(p + 4 * i, static_cast<int32_t>(v)); break;
      case DType::kI8: put(p + i, static_cast<int8_t>(v)); break;
      case DType::kU8: put(p + i, static_cast<uint8_t>(v)); break;
      case DType::kBool: p[i] = v != 0; break;
      default: set(i, static_cast<double>(v)); break;
    }
  }
  double get(int64_t i) const {
    const uint8_t* p = bytes.data();
    switch (dtype) {
      case DType::kF32: return take<float>(p + 4 * i);
      case DType::kF64: return take<double>(p + 8 * i);
      case DType::kF16: return f16_to_f32(take<uint16_t>(p + 2 * i));
      case DType::kBF16: return bf16_to_f32(take<uint16_t>(p + 2 * i));
      default: return static_cast<double>(get_int(i));
    }
  }
  int64_t get_int(int64_t i) const {
    const uint8_t* p = bytes.data();
    switch (dtype) {
      case DType::kI64: return take<int64_t>(p + 8 * i);
      case DType::kI32: return take<int32_t>(p + 4 * i);
      case DType::kI8: return take<int8_t>(p + i);
      case DType::kU8: return p[i];
      case DType::kBool: return p[i];  // raw byte: a kernel must write exactly 0 or 1
      default: ADD_FAILURE() << "get_int on a float tensor"; return 0;
    }
  }
  std::vector<double> values() const {
    std::vector<double> out(static_cast<size_t>(numel()));
    for (int64_t i = 0; i < numel(); ++i) out[static_cast<size_t>(i)] = get(i);
    return out;
  }
  std::vector<int64_t> ints() const {
    std::vector<int64_t> out(static_cast<size_t>(numel()));
    for (int64_t i = 0; i < numel(); ++i) out[static_cast<size_t>(i)] = get_int(i);
    return out;
  }
  // 0xAB in every byte: NaN-free garbage for ints, -171-ish for i8, true-but-not-1 for bool, and
  // a large negative number for floats. Floats are then set to NaN so unwritten elements show.
  void poison() {
    std::fill(bytes.begin(), bytes.end(), uint8_t{0xAB});
    if (dtype_is_float(dtype)) {
      for (int64_t i = 0; i < numel(); ++i) set(i, std::nan(""));
    }
  }

 private:
  template <typename T>
  static void put(uint8_t* p, T v) {
    std::memcpy(p, &v, sizeof(T));
  }
  template <typename T>
  static T take(const uint8_t* p) {
    T v;
    std::memcpy(&v, p, sizeof(T));
    return v;
  }
};

inline Tensor tensor_of(DType dtype, ConcreteShape shape, const std::vector<double>& values) {
  Tensor t(dtype, std::move(shape));
  EXPECT_EQ(static_cast<int64_t>(values.size()), t.numel()) << "tensor_of: value count";
  for (size_t i = 0; i < values.size() && static_cast<int64_t>(i) < t.numel(); ++i) {
    t.set(static_cast<int64_t>(i), values[i]);
  }
  return t;
}
inline Tensor f32(ConcreteShape shape, const std::vector<double>& values) {
  return tensor_of(DType::kF32, std::move(shape), values);
}
inline Tensor i64(ConcreteShape shape, const std::vector<int64_t>& values) {
  Tensor t(DType::kI64, std::move(shape));
  EXPECT_EQ(static_cast<int64_t>(values.size()), t.numel()) << "i64: value count";
  for (size_t i = 0; i < values.size() && static_cast<int64_t>(i) < t.numel(); ++i) {
    t.set_int(static_cast<int64_t>(i), values[i]);
  }
  return t;
}
// `v` rounded to `dtype` (as a kernel's single output rounding would).
inline double rounded(DType dtype, double v) {
  Tensor t(dtype, {1});
  t.set(0, v);
  return t.get(0);
}
// A poisoned output buffer.
inline Tensor output(DType dtype, ConcreteShape shape) {
  Tensor t(dtype, std::move(shape));
  t.poison();
  return t;
}

using RefKernelFn = Status (*)(const KernelArgs&);
inline RefKernelFn ref_kernel(OpKind op) {
  switch (op) {
#define KILN_OP(E, name, A, min_in, max_in, outs) \
  case OpKind::k##E: return &ref_kernel_##E;
#include "kiln/ir/ops.def"
#undef KILN_OP
  }
  return nullptr;
}

// Runs the reference kernel of `op` with `attrs`. Absent optional inputs are Tensors with no bytes
// and are passed as null views.
inline Status run_kernel(OpKind op, Attrs attrs, const std::vector<const Tensor*>& inputs,
                         const std::vector<Tensor*>& outputs,
                         std::vector<int64_t> symbol_values = {}) {
  Node node{op, {}, {}, std::move(attrs), ""};
  std::vector<TensorView> in, out;
  for (const Tensor* t : inputs) in.push_back(t ? t->view() : TensorView{});
  for (Tensor* t : outputs) out.push_back(t->view());
  KernelArgs args{node, symbol_values, in, out};
  return ref_kernel(op)(args);
}

// Compares every element. NaN expected means NaN required; otherwise |got - want| <= atol +
// rtol * |want|. rtol = atol = 0 demands exact equality; an infinite `want` is always exact.
inline void expect_values(const Tensor& got, const std::vector<double>& want, double rtol = 0,
                          double atol = 0, const std::string& what = "") {
  ASSERT_EQ(got.numel(), static_cast<int64_t>(want.size())) << what;
  for (int64_t i = 0; i < got.numel(); ++i) {
    const double g = got.get(i), w = want[static_cast<size_t>(i)];
    if (std::isnan(w)) {
      EXPECT_TRUE(std::isnan(g)) << what << " element " << i << ": want NaN, got " << g;
    } else if ((rtol == 0 && atol == 0) || std::isinf(w)) {
      EXPECT_EQ(g, w) << what << " element " << i;
    } else {
      EXPECT_LE(std::fabs(g - w), atol + rtol * std::fabs(w))
          << what << " element " << i << ": got " << g << ", want " << w;
    }
  }
}
inline void expect_ints(const Tensor& got, const std::vector<int64_t>& want,
                        const std::string& what = "") {
  ASSERT_EQ(got.numel(), static_cast<int64_t>(want.size())) << what;
  EXPECT_EQ(got.ints(), want) << what;
}

// Relative tolerance of one rounding to `dtype` (half an ulp, doubled for slack in libm).
inline double rounding_rtol(DType dtype) {
  switch (dtype) {
    case DType::kF16: return 1.0 / 1024;
    case DType::kBF16: return 1.0 / 128;
    default: return 1e-6;
  }
}

}  // namespace kiln::ref_test
