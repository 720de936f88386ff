// Typing rules of the source ops (constant, full, arange), elementwise unary and binary ops, where,
// cast and the reductions (sum/mean/max/min/prod/var, argmax/argmin, cumsum, topk).
//
// Deliberately not here: type promotion. Both operands of a binary op must already share a dtype
// and integer reductions keep their dtype; importers insert casts where torch would promote.
#include <algorithm>

#include "shape_inference_internal.h"

namespace kiln::shape_detail {
namespace {

Status check_not_f64(const Ctx& c, DType d, std::string_view what) {
  if (d == DType::kF64) return c.error(what, " f64 is not supported (use f32)");
  return ok_status();
}

Status check_shape_dims(const Ctx& c, const Shape& s, std::string_view what) {
  for (const DimExpr& d : s) {
    if (d.is_constant() && d.constant_value() < 0) {
      return c.error(what, " has a negative dim: ", shape_str(s));
    }
  }
  return ok_status();
}

}  // namespace

Expected<Types> infer_constant(const Ctx& c, const ConstantAttrs& a) {
  KILN_RETURN_IF_ERROR(check_not_f64(c, a.dtype, "dtype"));
  Shape shape;
  int64_t numel = 1;
  for (int64_t d : a.shape) {
    if (d < 0) return c.error("shape has a negative dim ", d);
    if (__builtin_mul_overflow(numel, d, &numel)) return c.error("shape is too large");
    shape.push_back(DimExpr(d));
  }
  int64_t bytes = 0;
  if (__builtin_mul_overflow(numel, dtype_size(a.dtype), &bytes)) {
    return c.error("shape is too large");
  }
  if (a.data.size != static_cast<size_t>(bytes)) {
    return c.error("data holds ", a.data.size, " bytes but ", dtype_name(a.dtype),
                   shape_str(shape), " needs ", bytes);
  }
  if (a.data.size != 0 && a.data.data() == nullptr) return c.error("data has no bytes");
  return Types{TensorType{a.dtype, std::move(shape)}};
}

Expected<Types> infer_full(const Ctx& c, const FullAttrs& a) {
  KILN_RETURN_IF_ERROR(check_not_f64(c, a.dtype, "dtype"));
  KILN_RETURN_IF_ERROR(check_shape_dims(c, a.shape, "shape"));
  return Types{TensorType{a.dtype, a.shape}};
}

Expected<Types> infer_arange(const Ctx& c, const ArangeAttrs& a) {
  KILN_RETURN_IF_ERROR(check_not_f64(c, a.dtype, "dtype"));
  if (a.dtype == DType::kBool) return c.error("dtype must be numeric, got bool");
  if (a.length.is_constant() && a.length.constant_value() < 0) {
    return c.error("length must be >= 0, got ", a.length.constant_value());
  }
  return Types{TensorType{a.dtype, {a.length}}};
}

Expected<Types> infer_unary(const Ctx& c, Accept accept) {
  KILN_RETURN_IF_ERROR(check_dtype(c, c.x(0), "input", accept));
  return Types{c.x(0)};
}

Expected<Types> infer_isnan(const Ctx& c) {
  KILN_RETURN_IF_ERROR(check_dtype(c, c.x(0), "input", Accept::kNumeric));
  return Types{TensorType{DType::kBool, c.x(0).shape}};
}

Expected<Types> infer_cast(const Ctx& c, const CastAttrs& a) {
  return Types{TensorType{a.to, c.x(0).shape}};
}

Expected<Types> infer_clamp(const Ctx& c, const ClampAttrs& a) {
  KILN_RETURN_IF_ERROR(check_dtype(c, c.x(0), "input", Accept::kNumeric));
  if (a.min && a.max && *a.min > *a.max) {
    return c.error("min ", *a.min, " is greater than max ", *a.max);
  }
  return Types{c.x(0)};
}

Expected<Types> infer_binary(const Ctx& c, Accept accept, bool to_bool) {
  const TensorType& a = c.x(0);
  const TensorType& b = c.x(1);
  KILN_RETURN_IF_ERROR(check_dtype(c, a, "lhs", accept));
  KILN_RETURN_IF_ERROR(check_dtype(c, b, "rhs", accept));
  KILN_RETURN_IF_ERROR(check_same_dtype(c, a, "both operands", b, ""));
  KILN_ASSIGN_OR_RETURN(Shape shape, broadcast_shapes(c, a.shape, b.shape));
  return Types{TensorType{to_bool ? DType::kBool : a.dtype, std::move(shape)}};
}

Expected<Types> infer_div(const Ctx& c, const DivAttrs& a) {
  KILN_ASSIGN_OR_RETURN(Types out, infer_binary(c, Accept::kNumeric, false));
  if (a.rounding == DivRounding::kNone && !dtype_is_float(out[0].dtype)) {
    return c.error("true division of ", dtype_name(out[0].dtype),
                   " tensors needs a float dtype (cast first, or use rounding trunc or floor)");
  }
  return out;
}

Expected<Types> infer_where(const Ctx& c) {
  const TensorType& cond = c.x(0);
  const TensorType& a = c.x(1);
  const TensorType& b = c.x(2);
  KILN_RETURN_IF_ERROR(check_dtype(c, cond, "condition", Accept::kBool));
  KILN_RETURN_IF_ERROR(check_dtype(c, a, "the true branch", Accept::kAny));
  KILN_RETURN_IF_ERROR(check_dtype(c, b, "the false branch", Accept::kAny));
  KILN_RETURN_IF_ERROR(check_same_dtype(c, a, "both branches", b, ""));
  KILN_ASSIGN_OR_RETURN(Shape ab, broadcast_shapes(c, a.shape, b.shape));
  KILN_ASSIGN_OR_RETURN(Shape shape, broadcast_shapes(c, cond.shape, ab));
  return Types{TensorType{a.dtype, std::move(shape)}};
}

Expected<Types> infer_reduce(const Ctx& c, const std::vector<int64_t>& axes, bool keepdim,
                             Accept accept) {
  const TensorType& x = c.x(0);
  KILN_RETURN_IF_ERROR(check_dtype(c, x, "input", accept));
  std::vector<bool> reduced(x.shape.size(), axes.empty());
  for (int64_t axis : axes) {
    KILN_ASSIGN_OR_RETURN(int64_t a, normalize_axis(c, axis, x.rank()));
    if (reduced[a]) return c.error("axis ", axis, " is listed twice");
    reduced[a] = true;
  }
  Shape shape;
  for (size_t i = 0; i < x.shape.size(); ++i) {
    if (!reduced[i]) {
      shape.push_back(x.shape[i]);
    } else if (keepdim) {
      shape.push_back(DimExpr(1));
    }
  }
  return Types{TensorType{x.dtype, std::move(shape)}};
}

Expected<Types> infer_arg_reduce(const Ctx& c, const ArgReduceAttrs& a) {
  const TensorType& x = c.x(0);
  KILN_RETURN_IF_ERROR(check_dtype(c, x, "input", Accept::kNumeric));
  KILN_RETURN_IF_ERROR(check_rank(c, x, "input", 1, INT64_MAX));
  KILN_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(c, a.axis, x.rank()));
  if (is_const(x.shape[axis], 0)) return c.error("cannot reduce an empty axis of ", type_str(x));
  Shape shape;
  for (int64_t i = 0; i < x.rank(); ++i) {
    if (i != axis) {
      shape.push_back(x.shape[i]);
    } else if (a.keepdim) {
      shape.push_back(DimExpr(1));
    }
  }
  return Types{TensorType{DType::kI64, std::move(shape)}};
}

