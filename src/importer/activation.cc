// Converters for activation ATen ops: relu, gelu, silu, sigmoid, the hard* family, leaky_relu, elu
// (with selu's scale), softplus, mish, the clamps (Scalar and Tensor bounds) and glu.
// relu6 and prelu.default never reach the importer (torch lowers relu6 to hardtanh, prelu to
// _prelu_kernel, which torch.export further lowers to gt/mul/where); _prelu_kernel, glu, clamp_min
// and clamp_max arrive from graphs traced below torch.export (make_fx, aot_autograd).
#include <cmath>

#include "converter.h"

namespace kiln::importer {
namespace {

using Kind = TorchValue::Kind;


// "" if every listed argument is a constant number (or None where allowed).
std::string check_numbers(const TorchNode& n, std::initializer_list<size_t> indices,
                          bool none_ok = false) {
  for (size_t i : indices) {
    const TorchValue& v = arg(n, i);
    if (none_ok && v.is_none()) continue;
    if (!number_arg(v).has_value()) {
      return str_cat("argument ", i, " (", v.to_string(), ") is not a constant number");
    }
  }
  return "";
}

std::string check_tensor_input(const ImportContext& ctx, const TorchNode& n) {
  if (!ctx.is_tensor(arg(n, 0))) return "its input is not a tensor";
  return "";
}

// out = op(x) with x cast to the output dtype.
Status unary(ImportContext& ctx, const TorchNode& n, OpKind op, Attrs attrs = NoAttrs{}) {
  KILN_ASSIGN_OR_RETURN(DType out, ctx.out_dtype(n));
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0), out));
  KILN_ASSIGN_OR_RETURN(ValueId r, ctx.add(op, {x}, std::move(attrs)));
  ctx.set_output(r);
  return ok_status();
}

template <OpKind kOp>
Status convert_unary(ImportContext& ctx, const TorchNode& n) {
  return unary(ctx, n, kOp);
}

// Ops that only take float tensors in the IR: an integer output dtype is refused.
std::string check_float_out(const ImportContext& ctx, const TorchNode& n) {
  std::string r = check_tensor_input(ctx, n);
  if (!r.empty()) return r;
  Expected<DType> out = ctx.out_dtype(n);
  if (!out.ok()) return out.status().message();
  if (!dtype_is_float(*out)) return str_cat("it is not supported for ", dtype_name(*out), " tensors");
  return "";
}

// gelu(x, approximate)
Status convert_gelu(ImportContext& ctx, const TorchNode& n) {
  GeluAttrs attrs;
  attrs.approximate = arg(n, 1).kind == Kind::kString && arg(n, 1).s == "tanh" ? GeluApprox::kTanh
                                                                              : GeluApprox::kNone;
  return unary(ctx, n, OpKind::kGelu, attrs);
}

std::string check_gelu(const ImportContext& ctx, const TorchNode& n) {
  std::string r = check_float_out(ctx, n);
  if (!r.empty()) return r;
  const TorchValue& a = arg(n, 1);
  if (a.is_none() || (a.kind == Kind::kString && (a.s == "none" || a.s == "tanh"))) return "";
  return str_cat("approximate=", a.to_string(), " is not supported");
}

// leaky_relu(x, negative_slope)
Status convert_leaky_relu(ImportContext& ctx, const TorchNode& n) {
  LeakyReluAttrs attrs;
  if (number_arg(arg(n, 1))) attrs.negative_slope = *number_arg(arg(n, 1));
  return unary(ctx, n, OpKind::kLeakyRelu, attrs);
}

std::string check_leaky_relu(const ImportContext& ctx, const TorchNode& n) {
  std::string r = check_float_out(ctx, n);
  if (!r.empty()) return r;
  return check_numbers(n, {1}, /*none_ok=*/true);
}

