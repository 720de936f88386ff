// Converters for normalization ATen ops: batch norm (inference only), layer norm, group norm,
// RMS norm, softmax / log_softmax and scaled dot-product attention.
// The native_* forms also return statistics (mean, rstd); those are computed with reduce ops in f32
// and cast to torch's dtype. Inference batch norm returns empty statistics, produced as `full`.
#include <algorithm>
#include <cfloat>

#include "converter.h"

namespace kiln::importer {
namespace {

using Kind = TorchValue::Kind;


// The index of `n` in the torch graph (converters get references into tg.nodes).
int64_t node_index(const ImportContext& ctx, const TorchNode& n) {
  const auto& nodes = ctx.torch().nodes;
  if (nodes.empty() || &n < nodes.data() || &n >= nodes.data() + nodes.size()) return -1;
  return &n - nodes.data();
}

// Whether tuple element k of node `n` is read by any node (through getitem).
bool element_used(const ImportContext& ctx, const TorchNode& n, int64_t k) {
  const int64_t self = node_index(ctx, n);
  if (self < 0) return true;
  for (const TorchNode& u : ctx.torch().nodes) {
    for (const TorchValue& a : u.args) {
      if (a.kind == Kind::kNode && a.i == self) {
        if (u.target != "operator.getitem") return true;  // the tuple itself escapes
        std::optional<int64_t> idx = ImportContext::static_int(arg(u, 1));
        if (!idx || *idx == k) return true;
      }
    }
  }
  return false;
}

int64_t static_numel(const TorchValue& m) {  // -1 if some dim is symbolic
  int64_t numel = 1;
  for (const TorchValue& d : m.items) {
    if (d.kind != Kind::kInt) return -1;
    numel *= d.i;
  }
  return numel;
}

std::string check_float_input(const ImportContext& ctx, const TorchNode& n, int64_t min_rank) {
  const TorchValue& x = arg(n, 0);
  if (!ctx.is_tensor(x)) return "its input is not a tensor";
  Expected<DType> t = ctx.dtype_of(x);
  if (!t.ok()) return t.status().message();
  if (!dtype_is_float(*t)) return str_cat("it is not supported for ", dtype_name(*t), " tensors");
  if (ctx.rank_of(x) < min_rank) {
    return str_cat("the input has rank ", ctx.rank_of(x), "; at least ", min_rank, " is needed");
  }
  return "";
}

// An optional parameter tensor (weight, bias, running stats) cast to `dtype`, or kNoValue.
Expected<ValueId> optional_param(ImportContext& ctx, const TorchValue& a, DType dtype) {
  if (a.is_none()) return kNoValue;
  return ctx.tensor(a, dtype);
}

std::string check_optional_tensor(const ImportContext& ctx, const TorchValue& a, const char* what) {
  if (a.is_none() || ctx.is_tensor(a)) return "";
  return str_cat(what, " (", a.to_string(), ") is not a tensor");
}

// Values for tuple elements that are statistics torch leaves empty (or that nobody reads):
// zeros of the element's meta shape and dtype.
Expected<ValueId> zeros_like_meta(ImportContext& ctx, const TorchNode& n, size_t k) {
  KILN_ASSIGN_OR_RETURN(DType t, ctx.out_dtype(n, k));
  KILN_ASSIGN_OR_RETURN(Shape shape, ctx.shape_of(n.meta.items[k]));
  FullAttrs attrs;
  attrs.shape = std::move(shape);
  attrs.value = 0.0;
  attrs.dtype = t;
  return ctx.add(OpKind::kFull, {}, attrs);
}

// ---- batch norm ---------------------------------------------------------------------------------

// Inference batch norm: (x - mean) / sqrt(var + eps) * weight + bias, parameters in x's dtype.
Expected<ValueId> batch_norm(ImportContext& ctx, const TorchNode& n, const TorchValue& weight,
                             const TorchValue& bias, const TorchValue& mean, const TorchValue& var,
                             const TorchValue& eps) {
  KILN_ASSIGN_OR_RETURN(DType t, ctx.out_dtype(n, 0));
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0), t));
  KILN_ASSIGN_OR_RETURN(ValueId m, ctx.tensor(mean, t));
  KILN_ASSIGN_OR_RETURN(ValueId v, ctx.tensor(var, t));
  KILN_ASSIGN_OR_RETURN(ValueId w, optional_param(ctx, weight, t));
  KILN_ASSIGN_OR_RETURN(ValueId b, optional_param(ctx, bias, t));
  BatchNormAttrs attrs;
  attrs.eps = number_arg(eps).value_or(0.0);
  std::vector<ValueId> inputs{x, m, v, w, b};
  while (inputs.back() == kNoValue) inputs.pop_back();
  return ctx.add(OpKind::kBatchNorm, std::move(inputs), attrs);
}

