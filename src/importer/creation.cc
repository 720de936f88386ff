// Converters for creation ATen ops: arange (static or symbolic start and end), full / zeros / ones / empty
// and their _like and new_ forms, scalar_tensor and fill. Sizes may be symbolic (sym_size nodes or
// symbolic expressions over them). Uninitialised tensors (empty*) are filled with zeros: torch
// leaves their values undefined, so any value is right and zeros are deterministic.
//
// The dtype of every result is the one torch's metadata gives the node (default dtypes, dtype
// arguments and the dtype of a _like / new_ source are all resolved there).
#include <cmath>

#include "converter.h"

namespace kiln::importer {
namespace {

using Kind = TorchValue::Kind;

// ---- Argument helpers ------------------------------------------------------------------------


// A fill value the IR's `full` (a double) holds exactly for the output dtype.
std::string check_value(const ImportContext& ctx, const TorchNode& n, const TorchValue& v) {
  if (!number_arg(v)) return str_cat("the fill value ", v.to_string(), " is not a constant number");
  Expected<DType> out = ctx.out_dtype(n);
  if (!out.ok()) return out.status().message();
  constexpr int64_t kExact = int64_t{1} << 53;
  if (v.kind == Kind::kInt && !dtype_is_float(*out) && (v.i > kExact || v.i < -kExact)) {
    return str_cat("the fill value ", v.i, " is not exactly representable as a double");
  }
  return "";
}

// One size: an int, or a node whose value is an int or a SymInt (sym_size, size arithmetic).
bool is_size(const ImportContext& ctx, const TorchValue& v) {
  if (v.kind == Kind::kInt) return v.i >= 0;
  if (v.kind == Kind::kSymInt) return true;
  if (v.kind != Kind::kNode) return false;
  const TorchValue& m = ctx.meta(v);
  return (m.kind == Kind::kInt && m.i >= 0) || m.kind == Kind::kSymInt;
}

std::string check_sizes(const ImportContext& ctx, const TorchValue& v) {
  if (v.kind != Kind::kList) {
    return is_size(ctx, v) ? "" : str_cat("the size ", v.to_string(), " is not an int list");
  }
  for (const TorchValue& item : v.items) {
    if (!is_size(ctx, item)) return str_cat("the size ", item.to_string(), " is not an int or a SymInt");
  }
  return "";
}

std::string check_numeric_out(const ImportContext& ctx, const TorchNode& n) {
  Expected<DType> out = ctx.out_dtype(n);
  if (!out.ok()) return out.status().message();
  return "";
}

// ---- Building helpers ------------------------------------------------------------------------

Status emit_full(ImportContext& ctx, const TorchNode& n, Shape shape, double value) {
  KILN_ASSIGN_OR_RETURN(DType out, ctx.out_dtype(n));
  FullAttrs attrs;
  attrs.shape = std::move(shape);
  attrs.value = value;
  attrs.dtype = out;
  KILN_ASSIGN_OR_RETURN(ValueId r, ctx.add(OpKind::kFull, {}, attrs));
  ctx.set_output(r);
  return ok_status();
}

// ---- full / zeros / ones / empty (sizes) -----------------------------------------------------

// full.default(size, fill_value, dtype, layout, device, pin_memory).
Status convert_full(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(Shape shape, ctx.dims(arg(n, 0)));
  return emit_full(ctx, n, std::move(shape), *number_arg(arg(n, 1)));
}

std::string check_full(const ImportContext& ctx, const TorchNode& n) {
  std::string r = check_sizes(ctx, arg(n, 0));
  return r.empty() ? check_value(ctx, n, arg(n, 1)) : r;
}

// zeros / ones / empty.memory_format / empty_permuted / empty_strided(size, ...): a constant value.
template <int kValue>
Status convert_sized(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(Shape shape, ctx.dims(arg(n, 0)));
  return emit_full(ctx, n, std::move(shape), kValue);
}

std::string check_sized(const ImportContext& ctx, const TorchNode& n) {
  std::string r = check_sizes(ctx, arg(n, 0));
  return r.empty() ? check_numeric_out(ctx, n) : r;
}

// ---- _like (the shape of a tensor) -----------------------------------------------------------

// full_like.default(self, fill_value, dtype, ...).
Status convert_full_like(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(Shape shape, ctx.shape_of(arg(n, 0)));
  return emit_full(ctx, n, std::move(shape), *number_arg(arg(n, 1)));
}

std::string check_full_like(const ImportContext& ctx, const TorchNode& n) {
  if (!ctx.is_tensor(arg(n, 0))) return "its input is not a tensor";
  return check_value(ctx, n, arg(n, 1));
}

// zeros_like / ones_like / empty_like(self, dtype, ...).
template <int kValue>
Status convert_like(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(Shape shape, ctx.shape_of(arg(n, 0)));
  return emit_full(ctx, n, std::move(shape), kValue);
}

std::string check_like(const ImportContext& ctx, const TorchNode& n) {
  if (!ctx.is_tensor(arg(n, 0))) return "its input is not a tensor";
  return check_numeric_out(ctx, n);
}

// fill.Scalar(self, value): the shape of self, every element value.
Status convert_fill_scalar(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(Shape shape, ctx.shape_of(arg(n, 0)));
  return emit_full(ctx, n, std::move(shape), *number_arg(arg(n, 1)));
}

// fill.Tensor(self, value): a 0-d tensor broadcast to the shape of self.
Status convert_fill_tensor(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(DType out, ctx.out_dtype(n));
  KILN_ASSIGN_OR_RETURN(Shape shape, ctx.shape_of(arg(n, 0)));
  KILN_ASSIGN_OR_RETURN(ValueId v, ctx.tensor(arg(n, 1), out));
  ExpandAttrs attrs;
  attrs.shape = std::move(shape);
  KILN_ASSIGN_OR_RETURN(ValueId r, ctx.add(OpKind::kExpand, {v}, attrs));
  ctx.set_output(r);
  return ok_status();
}

std::string check_fill_tensor(const ImportContext& ctx, const TorchNode& n) {
  if (!ctx.is_tensor(arg(n, 0))) return "its input is not a tensor";
  if (ctx.rank_of(arg(n, 1)) != 0) return "fill.Tensor needs a 0-d value tensor";
  return "";
}

// ---- new_* (a size; the source tensor only gives dtype and device) ---------------------------

// new_full.default(self, size, fill_value, dtype, ...).
Status convert_new_full(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(Shape shape, ctx.dims(arg(n, 1)));
  return emit_full(ctx, n, std::move(shape), *number_arg(arg(n, 2)));
}

std::string check_new_full(const ImportContext& ctx, const TorchNode& n) {
  std::string r = check_sizes(ctx, arg(n, 1));
  return r.empty() ? check_value(ctx, n, arg(n, 2)) : r;
}

// new_zeros / new_ones / new_empty(self, size, dtype, ...).
template <int kValue>
Status convert_new_sized(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(Shape shape, ctx.dims(arg(n, 1)));
  return emit_full(ctx, n, std::move(shape), kValue);
}

std::string check_new_sized(const ImportContext& ctx, const TorchNode& n) {
  std::string r = check_sizes(ctx, arg(n, 1));
  return r.empty() ? check_numeric_out(ctx, n) : r;
}

// scalar_tensor.default(s, dtype, ...): a 0-d tensor.
Status convert_scalar_tensor(ImportContext& ctx, const TorchNode& n) {
  return emit_full(ctx, n, {}, *number_arg(arg(n, 0)));
}

std::string check_scalar_tensor(const ImportContext& ctx, const TorchNode& n) {
  return check_value(ctx, n, arg(n, 0));
}

// ---- arange ----------------------------------------------------------------------------------

// The (start, end, step) arguments of the three overloads: arange.default(end, ...),
// arange.start(start, end, ...), arange.start_step(start, end, step, ...).
struct Range {
  TorchValue start, end, step;
};

Range range_args(const TorchNode& n) {
  TorchValue zero, one;
  zero.kind = one.kind = Kind::kInt;
  one.i = 1;
  if (n.target == "aten.arange.default") return {zero, arg(n, 0), one};
  if (n.target == "aten.arange.start") return {arg(n, 0), arg(n, 1), one};
  return {arg(n, 0), arg(n, 1), arg(n, 2).is_none() ? one : arg(n, 2)};
}

// The value of a symbolic integer as a 0-d tensor: the IR has no op that reads a dim, so it is
// counted, sum(ones[max(e, 0)]) - sum(ones[max(-e, 0)]) (|e| elements, for sizes a small cost).
Expected<ValueId> dim_value(ImportContext& ctx, const DimExpr& e, DType dtype) {
  if (e.is_constant()) return ctx.scalar(static_cast<double>(e.constant_value()), dtype);
  ValueId parts[2];
  for (int k = 0; k < 2; ++k) {
    FullAttrs ones;
    ones.shape = {max(k == 0 ? e : -e, DimExpr(0))};
    ones.value = 1;
    ones.dtype = DType::kI64;
    KILN_ASSIGN_OR_RETURN(ValueId v, ctx.add(OpKind::kFull, {}, ones));
    ReduceAttrs all;
    KILN_ASSIGN_OR_RETURN(parts[k], ctx.add(OpKind::kReduceSum, {v}, all));
  }
  KILN_ASSIGN_OR_RETURN(ValueId r, ctx.add(OpKind::kSub, {parts[0], parts[1]}));
  return ctx.cast(r, dtype);
}


// arange: element i is start + i*step. The length is torch's where the metadata has it static;
// otherwise ceil((end - start) / step) over the (int or symbolic) start and end with an int step.
// A symbolic start is added to arange(0, step) as a counted value (see dim_value).
Status convert_arange(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(DType out, ctx.out_dtype(n));
  Range r = range_args(n);
  ArangeAttrs attrs;
  attrs.step = *number_arg(r.step);
  attrs.dtype = out;
  std::optional<double> start = number_arg(r.start);
  attrs.start = start.value_or(0);
  const TorchValue& len = n.meta.items[0];
  if (len.kind == Kind::kInt) {
    attrs.length = DimExpr(len.i);
  } else {
    KILN_ASSIGN_OR_RETURN(DimExpr b, ctx.dim(r.start));
    KILN_ASSIGN_OR_RETURN(DimExpr e, ctx.dim(r.end));
    const int64_t step = r.step.i;
    if (step > 0) {
      attrs.length = floordiv(e - b + DimExpr(step - 1), DimExpr(step));
    } else {
      attrs.length = floordiv(b - e + DimExpr(-step - 1), DimExpr(-step));
    }
  }
  KILN_ASSIGN_OR_RETURN(ValueId v, ctx.add(OpKind::kArange, {}, attrs));
  if (!start) {
    KILN_ASSIGN_OR_RETURN(DimExpr b, ctx.dim(r.start));
    KILN_ASSIGN_OR_RETURN(ValueId s, dim_value(ctx, b, out));
    KILN_ASSIGN_OR_RETURN(v, ctx.add(OpKind::kAdd, {v, s}));
  }
  ctx.set_output(v);
  return ok_status();
}

std::string check_arange(const ImportContext& ctx, const TorchNode& n) {
  Range r = range_args(n);
  if (!number_arg(r.step)) return str_cat("step ", r.step.to_string(), " is not a constant number");
  if (*number_arg(r.step) == 0) return "step must not be 0";
  const bool static_start = number_arg(r.start).has_value();
  if (!static_start && !is_int_like(ctx, r.start)) {
    return str_cat("start ", r.start.to_string(), " is not a number or a SymInt");
  }
  if (!number_arg(r.end) && !is_int_like(ctx, r.end)) {
    return str_cat("end ", r.end.to_string(), " is not a number or a SymInt");
  }
  if (n.meta.kind != Kind::kTensor || n.meta.items.size() != 1) return "arange without a 1-d result";
  Expected<DType> out = ctx.out_dtype(n);
  if (!out.ok()) return out.status().message();
  if (*out == DType::kBool) return "arange of bools is not supported";
  const bool static_len = n.meta.items[0].kind == Kind::kInt;
  if ((!static_start || !static_len) && r.step.kind != Kind::kInt) {
    return "a symbolic start or end needs an integer step";
  }
  if (!static_len && !(is_int_like(ctx, r.start) && is_int_like(ctx, r.end))) {
    return "a symbolic length needs integer start and end";
  }
  return "";
}

const Converter kConverters[] = {
    {"aten.arange.start_step", convert_arange, check_arange},
    {"aten.arange.start", convert_arange, check_arange},
    {"aten.arange.default", convert_arange, check_arange},
    {"aten.full.default", convert_full, check_full},
    {"aten.zeros.default", convert_sized<0>, check_sized},
    {"aten.ones.default", convert_sized<1>, check_sized},
    {"aten.empty.memory_format", convert_sized<0>, check_sized},
    {"aten.empty_permuted.default", convert_sized<0>, check_sized},
    {"aten.empty_strided.default", convert_sized<0>, check_sized},
    {"aten.full_like.default", convert_full_like, check_full_like},
    {"aten.zeros_like.default", convert_like<0>, check_like},
    {"aten.ones_like.default", convert_like<1>, check_like},
    {"aten.empty_like.default", convert_like<0>, check_like},
    {"aten.new_full.default", convert_new_full, check_new_full},
    {"aten.new_zeros.default", convert_new_sized<0>, check_new_sized},
    {"aten.new_ones.default", convert_new_sized<1>, check_new_sized},
    {"aten.new_empty.default", convert_new_sized<0>, check_new_sized},
    {"aten.scalar_tensor.default", convert_scalar_tensor, check_scalar_tensor},
    {"aten.fill.Scalar", convert_fill_scalar, check_full_like},
    {"aten.fill.Tensor", convert_fill_tensor, check_fill_tensor},
};

}  // namespace

std::span<const Converter> creation_converters() { return kConverters; }

}  // namespace kiln::importer
