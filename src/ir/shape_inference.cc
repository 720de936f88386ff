// Shape inference entry points: checks operand counts and attribute kinds, evaluates attribute
// DimExprs in concrete (runtime) mode, and dispatches every OpKind to its family's rule in
// shape_inference_{elementwise,nn,data}.cc. Also holds the helpers those files share (dtype and
// rank checks, axis normalisation, broadcasting, dim merging).
//
// Deliberately not here: the op rules themselves, symbol names (messages print symbols as s<i>;
// infer_node_types adds the node's location), and anything about kernels or layouts.
#include "kiln/ir/shape_inference.h"

#include "shape_inference_internal.h"

namespace kiln {
namespace shape_detail {

std::string dim_str(const DimExpr& d) {
  return d.to_string([](int32_t i) { return str_cat("s", i); });
}

std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += ", ";
    out += dim_str(s[i]);
  }
  return out + "]";
}

std::string type_str(const TensorType& t) {
  return str_cat(dtype_name(t.dtype), shape_str(t.shape));
}

Status check_dtype(const Ctx& c, const TensorType& t, std::string_view what, Accept accept) {
  const DType d = t.dtype;
  if (d == DType::kF64) {
    return c.error(what, " is f64, which kiln does not compute in (cast it to f32 first), got ",
                   type_str(t));
  }
  const bool is_float = dtype_is_float(d);
  switch (accept) {
    case Accept::kFloat:
      if (is_float) return ok_status();
      return c.error(what, " must be a float tensor (f32, f16 or bf16), got ", type_str(t));
    case Accept::kNumeric:
      if (is_float || dtype_is_int(d)) return ok_status();
      return c.error(what, " must be a float or integer tensor, got ", type_str(t));
    case Accept::kBool:
      if (d == DType::kBool) return ok_status();
      return c.error(what, " must be a bool tensor, got ", type_str(t));
    case Accept::kIndex:
      if (d == DType::kI64 || d == DType::kI32) return ok_status();
      return c.error(what, " must be an i64 or i32 tensor, got ", type_str(t));
    case Accept::kAny:
      return ok_status();
  }
  return ok_status();
}

Status check_same_dtype(const Ctx& c, const TensorType& a, std::string_view a_what,
                        const TensorType& b, std::string_view b_what) {
  if (a.dtype == b.dtype) return ok_status();
  if (b_what.empty()) {
    return c.error(a_what, " must have the same dtype, got ", type_str(a), " and ", type_str(b));
  }
  return c.error(a_what, " and ", b_what, " must have the same dtype, got ", type_str(a), " and ",
                 type_str(b));
}

Status check_rank(const Ctx& c, const TensorType& t, std::string_view what, int64_t min_rank,
                  int64_t max_rank) {
  if (t.rank() >= min_rank && t.rank() <= max_rank) return ok_status();
  if (min_rank == max_rank) {
    return c.error(what, " must have rank ", min_rank, ", got ", type_str(t));
  }
  if (max_rank == INT64_MAX) {
    return c.error(what, " must have rank >= ", min_rank, ", got ", type_str(t));
  }
  return c.error(what, " must have rank ", min_rank, " to ", max_rank, ", got ", type_str(t));
}

Expected<int64_t> normalize_axis(const Ctx& c, int64_t axis, int64_t rank, std::string_view what) {
  if (axis < -rank || axis >= rank) {
    return c.error(what, " ", axis, " is out of range for rank ", rank, " (expected [", -rank, ", ",
                   rank, "))");
  }
  return axis < 0 ? axis + rank : axis;
}

bool is_const(const DimExpr& d, int64_t v) { return d.is_constant() && d.constant_value() == v; }

std::optional<DimExpr> merge_dims(const DimExpr& a, const DimExpr& b) {
  if (a == b) return a;
  const bool ac = a.is_constant(), bc = b.is_constant();
  if (ac && bc) return std::nullopt;
  if (ac) return a;
  if (bc) return b;
  return std::nullopt;
}

