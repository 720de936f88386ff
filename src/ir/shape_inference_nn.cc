// Typing rules of the linear-algebra and neural-network ops: matmul, linear, conv, conv_transpose,
// the normalisations, softmax, attention, pooling and resize.
//
// conv, max_pool and avg_pool also take channels_last (NHWC-style) operands, attention [B, L, H, E]
// ones (bshd); everything else is NC* and row-major. Deliberately not here: layout choices (the
// layout and fold-attention-permutes passes make them) and checks that need symbol ranges. A check
// between a symbolic and a static size is left to the runtime, which runs these same rules on
// concrete shapes.
#include <algorithm>
#include <limits>
#include <utility>

#include "shape_inference_internal.h"

namespace kiln::shape_detail {
namespace {

// `dim` of `t` and `expected` must agree (see merge_dims).
Status check_dim(const Ctx& c, const DimExpr& got, const DimExpr& expected, std::string_view what,
                 const TensorType& t, std::string_view expected_what) {
  if (merge_dims(got, expected)) return ok_status();
  return c.error(what, " is ", dim_str(got), " but ", expected_what, " is ", dim_str(expected),
                 " (", type_str(t), ")");
}

// A per-feature parameter (norm weight, bias, running mean): rank 1, `c_dim` long, x's dtype.
Status check_param(const Ctx& c, const TensorType* p, std::string_view what, const TensorType& x,
                   const DimExpr& c_dim) {
  if (!p) return ok_status();
  KILN_RETURN_IF_ERROR(check_dtype(c, *p, what, Accept::kFloat));
  KILN_RETURN_IF_ERROR(check_same_dtype(c, *p, what, x, "the input"));
  KILN_RETURN_IF_ERROR(check_rank(c, *p, what, 1, 1));
  if (!merge_dims(p->shape[0], c_dim)) {
    return c.error(what, " must have shape [", dim_str(c_dim), "], got ", type_str(*p));
  }
  return ok_status();
}

// Kernel sizes, strides, paddings, dilations and group counts are at most this, so that the
// integer arithmetic on them below cannot overflow (attributes may come from a hostile file).
constexpr int64_t kMaxWindowAttr = std::numeric_limits<int32_t>::max();

Status check_spatial_attr(const Ctx& c, const std::vector<int64_t>& v, std::string_view what,
                          size_t spatial, int64_t min_value) {
  if (v.size() != spatial) {
    return c.error(what, " needs one entry per spatial dim (", spatial, "), got ", v.size());
  }
  for (int64_t e : v) {
    if (e < min_value || e > kMaxWindowAttr) {
      return c.error(what, " entries must be in [", min_value, ", ", kMaxWindowAttr, "], got ", e);
    }
  }
  return ok_status();
}

Status check_groups(const Ctx& c, int64_t groups) {
  if (groups < 1 || groups > kMaxWindowAttr) {
    return c.error("groups must be in [1, ", kMaxWindowAttr, "], got ", groups);
  }
  return ok_status();
}

Status check_positive_output(const Ctx& c, const DimExpr& out, size_t i, const TensorType& x) {
  if (out.is_constant() && out.constant_value() <= 0) {
    return c.error("spatial dim ", i, " of the output would be ", out.constant_value(),
                   " for input ", type_str(x));
  }
  return ok_status();
}

}  // namespace

Expected<Types> infer_matmul(const Ctx& c) {
  const TensorType& a = c.x(0);
  const TensorType& b = c.x(1);
  KILN_RETURN_IF_ERROR(check_dtype(c, a, "lhs", Accept::kFloat));
  KILN_RETURN_IF_ERROR(check_dtype(c, b, "rhs", Accept::kFloat));
  KILN_RETURN_IF_ERROR(check_same_dtype(c, a, "both operands", b, ""));
  KILN_RETURN_IF_ERROR(check_rank(c, a, "lhs", 1, INT64_MAX));
  KILN_RETURN_IF_ERROR(check_rank(c, b, "rhs", 1, INT64_MAX));
  // 1-D operands act as a row (lhs) or column (rhs) matrix whose extra dim is dropped afterwards.
  const bool a_vec = a.rank() == 1, b_vec = b.rank() == 1;
  Shape as = a.shape, bs = b.shape;
  if (a_vec) as.insert(as.begin(), DimExpr(1));
  if (b_vec) bs.push_back(DimExpr(1));
  const DimExpr& ka = as[as.size() - 1];
  const DimExpr& kb = bs[bs.size() - 2];
  if (!merge_dims(ka, kb)) {
    return c.error("inner dims do not match: ", type_str(a), " @ ", type_str(b), " (", dim_str(ka),
                   " vs ", dim_str(kb), ")");
  }
  KILN_ASSIGN_OR_RETURN(Shape shape, broadcast_shapes(c, Shape(as.begin(), as.end() - 2),
                                                       Shape(bs.begin(), bs.end() - 2)));
  if (!a_vec) shape.push_back(as[as.size() - 2]);
  if (!b_vec) shape.push_back(bs[bs.size() - 1]);
  return Types{TensorType{a.dtype, std::move(shape)}};
}

Expected<Types> infer_linear(const Ctx& c) {
  const TensorType& x = c.x(0);
  const TensorType& w = c.x(1);
  KILN_RETURN_IF_ERROR(check_dtype(c, x, "input", Accept::kFloat));
  KILN_RETURN_IF_ERROR(check_same_dtype(c, x, "input", w, "weight"));
  KILN_RETURN_IF_ERROR(check_rank(c, x, "input", 1, INT64_MAX));
  KILN_RETURN_IF_ERROR(check_rank(c, w, "weight", 2, 2));
  KILN_RETURN_IF_ERROR(check_dim(c, x.shape.back(), w.shape[1], "the input's last dim", x,
                                 str_cat("the weight's in-features (", type_str(w), ")")));
  DimExpr n = w.shape[0];
  if (const TensorType* bias = c.opt(2)) {
    KILN_RETURN_IF_ERROR(check_param(c, bias, "bias", x, n));
    n = *merge_dims(n, bias->shape[0]);
  }
  Shape shape(x.shape.begin(), x.shape.end() - 1);
  shape.push_back(n);
  return Types{TensorType{x.dtype, std::move(shape)}};
}

// The operand checks conv and conv_transpose share: a float input of rank 3-5 and a weight of the
// same dtype and rank. Returns the number of spatial dims.
Expected<size_t> check_conv_operands(const Ctx& c) {
  const TensorType& x = c.x(0);
  const TensorType& w = c.x(1);
  KILN_RETURN_IF_ERROR(check_dtype(c, x, "input", Accept::kFloat));
  KILN_RETURN_IF_ERROR(check_same_dtype(c, x, "input", w, "weight"));
  KILN_RETURN_IF_ERROR(check_rank(c, x, "input", 3, 5));
  if (w.rank() != x.rank()) {
    return c.error("weight must have rank ", x.rank(), " like the input, got ", type_str(w));
  }
  return x.shape.size() - 2;
}

Expected<Types> infer_conv(const Ctx& c, const ConvAttrs& a) {
  const TensorType& x = c.x(0);
  const TensorType& w = c.x(1);
  KILN_ASSIGN_OR_RETURN(const size_t spatial, check_conv_operands(c));
  KILN_RETURN_IF_ERROR(check_spatial_attr(c, a.stride, "stride", spatial, 1));
  KILN_RETURN_IF_ERROR(check_spatial_attr(c, a.padding, "padding", spatial, 0));
  KILN_RETURN_IF_ERROR(check_spatial_attr(c, a.dilation, "dilation", spatial, 1));
  KILN_RETURN_IF_ERROR(check_groups(c, a.groups));
  // 1. Where the channels and the spatial dims are: x [N, C, *sp] / w [O, C/g, *k], or with
  //    channels_last x [N, *sp, C] / w [O, *k, C/g].
  const size_t c_axis = a.channels_last ? x.shape.size() - 1 : 1;
  const size_t sp0 = a.channels_last ? 1 : 2;
  const DimExpr& in_c = x.shape[c_axis];
  const DimExpr& w_c = w.shape[c_axis];
  const DimExpr& out_c = w.shape[0];
  int64_t expected_c = 0;
  if (in_c.is_constant() && w_c.is_constant() &&
      (__builtin_mul_overflow(w_c.constant_value(), a.groups, &expected_c) ||
       in_c.constant_value() != expected_c)) {
    return c.error("input has ", in_c.constant_value(), " channels but weight ", type_str(w),
                   " with groups = ", a.groups, " expects ", dim_str(w_c * DimExpr(a.groups)),
                   a.channels_last ? " (channels_last)" : "");
  }
  if (out_c.is_constant() && out_c.constant_value() % a.groups != 0) {
    return c.error("output channels ", out_c.constant_value(), " are not divisible by groups = ",
                   a.groups);
  }
  // 2. Output channels (checked against the bias), then the spatial sizes.
  DimExpr channels = out_c;
  if (const TensorType* bias = c.opt(2)) {
    KILN_RETURN_IF_ERROR(check_param(c, bias, "bias", x, out_c));
    channels = *merge_dims(out_c, bias->shape[0]);
  }
  Shape shape = {x.shape[0]};
  if (!a.channels_last) shape.push_back(channels);
  for (size_t i = 0; i < spatial; ++i) {
    const DimExpr& in = x.shape[sp0 + i];
    const DimExpr& k = w.shape[sp0 + i];
    const int64_t s = a.stride[i], p = a.padding[i], d = a.dilation[i];
    DimExpr out = floordiv(in + DimExpr(2 * p) - DimExpr(d) * (k - DimExpr(1)) - DimExpr(1),
                           DimExpr(s)) + DimExpr(1);
    KILN_RETURN_IF_ERROR(check_positive_output(c, out, i, x));
    shape.push_back(std::move(out));
  }
  if (a.channels_last) shape.push_back(channels);
  // 3. The residual (input 3) is added as is: exactly the output's shape and dtype.
  if (const TensorType* residual = c.opt(3)) {
    bool ok = residual->dtype == x.dtype && residual->shape.size() == shape.size();
    Shape merged;
    for (size_t i = 0; ok && i < shape.size(); ++i) {
      std::optional<DimExpr> m = merge_dims(residual->shape[i], shape[i]);
      if (m) merged.push_back(std::move(*m));
      ok = m.has_value();
    }
    if (!ok) {
      return c.error("residual (input 3) must have the output's type ",
                     type_str(TensorType{x.dtype, shape}), ", got ", type_str(*residual));
    }
    shape = std::move(merged);
  }
  return Types{TensorType{x.dtype, std::move(shape)}};
}

Expected<Types> infer_conv_transpose(const Ctx& c, const ConvTransposeAttrs& a) {
  const TensorType& x = c.x(0);
  const TensorType& w = c.x(1);
  KILN_ASSIGN_OR_RETURN(const size_t spatial, check_conv_operands(c));
  KILN_RETURN_IF_ERROR(check_spatial_attr(c, a.stride, "stride", spatial, 1));
  KILN_RETURN_IF_ERROR(check_spatial_attr(c, a.padding, "padding", spatial, 0));
  KILN_RETURN_IF_ERROR(check_spatial_attr(c, a.output_padding, "output_padding", spatial, 0));
  KILN_RETURN_IF_ERROR(check_spatial_attr(c, a.dilation, "dilation", spatial, 1));
  KILN_RETURN_IF_ERROR(check_groups(c, a.groups));
  for (size_t i = 0; i < spatial; ++i) {
    if (a.output_padding[i] >= std::max(a.stride[i], a.dilation[i])) {
      return c.error("output_padding ", a.output_padding[i],
                     " must be smaller than stride or dilation (", a.stride[i], ", ",
                     a.dilation[i], ")");
    }
  }
  const DimExpr& in_c = x.shape[1];
  const DimExpr& w_c = w.shape[0];
  if (!merge_dims(in_c, w_c)) {
    return c.error("input has ", dim_str(in_c), " channels but weight ", type_str(w),
                   " expects ", dim_str(w_c));
  }
  if (w_c.is_constant() && w_c.constant_value() % a.groups != 0) {
    return c.error("input channels ", w_c.constant_value(), " are not divisible by groups = ",
                   a.groups);
  }
  Shape shape = {x.shape[0], w.shape[1] * DimExpr(a.groups)};
  if (const TensorType* bias = c.opt(2)) {
    KILN_RETURN_IF_ERROR(check_param(c, bias, "bias", x, shape[1]));
    shape[1] = *merge_dims(shape[1], bias->shape[0]);
  }
  for (size_t i = 0; i < spatial; ++i) {
    const DimExpr& in = x.shape[2 + i];
    const DimExpr& k = w.shape[2 + i];
    DimExpr out = (in - DimExpr(1)) * DimExpr(a.stride[i]) - DimExpr(2 * a.padding[i]) +
                  DimExpr(a.dilation[i]) * (k - DimExpr(1)) + DimExpr(a.output_padding[i] + 1);
    KILN_RETURN_IF_ERROR(check_positive_output(c, out, i, x));
    shape.push_back(std::move(out));
  }
  return Types{TensorType{x.dtype, std::move(shape)}};
}

Expected<Types> infer_batch_norm(const Ctx& c, const BatchNormAttrs& a) {
  const TensorType& x = c.x(0);
  KILN_RETURN_IF_ERROR(check_dtype(c, x, "input", Accept::kFloat));
  KILN_RETURN_IF_ERROR(check_rank(c, x, "input", 2, INT64_MAX));
  const DimExpr& ch = x.shape[1];
  KILN_RETURN_IF_ERROR(check_param(c, c.opt(1), "running mean", x, ch));
  KILN_RETURN_IF_ERROR(check_param(c, c.opt(2), "running var", x, ch));
  KILN_RETURN_IF_ERROR(check_param(c, c.opt(3), "weight", x, ch));
  KILN_RETURN_IF_ERROR(check_param(c, c.opt(4), "bias", x, ch));
  return Types{x};
}

Expected<Types> infer_norm(const Ctx& c, const NormAttrs& a) {
  const TensorType& x = c.x(0);
  KILN_RETURN_IF_ERROR(check_dtype(c, x, "input", Accept::kFloat));
  KILN_RETURN_IF_ERROR(check_rank(c, x, "input", 1, INT64_MAX));
  KILN_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(c, a.axis, x.rank()));
  const Shape norm_shape(x.shape.begin() + axis, x.shape.end());
  for (size_t i = 1; i <= 2; ++i) {
    const TensorType* p = c.opt(i);
    if (!p) continue;
    std::string_view what = i == 1 ? "weight" : "bias";
    KILN_RETURN_IF_ERROR(check_dtype(c, *p, what, Accept::kFloat));
    KILN_RETURN_IF_ERROR(check_same_dtype(c, *p, what, x, "the input"));
    bool ok = p->shape.size() == norm_shape.size();
    for (size_t j = 0; ok && j < norm_shape.size(); ++j) {
      ok = merge_dims(p->shape[j], norm_shape[j]).has_value();
    }
    if (!ok) {
      return c.error(what, " must have the normalized shape ", shape_str(norm_shape), " of ",
                     type_str(x), ", got ", type_str(*p));
    }
  }
  return Types{x};
}

