// Reference kernels of the data-movement ops: reshape, permute, expand, slice, concat, split, take,
// gather, pad, tile, flip, roll and trilu. They move element bytes and never convert values.
//
// Most of them are one "table copy": for every output dim d a table maps the output index along d
// to an element offset in the input (or to "fill" for constant padding), and an output element is
// the input element at the sum of its dims' table entries. Concat, split, take and trilu copy
// contiguous runs with memcpy. Indices that depend on data (take, gather) are checked before any
// copy and give an OutOfRange Status naming the bad index.
//
// Deliberately not here: views or aliasing (every kernel writes its own output buffer), and shape
// inference (the output shapes are given; kernels only check that they are consistent).
#include <algorithm>
#include <cstring>
#include <vector>

#include "common.h"
#include "kiln/support/parallel.h"

namespace kiln {
namespace {

constexpr int64_t kGrain = 16384;  // elements per parallel chunk, at least
constexpr int64_t kFill = -1;      // table entry: this output index reads the fill value

using Tables = std::vector<std::vector<int64_t>>;

Status check_io(const KernelArgs& args, std::string_view op, size_t num_inputs) {
  if (args.inputs.size() != num_inputs || args.outputs.size() != 1) {
    return invalid_argument(op, ": expected ", num_inputs, " inputs and 1 output, got ",
                            args.inputs.size(), " and ", args.outputs.size());
  }
  const TensorView& out = args.outputs[0];
  for (size_t k = 0; k < num_inputs; ++k) {
    if (args.inputs[k].data == nullptr && args.inputs[k].numel() > 0) {
      return invalid_argument(op, ": input ", k, " is null");
    }
  }
  if (out.data == nullptr && out.numel() > 0) {
    return invalid_argument(op, ": the output buffer is null");
  }
  if (out.dtype != args.inputs[0].dtype) {
    return invalid_argument(op, ": the output must have the input's dtype ",
                            dtype_name(args.inputs[0].dtype), ", got ", dtype_name(out.dtype));
  }
  return ok_status();
}

Expected<int64_t> normalize_axis(std::string_view op, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank) {
    return invalid_argument(op, ": axis ", axis, " is out of range for rank ", rank,
                            " (expected [", -rank, ", ", rank, "))");
  }
  return axis < 0 ? axis + rank : axis;
}

Status shape_mismatch(std::string_view op, const TensorView& out, const ConcreteShape& want) {
  return invalid_argument(op, ": the output shape is ", ref::shape_text(out.shape),
                          " but should be ", ref::shape_text(want));
}

// The table of an untouched dim: index i reads offset i * stride.
std::vector<int64_t> identity_table(int64_t size, int64_t stride) {
  std::vector<int64_t> t(static_cast<size_t>(size));
  for (int64_t i = 0; i < size; ++i) t[static_cast<size_t>(i)] = i * stride;
  return t;
}

// Tables for out == in (same shape), to be edited along the dims an op changes.
Tables identity_tables(const ConcreteShape& shape) {
  const std::vector<int64_t> strides = ref::contiguous_strides(shape);
  Tables t;
  for (size_t d = 0; d < shape.size(); ++d) t.push_back(identity_table(shape[d], strides[d]));
  return t;
}

template <typename E>
void table_copy_typed(const TensorView& in, const TensorView& out, const Tables& t, E fill) {
  const E* src = static_cast<const E*>(in.data);
  E* dst = static_cast<E*>(out.data);
  const std::vector<int64_t>& shape = out.shape;
  const size_t rank = shape.size();
  if (rank == 0) {
    dst[0] = src[0];
    return;
  }
  const int64_t inner = shape.back();
  const int64_t rows = out.numel() / inner;
  const std::vector<int64_t>& it = t.back();
  bool contiguous = true;
  for (int64_t j = 0; j < inner && contiguous; ++j) {
    contiguous = it[static_cast<size_t>(j)] != kFill && it[static_cast<size_t>(j)] == it[0] + j;
  }
  parallel_for(rows, std::max<int64_t>(1, kGrain / inner), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      int64_t base = 0, rest = r;
      bool fill_row = false;
      for (size_t d = rank - 1; d-- > 0;) {
        const int64_t v = t[d][static_cast<size_t>(rest % shape[d])];
        rest /= shape[d];
        fill_row = fill_row || v == kFill;
        base += v;
      }
      E* row = dst + r * inner;
      if (fill_row) {
        std::fill(row, row + inner, fill);
      } else if (contiguous) {
        std::memcpy(row, src + base + it[0], static_cast<size_t>(inner) * sizeof(E));
      } else {
        for (int64_t j = 0; j < inner; ++j) {
          const int64_t v = it[static_cast<size_t>(j)];
          row[j] = v == kFill ? fill : src[base + v];
        }
      }
    }
  });
}

