// Reference kernels of the reductions: reduce_sum / mean / max / min / prod, var, argmax, argmin,
// cumsum and topk.
//
// Numerics (as PyTorch eager on CPU, or more accurate): float inputs accumulate in double and the
// result is rounded once to the output dtype; integer inputs accumulate in int64 and wrap to the
// output type. max / min propagate NaN; argmax / argmin return the first index on ties and treat
// NaN as the extreme (like torch); var divides by max(N - correction, 0); cumsum keeps a running
// double (f32 in torch also accumulates in double); topk sorts values best first with ties in index
// order, NaN counting as the largest value.
//
// Deliberately not here: Welford or pairwise summation (double accumulation is exact enough for a
// reference), and any reduction whose output dtype differs from what shape inference gave.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <numeric>
#include <vector>

#include "common.h"
#include "kiln/support/parallel.h"

namespace kiln {
namespace {

using ref::load_strided;
using ref::store_contiguous;

constexpr int64_t kGrain = 16384;  // input elements per parallel chunk, at least
constexpr int64_t kBlock = 256;

// The input split into kept dims (one output element per index) and reduced dims, each list
// coalesced where dims are contiguous in memory. Strides are the input's.
struct ReducePlan {
  std::vector<int64_t> kept_shape, kept_strides;
  std::vector<int64_t> red_shape, red_strides;  // never empty: [1] when nothing is reduced
  int64_t outputs = 1;
  int64_t count = 1;  // elements reduced into each output
};

Status check_io(const KernelArgs& args, std::string_view op, size_t num_outputs) {
  if (args.inputs.size() != 1 || args.outputs.size() != num_outputs) {
    return invalid_argument(op, ": expected 1 input and ", num_outputs, " outputs, got ",
                            args.inputs.size(), " and ", args.outputs.size());
  }
  const TensorView& in = args.inputs[0];
  if (in.data == nullptr && in.numel() > 0) return invalid_argument(op, ": null input buffer");
  for (const TensorView& out : args.outputs) {
    if (out.data == nullptr && out.numel() > 0) {
      return invalid_argument(op, ": null output buffer");
    }
  }
  return ok_status();
}

Expected<int64_t> normalize_axis(std::string_view op, int64_t axis, int64_t rank) {
  const int64_t r = std::max<int64_t>(rank, 1);  // a scalar accepts axis 0 and -1, like torch
  if (axis < -r || axis >= r) {
    return invalid_argument(op, ": axis ", axis, " is out of range for rank ", rank,
                            " (expected [", -r, ", ", r, "))");
  }
  return axis < 0 ? axis + r : axis;
}

void push_dim(std::vector<int64_t>& shape, std::vector<int64_t>& strides, int64_t size,
              int64_t stride) {
  if (size == 1) return;
  if (!shape.empty() && strides.back() == stride * size) {
    shape.back() *= size;
    strides.back() = stride;
  } else {
    shape.push_back(size);
    strides.push_back(stride);
  }
}

// `axes` empty: every axis. The output must have one element per kept index.
Expected<ReducePlan> plan_reduce(std::string_view op, const TensorView& in,
                                 std::span<const int64_t> axes, const TensorView& out) {
  const int64_t rank = static_cast<int64_t>(in.shape.size());
  std::vector<bool> reduced(static_cast<size_t>(rank), axes.empty());
  for (int64_t a : axes) {
    KILN_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(op, a, rank));
    if (rank == 0) continue;
    if (reduced[static_cast<size_t>(axis)]) {
      return invalid_argument(op, ": axis ", a, " appears more than once");
    }
    reduced[static_cast<size_t>(axis)] = true;
  }
  ReducePlan p;
  const std::vector<int64_t> strides = ref::contiguous_strides(in.shape);
  for (int64_t d = 0; d < rank; ++d) {
    const int64_t size = in.shape[static_cast<size_t>(d)];
    const int64_t stride = strides[static_cast<size_t>(d)];
    if (reduced[static_cast<size_t>(d)]) {
      p.count *= size;
      push_dim(p.red_shape, p.red_strides, size, stride);
    } else {
      p.outputs *= size;
      push_dim(p.kept_shape, p.kept_strides, size, stride);
    }
  }
  if (p.red_shape.empty()) {
    p.red_shape.push_back(p.count);  // 1, or 0 for a reduced empty dim
    p.red_strides.push_back(1);
  }
  if (out.numel() != p.outputs) {
    return invalid_argument(op, ": the output ", ref::shape_text(out.shape), " should have ",
                            p.outputs, " elements for input ", ref::shape_text(in.shape));
  }
  return p;
}

// Offset in the input of the first element reduced into output `o`.
int64_t kept_offset(const ReducePlan& p, int64_t o) {
  int64_t off = 0;
  for (size_t d = p.kept_shape.size(); d-- > 0;) {
    off += (o % p.kept_shape[d]) * p.kept_strides[d];
    o /= p.kept_shape[d];
  }
  return off;
}

// buf[0 .. p.count) = the elements reduced into output `o`, in row-major order of the reduced dims.
template <typename T>
void gather_reduced(const TensorView& in, const ReducePlan& p, int64_t o, T* buf) {
  const int64_t base = kept_offset(p, o);
  const size_t inner_dim = p.red_shape.size() - 1;
  const int64_t inner = p.red_shape[inner_dim], inner_stride = p.red_strides[inner_dim];
  if (inner == 0) return;
  for (int64_t r = 0, rows = p.count / inner; r < rows; ++r) {
    int64_t off = base, rest = r;
    for (size_t d = inner_dim; d-- > 0;) {
      off += (rest % p.red_shape[d]) * p.red_strides[d];
      rest /= p.red_shape[d];
    }
    load_strided<T>(in, off, inner_stride, inner, buf + r * inner);
  }
}

// For every output o: out[o] = reduce(values of o), staged as T. `reduce(const T*, n)` -> T.
template <typename T, typename R>
void run_reduce(const TensorView& in, const ReducePlan& p, const TensorView& out, R reduce) {
  const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(1, p.count));
  parallel_for(p.outputs, grain, [&](int64_t begin, int64_t end) {
    std::vector<T> buf(static_cast<size_t>(p.count));
    for (int64_t o = begin; o < end; ++o) {
      gather_reduced<T>(in, p, o, buf.data());
      const T r = reduce(static_cast<const T*>(buf.data()), p.count);
      store_contiguous<T>(out, o, 1, &r);
    }
  });
}

