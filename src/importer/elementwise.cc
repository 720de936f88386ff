// Converters for elementwise ATen ops: arithmetic with torch's type promotion and alpha, the
// comparisons, logic, unary math, where / masked_fill, and the dtype casts and copies.
// Activation functions live in activation.cc.
#include <cmath>

#include "converter.h"

namespace kiln::importer {
namespace {

using Kind = TorchValue::Kind;

// out = op(a, b) computed in `compute`, cast to the node's output dtype.
Status binary(ImportContext& ctx, const TorchNode& n, OpKind op, const TorchValue& a,
              const TorchValue& b, DType compute, Attrs attrs = NoAttrs{}) {
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(a, compute));
  KILN_ASSIGN_OR_RETURN(ValueId y, ctx.tensor(b, compute));
  KILN_ASSIGN_OR_RETURN(ValueId r, ctx.add(op, {x, y}, std::move(attrs)));
  KILN_ASSIGN_OR_RETURN(DType out, ctx.out_dtype(n));
  KILN_ASSIGN_OR_RETURN(r, ctx.cast(r, out));
  ctx.set_output(r);
  return ok_status();
}

// Arithmetic: computed in the promoted dtype (which is the output dtype).
template <OpKind kOp>
Status convert_arith(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(DType out, ctx.out_dtype(n));
  return binary(ctx, n, kOp, arg(n, 0), arg(n, 1), out);
}

// add/sub with alpha: a op alpha*b.
template <OpKind kOp>
Status convert_alpha(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(DType out, ctx.out_dtype(n));
  const TorchValue& alpha = arg(n, 2);
  bool unit = alpha.is_none() || (alpha.kind == Kind::kInt && alpha.i == 1) ||
              (alpha.kind == Kind::kFloat && alpha.f == 1.0);
  if (unit) return binary(ctx, n, kOp, arg(n, 0), arg(n, 1), out);
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0), out));
  KILN_ASSIGN_OR_RETURN(ValueId y, ctx.tensor(arg(n, 1), out));
  KILN_ASSIGN_OR_RETURN(ValueId s, ctx.tensor(alpha, out));
  KILN_ASSIGN_OR_RETURN(y, ctx.add(OpKind::kMul, {y, s}));
  KILN_ASSIGN_OR_RETURN(ValueId r, ctx.add(kOp, {x, y}));
  ctx.set_output(r);
  return ok_status();
}

// rsub(a, b, alpha) = b - alpha*a.
Status convert_rsub(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(DType out, ctx.out_dtype(n));
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0), out));
  KILN_ASSIGN_OR_RETURN(ValueId y, ctx.tensor(arg(n, 1), out));
  if (!arg(n, 2).is_none()) {
    KILN_ASSIGN_OR_RETURN(ValueId s, ctx.tensor(arg(n, 2), out));
    KILN_ASSIGN_OR_RETURN(x, ctx.add(OpKind::kMul, {x, s}));
  }
  KILN_ASSIGN_OR_RETURN(ValueId r, ctx.add(OpKind::kSub, {y, x}));
  ctx.set_output(r);
  return ok_status();
}

// True division computes in the (float) output dtype; rounding modes in the promoted dtype.
Status convert_div(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(DType out, ctx.out_dtype(n));
  DivAttrs attrs;
  const TorchValue& mode = arg(n, 2);
  if (mode.kind == Kind::kString) {
    attrs.rounding = mode.s == "trunc" ? DivRounding::kTrunc : DivRounding::kFloor;
  }
  return binary(ctx, n, OpKind::kDiv, arg(n, 0), arg(n, 1), out, attrs);
}

std::string check_div_mode(const ImportContext&, const TorchNode& n) {
  const TorchValue& mode = arg(n, 2);
  if (mode.is_none() || (mode.kind == Kind::kString && (mode.s == "trunc" || mode.s == "floor"))) {
    return "";
  }
  return str_cat("rounding_mode ", mode.to_string(), " is not supported");
}