// out[i_0, ..., i_r-1] = in[sum_d t[d][i_d]], or the element at `fill` when an entry is kFill.
// Every table must hold exactly out.shape[d] entries of valid offsets (callers build them so).
Status table_copy(const TensorView& in, const TensorView& out, const Tables& t,
                  const void* fill = nullptr) {
  if (out.numel() == 0) return ok_status();
  uint64_t f = 0;
  const int64_t size = dtype_size(out.dtype);
  if (fill != nullptr) std::memcpy(&f, fill, static_cast<size_t>(size));
  switch (size) {
    case 1: table_copy_typed<uint8_t>(in, out, t, static_cast<uint8_t>(f)); break;
    case 2: table_copy_typed<uint16_t>(in, out, t, static_cast<uint16_t>(f)); break;
    case 4: table_copy_typed<uint32_t>(in, out, t, static_cast<uint32_t>(f)); break;
    case 8: table_copy_typed<uint64_t>(in, out, t, f); break;
    default: return internal_error("table copy: unexpected element size ", size);
  }
  return ok_status();
}

// Python slice bounds: negative counts from the end, then clamped to [0, dim].
int64_t clamp_bound(int64_t v, int64_t dim) {
  if (v < 0) v = std::max<int64_t>(v + dim, 0);
  return std::min(v, dim);
}

// Every index of `t` as int64, checked against [-n, n) (negatives allowed) or [0, n).
Expected<std::vector<int64_t>> load_indices(std::string_view op, const TensorView& t, int64_t n,
                                            bool allow_negative) {
  if (!dtype_is_int(t.dtype)) {
    return invalid_argument(op, ": indices must be an integer tensor, got ", dtype_name(t.dtype));
  }
  std::vector<int64_t> idx(static_cast<size_t>(t.numel()));
  ref::load_strided<int64_t>(t, 0, 1, t.numel(), idx.data());
  for (size_t i = 0; i < idx.size(); ++i) {
    const int64_t v = idx[i];
    const bool ok = allow_negative ? (v >= -n && v < n) : (v >= 0 && v < n);
    if (!ok) {
      return out_of_range(op, ": index ", v, " (element ", i, " of the indices) is out of range",
                          " for an axis of size ", n,
                          allow_negative ? "" : " (expected [0, size))");
    }
    if (v < 0) idx[i] = v + n;
  }
  return idx;
}

// Copies `count` runs: run k of `bytes` bytes from src + src_off(k) to dst + dst_off(k).
template <typename Src, typename Dst>
void copy_runs(int64_t count, int64_t bytes, Src src_off, Dst dst_off, const uint8_t* src,
               uint8_t* dst) {
  const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(1, bytes));
  parallel_for(count, grain, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      std::memcpy(dst + dst_off(k), src + src_off(k), static_cast<size_t>(bytes));
    }
  });
}

int64_t prod(const ConcreteShape& s, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t d = begin; d < end; ++d) p *= s[d];
  return p;
}

