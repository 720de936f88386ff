// Reference kernels of the elementwise unary ops: float math and activations, the ops that also
// take signed integers (neg, abs, sign, relu, clamp), isnan, logical_not and cast.
//
// Numerics (as PyTorch eager on CPU): f32, f16 and bf16 are computed in f32 and rounded once to
// the output dtype; integers are computed in int64 and wrap to the output type. Each op is one
// generic lambda run by a tight loop over blocks staged to the compute type.
//
// Deliberately not here: binary ops and where (elementwise_binary.cc), integer inputs for the
// float-only ops (shape inference rejects them; the kernels return an error), and any fusion.
#include <algorithm>
#include <cmath>

#include "activation.h"
#include "common.h"
#include "kiln/support/parallel.h"

namespace kiln {
namespace {

using ref::load_strided;
using ref::store_contiguous;

constexpr int64_t kGrain = 16384;  // elements per parallel chunk, at least
constexpr int64_t kBlock = 256;    // elements staged at once

// One input, one output of the same element count (and dtype, when `same_dtype`).
Status check_unary(const KernelArgs& args, std::string_view op, bool same_dtype) {
  if (args.inputs.size() != 1 || args.outputs.size() != 1) {
    return invalid_argument(op, ": expected 1 input and 1 output, got ", args.inputs.size(),
                            " and ", args.outputs.size());
  }
  const TensorView& in = args.inputs[0];
  const TensorView& out = args.outputs[0];
  if (in.numel() != out.numel()) {
    return invalid_argument(op, ": the input ", dtype_name(in.dtype), ref::shape_text(in.shape),
                            " and the output ", dtype_name(out.dtype), ref::shape_text(out.shape),
                            " have different element counts");
  }
  if (same_dtype && in.dtype != out.dtype) {
    return invalid_argument(op, ": the output must have the input's dtype ", dtype_name(in.dtype),
                            ", got ", dtype_name(out.dtype));
  }
  if (out.numel() > 0 && (in.data == nullptr || out.data == nullptr)) {
    return invalid_argument(op, ": null input or output buffer");
  }
  return ok_status();
}

// out[i] = f(in[i]), with `in` staged as T and the result rounded once to out's dtype. f32 to f32
// skips the staging.
template <typename T, typename F>
void map_unary(const TensorView& in, const TensorView& out, F f) {
  if constexpr (std::is_same_v<T, float>) {
    if (in.dtype == DType::kF32 && out.dtype == DType::kF32) {
      const float* src = static_cast<const float*>(in.data);
      float* dst = static_cast<float*>(out.data);
      parallel_for(out.numel(), kGrain, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) dst[i] = static_cast<float>(f(src[i]));
      });
      return;
    }
  }
  parallel_for(out.numel(), kGrain, [&](int64_t begin, int64_t end) {
    T buf[kBlock];
    for (int64_t b = begin; b < end; b += kBlock) {
      const int64_t n = std::min(kBlock, end - b);
      load_strided<T>(in, b, 1, n, buf);
      for (int64_t i = 0; i < n; ++i) buf[i] = static_cast<T>(f(buf[i]));
      store_contiguous<T>(out, b, n, buf);
    }
  });
}

// A float-only op: `f` is called with float (f32/f16/bf16) or double (f64).
template <typename F>
Status unary_float(const KernelArgs& args, std::string_view op, F f) {
  KILN_RETURN_IF_ERROR(check_unary(args, op, true));
  const TensorView& in = args.inputs[0];
  if (in.dtype == DType::kF64) {
    map_unary<double>(in, args.outputs[0], f);
  } else if (dtype_is_float(in.dtype)) {
    map_unary<float>(in, args.outputs[0], f);
  } else {
    return invalid_argument(op, ": expected a float input (f32, f16 or bf16), got ",
                            dtype_name(in.dtype), ref::shape_text(in.shape));
  }
  return ok_status();
}

// An op on floats (`float_fn`) and integers (`int_fn` on int64, wrapping to the output type).
template <typename F, typename G>
Status unary_numeric(const KernelArgs& args, std::string_view op, F float_fn, G int_fn) {
  KILN_RETURN_IF_ERROR(check_unary(args, op, true));
  const TensorView& in = args.inputs[0];
  if (dtype_is_int(in.dtype)) {
    map_unary<int64_t>(in, args.outputs[0], int_fn);
    return ok_status();
  }
  if (in.dtype == DType::kBool) {
    return invalid_argument(op, ": expected a float or integer input, got bool",
                            ref::shape_text(in.shape));
  }
  return unary_float(args, op, float_fn);
}

