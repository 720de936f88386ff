// Converters for reduce ATen ops: sum / mean / prod / amax / amin (and max / min, whole or along a
// dim with their indices), var / std / var_mean, argmax / argmin, cumsum, topk, any / all, and the
// composed logsumexp and linalg_vector_norm.
//
// Every reduction computes in the dtype torch gives its output (sum and prod of integers and bools
// in i64, mean with a dtype argument in that dtype), except where the IR op cannot hold the input
// dtype: bools are reduced as i32 by max / min / argmax / argmin and cast back.
#include <cmath>
#include <limits>

#include "converter.h"

namespace kiln::importer {
namespace {

using Kind = TorchValue::Kind;

// ---- Argument helpers ------------------------------------------------------------------------

// An int[]? dim argument: None or [] is every axis; a single int is one axis.
std::optional<std::vector<int64_t>> dims_arg(const TorchValue& v) {
  if (v.is_none()) return std::vector<int64_t>{};
  return ImportContext::static_ints(v);
}

// The IR axes for `dims` over a tensor of rank `rank` (a 0-d tensor takes dim 0 / -1 and reduces
// nothing, which the IR writes as no axes).
std::vector<int64_t> ir_axes(int64_t rank, const std::vector<int64_t>& dims) {
  return rank == 0 ? std::vector<int64_t>{} : dims;
}

bool bool_arg(const TorchValue& v, bool dflt) {
  if (v.kind == Kind::kBool) return v.b;
  if (v.kind == Kind::kInt) return v.i != 0;
  return dflt;
}


std::string check_keepdim(const TorchValue& v) {
  if (v.is_none() || v.kind == Kind::kBool) return "";
  return str_cat("keepdim ", v.to_string(), " is not a constant bool");
}

// Dim arguments valid for a tensor of rank `rank` (torch has checked them; this guards the IR).
std::string check_dims(const TorchValue& v, int64_t rank) {
  std::optional<std::vector<int64_t>> dims = dims_arg(v);
  if (!dims) return str_cat("the dims ", v.to_string(), " are not constant ints");
  const int64_t r = std::max<int64_t>(rank, 1);
  std::vector<bool> seen(static_cast<size_t>(r), false);
  for (int64_t d : *dims) {
    if (d < -r || d >= r) return str_cat("dim ", d, " is out of range for rank ", rank);
    int64_t k = d < 0 ? d + r : d;
    if (seen[static_cast<size_t>(k)]) return str_cat("dim ", d, " is listed twice");
    seen[static_cast<size_t>(k)] = true;
  }
  return "";
}

// Whether reducing `dims` of tensor `x` reduces a dim that is statically 0 (no identity for
// max / min / argmax).
bool reduces_empty(const ImportContext& ctx, const TorchValue& x, const std::vector<int64_t>& dims) {
  const TorchValue& m = ctx.meta(x);
  if (m.kind != Kind::kTensor) return false;
  const int64_t rank = static_cast<int64_t>(m.items.size());
  for (int64_t d = 0; d < rank; ++d) {
    bool reduced = dims.empty();
    for (int64_t k : dims) reduced |= (k < 0 ? k + rank : k) == d;
    const TorchValue& s = m.items[static_cast<size_t>(d)];
    if (reduced && s.kind == Kind::kInt && s.i == 0) return true;
  }
  return false;
}

// ---- Building helpers ------------------------------------------------------------------------

Expected<ValueId> reduce_op(ImportContext& ctx, OpKind op, ValueId x, std::vector<int64_t> axes,
                            bool keepdim) {
  ReduceAttrs attrs;
  attrs.axes = ir_axes(ctx.type(x).rank(), axes);
  attrs.keepdim = keepdim;
  return ctx.add(op, {x}, attrs);
}

Expected<ValueId> reshape(ImportContext& ctx, ValueId x, Shape shape) {
  ReshapeAttrs attrs;
  attrs.shape = std::move(shape);
  return ctx.add(OpKind::kReshape, {x}, attrs);
}

// The dtype max / min / argmax / argmin compute in for a tensor of dtype `t` (bool is not numeric
// for the IR; 0/1 in i32 orders the same way).
DType ordered_dtype(DType t) { return t == DType::kBool ? DType::kI32 : t; }

// ---- sum / mean / prod / amax / amin ---------------------------------------------------------

// sum.dim_IntList(self, dim?, keepdim, dtype), mean.dim: the same layout.
template <OpKind kOp>
Status convert_reduce_dims(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(DType out, ctx.out_dtype(n));
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0), out));
  KILN_ASSIGN_OR_RETURN(ValueId r, reduce_op(ctx, kOp, x, *dims_arg(arg(n, 1)),
                                             bool_arg(arg(n, 2), false)));
  ctx.set_output(r);
  return ok_status();
}

