// Converters for indexing ATen ops: slice, select, narrow, cat, stack, split, split_with_sizes,
// chunk, unbind, index_select, gather, embedding and index.Tensor (index tensors on adjacent dims).
//
// Where torch's output dims can be written over the engine's symbols, sizes come from the node's
// metadata (split sizes, the shape after a slice), so the IR carries the dims torch reasoned with;
// otherwise they are computed from the arguments.
#include <algorithm>
#include <limits>

#include "converter.h"

namespace kiln::importer {
namespace {

using Kind = TorchValue::Kind;



bool is_index_dtype(const TorchValue& m) {
  return m.kind == Kind::kTensor && (m.s == "int64" || m.s == "int32");
}


// x given torch's shape for it where that differs from what the IR computed (same elements: only
// the form of the dims differs, e.g. min(4, s) where torch knows the slice has 4).
Expected<ValueId> conform(ImportContext& ctx, ValueId x, const TorchValue& meta) {
  std::optional<Shape> want = meta_shape(ctx, meta);
  if (!want || want->size() != ctx.type(x).shape.size()) return x;
  return reshape_to(ctx, x, *want);
}

// The static dim argument `i` of node n wrapped against the rank of its tensor argument 0.
std::optional<int64_t> static_dim(const ImportContext& ctx, const TorchNode& n, size_t i) {
  std::optional<int64_t> d = ImportContext::static_int(arg(n, i));
  const int64_t rank = ctx.rank_of(arg(n, 0));
  if (!d || rank < 1) return std::nullopt;
  return wrap_dim(*d, rank);
}

// A start index along `axis`; a static negative one counts from the end (symbolic dims too).
Expected<DimExpr> start_index(ImportContext& ctx, ValueId x, int64_t axis, const TorchValue& v) {
  KILN_ASSIGN_OR_RETURN(DimExpr e, ctx.dim(v));
  if (e.is_constant() && e.constant_value() < 0) return ctx.type(x).shape[axis] + e;
  return e;
}

Expected<ValueId> make_slice(ImportContext& ctx, ValueId x, int64_t axis, DimExpr start,
                             DimExpr end, int64_t step) {
  SliceAttrs attrs;
  attrs.axis = axis;
  attrs.start = std::move(start);
  attrs.end = std::move(end);
  attrs.step = step;
  return ctx.add(OpKind::kSlice, {x}, attrs);
}

// ---- slice / select / narrow --------------------------------------------------------------------

// slice.Tensor(x, dim, start?, end?, step): Python slicing on one dim; bounds may be symbolic.
Status convert_slice(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0)));
  std::optional<int64_t> axis = static_dim(ctx, n, 1);
  std::optional<int64_t> step = ImportContext::static_int(arg(n, 4));
  if (!axis || !step) return invalid_argument("slice dim or step is not constant");
  DimExpr start(0), end(std::numeric_limits<int64_t>::max());
  if (!arg(n, 2).is_none()) {
    KILN_ASSIGN_OR_RETURN(start, ctx.dim(arg(n, 2)));
  }
  if (!arg(n, 3).is_none()) {
    KILN_ASSIGN_OR_RETURN(end, ctx.dim(arg(n, 3)));
  }
  // A slice that keeps everything is the input itself.
  const bool all = start.is_constant() && start.constant_value() == 0 && end.is_constant() &&
                   end.constant_value() >= std::numeric_limits<int32_t>::max() && *step == 1;
  ValueId r = x;
  if (!all) {
    KILN_ASSIGN_OR_RETURN(r, make_slice(ctx, x, *axis, start, end, *step));
  }
  KILN_ASSIGN_OR_RETURN(r, conform(ctx, r, n.meta));
  ctx.set_output(r);
  return ok_status();
}

