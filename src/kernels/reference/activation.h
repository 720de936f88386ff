// The one host-side definition of the pointwise activations that conv and linear fuse
// (Activation in include/kiln/ir/attrs.h) and that the elementwise reference ops relu, silu and
// gelu compute: the reference kernels of both call these, so a fused epilogue and the unfused op
// agree bit for bit. T is float (f32/f16/bf16 kernels, which round the result once afterwards) or
// double (f64 elementwise ops). The CUDA twin is src/kernels/cuda/activation.cuh.
//
// Deliberately not here: the other elementwise activations (no fused form exists for them).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <iterator>
#include <numbers>

#include "kiln/ir/attrs.h"

namespace kiln::ref {

// max(x, 0), NaN propagating (torch's clamp_min).
template <typename T>
T relu(T x) {
  return std::isnan(x) ? x : std::max(x, T(0));
}

template <typename T>
T silu(T x) {
  return x / (T(1) + std::exp(-x));
}

// The exact form: x * 0.5 * (1 + erf(x / sqrt(2))), as torch's gelu(approximate="none").
template <typename T>
T gelu_erf(T x) {
  return x * T(0.5) * (T(1) + std::erf(x * T(std::numbers::sqrt2 / 2)));
}

// torch's gelu(approximate="tanh"): 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3))).
template <typename T>
T gelu_tanh(T x) {
  const T beta = T(std::numbers::sqrt2 * std::numbers::inv_sqrtpi);  // sqrt(2 / pi)
  const T kappa = T(0.044715);
  const T inner = beta * (x + kappa * x * x * x);
  return T(0.5) * x * (T(1) + std::tanh(inner));
}

// `a` applied to x; kNone (and any value outside the enum) returns x unchanged. Callers validate
// the enum before running (see activation_is_valid).
template <typename T>
T apply_activation(Activation a, T x) {
  switch (a) {
    case Activation::kNone: return x;
    case Activation::kRelu: return relu(x);
    case Activation::kSilu: return silu(x);
    case Activation::kGelu: return gelu_erf(x);
    case Activation::kGeluTanh: return gelu_tanh(x);
  }
  return x;
}

inline bool activation_is_valid(Activation a) {
  return static_cast<size_t>(a) < std::size(EnumNames<Activation>::kNames);
}

}  // namespace kiln::ref