std::string check_reduce_dims(const ImportContext& ctx, const TorchNode& n) {
  std::string r = check_dims(arg(n, 1), ctx.rank_of(arg(n, 0)));
  if (!r.empty()) return r;
  return check_keepdim(arg(n, 2));
}

// sum.default(self, dtype), mean.default, prod.default: every axis.
template <OpKind kOp>
Status convert_reduce_all(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(DType out, ctx.out_dtype(n));
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0), out));
  KILN_ASSIGN_OR_RETURN(ValueId r, reduce_op(ctx, kOp, x, {}, false));
  ctx.set_output(r);
  return ok_status();
}

// prod.dim_int(self, dim, keepdim, dtype).
Status convert_prod_dim(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(DType out, ctx.out_dtype(n));
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0), out));
  KILN_ASSIGN_OR_RETURN(ValueId r, reduce_op(ctx, OpKind::kReduceProd, x, *dims_arg(arg(n, 1)),
                                             bool_arg(arg(n, 2), false)));
  ctx.set_output(r);
  return ok_status();
}

std::string check_one_dim(const ImportContext& ctx, const TorchNode& n) {
  if (!ImportContext::static_int(arg(n, 1)) || arg(n, 1).kind != Kind::kInt) {
    return str_cat("dim ", arg(n, 1).to_string(), " is not a constant int");
  }
  std::string r = check_dims(arg(n, 1), ctx.rank_of(arg(n, 0)));
  if (!r.empty()) return r;
  return check_keepdim(arg(n, 2));
}

// amax / amin(self, dim[], keepdim) and max / min.default(self): in the input's dtype.
template <OpKind kOp>
Status convert_extreme(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(DType out, ctx.out_dtype(n));
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0), ordered_dtype(out)));
  std::vector<int64_t> dims = n.args.size() > 1 ? *dims_arg(arg(n, 1)) : std::vector<int64_t>{};
  KILN_ASSIGN_OR_RETURN(ValueId r, reduce_op(ctx, kOp, x, dims, bool_arg(arg(n, 2), false)));
  KILN_ASSIGN_OR_RETURN(r, ctx.cast(r, out));
  ctx.set_output(r);
  return ok_status();
}

std::string check_extreme(const ImportContext& ctx, const TorchNode& n) {
  std::vector<int64_t> dims;
  if (n.args.size() > 1) {
    std::string r = check_dims(arg(n, 1), ctx.rank_of(arg(n, 0)));
    if (r.empty()) r = check_keepdim(arg(n, 2));
    if (!r.empty()) return r;
    dims = *dims_arg(arg(n, 1));
  }
  if (reduces_empty(ctx, arg(n, 0), dims)) return "it reduces an empty dim (no identity)";
  return "";
}

// max.dim / min.dim(self, dim, keepdim) -> (values, indices).
template <OpKind kValues, OpKind kIndices>
Status convert_extreme_dim(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(DType out, ctx.out_dtype(n, 0));
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0), ordered_dtype(out)));
  const int64_t dim = arg(n, 1).i;
  const bool keepdim = bool_arg(arg(n, 2), false);
  if (ctx.type(x).rank() == 0) {
    // A 0-d tensor: its value, and index 0.
    KILN_ASSIGN_OR_RETURN(ValueId v, ctx.cast(x, out));
    KILN_ASSIGN_OR_RETURN(ValueId i, ctx.scalar(0, DType::kI64));
    ctx.set_outputs({v, i});
    return ok_status();
  }
  KILN_ASSIGN_OR_RETURN(ValueId v, reduce_op(ctx, kValues, x, {dim}, keepdim));
  KILN_ASSIGN_OR_RETURN(v, ctx.cast(v, out));
  ArgReduceAttrs attrs;
  attrs.axis = dim;
  attrs.keepdim = keepdim;
  KILN_ASSIGN_OR_RETURN(ValueId i, ctx.add(kIndices, {x}, attrs));
  KILN_ASSIGN_OR_RETURN(DType idx, ctx.out_dtype(n, 1));
  KILN_ASSIGN_OR_RETURN(i, ctx.cast(i, idx));
  ctx.set_outputs({v, i});
  return ok_status();
}

