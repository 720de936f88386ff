// Reference kernels of the elementwise binary ops (arithmetic, maximum/minimum, comparisons,
// logical and/or) and where, all with numpy broadcasting.
//
// Numerics (as PyTorch eager on CPU): f32, f16 and bf16 are computed in f32 and rounded once;
// integers in int64, wrapping to the output type. div rounds as torch (none / trunc / floor, floor
// with torch's float correction); remainder takes the sign of the divisor; maximum and minimum
// propagate NaN; comparisons give bool. Integer division or remainder by zero is an error Status,
// found by scanning the divisor before computing.
//
// Deliberately not here: type promotion (both operands have one dtype; the importer casts),
// integer pow, and in-place or strided operands.
#include <algorithm>
#include <array>
#include <cmath>

#include "common.h"
#include "kiln/support/parallel.h"

namespace kiln {
namespace {

using ref::load_strided;
using ref::store_contiguous;

constexpr int64_t kGrain = 16384;  // output elements per parallel chunk, at least
constexpr int64_t kBlock = 256;    // elements staged at once
constexpr size_t kMaxOperands = 3;

// How each input maps onto the output: dims of size 1 dropped and mergeable dims merged, so that
// the innermost dim is as long as possible. strides[k][d] is input k's stride (0 on broadcast
// dims) along output dim d.
struct BroadcastPlan {
  std::vector<int64_t> shape;
  std::array<std::vector<int64_t>, kMaxOperands> strides;
  size_t operands = 0;
  int64_t inner_stride(size_t k) const { return strides[k].back(); }
};

Status check_io(const KernelArgs& args, std::string_view op, size_t num_inputs) {
  if (args.inputs.size() != num_inputs || args.outputs.size() != 1) {
    return invalid_argument(op, ": expected ", num_inputs, " inputs and 1 output, got ",
                            args.inputs.size(), " and ", args.outputs.size());
  }
  const TensorView& out = args.outputs[0];
  if (out.numel() == 0) return ok_status();
  for (size_t k = 0; k < num_inputs; ++k) {
    if (args.inputs[k].data == nullptr) return invalid_argument(op, ": input ", k, " is null");
  }
  if (out.data == nullptr) return invalid_argument(op, ": the output buffer is null");
  return ok_status();
}

Expected<BroadcastPlan> plan_broadcast(std::string_view op, std::span<const TensorView> inputs,
                                       const TensorView& out) {
  const std::vector<int64_t>& shape = out.shape;
  const size_t rank = shape.size();
  BroadcastPlan p;
  p.operands = inputs.size();
  std::array<std::vector<int64_t>, kMaxOperands> full;
  for (size_t k = 0; k < inputs.size(); ++k) {
    const std::vector<int64_t>& in = inputs[k].shape;
    bool ok = in.size() <= rank;
    for (size_t i = 0; ok && i < in.size(); ++i) {
      const int64_t o = shape[rank - in.size() + i];
      ok = in[i] == o || in[i] == 1;
    }
    if (!ok) {
      return invalid_argument(op, ": input ", k, " of shape ", ref::shape_text(in),
                              " does not broadcast to the output shape ", ref::shape_text(shape));
    }
    full[k] = ref::broadcast_strides(in, shape);
  }
  for (size_t d = 0; d < rank; ++d) {
    if (shape[d] == 1) continue;
    bool merge = !p.shape.empty();
    for (size_t k = 0; merge && k < p.operands; ++k) {
      merge = p.strides[k].back() == full[k][d] * shape[d];
    }
    if (merge) {
      p.shape.back() *= shape[d];
      for (size_t k = 0; k < p.operands; ++k) p.strides[k].back() = full[k][d];
    } else {
      p.shape.push_back(shape[d]);
      for (size_t k = 0; k < p.operands; ++k) p.strides[k].push_back(full[k][d]);
    }
  }
  if (p.shape.empty()) {  // a scalar, or all dims 1
    p.shape.push_back(1);
    for (size_t k = 0; k < p.operands; ++k) p.strides[k].push_back(0);
  }
  return p;
}

// Calls fn(out_offset, count, in_offsets) for runs of consecutive output elements along the
// innermost planned dim, covering [0, numel) on the thread pool. Input k's element for output
// out_offset + i is in_offsets[k] + i * p.inner_stride(k).
template <typename Fn>
void for_each_run(const BroadcastPlan& p, int64_t numel, Fn fn) {
  const size_t rank = p.shape.size();
  const int64_t inner = p.shape.back();
  parallel_for(numel, kGrain, [&](int64_t begin, int64_t end) {
    std::vector<int64_t> idx(rank);
    int64_t rest = begin;
    for (size_t d = rank; d-- > 0;) {
      idx[d] = rest % p.shape[d];
      rest /= p.shape[d];
    }
    std::array<int64_t, kMaxOperands> off{};
    for (int64_t pos = begin; pos < end;) {
      const int64_t count = std::min(inner - idx[rank - 1], end - pos);
      for (size_t k = 0; k < p.operands; ++k) {
        off[k] = 0;
        for (size_t d = 0; d < rank; ++d) off[k] += idx[d] * p.strides[k][d];
      }
      fn(pos, count, off.data());
      pos += count;
      idx[rank - 1] += count;
      for (size_t d = rank - 1; d > 0 && idx[d] == p.shape[d]; --d) {
        idx[d] = 0;
        ++idx[d - 1];
      }
    }
  });
}

// out[i] = f(a[i * sa], b[i * sb]) for i < n, on f32 pointers (no staging).
template <typename F>
void binary_run_f32(const float* a, int64_t sa, const float* b, int64_t sb, float* out, int64_t n,
                    F f) {
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(f(a[i], b[i]));
  } else if (sa == 1 && sb == 0) {
    const float y = b[0];
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(f(a[i], y));
  } else if (sa == 0 && sb == 1) {
    const float x = a[0];
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(f(x, b[i]));
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(f(a[i * sa], b[i * sb]));
  }
}

// out = f(a, b) with both inputs staged as T; the result (T) is rounded once to out's dtype.
// All-f32 operands skip the staging.
template <typename T, typename F>
void map_binary(const BroadcastPlan& p, const TensorView& a, const TensorView& b,
                const TensorView& out, F f) {
  const int64_t sa = p.inner_stride(0), sb = p.inner_stride(1);
  if constexpr (std::is_same_v<T, float>) {
    if (a.dtype == DType::kF32 && b.dtype == DType::kF32 && out.dtype == DType::kF32) {
      const float* pa = static_cast<const float*>(a.data);
      const float* pb = static_cast<const float*>(b.data);
      float* po = static_cast<float*>(out.data);
      for_each_run(p, out.numel(), [&](int64_t o, int64_t count, const int64_t* off) {
        binary_run_f32(pa + off[0], sa, pb + off[1], sb, po + o, count, f);
      });
      return;
    }
  }
  for_each_run(p, out.numel(), [&](int64_t o, int64_t count, const int64_t* off) {
    T x[kBlock], y[kBlock];
    for (int64_t c = 0; c < count; c += kBlock) {
      const int64_t n = std::min(kBlock, count - c);
      load_strided<T>(a, off[0] + c * sa, sa, n, x);
      load_strided<T>(b, off[1] + c * sb, sb, n, y);
      for (int64_t i = 0; i < n; ++i) x[i] = static_cast<T>(f(x[i], y[i]));
      store_contiguous<T>(out, o + c, n, x);
    }
  });
}

enum class Operands {
  kNumeric,  // float or integer; output has the inputs' dtype
  kFloat,    // float only; output has the inputs' dtype
  kCompare,  // any dtype; output bool
};

// Validates a binary op and runs `float_fn` (on float, or double for f64) or `int_fn` (on int64).
template <typename F, typename G>
Status binary(const KernelArgs& args, std::string_view op, Operands kind, F float_fn, G int_fn) {
  KILN_RETURN_IF_ERROR(check_io(args, op, 2));
  const TensorView& a = args.inputs[0];
  const TensorView& b = args.inputs[1];
  const TensorView& out = args.outputs[0];
  if (a.dtype != b.dtype) {
    return invalid_argument(op, ": both operands must have one dtype, got ", dtype_name(a.dtype),
                            " and ", dtype_name(b.dtype));
  }
  const bool is_float = dtype_is_float(a.dtype);
  if ((kind == Operands::kFloat && !is_float) ||
      (kind == Operands::kNumeric && a.dtype == DType::kBool)) {
    return invalid_argument(op, ": expected ", kind == Operands::kFloat ? "float" : "numeric",
                            " operands, got ", dtype_name(a.dtype));
  }
  const DType want = kind == Operands::kCompare ? DType::kBool : a.dtype;
  if (out.dtype != want) {
    return invalid_argument(op, ": the output must be ", dtype_name(want), ", got ",
                            dtype_name(out.dtype));
  }
  const TensorView ins[] = {a, b};
  KILN_ASSIGN_OR_RETURN(BroadcastPlan p, plan_broadcast(op, ins, out));
  if (a.dtype == DType::kF64) {
    map_binary<double>(p, a, b, out, float_fn);
  } else if (is_float) {
    map_binary<float>(p, a, b, out, float_fn);
  } else {
    map_binary<int64_t>(p, a, b, out, int_fn);
  }
  return ok_status();
}

// Integer division and remainder need a divisor with no zero (checked before computing).
Status check_nonzero_divisor(std::string_view op, const TensorView& divisor) {
  const int64_t n = divisor.numel();
  int64_t buf[kBlock];
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t m = std::min(kBlock, n - b);
    load_strided<int64_t>(divisor, b, 1, m, buf);
    for (int64_t i = 0; i < m; ++i) {
      if (buf[i] == 0) {
        return invalid_argument(op, ": integer division by zero (element ", b + i,
                                " of the divisor ", dtype_name(divisor.dtype),
                                ref::shape_text(divisor.shape), " is 0)");
      }
    }
  }
  return ok_status();
}