std::string check_batch_norm_args(const ImportContext& ctx, const TorchNode& n, size_t weight,
                                  size_t bias, size_t mean, size_t var, size_t eps) {
  std::string r = check_float_input(ctx, n, 2);
  if (!r.empty()) return r;
  if (!ctx.is_tensor(arg(n, mean)) || !ctx.is_tensor(arg(n, var))) {
    return "batch norm without running statistics is not supported";
  }
  r = check_optional_tensor(ctx, arg(n, weight), "weight");
  if (r.empty()) r = check_optional_tensor(ctx, arg(n, bias), "bias");
  if (!r.empty()) return r;
  if (!number_arg(arg(n, eps))) return "eps is not a constant";
  return "";
}

// Tuple forms: statistics that are read must be empty (their value is then known).
std::string check_empty_stats(const ImportContext& ctx, const TorchNode& n) {
  if (n.meta.kind != Kind::kList || n.meta.items.size() != 3) return "unexpected output metadata";
  for (size_t k = 1; k < 3; ++k) {
    const TorchValue& m = n.meta.items[k];
    if (static_numel(m) != 0 && element_used(ctx, n, static_cast<int64_t>(k))) {
      return str_cat("output ", k, " (", m.to_string(), ") of inference batch norm is used");
    }
  }
  return "";
}

// _native_batch_norm_legit_no_training(x, weight?, bias?, running_mean, running_var, momentum, eps)
Status convert_bn_no_training(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(ValueId y, batch_norm(ctx, n, arg(n, 1), arg(n, 2), arg(n, 3), arg(n, 4),
                                              arg(n, 6)));
  KILN_ASSIGN_OR_RETURN(ValueId s1, zeros_like_meta(ctx, n, 1));
  KILN_ASSIGN_OR_RETURN(ValueId s2, zeros_like_meta(ctx, n, 2));
  ctx.set_outputs({y, s1, s2});
  return ok_status();
}

std::string check_bn_no_training(const ImportContext& ctx, const TorchNode& n) {
  std::string r = check_batch_norm_args(ctx, n, 1, 2, 3, 4, 6);
  return r.empty() ? check_empty_stats(ctx, n) : r;
}

// batch_norm(x, weight?, bias?, running_mean?, running_var?, training, momentum, eps, cudnn_enabled)
Status convert_batch_norm(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(ValueId y, batch_norm(ctx, n, arg(n, 1), arg(n, 2), arg(n, 3), arg(n, 4),
                                              arg(n, 7)));
  ctx.set_output(y);
  return ok_status();
}

std::string check_training(const TorchNode& n, size_t i) {
  const TorchValue& t = arg(n, i);
  if (t.kind != Kind::kBool) return "training is not a constant";
  if (t.b) return "batch norm in training mode is not supported (kiln runs inference)";
  return "";
}

std::string check_batch_norm(const ImportContext& ctx, const TorchNode& n) {
  std::string r = check_training(n, 5);
  return r.empty() ? check_batch_norm_args(ctx, n, 1, 2, 3, 4, 7) : r;
}

// native_batch_norm(x, weight?, bias?, running_mean?, running_var?, training, momentum, eps)
Status convert_native_batch_norm(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(ValueId y, batch_norm(ctx, n, arg(n, 1), arg(n, 2), arg(n, 3), arg(n, 4),
                                              arg(n, 7)));
  KILN_ASSIGN_OR_RETURN(ValueId s1, zeros_like_meta(ctx, n, 1));
  KILN_ASSIGN_OR_RETURN(ValueId s2, zeros_like_meta(ctx, n, 2));
  ctx.set_outputs({y, s1, s2});
  return ok_status();
}