std::string check_extreme_dim(const ImportContext& ctx, const TorchNode& n) {
  std::string r = check_one_dim(ctx, n);
  if (!r.empty()) return r;
  if (reduces_empty(ctx, arg(n, 0), {arg(n, 1).i})) return "it reduces an empty dim";
  return "";
}

// ---- var / std -------------------------------------------------------------------------------

// var.correction(self, dim?, correction?, keepdim); std = sqrt(var); var_mean -> (var, mean).
enum class VarKind { kVar, kStd, kVarMean };

template <VarKind kKind>
Status convert_var(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(DType out, ctx.out_dtype(n, 0));
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0), out));
  VarAttrs attrs;
  attrs.axes = ir_axes(ctx.type(x).rank(), *dims_arg(arg(n, 1)));
  attrs.keepdim = bool_arg(arg(n, 3), false);
  attrs.correction = number_arg(arg(n, 2)).value_or(1.0);
  KILN_ASSIGN_OR_RETURN(ValueId r, ctx.add(OpKind::kVar, {x}, attrs));
  if (kKind == VarKind::kStd) {
    KILN_ASSIGN_OR_RETURN(r, ctx.add(OpKind::kSqrt, {r}));
  }
  if (kKind != VarKind::kVarMean) {
    ctx.set_output(r);
    return ok_status();
  }
  KILN_ASSIGN_OR_RETURN(ValueId m, reduce_op(ctx, OpKind::kReduceMean, x, attrs.axes,
                                             attrs.keepdim));
  ctx.set_outputs({r, m});
  return ok_status();
}

std::string check_var(const ImportContext& ctx, const TorchNode& n) {
  std::string r = check_dims(arg(n, 1), ctx.rank_of(arg(n, 0)));
  if (!r.empty()) return r;
  if (!arg(n, 2).is_none() && !number_arg(arg(n, 2))) {
    return str_cat("correction ", arg(n, 2).to_string(), " is not a constant number");
  }
  r = check_keepdim(arg(n, 3));
  if (!r.empty()) return r;
  Expected<DType> t = ctx.dtype_of(arg(n, 0));
  if (!t.ok() || !dtype_is_float(*t)) return "var / std need a float input";
  return "";
}

// ---- argmax / argmin -------------------------------------------------------------------------

// argmax.default(self, dim?, keepdim): dim None reduces the flattened tensor.
template <OpKind kOp>
Status convert_arg(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(DType in, ctx.dtype_of(arg(n, 0)));
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0), ordered_dtype(in)));
  const bool keepdim = bool_arg(arg(n, 2), false);
  const int64_t rank = ctx.type(x).rank();
  ArgReduceAttrs attrs;
  ValueId r;
  if (arg(n, 1).is_none() || rank == 0) {
    KILN_ASSIGN_OR_RETURN(x, reshape(ctx, x, {shape_numel(ctx.type(x).shape)}));
    attrs.axis = 0;
    KILN_ASSIGN_OR_RETURN(r, ctx.add(kOp, {x}, attrs));
    if (keepdim && arg(n, 1).is_none() && rank > 0) {
      KILN_ASSIGN_OR_RETURN(r, reshape(ctx, r, Shape(static_cast<size_t>(rank), DimExpr(1))));
    }
  } else {
    attrs.axis = arg(n, 1).i;
    attrs.keepdim = keepdim;
    KILN_ASSIGN_OR_RETURN(r, ctx.add(kOp, {x}, attrs));
  }
  ctx.set_output(r);
  return ok_status();
}

