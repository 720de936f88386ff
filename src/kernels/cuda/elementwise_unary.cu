// CUDA kernels of the elementwise unary ops: float math and activations (f32, f16, bf16), the ops
// that also take integers (neg, abs, sign, relu, clamp), isnan, logical_not and cast (any dtype to
// any dtype but f64).
//
// Numerics are the reference's (src/kernels/reference/elementwise.cc): f16/bf16 are computed in
// f32 and rounded once, integers in int64 wrapping to the output type; each functor below is that
// file's lambda written for the device (the CUDA math library's expf, erff, ... are within a few
// ulp of glibc's; the harness's tolerances cover that). Multiply-adds that the reference rounds
// twice are written with __fmul_rn/__fadd_rn so that nvcc does not contract them into FMAs.
//
// Deliberately not here: binary ops and where (elementwise_binary.cu), f64, fusion.
#include <cmath>
#include <numbers>

#include "elementwise.cuh"

namespace kiln::cuda {
namespace {

__device__ inline int64_t wrap_neg(int64_t x) {
  return static_cast<int64_t>(0 - static_cast<uint64_t>(x));
}
// std::max / std::min with their exact semantics (the first operand wins ties and NaN).
__device__ inline float std_max(float a, float b) { return (a < b) ? b : a; }
__device__ inline float std_min(float a, float b) { return (b < a) ? b : a; }
__device__ inline float relu6_plus3(float x) {
  return std_min(std_max(__fadd_rn(x, 3.0f), 0.0f), 6.0f);
}

// ---- functors: float-only ops take and return float ---------------------------------------------
struct Exp { __device__ float operator()(float x) const { return expf(x); } };
struct Log { __device__ float operator()(float x) const { return logf(x); } };
struct Sqrt { __device__ float operator()(float x) const { return sqrtf(x); } };
struct Rsqrt { __device__ float operator()(float x) const { return 1.0f / sqrtf(x); } };
struct Reciprocal { __device__ float operator()(float x) const { return 1.0f / x; } };
struct Sin { __device__ float operator()(float x) const { return sinf(x); } };
struct Cos { __device__ float operator()(float x) const { return cosf(x); } };
struct Tanh { __device__ float operator()(float x) const { return tanhf(x); } };
struct Erf { __device__ float operator()(float x) const { return erff(x); } };
struct Floor { __device__ float operator()(float x) const { return floorf(x); } };
struct Ceil { __device__ float operator()(float x) const { return ceilf(x); } };
struct Round { __device__ float operator()(float x) const { return rintf(x); } };  // half to even
struct Sigmoid {
  __device__ float operator()(float x) const { return 1.0f / (1.0f + expf(-x)); }
};
struct Silu { __device__ float operator()(float x) const { return x / (1.0f + expf(-x)); } };
struct Mish {
  __device__ float operator()(float x) const { return x * tanhf(log1pf(expf(x))); }
};
struct Hardswish {
  __device__ float operator()(float x) const { return x * relu6_plus3(x) / 6.0f; }
};
struct Hardsigmoid {
  __device__ float operator()(float x) const { return relu6_plus3(x) / 6.0f; }
};
struct GeluErf {
  float half_sqrt2;  // float(sqrt(2) / 2), computed on the host as the reference does
  __device__ float operator()(float x) const {
    return x * 0.5f * (1.0f + erff(__fmul_rn(x, half_sqrt2)));
  }
};
struct GeluTanh {
  float beta;   // float(sqrt(2 / pi))
  float kappa;  // 0.044715f
  __device__ float operator()(float x) const {
    const float cube = __fmul_rn(__fmul_rn(__fmul_rn(kappa, x), x), x);
    const float inner = __fmul_rn(beta, __fadd_rn(x, cube));
    return 0.5f * x * (1.0f + tanhf(inner));
  }
};
struct Softplus {
  float beta, threshold;
  __device__ float operator()(float x) const {
    const float xb = __fmul_rn(x, beta);
    return xb > threshold ? x : log1pf(expf(xb)) / beta;
  }
};
struct LeakyRelu {
  float slope;
  __device__ float operator()(float x) const { return x > 0.0f ? x : x * slope; }
};
struct Elu {
  float alpha;
  __device__ float operator()(float x) const { return x > 0.0f ? x : alpha * expm1f(x); }
};

// ---- functors on float and int64 ----------------------------------------------------------------
struct Neg {
  __device__ float operator()(float x) const { return -x; }
  __device__ int64_t operator()(int64_t x) const { return wrap_neg(x); }
};
struct Abs {
  __device__ float operator()(float x) const { return fabsf(x); }
  __device__ int64_t operator()(int64_t x) const { return x < 0 ? wrap_neg(x) : x; }
};
struct Sign {  // (0 < x) - (x < 0): sign(NaN) = 0
  __device__ float operator()(float x) const { return float((0.0f < x) - (x < 0.0f)); }
  __device__ int64_t operator()(int64_t x) const { return int64_t((0 < x) - (x < 0)); }
};
struct Relu {  // NaN propagates
  __device__ float operator()(float x) const { return x != x ? x : std_max(x, 0.0f); }
  __device__ int64_t operator()(int64_t x) const { return x < 0 ? 0 : x; }
};
struct Clamp {
  bool has_lo, has_hi;
  float lo, hi;        // float(min), float(max)
  int64_t ilo, ihi;    // ceil(min), floor(max) for integers
  __device__ float operator()(float x) const {
    if (has_lo && x < lo) x = lo;
    if (has_hi && x > hi) x = hi;
    return x;
  }
  __device__ int64_t operator()(int64_t x) const {
    if (has_lo && x < ilo) x = ilo;
    if (has_hi && x > ihi) x = ihi;
    return x;
  }
};
struct IsNan {
  __device__ float operator()(float x) const { return x != x ? 1.0f : 0.0f; }
  __device__ int64_t operator()(int64_t) const { return 0; }
};
struct LogicalNot {
  __device__ float operator()(float x) const { return x == 0.0f ? 1.0f : 0.0f; }
  __device__ int64_t operator()(int64_t x) const { return x == 0 ? 1 : 0; }
};
struct Identity {
  template <typename T>
  __device__ T operator()(T x) const { return x; }
};

// ---- entries ------------------------------------------------------------------------------------

// A float-only op: input and output of one float dtype.
template <typename Op>
Status run_float(const KernelArgs& args, std::string_view op, Op f) {
  KILN_RETURN_IF_ERROR(check_io(args, op, 1));
  KILN_ASSIGN_OR_RETURN(cudaStream_t stream, stream_of(args, op));
  const TensorView& in = args.inputs[0];
  const TensorView& out = args.outputs[0];
  if (in.dtype != out.dtype || in.shape != out.shape) {
    return invalid_argument(op, ": the output must have the input's type");
  }
  return visit_float_dtype(in.dtype, op, [&](auto tag) {
    using S = typename decltype(tag)::type;
    return launch_elementwise<S, S>(op, stream, out, args.inputs, mapped<float, S>(f));
  });
}

// An op on floats and integers (not bool): input and output of one dtype.
template <typename Op>
Status run_numeric(const KernelArgs& args, std::string_view op, Op f) {
  KILN_RETURN_IF_ERROR(check_io(args, op, 1));
  KILN_ASSIGN_OR_RETURN(cudaStream_t stream, stream_of(args, op));
  const TensorView& in = args.inputs[0];
  const TensorView& out = args.outputs[0];
  if (in.dtype != out.dtype || in.shape != out.shape) {
    return invalid_argument(op, ": the output must have the input's type");
  }
  if (in.dtype == DType::kBool) return invalid_argument(op, ": expected a float or integer input");
  return visit_dtype(in.dtype, op, [&](auto tag) {
    using S = typename decltype(tag)::type;
    return launch_elementwise<S, S>(op, stream, out, args.inputs, mapped<ComputeOf<S>, S>(f));
  });
}

// Any input dtype to `out_dtype` (isnan and logical_not: bool; cast: its target).
template <typename Op>
Status run_to(const KernelArgs& args, std::string_view op, DType out_dtype, Op f) {
  KILN_RETURN_IF_ERROR(check_io(args, op, 1));
  KILN_ASSIGN_OR_RETURN(cudaStream_t stream, stream_of(args, op));
  const TensorView& in = args.inputs[0];
  const TensorView& out = args.outputs[0];
  if (out.dtype != out_dtype || in.shape != out.shape) {
    return invalid_argument(op, ": the output must be ", dtype_name(out_dtype), " of the input's ",
                            "shape, got ", dtype_name(out.dtype));
  }
  return visit_dtype(in.dtype, op, [&](auto in_tag) {
    using I = typename decltype(in_tag)::type;
    return visit_dtype(out.dtype, op, [&](auto out_tag) {
      using O = typename decltype(out_tag)::type;
      return launch_elementwise<O, I>(op, stream, out, args.inputs, mapped<ComputeOf<I>, O>(f));
    });
  });
}

#define KILN_FLOAT_UNARY(E, functor) \
  Status run_##E(const KernelArgs& args) { return run_float(args, op_name(OpKind::k##E), functor); }
KILN_FLOAT_UNARY(Exp, Exp{})
KILN_FLOAT_UNARY(Log, Log{})
KILN_FLOAT_UNARY(Sqrt, Sqrt{})
KILN_FLOAT_UNARY(Rsqrt, Rsqrt{})
KILN_FLOAT_UNARY(Reciprocal, Reciprocal{})
KILN_FLOAT_UNARY(Sin, Sin{})
KILN_FLOAT_UNARY(Cos, Cos{})
KILN_FLOAT_UNARY(Tanh, Tanh{})
KILN_FLOAT_UNARY(Erf, Erf{})
KILN_FLOAT_UNARY(Floor, Floor{})
KILN_FLOAT_UNARY(Ceil, Ceil{})
KILN_FLOAT_UNARY(Round, Round{})
KILN_FLOAT_UNARY(Sigmoid, Sigmoid{})
KILN_FLOAT_UNARY(Silu, Silu{})
KILN_FLOAT_UNARY(Mish, Mish{})
KILN_FLOAT_UNARY(Hardswish, Hardswish{})
KILN_FLOAT_UNARY(Hardsigmoid, Hardsigmoid{})
#undef KILN_FLOAT_UNARY

#define KILN_NUMERIC_UNARY(E, functor)                                 \
  Status run_##E(const KernelArgs& args) {                             \
    return run_numeric(args, op_name(OpKind::k##E), functor);          \
  }
KILN_NUMERIC_UNARY(Neg, Neg{})
KILN_NUMERIC_UNARY(Abs, Abs{})
KILN_NUMERIC_UNARY(Sign, Sign{})
KILN_NUMERIC_UNARY(Relu, Relu{})
#undef KILN_NUMERIC_UNARY

Status run_Gelu(const KernelArgs& args) {
  if (args.node.attrs_as<GeluAttrs>().approximate == GeluApprox::kTanh) {
    const GeluTanh f{static_cast<float>(std::numbers::sqrt2 * std::numbers::inv_sqrtpi),
                     static_cast<float>(0.044715)};
    return run_float(args, "gelu", f);
  }
  return run_float(args, "gelu", GeluErf{static_cast<float>(std::numbers::sqrt2 / 2)});
}

Status run_Softplus(const KernelArgs& args) {
  const SoftplusAttrs& a = args.node.attrs_as<SoftplusAttrs>();
  return run_float(args, "softplus",
                   Softplus{static_cast<float>(a.beta), static_cast<float>(a.threshold)});
}

Status run_LeakyRelu(const KernelArgs& args) {
  const double slope = args.node.attrs_as<LeakyReluAttrs>().negative_slope;
  return run_float(args, "leaky_relu", LeakyRelu{static_cast<float>(slope)});
}

Status run_Elu(const KernelArgs& args) {
  return run_float(args, "elu", Elu{static_cast<float>(args.node.attrs_as<EluAttrs>().alpha)});
}

// As the reference: integer inputs clamp to [ceil(min), floor(max)]; max wins when min > max.
Status run_Clamp(const KernelArgs& args) {
  const ClampAttrs& a = args.node.attrs_as<ClampAttrs>();
  const double lo = a.min.value_or(0), hi = a.max.value_or(0);
  const Clamp f{a.min.has_value(), a.max.has_value(), static_cast<float>(lo),
                static_cast<float>(hi), double_to_int64(std::ceil(lo)),
                double_to_int64(std::floor(hi))};
  return run_numeric(args, "clamp", f);
}

Status run_IsNan(const KernelArgs& args) {
  return run_to(args, "isnan", DType::kBool, IsNan{});
}
Status run_LogicalNot(const KernelArgs& args) {
  return run_to(args, "logical_not", DType::kBool, LogicalNot{});
}
// Float sources convert through float (the reference's double holds the same value), integer and
// bool sources through int64.
Status run_Cast(const KernelArgs& args) {
  return run_to(args, "cast", args.node.attrs_as<CastAttrs>().to, Identity{});
}

}  // namespace

std::span<const Kernel> elementwise_unary_kernels() {
  static const Kernel kKernels[] = {
      {"cuda.neg", OpKind::kNeg, DeviceKind::kCuda, 1, &elementwise_accepts, &run_Neg},
      {"cuda.abs", OpKind::kAbs, DeviceKind::kCuda, 1, &elementwise_accepts, &run_Abs},
      {"cuda.sign", OpKind::kSign, DeviceKind::kCuda, 1, &elementwise_accepts, &run_Sign},
      {"cuda.exp", OpKind::kExp, DeviceKind::kCuda, 1, &elementwise_accepts, &run_Exp},
      {"cuda.log", OpKind::kLog, DeviceKind::kCuda, 1, &elementwise_accepts, &run_Log},
      {"cuda.sqrt", OpKind::kSqrt, DeviceKind::kCuda, 1, &elementwise_accepts, &run_Sqrt},
      {"cuda.rsqrt", OpKind::kRsqrt, DeviceKind::kCuda, 1, &elementwise_accepts, &run_Rsqrt},
      {"cuda.reciprocal", OpKind::kReciprocal, DeviceKind::kCuda, 1, &elementwise_accepts,
       &run_Reciprocal},
      {"cuda.sin", OpKind::kSin, DeviceKind::kCuda, 1, &elementwise_accepts, &run_Sin},
      {"cuda.cos", OpKind::kCos, DeviceKind::kCuda, 1, &elementwise_accepts, &run_Cos},
      {"cuda.tanh", OpKind::kTanh, DeviceKind::kCuda, 1, &elementwise_accepts, &run_Tanh},
      {"cuda.erf", OpKind::kErf, DeviceKind::kCuda, 1, &elementwise_accepts, &run_Erf},
      {"cuda.floor", OpKind::kFloor, DeviceKind::kCuda, 1, &elementwise_accepts, &run_Floor},
      {"cuda.ceil", OpKind::kCeil, DeviceKind::kCuda, 1, &elementwise_accepts, &run_Ceil},
      {"cuda.round", OpKind::kRound, DeviceKind::kCuda, 1, &elementwise_accepts, &run_Round},
      {"cuda.sigmoid", OpKind::kSigmoid, DeviceKind::kCuda, 1, &elementwise_accepts,
       &run_Sigmoid},
      {"cuda.relu", OpKind::kRelu, DeviceKind::kCuda, 1, &elementwise_accepts, &run_Relu},
      {"cuda.gelu", OpKind::kGelu, DeviceKind::kCuda, 1, &elementwise_accepts, &run_Gelu},
      {"cuda.silu", OpKind::kSilu, DeviceKind::kCuda, 1, &elementwise_accepts, &run_Silu},
      {"cuda.softplus", OpKind::kSoftplus, DeviceKind::kCuda, 1, &elementwise_accepts,
       &run_Softplus},
      {"cuda.mish", OpKind::kMish, DeviceKind::kCuda, 1, &elementwise_accepts, &run_Mish},
      {"cuda.hardswish", OpKind::kHardswish, DeviceKind::kCuda, 1, &elementwise_accepts,
       &run_Hardswish},
      {"cuda.hardsigmoid", OpKind::kHardsigmoid, DeviceKind::kCuda, 1, &elementwise_accepts,
       &run_Hardsigmoid},
      {"cuda.leaky_relu", OpKind::kLeakyRelu, DeviceKind::kCuda, 1, &elementwise_accepts,
       &run_LeakyRelu},
      {"cuda.elu", OpKind::kElu, DeviceKind::kCuda, 1, &elementwise_accepts, &run_Elu},
      {"cuda.clamp", OpKind::kClamp, DeviceKind::kCuda, 1, &elementwise_accepts, &run_Clamp},
      {"cuda.isnan", OpKind::kIsNan, DeviceKind::kCuda, 1, &elementwise_accepts, &run_IsNan},
      {"cuda.logical_not", OpKind::kLogicalNot, DeviceKind::kCuda, 1, &elementwise_accepts,
       &run_LogicalNot},
      {"cuda.cast", OpKind::kCast, DeviceKind::kCuda, 1, &elementwise_accepts, &run_Cast},
  };
  return kKernels;
}

}  // namespace kiln::cuda