enum class Accepts { kNumeric, kFloat };

// Shared driver of the reduce_* ops and var: `fn` is called with double (floats) or int64_t.
template <typename Fn>
Status reduce_op(const KernelArgs& args, std::string_view op, std::span<const int64_t> axes,
                 Accepts accepts, bool empty_ok, Fn fn) {
  KILN_RETURN_IF_ERROR(check_io(args, op, 1));
  const TensorView& in = args.inputs[0];
  const TensorView& out = args.outputs[0];
  const bool is_float = dtype_is_float(in.dtype);
  if (accepts == Accepts::kFloat && !is_float) {
    return invalid_argument(op, ": expected a float input, got ", dtype_name(in.dtype));
  }
  KILN_ASSIGN_OR_RETURN(ReducePlan p, plan_reduce(op, in, axes, out));
  if (!empty_ok && p.count == 0 && p.outputs > 0) {
    return invalid_argument(op, ": cannot reduce an empty dimension (input ",
                            ref::shape_text(in.shape), ") without an identity");
  }
  if (is_float) {
    run_reduce<double>(in, p, out, [&](const double* v, int64_t n) { return fn(v, n); });
  } else {
    run_reduce<int64_t>(in, p, out, [&](const int64_t* v, int64_t n) { return fn(v, n); });
  }
  return ok_status();
}

int64_t wrap_add(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
int64_t wrap_mul(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
}

template <typename T>
T sum_of(const T* v, int64_t n) {
  T s = 0;
  for (int64_t i = 0; i < n; ++i) {
    if constexpr (std::is_integral_v<T>) {
      s = wrap_add(s, v[i]);
    } else {
      s += v[i];
    }
  }
  return s;
}

// `better(a, b)`: a replaces b as the running extreme. NaN wins and then stays.
template <typename T, typename Better>
T extreme_of(const T* v, int64_t n, Better better) {
  T m = v[0];
  for (int64_t i = 1; i < n; ++i) {
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(m)) break;
      if (std::isnan(v[i])) {
        m = v[i];
        break;
      }
    }
    if (better(v[i], m)) m = v[i];
  }
  return m;
}