std::string check_native_batch_norm(const ImportContext& ctx, const TorchNode& n) {
  std::string r = check_training(n, 5);
  if (r.empty()) r = check_batch_norm_args(ctx, n, 1, 2, 3, 4, 7);
  return r.empty() ? check_empty_stats(ctx, n) : r;
}

// ---- layer norm, RMS norm -----------------------------------------------------------------------

// The first normalized axis: rank - len(normalized_shape).
int64_t norm_axis(const ImportContext& ctx, const TorchNode& n) {
  return ctx.rank_of(arg(n, 0)) - static_cast<int64_t>(arg(n, 1).items.size());
}

std::string check_norm_args(const ImportContext& ctx, const TorchNode& n, size_t weight,
                            size_t bias, size_t eps, bool eps_none_ok) {
  std::string r = check_float_input(ctx, n, 1);
  if (!r.empty()) return r;
  const TorchValue& shape = arg(n, 1);
  if (shape.kind != Kind::kList || shape.items.empty() ||
      static_cast<int64_t>(shape.items.size()) > ctx.rank_of(arg(n, 0))) {
    return str_cat("normalized_shape ", shape.to_string(), " does not fit the input");
  }
  r = check_optional_tensor(ctx, arg(n, weight), "weight");
  if (r.empty() && bias != weight) r = check_optional_tensor(ctx, arg(n, bias), "bias");
  if (!r.empty()) return r;
  if (!number_arg(arg(n, eps)) && !(eps_none_ok && arg(n, eps).is_none())) {
    return "eps is not a constant";
  }
  return "";
}

Expected<ValueId> layer_norm(ImportContext& ctx, const TorchNode& n, DType t) {
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0), t));
  KILN_ASSIGN_OR_RETURN(ValueId w, optional_param(ctx, arg(n, 2), t));
  KILN_ASSIGN_OR_RETURN(ValueId b, optional_param(ctx, arg(n, 3), t));
  NormAttrs attrs;
  attrs.axis = norm_axis(ctx, n);
  attrs.eps = *number_arg(arg(n, 4));
  std::vector<ValueId> inputs{x, w, b};
  while (inputs.back() == kNoValue) inputs.pop_back();
  return ctx.add(OpKind::kLayerNorm, std::move(inputs), attrs);
}

// layer_norm(x, normalized_shape, weight?, bias?, eps, cudnn_enable)
Status convert_layer_norm(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(DType t, ctx.out_dtype(n));
  KILN_ASSIGN_OR_RETURN(ValueId y, layer_norm(ctx, n, t));
  ctx.set_output(y);
  return ok_status();
}

std::string check_layer_norm(const ImportContext& ctx, const TorchNode& n) {
  return check_norm_args(ctx, n, 2, 3, 4, false);
}

// mean and 1/sqrt(var + eps) of `x` over `axes` (kept as size 1), computed in f32, cast to `mean_t`
// and `rstd_t`.
Status moments(ImportContext& ctx, ValueId x, std::vector<int64_t> axes, double eps, DType mean_t,
               DType rstd_t, ValueId& mean, ValueId& rstd) {
  KILN_ASSIGN_OR_RETURN(ValueId xf, ctx.cast(x, DType::kF32));
  ReduceAttrs ra;
  ra.axes = axes;
  ra.keepdim = true;
  KILN_ASSIGN_OR_RETURN(ValueId m, ctx.add(OpKind::kReduceMean, {xf}, ra));
  VarAttrs va;
  va.axes = std::move(axes);
  va.keepdim = true;
  va.correction = 0;
  KILN_ASSIGN_OR_RETURN(ValueId v, ctx.add(OpKind::kVar, {xf}, va));
  KILN_ASSIGN_OR_RETURN(ValueId e, ctx.scalar(eps, DType::kF32));
  KILN_ASSIGN_OR_RETURN(v, ctx.add(OpKind::kAdd, {v, e}));
  KILN_ASSIGN_OR_RETURN(ValueId r, ctx.add(OpKind::kRsqrt, {v}));
  KILN_ASSIGN_OR_RETURN(mean, ctx.cast(m, mean_t));
  KILN_ASSIGN_OR_RETURN(rstd, ctx.cast(r, rstd_t));
  return ok_status();
}