Expected<Shape> broadcast_shapes(const Ctx& c, const Shape& a, const Shape& b) {
  const size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    // Right-aligned: position i of the output reads a[i - (rank - a.size())] when it exists.
    const DimExpr* da = i + a.size() >= rank ? &a[i + a.size() - rank] : nullptr;
    const DimExpr* db = i + b.size() >= rank ? &b[i + b.size() - rank] : nullptr;
    if (!da || is_const(*da, 1)) {
      out[i] = db ? *db : *da;
    } else if (!db || is_const(*db, 1)) {
      out[i] = *da;
    } else if (std::optional<DimExpr> m = merge_dims(*da, *db)) {
      out[i] = *m;
    } else {
      return c.error("shapes ", shape_str(a), " and ", shape_str(b), " do not broadcast (dim ",
                     dim_str(*da), " against ", dim_str(*db), ")");
    }
  }
  return out;
}

std::optional<DimExpr> exact_divide(const DimExpr& num, const DimExpr& den) {
  if (den.terms().size() != 1) return std::nullopt;
  const DimTerm& d = den.terms()[0];
  if (d.coeff == 0 || d.coeff == INT64_MIN) return std::nullopt;
  auto atom_expr = [](const DimAtom& a) -> DimExpr {
    switch (a.kind) {
      case DimAtom::Kind::kSymbol: return DimExpr::symbol(a.symbol);
      case DimAtom::Kind::kFloorDiv: return floordiv(*a.lhs, *a.rhs);
      case DimAtom::Kind::kMod: return mod(*a.lhs, *a.rhs);
      case DimAtom::Kind::kMin: return min(*a.lhs, *a.rhs);
      case DimAtom::Kind::kMax: return max(*a.lhs, *a.rhs);
    }
    return DimExpr();
  };
  auto same_atom = [](const DimAtom& x, const DimAtom& y) {
    if (x.kind != y.kind) return false;
    if (x.kind == DimAtom::Kind::kSymbol) return x.symbol == y.symbol;
    return *x.lhs == *y.lhs && *x.rhs == *y.rhs;
  };
  DimExpr out;
  for (const DimTerm& t : num.terms()) {
    if (t.coeff % d.coeff != 0) return std::nullopt;
    std::vector<bool> used(t.factors.size(), false);
    for (const DimAtom& f : d.factors) {
      bool found = false;
      for (size_t i = 0; i < t.factors.size() && !found; ++i) {
        if (!used[i] && same_atom(t.factors[i], f)) used[i] = found = true;
      }
      if (!found) return std::nullopt;
    }
    DimExpr term(t.coeff / d.coeff);
    for (size_t i = 0; i < t.factors.size(); ++i) {
      if (!used[i]) term = term * atom_expr(t.factors[i]);
    }
    out = out + term;
  }
  return out;
}

namespace {

template <typename A>
const A& as(const Attrs& a) {
  return *std::get_if<A>(&a);
}

// Replaces every DimExpr field of an attribute struct by its value (concrete mode).
struct EvaluateDims {
  std::span<const int64_t> values;
  Status status;