// Two's-complement negation without signed-overflow UB (-INT64_MIN is INT64_MIN).
int64_t wrap_neg(int64_t x) { return static_cast<int64_t>(0 - static_cast<uint64_t>(x)); }

// The float-op lambdas below are generic: T is float or double. relu, silu and gelu come from
// activation.h, shared with the fused epilogues of conv and linear.
template <typename T>
T relu6_plus3(T x) {  // min(max(x + 3, 0), 6), NaN propagating
  return std::min(std::max(x + T(3), T(0)), T(6));
}

}  // namespace

Status ref_kernel_Neg(const KernelArgs& args) {
  return unary_numeric(args, "neg", [](auto x) { return -x; }, wrap_neg);
}

Status ref_kernel_Abs(const KernelArgs& args) {
  return unary_numeric(args, "abs", [](auto x) { return std::fabs(x); },
                       [](int64_t x) { return x < 0 ? wrap_neg(x) : x; });
}

// As torch: (0 < x) - (x < 0), so sign(NaN) is 0 and sign(-0.0) is 0.
Status ref_kernel_Sign(const KernelArgs& args) {
  return unary_numeric(
      args, "sign",
      [](auto x) {
        using T = decltype(x);
        return T((T(0) < x) - (x < T(0)));
      },
      [](int64_t x) { return int64_t((0 < x) - (x < 0)); });
}

Status ref_kernel_Exp(const KernelArgs& args) {
  return unary_float(args, "exp", [](auto x) { return std::exp(x); });
}
Status ref_kernel_Log(const KernelArgs& args) {
  return unary_float(args, "log", [](auto x) { return std::log(x); });
}
Status ref_kernel_Sqrt(const KernelArgs& args) {
  return unary_float(args, "sqrt", [](auto x) { return std::sqrt(x); });
}
Status ref_kernel_Rsqrt(const KernelArgs& args) {
  return unary_float(args, "rsqrt", [](auto x) { return decltype(x)(1) / std::sqrt(x); });
}
Status ref_kernel_Reciprocal(const KernelArgs& args) {
  return unary_float(args, "reciprocal", [](auto x) { return decltype(x)(1) / x; });
}
Status ref_kernel_Sin(const KernelArgs& args) {
  return unary_float(args, "sin", [](auto x) { return std::sin(x); });
}
Status ref_kernel_Cos(const KernelArgs& args) {
  return unary_float(args, "cos", [](auto x) { return std::cos(x); });
}
Status ref_kernel_Tanh(const KernelArgs& args) {
  return unary_float(args, "tanh", [](auto x) { return std::tanh(x); });
}
Status ref_kernel_Erf(const KernelArgs& args) {
  return unary_float(args, "erf", [](auto x) { return std::erf(x); });
}
Status ref_kernel_Floor(const KernelArgs& args) {
  return unary_float(args, "floor", [](auto x) { return std::floor(x); });
}
Status ref_kernel_Ceil(const KernelArgs& args) {
  return unary_float(args, "ceil", [](auto x) { return std::ceil(x); });
}
// Half to even: nearbyint in the default rounding mode.
Status ref_kernel_Round(const KernelArgs& args) {
  return unary_float(args, "round", [](auto x) { return std::nearbyint(x); });
}
Status ref_kernel_Sigmoid(const KernelArgs& args) {
  return unary_float(args, "sigmoid", [](auto x) {
    using T = decltype(x);
    return T(1) / (T(1) + std::exp(-x));
  });
}

// max(x, 0), NaN propagating (torch's clamp_min).
Status ref_kernel_Relu(const KernelArgs& args) {
  return unary_numeric(
      args, "relu", [](auto x) { return ref::relu(x); },
      [](int64_t x) { return std::max<int64_t>(x, 0); });
}

Status ref_kernel_Gelu(const KernelArgs& args) {
  if (args.node.attrs_as<GeluAttrs>().approximate == GeluApprox::kTanh) {
    return unary_float(args, "gelu", [](auto x) { return ref::gelu_tanh(x); });
  }
  return unary_float(args, "gelu", [](auto x) { return ref::gelu_erf(x); });
}

Status ref_kernel_Silu(const KernelArgs& args) {
  return unary_float(args, "silu", [](auto x) { return ref::silu(x); });
}

// x * beta > threshold gives x, else log1p(exp(x * beta)) / beta.
Status ref_kernel_Softplus(const KernelArgs& args) {
  const SoftplusAttrs& a = args.node.attrs_as<SoftplusAttrs>();
  return unary_float(args, "softplus", [beta = a.beta, threshold = a.threshold](auto x) {
    using T = decltype(x);
    const T b = T(beta);
    return x * b > T(threshold) ? x : std::log1p(std::exp(x * b)) / b;
  });
}