// native_layer_norm(x, normalized_shape, weight?, bias?, eps) -> (out, mean, rstd)
Status convert_native_layer_norm(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(DType t, ctx.out_dtype(n, 0));
  KILN_ASSIGN_OR_RETURN(DType mean_t, ctx.out_dtype(n, 1));
  KILN_ASSIGN_OR_RETURN(DType rstd_t, ctx.out_dtype(n, 2));
  KILN_ASSIGN_OR_RETURN(ValueId y, layer_norm(ctx, n, t));
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0)));
  std::vector<int64_t> axes;
  for (int64_t a = norm_axis(ctx, n); a < ctx.rank_of(arg(n, 0)); ++a) axes.push_back(a);
  ValueId mean, rstd;
  KILN_RETURN_IF_ERROR(moments(ctx, x, std::move(axes), *number_arg(arg(n, 4)), mean_t, rstd_t, mean, rstd));
  ctx.set_outputs({y, mean, rstd});
  return ok_status();
}

std::string check_native_layer_norm(const ImportContext& ctx, const TorchNode& n) {
  if (n.meta.kind != Kind::kList || n.meta.items.size() != 3) return "unexpected output metadata";
  return check_norm_args(ctx, n, 2, 3, 4, false);
}

// rms_norm(x, normalized_shape, weight?, eps?); eps None is the epsilon of torch's computation
// dtype: f32's for f16, bf16 and f32 inputs, f64's for f64.
Status convert_rms_norm(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(DType t, ctx.out_dtype(n));
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0), t));
  KILN_ASSIGN_OR_RETURN(ValueId w, optional_param(ctx, arg(n, 2), t));
  NormAttrs attrs;
  attrs.axis = norm_axis(ctx, n);
  if (number_arg(arg(n, 3))) {
    attrs.eps = *number_arg(arg(n, 3));
  } else {
    attrs.eps = ctx.meta(arg(n, 0)).s == "float64" ? DBL_EPSILON : FLT_EPSILON;
  }
  std::vector<ValueId> inputs{x, w};
  while (inputs.back() == kNoValue) inputs.pop_back();
  KILN_ASSIGN_OR_RETURN(ValueId y, ctx.add(OpKind::kRmsNorm, std::move(inputs), attrs));
  ctx.set_output(y);
  return ok_status();
}

std::string check_rms_norm(const ImportContext& ctx, const TorchNode& n) {
  return check_norm_args(ctx, n, 2, 2, 3, true);
}

// ---- group norm ---------------------------------------------------------------------------------

Expected<ValueId> group_norm(ImportContext& ctx, const TorchNode& n, DType t, const TorchValue& weight,
                             const TorchValue& bias, int64_t groups, double eps) {
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0), t));
  KILN_ASSIGN_OR_RETURN(ValueId w, optional_param(ctx, weight, t));
  KILN_ASSIGN_OR_RETURN(ValueId b, optional_param(ctx, bias, t));
  GroupNormAttrs attrs;
  attrs.groups = groups;
  attrs.eps = eps;
  std::vector<ValueId> inputs{x, w, b};
  while (inputs.back() == kNoValue) inputs.pop_back();
  return ctx.add(OpKind::kGroupNorm, std::move(inputs), attrs);
}

std::string check_groups(const ImportContext& ctx, const TorchNode& n, const TorchValue& groups) {
  std::optional<int64_t> g = ImportContext::static_int(groups);
  if (!g || *g <= 0) return str_cat("num_groups ", groups.to_string(), " is not a positive constant");
  const TorchValue& c = ctx.meta(arg(n, 0)).items[1];
  if (c.kind != Kind::kInt) return "group norm with a symbolic channel count is not supported";
  if (c.i % *g != 0) return str_cat("channels ", c.i, " are not divisible by ", *g, " groups");
  return "";
}

// group_norm(x, num_groups, weight?, bias?, eps, cudnn_enabled)
Status convert_group_norm(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(DType t, ctx.out_dtype(n));
  KILN_ASSIGN_OR_RETURN(ValueId y, group_norm(ctx, n, t, arg(n, 2), arg(n, 3),
                                              *ImportContext::static_int(arg(n, 1)),
                                              *number_arg(arg(n, 4))));
  ctx.set_output(y);
  return ok_status();
}