Expected<Types> infer_group_norm(const Ctx& c, const GroupNormAttrs& a) {
  const TensorType& x = c.x(0);
  KILN_RETURN_IF_ERROR(check_dtype(c, x, "input", Accept::kFloat));
  KILN_RETURN_IF_ERROR(check_rank(c, x, "input", 2, INT64_MAX));
  KILN_RETURN_IF_ERROR(check_groups(c, a.groups));
  const DimExpr& ch = x.shape[1];
  if (ch.is_constant() && ch.constant_value() % a.groups != 0) {
    return c.error("channels ", ch.constant_value(), " are not divisible by groups = ", a.groups);
  }
  KILN_RETURN_IF_ERROR(check_param(c, c.opt(1), "weight", x, ch));
  KILN_RETURN_IF_ERROR(check_param(c, c.opt(2), "bias", x, ch));
  return Types{x};
}

Expected<Types> infer_softmax(const Ctx& c, const AxisAttrs& a) {
  const TensorType& x = c.x(0);
  KILN_RETURN_IF_ERROR(check_dtype(c, x, "input", Accept::kFloat));
  KILN_RETURN_IF_ERROR(normalize_axis(c, a.axis, std::max<int64_t>(x.rank(), 1)));
  return Types{x};
}

// [B, L, H, E] <-> [B, H, L, E]: the attention of a bshd node is inferred on its inputs in the
// usual layout, and the result swapped back.
TensorType swap_seq_and_heads(TensorType t) {
  std::swap(t.shape[1], t.shape[2]);
  return t;
}

