// The fused activations (Activation in include/kiln/ir/attrs.h) on the device, for the epilogues of
// conv, linear and any other CUDA kernel that fuses one. Each formula is the host definition in
// src/kernels/reference/activation.h written for the device, operation for operation (and the same
// as the relu, silu and gelu functors of elementwise_unary.cu): the CUDA math library's expf, erff
// and tanhf are within a few ulp of glibc's; products the reference rounds separately are written
// with __fmul_rn / __fadd_rn so that nvcc does not contract them into FMAs.
//
// Use: `activate<A>(v)` in a kernel templated on the activation (cuda::visit_activation turns the
// runtime value into that template argument on the host), or `apply_activation(a, v)` with a
// runtime switch.
//
// Deliberately not here: activations with parameters (leaky_relu, clamp) and anything but float.
#pragma once

#include <numbers>
#include <type_traits>

#include "kiln/ir/attrs.h"

namespace kiln::cuda {

// float(sqrt(2) / 2), float(sqrt(2 / pi)) and float(0.044715), as the reference computes them.
constexpr float kGeluHalfSqrt2 = static_cast<float>(std::numbers::sqrt2 / 2);
constexpr float kGeluTanhBeta = static_cast<float>(std::numbers::sqrt2 * std::numbers::inv_sqrtpi);
constexpr float kGeluTanhKappa = static_cast<float>(0.044715);

// max(x, 0) with std::max's semantics; NaN propagates.
__device__ __forceinline__ float act_relu(float x) { return x != x ? x : ((x < 0.0f) ? 0.0f : x); }

__device__ __forceinline__ float act_silu(float x) { return x / (1.0f + expf(-x)); }

__device__ __forceinline__ float act_gelu_erf(float x) {
  return x * 0.5f * (1.0f + erff(__fmul_rn(x, kGeluHalfSqrt2)));
}

__device__ __forceinline__ float act_gelu_tanh(float x) {
  const float cube = __fmul_rn(__fmul_rn(__fmul_rn(kGeluTanhKappa, x), x), x);
  const float inner = __fmul_rn(kGeluTanhBeta, __fadd_rn(x, cube));
  return 0.5f * x * (1.0f + tanhf(inner));
}

template <Activation A>
__device__ __forceinline__ float activate(float x) {
  if constexpr (A == Activation::kRelu) {
    return act_relu(x);
  } else if constexpr (A == Activation::kSilu) {
    return act_silu(x);
  } else if constexpr (A == Activation::kGelu) {
    return act_gelu_erf(x);
  } else if constexpr (A == Activation::kGeluTanh) {
    return act_gelu_tanh(x);
  } else {
    return x;
  }
}

__device__ __forceinline__ float apply_activation(Activation a, float x) {
  switch (a) {
    case Activation::kRelu: return act_relu(x);
    case Activation::kSilu: return act_silu(x);
    case Activation::kGelu: return act_gelu_erf(x);
    case Activation::kGeluTanh: return act_gelu_tanh(x);
    default: return x;
  }
}

// Host: calls f(std::integral_constant<Activation, A>{}) for the runtime value `a`, so that a
// kernel can be instantiated per activation. Returns false (without calling f) for a value outside
// the enum.
template <typename F>
bool visit_activation(Activation a, F&& f) {
  switch (a) {
    case Activation::kNone: f(std::integral_constant<Activation, Activation::kNone>{}); return true;
    case Activation::kRelu: f(std::integral_constant<Activation, Activation::kRelu>{}); return true;
    case Activation::kSilu: f(std::integral_constant<Activation, Activation::kSilu>{}); return true;
    case Activation::kGelu: f(std::integral_constant<Activation, Activation::kGelu>{}); return true;
    case Activation::kGeluTanh:
      f(std::integral_constant<Activation, Activation::kGeluTanh>{});
      return true;
  }
  return false;
}

}  // namespace kiln::cuda