template <typename E>
void gather_typed(const TensorView& x, const TensorView& out, const std::vector<int64_t>& idx,
                  size_t axis) {
  const E* src = static_cast<const E*>(x.data);
  E* dst = static_cast<E*>(out.data);
  const std::vector<int64_t>& shape = out.shape;  // the index's shape
  const std::vector<int64_t> xs = ref::contiguous_strides(x.shape);
  parallel_for(out.numel(), kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      int64_t off = 0, rest = i;
      for (size_t d = shape.size(); d-- > 0;) {
        const int64_t c = rest % shape[d];
        rest /= shape[d];
        off += (d == axis ? idx[static_cast<size_t>(i)] : c) * xs[d];
      }
      dst[i] = src[off];
    }
  });
}

}  // namespace

// Same bytes, new shape.
Status ref_kernel_Reshape(const KernelArgs& args) {
  KILN_RETURN_IF_ERROR(check_io(args, "reshape", 1));
  const TensorView& in = args.inputs[0];
  const TensorView& out = args.outputs[0];
  if (in.numel() != out.numel()) {
    return invalid_argument("reshape: cannot reshape ", ref::shape_text(in.shape), " (",
                            in.numel(), " elements) to ", ref::shape_text(out.shape));
  }
  if (out.nbytes() > 0 && out.data != in.data) {
    std::memmove(out.data, in.data, static_cast<size_t>(out.nbytes()));
  }
  return ok_status();
}

// out dim d is input dim perm[d].
Status ref_kernel_Permute(const KernelArgs& args) {
  KILN_RETURN_IF_ERROR(check_io(args, "permute", 1));
  const TensorView& in = args.inputs[0];
  const TensorView& out = args.outputs[0];
  const std::vector<int64_t>& perm = args.node.attrs_as<PermuteAttrs>().perm;
  const int64_t rank = static_cast<int64_t>(in.shape.size());
  if (static_cast<int64_t>(perm.size()) != rank) {
    return invalid_argument("permute: perm has ", perm.size(), " entries for an input of rank ",
                            rank);
  }
  const std::vector<int64_t> strides = ref::contiguous_strides(in.shape);
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  ConcreteShape want;
  Tables t;
  for (int64_t p : perm) {
    KILN_ASSIGN_OR_RETURN(int64_t d, normalize_axis("permute", p, rank));
    if (seen[static_cast<size_t>(d)]) {
      return invalid_argument("permute: axis ", p, " appears more than once in the permutation");
    }
    seen[static_cast<size_t>(d)] = true;
    want.push_back(in.shape[static_cast<size_t>(d)]);
    t.push_back(identity_table(want.back(), strides[static_cast<size_t>(d)]));
  }
  if (want != out.shape) return shape_mismatch("permute", out, want);
  return table_copy(in, out, t);
}

// numpy broadcasting of the input to the output shape.
Status ref_kernel_Expand(const KernelArgs& args) {
  KILN_RETURN_IF_ERROR(check_io(args, "expand", 1));
  const TensorView& in = args.inputs[0];
  const TensorView& out = args.outputs[0];
  const size_t rank = out.shape.size(), lead = rank - std::min(rank, in.shape.size());
  if (in.shape.size() > rank) {
    return invalid_argument("expand: cannot expand ", ref::shape_text(in.shape), " to fewer dims ",
                            ref::shape_text(out.shape));
  }
  const std::vector<int64_t> strides = ref::contiguous_strides(in.shape);
  Tables t;
  for (size_t d = 0; d < rank; ++d) {
    const int64_t n = out.shape[d];
    if (d < lead) {
      t.emplace_back(static_cast<size_t>(n), 0);
      continue;
    }
    const int64_t m = in.shape[d - lead];
    if (m != n && m != 1) {
      return invalid_argument("expand: input ", ref::shape_text(in.shape),
                              " does not broadcast to ", ref::shape_text(out.shape));
    }
    t.push_back(m == 1 ? std::vector<int64_t>(static_cast<size_t>(n), 0)
                       : identity_table(n, strides[d - lead]));
  }
  return table_copy(in, out, t);
}

