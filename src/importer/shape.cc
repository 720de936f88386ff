// Converters for shape and layout ATen ops (view, reshape, permute, transpose, expand, squeeze,
// unsqueeze, flatten, repeat, flip, roll, tril/triu, diagonal, unfold) and operator.getitem on
// tuple-valued nodes.
//
// Every op that only changes the shape (view, reshape, squeeze, unsqueeze, flatten, unflatten) is
// one IR reshape. Its target is torch's own output shape (the node's metadata) when every dim of it
// can be written over the engine's symbols, so the IR carries the same dims torch reasoned with;
// otherwise it is computed from the arguments (sizes from sym_size nodes, -1 inferred by the IR).
#include <algorithm>

#include "converter.h"

namespace kiln::importer {
namespace {

using Kind = TorchValue::Kind;

// ---- shared helpers -----------------------------------------------------------------------------



// "" if `list` is a list (or one value) of ints / SymInts, else the reason.
std::string check_size_list(const ImportContext& ctx, const TorchValue& list, const char* what) {
  if (list.kind != Kind::kList) {
    return is_int_like(ctx, list) ? "" : str_cat(what, " is not a list of sizes");
  }
  for (const TorchValue& item : list.items) {
    if (!is_int_like(ctx, item)) {
      return str_cat(what, " entry ", item.to_string(), " is not an integer or a symbolic size");
    }
  }
  return "";
}


// Sets the output to x reshaped to torch's output shape, or to `fallback` where that shape cannot
// be written over the engine's symbols.
Status output_reshaped(ImportContext& ctx, const TorchNode& n, ValueId x, Shape fallback) {
  std::optional<Shape> want = meta_shape(ctx, n.meta);
  KILN_ASSIGN_OR_RETURN(ValueId r, reshape_to(ctx, x, want ? *want : std::move(fallback)));
  ctx.set_output(r);
  return ok_status();
}

// ---- getitem ------------------------------------------------------------------------------------

// operator.getitem(tuple_node, k): the k-th value of a multi-output node converted earlier.
Status convert_getitem(ImportContext& ctx, const TorchNode& n) {
  const TorchValue& src = arg(n, 0);
  std::optional<int64_t> k = ImportContext::static_int(arg(n, 1));
  const std::vector<ValueId>* values = src.is_node() ? ctx.outputs_of(static_cast<int32_t>(src.i))
                                                     : nullptr;
  if (values == nullptr || !k || *k < 0 || *k >= static_cast<int64_t>(values->size())) {
    return invalid_argument("getitem reads a value this engine does not have");
  }
  ctx.set_output((*values)[static_cast<size_t>(*k)]);
  return ok_status();
}

std::string check_getitem(const ImportContext& ctx, const TorchNode& n) {
  if (ctx.meta(arg(n, 0)).kind != TorchValue::Kind::kList) return "getitem of a non-tuple value";
  if (!ImportContext::static_int(arg(n, 1))) return "getitem with a non-constant index";
  return "";
}

// ---- view / reshape -----------------------------------------------------------------------------

// view(x, size), reshape(x, shape), _unsafe_view(x, size): sizes may be SymInts and hold one -1.
Status convert_view(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0)));
  std::optional<Shape> want = meta_shape(ctx, n.meta);
  if (!want) {
    KILN_ASSIGN_OR_RETURN(Shape dims, ctx.dims(arg(n, 1)));
    want = std::move(dims);
  }
  KILN_ASSIGN_OR_RETURN(ValueId r, reshape_to(ctx, x, *want));
  ctx.set_output(r);
  return ok_status();
}

std::string check_view(const ImportContext& ctx, const TorchNode& n) {
  if (!ctx.is_tensor(arg(n, 0))) return "its input is not a tensor";
  return check_size_list(ctx, arg(n, 1), "the shape");
}

// ---- permute / transpose ------------------------------------------------------------------------