// Comparisons and logic: operands promoted together, result bool.
template <OpKind kOp>
Status convert_compare(ImportContext& ctx, const TorchNode& n) {
  const TorchValue operands[] = {arg(n, 0), arg(n, 1)};
  KILN_ASSIGN_OR_RETURN(DType compute, ctx.result_type(operands));
  return binary(ctx, n, kOp, arg(n, 0), arg(n, 1), compute);
}

template <OpKind kOp>
Status convert_logical(ImportContext& ctx, const TorchNode& n) {
  return binary(ctx, n, kOp, arg(n, 0), arg(n, 1), DType::kBool);
}

Status convert_logical_xor(ImportContext& ctx, const TorchNode& n) {
  return binary(ctx, n, OpKind::kNotEqual, arg(n, 0), arg(n, 1), DType::kBool);
}

Status convert_logical_not(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0), DType::kBool));
  KILN_ASSIGN_OR_RETURN(ValueId r, ctx.add(OpKind::kLogicalNot, {x}));
  ctx.set_output(r);
  return ok_status();
}

// Bitwise ops are converted for bool tensors only (where they are logic).
std::string check_bool_operands(const ImportContext& ctx, const TorchNode& n) {
  for (size_t i = 0; i < 2 && i < n.args.size(); ++i) {
    const TorchValue& m = ctx.meta(n.args[i]);
    if (m.kind == Kind::kTensor && m.s != "bool") return "bitwise ops on integers are not supported";
    if (m.kind == Kind::kInt) return "bitwise ops on integers are not supported";
  }
  return "";
}

// Unary math: computed in the output dtype (ints promote to float for exp, log, ...).
template <OpKind kOp>
Status convert_unary(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(DType out, ctx.out_dtype(n));
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0), out));
  KILN_ASSIGN_OR_RETURN(ValueId r, ctx.add(kOp, {x}));
  ctx.set_output(r);
  return ok_status();
}

// isnan reads its input's own dtype.
Status convert_isnan(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0)));
  KILN_ASSIGN_OR_RETURN(ValueId r, ctx.add(OpKind::kIsNan, {x}));
  ctx.set_output(r);
  return ok_status();
}

// Composite unary forms: log1p, expm1, log2, log10, trunc, square.
Status convert_composite_unary(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(DType out, ctx.out_dtype(n));
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0), out));
  const std::string& t = n.target;
  ValueId r;
  if (t == "aten.log1p.default" || t == "aten.expm1.default") {
    KILN_ASSIGN_OR_RETURN(ValueId one, ctx.scalar(1.0, out));
    if (t == "aten.log1p.default") {
      KILN_ASSIGN_OR_RETURN(r, ctx.add(OpKind::kAdd, {x, one}));
      KILN_ASSIGN_OR_RETURN(r, ctx.add(OpKind::kLog, {r}));
    } else {
      KILN_ASSIGN_OR_RETURN(r, ctx.add(OpKind::kExp, {x}));
      KILN_ASSIGN_OR_RETURN(r, ctx.add(OpKind::kSub, {r, one}));
    }
  } else if (t == "aten.log2.default" || t == "aten.log10.default") {
    KILN_ASSIGN_OR_RETURN(ValueId l, ctx.add(OpKind::kLog, {x}));
    double base = t == "aten.log2.default" ? 2.0 : 10.0;
    KILN_ASSIGN_OR_RETURN(ValueId k, ctx.scalar(1.0 / std::log(base), out));
    KILN_ASSIGN_OR_RETURN(r, ctx.add(OpKind::kMul, {l, k}));
  } else if (t == "aten.trunc.default") {
    KILN_ASSIGN_OR_RETURN(ValueId one, ctx.scalar(1.0, out));
    DivAttrs attrs;
    attrs.rounding = DivRounding::kTrunc;
    KILN_ASSIGN_OR_RETURN(r, ctx.add(OpKind::kDiv, {x, one}, attrs));
  } else {  // square
    KILN_ASSIGN_OR_RETURN(r, ctx.add(OpKind::kMul, {x, x}));
  }
  ctx.set_output(r);
  return ok_status();
}