// One axis, start:end:step with step > 0 and Python bounds.
Status ref_kernel_Slice(const KernelArgs& args) {
  KILN_RETURN_IF_ERROR(check_io(args, "slice", 1));
  const SliceAttrs& a = args.node.attrs_as<SliceAttrs>();
  const TensorView& in = args.inputs[0];
  const TensorView& out = args.outputs[0];
  const int64_t rank = static_cast<int64_t>(in.shape.size());
  KILN_ASSIGN_OR_RETURN(int64_t axis, normalize_axis("slice", a.axis, rank));
  KILN_ASSIGN_OR_RETURN(int64_t start, a.start.evaluate(args.symbol_values));
  KILN_ASSIGN_OR_RETURN(int64_t end, a.end.evaluate(args.symbol_values));
  if (a.step <= 0) return invalid_argument("slice: step must be positive, got ", a.step);
  const int64_t dim = in.shape[static_cast<size_t>(axis)];
  start = clamp_bound(start, dim);
  end = clamp_bound(end, dim);
  const int64_t len = end > start ? (end - start + a.step - 1) / a.step : 0;
  ConcreteShape want = in.shape;
  want[static_cast<size_t>(axis)] = len;
  if (want != out.shape) return shape_mismatch("slice", out, want);
  const std::vector<int64_t> strides = ref::contiguous_strides(in.shape);
  Tables t;
  for (int64_t d = 0; d < rank; ++d) t.push_back(identity_table(want[d], strides[d]));
  for (int64_t i = 0; i < len; ++i) {
    t[static_cast<size_t>(axis)][static_cast<size_t>(i)] = (start + i * a.step) * strides[axis];
  }
  return table_copy(in, out, t);
}

// Inputs with no elements are skipped (torch accepts a 1-D empty tensor among any others).
Status ref_kernel_Concat(const KernelArgs& args) {
  if (args.inputs.empty() || args.outputs.size() != 1) {
    return invalid_argument("concat: expected at least 1 input and 1 output, got ",
                            args.inputs.size(), " and ", args.outputs.size());
  }
  const TensorView& out = args.outputs[0];
  const int64_t rank = static_cast<int64_t>(out.shape.size());
  KILN_ASSIGN_OR_RETURN(int64_t axis,
                        normalize_axis("concat", args.node.attrs_as<AxisAttrs>().axis, rank));
  const size_t ax = static_cast<size_t>(axis);
  const int64_t outer = prod(out.shape, 0, ax), inner = prod(out.shape, ax + 1, out.shape.size());
  const int64_t esize = dtype_size(out.dtype);
  int64_t offset = 0;  // along the axis
  for (size_t k = 0; k < args.inputs.size(); ++k) {
    const TensorView& in = args.inputs[k];
    if (in.dtype != out.dtype) {
      return invalid_argument("concat: input ", k, " is ", dtype_name(in.dtype),
                              " but the output is ", dtype_name(out.dtype));
    }
    if (in.numel() == 0) {  // nothing to copy; it still fills its span of the axis
      if (in.shape.size() == out.shape.size()) offset += in.shape[ax];
      continue;
    }
    bool ok = in.shape.size() == out.shape.size() && in.data != nullptr;
    for (size_t d = 0; ok && d < out.shape.size(); ++d) {
      ok = d == ax ? offset + in.shape[d] <= out.shape[d] : in.shape[d] == out.shape[d];
    }
    if (!ok) {
      return invalid_argument("concat: input ", k, " of shape ", ref::shape_text(in.shape),
                              " does not fit the output ", ref::shape_text(out.shape),
                              " at offset ", offset, " along axis ", axis);
    }
    const int64_t run = in.shape[ax] * inner * esize, out_run = out.shape[ax] * inner * esize;
    const int64_t at = offset * inner * esize;
    copy_runs(
        outer, run, [&](int64_t o) { return o * run; }, [&](int64_t o) { return o * out_run + at; },
        static_cast<const uint8_t*>(in.data), static_cast<uint8_t*>(out.data));
    offset += in.shape[ax];
  }
  if (offset != out.shape[ax]) {
    return invalid_argument("concat: the inputs fill ", offset, " of the output's ",
                            out.shape[ax], " entries along axis ", axis);
  }
  return ok_status();
}