  void operator()(const char* name, DimExpr& d) {
    if (!status.ok()) return;
    Expected<int64_t> v = d.evaluate(values);
    if (!v.ok()) {
      status = v.status().with_context(str_cat("attribute '", name, "'"));
      return;
    }
    d = DimExpr(*v);
  }
  void operator()(const char* name, std::vector<DimExpr>& dims) {
    for (DimExpr& d : dims) (*this)(name, d);
  }
  template <typename T>
  void operator()(const char*, T&) {}
};

Status check_operands(OpKind op, std::span<const TensorType* const> inputs) {
  const OpInfo& info = op_info(op);
  const int n = static_cast<int>(inputs.size());
  if (n < info.min_inputs || (info.max_inputs >= 0 && n > info.max_inputs)) {
    if (info.max_inputs < 0) {
      return invalid_argument(info.name, ": expected at least ", info.min_inputs,
                              " inputs, got ", n);
    }
    if (info.min_inputs == info.max_inputs) {
      return invalid_argument(info.name, ": expected ", info.min_inputs, " inputs, got ", n);
    }
    return invalid_argument(info.name, ": expected ", info.min_inputs, " to ", info.max_inputs,
                            " inputs, got ", n);
  }
  for (int i = 0; i < n; ++i) {
    if (inputs[i] == nullptr && (i < info.min_inputs || info.max_inputs < 0)) {
      return invalid_argument(info.name, ": input ", i, " is required but absent");
    }
  }
  return ok_status();
}

Expected<Types> dispatch(const Ctx& c, const Attrs& at) {
  switch (c.op) {
    case OpKind::kConstant: return infer_constant(c, as<ConstantAttrs>(at));
    case OpKind::kFull: return infer_full(c, as<FullAttrs>(at));
    case OpKind::kArange: return infer_arange(c, as<ArangeAttrs>(at));

    case OpKind::kNeg:
    case OpKind::kAbs:
    case OpKind::kSign:
    case OpKind::kRelu: return infer_unary(c, Accept::kNumeric);
    case OpKind::kExp:
    case OpKind::kLog:
    case OpKind::kSqrt:
    case OpKind::kRsqrt:
    case OpKind::kReciprocal:
    case OpKind::kSin:
    case OpKind::kCos:
    case OpKind::kTanh:
    case OpKind::kErf:
    case OpKind::kFloor:
    case OpKind::kCeil:
    case OpKind::kRound:
    case OpKind::kSigmoid:
    case OpKind::kGelu:
    case OpKind::kSilu:
    case OpKind::kSoftplus:
    case OpKind::kMish:
    case OpKind::kHardswish:
    case OpKind::kHardsigmoid:
    case OpKind::kLeakyRelu:
    case OpKind::kElu: return infer_unary(c, Accept::kFloat);
    case OpKind::kClamp: return infer_clamp(c, as<ClampAttrs>(at));
    case OpKind::kIsNan: return infer_isnan(c);
    case OpKind::kLogicalNot: return infer_unary(c, Accept::kBool);
    case OpKind::kCast: return infer_cast(c, as<CastAttrs>(at));

    case OpKind::kAdd:
    case OpKind::kSub:
    case OpKind::kMul:
    case OpKind::kRemainder:
    case OpKind::kMaximum:
    case OpKind::kMinimum: return infer_binary(c, Accept::kNumeric, false);
    case OpKind::kDiv: return infer_div(c, as<DivAttrs>(at));
    case OpKind::kPow: return infer_binary(c, Accept::kFloat, false);
    case OpKind::kEqual:
    case OpKind::kNotEqual:
    case OpKind::kLess:
    case OpKind::kLessEqual:
    case OpKind::kGreater:
    case OpKind::kGreaterEqual: return infer_binary(c, Accept::kAny, true);
    case OpKind::kLogicalAnd:
    case OpKind::kLogicalOr: return infer_binary(c, Accept::kBool, false);
    case OpKind::kWhere: return infer_where(c);

    case OpKind::kReduceSum:
    case OpKind::kReduceMax:
    case OpKind::kReduceMin:
    case OpKind::kReduceProd: {
      const ReduceAttrs& r = as<ReduceAttrs>(at);
      return infer_reduce(c, r.axes, r.keepdim, Accept::kNumeric);
    }
    case OpKind::kReduceMean: {
      const ReduceAttrs& r = as<ReduceAttrs>(at);
      return infer_reduce(c, r.axes, r.keepdim, Accept::kFloat);
    }
    case OpKind::kVar: {
      const VarAttrs& v = as<VarAttrs>(at);
      return infer_reduce(c, v.axes, v.keepdim, Accept::kFloat);
    }
    case OpKind::kArgMax:
    case OpKind::kArgMin: return infer_arg_reduce(c, as<ArgReduceAttrs>(at));
    case OpKind::kCumsum: return infer_cumsum(c, as<AxisAttrs>(at));
    case OpKind::kTopK: return infer_topk(c, as<TopKAttrs>(at));

    case OpKind::kMatMul: return infer_matmul(c);
    case OpKind::kLinear: return infer_linear(c);
    case OpKind::kConv: return infer_conv(c, as<ConvAttrs>(at));
    case OpKind::kConvTranspose: return infer_conv_transpose(c, as<ConvTransposeAttrs>(at));
    case OpKind::kBatchNorm: return infer_batch_norm(c, as<BatchNormAttrs>(at));
    case OpKind::kLayerNorm:
    case OpKind::kRmsNorm: return infer_norm(c, as<NormAttrs>(at));
    case OpKind::kGroupNorm: return infer_group_norm(c, as<GroupNormAttrs>(at));
    case OpKind::kSoftmax:
    case OpKind::kLogSoftmax: return infer_softmax(c, as<AxisAttrs>(at));
    case OpKind::kAttention: return infer_attention(c, as<AttentionAttrs>(at));
    case OpKind::kMaxPool:
    case OpKind::kAvgPool: return infer_pool(c, as<PoolAttrs>(at));
    case OpKind::kAdaptiveAvgPool:
    case OpKind::kAdaptiveMaxPool: return infer_adaptive_pool(c, as<AdaptivePoolAttrs>(at));
    case OpKind::kResize: return infer_resize(c, as<ResizeAttrs>(at));

    case OpKind::kReshape: return infer_reshape(c, as<ReshapeAttrs>(at));
    case OpKind::kPermute: return infer_permute(c, as<PermuteAttrs>(at));
    case OpKind::kExpand: return infer_expand(c, as<ExpandAttrs>(at));
    case OpKind::kSlice: return infer_slice(c, as<SliceAttrs>(at));
    case OpKind::kConcat: return infer_concat(c, as<AxisAttrs>(at));
    case OpKind::kSplit: return infer_split(c, as<SplitAttrs>(at));
    case OpKind::kTake: return infer_take(c, as<AxisAttrs>(at));
    case OpKind::kGather: return infer_gather(c, as<AxisAttrs>(at));
    case OpKind::kPad: return infer_pad(c, as<PadAttrs>(at));
    case OpKind::kTile: return infer_tile(c, as<TileAttrs>(at));
    case OpKind::kFlip: return infer_flip(c, as<AxesAttrs>(at));
    case OpKind::kRoll: return infer_roll(c, as<RollAttrs>(at));
    case OpKind::kTrilu: return infer_trilu(c, as<TriluAttrs>(at));
  }
  return internal_error("shape inference: unknown op kind ", static_cast<int>(c.op));
}

bool shape_is_static(const Shape& s) {
  for (const DimExpr& d : s) {
    if (!d.is_constant()) return false;
  }
  return true;
}

}  // namespace
}  // namespace shape_detail