// where(cond, a, b) with promotion of a and b; masked_fill(x, mask, value) = where(mask, value, x).
Status convert_where(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(DType out, ctx.out_dtype(n));
  KILN_ASSIGN_OR_RETURN(ValueId c, ctx.tensor(arg(n, 0), DType::kBool));
  KILN_ASSIGN_OR_RETURN(ValueId a, ctx.tensor(arg(n, 1), out));
  KILN_ASSIGN_OR_RETURN(ValueId b, ctx.tensor(arg(n, 2), out));
  KILN_ASSIGN_OR_RETURN(ValueId r, ctx.add(OpKind::kWhere, {c, a, b}));
  ctx.set_output(r);
  return ok_status();
}

Status convert_masked_fill(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(DType out, ctx.out_dtype(n));
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0), out));
  KILN_ASSIGN_OR_RETURN(ValueId m, ctx.tensor(arg(n, 1), DType::kBool));
  KILN_ASSIGN_OR_RETURN(ValueId v, ctx.tensor(arg(n, 2), out));
  KILN_ASSIGN_OR_RETURN(ValueId r, ctx.add(OpKind::kWhere, {m, v, x}));
  ctx.set_output(r);
  return ok_status();
}

// Casts and copies: the value itself in the output dtype (copies are free in a value graph).
Status convert_copy(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(DType out, ctx.out_dtype(n));
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0)));
  KILN_ASSIGN_OR_RETURN(ValueId r, ctx.cast(x, out));
  ctx.set_output(r);
  return ok_status();
}

// Copies that may change the memory format or device: only the value matters inside an engine.
std::string check_copy(const ImportContext& ctx, const TorchNode& n) {
  if (!ctx.is_tensor(arg(n, 0))) return "its input is not a tensor";
  return "";
}

