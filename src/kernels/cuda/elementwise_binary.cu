// CUDA kernels of the elementwise binary ops (arithmetic, maximum/minimum, comparisons, logical
// and/or) and where, all with numpy broadcasting.
//
// Numerics are the reference's (src/kernels/reference/elementwise_binary.cc): f16/bf16 computed in
// f32 and rounded once, integers in int64 wrapping to the output type; div rounds as torch (none,
// trunc, floor with torch's float correction); remainder takes the divisor's sign; maximum and
// minimum propagate NaN; comparisons give bool; where copies bits. The float ops here are IEEE
// exact on both sides (nvcc's default -prec-div and no contraction of the written expressions), so
// they match the reference bit for bit except pow (powf is within a few ulp of glibc's).
//
// One deliberate difference: integer division or remainder by zero is an error Status in the
// reference, which scans the divisor first. A CUDA kernel cannot report it without synchronising,
// so here it gives 0 (torch on CUDA gives an unspecified value). Not here: type promotion, integer
// pow (shape inference refuses both), f64.
#include <cmath>

#include "elementwise.cuh"

namespace kiln::cuda {
namespace {

// Wrapping int64 arithmetic, without signed-overflow UB.
__device__ inline int64_t wrap_add(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
__device__ inline int64_t wrap_sub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}
__device__ inline int64_t wrap_mul(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
}
// b != 0 (callers map b == 0 to 0). INT64_MIN / -1 wraps to INT64_MIN.
__device__ inline int64_t trunc_div(int64_t a, int64_t b) {
  return b == -1 ? wrap_sub(0, a) : a / b;
}
__device__ inline int64_t floor_div(int64_t a, int64_t b) {
  const int64_t q = trunc_div(a, b);
  const int64_t r = b == -1 ? 0 : a % b;
  return (r != 0 && ((r < 0) != (b < 0))) ? q - 1 : q;
}
__device__ inline int64_t python_mod(int64_t a, int64_t b) {
  const int64_t r = b == -1 ? 0 : a % b;
  return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}

// torch's div_floor_floating, as the reference.
__device__ inline float float_floor_div(float a, float b) {
  if (b == 0.0f) return a / b;
  const float m = fmodf(a, b);
  float div = __fdiv_rn(__fsub_rn(a, m), b);
  if (m != 0.0f && ((b < 0.0f) != (m < 0.0f))) div = __fsub_rn(div, 1.0f);
  if (div == 0.0f) return copysignf(0.0f, a / b);
  float floordiv = floorf(div);
  if (__fsub_rn(div, floordiv) > 0.5f) floordiv = __fadd_rn(floordiv, 1.0f);
  return floordiv;
}
__device__ inline float float_mod(float a, float b) {
  float m = fmodf(a, b);
  if (m != 0.0f && ((b < 0.0f) != (m < 0.0f))) m = __fadd_rn(m, b);
  return m;
}

// ---- functors on (float, float) and (int64, int64) ----------------------------------------------
struct Add {
  __device__ float operator()(float a, float b) const { return __fadd_rn(a, b); }
  __device__ int64_t operator()(int64_t a, int64_t b) const { return wrap_add(a, b); }
};
struct Sub {
  __device__ float operator()(float a, float b) const { return __fsub_rn(a, b); }
  __device__ int64_t operator()(int64_t a, int64_t b) const { return wrap_sub(a, b); }
};
struct Mul {
  __device__ float operator()(float a, float b) const { return __fmul_rn(a, b); }
  __device__ int64_t operator()(int64_t a, int64_t b) const { return wrap_mul(a, b); }
};
struct Div {
  DivRounding rounding;
  __device__ float operator()(float a, float b) const {
    switch (rounding) {
      case DivRounding::kTrunc: return truncf(__fdiv_rn(a, b));
      case DivRounding::kFloor: return float_floor_div(a, b);
      default: return __fdiv_rn(a, b);
    }
  }
  __device__ int64_t operator()(int64_t a, int64_t b) const {  // trunc or floor (never none)
    if (b == 0) return 0;
    return rounding == DivRounding::kFloor ? floor_div(a, b) : trunc_div(a, b);
  }
};
struct Remainder {
  __device__ float operator()(float a, float b) const { return float_mod(a, b); }
  __device__ int64_t operator()(int64_t a, int64_t b) const {
    return b == 0 ? 0 : python_mod(a, b);
  }
};
struct Pow {
  __device__ float operator()(float a, float b) const { return powf(a, b); }
};
struct Maximum {
  __device__ float operator()(float a, float b) const {
    if (a != a) return a;
    if (b != b) return b;
    return (a < b) ? b : a;
  }
  __device__ int64_t operator()(int64_t a, int64_t b) const { return (a < b) ? b : a; }
};
struct Minimum {
  __device__ float operator()(float a, float b) const {
    if (a != a) return a;
    if (b != b) return b;
    return (b < a) ? b : a;
  }
  __device__ int64_t operator()(int64_t a, int64_t b) const { return (b < a) ? b : a; }
};

enum class Cmp : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe };
// One functor for the six comparisons (a uniform switch): 1 or 0 in the compute type.
struct Compare {
  Cmp cmp;
  template <typename T>
  __device__ T operator()(T a, T b) const {
    switch (cmp) {
      case Cmp::kEq: return T(a == b);
      case Cmp::kNe: return T(a != b);
      case Cmp::kLt: return T(a < b);
      case Cmp::kLe: return T(a <= b);
      case Cmp::kGt: return T(a > b);
      case Cmp::kGe: return T(a >= b);
    }
    return T(0);
  }
};
struct LogicalAnd {
  __device__ int64_t operator()(int64_t a, int64_t b) const { return (a != 0) && (b != 0); }
};
struct LogicalOr {
  __device__ int64_t operator()(int64_t a, int64_t b) const { return (a != 0) || (b != 0); }
};

// where: the condition's byte, then a copy of one branch's bits.
template <typename T>
struct Select {
  __device__ T operator()(Bool8 c, T a, T b) const { return c.bits != 0 ? a : b; }
};

// ---- entries ------------------------------------------------------------------------------------

enum class Operands : uint8_t {
  kNumeric,  // float or integer operands; the output has their dtype
  kFloat,    // float operands; the output has their dtype
  kCompare,  // any dtype; bool output
  kBool,     // bool operands; bool output
};

template <Operands kKind, typename Op>
Status run_binary(const KernelArgs& args, std::string_view op, Op f) {
  KILN_RETURN_IF_ERROR(check_io(args, op, 2));
  KILN_ASSIGN_OR_RETURN(cudaStream_t stream, stream_of(args, op));
  const TensorView& a = args.inputs[0];
  const TensorView& b = args.inputs[1];
  const TensorView& out = args.outputs[0];
  if (a.dtype != b.dtype) {
    return invalid_argument(op, ": both operands must have one dtype, got ", dtype_name(a.dtype),
                            " and ", dtype_name(b.dtype));
  }
  constexpr bool kToBool = kKind == Operands::kCompare || kKind == Operands::kBool;
  const DType want = kToBool ? DType::kBool : a.dtype;
  if (out.dtype != want) {
    return invalid_argument(op, ": the output must be ", dtype_name(want), ", got ",
                            dtype_name(out.dtype));
  }
  auto launch = [&](auto tag) -> Status {
    using S = typename decltype(tag)::type;
    using C = ComputeOf<S>;
    using O = std::conditional_t<kToBool, Bool8, S>;
    return launch_elementwise<O, S, S>(op, stream, out, args.inputs, mapped<C, O>(f));
  };
  if constexpr (kKind == Operands::kFloat) {
    return visit_float_dtype(a.dtype, op, launch);
  } else if constexpr (kKind == Operands::kBool) {
    if (a.dtype != DType::kBool) {
      return invalid_argument(op, ": expected bool operands, got ", dtype_name(a.dtype));
    }
    return launch(TypeTag<Bool8>{});
  } else if constexpr (kKind == Operands::kNumeric) {
    if (a.dtype == DType::kBool) {
      return invalid_argument(op, ": expected float or integer operands, got bool");
    }
    return visit_dtype(a.dtype, op, [&](auto tag) -> Status {
      if constexpr (std::is_same_v<typename decltype(tag)::type, Bool8>) {
        return internal_error(op, ": bool operands reached the numeric dispatch");
      } else {
        return launch(tag);
      }
    });
  } else {
    return visit_dtype(a.dtype, op, launch);
  }
}

Status run_Add(const KernelArgs& args) {
  return run_binary<Operands::kNumeric>(args, "add", Add{});
}
Status run_Sub(const KernelArgs& args) {
  return run_binary<Operands::kNumeric>(args, "sub", Sub{});
}
Status run_Mul(const KernelArgs& args) {
  return run_binary<Operands::kNumeric>(args, "mul", Mul{});
}
Status run_Div(const KernelArgs& args) {
  const DivRounding rounding = args.node.attrs_as<DivAttrs>().rounding;
  if (rounding == DivRounding::kNone && args.inputs.size() == 2 &&
      !dtype_is_float(args.inputs[0].dtype)) {
    return invalid_argument("div: true division needs float operands, got ",
                            dtype_name(args.inputs[0].dtype));
  }
  return run_binary<Operands::kNumeric>(args, "div", Div{rounding});
}
Status run_Remainder(const KernelArgs& args) {
  return run_binary<Operands::kNumeric>(args, "remainder", Remainder{});
}
Status run_Pow(const KernelArgs& args) {
  return run_binary<Operands::kFloat>(args, "pow", Pow{});
}
Status run_Maximum(const KernelArgs& args) {
  return run_binary<Operands::kNumeric>(args, "maximum", Maximum{});
}
Status run_Minimum(const KernelArgs& args) {
  return run_binary<Operands::kNumeric>(args, "minimum", Minimum{});
}
Status run_Equal(const KernelArgs& args) {
  return run_binary<Operands::kCompare>(args, "eq", Compare{Cmp::kEq});
}
Status run_NotEqual(const KernelArgs& args) {
  return run_binary<Operands::kCompare>(args, "ne", Compare{Cmp::kNe});
}
Status run_Less(const KernelArgs& args) {
  return run_binary<Operands::kCompare>(args, "lt", Compare{Cmp::kLt});
}
Status run_LessEqual(const KernelArgs& args) {
  return run_binary<Operands::kCompare>(args, "le", Compare{Cmp::kLe});
}
Status run_Greater(const KernelArgs& args) {
  return run_binary<Operands::kCompare>(args, "gt", Compare{Cmp::kGt});
}
Status run_GreaterEqual(const KernelArgs& args) {
  return run_binary<Operands::kCompare>(args, "ge", Compare{Cmp::kGe});
}
Status run_LogicalAnd(const KernelArgs& args) {
  return run_binary<Operands::kBool>(args, "logical_and", LogicalAnd{});
}
Status run_LogicalOr(const KernelArgs& args) {
  return run_binary<Operands::kBool>(args, "logical_or", LogicalOr{});
}

// (bool cond, a, b) broadcast: a where cond else b, bit for bit.
Status run_Where(const KernelArgs& args) {
  KILN_RETURN_IF_ERROR(check_io(args, "where", 3));
  KILN_ASSIGN_OR_RETURN(cudaStream_t stream, stream_of(args, "where"));
  const TensorView& out = args.outputs[0];
  if (args.inputs[0].dtype != DType::kBool) {
    return invalid_argument("where: the condition must be bool, got ",
                            dtype_name(args.inputs[0].dtype));
  }
  if (args.inputs[1].dtype != out.dtype || args.inputs[2].dtype != out.dtype) {
    return invalid_argument("where: both branches must have the output's dtype ",
                            dtype_name(out.dtype), ", got ", dtype_name(args.inputs[1].dtype),
                            " and ", dtype_name(args.inputs[2].dtype));
  }
  auto select = [&](auto tag) {
    using T = typename decltype(tag)::type;
    return launch_elementwise<T, Bool8, T, T>("where", stream, out, args.inputs, Select<T>{});
  };
  switch (dtype_size(out.dtype)) {
    case 1: return select(TypeTag<uint8_t>{});
    case 2: return select(TypeTag<uint16_t>{});
    case 4: return select(TypeTag<uint32_t>{});
    case 8: return select(TypeTag<uint64_t>{});
    default: break;
  }
  return unsupported("where: no CUDA kernel for ", dtype_name(out.dtype));
}

}  // namespace