// Index of the first extreme element, NaN counting as more extreme than any number.
template <typename T, typename Better>
int64_t arg_extreme(const T* v, int64_t n, Better better) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i) {
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(v[best])) break;
      if (std::isnan(v[i])) {
        best = i;
        break;
      }
    }
    if (better(v[i], v[best])) best = i;
  }
  return best;
}

Status arg_reduce(const KernelArgs& args, std::string_view op, bool is_max) {
  KILN_RETURN_IF_ERROR(check_io(args, op, 1));
  const TensorView& in = args.inputs[0];
  const TensorView& out = args.outputs[0];
  if (in.dtype == DType::kBool || out.dtype != DType::kI64) {
    return invalid_argument(op, ": expected a float or integer input and an i64 output, got ",
                            dtype_name(in.dtype), " and ", dtype_name(out.dtype));
  }
  const int64_t axis = args.node.attrs_as<ArgReduceAttrs>().axis;
  KILN_ASSIGN_OR_RETURN(ReducePlan p, plan_reduce(op, in, std::span<const int64_t>(&axis, 1), out));
  if (p.count == 0 && p.outputs > 0) {
    return invalid_argument(op, ": the reduced axis of input ", ref::shape_text(in.shape),
                            " is empty");
  }
  auto run = [&](auto zero) {
    using T = decltype(zero);
    const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(1, p.count));
    parallel_for(p.outputs, grain, [&](int64_t begin, int64_t end) {
      std::vector<T> buf(static_cast<size_t>(p.count));
      for (int64_t o = begin; o < end; ++o) {
        gather_reduced<T>(in, p, o, buf.data());
        const int64_t idx = is_max ? arg_extreme(buf.data(), p.count, std::greater<T>())
                                   : arg_extreme(buf.data(), p.count, std::less<T>());
        store_contiguous<int64_t>(out, o, 1, &idx);
      }
    });
  };
  if (dtype_is_float(in.dtype)) {
    run(0.0);
  } else {
    run(int64_t{0});
  }
  return ok_status();
}

// outer x len x inner view of a tensor around `axis`.
struct AxisSplit {
  int64_t outer = 1, len = 1, inner = 1;
};
AxisSplit split_at(const std::vector<int64_t>& shape, int64_t axis) {
  AxisSplit s;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
    const int64_t n = shape[static_cast<size_t>(d)];
    if (d < axis) s.outer *= n;
    if (d == axis) s.len = n;
    if (d > axis) s.inner *= n;
  }
  return s;
}

template <typename T>
void cumsum_lines(const TensorView& in, const TensorView& out, AxisSplit s) {
  const int64_t blocks = (s.inner + kBlock - 1) / kBlock;
  const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(1, s.len * kBlock));
  parallel_for(s.outer * blocks, grain, [&](int64_t begin, int64_t end) {
    T acc[kBlock], buf[kBlock];
    for (int64_t task = begin; task < end; ++task) {
      const int64_t o = task / blocks, i0 = (task % blocks) * kBlock;
      const int64_t n = std::min(kBlock, s.inner - i0);
      std::fill(acc, acc + n, T(0));
      for (int64_t k = 0; k < s.len; ++k) {
        const int64_t off = (o * s.len + k) * s.inner + i0;
        load_strided<T>(in, off, 1, n, buf);
        for (int64_t i = 0; i < n; ++i) {
          if constexpr (std::is_integral_v<T>) {
            acc[i] = wrap_add(acc[i], buf[i]);
          } else {
            acc[i] += buf[i];
          }
        }
        store_contiguous<T>(out, off, n, acc);
      }
    }
  });
}

// True if `a` comes before `b` in topk order (NaN largest). Not a tie-break: equal keys are false.
template <typename T>
bool key_greater(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a)) return !std::isnan(b);
    if (std::isnan(b)) return false;
  }
  return a > b;
}