// elu(x, alpha, scale, input_scale) = scale * (x > 0 ? x : alpha * (exp(x * input_scale) - 1)).
// With input_scale 1 this is the IR elu (times scale, for selu); otherwise it is composed.
Status convert_elu(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(DType out, ctx.out_dtype(n));
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0), out));
  const double alpha = number_arg(arg(n, 1)) ? *number_arg(arg(n, 1)) : 1.0;
  const double scale = number_arg(arg(n, 2)) ? *number_arg(arg(n, 2)) : 1.0;
  const double input_scale = number_arg(arg(n, 3)) ? *number_arg(arg(n, 3)) : 1.0;
  ValueId r;
  if (input_scale == 1.0) {
    EluAttrs attrs;
    attrs.alpha = alpha;
    KILN_ASSIGN_OR_RETURN(r, ctx.add(OpKind::kElu, {x}, attrs));
  } else {
    KILN_ASSIGN_OR_RETURN(ValueId zero, ctx.scalar(0.0, out));
    KILN_ASSIGN_OR_RETURN(ValueId one, ctx.scalar(1.0, out));
    KILN_ASSIGN_OR_RETURN(ValueId is, ctx.scalar(input_scale, out));
    KILN_ASSIGN_OR_RETURN(ValueId a, ctx.scalar(alpha, out));
    KILN_ASSIGN_OR_RETURN(ValueId pos, ctx.add(OpKind::kGreater, {x, zero}));
    KILN_ASSIGN_OR_RETURN(ValueId neg, ctx.add(OpKind::kMul, {x, is}));
    KILN_ASSIGN_OR_RETURN(neg, ctx.add(OpKind::kExp, {neg}));
    KILN_ASSIGN_OR_RETURN(neg, ctx.add(OpKind::kSub, {neg, one}));
    KILN_ASSIGN_OR_RETURN(neg, ctx.add(OpKind::kMul, {neg, a}));
    KILN_ASSIGN_OR_RETURN(r, ctx.add(OpKind::kWhere, {pos, x, neg}));
  }
  if (scale != 1.0) {
    KILN_ASSIGN_OR_RETURN(ValueId s, ctx.scalar(scale, out));
    KILN_ASSIGN_OR_RETURN(r, ctx.add(OpKind::kMul, {r, s}));
  }
  ctx.set_output(r);
  return ok_status();
}

std::string check_elu(const ImportContext& ctx, const TorchNode& n) {
  std::string r = check_float_out(ctx, n);
  if (!r.empty()) return r;
  return check_numbers(n, {1, 2, 3}, /*none_ok=*/true);
}

// softplus(x, beta, threshold)
Status convert_softplus(ImportContext& ctx, const TorchNode& n) {
  SoftplusAttrs attrs;
  if (number_arg(arg(n, 1))) attrs.beta = *number_arg(arg(n, 1));
  if (number_arg(arg(n, 2))) attrs.threshold = *number_arg(arg(n, 2));
  return unary(ctx, n, OpKind::kSoftplus, attrs);
}

std::string check_softplus(const ImportContext& ctx, const TorchNode& n) {
  std::string r = check_float_out(ctx, n);
  if (!r.empty()) return r;
  r = check_numbers(n, {1, 2}, /*none_ok=*/true);
  if (!r.empty()) return r;
  if (number_arg(arg(n, 1)) && *number_arg(arg(n, 1)) == 0.0) return "beta = 0 is not supported";
  return "";
}

// clamp(x, min, max) with Scalar bounds (either may be None), in the output dtype. min > max gives
// max everywhere in torch: clamp to min, then to max, which the IR's single clamp refuses.
Status clamp_scalars(ImportContext& ctx, const TorchNode& n, const TorchValue& lo,
                     const TorchValue& hi) {
  KILN_ASSIGN_OR_RETURN(DType out, ctx.out_dtype(n));
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0), out));
  ClampAttrs attrs;
  if (number_arg(lo)) attrs.min = *number_arg(lo);
  if (number_arg(hi)) attrs.max = *number_arg(hi);
  ValueId r;
  if (attrs.min && attrs.max && *attrs.min > *attrs.max) {
    ClampAttrs first, second;
    first.min = attrs.min;
    second.max = attrs.max;
    KILN_ASSIGN_OR_RETURN(r, ctx.add(OpKind::kClamp, {x}, first));
    KILN_ASSIGN_OR_RETURN(r, ctx.add(OpKind::kClamp, {r}, second));
  } else {
    KILN_ASSIGN_OR_RETURN(r, ctx.add(OpKind::kClamp, {x}, attrs));
  }
  ctx.set_output(r);
  return ok_status();
}