std::span<const Kernel> elementwise_binary_kernels() {
  static const Kernel kKernels[] = {
      {"cuda.add", OpKind::kAdd, DeviceKind::kCuda, 1, &elementwise_accepts, &run_Add},
      {"cuda.sub", OpKind::kSub, DeviceKind::kCuda, 1, &elementwise_accepts, &run_Sub},
      {"cuda.mul", OpKind::kMul, DeviceKind::kCuda, 1, &elementwise_accepts, &run_Mul},
      {"cuda.div", OpKind::kDiv, DeviceKind::kCuda, 1, &elementwise_accepts, &run_Div},
      {"cuda.remainder", OpKind::kRemainder, DeviceKind::kCuda, 1, &elementwise_accepts,
       &run_Remainder},
      {"cuda.pow", OpKind::kPow, DeviceKind::kCuda, 1, &elementwise_accepts, &run_Pow},
      {"cuda.maximum", OpKind::kMaximum, DeviceKind::kCuda, 1, &elementwise_accepts,
       &run_Maximum},
      {"cuda.minimum", OpKind::kMinimum, DeviceKind::kCuda, 1, &elementwise_accepts,
       &run_Minimum},
      {"cuda.eq", OpKind::kEqual, DeviceKind::kCuda, 1, &elementwise_accepts, &run_Equal},
      {"cuda.ne", OpKind::kNotEqual, DeviceKind::kCuda, 1, &elementwise_accepts, &run_NotEqual},
      {"cuda.lt", OpKind::kLess, DeviceKind::kCuda, 1, &elementwise_accepts, &run_Less},
      {"cuda.le", OpKind::kLessEqual, DeviceKind::kCuda, 1, &elementwise_accepts,
       &run_LessEqual},
      {"cuda.gt", OpKind::kGreater, DeviceKind::kCuda, 1, &elementwise_accepts, &run_Greater},
      {"cuda.ge", OpKind::kGreaterEqual, DeviceKind::kCuda, 1, &elementwise_accepts,
       &run_GreaterEqual},
      {"cuda.logical_and", OpKind::kLogicalAnd, DeviceKind::kCuda, 1, &elementwise_accepts,
       &run_LogicalAnd},
      {"cuda.logical_or", OpKind::kLogicalOr, DeviceKind::kCuda, 1, &elementwise_accepts,
       &run_LogicalOr},
      {"cuda.where", OpKind::kWhere, DeviceKind::kCuda, 1, &elementwise_accepts, &run_Where},
  };
  return kKernels;
}

}  // namespace kiln::cuda