Status convert_permute(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0)));
  const int64_t rank = ctx.type(x).rank();
  std::optional<std::vector<int64_t>> dims = ImportContext::static_ints(arg(n, 1));
  if (!dims) return invalid_argument("permute dims are not constant");
  PermuteAttrs attrs;
  bool identity = true;
  for (size_t i = 0; i < dims->size(); ++i) {
    std::optional<int64_t> d = wrap_dim((*dims)[i], rank);
    if (!d) return invalid_argument("permute dim ", (*dims)[i], " is out of range for rank ", rank);
    attrs.perm.push_back(*d);
    identity = identity && *d == static_cast<int64_t>(i);
  }
  if (rank == 0 || identity) {
    ctx.set_output(x);
    return ok_status();
  }
  KILN_ASSIGN_OR_RETURN(ValueId r, ctx.add(OpKind::kPermute, {x}, attrs));
  ctx.set_output(r);
  return ok_status();
}

std::string check_permute(const ImportContext& ctx, const TorchNode& n) {
  const int64_t rank = ctx.rank_of(arg(n, 0));
  if (rank < 0) return "its input is not a tensor";
  std::optional<std::vector<int64_t>> dims = ImportContext::static_ints(arg(n, 1));
  if (!dims) return "permute dims are not constant";
  if (static_cast<int64_t>(dims->size()) != rank && !(rank == 0 && dims->empty())) {
    return str_cat("permute has ", dims->size(), " dims for a rank ", rank, " input");
  }
  std::vector<bool> seen(dims->size(), false);
  for (int64_t d : *dims) {
    std::optional<int64_t> w = wrap_dim(d, rank);
    if (!w || static_cast<size_t>(*w) >= seen.size() || seen[*w]) return "permute dims are invalid";
    seen[*w] = true;
  }
  return "";
}

// Swaps dims a and b (identity for a == b and for tensors of rank < 2).
Status transpose_dims(ImportContext& ctx, const TorchNode& n, int64_t a, int64_t b) {
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0)));
  const int64_t rank = ctx.type(x).rank();
  std::optional<int64_t> da = wrap_dim(a, rank), db = wrap_dim(b, rank);
  if (!da || !db) return invalid_argument("transpose dims ", a, ", ", b, " out of range");
  if (rank < 2 || *da == *db) {
    ctx.set_output(x);
    return ok_status();
  }
  PermuteAttrs attrs;
  for (int64_t i = 0; i < rank; ++i) attrs.perm.push_back(i);
  std::swap(attrs.perm[*da], attrs.perm[*db]);
  KILN_ASSIGN_OR_RETURN(ValueId r, ctx.add(OpKind::kPermute, {x}, attrs));
  ctx.set_output(r);
  return ok_status();
}

Status convert_transpose(ImportContext& ctx, const TorchNode& n) {
  std::optional<int64_t> a = ImportContext::static_int(arg(n, 1));
  std::optional<int64_t> b = ImportContext::static_int(arg(n, 2));
  if (!a || !b) return invalid_argument("transpose dims are not constant");
  return transpose_dims(ctx, n, *a, *b);
}

std::string check_transpose(const ImportContext& ctx, const TorchNode& n) {
  const int64_t rank = ctx.rank_of(arg(n, 0));
  if (rank < 0) return "its input is not a tensor";
  std::optional<int64_t> a = ImportContext::static_int(arg(n, 1));
  std::optional<int64_t> b = ImportContext::static_int(arg(n, 2));
  if (!a || !b) return "transpose dims are not constant";
  if (!wrap_dim(*a, rank) || !wrap_dim(*b, rank)) return "transpose dims are out of range";
  return "";
}

Status convert_t(ImportContext& ctx, const TorchNode& n) { return transpose_dims(ctx, n, 0, 1); }

std::string check_t(const ImportContext& ctx, const TorchNode& n) {
  const int64_t rank = ctx.rank_of(arg(n, 0));
  if (rank < 0) return "its input is not a tensor";
  if (rank > 2) return "t() of a tensor of rank > 2";
  return "";
}