std::string check_slice(const ImportContext& ctx, const TorchNode& n) {
  if (ctx.rank_of(arg(n, 0)) < 1) return "slice of a tensor of rank 0 or of a non-tensor";
  if (!static_dim(ctx, n, 1)) return "slice dim is not a constant in range";
  std::optional<int64_t> step = ImportContext::static_int(arg(n, 4));
  if (!step) return "slice step is not constant";
  if (*step < 1) return str_cat("slice step ", *step, " is not >= 1");
  for (size_t i : {2, 3}) {
    if (!arg(n, i).is_none() && !is_int_like(ctx, arg(n, i))) {
      return str_cat("slice bound ", arg(n, i).to_string(), " is not an integer or a size");
    }
  }
  return "";
}

// select.int(x, dim, index): a slice of one, then the dim dropped. A negative index counts from the
// end (symbolic dims too); a symbolic index is taken as non-negative, as torch guards it.
Status convert_select(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0)));
  std::optional<int64_t> axis = static_dim(ctx, n, 1);
  if (!axis) return invalid_argument("select dim is not a constant in range");
  KILN_ASSIGN_OR_RETURN(DimExpr start, start_index(ctx, x, *axis, arg(n, 2)));
  KILN_ASSIGN_OR_RETURN(ValueId r, make_slice(ctx, x, *axis, start, start + DimExpr(1), 1));
  Shape out = ctx.type(x).shape;
  out.erase(out.begin() + *axis);
  std::optional<Shape> want = meta_shape(ctx, n.meta);
  KILN_ASSIGN_OR_RETURN(r, reshape_to(ctx, r, want ? *want : out));
  ctx.set_output(r);
  return ok_status();
}

std::string check_select(const ImportContext& ctx, const TorchNode& n) {
  if (ctx.rank_of(arg(n, 0)) < 1) return "select of a tensor of rank 0 or of a non-tensor";
  if (!static_dim(ctx, n, 1)) return "select dim is not a constant in range";
  if (!is_int_like(ctx, arg(n, 2))) return "select index is not an integer or a size";
  return "";
}

// narrow(x, dim, start, length) = x[start : start + length] along dim (start may be negative).
Status convert_narrow(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0)));
  std::optional<int64_t> axis = static_dim(ctx, n, 1);
  if (!axis) return invalid_argument("narrow dim is not a constant in range");
  KILN_ASSIGN_OR_RETURN(DimExpr start, start_index(ctx, x, *axis, arg(n, 2)));
  KILN_ASSIGN_OR_RETURN(DimExpr length, ctx.dim(arg(n, 3)));
  KILN_ASSIGN_OR_RETURN(ValueId r, make_slice(ctx, x, *axis, start, start + length, 1));
  KILN_ASSIGN_OR_RETURN(r, conform(ctx, r, n.meta));
  ctx.set_output(r);
  return ok_status();
}

std::string check_narrow(const ImportContext& ctx, const TorchNode& n) {
  if (ctx.rank_of(arg(n, 0)) < 1) return "narrow of a tensor of rank 0 or of a non-tensor";
  if (!static_dim(ctx, n, 1)) return "narrow dim is not a constant in range";
  if (!is_int_like(ctx, arg(n, 2)) || !is_int_like(ctx, arg(n, 3))) {
    return "narrow start or length is not an integer or a size";
  }
  return "";
}

// ---- cat / stack --------------------------------------------------------------------------------

// Whether a cat operand adds nothing: torch's legacy empty [0] tensor (any rank of output), or a
// tensor of the output's rank that is statically empty along the cat dim.
bool skipped_in_cat(const TorchValue& m, size_t out_rank, int64_t axis) {
  const auto zero = [](const TorchValue& d) { return d.kind == Kind::kInt && d.i == 0; };
  if (m.items.size() == 1 && zero(m.items[0]) && out_rank != 1) return true;
  return m.items.size() == out_rank && zero(m.items[static_cast<size_t>(axis)]);
}