Expected<Types> infer_attention(const Ctx& c, const AttentionAttrs& a) {
  const int64_t min_rank = a.bshd ? 4 : 2;
  const int64_t max_rank = a.bshd ? 4 : INT64_MAX;
  KILN_RETURN_IF_ERROR(check_rank(c, c.x(0), "query", min_rank, max_rank));
  KILN_RETURN_IF_ERROR(check_rank(c, c.x(1), "key", min_rank, max_rank));
  KILN_RETURN_IF_ERROR(check_rank(c, c.x(2), "value", min_rank, max_rank));
  const TensorType q = a.bshd ? swap_seq_and_heads(c.x(0)) : c.x(0);
  const TensorType k = a.bshd ? swap_seq_and_heads(c.x(1)) : c.x(1);
  const TensorType v = a.bshd ? swap_seq_and_heads(c.x(2)) : c.x(2);
  KILN_RETURN_IF_ERROR(check_dtype(c, q, "query", Accept::kFloat));
  KILN_RETURN_IF_ERROR(check_same_dtype(c, q, "query", k, "key"));
  KILN_RETURN_IF_ERROR(check_same_dtype(c, q, "query", v, "value"));
  const DimExpr& l = q.shape[q.shape.size() - 2];
  const DimExpr& s = k.shape[k.shape.size() - 2];
  if (!merge_dims(q.shape.back(), k.shape.back())) {
    return c.error("query ", type_str(c.x(0)), " and key ", type_str(c.x(1)),
                   " must have the same embedding size (last dim)");
  }
  if (!merge_dims(s, v.shape[v.shape.size() - 2])) {
    return c.error("key ", type_str(c.x(1)), " and value ", type_str(c.x(2)),
                   " must have the same sequence length (", a.bshd ? "dim 1" : "second-to-last dim",
                   ")");
  }
  auto lead = [](const TensorType& t) { return Shape(t.shape.begin(), t.shape.end() - 2); };
  KILN_ASSIGN_OR_RETURN(Shape kv, broadcast_shapes(c, lead(k), lead(v)));
  KILN_ASSIGN_OR_RETURN(Shape batch, broadcast_shapes(c, lead(q), kv));
  if (const TensorType* mask = c.opt(3)) {
    if (a.is_causal) return c.error("is_causal and an explicit mask cannot both be given");
    if (mask->dtype != DType::kBool && mask->dtype != q.dtype) {
      return c.error("mask must be bool or the query's dtype ", dtype_name(q.dtype), ", got ",
                     type_str(*mask));
    }
    Shape scores = batch;
    scores.push_back(l);
    scores.push_back(s);
    bool ok = mask->shape.size() <= scores.size();
    for (size_t i = 0; ok && i < mask->shape.size(); ++i) {
      const DimExpr& m = mask->shape[mask->shape.size() - 1 - i];
      ok = is_const(m, 1) || merge_dims(m, scores[scores.size() - 1 - i]).has_value();
    }
    if (!ok) {
      return c.error("mask ", type_str(*mask), " does not broadcast to the scores' shape ",
                     shape_str(scores));
    }
  }
  if (a.scale && !(*a.scale > 0)) return c.error("scale must be > 0, got ", *a.scale);
  batch.push_back(l);
  batch.push_back(v.shape.back());
  TensorType out{q.dtype, std::move(batch)};
  return Types{a.bshd ? swap_seq_and_heads(std::move(out)) : std::move(out)};
}