// ---- expand -------------------------------------------------------------------------------------

// expand(x, size, implicit): -1 keeps a dim; new leading dims may be added.
Status convert_expand(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0)));
  KILN_ASSIGN_OR_RETURN(Shape size, ctx.dims(arg(n, 1)));
  // Sizes other than -1 become torch's output dims where those can be written over the engine's
  // symbols (a size torch proved equal to the input's dim then reads as the same expression); a -1
  // stays, so the IR keeps the input's dim exactly as it has it.
  if (std::optional<Shape> want = meta_shape(ctx, n.meta); want && want->size() == size.size()) {
    for (size_t i = 0; i < size.size(); ++i) {
      if (!(size[i].is_constant() && size[i].constant_value() == -1)) size[i] = (*want)[i];
    }
  }
  ExpandAttrs attrs;
  attrs.shape = std::move(size);
  KILN_ASSIGN_OR_RETURN(ValueId r, ctx.add(OpKind::kExpand, {x}, attrs));
  ctx.set_output(r);
  return ok_status();
}

std::string check_expand(const ImportContext& ctx, const TorchNode& n) {
  const int64_t rank = ctx.rank_of(arg(n, 0));
  if (rank < 0) return "its input is not a tensor";
  std::string r = check_size_list(ctx, arg(n, 1), "the expanded size");
  if (!r.empty()) return r;
  const TorchValue& size = arg(n, 1);
  int64_t count = size.kind == Kind::kList ? static_cast<int64_t>(size.items.size()) : 1;
  if (count < rank) return "expand to a lower rank";
  return "";
}

// ---- squeeze / unsqueeze / flatten / unflatten --------------------------------------------------

// The dims a squeeze removes: those listed (all if `dims` is nullopt) whose size is a static 1.
Status squeeze(ImportContext& ctx, const TorchNode& n, std::optional<std::vector<int64_t>> dims) {
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0)));
  const Shape in = ctx.type(x).shape;  // a copy: adding nodes moves the graph's values
  const int64_t rank = static_cast<int64_t>(in.size());
  std::vector<bool> listed(in.size(), !dims.has_value());
  if (dims) {
    for (int64_t d : *dims) {
      std::optional<int64_t> w = wrap_dim(d, rank);
      if (!w) return invalid_argument("squeeze dim ", d, " is out of range for rank ", rank);
      if (rank > 0) listed[*w] = true;
    }
  }
  Shape out;
  for (size_t i = 0; i < in.size(); ++i) {
    bool one = in[i].is_constant() && in[i].constant_value() == 1;
    if (!(listed[i] && one)) out.push_back(in[i]);
  }
  return output_reshaped(ctx, n, x, std::move(out));
}

Status convert_squeeze_default(ImportContext& ctx, const TorchNode& n) {
  return squeeze(ctx, n, std::nullopt);
}

Status convert_squeeze_dims(ImportContext& ctx, const TorchNode& n) {
  std::optional<std::vector<int64_t>> dims = ImportContext::static_ints(arg(n, 1));
  if (!dims) return invalid_argument("squeeze dims are not constant");
  return squeeze(ctx, n, dims);
}