std::string check_numeric_out(const ImportContext& ctx, const TorchNode& n) {
  std::string r = check_tensor_input(ctx, n);
  if (!r.empty()) return r;
  Expected<DType> out = ctx.out_dtype(n);
  if (!out.ok()) return out.status().message();
  if (*out == DType::kBool) return "it is not supported for bool tensors";
  return "";
}

// clamp.default(x, min?, max?) and hardtanh(x, min_val, max_val).
Status convert_clamp(ImportContext& ctx, const TorchNode& n) {
  return clamp_scalars(ctx, n, arg(n, 1), arg(n, 2));
}

std::string check_clamp(const ImportContext& ctx, const TorchNode& n) {
  std::string r = check_numeric_out(ctx, n);
  if (!r.empty()) return r;
  return check_numbers(n, {1, 2}, /*none_ok=*/true);
}

Status convert_clamp_min(ImportContext& ctx, const TorchNode& n) {
  return clamp_scalars(ctx, n, arg(n, 1), TorchValue{});
}

Status convert_clamp_max(ImportContext& ctx, const TorchNode& n) {
  return clamp_scalars(ctx, n, TorchValue{}, arg(n, 1));
}

std::string check_clamp_bound(const ImportContext& ctx, const TorchNode& n) {
  std::string r = check_numeric_out(ctx, n);
  if (!r.empty()) return r;
  return check_numbers(n, {1});
}

// clamp.Tensor(x, min?, max?): minimum(maximum(x, min), max), all in the promoted output dtype
// (which also broadcasts x with the bounds, as torch does). clamp_min/clamp_max.Tensor likewise.
Status clamp_tensors(ImportContext& ctx, const TorchNode& n, const TorchValue& lo,
                     const TorchValue& hi) {
  KILN_ASSIGN_OR_RETURN(DType out, ctx.out_dtype(n));
  KILN_ASSIGN_OR_RETURN(ValueId r, ctx.tensor(arg(n, 0), out));
  if (!lo.is_none()) {
    KILN_ASSIGN_OR_RETURN(ValueId m, ctx.tensor(lo, out));
    KILN_ASSIGN_OR_RETURN(r, ctx.add(OpKind::kMaximum, {r, m}));
  }
  if (!hi.is_none()) {
    KILN_ASSIGN_OR_RETURN(ValueId m, ctx.tensor(hi, out));
    KILN_ASSIGN_OR_RETURN(r, ctx.add(OpKind::kMinimum, {r, m}));
  }
  ctx.set_output(r);
  return ok_status();
}

std::string check_clamp_tensor(const ImportContext& ctx, const TorchNode& n) {
  std::string r = check_numeric_out(ctx, n);
  if (!r.empty()) return r;
  for (size_t i : {1, 2}) {
    const TorchValue& b = arg(n, i);
    if (b.is_none() || number_arg(b).has_value() || ctx.is_tensor(b)) continue;
    return str_cat("bound ", b.to_string(), " is not a tensor or a constant number");
  }
  if (arg(n, 1).is_none() && arg(n, 2).is_none()) return "clamp without bounds";
  return "";
}

std::string check_clamp_tensor_bound(const ImportContext& ctx, const TorchNode& n) {
  std::string r = check_numeric_out(ctx, n);
  if (!r.empty()) return r;
  if (!ctx.is_tensor(arg(n, 1)) && !number_arg(arg(n, 1))) return "the bound is not a tensor";
  return "";
}

// glu(x, dim) = a * sigmoid(b) where a, b are the halves of x along dim.
Status convert_glu(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(DType out, ctx.out_dtype(n));
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0), out));
  const int64_t rank = ctx.rank_of(arg(n, 0));
  int64_t axis = *ImportContext::static_int(arg(n, 1));
  if (axis < 0) axis += rank;
  const DimExpr size = ctx.type(x).shape[static_cast<size_t>(axis)];
  SplitAttrs attrs;
  attrs.axis = axis;
  DimExpr half = floordiv(size, DimExpr(2));
  attrs.sizes = {half, half};
  KILN_ASSIGN_OR_RETURN(std::vector<ValueId> parts, ctx.add_multi(OpKind::kSplit, {x}, attrs));
  KILN_ASSIGN_OR_RETURN(ValueId g, ctx.add(OpKind::kSigmoid, {parts[1]}));
  KILN_ASSIGN_OR_RETURN(ValueId r, ctx.add(OpKind::kMul, {parts[0], g}));
  ctx.set_output(r);
  return ok_status();
}

