// Typing rules of the data-movement ops: reshape, permute, expand, slice, concat, split, take,
// gather, pad, tile, flip, roll and trilu. All accept any dtype but f64.
//
// Deliberately not here: proofs about symbolic sizes. Where a check needs the value of a symbol
// (a reshape between structurally different element counts, a symbolic slice bound) the symbolic
// rule accepts and the runtime, which runs the same rules on concrete shapes, rejects bad sizes.
// Symbolic slice bounds are assumed to lie in [0, dim] (torch.export guards the same way).
#include <algorithm>
#include <limits>

#include "shape_inference_internal.h"

namespace kiln::shape_detail {
namespace {

// Slice bounds at or beyond this mean "to the end" even against a symbolic dim: torch writes
// sys.maxsize, ONNX exporters INT32_MAX.
constexpr int64_t kOpenBound = std::numeric_limits<int32_t>::max();

Status check_any(const Ctx& c, const TensorType& x) {
  return check_dtype(c, x, "input", Accept::kAny);
}

}  // namespace

Expected<Types> infer_reshape(const Ctx& c, const ReshapeAttrs& a) {
  const TensorType& x = c.x(0);
  KILN_RETURN_IF_ERROR(check_any(c, x));
  std::optional<size_t> infer_at;
  DimExpr known(1);
  for (size_t i = 0; i < a.shape.size(); ++i) {
    const DimExpr& d = a.shape[i];
    if (is_const(d, -1)) {
      if (infer_at) return c.error("shape ", shape_str(a.shape), " has more than one -1");
      infer_at = i;
      continue;
    }
    if (d.is_constant() && d.constant_value() < 0) {
      return c.error("shape ", shape_str(a.shape), " has a negative dim other than -1");
    }
    known = known * d;
  }
  const DimExpr in_numel = shape_numel(x.shape);
  Shape shape = a.shape;
  if (infer_at) {
    if (is_const(known, 0)) {
      return c.error("cannot infer the -1 in ", shape_str(a.shape),
                     " because the other dims have no elements");
    }
    if (in_numel.is_constant() && known.is_constant()) {
      if (known.constant_value() < 0 || in_numel.constant_value() < 0) {
        return c.error("element count overflows int64 reshaping ", type_str(x), " to ",
                       shape_str(a.shape));
      }
      if (in_numel.constant_value() % known.constant_value() != 0) {
        return c.error("cannot reshape ", type_str(x), " (", in_numel.constant_value(),
                       " elements) to ", shape_str(a.shape));
      }
      shape[*infer_at] = DimExpr(in_numel.constant_value() / known.constant_value());
    } else if (std::optional<DimExpr> q = exact_divide(in_numel, known)) {
      shape[*infer_at] = *q;
    } else {
      shape[*infer_at] = floordiv(in_numel, known);
    }
  } else if (in_numel.is_constant() && known.is_constant() &&
             in_numel.constant_value() != known.constant_value()) {
    return c.error("cannot reshape ", type_str(x), " (", in_numel.constant_value(),
                   " elements) to ", shape_str(a.shape), " (", known.constant_value(),
                   " elements)");
  }
  return Types{TensorType{x.dtype, std::move(shape)}};
}

Expected<Types> infer_permute(const Ctx& c, const PermuteAttrs& a) {
  const TensorType& x = c.x(0);
  KILN_RETURN_IF_ERROR(check_any(c, x));
  if (static_cast<int64_t>(a.perm.size()) != x.rank()) {
    return c.error("perm has ", a.perm.size(), " entries but the input is ", type_str(x));
  }
  std::vector<bool> seen(a.perm.size(), false);
  Shape shape;
  for (int64_t p : a.perm) {
    KILN_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(c, p, x.rank(), "perm entry"));
    if (seen[axis]) return c.error("perm lists axis ", axis, " twice, so it is not a permutation");
    seen[axis] = true;
    shape.push_back(x.shape[axis]);
  }
  return Types{TensorType{x.dtype, std::move(shape)}};
}