// The rank torch's squeeze produces must be the one we compute from static dims: a symbolic dim
// that torch squeezed (it knew it to be 1) is refused rather than guessed.
std::string check_squeeze(const ImportContext& ctx, const TorchNode& n) {
  const TorchValue& m = ctx.meta(arg(n, 0));
  if (m.kind != Kind::kTensor) return "its input is not a tensor";
  const int64_t rank = static_cast<int64_t>(m.items.size());
  std::vector<bool> listed(m.items.size(), true);
  if (n.target != "aten.squeeze.default") {
    std::optional<std::vector<int64_t>> dims = ImportContext::static_ints(arg(n, 1));
    if (!dims) return "squeeze dims are not constant";
    std::fill(listed.begin(), listed.end(), false);
    for (int64_t d : *dims) {
      std::optional<int64_t> w = wrap_dim(d, rank);
      if (!w) return "squeeze dims are out of range";
      if (rank > 0) listed[*w] = true;
    }
  }
  int64_t kept = 0;
  for (size_t i = 0; i < m.items.size(); ++i) {
    bool one = m.items[i].kind == Kind::kInt && m.items[i].i == 1;
    if (!(listed[i] && one)) ++kept;
  }
  if (n.meta.kind != Kind::kTensor || static_cast<int64_t>(n.meta.items.size()) != kept) {
    return "squeeze of a symbolic dim that torch knows to be 1";
  }
  return "";
}

Status convert_unsqueeze(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0)));
  Shape shape = ctx.type(x).shape;
  const int64_t rank = static_cast<int64_t>(shape.size());
  std::optional<int64_t> d = ImportContext::static_int(arg(n, 1));
  std::optional<int64_t> w = d ? wrap_dim(*d, rank + 1) : std::nullopt;
  if (!w) return invalid_argument("unsqueeze dim is not a constant in range");
  shape.insert(shape.begin() + *w, DimExpr(1));
  return output_reshaped(ctx, n, x, std::move(shape));
}

std::string check_unsqueeze(const ImportContext& ctx, const TorchNode& n) {
  const int64_t rank = ctx.rank_of(arg(n, 0));
  if (rank < 0) return "its input is not a tensor";
  std::optional<int64_t> d = ImportContext::static_int(arg(n, 1));
  if (!d) return "unsqueeze dim is not constant";
  if (!wrap_dim(*d, rank + 1)) return "unsqueeze dim is out of range";
  return "";
}

// flatten(x, start_dim, end_dim): dims [start, end] become one (a 0-d tensor becomes [1]).
Status convert_flatten(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0)));
  const Shape in = ctx.type(x).shape;  // a copy: adding nodes moves the graph's values
  const int64_t rank = static_cast<int64_t>(in.size());
  std::optional<int64_t> s = ImportContext::static_int(arg(n, 1));
  std::optional<int64_t> e = ImportContext::static_int(arg(n, 2));
  std::optional<int64_t> ws = s ? wrap_dim(*s, rank) : std::nullopt;
  std::optional<int64_t> we = e ? wrap_dim(*e, rank) : std::nullopt;
  if (!ws || !we) return invalid_argument("flatten dims are not constants in range");
  if (rank == 0) return output_reshaped(ctx, n, x, Shape{DimExpr(1)});
  Shape out(in.begin(), in.begin() + *ws);
  DimExpr merged(1);
  for (int64_t i = *ws; i <= *we; ++i) merged = merged * in[i];
  out.push_back(merged);
  out.insert(out.end(), in.begin() + *we + 1, in.end());
  return output_reshaped(ctx, n, x, std::move(out));
}

std::string check_flatten(const ImportContext& ctx, const TorchNode& n) {
  const int64_t rank = ctx.rank_of(arg(n, 0));
  if (rank < 0) return "its input is not a tensor";
  std::optional<int64_t> s = ImportContext::static_int(arg(n, 1));
  std::optional<int64_t> e = ImportContext::static_int(arg(n, 2));
  if (!s || !e) return "flatten dims are not constant";
  std::optional<int64_t> ws = wrap_dim(*s, rank), we = wrap_dim(*e, rank);
  if (!ws || !we) return "flatten dims are out of range";
  if (*ws > *we) return "flatten start_dim comes after end_dim";
  return "";
}

