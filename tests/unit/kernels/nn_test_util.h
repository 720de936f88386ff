// Test helpers for the NN reference-kernel tests (matmul, conv, norm, softmax, attention, pool,
// resize): owned tensors of any float dtype, deterministic random fills, output poisoning, running
// a kernel on a Node, and tolerance checks against expected values computed in double.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kiln/kernels/kernel.h"

namespace kiln::nn_test {

// A tensor that owns its bytes. Values written through `set` are rounded to the dtype.
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
      case DType::kF32: {
        float f = static_cast<float>(v);
        std::memcpy(p + 4 * i, &f, 4);
        break;
      }
      case DType::kF16: {
        uint16_t h = f32_to_f16(static_cast<float>(v));
        std::memcpy(p + 2 * i, &h, 2);
        break;
      }
      case DType::kBF16: {
        uint16_t h = f32_to_bf16(static_cast<float>(v));
        std::memcpy(p + 2 * i, &h, 2);
        break;
      }
      case DType::kBool:
        p[i] = v != 0;
        break;
      default:
        ADD_FAILURE() << "nn_test::Tensor::set: unsupported dtype";
        break;
    }
  }
  double get(int64_t i) const {
    const uint8_t* p = bytes.data();
    switch (dtype) {
      case DType::kF32: {
        float f;
        std::memcpy(&f, p + 4 * i, 4);
        return f;
      }
      case DType::kF16: {
        uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        return f16_to_f32(h);
      }
      case DType::kBF16: {
        uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        return bf16_to_f32(h);
      }
      case DType::kBool:
        return p[i] != 0;
      default:
        ADD_FAILURE() << "nn_test::Tensor::get: unsupported dtype";
        return 0;
    }
  }
  // Every element as double (after the dtype's rounding).
  std::vector<double> values() const {
    std::vector<double> out(static_cast<size_t>(numel()));
    for (int64_t i = 0; i < numel(); ++i) out[static_cast<size_t>(i)] = get(i);
    return out;
  }
  // Fills with NaN (floats) so that elements a kernel forgets to write fail the comparison.
  void poison() {
    if (dtype == DType::kBool) {
      std::fill(bytes.begin(), bytes.end(), uint8_t{0xAB});
      return;
    }
    for (int64_t i = 0; i < numel(); ++i) set(i, std::nan(""));
  }
};

// A tensor of uniform random values in [lo, hi), rounded to `dtype`; deterministic per seed.
inline Tensor random_tensor(DType dtype, ConcreteShape shape, uint32_t seed, double lo = -1.0,
                            double hi = 1.0) {
  Tensor t(dtype, std::move(shape));
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.set(i, dist(gen));
  return t;
}

// A bool tensor whose elements are true with probability `p_true`; deterministic per seed.
inline Tensor random_bool_tensor(ConcreteShape shape, uint32_t seed, double p_true) {
  Tensor t(DType::kBool, std::move(shape));
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> dist(0.0, 1.0);
  for (int64_t i = 0; i < t.numel(); ++i) t.set(i, dist(gen) < p_true ? 1.0 : 0.0);
  return t;
}

inline Tensor tensor_of(DType dtype, ConcreteShape shape, const std::vector<double>& values) {
  Tensor t(dtype, std::move(shape));
  EXPECT_EQ(static_cast<int64_t>(values.size()), t.numel());
  for (int64_t i = 0; i < t.numel() && i < static_cast<int64_t>(values.size()); ++i) {
    t.set(i, values[static_cast<size_t>(i)]);
  }
  return t;
}

// The same elements moved between the [N, C, *spatial] and [N, *spatial, C] layouts (values are
// copied exactly): to_channels_last(t) of an NC* tensor, to_channels_first(t) of an N*C tensor.
inline Tensor permute_channels(const Tensor& t, bool to_last) {
  const int64_t n = t.shape[0];
  const int64_t c = to_last ? t.shape[1] : t.shape.back();
  const int64_t plane = n == 0 || c == 0 ? 0 : t.numel() / (n * c);
  ConcreteShape s = {n};
  if (to_last) {
    s.insert(s.end(), t.shape.begin() + 2, t.shape.end());
    s.push_back(c);
  } else {
    s.push_back(c);
    s.insert(s.end(), t.shape.begin() + 1, t.shape.end() - 1);
  }
  Tensor out(t.dtype, s);
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t ch = 0; ch < c; ++ch) {
      for (int64_t p = 0; p < plane; ++p) {
        const int64_t nc = (b * c + ch) * plane + p, nl = (b * plane + p) * c + ch;
        if (to_last) {
          out.set(nl, t.get(nc));
        } else {
          out.set(nc, t.get(nl));
        }
      }
    }
  }
  return out;
}
inline Tensor to_channels_last(const Tensor& t) { return permute_channels(t, true); }
inline Tensor to_channels_first(const Tensor& t) { return permute_channels(t, false); }

// A node of `op` with these attributes and no graph context (kernels read only op and attrs).
inline Node make_node(OpKind op, Attrs attrs) {
  Node n;
  n.op = op;
  n.attrs = std::move(attrs);
  return n;
}

// Runs `kernel` on `node`; an absent optional input is a default Tensor with no bytes.
inline Status run_kernel(Status (*kernel)(const KernelArgs&), const Node& node,
                         const std::vector<const Tensor*>& inputs, std::vector<Tensor*> outputs) {
  std::vector<TensorView> in, out;
  for (const Tensor* t : inputs) in.push_back(t ? t->view() : TensorView{});
  for (Tensor* t : outputs) out.push_back(t->view());
  return kernel(KernelArgs{node, {}, in, out});
}

// Relative rounding step of one final rounding to `dtype` (one ulp at 1.0), plus a floor for
// fp32 accumulation error.
inline double rounding_rtol(DType dtype) {
  switch (dtype) {
    case DType::kF16:
      return std::ldexp(1.0, -10);
    case DType::kBF16:
      return std::ldexp(1.0, -7);
    default:
      return 1e-5;
  }
}

// Checks |actual - expected| <= atol + rtol * |expected| element-wise; NaN only matches NaN and
// an infinity only itself.
inline void expect_close(const std::vector<double>& actual, const std::vector<double>& expected,
                         double atol, double rtol, const std::string& what = "") {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  int failures = 0;
  for (size_t i = 0; i < actual.size(); ++i) {
    const double a = actual[i], e = expected[i];
    const bool ok = std::isnan(e)   ? std::isnan(a)
                    : std::isinf(e) ? a == e
                                    : std::fabs(a - e) <= atol + rtol * std::fabs(e);
    if (!ok && ++failures <= 5) {
      ADD_FAILURE() << what << " element " << i << ": got " << a << ", expected " << e;
    }
  }
  EXPECT_EQ(failures, 0) << what << ": " << failures << " of " << actual.size() << " differ";
}

}  // namespace kiln::nn_test