Expected<Types> infer_expand(const Ctx& c, const ExpandAttrs& a) {
  const TensorType& x = c.x(0);
  KILN_RETURN_IF_ERROR(check_any(c, x));
  if (a.shape.size() < x.shape.size()) {
    return c.error("cannot expand ", type_str(x), " to the lower rank shape ", shape_str(a.shape));
  }
  const size_t offset = a.shape.size() - x.shape.size();
  Shape shape;
  for (size_t i = 0; i < a.shape.size(); ++i) {
    const DimExpr& t = a.shape[i];
    const bool keep = is_const(t, -1);
    if (!keep && t.is_constant() && t.constant_value() < 0) {
      return c.error("shape ", shape_str(a.shape), " has a negative dim other than -1");
    }
    if (i < offset) {
      if (keep) return c.error("-1 is not allowed in a new leading dim of ", shape_str(a.shape));
      shape.push_back(t);
      continue;
    }
    const DimExpr& d = x.shape[i - offset];
    if (keep) {
      shape.push_back(d);
    } else if (is_const(d, 1)) {
      shape.push_back(t);
    } else if (std::optional<DimExpr> m = merge_dims(d, t)) {
      shape.push_back(*m);
    } else {
      return c.error("cannot expand ", type_str(x), " to ", shape_str(a.shape), " (dim ",
                     dim_str(d), " is not 1 and differs from ", dim_str(t), ")");
    }
  }
  return Types{TensorType{x.dtype, std::move(shape)}};
}

Expected<Types> infer_slice(const Ctx& c, const SliceAttrs& a) {
  const TensorType& x = c.x(0);
  KILN_RETURN_IF_ERROR(check_any(c, x));
  KILN_RETURN_IF_ERROR(check_rank(c, x, "input", 1, INT64_MAX));
  KILN_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(c, a.axis, x.rank()));
  if (a.step < 1) return c.error("step must be >= 1, got ", a.step);
  const DimExpr& dim = x.shape[axis];
  // Python slicing bounds: negative counts from the end, then clamped to [0, dim].
  auto bound = [&](const DimExpr& v, bool is_end) -> DimExpr {
    if (!v.is_constant()) return v;
    const int64_t b = v.constant_value();
    if (dim.is_constant()) {
      const int64_t n = dim.constant_value();
      return DimExpr(std::clamp<int64_t>(b < 0 ? b + n : b, 0, n));
    }
    if (b <= -kOpenBound) return DimExpr(0);
    if (b >= kOpenBound) return dim;
    if (b < 0) return dim + DimExpr(b);
    return is_end && b != 0 ? min(DimExpr(b), dim) : DimExpr(b);
  };
  const DimExpr start = bound(a.start, false);
  const DimExpr end = bound(a.end, true);
  DimExpr length = floordiv(end - start + DimExpr(a.step - 1), DimExpr(a.step));
  if (length.is_constant() && length.constant_value() < 0) length = DimExpr(0);
  Shape shape = x.shape;
  shape[axis] = std::move(length);
  return Types{TensorType{x.dtype, std::move(shape)}};
}

Expected<Types> infer_concat(const Ctx& c, const AxisAttrs& a) {
  const TensorType& first = c.x(0);
  KILN_RETURN_IF_ERROR(check_dtype(c, first, "input 0", Accept::kAny));
  KILN_RETURN_IF_ERROR(check_rank(c, first, "input 0", 1, INT64_MAX));
  KILN_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(c, a.axis, first.rank()));
  Shape shape = first.shape;
  for (size_t i = 1; i < c.in.size(); ++i) {
    const TensorType& t = c.x(i);
    if (t.dtype != first.dtype) {
      return c.error("all inputs must have the same dtype, input 0 is ", type_str(first),
                     " and input ", i, " is ", type_str(t));
    }
    if (t.rank() != first.rank()) {
      return c.error("all inputs must have the same rank, input 0 is ", type_str(first),
                     " and input ", i, " is ", type_str(t));
    }
    for (size_t d = 0; d < shape.size(); ++d) {
      if (static_cast<int64_t>(d) == axis) {
        shape[d] = shape[d] + t.shape[d];
      } else if (std::optional<DimExpr> m = merge_dims(shape[d], t.shape[d])) {
        shape[d] = *m;
      } else {
        return c.error("input ", i, " ", type_str(t), " differs from input 0 ", type_str(first),
                       " in dim ", d, ", which is not the concat axis ", axis);
      }
    }
  }
  return Types{TensorType{first.dtype, std::move(shape)}};
}