// unflatten(x, dim, sizes): dim becomes `sizes` (one may be -1).
Status convert_unflatten(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0)));
  const Shape in = ctx.type(x).shape;  // a copy: adding nodes moves the graph's values
  const int64_t rank = static_cast<int64_t>(in.size());
  std::optional<int64_t> d = ImportContext::static_int(arg(n, 1));
  std::optional<int64_t> w = d && rank > 0 ? wrap_dim(*d, rank) : std::nullopt;
  if (!w) return invalid_argument("unflatten dim is not a constant in range");
  KILN_ASSIGN_OR_RETURN(Shape sizes, ctx.dims(arg(n, 2)));
  Shape out(in.begin(), in.begin() + *w);
  out.insert(out.end(), sizes.begin(), sizes.end());
  out.insert(out.end(), in.begin() + *w + 1, in.end());
  return output_reshaped(ctx, n, x, std::move(out));
}

std::string check_unflatten(const ImportContext& ctx, const TorchNode& n) {
  const int64_t rank = ctx.rank_of(arg(n, 0));
  if (rank < 1) return "its input is not a tensor of rank >= 1";
  std::optional<int64_t> d = ImportContext::static_int(arg(n, 1));
  if (!d || !wrap_dim(*d, rank)) return "unflatten dim is not a constant in range";
  return check_size_list(ctx, arg(n, 2), "the unflattened sizes");
}

// ---- repeat / flip / roll / tril / triu ---------------------------------------------------------

Status convert_repeat(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0)));
  std::optional<std::vector<int64_t>> repeats = ImportContext::static_ints(arg(n, 1));
  if (!repeats) return invalid_argument("repeat counts are not constant");
  TileAttrs attrs;
  attrs.repeats = *repeats;
  KILN_ASSIGN_OR_RETURN(ValueId r, ctx.add(OpKind::kTile, {x}, attrs));
  ctx.set_output(r);
  return ok_status();
}

std::string check_repeat(const ImportContext& ctx, const TorchNode& n) {
  const int64_t rank = ctx.rank_of(arg(n, 0));
  if (rank < 0) return "its input is not a tensor";
  std::optional<std::vector<int64_t>> repeats = ImportContext::static_ints(arg(n, 1));
  if (!repeats) return "repeat counts are not constant";
  if (static_cast<int64_t>(repeats->size()) < rank) return "fewer repeat counts than dims";
  for (int64_t r : *repeats) {
    if (r < 0) return "negative repeat count";
  }
  return "";
}

Status convert_flip(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0)));
  const int64_t rank = ctx.type(x).rank();
  std::optional<std::vector<int64_t>> dims = ImportContext::static_ints(arg(n, 1));
  if (!dims) return invalid_argument("flip dims are not constant");
  AxesAttrs attrs;
  for (int64_t d : *dims) {
    std::optional<int64_t> w = wrap_dim(d, rank);
    if (!w) return invalid_argument("flip dim ", d, " is out of range");
    if (rank > 0) attrs.axes.push_back(*w);
  }
  if (attrs.axes.empty()) {
    ctx.set_output(x);
    return ok_status();
  }
  KILN_ASSIGN_OR_RETURN(ValueId r, ctx.add(OpKind::kFlip, {x}, attrs));
  ctx.set_output(r);
  return ok_status();
}

std::string check_flip(const ImportContext& ctx, const TorchNode& n) {
  const int64_t rank = ctx.rank_of(arg(n, 0));
  if (rank < 0) return "its input is not a tensor";
  std::optional<std::vector<int64_t>> dims = ImportContext::static_ints(arg(n, 1));
  if (!dims) return "flip dims are not constant";
  std::vector<bool> seen(std::max<int64_t>(rank, 1), false);
  for (int64_t d : *dims) {
    std::optional<int64_t> w = wrap_dim(d, rank);
    if (!w) return "flip dims are out of range";
    if (seen[*w]) return "a flip dim is listed twice";
    seen[*w] = true;
  }
  return "";
}