template <typename T>
void topk_lines(const TensorView& in, const TensorView& values, const TensorView& indices,
                AxisSplit s, int64_t k, bool largest) {
  const int64_t esize = dtype_size(in.dtype);
  const uint8_t* src = static_cast<const uint8_t*>(in.data);
  uint8_t* dst = static_cast<uint8_t*>(values.data);
  const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(1, s.len));
  parallel_for(s.outer * s.inner, grain, [&](int64_t begin, int64_t end) {
    std::vector<T> v(static_cast<size_t>(s.len));
    std::vector<int64_t> order(static_cast<size_t>(s.len));
    for (int64_t line = begin; line < end; ++line) {
      const int64_t o = line / s.inner, i = line % s.inner;
      const int64_t in_base = o * s.len * s.inner + i;
      load_strided<T>(in, in_base, s.inner, s.len, v.data());
      std::iota(order.begin(), order.end(), int64_t{0});
      auto before = [&](int64_t x, int64_t y) {
        const T a = v[static_cast<size_t>(x)], b = v[static_cast<size_t>(y)];
        const bool first = largest ? key_greater(a, b) : key_greater(b, a);
        const bool second = largest ? key_greater(b, a) : key_greater(a, b);
        return first || (!second && x < y);
      };
      std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
      const int64_t out_base = o * k * s.inner + i;
      for (int64_t j = 0; j < k; ++j) {
        const int64_t from = in_base + order[static_cast<size_t>(j)] * s.inner;
        const int64_t to = out_base + j * s.inner;
        std::memcpy(dst + to * esize, src + from * esize, static_cast<size_t>(esize));
        store_contiguous<int64_t>(indices, to, 1, &order[static_cast<size_t>(j)]);
      }
    }
  });
}

}  // namespace

Status ref_kernel_ReduceSum(const KernelArgs& args) {
  const ReduceAttrs& a = args.node.attrs_as<ReduceAttrs>();
  return reduce_op(args, "reduce_sum", a.axes, Accepts::kNumeric, true,
                   [](const auto* v, int64_t n) { return sum_of(v, n); });
}

// The mean of nothing is NaN (0 / 0), as in torch.
Status ref_kernel_ReduceMean(const KernelArgs& args) {
  const ReduceAttrs& a = args.node.attrs_as<ReduceAttrs>();
  return reduce_op(args, "reduce_mean", a.axes, Accepts::kFloat, true,
                   [](const auto* v, int64_t n) {
                     using T = std::remove_cvref_t<decltype(*v)>;
                     return T(sum_of(v, n) / static_cast<double>(n));
                   });
}

Status ref_kernel_ReduceMax(const KernelArgs& args) {
  const ReduceAttrs& a = args.node.attrs_as<ReduceAttrs>();
  return reduce_op(args, "reduce_max", a.axes, Accepts::kNumeric, false,
                   [](const auto* v, int64_t n) {
                     return extreme_of(v, n, [](auto x, auto y) { return x > y; });
                   });
}

Status ref_kernel_ReduceMin(const KernelArgs& args) {
  const ReduceAttrs& a = args.node.attrs_as<ReduceAttrs>();
  return reduce_op(args, "reduce_min", a.axes, Accepts::kNumeric, false,
                   [](const auto* v, int64_t n) {
                     return extreme_of(v, n, [](auto x, auto y) { return x < y; });
                   });
}

Status ref_kernel_ReduceProd(const KernelArgs& args) {
  const ReduceAttrs& a = args.node.attrs_as<ReduceAttrs>();
  return reduce_op(args, "reduce_prod", a.axes, Accepts::kNumeric, true,
                   [](const auto* v, int64_t n) {
                     using T = std::remove_cvref_t<decltype(*v)>;
                     T p = 1;
                     for (int64_t i = 0; i < n; ++i) {
                       if constexpr (std::is_integral_v<T>) {
                         p = wrap_mul(p, v[i]);
                       } else {
                         p *= v[i];
                       }
                     }
                     return p;
                   });
}