// Wrapping int64 arithmetic, without signed-overflow UB.
int64_t wrap_add(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
int64_t wrap_sub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}
int64_t wrap_mul(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
}
// b != 0. INT64_MIN / -1 wraps to INT64_MIN instead of trapping.
int64_t trunc_div(int64_t a, int64_t b) { return b == -1 ? wrap_sub(0, a) : a / b; }
int64_t floor_div(int64_t a, int64_t b) {
  const int64_t q = trunc_div(a, b);
  const int64_t r = b == -1 ? 0 : a % b;
  return (r != 0 && ((r < 0) != (b < 0))) ? q - 1 : q;
}
int64_t python_mod(int64_t a, int64_t b) {
  const int64_t r = b == -1 ? 0 : a % b;
  return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}

// torch's div_floor_floating: fmod-based, with the quotient nudged to the nearest integer.
template <typename T>
T float_floor_div(T a, T b) {
  if (b == T(0)) return a / b;
  const T m = std::fmod(a, b);
  T div = (a - m) / b;
  if (m != T(0) && ((b < T(0)) != (m < T(0)))) div -= T(1);
  if (div == T(0)) return std::copysign(T(0), a / b);
  T floordiv = std::floor(div);
  if (div - floordiv > T(0.5)) floordiv += T(1);
  return floordiv;
}