// cat(tensors, dim): operands promoted to the output dtype; empty operands skipped.
Status convert_cat(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(DType out, ctx.out_dtype(n));
  const size_t out_rank = n.meta.items.size();
  std::optional<int64_t> d = ImportContext::static_int(arg(n, 1));
  std::optional<int64_t> axis = d ? wrap_dim(*d, static_cast<int64_t>(out_rank)) : std::nullopt;
  if (!axis) return invalid_argument("cat dim is not a constant in range");
  std::vector<ValueId> inputs;
  for (const TorchValue& t : arg(n, 0).items) {
    if (skipped_in_cat(ctx.meta(t), out_rank, *axis)) continue;
    KILN_ASSIGN_OR_RETURN(ValueId v, ctx.tensor(t, out));
    inputs.push_back(v);
  }
  ValueId r;
  if (inputs.empty()) {  // every operand is empty, so is the result
    KILN_ASSIGN_OR_RETURN(Shape shape, ctx.shape_of(n.meta));
    FullAttrs attrs;
    attrs.shape = std::move(shape);
    attrs.dtype = out;
    KILN_ASSIGN_OR_RETURN(r, ctx.add(OpKind::kFull, {}, attrs));
  } else if (inputs.size() == 1) {
    r = inputs[0];
  } else {
    AxisAttrs attrs;
    attrs.axis = *axis;
    KILN_ASSIGN_OR_RETURN(r, ctx.add(OpKind::kConcat, std::move(inputs), attrs));
  }
  ctx.set_output(r);
  return ok_status();
}

std::string check_cat(const ImportContext& ctx, const TorchNode& n) {
  const TorchValue& list = arg(n, 0);
  if (list.kind != Kind::kList || list.items.empty()) return "cat of no tensors";
  if (n.meta.kind != Kind::kTensor || n.meta.items.empty()) return "cat of 0-d tensors";
  const size_t out_rank = n.meta.items.size();
  std::optional<int64_t> d = ImportContext::static_int(arg(n, 1));
  std::optional<int64_t> axis = d ? wrap_dim(*d, static_cast<int64_t>(out_rank)) : std::nullopt;
  if (!axis) return "cat dim is not a constant in range";
  for (const TorchValue& t : list.items) {
    const TorchValue& m = ctx.meta(t);
    if (!t.is_node() || m.kind != Kind::kTensor) return "a cat operand is not a tensor";
    if (!skipped_in_cat(m, out_rank, *axis) && m.items.size() != out_rank) {
      return "cat operands of different ranks";
    }
  }
  return "";
}

// stack(tensors, dim): each operand gets a dim of 1 at `dim`, then they are concatenated.
Status convert_stack(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(DType out, ctx.out_dtype(n));
  const int64_t out_rank = static_cast<int64_t>(n.meta.items.size());
  std::optional<int64_t> d = ImportContext::static_int(arg(n, 1));
  std::optional<int64_t> axis = d ? wrap_dim(*d, out_rank) : std::nullopt;
  if (!axis) return invalid_argument("stack dim is not a constant in range");
  std::vector<ValueId> inputs;
  for (const TorchValue& t : arg(n, 0).items) {
    KILN_ASSIGN_OR_RETURN(ValueId v, ctx.tensor(t, out));
    Shape shape = ctx.type(v).shape;
    shape.insert(shape.begin() + *axis, DimExpr(1));
    KILN_ASSIGN_OR_RETURN(v, reshape_to(ctx, v, std::move(shape)));
    inputs.push_back(v);
  }
  ValueId r = inputs[0];
  if (inputs.size() > 1) {
    AxisAttrs attrs;
    attrs.axis = *axis;
    KILN_ASSIGN_OR_RETURN(r, ctx.add(OpKind::kConcat, std::move(inputs), attrs));
  }
  ctx.set_output(r);
  return ok_status();
}