Expected<Types> infer_pool(const Ctx& c, const PoolAttrs& a) {
  const TensorType& x = c.x(0);
  const bool is_max = c.op == OpKind::kMaxPool;
  KILN_RETURN_IF_ERROR(check_dtype(c, x, "input", Accept::kFloat));
  KILN_RETURN_IF_ERROR(check_rank(c, x, "input", 3, 5));
  const size_t spatial = x.shape.size() - 2;
  KILN_RETURN_IF_ERROR(check_spatial_attr(c, a.kernel, "kernel", spatial, 1));
  KILN_RETURN_IF_ERROR(check_spatial_attr(c, a.stride, "stride", spatial, 1));
  KILN_RETURN_IF_ERROR(check_spatial_attr(c, a.padding, "padding", spatial, 0));
  KILN_RETURN_IF_ERROR(check_spatial_attr(c, a.dilation, "dilation", spatial, 1));
  if (a.divisor_override && (!is_max && *a.divisor_override <= 0)) {
    return c.error("divisor_override must be > 0, got ", *a.divisor_override);
  }
  // channels_last: x and y are [N, *spatial, C]; otherwise [N, C, *spatial].
  const size_t sp0 = a.channels_last ? 1 : 2;
  Shape shape = {x.shape[0]};
  if (!a.channels_last) shape.push_back(x.shape[1]);
  for (size_t i = 0; i < spatial; ++i) {
    const int64_t k = a.kernel[i], s = a.stride[i], p = a.padding[i], d = a.dilation[i];
    if (!is_max && d != 1) return c.error("dilation must be 1 for avg_pool, got ", d);
    const int64_t effective = d * (k - 1) + 1;
    if (p > effective / 2) {
      return c.error("padding ", p, " must be at most half the kernel extent ", effective);
    }
    const DimExpr& in = x.shape[sp0 + i];
    DimExpr out;
    if (!a.ceil_mode) {
      out = floordiv(in + DimExpr(2 * p - d * (k - 1) - 1), DimExpr(s)) + DimExpr(1);
    } else if (!in.is_constant()) {
      return unsupported(c.name(), ": ceil_mode with a symbolic spatial dim (", dim_str(in),
                         ") is not supported");
    } else {
      // In 128 bits: a hostile dim near INT64_MAX must not overflow.
      const __int128 n = in.constant_value();
      __int128 num = n + 2 * p - d * (k - 1) - 1 + (s - 1);
      __int128 o = num / s - ((num % s != 0) && (num < 0) ? 1 : 0) + 1;
      if ((o - 1) * s >= n + p) --o;
      if (o > std::numeric_limits<int64_t>::max()) return c.error("output size overflows int64");
      out = DimExpr(static_cast<int64_t>(o));
    }
    KILN_RETURN_IF_ERROR(check_positive_output(c, out, i, x));
    shape.push_back(std::move(out));
  }
  if (a.channels_last) shape.push_back(x.shape.back());
  return Types{TensorType{x.dtype, std::move(shape)}};
}