Expected<Types> infer_split(const Ctx& c, const SplitAttrs& a) {
  const TensorType& x = c.x(0);
  KILN_RETURN_IF_ERROR(check_any(c, x));
  KILN_RETURN_IF_ERROR(check_rank(c, x, "input", 1, INT64_MAX));
  KILN_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(c, a.axis, x.rank()));
  if (a.sizes.empty()) return c.error("sizes must not be empty");
  DimExpr total;
  for (const DimExpr& s : a.sizes) {
    if (s.is_constant() && s.constant_value() < 0) {
      return c.error("sizes must be >= 0, got ", shape_str(a.sizes));
    }
    total = total + s;
  }
  const DimExpr& dim = x.shape[axis];
  if (total.is_constant() && dim.is_constant() && total != dim) {
    return c.error("sizes ", shape_str(a.sizes), " add up to ", dim_str(total), " but dim ", axis,
                   " of ", type_str(x), " is ", dim_str(dim));
  }
  Types out;
  for (const DimExpr& s : a.sizes) {
    Shape shape = x.shape;
    shape[axis] = s;
    out.push_back(TensorType{x.dtype, std::move(shape)});
  }
  return out;
}

Expected<Types> infer_take(const Ctx& c, const AxisAttrs& a) {
  const TensorType& x = c.x(0);
  const TensorType& idx = c.x(1);
  KILN_RETURN_IF_ERROR(check_any(c, x));
  KILN_RETURN_IF_ERROR(check_dtype(c, idx, "index", Accept::kIndex));
  KILN_RETURN_IF_ERROR(check_rank(c, x, "input", 1, INT64_MAX));
  KILN_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(c, a.axis, x.rank()));
  Shape shape(x.shape.begin(), x.shape.begin() + axis);
  shape.insert(shape.end(), idx.shape.begin(), idx.shape.end());
  shape.insert(shape.end(), x.shape.begin() + axis + 1, x.shape.end());
  return Types{TensorType{x.dtype, std::move(shape)}};
}

Expected<Types> infer_gather(const Ctx& c, const AxisAttrs& a) {
  const TensorType& x = c.x(0);
  const TensorType& idx = c.x(1);
  KILN_RETURN_IF_ERROR(check_any(c, x));
  KILN_RETURN_IF_ERROR(check_dtype(c, idx, "index", Accept::kIndex));
  KILN_RETURN_IF_ERROR(check_rank(c, x, "input", 1, INT64_MAX));
  if (idx.rank() != x.rank()) {
    return c.error("index must have the input's rank ", x.rank(), ", got ", type_str(idx));
  }
  KILN_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(c, a.axis, x.rank()));
  for (int64_t d = 0; d < x.rank(); ++d) {
    const DimExpr& id = idx.shape[d];
    const DimExpr& xd = x.shape[d];
    if (d != axis && id.is_constant() && xd.is_constant() &&
        id.constant_value() > xd.constant_value()) {
      return c.error("index ", type_str(idx), " is larger than the input ", type_str(x),
                     " in dim ", d, ", which is not the gather axis");
    }
  }
  return Types{TensorType{x.dtype, idx.shape}};
}