Status ref_kernel_Mish(const KernelArgs& args) {
  return unary_float(args, "mish", [](auto x) { return x * std::tanh(std::log1p(std::exp(x))); });
}

// x * relu6(x + 3) / 6, in that order (as torch).
Status ref_kernel_Hardswish(const KernelArgs& args) {
  return unary_float(args, "hardswish", [](auto x) {
    using T = decltype(x);
    return x * relu6_plus3(x) / T(6);
  });
}

Status ref_kernel_Hardsigmoid(const KernelArgs& args) {
  return unary_float(args, "hardsigmoid",
                     [](auto x) { return relu6_plus3(x) / decltype(x)(6); });
}

Status ref_kernel_LeakyRelu(const KernelArgs& args) {
  const double slope = args.node.attrs_as<LeakyReluAttrs>().negative_slope;
  return unary_float(args, "leaky_relu", [slope](auto x) {
    using T = decltype(x);
    return x > T(0) ? x : x * T(slope);
  });
}

Status ref_kernel_Elu(const KernelArgs& args) {
  const double alpha = args.node.attrs_as<EluAttrs>().alpha;
  return unary_float(args, "elu", [alpha](auto x) {
    using T = decltype(x);
    return x > T(0) ? x : T(alpha) * std::expm1(x);
  });
}

// NaN inputs stay NaN (both comparisons are false). Integer inputs clamp to [ceil(min),
// floor(max)] (the integers inside the bounds); as in torch, max wins when min > max.
Status ref_kernel_Clamp(const KernelArgs& args) {
  const ClampAttrs& a = args.node.attrs_as<ClampAttrs>();
  const bool has_lo = a.min.has_value(), has_hi = a.max.has_value();
  const double lo = a.min.value_or(0), hi = a.max.value_or(0);
  const int64_t ilo = ref::float_to_int64(std::ceil(lo)), ihi = ref::float_to_int64(std::floor(hi));
  return unary_numeric(
      args, "clamp",
      [=](auto x) {
        using T = decltype(x);
        if (has_lo && x < T(lo)) x = T(lo);
        if (has_hi && x > T(hi)) x = T(hi);
        return x;
      },
      [=](int64_t x) {
        if (has_lo && x < ilo) x = ilo;
        if (has_hi && x > ihi) x = ihi;
        return x;
      });
}

// -> bool. Integers are never NaN.
Status ref_kernel_IsNan(const KernelArgs& args) {
  KILN_RETURN_IF_ERROR(check_unary(args, "isnan", false));
  const TensorView& in = args.inputs[0];
  const TensorView& out = args.outputs[0];
  if (dtype_is_float(in.dtype)) {
    map_unary<double>(in, out, [](double x) { return x != x ? 1.0 : 0.0; });
  } else {
    map_unary<int64_t>(in, out, [](int64_t) { return int64_t{0}; });
  }
  return ok_status();
}

// -> bool: x == 0 (NaN is true, so its negation is false).
Status ref_kernel_LogicalNot(const KernelArgs& args) {
  KILN_RETURN_IF_ERROR(check_unary(args, "logical_not", false));
  const TensorView& in = args.inputs[0];
  if (dtype_is_float(in.dtype)) {
    map_unary<double>(in, args.outputs[0], [](double x) { return x == 0 ? 1.0 : 0.0; });
  } else {
    map_unary<int64_t>(in, args.outputs[0], [](int64_t x) { return int64_t{x == 0}; });
  }
  return ok_status();
}

// Any dtype to any dtype, as torch's .to(): floats round to nearest even, float -> int truncates
// toward zero then wraps (NaN gives 0, never UB), anything -> bool is x != 0 (NaN is true).
Status ref_kernel_Cast(const KernelArgs& args) {
  KILN_RETURN_IF_ERROR(check_unary(args, "cast", false));
  const TensorView& in = args.inputs[0];
  const TensorView& out = args.outputs[0];
  const DType to = args.node.attrs_as<CastAttrs>().to;
  if (out.dtype != to) {
    return invalid_argument("cast: the output buffer is ", dtype_name(out.dtype),
                            " but the cast is to ", dtype_name(to));
  }
  auto identity = [](auto x) { return x; };
  if (dtype_is_float(in.dtype)) {
    map_unary<double>(in, out, identity);  // exact for every float source but f64
  } else {
    map_unary<int64_t>(in, out, identity);
  }
  return ok_status();
}

}  // namespace kiln