// One output per size; the sizes are the outputs' extents along the axis.
Status ref_kernel_Split(const KernelArgs& args) {
  if (args.inputs.size() != 1) {
    return invalid_argument("split: expected 1 input, got ", args.inputs.size());
  }
  const SplitAttrs& a = args.node.attrs_as<SplitAttrs>();
  const TensorView& in = args.inputs[0];
  if (args.outputs.size() != a.sizes.size()) {
    return invalid_argument("split: expected ", a.sizes.size(), " outputs, got ",
                            args.outputs.size());
  }
  const int64_t rank = static_cast<int64_t>(in.shape.size());
  KILN_ASSIGN_OR_RETURN(int64_t axis, normalize_axis("split", a.axis, rank));
  const size_t ax = static_cast<size_t>(axis);
  const int64_t outer = prod(in.shape, 0, ax), inner = prod(in.shape, ax + 1, in.shape.size());
  const int64_t esize = dtype_size(in.dtype);
  int64_t offset = 0;
  for (size_t k = 0; k < args.outputs.size(); ++k) {
    const TensorView& out = args.outputs[k];
    KILN_ASSIGN_OR_RETURN(int64_t size, a.sizes[k].evaluate(args.symbol_values));
    ConcreteShape want = in.shape;
    want[ax] = size;
    if (out.shape != want || out.dtype != in.dtype || offset + size > in.shape[ax] ||
        (out.data == nullptr && out.numel() > 0)) {
      return invalid_argument("split: output ", k, " is ", dtype_name(out.dtype),
                              ref::shape_text(out.shape), " but should be ", dtype_name(in.dtype),
                              ref::shape_text(want), " at offset ", offset, " of input ",
                              ref::shape_text(in.shape));
    }
    if (out.numel() > 0) {
      const int64_t run = size * inner * esize, in_run = in.shape[ax] * inner * esize;
      const int64_t at = offset * inner * esize;
      copy_runs(
          outer, run, [&](int64_t o) { return o * in_run + at; },
          [&](int64_t o) { return o * run; }, static_cast<const uint8_t*>(in.data),
          static_cast<uint8_t*>(out.data));
    }
    offset += size;
  }
  if (offset != in.shape[ax]) {
    return invalid_argument("split: the sizes add up to ", offset, " but axis ", axis,
                            " of the input has ", in.shape[ax]);
  }
  return ok_status();
}

// numpy.take along an axis: out = x[:axis] + indices.shape + x[axis+1:]. Negative indices count
// from the end (as x[idx] in torch); anything outside [-n, n) is OutOfRange.
Status ref_kernel_Take(const KernelArgs& args) {
  KILN_RETURN_IF_ERROR(check_io(args, "take", 2));
  const TensorView& x = args.inputs[0];
  const TensorView& indices = args.inputs[1];
  const TensorView& out = args.outputs[0];
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  KILN_ASSIGN_OR_RETURN(int64_t axis,
                        normalize_axis("take", args.node.attrs_as<AxisAttrs>().axis, rank));
  const size_t ax = static_cast<size_t>(axis);
  ConcreteShape want(x.shape.begin(), x.shape.begin() + axis);
  want.insert(want.end(), indices.shape.begin(), indices.shape.end());
  want.insert(want.end(), x.shape.begin() + axis + 1, x.shape.end());
  if (want != out.shape) return shape_mismatch("take", out, want);
  if (out.numel() == 0) return ok_status();
  const int64_t n = x.shape[ax];
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> idx, load_indices("take", indices, n, true));
  const int64_t m = static_cast<int64_t>(idx.size());
  const int64_t inner = prod(x.shape, ax + 1, x.shape.size());
  const int64_t run = inner * dtype_size(x.dtype);
  copy_runs(
      prod(x.shape, 0, ax) * m, run,
      [&](int64_t k) { return ((k / m) * n + idx[static_cast<size_t>(k % m)]) * run; },
      [&](int64_t k) { return k * run; }, static_cast<const uint8_t*>(x.data),
      static_cast<uint8_t*>(out.data));
  return ok_status();
}