Status convert_roll(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0)));
  const int64_t rank = ctx.type(x).rank();
  std::optional<std::vector<int64_t>> shifts = ImportContext::static_ints(arg(n, 1));
  std::optional<std::vector<int64_t>> dims = ImportContext::static_ints(arg(n, 2));
  if (!shifts || !dims) return invalid_argument("roll shifts and dims are not constant");
  if (rank == 0) {  // nothing to move
    ctx.set_output(x);
    return ok_status();
  }
  RollAttrs attrs;
  attrs.shifts = *shifts;
  for (int64_t d : *dims) {
    std::optional<int64_t> w = wrap_dim(d, rank);
    if (!w) return invalid_argument("roll dim ", d, " is out of range");
    attrs.axes.push_back(*w);
  }
  KILN_ASSIGN_OR_RETURN(ValueId r, ctx.add(OpKind::kRoll, {x}, attrs));
  ctx.set_output(r);
  return ok_status();
}

std::string check_roll(const ImportContext& ctx, const TorchNode& n) {
  const int64_t rank = ctx.rank_of(arg(n, 0));
  if (rank < 0) return "its input is not a tensor";
  std::optional<std::vector<int64_t>> shifts = ImportContext::static_ints(arg(n, 1));
  std::optional<std::vector<int64_t>> dims = ImportContext::static_ints(arg(n, 2));
  if (!shifts || !dims) return "roll shifts or dims are not constant";
  if (dims->empty() ? shifts->size() != 1 : shifts->size() != dims->size()) {
    return "roll needs one shift per dim (or one shift without dims)";
  }
  for (int64_t d : *dims) {
    if (!wrap_dim(d, rank)) return "roll dims are out of range";
  }
  return "";
}

template <bool kUpper>
Status convert_trilu(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0)));
  std::optional<int64_t> diagonal = ImportContext::static_int(arg(n, 1));
  TriluAttrs attrs;
  attrs.upper = kUpper;
  attrs.diagonal = diagonal.value_or(0);
  KILN_ASSIGN_OR_RETURN(ValueId r, ctx.add(OpKind::kTrilu, {x}, attrs));
  ctx.set_output(r);
  return ok_status();
}

std::string check_trilu(const ImportContext& ctx, const TorchNode& n) {
  if (ctx.rank_of(arg(n, 0)) < 2) return "tril/triu of a tensor of rank < 2";
  if (!arg(n, 1).is_none() && !ImportContext::static_int(arg(n, 1))) {
    return "the diagonal is not constant";
  }
  return "";
}

// ---- diagonal / unfold --------------------------------------------------------------------------

// Static size of dim d of tensor argument a, or nullopt.
std::optional<int64_t> static_size(const ImportContext& ctx, const TorchValue& a, int64_t d) {
  const TorchValue& m = ctx.meta(a);
  if (m.kind != Kind::kTensor || d < 0 || d >= static_cast<int64_t>(m.items.size())) {
    return std::nullopt;
  }
  return ImportContext::static_int(m.items[static_cast<size_t>(d)]);
}

// x with dims `last` moved to the end in that order (no node when already there).
Expected<ValueId> move_to_end(ImportContext& ctx, ValueId x, std::vector<int64_t> last) {
  const int64_t rank = ctx.type(x).rank();
  PermuteAttrs attrs;
  for (int64_t i = 0; i < rank; ++i) {
    if (std::find(last.begin(), last.end(), i) == last.end()) attrs.perm.push_back(i);
  }
  attrs.perm.insert(attrs.perm.end(), last.begin(), last.end());
  bool identity = true;
  for (int64_t i = 0; i < rank; ++i) identity = identity && attrs.perm[i] == i;
  if (identity) return x;
  return ctx.add(OpKind::kPermute, {x}, attrs);
}