std::string check_stack(const ImportContext& ctx, const TorchNode& n) {
  const TorchValue& list = arg(n, 0);
  if (list.kind != Kind::kList || list.items.empty()) return "stack of no tensors";
  if (n.meta.kind != Kind::kTensor) return "stack does not produce a tensor";
  const int64_t out_rank = static_cast<int64_t>(n.meta.items.size());
  std::optional<int64_t> d = ImportContext::static_int(arg(n, 1));
  if (!d || !wrap_dim(*d, out_rank)) return "stack dim is not a constant in range";
  for (const TorchValue& t : list.items) {
    if (!t.is_node() || ctx.rank_of(t) != out_rank - 1) return "a stack operand is not a tensor";
  }
  return "";
}

// ---- split / split_with_sizes / chunk / unbind --------------------------------------------------

// The sizes of a split's outputs along `axis`, from torch's metadata.
std::optional<Shape> meta_split_sizes(ImportContext& ctx, const TorchNode& n, int64_t axis) {
  Shape sizes;
  for (const TorchValue& m : n.meta.items) {
    std::optional<Shape> s = meta_shape(ctx, m);
    if (!s || static_cast<int64_t>(s->size()) <= axis) return std::nullopt;
    sizes.push_back((*s)[axis]);
  }
  return sizes;
}

// Sizes of `count` pieces of `each` along a dim `total`, the last taking the rest.
Shape even_sizes(const DimExpr& total, const DimExpr& each, size_t count) {
  Shape sizes(count, each);
  if (count > 0) sizes.back() = total - each * DimExpr(static_cast<int64_t>(count - 1));
  return sizes;
}

Status split_into(ImportContext& ctx, ValueId x, int64_t axis, Shape sizes) {
  SplitAttrs attrs;
  attrs.axis = axis;
  attrs.sizes = std::move(sizes);
  KILN_ASSIGN_OR_RETURN(std::vector<ValueId> parts, ctx.add_multi(OpKind::kSplit, {x}, attrs));
  ctx.set_outputs(std::move(parts));
  return ok_status();
}

// split.Tensor(x, split_size, dim): pieces of split_size, the last one smaller.
Status convert_split(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0)));
  std::optional<int64_t> axis = static_dim(ctx, n, 2);
  if (!axis) return invalid_argument("split dim is not a constant in range");
  std::optional<Shape> sizes = meta_split_sizes(ctx, n, *axis);
  if (!sizes) {
    KILN_ASSIGN_OR_RETURN(DimExpr each, ctx.dim(arg(n, 1)));
    sizes = even_sizes(ctx.type(x).shape[*axis], each, n.meta.items.size());
  }
  return split_into(ctx, x, *axis, std::move(*sizes));
}

// chunk(x, chunks, dim): torch's chunk has as many outputs as its metadata lists.
Status convert_chunk(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0)));
  std::optional<int64_t> axis = static_dim(ctx, n, 2);
  std::optional<int64_t> chunks = ImportContext::static_int(arg(n, 1));
  if (!axis || !chunks || *chunks < 1) return invalid_argument("chunk arguments are not constant");
  std::optional<Shape> sizes = meta_split_sizes(ctx, n, *axis);
  if (!sizes) {
    const DimExpr total = ctx.type(x).shape[*axis];
    DimExpr each = floordiv(total + DimExpr(*chunks - 1), DimExpr(*chunks));
    sizes = even_sizes(total, each, n.meta.items.size());
  }
  return split_into(ctx, x, *axis, std::move(*sizes));
}

// split_with_sizes(x, split_sizes, dim).
Status convert_split_with_sizes(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0)));
  std::optional<int64_t> axis = static_dim(ctx, n, 2);
  if (!axis) return invalid_argument("split dim is not a constant in range");
  std::optional<Shape> sizes = meta_split_sizes(ctx, n, *axis);
  if (!sizes) {
    KILN_ASSIGN_OR_RETURN(Shape s, ctx.dims(arg(n, 1)));
    sizes = std::move(s);
  }
  return split_into(ctx, x, *axis, std::move(*sizes));
}