// torch.gather: out[i][j][k] = x[index[i][j][k]][j][k] for axis 0 (and so on); out has the
// index's shape, which may be smaller than x in the other dims. Negative indices are OutOfRange,
// as in torch.
Status ref_kernel_Gather(const KernelArgs& args) {
  KILN_RETURN_IF_ERROR(check_io(args, "gather", 2));
  const TensorView& x = args.inputs[0];
  const TensorView& index = args.inputs[1];
  const TensorView& out = args.outputs[0];
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  KILN_ASSIGN_OR_RETURN(int64_t axis,
                        normalize_axis("gather", args.node.attrs_as<AxisAttrs>().axis,
                                       std::max<int64_t>(rank, 1)));
  const size_t ax = static_cast<size_t>(axis);
  bool ok = index.shape.size() == x.shape.size() && out.shape == index.shape;
  for (size_t d = 0; ok && d < x.shape.size(); ++d) ok = d == ax || index.shape[d] <= x.shape[d];
  if (!ok) {
    return invalid_argument("gather: index ", ref::shape_text(index.shape),
                            " must have the rank of x ", ref::shape_text(x.shape),
                            " and no larger dims except along axis ", axis,
                            ", and the output must have its shape (got ",
                            ref::shape_text(out.shape), ")");
  }
  if (out.numel() == 0) return ok_status();
  const int64_t n = rank == 0 ? 1 : x.shape[ax];
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> idx, load_indices("gather", index, n, false));
  if (rank == 0) {
    std::memcpy(out.data, x.data, static_cast<size_t>(dtype_size(x.dtype)));
    return ok_status();
  }
  switch (dtype_size(x.dtype)) {
    case 1: gather_typed<uint8_t>(x, out, idx, ax); break;
    case 2: gather_typed<uint16_t>(x, out, idx, ax); break;
    case 4: gather_typed<uint32_t>(x, out, idx, ax); break;
    case 8: gather_typed<uint64_t>(x, out, idx, ax); break;
    default: return internal_error("gather: unexpected element size ", dtype_size(x.dtype));
  }
  return ok_status();
}

// pads = [before_0, after_0, before_1, after_1, ...]; negative pads crop. reflect mirrors without
// repeating the edge (torch's reflect), replicate repeats the edge.
Status ref_kernel_Pad(const KernelArgs& args) {
  KILN_RETURN_IF_ERROR(check_io(args, "pad", 1));
  const PadAttrs& a = args.node.attrs_as<PadAttrs>();
  const TensorView& in = args.inputs[0];
  const TensorView& out = args.outputs[0];
  const size_t rank = in.shape.size();
  if (a.pads.size() != 2 * rank) {
    return invalid_argument("pad: expected ", 2 * rank, " pads (before and after each of ", rank,
                            " dims), got ", a.pads.size());
  }
  ConcreteShape want(rank);
  for (size_t d = 0; d < rank; ++d) want[d] = in.shape[d] + a.pads[2 * d] + a.pads[2 * d + 1];
  if (want != out.shape) return shape_mismatch("pad", out, want);
  if (out.numel() == 0) return ok_status();
  const std::vector<int64_t> strides = ref::contiguous_strides(in.shape);
  Tables t(rank);
  for (size_t d = 0; d < rank; ++d) {
    const int64_t n = in.shape[d];
    if (n == 0 && a.mode != PadMode::kConstant) {
      return invalid_argument("pad: cannot ", a.mode == PadMode::kReflect ? "reflect" : "replicate",
                              " dim ", d, " of size 0 (input ", ref::shape_text(in.shape), ")");
    }
    t[d].resize(static_cast<size_t>(want[d]));
    for (int64_t o = 0; o < want[d]; ++o) {
      int64_t src = o - a.pads[2 * d];
      if (src < 0 || src >= n) {
        if (a.mode == PadMode::kReplicate) {
          src = std::clamp<int64_t>(src, 0, n - 1);
        } else if (a.mode == PadMode::kReflect) {
          src = src < 0 ? -src : 2 * (n - 1) - src;
        }
      }
      if (src < 0 || src >= n) {
        if (a.mode != PadMode::kConstant) {
          return invalid_argument("pad: ", a.mode == PadMode::kReflect ? "reflect" : "replicate",
                                  " padding of dim ", d, " (size ", n, ") by ", a.pads[2 * d],
                                  " and ", a.pads[2 * d + 1], " reads outside the input");
        }
        t[d][static_cast<size_t>(o)] = kFill;
      } else {
        t[d][static_cast<size_t>(o)] = src * strides[d];
      }
    }
  }
  uint64_t fill = 0;
  const TensorView fill_view{&fill, out.dtype, {1}};
  ref::store_contiguous<double>(fill_view, 0, 1, &a.value);
  return table_copy(in, out, t, &fill);
}