// diagonal(x, offset, dim1, dim2): dims dim1 and dim2 (static n and m) go to the end and are
// flattened; the diagonal is then a strided slice of that last dim, with step m + 1.
Status convert_diagonal(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0)));
  const int64_t rank = ctx.type(x).rank();
  std::optional<int64_t> off = ImportContext::static_int(arg(n, 1));
  std::optional<int64_t> d1 = ImportContext::static_int(arg(n, 2));
  std::optional<int64_t> d2 = ImportContext::static_int(arg(n, 3));
  std::optional<int64_t> w1 = d1 ? wrap_dim(*d1, rank) : std::nullopt;
  std::optional<int64_t> w2 = d2 ? wrap_dim(*d2, rank) : std::nullopt;
  if (!off || !w1 || !w2) return invalid_argument("diagonal arguments are not constants in range");
  const Shape in = ctx.type(x).shape;  // a copy: adding nodes moves the graph's values
  if (!in[*w1].is_constant() || !in[*w2].is_constant()) {
    return invalid_argument("diagonal of symbolic dims");
  }
  const int64_t rows = in[*w1].constant_value(), cols = in[*w2].constant_value();
  KILN_ASSIGN_OR_RETURN(ValueId y, move_to_end(ctx, x, {*w1, *w2}));
  Shape flat = ctx.type(y).shape;
  flat.resize(flat.size() - 2);
  flat.push_back(DimExpr(rows * cols));
  KILN_ASSIGN_OR_RETURN(y, reshape_to(ctx, y, flat));
  const int64_t length = std::max<int64_t>(
      0, *off >= 0 ? std::min(rows, cols - *off) : std::min(rows + *off, cols));
  SliceAttrs attrs;
  attrs.axis = static_cast<int64_t>(flat.size()) - 1;
  attrs.start = DimExpr(length == 0 ? 0 : *off >= 0 ? *off : -*off * cols);
  attrs.end = length == 0 ? attrs.start : attrs.start + DimExpr((length - 1) * (cols + 1) + 1);
  attrs.step = cols + 1;
  KILN_ASSIGN_OR_RETURN(ValueId r, ctx.add(OpKind::kSlice, {y}, attrs));
  ctx.set_output(r);
  return ok_status();
}

std::string check_diagonal(const ImportContext& ctx, const TorchNode& n) {
  const int64_t rank = ctx.rank_of(arg(n, 0));
  if (rank < 2) return "diagonal of a tensor of rank < 2";
  std::optional<int64_t> off = ImportContext::static_int(arg(n, 1));
  std::optional<int64_t> d1 = ImportContext::static_int(arg(n, 2));
  std::optional<int64_t> d2 = ImportContext::static_int(arg(n, 3));
  if (!off || !d1 || !d2) return "diagonal offset or dims are not constant";
  std::optional<int64_t> w1 = wrap_dim(*d1, rank), w2 = wrap_dim(*d2, rank);
  if (!w1 || !w2 || *w1 == *w2) return "diagonal dims are out of range or equal";
  if (!static_size(ctx, arg(n, 0), *w1) || !static_size(ctx, arg(n, 0), *w2)) {
    return "diagonal over symbolic dims";
  }
  return "";
}

// unfold(x, dim, size, step): windows of `size` every `step` along dim (static), as a take with a
// constant [windows, size] index, then the window-element dim moved to the end.
Status convert_unfold(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0)));
  const int64_t rank = ctx.type(x).rank();
  std::optional<int64_t> d = ImportContext::static_int(arg(n, 1));
  std::optional<int64_t> size = ImportContext::static_int(arg(n, 2));
  std::optional<int64_t> step = ImportContext::static_int(arg(n, 3));
  std::optional<int64_t> w = d ? wrap_dim(*d, rank) : std::nullopt;
  if (!w || !size || !step || *step < 1 || *size < 0 || !ctx.type(x).shape[*w].is_constant()) {
    return invalid_argument("unfold arguments are not constants in range");
  }
  const int64_t total = ctx.type(x).shape[*w].constant_value();
  if (*size > total) return invalid_argument("unfold size ", *size, " exceeds the dim ", total);
  const int64_t windows = (total - *size) / *step + 1;
  std::vector<int64_t> index;
  index.reserve(static_cast<size_t>(windows * *size));
  for (int64_t i = 0; i < windows; ++i) {
    for (int64_t j = 0; j < *size; ++j) index.push_back(i * *step + j);
  }
  TensorType type{DType::kI64, Shape{DimExpr(windows), DimExpr(*size)}};
  KILN_ASSIGN_OR_RETURN(ValueId idx, graph_add_constant(ctx.graph(), type, index.data(),
                                                        index.size() * sizeof(int64_t)));
  AxisAttrs attrs;
  attrs.axis = *w;
  KILN_ASSIGN_OR_RETURN(ValueId r, ctx.add(OpKind::kTake, {x, idx}, attrs));
  KILN_ASSIGN_OR_RETURN(r, move_to_end(ctx, r, {*w + 1}));
  ctx.set_output(r);
  return ok_status();
}