std::string check_split_common(const ImportContext& ctx, const TorchNode& n) {
  if (ctx.rank_of(arg(n, 0)) < 1) return "split of a tensor of rank 0 or of a non-tensor";
  if (!static_dim(ctx, n, 2)) return "split dim is not a constant in range";
  if (n.meta.kind != Kind::kList || n.meta.items.empty()) return "split into no tensors";
  return "";
}

std::string check_split(const ImportContext& ctx, const TorchNode& n) {
  std::string r = check_split_common(ctx, n);
  if (!r.empty()) return r;
  if (!is_int_like(ctx, arg(n, 1))) return "split size is not an integer or a size";
  return "";
}

std::string check_chunk(const ImportContext& ctx, const TorchNode& n) {
  std::string r = check_split_common(ctx, n);
  if (!r.empty()) return r;
  std::optional<int64_t> chunks = ImportContext::static_int(arg(n, 1));
  if (!chunks || *chunks < 1) return "chunk count is not a positive constant";
  return "";
}

std::string check_split_with_sizes(const ImportContext& ctx, const TorchNode& n) {
  std::string r = check_split_common(ctx, n);
  if (!r.empty()) return r;
  const TorchValue& sizes = arg(n, 1);
  if (sizes.kind != Kind::kList || sizes.items.size() != n.meta.items.size()) {
    return "split sizes are not a list with one size per output";
  }
  for (const TorchValue& s : sizes.items) {
    if (!is_int_like(ctx, s)) return "a split size is not an integer or a size";
  }
  return "";
}

// unbind(x, dim): pieces of 1, each without the dim.
Status convert_unbind(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0)));
  std::optional<int64_t> axis = static_dim(ctx, n, 1);
  if (!axis) return invalid_argument("unbind dim is not a constant in range");
  const size_t count = n.meta.items.size();
  std::vector<ValueId> parts{x};
  if (count > 1) {
    SplitAttrs attrs;
    attrs.axis = *axis;
    attrs.sizes = Shape(count, DimExpr(1));
    KILN_ASSIGN_OR_RETURN(parts, ctx.add_multi(OpKind::kSplit, {x}, attrs));
  }
  Shape out = ctx.type(x).shape;
  out.erase(out.begin() + *axis);
  for (size_t k = 0; k < parts.size(); ++k) {
    std::optional<Shape> want = meta_shape(ctx, n.meta.items[k]);
    KILN_ASSIGN_OR_RETURN(parts[k], reshape_to(ctx, parts[k], want ? *want : out));
  }
  ctx.set_outputs(std::move(parts));
  return ok_status();
}

std::string check_unbind(const ImportContext& ctx, const TorchNode& n) {
  if (ctx.rank_of(arg(n, 0)) < 1) return "unbind of a tensor of rank 0 or of a non-tensor";
  if (!static_dim(ctx, n, 1)) return "unbind dim is not a constant in range";
  if (n.meta.kind != Kind::kList || n.meta.items.empty()) return "unbind into no tensors";
  return "";
}

// ---- index_select / gather / embedding / index --------------------------------------------------

Status take(ImportContext& ctx, const TorchNode& n, ValueId x, ValueId idx, int64_t axis) {
  AxisAttrs attrs;
  attrs.axis = axis;
  KILN_ASSIGN_OR_RETURN(ValueId r, ctx.add(OpKind::kTake, {x, idx}, attrs));
  KILN_ASSIGN_OR_RETURN(r, conform(ctx, r, n.meta));
  ctx.set_output(r);
  return ok_status();
}

// index_select(x, dim, index): take along dim; a 0-d index selects one (the dim stays, as 1).
Status convert_index_select(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0)));
  std::optional<int64_t> axis = static_dim(ctx, n, 1);
  if (!axis) return invalid_argument("index_select dim is not a constant in range");
  KILN_ASSIGN_OR_RETURN(ValueId idx, ctx.tensor(arg(n, 2)));
  if (ctx.type(idx).rank() == 0) {
    KILN_ASSIGN_OR_RETURN(idx, reshape_to(ctx, idx, {DimExpr(1)}));
  }
  return take(ctx, n, x, idx, *axis);
}