// torch.Tensor.repeat: repeats may be longer than the rank (the input gains leading 1-dims).
Status ref_kernel_Tile(const KernelArgs& args) {
  KILN_RETURN_IF_ERROR(check_io(args, "tile", 1));
  const std::vector<int64_t>& reps = args.node.attrs_as<TileAttrs>().repeats;
  const TensorView& in = args.inputs[0];
  const TensorView& out = args.outputs[0];
  if (reps.size() < in.shape.size()) {
    return invalid_argument("tile: ", reps.size(), " repeats for an input of rank ",
                            in.shape.size(), " (expected at least one per dim)");
  }
  const size_t rank = reps.size(), lead = rank - in.shape.size();
  ConcreteShape shape(lead, 1);
  shape.insert(shape.end(), in.shape.begin(), in.shape.end());
  const std::vector<int64_t> strides = ref::contiguous_strides(shape);
  ConcreteShape want(rank);
  for (size_t d = 0; d < rank; ++d) {
    if (reps[d] < 0) return invalid_argument("tile: repeat ", reps[d], " is negative");
    want[d] = shape[d] * reps[d];
  }
  if (want != out.shape) return shape_mismatch("tile", out, want);
  if (out.numel() == 0) return ok_status();
  Tables t(rank);
  for (size_t d = 0; d < rank; ++d) {
    for (int64_t o = 0; o < want[d]; ++o) t[d].push_back((o % shape[d]) * strides[d]);
  }
  return table_copy(in, out, t);
}

Status ref_kernel_Flip(const KernelArgs& args) {
  KILN_RETURN_IF_ERROR(check_io(args, "flip", 1));
  const TensorView& in = args.inputs[0];
  const TensorView& out = args.outputs[0];
  if (in.shape != out.shape) return shape_mismatch("flip", out, in.shape);
  const int64_t rank = static_cast<int64_t>(in.shape.size());
  const std::vector<int64_t> strides = ref::contiguous_strides(in.shape);
  Tables t = identity_tables(in.shape);
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  for (int64_t a : args.node.attrs_as<AxesAttrs>().axes) {
    KILN_ASSIGN_OR_RETURN(int64_t d, normalize_axis("flip", a, rank));
    if (seen[static_cast<size_t>(d)]) {
      return invalid_argument("flip: axis ", a, " appears more than once");
    }
    seen[static_cast<size_t>(d)] = true;
    const int64_t n = in.shape[static_cast<size_t>(d)];
    for (int64_t o = 0; o < n; ++o) {
      t[static_cast<size_t>(d)][static_cast<size_t>(o)] = (n - 1 - o) * strides[d];
    }
  }
  return table_copy(in, out, t);
}