std::string check_arg(const ImportContext& ctx, const TorchNode& n) {
  const TorchValue& dim = arg(n, 1);
  if (!dim.is_none() && dim.kind != Kind::kInt) return str_cat("dim ", dim.to_string(), " is not a constant int");
  std::string r = dim.is_none() ? "" : check_dims(dim, ctx.rank_of(arg(n, 0)));
  if (r.empty()) r = check_keepdim(arg(n, 2));
  if (!r.empty()) return r;
  std::vector<int64_t> dims;
  if (!dim.is_none()) dims.push_back(dim.i);
  if (reduces_empty(ctx, arg(n, 0), dims)) return "it reduces an empty dim";
  return "";
}

// ---- cumsum / topk ---------------------------------------------------------------------------

// cumsum.default(self, dim, dtype): in the output dtype (i64 for integers and bools).
Status convert_cumsum(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(DType out, ctx.out_dtype(n));
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0), out));
  AxisAttrs attrs;
  attrs.axis = arg(n, 1).i;
  KILN_ASSIGN_OR_RETURN(ValueId r, ctx.add(OpKind::kCumsum, {x}, attrs));
  ctx.set_output(r);
  return ok_status();
}

std::string check_cumsum(const ImportContext& ctx, const TorchNode& n) {
  if (arg(n, 1).kind != Kind::kInt) return str_cat("dim ", arg(n, 1).to_string(), " is not a constant int");
  return check_dims(arg(n, 1), ctx.rank_of(arg(n, 0)));
}

// topk.default(self, k, dim, largest, sorted) -> (values, indices). The IR sorts always, which
// sorted=False allows.
Status convert_topk(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0)));
  TopKAttrs attrs;
  attrs.k = arg(n, 1).i;
  attrs.axis = arg(n, 2).is_none() ? -1 : arg(n, 2).i;
  attrs.largest = bool_arg(arg(n, 3), true);
  KILN_ASSIGN_OR_RETURN(std::vector<ValueId> r, ctx.add_multi(OpKind::kTopK, {x}, attrs));
  ctx.set_outputs(std::move(r));
  return ok_status();
}

std::string check_topk(const ImportContext& ctx, const TorchNode& n) {
  if (arg(n, 1).kind != Kind::kInt) return str_cat("k ", arg(n, 1).to_string(), " is not a constant int");
  if (!arg(n, 2).is_none() && arg(n, 2).kind != Kind::kInt) return "dim is not a constant int";
  if (!arg(n, 3).is_none() && arg(n, 3).kind != Kind::kBool) return "largest is not a constant bool";
  const int64_t rank = ctx.rank_of(arg(n, 0));
  if (rank < 1) return "topk of a 0-d tensor is not supported";
  if (!arg(n, 2).is_none()) {
    std::string r = check_dims(arg(n, 2), rank);
    if (!r.empty()) return r;
  }
  Expected<DType> t = ctx.dtype_of(arg(n, 0));
  if (!t.ok() || *t == DType::kBool) return "topk needs a float or integer input";
  return "";
}

// ---- any / all -------------------------------------------------------------------------------

// any = reduce_max and all = reduce_min over (x != 0) as i32; the result in torch's dtype (bool,
// or u8 for u8 inputs). Layouts: any.dim(self, dim, keepdim), any.dims(self, dim?, keepdim),
// any.default(self).
template <OpKind kOp>
Status convert_any_all(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(DType out, ctx.out_dtype(n));
  KILN_ASSIGN_OR_RETURN(DType in, ctx.dtype_of(arg(n, 0)));
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0)));
  if (in != DType::kBool) {
    KILN_ASSIGN_OR_RETURN(ValueId zero, ctx.scalar(0, in));
    KILN_ASSIGN_OR_RETURN(x, ctx.add(OpKind::kNotEqual, {x, zero}));
  }
  KILN_ASSIGN_OR_RETURN(x, ctx.cast(x, DType::kI32));
  std::vector<int64_t> dims = n.args.size() > 1 ? *dims_arg(arg(n, 1)) : std::vector<int64_t>{};
  KILN_ASSIGN_OR_RETURN(ValueId r, reduce_op(ctx, kOp, x, dims, bool_arg(arg(n, 2), false)));
  KILN_ASSIGN_OR_RETURN(r, ctx.cast(r, out));
  ctx.set_output(r);
  return ok_status();
}