template <typename T>
T float_mod(T a, T b) {
  T m = std::fmod(a, b);
  if (m != T(0) && ((b < T(0)) != (m < T(0)))) m += b;
  return m;
}

template <typename T>
T nan_max(T a, T b) {
  if (std::isnan(a)) return a;
  if (std::isnan(b)) return b;
  return std::max(a, b);
}
template <typename T>
T nan_min(T a, T b) {
  if (std::isnan(a)) return a;
  if (std::isnan(b)) return b;
  return std::min(a, b);
}

// Comparisons return T(1) or T(0); the store writes bool.
template <typename Cmp>
Status compare(const KernelArgs& args, std::string_view op, Cmp cmp) {
  return binary(
      args, op, Operands::kCompare, [&](auto x, auto y) { return decltype(x)(cmp(x, y)); },
      [&](int64_t x, int64_t y) { return int64_t{cmp(x, y)}; });
}

// Logical and/or on bool (any dtype is read as x != 0), -> bool.
template <typename Fn>
Status logical(const KernelArgs& args, std::string_view op, Fn fn) {
  KILN_RETURN_IF_ERROR(check_io(args, op, 2));
  const TensorView& out = args.outputs[0];
  if (out.dtype != DType::kBool) {
    return invalid_argument(op, ": the output must be bool, got ", dtype_name(out.dtype));
  }
  KILN_ASSIGN_OR_RETURN(BroadcastPlan p, plan_broadcast(op, args.inputs, out));
  map_binary<double>(p, args.inputs[0], args.inputs[1], out,
                     [&](double x, double y) { return fn(x != 0, y != 0) ? 1.0 : 0.0; });
  return ok_status();
}