Expected<Types> infer_cumsum(const Ctx& c, const AxisAttrs& a) {
  const TensorType& x = c.x(0);
  KILN_RETURN_IF_ERROR(check_dtype(c, x, "input", Accept::kNumeric));
  KILN_RETURN_IF_ERROR(normalize_axis(c, a.axis, std::max<int64_t>(x.rank(), 1)));
  return Types{x};
}

Expected<Types> infer_topk(const Ctx& c, const TopKAttrs& a) {
  const TensorType& x = c.x(0);
  KILN_RETURN_IF_ERROR(check_dtype(c, x, "input", Accept::kNumeric));
  KILN_RETURN_IF_ERROR(check_rank(c, x, "input", 1, INT64_MAX));
  KILN_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(c, a.axis, x.rank()));
  if (a.k < 0) return c.error("k must be >= 0, got ", a.k);
  const DimExpr& dim = x.shape[axis];
  if (dim.is_constant() && dim.constant_value() < a.k) {
    return c.error("k = ", a.k, " is larger than dim ", axis, " of ", type_str(x));
  }
  Shape shape = x.shape;
  shape[axis] = DimExpr(a.k);
  return Types{TensorType{x.dtype, shape}, TensorType{DType::kI64, shape}};
}

}  // namespace kiln::shape_detail