std::string check_any_all(const ImportContext& ctx, const TorchNode& n) {
  std::vector<int64_t> dims;
  if (n.args.size() > 1) {
    std::string r = check_dims(arg(n, 1), ctx.rank_of(arg(n, 0)));
    if (r.empty()) r = check_keepdim(arg(n, 2));
    if (!r.empty()) return r;
    dims = *dims_arg(arg(n, 1));
  }
  // reduce_max / reduce_min have no identity: an empty reduction (any = false, all = true) would
  // fail at run time.
  if (reduces_empty(ctx, arg(n, 0), dims)) return "it reduces an empty dim";
  return "";
}

// ---- logsumexp / linalg_vector_norm (composed) -----------------------------------------------

// logsumexp.default(self, dim[], keepdim) = m + log(sum(exp(x - m))) with m = max over dim, and
// m = 0 where it is infinite (as torch does, so all -inf rows give -inf and +inf gives +inf/nan
// the same way as eager).
Status convert_logsumexp(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(DType out, ctx.out_dtype(n));
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0), out));
  std::vector<int64_t> dims = *dims_arg(arg(n, 1));
  const bool keepdim = bool_arg(arg(n, 2), false);
  KILN_ASSIGN_OR_RETURN(ValueId m, reduce_op(ctx, OpKind::kReduceMax, x, dims, true));
  KILN_ASSIGN_OR_RETURN(ValueId am, ctx.add(OpKind::kAbs, {m}));
  KILN_ASSIGN_OR_RETURN(ValueId inf, ctx.scalar(std::numeric_limits<double>::infinity(), out));
  KILN_ASSIGN_OR_RETURN(ValueId is_inf, ctx.add(OpKind::kEqual, {am, inf}));
  KILN_ASSIGN_OR_RETURN(ValueId zero, ctx.scalar(0, out));
  KILN_ASSIGN_OR_RETURN(m, ctx.add(OpKind::kWhere, {is_inf, zero, m}));
  KILN_ASSIGN_OR_RETURN(ValueId d, ctx.add(OpKind::kSub, {x, m}));
  KILN_ASSIGN_OR_RETURN(d, ctx.add(OpKind::kExp, {d}));
  KILN_ASSIGN_OR_RETURN(ValueId s, reduce_op(ctx, OpKind::kReduceSum, d, dims, keepdim));
  KILN_ASSIGN_OR_RETURN(s, ctx.add(OpKind::kLog, {s}));
  if (!keepdim) {
    KILN_ASSIGN_OR_RETURN(m, reshape(ctx, m, ctx.type(s).shape));
  }
  KILN_ASSIGN_OR_RETURN(ValueId r, ctx.add(OpKind::kAdd, {s, m}));
  ctx.set_output(r);
  return ok_status();
}

std::string check_logsumexp(const ImportContext& ctx, const TorchNode& n) {
  std::string r = check_dims(arg(n, 1), ctx.rank_of(arg(n, 0)));
  if (r.empty()) r = check_keepdim(arg(n, 2));
  if (!r.empty()) return r;
  std::vector<int64_t> dims = *dims_arg(arg(n, 1));
  if (reduces_empty(ctx, arg(n, 0), dims)) return "it reduces an empty dim";
  return "";
}

// linalg_vector_norm.default(self, ord, dim?, keepdim, dtype) for ord 2, 1, inf and -inf. Half
// inputs compute in f32 (as torch's opmath) and round once.
Status convert_vector_norm(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(DType out, ctx.out_dtype(n));
  const double ord = *number_arg(arg(n, 1));
  DType compute = (out == DType::kF16 || out == DType::kBF16) ? DType::kF32 : out;
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0), out));
  KILN_ASSIGN_OR_RETURN(x, ctx.cast(x, compute));
  std::vector<int64_t> dims = *dims_arg(arg(n, 2));
  const bool keepdim = bool_arg(arg(n, 3), false);
  ValueId r;
  KILN_ASSIGN_OR_RETURN(ValueId a, ctx.add(OpKind::kAbs, {x}));
  if (ord == 2) {
    KILN_ASSIGN_OR_RETURN(ValueId sq, ctx.add(OpKind::kMul, {x, x}));
    KILN_ASSIGN_OR_RETURN(r, reduce_op(ctx, OpKind::kReduceSum, sq, dims, keepdim));
    KILN_ASSIGN_OR_RETURN(r, ctx.add(OpKind::kSqrt, {r}));
  } else if (ord == 1) {
    KILN_ASSIGN_OR_RETURN(r, reduce_op(ctx, OpKind::kReduceSum, a, dims, keepdim));
  } else {
    OpKind op = ord > 0 ? OpKind::kReduceMax : OpKind::kReduceMin;
    KILN_ASSIGN_OR_RETURN(r, reduce_op(ctx, op, a, dims, keepdim));
  }
  KILN_ASSIGN_OR_RETURN(r, ctx.cast(r, out));
  ctx.set_output(r);
  return ok_status();
}