Expected<Types> infer_adaptive_pool(const Ctx& c, const AdaptivePoolAttrs& a) {
  const TensorType& x = c.x(0);
  KILN_RETURN_IF_ERROR(check_dtype(c, x, "input", Accept::kFloat));
  KILN_RETURN_IF_ERROR(check_rank(c, x, "input", 3, 5));
  const size_t spatial = x.shape.size() - 2;
  KILN_RETURN_IF_ERROR(check_spatial_attr(c, a.output_size, "output_size", spatial, 1));
  Shape shape = {x.shape[0], x.shape[1]};
  for (int64_t o : a.output_size) shape.push_back(DimExpr(o));
  return Types{TensorType{x.dtype, std::move(shape)}};
}

Expected<Types> infer_resize(const Ctx& c, const ResizeAttrs& a) {
  const TensorType& x = c.x(0);
  if (a.mode == ResizeMode::kBilinear) {
    KILN_RETURN_IF_ERROR(check_dtype(c, x, "input", Accept::kFloat));
    KILN_RETURN_IF_ERROR(check_rank(c, x, "bilinear input", 4, 4));
  } else {
    KILN_RETURN_IF_ERROR(check_dtype(c, x, "input", Accept::kNumeric));
    KILN_RETURN_IF_ERROR(check_rank(c, x, "input", 3, 5));
  }
  const size_t spatial = x.shape.size() - 2;
  if (a.size.size() != spatial) {
    return c.error("size needs one entry per spatial dim (", spatial, "), got ",
                   shape_str(a.size));
  }
  for (const DimExpr& d : a.size) {
    if (d.is_constant() && d.constant_value() < 1) {
      return c.error("size entries must be >= 1, got ", shape_str(a.size));
    }
  }
  if (!a.scales.empty()) {
    if (a.scales.size() != spatial) {
      return c.error("scales needs one entry per spatial dim (", spatial, "), got ",
                     a.scales.size());
    }
    for (double s : a.scales) {
      if (!(s > 0)) return c.error("scales must be > 0, got ", s);
    }
  }
  Shape shape = {x.shape[0], x.shape[1]};
  shape.insert(shape.end(), a.size.begin(), a.size.end());
  return Types{TensorType{x.dtype, std::move(shape)}};
}

}  // namespace kiln::shape_detail