// out[i] = in[(i - shift) mod n] along each axis; shifts on a repeated axis add up. No axes: the
// tensor is rolled as if flattened, by shifts[0].
Status ref_kernel_Roll(const KernelArgs& args) {
  KILN_RETURN_IF_ERROR(check_io(args, "roll", 1));
  const RollAttrs& a = args.node.attrs_as<RollAttrs>();
  const TensorView& in = args.inputs[0];
  const TensorView& out = args.outputs[0];
  if (in.shape != out.shape) return shape_mismatch("roll", out, in.shape);
  if (out.numel() == 0) return ok_status();
  auto wrap = [](int64_t s, int64_t n) { return ((s % n) + n) % n; };
  if (a.axes.empty()) {
    if (a.shifts.size() != 1) {
      return invalid_argument("roll: without axes, expected 1 shift, got ", a.shifts.size());
    }
    const int64_t n = in.numel(), s = wrap(a.shifts[0], n), esize = dtype_size(in.dtype);
    const uint8_t* src = static_cast<const uint8_t*>(in.data);
    uint8_t* dst = static_cast<uint8_t*>(out.data);
    std::memcpy(dst, src + (n - s) * esize, static_cast<size_t>(s * esize));
    std::memcpy(dst + s * esize, src, static_cast<size_t>((n - s) * esize));
    return ok_status();
  }
  if (a.shifts.size() != a.axes.size()) {
    return invalid_argument("roll: ", a.shifts.size(), " shifts for ", a.axes.size(), " axes");
  }
  const int64_t rank = static_cast<int64_t>(in.shape.size());
  std::vector<int64_t> total(static_cast<size_t>(rank), 0);
  for (size_t k = 0; k < a.axes.size(); ++k) {
    KILN_ASSIGN_OR_RETURN(int64_t d, normalize_axis("roll", a.axes[k], rank));
    total[static_cast<size_t>(d)] += wrap(a.shifts[k], in.shape[static_cast<size_t>(d)]);
  }
  const std::vector<int64_t> strides = ref::contiguous_strides(in.shape);
  Tables t = identity_tables(in.shape);
  for (int64_t d = 0; d < rank; ++d) {
    const int64_t n = in.shape[static_cast<size_t>(d)];
    for (int64_t o = 0; o < n; ++o) {
      t[static_cast<size_t>(d)][static_cast<size_t>(o)] = wrap(o - total[d], n) * strides[d];
    }
  }
  return table_copy(in, out, t);
}

// On the last two dims (rows i, cols j): upper keeps j - i >= diagonal, lower keeps
// j - i <= diagonal; everything else becomes zero.
Status ref_kernel_Trilu(const KernelArgs& args) {
  KILN_RETURN_IF_ERROR(check_io(args, "trilu", 1));
  const TriluAttrs& a = args.node.attrs_as<TriluAttrs>();
  const TensorView& in = args.inputs[0];
  const TensorView& out = args.outputs[0];
  if (in.shape.size() < 2) {
    return invalid_argument("trilu: expected rank >= 2, got ", ref::shape_text(in.shape));
  }
  if (in.shape != out.shape) return shape_mismatch("trilu", out, in.shape);
  if (out.numel() == 0) return ok_status();
  const int64_t cols = in.shape.back(), rows_per = in.shape[in.shape.size() - 2];
  const int64_t esize = dtype_size(in.dtype), row_bytes = cols * esize;
  const uint8_t* src = static_cast<const uint8_t*>(in.data);
  uint8_t* dst = static_cast<uint8_t*>(out.data);
  const int64_t rows = out.numel() / cols;
  parallel_for(rows, std::max<int64_t>(1, kGrain / cols), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t i = r % rows_per;
      // Kept columns [lo, hi).
      const int64_t lo = a.upper ? std::clamp<int64_t>(i + a.diagonal, 0, cols) : 0;
      const int64_t hi = a.upper ? cols : std::clamp<int64_t>(i + a.diagonal + 1, 0, cols);
      uint8_t* row = dst + r * row_bytes;
      std::memmove(row, src + r * row_bytes, static_cast<size_t>(row_bytes));
      std::memset(row, 0, static_cast<size_t>(lo * esize));
      if (hi > lo) {
        std::memset(row + hi * esize, 0, static_cast<size_t>((cols - hi) * esize));
      } else {
        std::memset(row, 0, static_cast<size_t>(row_bytes));
      }
    }
  });
  return ok_status();
}

}  // namespace kiln