const Converter kConverters[] = {
    {"aten.add.Tensor", convert_alpha<OpKind::kAdd>},
    {"aten.add.Scalar", convert_alpha<OpKind::kAdd>},
    {"aten.sub.Tensor", convert_alpha<OpKind::kSub>},
    {"aten.sub.Scalar", convert_alpha<OpKind::kSub>},
    {"aten.rsub.Scalar", convert_rsub},
    {"aten.rsub.Tensor", convert_rsub},
    {"aten.mul.Tensor", convert_arith<OpKind::kMul>},
    {"aten.mul.Scalar", convert_arith<OpKind::kMul>},
    {"aten.div.Tensor", convert_div},
    {"aten.div.Scalar", convert_div},
    {"aten.div.Tensor_mode", convert_div, check_div_mode},
    {"aten.div.Scalar_mode", convert_div, check_div_mode},
    {"aten.floor_divide.default", [](ImportContext& ctx, const TorchNode& n) -> Status {
       KILN_ASSIGN_OR_RETURN(DType out, ctx.out_dtype(n));
       DivAttrs attrs;
       attrs.rounding = DivRounding::kFloor;
       return binary(ctx, n, OpKind::kDiv, arg(n, 0), arg(n, 1), out, attrs);
     }},
    {"aten.remainder.Tensor", convert_arith<OpKind::kRemainder>},
    {"aten.remainder.Scalar", convert_arith<OpKind::kRemainder>},
    {"aten.pow.Tensor_Scalar", convert_arith<OpKind::kPow>},
    {"aten.pow.Tensor_Tensor", convert_arith<OpKind::kPow>},
    {"aten.pow.Scalar", convert_arith<OpKind::kPow>},
    {"aten.maximum.default", convert_arith<OpKind::kMaximum>},
    {"aten.minimum.default", convert_arith<OpKind::kMinimum>},
    {"aten.eq.Tensor", convert_compare<OpKind::kEqual>},
    {"aten.eq.Scalar", convert_compare<OpKind::kEqual>},
    {"aten.ne.Tensor", convert_compare<OpKind::kNotEqual>},
    {"aten.ne.Scalar", convert_compare<OpKind::kNotEqual>},
    {"aten.lt.Tensor", convert_compare<OpKind::kLess>},
    {"aten.lt.Scalar", convert_compare<OpKind::kLess>},
    {"aten.le.Tensor", convert_compare<OpKind::kLessEqual>},
    {"aten.le.Scalar", convert_compare<OpKind::kLessEqual>},
    {"aten.gt.Tensor", convert_compare<OpKind::kGreater>},
    {"aten.gt.Scalar", convert_compare<OpKind::kGreater>},
    {"aten.ge.Tensor", convert_compare<OpKind::kGreaterEqual>},
    {"aten.ge.Scalar", convert_compare<OpKind::kGreaterEqual>},
    {"aten.logical_and.default", convert_logical<OpKind::kLogicalAnd>},
    {"aten.logical_or.default", convert_logical<OpKind::kLogicalOr>},
    {"aten.logical_xor.default", convert_logical_xor},
    {"aten.logical_not.default", convert_logical_not},
    {"aten.bitwise_and.Tensor", convert_logical<OpKind::kLogicalAnd>, check_bool_operands},
    {"aten.bitwise_or.Tensor", convert_logical<OpKind::kLogicalOr>, check_bool_operands},
    {"aten.bitwise_xor.Tensor", convert_logical_xor, check_bool_operands},
    {"aten.bitwise_not.default", convert_logical_not, check_bool_operands},
    {"aten.neg.default", convert_unary<OpKind::kNeg>},
    {"aten.abs.default", convert_unary<OpKind::kAbs>},
    {"aten.sign.default", convert_unary<OpKind::kSign>},
    {"aten.exp.default", convert_unary<OpKind::kExp>},
    {"aten.log.default", convert_unary<OpKind::kLog>},
    {"aten.sqrt.default", convert_unary<OpKind::kSqrt>},
    {"aten.rsqrt.default", convert_unary<OpKind::kRsqrt>},
    {"aten.reciprocal.default", convert_unary<OpKind::kReciprocal>},
    {"aten.sin.default", convert_unary<OpKind::kSin>},
    {"aten.cos.default", convert_unary<OpKind::kCos>},
    {"aten.tanh.default", convert_unary<OpKind::kTanh>},
    {"aten.erf.default", convert_unary<OpKind::kErf>},
    {"aten.floor.default", convert_unary<OpKind::kFloor>},
    {"aten.ceil.default", convert_unary<OpKind::kCeil>},
    {"aten.round.default", convert_unary<OpKind::kRound>},
    {"aten.isnan.default", convert_isnan},
    {"aten.log1p.default", convert_composite_unary},
    {"aten.expm1.default", convert_composite_unary},
    {"aten.log2.default", convert_composite_unary},
    {"aten.log10.default", convert_composite_unary},
    {"aten.trunc.default", convert_composite_unary},
    {"aten.square.default", convert_composite_unary},
    {"aten.where.self", convert_where},
    {"aten.where.ScalarSelf", convert_where},
    {"aten.where.ScalarOther", convert_where},
    {"aten.where.Scalar", convert_where},
    {"aten.masked_fill.Scalar", convert_masked_fill},
    {"aten.masked_fill.Tensor", convert_masked_fill},
    {"aten._to_copy.default", convert_copy, check_copy},
    {"aten.clone.default", convert_copy, check_copy},
    {"aten.alias.default", convert_copy, check_copy},
    {"aten.detach.default", convert_copy, check_copy},
    {"aten.lift_fresh_copy.default", convert_copy, check_copy},
    {"aten.contiguous.default", convert_copy, check_copy},
    {"aten.dropout.default", convert_copy, check_copy},
    {"aten.to.dtype", convert_copy, check_copy},
};

}  // namespace

std::span<const Converter> elementwise_converters() { return kConverters; }

}  // namespace kiln::importer