Expected<std::vector<TensorType>> infer_output_types(OpKind op, const Attrs& attrs,
                                                     std::span<const TensorType* const> inputs,
                                                     const std::vector<int64_t>* symbol_values) {
  using namespace shape_detail;
  // 1. Operand counts and the attribute kind.
  KILN_RETURN_IF_ERROR(check_operands(op, inputs));
  if (!attrs_match_op(op, attrs)) {
    return invalid_argument(op_name(op), ": attributes of the wrong kind (variant index ",
                            attrs.index(), ", expected ", op_info(op).attrs_index, ")");
  }
  if (symbol_values == nullptr) return dispatch(Ctx{op, inputs}, attrs);

  // 2. Concrete mode: evaluate attribute dims, and any input dim still symbolic.
  Attrs evaluated = attrs;
  Status status;
  std::visit(
      [&](auto& a) {
        EvaluateDims eval{*symbol_values, ok_status()};
        a.visit(eval);
        status = eval.status;
      },
      evaluated);
  if (!status.ok()) return status.with_context(op_name(op));
  std::vector<TensorType> concrete_types;
  std::vector<const TensorType*> concrete_inputs(inputs.begin(), inputs.end());
  bool all_static = true;
  for (const TensorType* t : inputs) all_static = all_static && (!t || shape_is_static(t->shape));
  if (!all_static) {
    concrete_types.reserve(inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (!inputs[i]) continue;
      TensorType t = *inputs[i];
      for (DimExpr& d : t.shape) {
        Expected<int64_t> v = d.evaluate(*symbol_values);
        if (!v.ok()) return v.status().with_context(str_cat(op_name(op), ": input ", i));
        d = DimExpr(*v);
      }
      concrete_types.push_back(std::move(t));
      concrete_inputs[i] = &concrete_types.back();
    }
  }
  return dispatch(Ctx{op, concrete_inputs}, evaluated);
}

Expected<std::vector<TensorType>> infer_node_types(const Graph& g, const Node& n) {
  std::vector<const TensorType*> in;
  in.reserve(n.inputs.size());
  for (ValueId v : n.inputs) {
    if (v == kNoValue) {
      in.push_back(nullptr);
    } else if (v < 0 || static_cast<size_t>(v) >= g.values.size()) {
      return invalid_argument(op_name(n.op), n.loc.empty() ? "" : " at ", n.loc, ": input value #",
                              v, " does not exist");
    } else {
      in.push_back(&g.type(v));
    }
  }
  Expected<std::vector<TensorType>> types = infer_output_types(n.op, n.attrs, in, nullptr);
  if (!types.ok() && !n.loc.empty()) return types.status().with_context(n.loc);
  return types;
}

}  // namespace kiln