std::string check_index_select(const ImportContext& ctx, const TorchNode& n) {
  if (ctx.rank_of(arg(n, 0)) < 1) return "index_select of a tensor of rank 0 or of a non-tensor";
  if (!static_dim(ctx, n, 1)) return "index_select dim is not a constant in range";
  const TorchValue& idx = ctx.meta(arg(n, 2));
  if (!is_index_dtype(idx)) return "the index is not an int64 or int32 tensor";
  if (idx.items.size() > 1) return "the index has more than one dim";
  return "";
}

Status convert_gather(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0)));
  std::optional<int64_t> axis = static_dim(ctx, n, 1);
  if (!axis) return invalid_argument("gather dim is not a constant in range");
  KILN_ASSIGN_OR_RETURN(ValueId idx, ctx.tensor(arg(n, 2)));
  AxisAttrs attrs;
  attrs.axis = *axis;
  KILN_ASSIGN_OR_RETURN(ValueId r, ctx.add(OpKind::kGather, {x, idx}, attrs));
  ctx.set_output(r);
  return ok_status();
}

std::string check_gather(const ImportContext& ctx, const TorchNode& n) {
  const int64_t rank = ctx.rank_of(arg(n, 0));
  if (rank < 1) return "gather of a tensor of rank 0 or of a non-tensor";
  if (!static_dim(ctx, n, 1)) return "gather dim is not a constant in range";
  const TorchValue& idx = ctx.meta(arg(n, 2));
  if (!is_index_dtype(idx)) return "the index is not an int64 or int32 tensor";
  if (static_cast<int64_t>(idx.items.size()) != rank) {
    return "the index rank differs from the input's";
  }
  return "";
}

// embedding(weight, indices, padding_idx, scale_grad_by_freq, sparse): rows of the weight.
// padding_idx and the rest only change gradients.
Status convert_embedding(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(ValueId w, ctx.tensor(arg(n, 0)));
  KILN_ASSIGN_OR_RETURN(ValueId idx, ctx.tensor(arg(n, 1)));
  return take(ctx, n, w, idx, 0);
}

std::string check_embedding(const ImportContext& ctx, const TorchNode& n) {
  if (ctx.rank_of(arg(n, 0)) != 2) return "the embedding weight is not 2-D";
  if (!is_index_dtype(ctx.meta(arg(n, 1)))) return "the indices are not an int64 or int32 tensor";
  return "";
}

// index.Tensor(x, indices): x[..., i0, i1, ..., ...] with index tensors on adjacent dims
// [p, p + k) and None elsewhere. Torch broadcasts the indices to one shape B and gives
// x.shape[:p] + B + x.shape[p + k:]: that is a take along dim p of x with the k dims merged, at the
// linear index ((i0 mod d0) * d1 + (i1 mod d1)) * d2 + ...

// The adjacent run of index tensors: (first dim, count), or nullopt if none or not adjacent.
std::optional<std::pair<size_t, size_t>> index_run(const TorchNode& n) {
  const TorchValue& list = arg(n, 1);
  std::optional<size_t> first;
  size_t last = 0;
  for (size_t i = 0; i < list.items.size(); ++i) {
    if (list.items[i].is_none()) continue;
    if (first && i != last + 1) return std::nullopt;
    if (!first) first = i;
    last = i;
  }
  if (!first) return std::nullopt;
  return std::make_pair(*first, last - *first + 1);
}

// A 0-d i64 tensor holding a dim (a constant, or the sum of a ones vector of that length).
Expected<ValueId> dim_value(ImportContext& ctx, const DimExpr& d) {
  if (d.is_constant()) return ctx.scalar(static_cast<double>(d.constant_value()), DType::kI64);
  FullAttrs ones;
  ones.shape = {d};
  ones.value = 1;
  ones.dtype = DType::kI64;
  KILN_ASSIGN_OR_RETURN(ValueId v, ctx.add(OpKind::kFull, {}, ones));
  ReduceAttrs sum;
  sum.axes = {0};
  return ctx.add(OpKind::kReduceSum, {v}, sum);
}