std::string check_vector_norm(const ImportContext& ctx, const TorchNode& n) {
  std::optional<double> ord = number_arg(arg(n, 1));
  if (!ord) return str_cat("ord ", arg(n, 1).to_string(), " is not a constant number");
  const bool is_inf = std::isinf(*ord);
  if (*ord != 2 && *ord != 1 && !is_inf) return str_cat("ord ", *ord, " is not supported (only 1, 2, inf, -inf)");
  std::string r = check_dims(arg(n, 2), ctx.rank_of(arg(n, 0)));
  if (r.empty()) r = check_keepdim(arg(n, 3));
  if (!r.empty()) return r;
  Expected<DType> t = ctx.out_dtype(n);
  if (!t.ok() || !dtype_is_float(*t)) return "vector_norm needs a float result";
  if (is_inf && reduces_empty(ctx, arg(n, 0), *dims_arg(arg(n, 2)))) {
    return "an inf norm over an empty dim is not supported";
  }
  return "";
}

const Converter kConverters[] = {
    {"aten.sum.dim_IntList", convert_reduce_dims<OpKind::kReduceSum>, check_reduce_dims},
    {"aten.sum.default", convert_reduce_all<OpKind::kReduceSum>},
    {"aten.mean.dim", convert_reduce_dims<OpKind::kReduceMean>, check_reduce_dims},
    {"aten.mean.default", convert_reduce_all<OpKind::kReduceMean>},
    {"aten.prod.dim_int", convert_prod_dim, check_one_dim},
    {"aten.prod.default", convert_reduce_all<OpKind::kReduceProd>},
    {"aten.amax.default", convert_extreme<OpKind::kReduceMax>, check_extreme},
    {"aten.amin.default", convert_extreme<OpKind::kReduceMin>, check_extreme},
    {"aten.max.default", convert_extreme<OpKind::kReduceMax>, check_extreme},
    {"aten.min.default", convert_extreme<OpKind::kReduceMin>, check_extreme},
    {"aten.max.dim", convert_extreme_dim<OpKind::kReduceMax, OpKind::kArgMax>, check_extreme_dim},
    {"aten.min.dim", convert_extreme_dim<OpKind::kReduceMin, OpKind::kArgMin>, check_extreme_dim},
    {"aten.var.correction", convert_var<VarKind::kVar>, check_var},
    {"aten.std.correction", convert_var<VarKind::kStd>, check_var},
    {"aten.var_mean.correction", convert_var<VarKind::kVarMean>, check_var},
    {"aten.argmax.default", convert_arg<OpKind::kArgMax>, check_arg},
    {"aten.argmin.default", convert_arg<OpKind::kArgMin>, check_arg},
    {"aten.cumsum.default", convert_cumsum, check_cumsum},
    {"aten.topk.default", convert_topk, check_topk},
    {"aten.any.dim", convert_any_all<OpKind::kReduceMax>, check_any_all},
    {"aten.any.dims", convert_any_all<OpKind::kReduceMax>, check_any_all},
    {"aten.any.default", convert_any_all<OpKind::kReduceMax>, check_any_all},
    {"aten.all.dim", convert_any_all<OpKind::kReduceMin>, check_any_all},
    {"aten.all.dims", convert_any_all<OpKind::kReduceMin>, check_any_all},
    {"aten.all.default", convert_any_all<OpKind::kReduceMin>, check_any_all},
    {"aten.logsumexp.default", convert_logsumexp, check_logsumexp},
    {"aten.linalg_vector_norm.default", convert_vector_norm, check_vector_norm},
};

}  // namespace

std::span<const Converter> reduce_converters() { return kConverters; }

}  // namespace kiln::importer