std::string check_glu(const ImportContext& ctx, const TorchNode& n) {
  std::string r = check_float_out(ctx, n);
  if (!r.empty()) return r;
  const int64_t rank = ctx.rank_of(arg(n, 0));
  std::optional<int64_t> dim = ImportContext::static_int(arg(n, 1));
  if (!dim) return "dim is not a constant";
  if (rank < 1 || *dim < -rank || *dim >= rank) return str_cat("dim ", *dim, " is out of range");
  const TorchValue& size = ctx.meta(arg(n, 0)).items[static_cast<size_t>(*dim < 0 ? *dim + rank : *dim)];
  if (size.kind != Kind::kInt) return "glu over a symbolic dim is not supported";
  if (size.i % 2 != 0) return str_cat("the size ", size.i, " of dim ", *dim, " is odd");
  return "";
}

// _prelu_kernel(x, weight) = where(x > 0, x, x * weight), weight already broadcastable to x
// (torch's prelu reshapes it to [1, C, 1, ...] first).
Status convert_prelu_kernel(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(DType out, ctx.out_dtype(n));
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0), out));
  KILN_ASSIGN_OR_RETURN(ValueId w, ctx.tensor(arg(n, 1), out));
  KILN_ASSIGN_OR_RETURN(ValueId zero, ctx.scalar(0.0, out));
  KILN_ASSIGN_OR_RETURN(ValueId pos, ctx.add(OpKind::kGreater, {x, zero}));
  KILN_ASSIGN_OR_RETURN(ValueId neg, ctx.add(OpKind::kMul, {x, w}));
  KILN_ASSIGN_OR_RETURN(ValueId r, ctx.add(OpKind::kWhere, {pos, x, neg}));
  ctx.set_output(r);
  return ok_status();
}

std::string check_prelu_kernel(const ImportContext& ctx, const TorchNode& n) {
  std::string r = check_float_out(ctx, n);
  if (!r.empty()) return r;
  if (!ctx.is_tensor(arg(n, 1))) return "the weight is not a tensor";
  return "";
}

const Converter kConverters[] = {
    {"aten.relu.default", convert_unary<OpKind::kRelu>, check_numeric_out},
    {"aten.sigmoid.default", convert_unary<OpKind::kSigmoid>, check_float_out},
    {"aten.silu.default", convert_unary<OpKind::kSilu>, check_float_out},
    {"aten.mish.default", convert_unary<OpKind::kMish>, check_float_out},
    {"aten.hardswish.default", convert_unary<OpKind::kHardswish>, check_float_out},
    {"aten.hardsigmoid.default", convert_unary<OpKind::kHardsigmoid>, check_float_out},
    {"aten.gelu.default", convert_gelu, check_gelu},
    {"aten.leaky_relu.default", convert_leaky_relu, check_leaky_relu},
    {"aten.elu.default", convert_elu, check_elu},
    {"aten.softplus.default", convert_softplus, check_softplus},
    {"aten.hardtanh.default", convert_clamp, check_clamp},
    {"aten.clamp.default", convert_clamp, check_clamp},
    {"aten.clamp_min.default", convert_clamp_min, check_clamp_bound},
    {"aten.clamp_max.default", convert_clamp_max, check_clamp_bound},
    {"aten.clamp.Tensor", [](ImportContext& ctx, const TorchNode& n) -> Status {
       return clamp_tensors(ctx, n, arg(n, 1), arg(n, 2));
     }, check_clamp_tensor},
    {"aten.clamp_min.Tensor", [](ImportContext& ctx, const TorchNode& n) -> Status {
       return clamp_tensors(ctx, n, arg(n, 1), TorchValue{});
     }, check_clamp_tensor_bound},
    {"aten.clamp_max.Tensor", [](ImportContext& ctx, const TorchNode& n) -> Status {
       return clamp_tensors(ctx, n, TorchValue{}, arg(n, 1));
     }, check_clamp_tensor_bound},
    {"aten.glu.default", convert_glu, check_glu},
    {"aten._prelu_kernel.default", convert_prelu_kernel, check_prelu_kernel},
};

}  // namespace

std::span<const Converter> activation_converters() { return kConverters; }

}  // namespace kiln::importer