std::string check_unfold(const ImportContext& ctx, const TorchNode& n) {
  const int64_t rank = ctx.rank_of(arg(n, 0));
  if (rank < 1) return "unfold of a tensor of rank 0 or of a non-tensor";
  std::optional<int64_t> d = ImportContext::static_int(arg(n, 1));
  std::optional<int64_t> size = ImportContext::static_int(arg(n, 2));
  std::optional<int64_t> step = ImportContext::static_int(arg(n, 3));
  if (!d || !size || !step) return "unfold dim, size or step is not constant";
  std::optional<int64_t> w = wrap_dim(*d, rank);
  if (!w) return "unfold dim is out of range";
  std::optional<int64_t> total = static_size(ctx, arg(n, 0), *w);
  if (!total) return "unfold along a symbolic dim";
  if (*step < 1 || *size < 0 || *size > *total) return "unfold size or step is out of range";
  if ((*total - *size) / *step + 1 > (1 << 20) / std::max<int64_t>(*size, 1)) {
    return "unfold with more than 2^20 window elements";
  }
  return "";
}

const Converter kConverters[] = {
    {"operator.getitem", convert_getitem, check_getitem},
    {"aten.view.default", convert_view, check_view},
    {"aten.reshape.default", convert_view, check_view},
    {"aten._unsafe_view.default", convert_view, check_view},
    {"aten.view_copy.default", convert_view, check_view},
    {"aten.permute.default", convert_permute, check_permute},
    {"aten.permute_copy.default", convert_permute, check_permute},
    {"aten.transpose.int", convert_transpose, check_transpose},
    {"aten.t.default", convert_t, check_t},
    {"aten.expand.default", convert_expand, check_expand},
    {"aten.expand_copy.default", convert_expand, check_expand},
    {"aten.squeeze.default", convert_squeeze_default, check_squeeze},
    {"aten.squeeze.dim", convert_squeeze_dims, check_squeeze},
    {"aten.squeeze.dims", convert_squeeze_dims, check_squeeze},
    {"aten.unsqueeze.default", convert_unsqueeze, check_unsqueeze},
    {"aten.flatten.using_ints", convert_flatten, check_flatten},
    {"aten.unflatten.int", convert_unflatten, check_unflatten},
    {"aten.repeat.default", convert_repeat, check_repeat},
    {"aten.flip.default", convert_flip, check_flip},
    {"aten.roll.default", convert_roll, check_roll},
    {"aten.tril.default", convert_trilu<false>, check_trilu},
    {"aten.triu.default", convert_trilu<true>, check_trilu},
    {"aten.diagonal.default", convert_diagonal, check_diagonal},
    {"aten.diagonal_copy.default", convert_diagonal, check_diagonal},
    {"aten.unfold.default", convert_unfold, check_unfold},
    {"aten.unfold_copy.default", convert_unfold, check_unfold},
};

}  // namespace

std::span<const Converter> shape_converters() { return kConverters; }

}  // namespace kiln::importer
