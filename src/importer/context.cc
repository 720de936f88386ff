// ImportContext: metadata lookups for capability checks and the graph-building helpers converters
// share (tensor and scalar operands, symbolic dims, casts, dtype promotion, engine symbols).
// It does not decide what is supported (converter checks do) nor which nodes form an engine (the
// partitioner does).
#include <algorithm>
#include <cstring>

#include "converter.h"

namespace kiln::importer {
namespace {

using Kind = TorchValue::Kind;

std::optional<DType> raw_dtype(std::string_view name) {
  static const std::pair<std::string_view, DType> kTable[] = {
      {"float32", DType::kF32}, {"float16", DType::kF16}, {"bfloat16", DType::kBF16},
      {"int64", DType::kI64},   {"int32", DType::kI32},   {"int8", DType::kI8},
      {"uint8", DType::kU8},    {"bool", DType::kBool},   {"float64", DType::kF64}};
  for (const auto& [n, t] : kTable) {
    if (n == name) return t;
  }
  return std::nullopt;
}

int category(DType t) { return t == DType::kBool ? 0 : dtype_is_float(t) ? 2 : 1; }

// torch.promote_types over the dtypes kiln knows (u8 with i8 gives i32 here, int16 in torch).
DType promote(DType a, DType b) {
  if (a == b) return a;
  if (category(a) != category(b)) return category(a) > category(b) ? a : b;
  if (category(a) == 2) {
    if ((a == DType::kF16 && b == DType::kBF16) || (a == DType::kBF16 && b == DType::kF16)) {
      return DType::kF32;
    }
    return dtype_size(a) >= dtype_size(b) ? a : b;
  }
  if ((a == DType::kU8 && b == DType::kI8) || (a == DType::kI8 && b == DType::kU8)) return DType::kI32;
  return dtype_size(a) >= dtype_size(b) ? a : b;
}

// c10's combine_categories: the higher-priority result wins unless the lower one is of a higher
// category.
std::optional<DType> combine(std::optional<DType> higher, std::optional<DType> lower) {
  if (!higher) return lower;
  if (!lower) return higher;
  if (dtype_is_float(*higher)) return higher;
  if (*higher == DType::kBool || dtype_is_float(*lower)) return promote(*higher, *lower);
  if (category(*lower) > category(*higher)) return promote(*higher, *lower);
  return higher;
}

// Converts host bytes between the float types an import may change (f64 -> f32, f32 -> f16).
std::vector<uint8_t> convert_floats(const void* src, int64_t count, DType from, DType to) {
  std::vector<uint8_t> out(static_cast<size_t>(count * dtype_size(to)));
  for (int64_t k = 0; k < count; ++k) {
    double v = 0;
    if (from == DType::kF64) {
      std::memcpy(&v, static_cast<const uint8_t*>(src) + k * 8, 8);
    } else {
      float f;
      std::memcpy(&f, static_cast<const uint8_t*>(src) + k * 4, 4);
      v = f;
    }
    if (to == DType::kF32) {
      float f = static_cast<float>(v);
      std::memcpy(out.data() + k * 4, &f, 4);
    } else if (to == DType::kF16) {
      uint16_t h = f32_to_f16(static_cast<float>(v));
      std::memcpy(out.data() + k * 2, &h, 2);
    } else {
      uint16_t h = f32_to_bf16(static_cast<float>(v));
      std::memcpy(out.data() + k * 2, &h, 2);
    }
  }
  return out;
}

const TorchValue kNone{};

}  // namespace

const TorchValue& arg(const TorchNode& n, size_t i) { return i < n.args.size() ? n.args[i] : kNone; }

std::optional<int64_t> wrap_dim(int64_t d, int64_t rank) {
  const int64_t r = std::max<int64_t>(rank, 1);
  if (d < -r || d >= r) return std::nullopt;
  return d < 0 ? d + r : d;
}

bool is_int_like(const ImportContext& ctx, const TorchValue& v) {
  const TorchValue& m = ctx.meta(v);
  return m.kind == Kind::kInt || m.kind == Kind::kSymInt;
}

std::optional<Shape> meta_shape(ImportContext& ctx, const TorchValue& meta) {
  if (meta.kind != Kind::kTensor) return std::nullopt;
  Expected<Shape> s = ctx.shape_of(meta);
  if (!s.ok()) return std::nullopt;
  return *s;
}

Expected<ValueId> reshape_to(ImportContext& ctx, ValueId x, Shape shape) {
  if (ctx.type(x).shape == shape) return x;
  ReshapeAttrs attrs;
  attrs.shape = std::move(shape);
  return ctx.add(OpKind::kReshape, {x}, attrs);
}

std::optional<double> number_arg(const TorchValue& v) {
  switch (v.kind) {
    case Kind::kInt: return static_cast<double>(v.i);
    case Kind::kFloat: return v.f;
    case Kind::kBool: return v.b ? 1.0 : 0.0;
    default: return std::nullopt;
  }
}

ImportContext::ImportContext(const TorchGraph& tg, const ImportOptions& options, Graph* graph)
    : tg_(tg), options_(options), graph_(graph) {}

const TorchValue& ImportContext::meta(const TorchValue& a) const {
  if (a.kind == Kind::kNode && a.i >= 0 && static_cast<size_t>(a.i) < tg_.nodes.size()) {
    return tg_.nodes[static_cast<size_t>(a.i)].meta;
  }
  return a;
}

int64_t ImportContext::rank_of(const TorchValue& a) const {
  const TorchValue& m = meta(a);
  return m.kind == Kind::kTensor ? static_cast<int64_t>(m.items.size()) : -1;
}

std::optional<DType> ImportContext::engine_dtype(std::string_view torch_name) const {
  std::optional<DType> t = raw_dtype(torch_name);
  return t ? lower(*t) : std::nullopt;
}

std::optional<DType> ImportContext::boundary_dtype(std::string_view torch_name) {
  std::optional<DType> t = raw_dtype(torch_name);
  if (t == DType::kF64) return DType::kF32;
  return t;
}

std::optional<DType> ImportContext::lower(DType raw) const {
  std::optional<DType> t = raw;
  if (*t == DType::kF64) {
    if (!options_.truncate_double) return std::nullopt;
    t = DType::kF32;
  }
  if (*t == DType::kF32) t = options_.f32_compute;
  return t;
}

Expected<DType> ImportContext::dtype_of(const TorchValue& a) const {
  const TorchValue& m = meta(a);
  if (m.kind != Kind::kTensor) return invalid_argument("expected a tensor, got ", m.to_string());
  std::optional<DType> t = engine_dtype(m.s);
  if (!t) return unsupported("tensors of dtype ", m.s, " are not supported in engines");
  return *t;
}

Expected<DType> ImportContext::out_dtype(const TorchNode& n, size_t k) const {
  if (n.meta.kind == Kind::kTensor && k == 0) return dtype_of(n.meta);
  if (n.meta.kind == Kind::kList && k < n.meta.items.size()) return dtype_of(n.meta.items[k]);
  return invalid_argument("output ", k, " of node '", n.name, "' is not a tensor");
}

Expected<DType> ImportContext::result_type(std::span<const TorchValue> operands) const {
  std::optional<DType> tiers[3];
  for (const TorchValue& a : operands) {
    const TorchValue& m = meta(a);
    std::optional<DType> t;
    int tier = 2;
    switch (m.kind) {
      case Kind::kTensor:
        t = raw_dtype(m.s);
        if (!t) return unsupported("tensors of dtype ", m.s, " are not supported in engines");
        tier = m.items.empty() ? 1 : 0;
        break;
      case Kind::kBool: t = DType::kBool; break;
      case Kind::kInt:
      case Kind::kSymInt: t = DType::kI64; break;
      case Kind::kFloat: t = DType::kF32; break;  // Python floats take the default dtype
      default: continue;
    }
    tiers[tier] = tiers[tier] ? promote(*tiers[tier], *t) : *t;
  }
  std::optional<DType> r = combine(tiers[0], combine(tiers[1], tiers[2]));
  if (!r) return invalid_argument("no tensor or scalar operands to promote");
  std::optional<DType> e = lower(*r);
  if (!e) return unsupported("the result dtype ", dtype_name(*r), " is not supported in engines");
  return *e;
}

std::optional<int64_t> ImportContext::static_int(const TorchValue& v) {
  if (v.kind == Kind::kInt) return v.i;
  if (v.kind == Kind::kBool) return v.b ? 1 : 0;
  return std::nullopt;
}

std::optional<std::vector<int64_t>> ImportContext::static_ints(const TorchValue& v) {
  if (v.kind == Kind::kInt) return std::vector<int64_t>{v.i};
  if (v.kind != Kind::kList) return std::nullopt;
  std::vector<int64_t> out;
  for (const TorchValue& item : v.items) {
    if (item.kind != Kind::kInt) return std::nullopt;
    out.push_back(item.i);
  }
  return out;
}

bool ImportContext::is_static(const TorchValue& a) const {
  const TorchValue& m = meta(a);
  return m.kind == Kind::kTensor && static_ints(TorchValue{Kind::kList, false, 0, 0, "", m.items});
}

void ImportContext::begin_node(int32_t index) { current_ = index; }

const std::vector<ValueId>* ImportContext::outputs_of(int32_t node) const {
  auto it = outputs_.find(node);
  return it == outputs_.end() ? nullptr : &it->second;
}

Expected<DimExpr> ImportContext::sym_expr(const TorchValue& v) const {
  if (v.kind == Kind::kInt) return DimExpr(v.i);
  if (v.kind != Kind::kSymInt) return invalid_argument("expected an integer, got ", v.to_string());
  if (v.items.empty()) {
    auto it = symbols_.find(v.s);
    if (it == symbols_.end()) {
      return unsupported("the size symbol ", v.s, " is not the size of any engine input");
    }
    return it->second;
  }
  std::vector<DimExpr> ops;
  for (const TorchValue& item : v.items) {
    KILN_ASSIGN_OR_RETURN(DimExpr e, sym_expr(item));
    ops.push_back(std::move(e));
  }
  DimExpr acc = ops[0];
  for (size_t k = 1; k < ops.size(); ++k) {
    if (v.s == "+") acc = acc + ops[k];
    else if (v.s == "*") acc = acc * ops[k];
    else if (v.s == "//") acc = floordiv(acc, ops[k]);
    else if (v.s == "%") acc = mod(acc, ops[k]);
    else if (v.s == "min") acc = min(acc, ops[k]);
    else if (v.s == "max") acc = max(acc, ops[k]);
    else return unsupported("symbolic integer operation '", v.s, "' is not supported");
  }
  return acc;
}

Expected<DimExpr> ImportContext::dim(const TorchValue& a) {
  const TorchValue& m = meta(a);
  if (m.kind == Kind::kInt || m.kind == Kind::kSymInt) return sym_expr(m);
  return invalid_argument("expected an integer or a symbolic size, got ", a.to_string());
}

Expected<Shape> ImportContext::dims(const TorchValue& list) {
  if (list.kind != Kind::kList) {
    KILN_ASSIGN_OR_RETURN(DimExpr d, dim(list));
    return Shape{d};
  }
  Shape out;
  for (const TorchValue& item : list.items) {
    KILN_ASSIGN_OR_RETURN(DimExpr d, dim(item));
    out.push_back(std::move(d));
  }
  return out;
}

Expected<Shape> ImportContext::shape_of(const TorchValue& a) {
  const TorchValue& m = meta(a);
  if (m.kind != Kind::kTensor) return invalid_argument("expected a tensor, got ", a.to_string());
  Shape out;
  for (const TorchValue& d : m.items) {
    KILN_ASSIGN_OR_RETURN(DimExpr e, sym_expr(d));
    out.push_back(std::move(e));
  }
  return out;
}

Expected<ValueId> ImportContext::tensor(const TorchValue& a) {
  if (a.kind != Kind::kNode) return invalid_argument("expected a tensor, got ", a.to_string());
  auto it = outputs_.find(static_cast<int32_t>(a.i));
  if (it != outputs_.end()) {
    if (it->second.size() != 1) {
      return invalid_argument("node '", tg_.nodes[a.i].name, "' has ", it->second.size(),
                              " values; expected one tensor");
    }
    return it->second[0];
  }
  const TorchNode& src = tg_.nodes[static_cast<size_t>(a.i)];
  if (src.op != "get_attr" || src.data == nullptr) {
    return internal_error("node '", src.name, "' is not available inside this engine");
  }
  // A weight: a constant in the engine's dtype.
  std::optional<DType> raw = raw_dtype(src.meta.s);
  KILN_ASSIGN_OR_RETURN(DType want, dtype_of(src.meta));
  auto shape = static_ints(TorchValue{Kind::kList, false, 0, 0, "", src.meta.items});
  if (!raw || !shape) return unsupported("weight '", src.name, "' has no static shape or dtype");
  int64_t count = concrete_numel(*shape);
  if (static_cast<int64_t>(src.nbytes) != count * dtype_size(*raw)) {
    return invalid_argument("weight '", src.name, "' has ", src.nbytes, " bytes; its type needs ",
                            count * dtype_size(*raw));
  }
  TensorType type{want, Shape(shape->begin(), shape->end())};
  Expected<ValueId> v = [&]() -> Expected<ValueId> {
    if (want == *raw) return graph_add_constant(*graph_, type, src.data, src.nbytes);
    std::vector<uint8_t> bytes = convert_floats(src.data, count, *raw, want);
    return graph_add_constant(*graph_, type, bytes.data(), bytes.size());
  }();
  KILN_RETURN_IF_ERROR(v);
  graph_->nodes.back().loc = src.name;
  outputs_[static_cast<int32_t>(a.i)] = {*v};
  return *v;
}

Expected<ValueId> ImportContext::tensor(const TorchValue& a, DType dtype) {
  const TorchValue& m = meta(a);
  switch (m.kind) {
    case Kind::kFloat: return scalar(m.f, dtype);
    case Kind::kInt: return scalar(static_cast<double>(m.i), dtype);
    case Kind::kBool: return scalar(m.b ? 1.0 : 0.0, dtype);
    default: break;
  }
  KILN_ASSIGN_OR_RETURN(ValueId v, tensor(a));
  return cast(v, dtype);
}

Expected<ValueId> ImportContext::scalar(double value, DType dtype) {
  FullAttrs attrs;
  attrs.shape = {};
  attrs.value = value;
  attrs.dtype = dtype;
  return add(OpKind::kFull, {}, attrs);
}

Expected<ValueId> ImportContext::add(OpKind op, std::vector<ValueId> inputs, Attrs attrs) {
  std::string loc = current_ >= 0 ? tg_.nodes[static_cast<size_t>(current_)].name : "";
  return graph_add_node1(*graph_, op, std::move(inputs), std::move(attrs), loc);
}

Expected<std::vector<ValueId>> ImportContext::add_multi(OpKind op, std::vector<ValueId> inputs,
                                                        Attrs attrs) {
  std::string loc = current_ >= 0 ? tg_.nodes[static_cast<size_t>(current_)].name : "";
  return graph_add_node(*graph_, op, std::move(inputs), std::move(attrs), loc);
}

Expected<ValueId> ImportContext::cast(ValueId v, DType to) {
  if (graph_->type(v).dtype == to) return v;
  CastAttrs attrs;
  attrs.to = to;
  return add(OpKind::kCast, {v}, attrs);
}

Status ImportContext::bind_input(int32_t node) {
  const TorchNode& n = tg_.nodes[static_cast<size_t>(node)];
  if (n.meta.kind != Kind::kTensor) {
    return unsupported("engine input '", n.name, "' is not a tensor (", n.meta.to_string(), ")");
  }
  KILN_ASSIGN_OR_RETURN(DType inside, dtype_of(n.meta));
  DType boundary = *boundary_dtype(n.meta.s);
  KILN_ASSIGN_OR_RETURN(Shape shape, shape_of(TorchValue{Kind::kNode, false, node}));
  ValueId v = graph_add_input(*graph_, n.name, TensorType{boundary, shape});
  current_ = node;
  KILN_ASSIGN_OR_RETURN(v, cast(v, inside));
  outputs_[node] = {v};
  return ok_status();
}

// Engine symbols: every torch symbol that is a whole dim of some engine input becomes an engine
// symbol with the torch range. A symbol that only appears as a*s + b in an input dim is recovered
// from a fresh symbol t for that dim as s = (t - b) // a.
Status ImportContext::map_symbols(std::span<const int32_t> input_nodes) {
  auto find_range = [&](const std::string& name) -> SymbolInfo {
    SymbolInfo info{name, 1, std::numeric_limits<int32_t>::max(), 1};
    for (const TorchSymbol& s : tg_.symbols) {
      if (s.name == name) {
        info.min = s.min;
        info.max = std::min<int64_t>(s.max > 0 ? s.max : info.max, info.max);
        info.opt = std::clamp(s.opt, info.min, info.max);
      }
    }
    return info;
  };
  std::vector<const TorchValue*> compound;
  for (int32_t node : input_nodes) {
    const TorchValue& m = tg_.nodes[static_cast<size_t>(node)].meta;
    if (m.kind != Kind::kTensor) continue;
    for (const TorchValue& d : m.items) {
      if (d.kind != Kind::kSymInt) continue;
      if (!d.items.empty()) {
        compound.push_back(&d);
        continue;
      }
      if (symbols_.count(d.s)) continue;
      KILN_ASSIGN_OR_RETURN(DimExpr e, graph_add_symbol(*graph_, find_range(d.s)));
      symbols_[d.s] = e;
    }
  }
  for (const TorchValue* d : compound) {
    // Find the one unbound symbol, if any, and solve a*s + b for it.
    std::vector<std::string> unbound;
    std::vector<const TorchValue*> stack{d};
    while (!stack.empty()) {
      const TorchValue* v = stack.back();
      stack.pop_back();
      if (v->kind == Kind::kSymInt && v->items.empty() && !symbols_.count(v->s) &&
          std::find(unbound.begin(), unbound.end(), v->s) == unbound.end()) {
        unbound.push_back(v->s);
      }
      for (const TorchValue& item : v->items) stack.push_back(&item);
    }
    if (unbound.empty()) continue;
    if (unbound.size() > 1) continue;  // left unbound; a use of it fails with a clear error
    SymbolInfo s = find_range(unbound[0]);
    symbols_[unbound[0]] = DimExpr::symbol(0);  // placeholder to read the expression's form
    int32_t probe = static_cast<int32_t>(graph_->symbols.size());
    symbols_[unbound[0]] = DimExpr::symbol(probe);
    Expected<DimExpr> form = sym_expr(*d);
    symbols_.erase(unbound[0]);
    if (!form.ok()) continue;
    int64_t a = 0, b = 0;
    bool linear = true;
    for (const DimTerm& t : form->terms()) {
      if (t.factors.empty()) {
        b = t.coeff;
      } else if (t.factors.size() == 1 && t.factors[0].kind == DimAtom::Kind::kSymbol &&
                 t.factors[0].symbol == probe) {
        a = t.coeff;
      } else {
        linear = false;
      }
    }
    if (!linear || a <= 0) continue;
    SymbolInfo info{str_cat(unbound[0], "_", a, "x", b >= 0 ? "p" : "m", b < 0 ? -b : b),
                    a * s.min + b, a * std::min<int64_t>(s.max, 1 << 24) + b, a * s.opt + b};
    KILN_ASSIGN_OR_RETURN(DimExpr t, graph_add_symbol(*graph_, info));
    symbols_[unbound[0]] = floordiv(t - DimExpr(b), DimExpr(a));
  }
  return ok_status();
}

}  // namespace kiln::importer