std::string check_group_norm(const ImportContext& ctx, const TorchNode& n) {
  std::string r = check_float_input(ctx, n, 2);
  if (r.empty()) r = check_groups(ctx, n, arg(n, 1));
  if (r.empty()) r = check_optional_tensor(ctx, arg(n, 2), "weight");
  if (r.empty()) r = check_optional_tensor(ctx, arg(n, 3), "bias");
  if (r.empty() && !number_arg(arg(n, 4))) r = "eps is not a constant";
  return r;
}

// native_group_norm(x, weight?, bias?, N, C, HxW, group, eps) -> (out, mean[N, G], rstd[N, G])
Status convert_native_group_norm(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(DType t, ctx.out_dtype(n, 0));
  KILN_ASSIGN_OR_RETURN(DType mean_t, ctx.out_dtype(n, 1));
  KILN_ASSIGN_OR_RETURN(DType rstd_t, ctx.out_dtype(n, 2));
  const int64_t groups = *ImportContext::static_int(arg(n, 6));
  const double eps = *number_arg(arg(n, 7));
  KILN_ASSIGN_OR_RETURN(ValueId y, group_norm(ctx, n, t, arg(n, 1), arg(n, 2), groups, eps));
  // Statistics: x as [N, G, C/G * prod(spatial)], reduced over the last axis.
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0)));
  const Shape xs = ctx.type(x).shape;  // a copy: adding nodes moves the graph's values
  DimExpr rest = floordiv(xs[1], DimExpr(groups));
  for (size_t d = 2; d < xs.size(); ++d) rest = rest * xs[d];
  ReshapeAttrs ra;
  ra.shape = {xs[0], DimExpr(groups), rest};
  KILN_ASSIGN_OR_RETURN(ValueId xg, ctx.add(OpKind::kReshape, {x}, ra));
  ValueId mean, rstd;
  KILN_RETURN_IF_ERROR(moments(ctx, xg, {2}, eps, mean_t, rstd_t, mean, rstd));
  ReshapeAttrs out_shape;
  out_shape.shape = {xs[0], DimExpr(groups)};
  KILN_ASSIGN_OR_RETURN(mean, ctx.add(OpKind::kReshape, {mean}, out_shape));
  KILN_ASSIGN_OR_RETURN(rstd, ctx.add(OpKind::kReshape, {rstd}, out_shape));
  ctx.set_outputs({y, mean, rstd});
  return ok_status();
}

std::string check_native_group_norm(const ImportContext& ctx, const TorchNode& n) {
  if (n.meta.kind != Kind::kList || n.meta.items.size() != 3) return "unexpected output metadata";
  std::string r = check_float_input(ctx, n, 2);
  if (r.empty()) r = check_groups(ctx, n, arg(n, 6));
  if (r.empty()) r = check_optional_tensor(ctx, arg(n, 1), "weight");
  if (r.empty()) r = check_optional_tensor(ctx, arg(n, 2), "bias");
  if (r.empty() && !number_arg(arg(n, 7))) r = "eps is not a constant";
  return r;
}

// ---- softmax ------------------------------------------------------------------------------------

// softmax.int(x, dim, dtype?) and _softmax(x, dim, half_to_float): x is cast to the output dtype
// first (torch's dtype argument means the same), then normalized along dim.
template <OpKind kOp>
Status convert_softmax(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(DType t, ctx.out_dtype(n));
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0), t));
  AxisAttrs attrs;
  attrs.axis = *ImportContext::static_int(arg(n, 1));
  KILN_ASSIGN_OR_RETURN(ValueId y, ctx.add(kOp, {x}, attrs));
  ctx.set_output(y);
  return ok_status();
}

std::string check_softmax(const ImportContext& ctx, const TorchNode& n) {
  if (!ctx.is_tensor(arg(n, 0))) return "its input is not a tensor";
  Expected<DType> t = ctx.out_dtype(n);
  if (!t.ok()) return t.status().message();
  if (!dtype_is_float(*t)) return str_cat("it is not supported for ", dtype_name(*t), " outputs");
  std::optional<int64_t> dim = ImportContext::static_int(arg(n, 1));
  const int64_t rank = std::max<int64_t>(ctx.rank_of(arg(n, 0)), 1);
  if (!dim || *dim < -rank || *dim >= rank) {
    return str_cat("dim ", arg(n, 1).to_string(), " is not a constant axis of the input");
  }
  return "";
}