Expected<Types> infer_pad(const Ctx& c, const PadAttrs& a) {
  const TensorType& x = c.x(0);
  KILN_RETURN_IF_ERROR(check_any(c, x));
  if (static_cast<int64_t>(a.pads.size()) != 2 * x.rank()) {
    return c.error("pads needs 2 entries per dim (", 2 * x.rank(), " for ", type_str(x), "), got ",
                   a.pads.size());
  }
  Shape shape = x.shape;
  for (size_t i = 0; i < shape.size(); ++i) {
    const int64_t before = a.pads[2 * i], after = a.pads[2 * i + 1];
    const DimExpr& d = x.shape[i];
    if (a.mode == PadMode::kReflect && d.is_constant() &&
        (before >= d.constant_value() || after >= d.constant_value())) {
      return c.error("reflect padding (", before, ", ", after, ") of dim ", i,
                     " must be smaller than the dim, got ", type_str(x));
    }
    if (a.mode == PadMode::kReplicate && is_const(d, 0) && (before > 0 || after > 0)) {
      return c.error("replicate padding of dim ", i, " needs a non-empty dim, got ", type_str(x));
    }
    shape[i] = d + DimExpr(before) + DimExpr(after);
    if (shape[i].is_constant() && shape[i].constant_value() < 0) {
      return c.error("pads (", before, ", ", after, ") make dim ", i, " of ", type_str(x),
                     " negative");
    }
  }
  return Types{TensorType{x.dtype, std::move(shape)}};
}

Expected<Types> infer_tile(const Ctx& c, const TileAttrs& a) {
  const TensorType& x = c.x(0);
  KILN_RETURN_IF_ERROR(check_any(c, x));
  if (static_cast<int64_t>(a.repeats.size()) < x.rank()) {
    return c.error("repeats ", a.repeats.size(), " entries, fewer than the rank of ", type_str(x));
  }
  Shape shape(a.repeats.size() - x.shape.size(), DimExpr(1));
  shape.insert(shape.end(), x.shape.begin(), x.shape.end());
  for (size_t i = 0; i < shape.size(); ++i) {
    if (a.repeats[i] < 0) return c.error("repeats must be >= 0, got ", a.repeats[i]);
    shape[i] = shape[i] * DimExpr(a.repeats[i]);
  }
  return Types{TensorType{x.dtype, std::move(shape)}};
}

Expected<Types> infer_flip(const Ctx& c, const AxesAttrs& a) {
  const TensorType& x = c.x(0);
  KILN_RETURN_IF_ERROR(check_any(c, x));
  std::vector<bool> seen(x.shape.size(), false);
  for (int64_t axis : a.axes) {
    KILN_ASSIGN_OR_RETURN(int64_t n, normalize_axis(c, axis, x.rank()));
    if (seen[n]) return c.error("axis ", axis, " is listed twice");
    seen[n] = true;
  }
  return Types{x};
}

Expected<Types> infer_roll(const Ctx& c, const RollAttrs& a) {
  const TensorType& x = c.x(0);
  KILN_RETURN_IF_ERROR(check_any(c, x));
  if (a.axes.empty()) {
    if (a.shifts.size() != 1) {
      return c.error("without axes (roll of the flattened tensor) shifts needs one entry, got ",
                     a.shifts.size());
    }
  } else if (a.shifts.size() != a.axes.size()) {
    return c.error("shifts has ", a.shifts.size(), " entries but axes has ", a.axes.size());
  }
  for (int64_t axis : a.axes) KILN_RETURN_IF_ERROR(normalize_axis(c, axis, x.rank()));
  return Types{x};
}

Expected<Types> infer_trilu(const Ctx& c, const TriluAttrs& a) {
  const TensorType& x = c.x(0);
  KILN_RETURN_IF_ERROR(check_any(c, x));
  KILN_RETURN_IF_ERROR(check_rank(c, x, "input", 2, INT64_MAX));
  return Types{x};
}

}  // namespace kiln::shape_detail