template <typename E>
void select(const BroadcastPlan& p, std::span<const TensorView> in, const TensorView& out) {
  const uint8_t* c = static_cast<const uint8_t*>(in[0].data);
  const E* a = static_cast<const E*>(in[1].data);
  const E* b = static_cast<const E*>(in[2].data);
  E* o = static_cast<E*>(out.data);
  const int64_t sc = p.inner_stride(0), sa = p.inner_stride(1), sb = p.inner_stride(2);
  for_each_run(p, out.numel(), [&](int64_t pos, int64_t count, const int64_t* off) {
    for (int64_t i = 0; i < count; ++i) {
      o[pos + i] = c[off[0] + i * sc] ? a[off[1] + i * sa] : b[off[2] + i * sb];
    }
  });
}

}  // namespace

Status ref_kernel_Add(const KernelArgs& args) {
  return binary(args, "add", Operands::kNumeric, [](auto x, auto y) { return x + y; }, wrap_add);
}

Status ref_kernel_Sub(const KernelArgs& args) {
  return binary(args, "sub", Operands::kNumeric, [](auto x, auto y) { return x - y; }, wrap_sub);
}

Status ref_kernel_Mul(const KernelArgs& args) {
  return binary(args, "mul", Operands::kNumeric, [](auto x, auto y) { return x * y; }, wrap_mul);
}

Status ref_kernel_Div(const KernelArgs& args) {
  const DivRounding rounding = args.node.attrs_as<DivAttrs>().rounding;
  KILN_RETURN_IF_ERROR(check_io(args, "div", 2));
  if (!dtype_is_float(args.inputs[0].dtype)) {
    if (rounding == DivRounding::kNone) {
      return invalid_argument("div: true division needs float operands, got ",
                              dtype_name(args.inputs[0].dtype), " (cast first, or round)");
    }
    if (args.outputs[0].numel() > 0) {
      KILN_RETURN_IF_ERROR(check_nonzero_divisor("div", args.inputs[1]));
    }
  }
  switch (rounding) {
    case DivRounding::kNone:
      return binary(args, "div", Operands::kNumeric, [](auto x, auto y) { return x / y; },
                    trunc_div);
    case DivRounding::kTrunc:
      return binary(args, "div", Operands::kNumeric,
                    [](auto x, auto y) { return std::trunc(x / y); }, trunc_div);
    case DivRounding::kFloor:
      return binary(args, "div", Operands::kNumeric,
                    [](auto x, auto y) { return float_floor_div(x, y); }, floor_div);
  }
  return invalid_argument("div: unknown rounding mode ", static_cast<int>(rounding));
}