// ---- attention ----------------------------------------------------------------------------------

// k or v of [..., Hk, S, E] repeated to [..., Hk * rep, S, E], each head `rep` times in a row
// (repeat_interleave on dim -3, as torch's enable_gqa).
Expected<ValueId> repeat_heads(ImportContext& ctx, ValueId v, int64_t rep) {
  if (rep == 1) return v;
  const Shape s = ctx.type(v).shape;
  const size_t r = s.size();
  Shape with_rep(s.begin(), s.end() - 2);
  with_rep.push_back(DimExpr(1));
  with_rep.push_back(s[r - 2]);
  with_rep.push_back(s[r - 1]);
  ReshapeAttrs ra;
  ra.shape = with_rep;
  KILN_ASSIGN_OR_RETURN(ValueId u, ctx.add(OpKind::kReshape, {v}, ra));
  with_rep[r - 2] = DimExpr(rep);
  ExpandAttrs ea;
  ea.shape = with_rep;
  KILN_ASSIGN_OR_RETURN(u, ctx.add(OpKind::kExpand, {u}, ea));
  Shape out(s.begin(), s.end());
  out[r - 3] = s[r - 3] * DimExpr(rep);
  ReshapeAttrs oa;
  oa.shape = out;
  return ctx.add(OpKind::kReshape, {u}, oa);
}

// How many times each k/v head repeats under enable_gqa: 1 when the head counts agree, 0 when
// the case is not supported.
int64_t gqa_repeats(const ImportContext& ctx, const TorchNode& n, std::string* why) {
  const TorchValue& q = ctx.meta(arg(n, 0));
  if (q.items.size() < 3) {
    *why = "enable_gqa needs inputs of rank >= 3";
    return 0;
  }
  const TorchValue& hq = q.items[q.items.size() - 3];
  int64_t rep = 0;
  for (size_t i : {1, 2}) {
    const TorchValue& m = ctx.meta(arg(n, i));
    if (m.items.size() < 3) {
      *why = "enable_gqa needs inputs of rank >= 3";
      return 0;
    }
    const TorchValue& h = m.items[m.items.size() - 3];
    int64_t this_rep;
    if (h.to_string() == hq.to_string()) {
      this_rep = 1;
    } else if (h.kind == Kind::kInt && hq.kind == Kind::kInt && h.i > 0 && hq.i % h.i == 0) {
      this_rep = hq.i / h.i;
    } else {
      *why = str_cat("enable_gqa with query heads ", hq.to_string(), " and key/value heads ",
                     h.to_string(), " is not supported");
      return 0;
    }
    if (rep != 0 && rep != this_rep) {
      *why = "key and value have different head counts";
      return 0;
    }
    rep = this_rep;
  }
  return rep;
}

// scaled_dot_product_attention(q, k, v, attn_mask?, dropout_p, is_causal, scale?, enable_gqa)
Status convert_sdpa(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(DType t, ctx.out_dtype(n));
  KILN_ASSIGN_OR_RETURN(ValueId q, ctx.tensor(arg(n, 0), t));
  KILN_ASSIGN_OR_RETURN(ValueId k, ctx.tensor(arg(n, 1), t));
  KILN_ASSIGN_OR_RETURN(ValueId v, ctx.tensor(arg(n, 2), t));
  if (arg(n, 7).kind == Kind::kBool && arg(n, 7).b) {
    std::string why;
    const int64_t rep = gqa_repeats(ctx, n, &why);
    if (rep == 0) return unsupported(why);
    KILN_ASSIGN_OR_RETURN(k, repeat_heads(ctx, k, rep));
    KILN_ASSIGN_OR_RETURN(v, repeat_heads(ctx, v, rep));
  }
  std::vector<ValueId> inputs{q, k, v};
  const TorchValue& mask = arg(n, 3);
  if (!mask.is_none()) {
    const bool is_bool = ctx.meta(mask).s == "bool";
    KILN_ASSIGN_OR_RETURN(ValueId m, ctx.tensor(mask, is_bool ? DType::kBool : t));
    inputs.push_back(m);
  }
  AttentionAttrs attrs;
  attrs.is_causal = arg(n, 5).kind == Kind::kBool && arg(n, 5).b;
  if (number_arg(arg(n, 6))) attrs.scale = *number_arg(arg(n, 6));
  KILN_ASSIGN_OR_RETURN(ValueId y, ctx.add(OpKind::kAttention, std::move(inputs), attrs));
  ctx.set_output(y);
  return ok_status();
}