// Two passes in double: the mean, then the sum of squared deviations / max(N - correction, 0).
Status ref_kernel_Var(const KernelArgs& args) {
  const VarAttrs& a = args.node.attrs_as<VarAttrs>();
  const double correction = a.correction;
  return reduce_op(args, "var", a.axes, Accepts::kFloat, true,
                   [correction](const auto* v, int64_t n) {
                     using T = std::remove_cvref_t<decltype(*v)>;
                     const double mean = static_cast<double>(sum_of(v, n)) / static_cast<double>(n);
                     double m2 = 0;
                     for (int64_t i = 0; i < n; ++i) {
                       const double d = static_cast<double>(v[i]) - mean;
                       m2 += d * d;
                     }
                     return T(m2 / std::max(static_cast<double>(n) - correction, 0.0));
                   });
}

Status ref_kernel_ArgMax(const KernelArgs& args) { return arg_reduce(args, "argmax", true); }
Status ref_kernel_ArgMin(const KernelArgs& args) { return arg_reduce(args, "argmin", false); }

// Integer inputs accumulate in int64 (the output is usually i64, as in torch).
Status ref_kernel_Cumsum(const KernelArgs& args) {
  KILN_RETURN_IF_ERROR(check_io(args, "cumsum", 1));
  const TensorView& in = args.inputs[0];
  const TensorView& out = args.outputs[0];
  if (in.numel() != out.numel()) {
    return invalid_argument("cumsum: the output ", ref::shape_text(out.shape),
                            " must have the input's shape ", ref::shape_text(in.shape));
  }
  if (in.dtype == DType::kBool || dtype_is_float(in.dtype) != dtype_is_float(out.dtype)) {
    return invalid_argument("cumsum: cannot sum ", dtype_name(in.dtype), " into ",
                            dtype_name(out.dtype));
  }
  const int64_t rank = static_cast<int64_t>(in.shape.size());
  KILN_ASSIGN_OR_RETURN(int64_t axis,
                        normalize_axis("cumsum", args.node.attrs_as<AxisAttrs>().axis, rank));
  const AxisSplit s = split_at(in.shape, axis);
  if (dtype_is_float(in.dtype)) {
    cumsum_lines<double>(in, out, s);
  } else {
    cumsum_lines<int64_t>(in, out, s);
  }
  return ok_status();
}

// outputs: (values with the input's dtype, i64 indices), both with axis size k.
Status ref_kernel_TopK(const KernelArgs& args) {
  KILN_RETURN_IF_ERROR(check_io(args, "topk", 2));
  const TopKAttrs& a = args.node.attrs_as<TopKAttrs>();
  const TensorView& in = args.inputs[0];
  const TensorView& values = args.outputs[0];
  const TensorView& indices = args.outputs[1];
  const int64_t rank = static_cast<int64_t>(in.shape.size());
  KILN_ASSIGN_OR_RETURN(int64_t axis, normalize_axis("topk", a.axis, rank));
  const AxisSplit s = split_at(in.shape, axis);
  if (a.k < 0 || a.k > s.len) {
    return invalid_argument("topk: k = ", a.k, " is out of range for an axis of size ", s.len,
                            " (input ", ref::shape_text(in.shape), ")");
  }
  if (values.dtype != in.dtype || indices.dtype != DType::kI64) {
    return invalid_argument("topk: the outputs must be ", dtype_name(in.dtype), " and i64, got ",
                            dtype_name(values.dtype), " and ", dtype_name(indices.dtype));
  }
  const int64_t want = s.outer * a.k * s.inner;
  if (values.numel() != want || indices.numel() != want) {
    return invalid_argument("topk: the outputs ", ref::shape_text(values.shape), " and ",
                            ref::shape_text(indices.shape), " should have ", want, " elements");
  }
  if (in.dtype == DType::kBool) {
    return invalid_argument("topk: expected a float or integer input, got bool");
  }
  if (dtype_is_float(in.dtype)) {
    topk_lines<double>(in, values, indices, s, a.k, a.largest);
  } else {
    topk_lines<int64_t>(in, values, indices, s, a.k, a.largest);
  }
  return ok_status();
}

}  // namespace kiln