Status ref_kernel_Remainder(const KernelArgs& args) {
  KILN_RETURN_IF_ERROR(check_io(args, "remainder", 2));
  if (dtype_is_int(args.inputs[0].dtype) && args.outputs[0].numel() > 0) {
    KILN_RETURN_IF_ERROR(check_nonzero_divisor("remainder", args.inputs[1]));
  }
  return binary(args, "remainder", Operands::kNumeric,
                [](auto x, auto y) { return float_mod(x, y); }, python_mod);
}

Status ref_kernel_Pow(const KernelArgs& args) {
  return binary(args, "pow", Operands::kFloat, [](auto x, auto y) { return std::pow(x, y); },
                [](int64_t, int64_t) { return int64_t{0}; });
}

Status ref_kernel_Maximum(const KernelArgs& args) {
  return binary(args, "maximum", Operands::kNumeric, [](auto x, auto y) { return nan_max(x, y); },
                [](int64_t x, int64_t y) { return std::max(x, y); });
}

Status ref_kernel_Minimum(const KernelArgs& args) {
  return binary(args, "minimum", Operands::kNumeric, [](auto x, auto y) { return nan_min(x, y); },
                [](int64_t x, int64_t y) { return std::min(x, y); });
}

Status ref_kernel_Equal(const KernelArgs& args) {
  return compare(args, "eq", [](auto x, auto y) { return x == y; });
}
Status ref_kernel_NotEqual(const KernelArgs& args) {
  return compare(args, "ne", [](auto x, auto y) { return x != y; });
}
Status ref_kernel_Less(const KernelArgs& args) {
  return compare(args, "lt", [](auto x, auto y) { return x < y; });
}
Status ref_kernel_LessEqual(const KernelArgs& args) {
  return compare(args, "le", [](auto x, auto y) { return x <= y; });
}
Status ref_kernel_Greater(const KernelArgs& args) {
  return compare(args, "gt", [](auto x, auto y) { return x > y; });
}
Status ref_kernel_GreaterEqual(const KernelArgs& args) {
  return compare(args, "ge", [](auto x, auto y) { return x >= y; });
}

Status ref_kernel_LogicalAnd(const KernelArgs& args) {
  return logical(args, "logical_and", [](bool x, bool y) { return x && y; });
}
Status ref_kernel_LogicalOr(const KernelArgs& args) {
  return logical(args, "logical_or", [](bool x, bool y) { return x || y; });
}

// (bool cond, a, b) broadcast: a where cond else b, copying elements bit for bit.
Status ref_kernel_Where(const KernelArgs& args) {
  KILN_RETURN_IF_ERROR(check_io(args, "where", 3));
  const TensorView& c = args.inputs[0];
  const TensorView& out = args.outputs[0];
  if (c.dtype != DType::kBool) {
    return invalid_argument("where: the condition must be bool, got ", dtype_name(c.dtype));
  }
  if (args.inputs[1].dtype != out.dtype || args.inputs[2].dtype != out.dtype) {
    return invalid_argument("where: both branches must have the output's dtype ",
                            dtype_name(out.dtype), ", got ", dtype_name(args.inputs[1].dtype),
                            " and ", dtype_name(args.inputs[2].dtype));
  }
  KILN_ASSIGN_OR_RETURN(BroadcastPlan p, plan_broadcast("where", args.inputs, out));
  switch (dtype_size(out.dtype)) {
    case 1: select<uint8_t>(p, args.inputs, out); break;
    case 2: select<uint16_t>(p, args.inputs, out); break;
    case 4: select<uint32_t>(p, args.inputs, out); break;
    case 8: select<uint64_t>(p, args.inputs, out); break;
    default: return internal_error("where: unexpected element size ", dtype_size(out.dtype));
  }
  return ok_status();
}

}  // namespace kiln
