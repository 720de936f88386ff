// Converters for linear-algebra ATen ops: linear and matmul (kept whole by the decomposition
// table), mm, bmm, addmm and baddbmm (core ATen), and mv / dot where they reach ATen. Everything
// maps onto the IR's `linear` and `matmul` (torch.matmul semantics), computed in the node's float
// output dtype.
//
// Deliberately not here: integer matrix products (the IR matmul is float only) and einsum (torch
// lowers it to permutes, views and bmm, which arrive here as such).
#include "converter.h"

namespace kiln::importer {
namespace {

using Kind = TorchValue::Kind;

// The output dtype must be a float dtype and every tensor operand a float tensor.
std::string check_float(const ImportContext& ctx, const TorchNode& n, size_t num_tensor_args) {
  Expected<DType> out = ctx.out_dtype(n);
  if (!out.ok()) return out.status().message();
  if (!dtype_is_float(*out)) {
    return str_cat("matrix products of ", dtype_name(*out), " tensors are not supported");
  }
  for (size_t i = 0; i < num_tensor_args; ++i) {
    const TorchValue& a = arg(n, i);
    if (a.is_none()) continue;
    if (!ctx.is_tensor(a)) return str_cat("operand ", i, " is not a tensor");
    Expected<DType> t = ctx.dtype_of(a);
    if (!t.ok()) return t.status().message();
    if (!dtype_is_float(*t)) return str_cat("operand ", i, " is not a float tensor");
  }
  return "";
}

// A Python scalar argument (beta, alpha) as a double, or nullopt.
std::optional<double> scalar_value(const TorchValue& v) {
  switch (v.kind) {
    case Kind::kInt: return static_cast<double>(v.i);
    case Kind::kFloat: return v.f;
    case Kind::kBool: return v.b ? 1.0 : 0.0;
    default: return std::nullopt;
  }
}

// ---- linear ----

std::string check_linear(const ImportContext& ctx, const TorchNode& n) {
  std::string r = check_float(ctx, n, 3);
  if (!r.empty()) return r;
  if (ctx.rank_of(arg(n, 0)) < 1) return "linear of a 0-d input";
  if (ctx.rank_of(arg(n, 1)) != 2) {
    return str_cat("linear with a weight of rank ", ctx.rank_of(arg(n, 1)), " (only 2 is supported)");
  }
  return "";
}

Status convert_linear(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(DType out, ctx.out_dtype(n));
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0), out));
  KILN_ASSIGN_OR_RETURN(ValueId w, ctx.tensor(arg(n, 1), out));
  const TorchValue& bias = arg(n, 2);
  std::vector<ValueId> ins = {x, w};
  bool bias_vector = !bias.is_none() && ctx.rank_of(bias) == 1;
  if (bias_vector) {
    KILN_ASSIGN_OR_RETURN(ValueId b, ctx.tensor(bias, out));
    ins.push_back(b);
  }
  KILN_ASSIGN_OR_RETURN(ValueId r, ctx.add(OpKind::kLinear, std::move(ins), LinearAttrs{}));
  if (!bias.is_none() && !bias_vector) {  // a bias of another shape broadcasts as in addmm
    KILN_ASSIGN_OR_RETURN(ValueId b, ctx.tensor(bias, out));
    KILN_ASSIGN_OR_RETURN(r, ctx.add(OpKind::kAdd, {r, b}));
  }
  ctx.set_output(r);
  return ok_status();
}

// ---- matmul, mm, bmm, mv, dot ----

std::string check_matmul(const ImportContext& ctx, const TorchNode& n) {
  std::string r = check_float(ctx, n, 2);
  if (!r.empty()) return r;
  if (ctx.rank_of(arg(n, 0)) < 1 || ctx.rank_of(arg(n, 1)) < 1) {
    return "matmul of a 0-d operand is not a matrix product";
  }
  return "";
}

Status convert_matmul(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(DType out, ctx.out_dtype(n));
  KILN_ASSIGN_OR_RETURN(ValueId a, ctx.tensor(arg(n, 0), out));
  KILN_ASSIGN_OR_RETURN(ValueId b, ctx.tensor(arg(n, 1), out));
  KILN_ASSIGN_OR_RETURN(ValueId r, ctx.add(OpKind::kMatMul, {a, b}));
  ctx.set_output(r);
  return ok_status();
}

// ---- addmm, baddbmm: beta * self + alpha * (a @ b) ----

std::string check_addmm(const ImportContext& ctx, const TorchNode& n) {
  std::string r = check_float(ctx, n, 3);
  if (!r.empty()) return r;
  if (!ctx.is_tensor(arg(n, 0))) return "self is not a tensor";
  if (ctx.rank_of(arg(n, 1)) < 1 || ctx.rank_of(arg(n, 2)) < 1) return "0-d matrix operand";
  for (size_t i : {3, 4}) {
    const TorchValue& s = arg(n, i);
    if (!s.is_none() && !scalar_value(s)) {
      return str_cat(i == 3 ? "beta" : "alpha", " is not a constant number (", s.to_string(), ")");
    }
  }
  return "";
}

Status convert_addmm(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(DType out, ctx.out_dtype(n));
  const double beta = scalar_value(arg(n, 3)).value_or(1.0);
  const double alpha = scalar_value(arg(n, 4)).value_or(1.0);
  KILN_ASSIGN_OR_RETURN(ValueId a, ctx.tensor(arg(n, 1), out));
  KILN_ASSIGN_OR_RETURN(ValueId b, ctx.tensor(arg(n, 2), out));
  KILN_ASSIGN_OR_RETURN(ValueId r, ctx.add(OpKind::kMatMul, {a, b}));
  if (alpha != 1.0) {
    KILN_ASSIGN_OR_RETURN(ValueId s, ctx.scalar(alpha, out));
    KILN_ASSIGN_OR_RETURN(r, ctx.add(OpKind::kMul, {r, s}));
  }
  if (beta != 0.0) {  // beta == 0: torch ignores self, NaN and Inf included
    KILN_ASSIGN_OR_RETURN(ValueId self, ctx.tensor(arg(n, 0), out));
    if (beta != 1.0) {
      KILN_ASSIGN_OR_RETURN(ValueId s, ctx.scalar(beta, out));
      KILN_ASSIGN_OR_RETURN(self, ctx.add(OpKind::kMul, {self, s}));
    }
    KILN_ASSIGN_OR_RETURN(r, ctx.add(OpKind::kAdd, {self, r}));
  }
  ctx.set_output(r);
  return ok_status();
}

const Converter kConverters[] = {
    {"aten.linear.default", convert_linear, check_linear},
    {"aten.matmul.default", convert_matmul, check_matmul},
    {"aten.mm.default", convert_matmul, check_matmul},
    {"aten.bmm.default", convert_matmul, check_matmul},
    {"aten.mv.default", convert_matmul, check_matmul},
    {"aten.dot.default", convert_matmul, check_matmul},
    {"aten.addmm.default", convert_addmm, check_addmm},
    {"aten.baddbmm.default", convert_addmm, check_addmm},
};

}  // namespace

std::span<const Converter> linalg_converters() { return kConverters; }

}  // namespace kiln::importer