std::string check_sdpa(const ImportContext& ctx, const TorchNode& n) {
  for (size_t i : {0, 1, 2}) {
    if (!ctx.is_tensor(arg(n, i))) return "query, key and value must be tensors";
    if (ctx.rank_of(arg(n, i)) < 2) return "query, key and value need rank >= 2";
  }
  Expected<DType> t = ctx.out_dtype(n);
  if (!t.ok()) return t.status().message();
  if (!dtype_is_float(*t)) return str_cat("attention on ", dtype_name(*t), " is not supported");
  const TorchValue& mask = arg(n, 3);
  if (!mask.is_none()) {
    if (!ctx.is_tensor(mask)) return "attn_mask is not a tensor";
    Expected<DType> mt = ctx.dtype_of(mask);
    if (!mt.ok()) return mt.status().message();
    if (*mt != DType::kBool && !dtype_is_float(*mt)) {
      return str_cat("attn_mask of dtype ", dtype_name(*mt), " is not supported");
    }
  }
  const TorchValue& dropout = arg(n, 4);
  if (!number_arg(dropout).has_value()) return "dropout_p is not a constant";
  if (number_arg(dropout).value_or(0.0) != 0.0) {
    return str_cat("dropout_p = ", number_arg(dropout).value_or(0.0), " is not supported (kiln runs inference)");
  }
  const TorchValue& causal = arg(n, 5);
  if (causal.kind != Kind::kBool) return "is_causal is not a constant";
  if (causal.b && !mask.is_none()) return "is_causal together with attn_mask is not supported";
  const TorchValue& scale = arg(n, 6);
  if (!scale.is_none()) {
    if (!number_arg(scale).has_value()) return "scale is not a constant";
    if (!(number_arg(scale).value_or(0.0) > 0)) return str_cat("scale = ", number_arg(scale).value_or(0.0), " is not supported");
  }
  const TorchValue& gqa = arg(n, 7);
  if (!gqa.is_none() && gqa.kind != Kind::kBool) return "enable_gqa is not a constant";
  if (gqa.kind == Kind::kBool && gqa.b) {
    std::string why;
    if (gqa_repeats(ctx, n, &why) == 0) return why;
  }
  return "";
}

const Converter kConverters[] = {
    {"aten._native_batch_norm_legit_no_training.default", convert_bn_no_training,
     check_bn_no_training},
    {"aten.batch_norm.default", convert_batch_norm, check_batch_norm},
    {"aten.native_batch_norm.default", convert_native_batch_norm, check_native_batch_norm},
    {"aten.layer_norm.default", convert_layer_norm, check_layer_norm},
    {"aten.native_layer_norm.default", convert_native_layer_norm, check_native_layer_norm},
    {"aten.rms_norm.default", convert_rms_norm, check_rms_norm},
    {"aten.group_norm.default", convert_group_norm, check_group_norm},
    {"aten.native_group_norm.default", convert_native_group_norm, check_native_group_norm},
    {"aten.softmax.int", convert_softmax<OpKind::kSoftmax>, check_softmax},
    {"aten._softmax.default", convert_softmax<OpKind::kSoftmax>, check_softmax},
    {"aten.log_softmax.int", convert_softmax<OpKind::kLogSoftmax>, check_softmax},
    {"aten._log_softmax.default", convert_softmax<OpKind::kLogSoftmax>, check_softmax},
    {"aten.scaled_dot_product_attention.default", convert_sdpa, check_sdpa},
};

}  // namespace

std::span<const Converter> norm_converters() { return kConverters; }

}  // namespace kiln::importer