Status convert_index(ImportContext& ctx, const TorchNode& n) {
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0)));
  auto run = index_run(n);
  if (!run) return invalid_argument("index tensors are not on adjacent dims");
  auto [p, k] = *run;
  const Shape shape = ctx.type(x).shape;  // a copy: adding nodes moves the graph's values
  ValueId linear = kNoValue;
  DimExpr merged(1);
  for (size_t j = 0; j < k; ++j) {
    const DimExpr& d = shape[p + j];
    KILN_ASSIGN_OR_RETURN(ValueId idx, ctx.tensor(arg(n, 1).items[p + j], DType::kI64));
    KILN_ASSIGN_OR_RETURN(ValueId size, dim_value(ctx, d));
    if (k > 1) {  // take wraps negative indices itself when there is one
      KILN_ASSIGN_OR_RETURN(idx, ctx.add(OpKind::kRemainder, {idx, size}));
    }
    if (linear == kNoValue) {
      linear = idx;
    } else {
      KILN_ASSIGN_OR_RETURN(linear, ctx.add(OpKind::kMul, {linear, size}));
      KILN_ASSIGN_OR_RETURN(linear, ctx.add(OpKind::kAdd, {linear, idx}));
    }
    merged = merged * d;
  }
  if (k > 1) {
    Shape flat(shape.begin(), shape.begin() + static_cast<int64_t>(p));
    flat.push_back(merged);
    flat.insert(flat.end(), shape.begin() + static_cast<int64_t>(p + k), shape.end());
    KILN_ASSIGN_OR_RETURN(x, reshape_to(ctx, x, flat));
  }
  return take(ctx, n, x, linear, static_cast<int64_t>(p));
}

std::string check_index(const ImportContext& ctx, const TorchNode& n) {
  const int64_t rank = ctx.rank_of(arg(n, 0));
  if (rank < 1) return "indexing a tensor of rank 0 or a non-tensor";
  const TorchValue& list = arg(n, 1);
  if (list.kind != Kind::kList) return "the indices are not a list";
  for (const TorchValue& t : list.items) {
    if (t.is_none()) continue;
    const TorchValue& m = ctx.meta(t);
    if (m.kind == Kind::kTensor && (m.s == "bool" || m.s == "uint8")) {
      return "indexing with a boolean mask (its result's shape depends on the data)";
    }
    if (!t.is_node() || !is_index_dtype(m)) return "an index is not an int64 or int32 tensor";
  }
  if (!index_run(n)) {
    return "advanced indexing with index tensors on non-adjacent dims (or none) is not supported";
  }
  if (static_cast<int64_t>(list.items.size()) > rank) return "more indices than dims";
  return "";
}

const Converter kConverters[] = {
    {"aten.slice.Tensor", convert_slice, check_slice},
    {"aten.slice_copy.Tensor", convert_slice, check_slice},
    {"aten.select.int", convert_select, check_select},
    {"aten.select_copy.int", convert_select, check_select},
    {"aten.narrow.default", convert_narrow, check_narrow},
    {"aten.cat.default", convert_cat, check_cat},
    {"aten.stack.default", convert_stack, check_stack},
    {"aten.split.Tensor", convert_split, check_split},
    {"aten.split_with_sizes.default", convert_split_with_sizes, check_split_with_sizes},
    {"aten.chunk.default", convert_chunk, check_chunk},
    {"aten.unbind.int", convert_unbind, check_unbind},
    {"aten.index_select.default", convert_index_select, check_index_select},
    {"aten.gather.default", convert_gather, check_gather},
    {"aten.embedding.default", convert_embedding, check_embedding},
    {"aten.index.Tensor", convert_index, check_index},
};

}  // namespace

std::span<const Converter> indexing_converters() { return kConverters; }

}  // namespace kiln::importer
