// Converters for convolution, pooling, resize and pad ATen ops:
// - conv1d/2d/3d (.default and the .padding overloads with 'same' / 'valid'), convolution (the
//   transposed flag gives conv_transpose) and conv_transpose1d/2d/3d -> `conv` / `conv_transpose`;
// - max_pool{1,2,3}d, max_pool{2,3}d_with_indices, avg_pool{1,2,3}d -> `max_pool` / `avg_pool`;
// - adaptive_avg_pool{1,2,3}d (and the _adaptive_* forms), adaptive_max_pool{1,2,3}d ->
//   `adaptive_avg_pool` / `adaptive_max_pool`;
// - upsample_nearest{1,2,3}d and upsample_bilinear2d (.vec and .default) -> `resize`;
// - constant_pad_nd, reflection_pad{1,2,3}d, replication_pad{1,2,3}d and pad -> `pad`.
// Unbatched inputs (no N dim) get a leading 1 for the IR op and lose it again afterwards.
// Resize output sizes come from torch's metadata; where that is trunc(in * scale) of a symbolic
// size, a scale num / 2^j is rebuilt exactly as floordiv(in * num, 2^j) (others are refused).
//
// The tuple-valued pools (max_pool*_with_indices, adaptive_max_pool*) return (values, indices),
// but the IR pools compute no indices: such a node is converted only when nothing reads its
// indices (no getitem 1), and its indices output is then a zero placeholder of the right type.
//
// Deliberately not here: asymmetric 'same' padding, circular padding, integer pooling and
// convolution (the IR ops are float only), pooling indices, and resize modes other than nearest
// and bilinear (bicubic, trilinear, nearest-exact, area).
#include <algorithm>

#include "converter.h"

namespace kiln::importer {
namespace {

using Kind = TorchValue::Kind;

// ---- shared helpers ----------------------------------------------------------------------------

// The index of `n` in the torch graph (n is normally an element of ctx.torch().nodes), or -1.
int32_t node_index(const ImportContext& ctx, const TorchNode& n) {
  const std::vector<TorchNode>& nodes = ctx.torch().nodes;
  if (!nodes.empty() && &n >= nodes.data() && &n < nodes.data() + nodes.size()) {
    return static_cast<int32_t>(&n - nodes.data());
  }
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].name == n.name) return static_cast<int32_t>(i);
  }
  return -1;
}

bool refers_to(const TorchValue& v, int32_t index) {
  if (v.kind == Kind::kNode) return v.i == index;
  if (v.kind == Kind::kList) {
    return std::any_of(v.items.begin(), v.items.end(),
                       [&](const TorchValue& item) { return refers_to(item, index); });
  }
  return false;
}

// "" if every user of the tuple node `n` reads only its element 0 (getitem 0); else the reason.
std::string check_indices_unused(const ImportContext& ctx, const TorchNode& n) {
  const int32_t index = node_index(ctx, n);
  if (index < 0) return "the node is not in the graph";
  const std::vector<TorchNode>& nodes = ctx.torch().nodes;
  for (const TorchNode& user : nodes) {
    if (!std::any_of(user.args.begin(), user.args.end(),
                     [&](const TorchValue& a) { return refers_to(a, index); })) {
      continue;
    }
    const bool reads_values = user.target == "operator.getitem" && user.args.size() >= 2 &&
                              user.args[0].kind == Kind::kNode && user.args[0].i == index &&
                              ImportContext::static_int(user.args[1]) == 0;
    if (!reads_values) {
      return str_cat("its indices output is used (by node '", user.name,
                     "'); kiln's pools do not compute indices");
    }
  }
  return "";
}

// The output dtype (element k) must be a float dtype.
std::string check_float_out(const ImportContext& ctx, const TorchNode& n, std::string_view what) {
  Expected<DType> out = ctx.out_dtype(n);
  if (!out.ok()) return out.status().message();
  if (!dtype_is_float(*out)) return str_cat(what, " of ", dtype_name(*out), " tensors is not supported");
  return "";
}

// A list argument with one entry per spatial dim: a single int (or a one-element list) repeats;
// an empty list or None gives `if_empty` (if any).
std::optional<std::vector<int64_t>> spatial_ints(const TorchValue& v, size_t spatial,
                                                 std::optional<std::vector<int64_t>> if_empty = {}) {
  if (v.is_none()) return if_empty;
  std::optional<std::vector<int64_t>> xs = ImportContext::static_ints(v);
  if (!xs) return std::nullopt;
  if (xs->empty()) return if_empty;
  if (xs->size() == 1) return std::vector<int64_t>(spatial, (*xs)[0]);
  if (xs->size() != spatial) return std::nullopt;
  return xs;
}

// Whether a symbolic integer is one the importer can translate (sums, products, floor division,
// modulo, min and max of symbols and ints).
bool sym_supported(const TorchValue& v) {
  if (v.kind == Kind::kInt) return true;
  if (v.kind != Kind::kSymInt) return false;
  if (v.items.empty()) return true;
  static const char* kOps[] = {"+", "*", "//", "%", "min", "max"};
  if (std::none_of(std::begin(kOps), std::end(kOps), [&](const char* op) { return v.s == op; })) {
    return false;
  }
  return std::all_of(v.items.begin(), v.items.end(), sym_supported);
}

// x with a leading dim of 1 (an unbatched input made batched), and back.
Expected<ValueId> add_batch(ImportContext& ctx, ValueId x) {
  ReshapeAttrs a;
  a.shape = ctx.type(x).shape;
  a.shape.insert(a.shape.begin(), DimExpr(1));
  return ctx.add(OpKind::kReshape, {x}, a);
}

Expected<ValueId> drop_batch(ImportContext& ctx, ValueId y) {
  ReshapeAttrs a;
  a.shape = ctx.type(y).shape;
  a.shape.erase(a.shape.begin());
  return ctx.add(OpKind::kReshape, {y}, a);
}

// The input of a spatial op as an IR value of rank spatial + 2, in `dtype`; `unbatched` tells
// whether a batch dim was added.
Expected<ValueId> spatial_input(ImportContext& ctx, const TorchValue& a, size_t spatial,
                                DType dtype, bool& unbatched) {
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(a, dtype));
  unbatched = ctx.type(x).rank() == static_cast<int64_t>(spatial) + 1;
  if (unbatched) return add_batch(ctx, x);
  return x;
}

// Sets the node's output (and a zero indices placeholder for tuple-valued pools).
Status finish(ImportContext& ctx, const TorchNode& n, ValueId y, bool unbatched) {
  if (unbatched) {
    KILN_ASSIGN_OR_RETURN(y, drop_batch(ctx, y));
  }
  if (n.meta.kind != Kind::kList) {
    ctx.set_output(y);
    return ok_status();
  }
  KILN_ASSIGN_OR_RETURN(DType index_dtype, ctx.out_dtype(n, 1));
  FullAttrs fa;
  fa.shape = ctx.type(y).shape;
  fa.value = 0;
  fa.dtype = index_dtype;
  KILN_ASSIGN_OR_RETURN(ValueId indices, ctx.add(OpKind::kFull, {}, fa));
  ctx.set_outputs({y, indices});
  return ok_status();
}

// The input rank must be spatial + 2 (batched) or, where torch allows it, spatial + 1.
std::string check_spatial_rank(const ImportContext& ctx, const TorchValue& x, size_t spatial,
                               bool allow_unbatched) {
  const int64_t r = ctx.rank_of(x);
  const int64_t s = static_cast<int64_t>(spatial);
  if (r == s + 2 || (allow_unbatched && r == s + 1)) return "";
  return str_cat("an input of rank ", r, " for ", spatial, " spatial dims");
}

// ---- convolution -------------------------------------------------------------------------------

struct ConvParams {
  size_t spatial = 0;
  bool transposed = false;
  std::vector<int64_t> stride, padding, dilation, output_padding;
  int64_t groups = 1;
};

// The spatial rank a target fixes (conv2d -> 2), or 0 when the weight decides (convolution).
size_t target_spatial(std::string_view target) {
  for (size_t s = 1; s <= 3; ++s) {
    const std::string d = str_cat(s, "d");
    if (target.find(d + ".") != std::string_view::npos ||
        target.find(d + "_") != std::string_view::npos) {
      return s;
    }
  }
  return 0;
}

// Reads the conv parameters of any conv target; "" or why they are not supported.
std::string parse_conv(const ImportContext& ctx, const TorchNode& n, ConvParams& p) {
  const std::string& t = n.target;
  const int64_t wrank = ctx.rank_of(arg(n, 1));
  if (wrank < 3 || wrank > 5) return str_cat("a weight of rank ", wrank, " (1 to 3 spatial dims)");
  p.spatial = static_cast<size_t>(wrank - 2);
  if (size_t fixed = target_spatial(t); fixed != 0 && fixed != p.spatial) {
    return str_cat("a weight of rank ", wrank, " for ", t);
  }
  const std::vector<int64_t> zeros(p.spatial, 0), ones(p.spatial, 1);
  const TorchValue *pad_arg = &arg(n, 4), *dil_arg = nullptr, *groups_arg = nullptr,
                   *outpad_arg = nullptr;
  if (t == "aten.convolution.default") {
    p.transposed = arg(n, 6).kind == Kind::kBool && arg(n, 6).b;
    if (arg(n, 6).kind != Kind::kBool) return "a non-constant transposed flag";
    dil_arg = &arg(n, 5);
    outpad_arg = &arg(n, 7);
    groups_arg = &arg(n, 8);
  } else if (t.rfind("aten.conv_transpose", 0) == 0) {
    p.transposed = true;
    outpad_arg = &arg(n, 5);
    groups_arg = &arg(n, 6);
    dil_arg = &arg(n, 7);
  } else {
    dil_arg = &arg(n, 5);
    groups_arg = &arg(n, 6);
  }
  auto s = spatial_ints(arg(n, 3), p.spatial, ones);
  auto d = spatial_ints(*dil_arg, p.spatial, ones);
  std::optional<std::vector<int64_t>> op =
      outpad_arg ? spatial_ints(*outpad_arg, p.spatial, zeros) : zeros;
  std::optional<int64_t> g = groups_arg->is_none() ? 1 : ImportContext::static_int(*groups_arg);
  if (!s) return str_cat("stride ", arg(n, 3).to_string(), " is not a constant per spatial dim");
  if (!d) return str_cat("dilation ", dil_arg->to_string(), " is not a constant per spatial dim");
  if (!op) return str_cat("output_padding ", outpad_arg->to_string(), " is not constant");
  if (!g || *g < 1) return str_cat("groups ", groups_arg->to_string(), " is not a positive constant");
  p.stride = *s;
  p.dilation = *d;
  p.output_padding = p.transposed ? *op : zeros;
  p.groups = *g;
  for (size_t i = 0; i < p.spatial; ++i) {
    if (p.stride[i] < 1 || p.dilation[i] < 1) return "stride and dilation must be positive";
    if (p.output_padding[i] < 0 ||
        (p.transposed && p.output_padding[i] >= std::max(p.stride[i], p.dilation[i]))) {
      return str_cat("output_padding ", outpad_arg->to_string(),
                     " must be smaller than stride or dilation");
    }
  }
  if (pad_arg->kind == Kind::kString) {
    if (pad_arg->s == "valid") {
      p.padding = zeros;
    } else if (pad_arg->s == "same") {
      if (std::any_of(p.stride.begin(), p.stride.end(), [](int64_t v) { return v != 1; })) {
        return "padding='same' with a stride other than 1";
      }
      const TorchValue& wm = ctx.meta(arg(n, 1));
      p.padding.assign(p.spatial, 0);
      for (size_t i = 0; i < p.spatial; ++i) {
        std::optional<int64_t> k = ImportContext::static_int(wm.items[2 + i]);
        if (!k) return "padding='same' with a symbolic kernel size";
        const int64_t total = p.dilation[i] * (*k - 1);
        if (total % 2 != 0) {
          return str_cat("padding='same' needs asymmetric padding (", total,
                         " in total) for kernel size ", *k, " and dilation ", p.dilation[i]);
        }
        p.padding[i] = total / 2;
      }
    } else {
      return str_cat("padding '", pad_arg->s, "' is not supported");
    }
  } else {
    auto pd = spatial_ints(*pad_arg, p.spatial, zeros);
    if (!pd) return str_cat("padding ", pad_arg->to_string(), " is not a constant per spatial dim");
    if (std::any_of(pd->begin(), pd->end(), [](int64_t v) { return v < 0; })) {
      return "negative padding";
    }
    p.padding = *pd;
  }
  return "";
}

std::string check_conv(const ImportContext& ctx, const TorchNode& n) {
  std::string r = check_float_out(ctx, n, "convolution");
  if (!r.empty()) return r;
  for (size_t i = 0; i < 2; ++i) {
    if (!ctx.is_tensor(arg(n, i))) return str_cat("operand ", i, " is not a tensor");
    Expected<DType> t = ctx.dtype_of(arg(n, i));
    if (!t.ok()) return t.status().message();
    if (!dtype_is_float(*t)) return str_cat("operand ", i, " is not a float tensor");
  }
  const TorchValue& bias = arg(n, 2);
  if (!bias.is_none() && ctx.rank_of(bias) != 1) return "a bias that is not a 1-D tensor";
  ConvParams p;
  r = parse_conv(ctx, n, p);
  if (!r.empty()) return r;
  return check_spatial_rank(ctx, arg(n, 0), p.spatial, true);
}

Status convert_conv(ImportContext& ctx, const TorchNode& n) {
  ConvParams p;
  if (std::string r = parse_conv(ctx, n, p); !r.empty()) return unsupported(r);
  KILN_ASSIGN_OR_RETURN(DType out, ctx.out_dtype(n));
  bool unbatched = false;
  KILN_ASSIGN_OR_RETURN(ValueId x, spatial_input(ctx, arg(n, 0), p.spatial, out, unbatched));
  KILN_ASSIGN_OR_RETURN(ValueId w, ctx.tensor(arg(n, 1), out));
  std::vector<ValueId> ins = {x, w};
  if (!arg(n, 2).is_none()) {
    KILN_ASSIGN_OR_RETURN(ValueId b, ctx.tensor(arg(n, 2), out));
    ins.push_back(b);
  }
  ValueId y;
  if (p.transposed) {
    ConvTransposeAttrs a;
    a.stride = p.stride;
    a.padding = p.padding;
    a.output_padding = p.output_padding;
    a.dilation = p.dilation;
    a.groups = p.groups;
    KILN_ASSIGN_OR_RETURN(y, ctx.add(OpKind::kConvTranspose, std::move(ins), a));
  } else {
    ConvAttrs a;
    a.stride = p.stride;
    a.padding = p.padding;
    a.dilation = p.dilation;
    a.groups = p.groups;
    KILN_ASSIGN_OR_RETURN(y, ctx.add(OpKind::kConv, std::move(ins), a));
  }
  return finish(ctx, n, y, unbatched);
}

// ---- max and avg pooling -----------------------------------------------------------------------

// Reads the pool parameters of max_pool* (max = true) or avg_pool*; "" or why not supported.
std::string parse_pool(const ImportContext& ctx, const TorchNode& n, bool max, PoolAttrs& a) {
  const size_t spatial = target_spatial(n.target);
  if (spatial == 0) return str_cat("unknown pooling target ", n.target);
  const std::vector<int64_t> zeros(spatial, 0), ones(spatial, 1);
  auto k = spatial_ints(arg(n, 1), spatial);
  if (!k) return str_cat("kernel_size ", arg(n, 1).to_string(), " is not a constant per spatial dim");
  auto s = spatial_ints(arg(n, 2), spatial, *k);
  auto p = spatial_ints(arg(n, 3), spatial, zeros);
  if (!s) return str_cat("stride ", arg(n, 2).to_string(), " is not a constant per spatial dim");
  if (!p) return str_cat("padding ", arg(n, 3).to_string(), " is not a constant per spatial dim");
  a.kernel = *k;
  a.stride = *s;
  a.padding = *p;
  a.dilation = ones;
  const TorchValue* ceil = &arg(n, max ? 5 : 4);
  if (max) {
    auto d = spatial_ints(arg(n, 4), spatial, ones);
    if (!d) return str_cat("dilation ", arg(n, 4).to_string(), " is not a constant per spatial dim");
    a.dilation = *d;
  } else {
    const TorchValue& cip = arg(n, 5);
    if (!cip.is_none() && cip.kind != Kind::kBool) return "a non-constant count_include_pad";
    a.count_include_pad = cip.is_none() || cip.b;
    const TorchValue& div = arg(n, 6);
    if (!div.is_none()) {
      std::optional<int64_t> v = ImportContext::static_int(div);
      if (!v || *v <= 0) return str_cat("divisor_override ", div.to_string(), " is not a positive constant");
      a.divisor_override = *v;
    }
  }
  if (!ceil->is_none() && ceil->kind != Kind::kBool) return "a non-constant ceil_mode";
  a.ceil_mode = !ceil->is_none() && ceil->b;
  for (size_t i = 0; i < spatial; ++i) {
    if (a.kernel[i] < 1 || a.stride[i] < 1 || a.dilation[i] < 1 || a.padding[i] < 0) {
      return "kernel, stride and dilation must be positive and padding non-negative";
    }
    if (a.padding[i] > a.kernel[i] / 2) {
      return str_cat("padding ", a.padding[i], " is more than half the kernel size ", a.kernel[i]);
    }
  }
  // ceil_mode needs static spatial dims in the IR.
  const TorchValue& xm = ctx.meta(arg(n, 0));
  if (a.ceil_mode && xm.kind == Kind::kTensor) {
    for (size_t i = 0; i < spatial && i < xm.items.size(); ++i) {
      if (xm.items[xm.items.size() - 1 - i].kind != Kind::kInt) {
        return "ceil_mode with a symbolic spatial size";
      }
    }
  }
  return check_spatial_rank(ctx, arg(n, 0), spatial, true);
}

template <bool kMax>
std::string check_pool(const ImportContext& ctx, const TorchNode& n) {
  std::string r = check_float_out(ctx, n, kMax ? "max pooling" : "average pooling");
  if (!r.empty()) return r;
  PoolAttrs a;
  r = parse_pool(ctx, n, kMax, a);
  if (!r.empty()) return r;
  if (n.meta.kind == Kind::kList) return check_indices_unused(ctx, n);
  return "";
}

template <bool kMax>
Status convert_pool(ImportContext& ctx, const TorchNode& n) {
  PoolAttrs a;
  if (std::string r = parse_pool(ctx, n, kMax, a); !r.empty()) return unsupported(r);
  KILN_ASSIGN_OR_RETURN(DType out, ctx.out_dtype(n));
  bool unbatched = false;
  KILN_ASSIGN_OR_RETURN(ValueId x, spatial_input(ctx, arg(n, 0), a.kernel.size(), out, unbatched));
  KILN_ASSIGN_OR_RETURN(ValueId y, ctx.add(kMax ? OpKind::kMaxPool : OpKind::kAvgPool, {x}, a));
  return finish(ctx, n, y, unbatched);
}

// ---- adaptive pooling --------------------------------------------------------------------------

// The output's spatial sizes from torch's metadata (static), or nullopt.
std::optional<std::vector<int64_t>> out_spatial(const TorchNode& n, size_t spatial) {
  const TorchValue& m = n.meta.kind == Kind::kList && !n.meta.items.empty() ? n.meta.items[0]
                                                                           : n.meta;
  if (m.kind != Kind::kTensor || m.items.size() < spatial) return std::nullopt;
  std::vector<int64_t> out;
  for (size_t i = m.items.size() - spatial; i < m.items.size(); ++i) {
    if (m.items[i].kind != Kind::kInt) return std::nullopt;
    out.push_back(m.items[i].i);
  }
  return out;
}

template <bool kMax>
std::string check_adaptive(const ImportContext& ctx, const TorchNode& n) {
  std::string r = check_float_out(ctx, n, "adaptive pooling");
  if (!r.empty()) return r;
  const size_t spatial = target_spatial(n.target);
  if (spatial == 0) return str_cat("unknown pooling target ", n.target);
  r = check_spatial_rank(ctx, arg(n, 0), spatial, true);
  if (!r.empty()) return r;
  auto o = out_spatial(n, spatial);
  if (!o) return "a symbolic output size";
  if (std::any_of(o->begin(), o->end(), [](int64_t v) { return v < 1; })) return "an empty output";
  if (n.meta.kind == Kind::kList) return check_indices_unused(ctx, n);
  return "";
}

template <bool kMax>
Status convert_adaptive(ImportContext& ctx, const TorchNode& n) {
  const size_t spatial = target_spatial(n.target);
  auto o = out_spatial(n, spatial);
  if (spatial == 0 || !o) return unsupported("adaptive pooling with a symbolic output size");
  KILN_ASSIGN_OR_RETURN(DType out, ctx.out_dtype(n));
  bool unbatched = false;
  KILN_ASSIGN_OR_RETURN(ValueId x, spatial_input(ctx, arg(n, 0), spatial, out, unbatched));
  AdaptivePoolAttrs a;
  a.output_size = *o;
  KILN_ASSIGN_OR_RETURN(
      ValueId y, ctx.add(kMax ? OpKind::kAdaptiveMaxPool : OpKind::kAdaptiveAvgPool, {x}, a));
  return finish(ctx, n, y, unbatched);
}

// ---- resize ------------------------------------------------------------------------------------

// A positive scale factor as num / den with den = 2^j (j <= 16), so that trunc(in * scale), which
// torch computes in double precision, is floordiv(in * num, den) for any realistic size.
std::optional<std::pair<int64_t, int64_t>> dyadic(double scale) {
  if (!(scale > 0) || scale > 65536) return std::nullopt;
  int64_t den = 1;
  for (int j = 0; j <= 16; ++j, den *= 2) {
    const double num = scale * static_cast<double>(den);
    if (num == static_cast<double>(static_cast<int64_t>(num))) {
      return std::make_pair(static_cast<int64_t>(num), den);
    }
  }
  return std::nullopt;
}

// upsample_nearest{1,2,3}d / upsample_bilinear2d, .vec or .default: mode, align_corners, scales.
std::string parse_resize(const ImportContext& ctx, const TorchNode& n, ResizeAttrs& a) {
  const std::string& t = n.target;
  const size_t spatial = target_spatial(t);
  if (spatial == 0) return str_cat("unknown resize target ", t);
  const bool bilinear = t.find("bilinear") != std::string::npos;
  a.mode = bilinear ? ResizeMode::kBilinear : ResizeMode::kNearest;
  const bool vec = t.size() >= 4 && t.compare(t.size() - 4, 4, ".vec") == 0;
  size_t next = 2;  // the argument after output_size
  if (bilinear) {
    const TorchValue& ac = arg(n, 2);
    if (ac.kind != Kind::kBool) return "a non-constant align_corners";
    a.align_corners = ac.b;
    next = 3;
  }
  a.scales.clear();
  if (vec) {
    const TorchValue& sf = arg(n, next);
    if (!sf.is_none()) {
      if (sf.kind != Kind::kList || sf.items.size() != spatial) {
        return str_cat("scale_factors ", sf.to_string(), " are not one number per spatial dim");
      }
      for (const TorchValue& v : sf.items) {
        if (v.kind != Kind::kFloat && v.kind != Kind::kInt) {
          return str_cat("scale_factors ", sf.to_string(), " are not constant");
        }
        a.scales.push_back(v.kind == Kind::kFloat ? v.f : static_cast<double>(v.i));
      }
    }
  } else {
    size_t given = 0;
    std::vector<double> scales;
    for (size_t i = 0; i < spatial; ++i) {
      const TorchValue& v = arg(n, next + i);
      if (v.is_none()) continue;
      if (v.kind != Kind::kFloat && v.kind != Kind::kInt) return "non-constant scales";
      scales.push_back(v.kind == Kind::kFloat ? v.f : static_cast<double>(v.i));
      ++given;
    }
    if (given != 0 && given != spatial) return "scales given for some spatial dims only";
    a.scales = scales;
  }
  if (std::any_of(a.scales.begin(), a.scales.end(), [](double s) { return !(s > 0); })) {
    return "scale factors must be positive";
  }
  // The output size comes from torch's metadata.
  const TorchValue& m = n.meta;
  if (m.kind != Kind::kTensor || m.items.size() != spatial + 2) {
    return str_cat("an output of rank ", m.items.size(), " for ", spatial, " spatial dims");
  }
  std::string r = check_spatial_rank(ctx, arg(n, 0), spatial, false);
  if (!r.empty()) return r;
  const TorchValue& xm = ctx.meta(arg(n, 0));
  for (size_t i = 2; i < m.items.size(); ++i) {
    if (m.items[i].kind == Kind::kInt && m.items[i].i < 1) return "an empty output";
    if (sym_supported(m.items[i])) continue;
    // trunc(in * scale) of a symbolic size: expressible for a scale of the form k / 2^j.
    if (a.scales.empty() || !dyadic(a.scales[i - 2]) || !sym_supported(xm.items[i])) {
      return str_cat("an output size ", m.items[i].to_string(), " kiln cannot express");
    }
  }
  return "";
}

std::string check_resize(const ImportContext& ctx, const TorchNode& n) {
  std::string r = check_float_out(ctx, n, "resize");
  if (!r.empty()) return r;
  ResizeAttrs a;
  return parse_resize(ctx, n, a);
}

Status convert_resize(ImportContext& ctx, const TorchNode& n) {
  ResizeAttrs a;
  if (std::string r = parse_resize(ctx, n, a); !r.empty()) return unsupported(r);
  KILN_ASSIGN_OR_RETURN(DType out, ctx.out_dtype(n));
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0), out));
  a.size.clear();
  for (size_t i = 2; i < n.meta.items.size(); ++i) {
    const TorchValue& d = n.meta.items[i];
    if (sym_supported(d)) {
      KILN_ASSIGN_OR_RETURN(DimExpr e, ctx.dim(d));
      a.size.push_back(std::move(e));
      continue;
    }
    // torch's size is trunc(in * scale); the check made sure the scale is num / den with den = 2^j.
    std::optional<std::pair<int64_t, int64_t>> q =
        a.scales.size() > i - 2 ? dyadic(a.scales[i - 2]) : std::nullopt;
    if (!q) return unsupported("an output size ", d.to_string(), " kiln cannot express");
    a.size.push_back(floordiv(ctx.type(x).shape[i] * DimExpr(q->first), DimExpr(q->second)));
  }
  KILN_ASSIGN_OR_RETURN(ValueId y, ctx.add(OpKind::kResize, {x}, a));
  ctx.set_output(y);
  return ok_status();
}

// ---- pad ---------------------------------------------------------------------------------------

// torch's pad list ([left, right] of the last dim, then of the one before, ...) as IR pads.
std::string parse_pad(const ImportContext& ctx, const TorchNode& n, PadAttrs& a) {
  const std::string& t = n.target;
  const TorchValue& xm = ctx.meta(arg(n, 0));
  if (xm.kind != Kind::kTensor) return "its input is not a tensor";
  const size_t rank = xm.items.size();
  auto pads = ImportContext::static_ints(arg(n, 1));
  if (!pads || arg(n, 1).kind != Kind::kList) {
    return str_cat("pad ", arg(n, 1).to_string(), " is not a list of constants");
  }
  if (pads->size() % 2 != 0 || pads->size() > 2 * rank) {
    return str_cat("pad ", arg(n, 1).to_string(), " does not fit an input of rank ", rank);
  }
  a.mode = PadMode::kConstant;
  a.value = 0;
  const TorchValue* value = nullptr;
  if (t == "aten.constant_pad_nd.default") {
    value = &arg(n, 2);
  } else if (t == "aten.pad.default") {
    const TorchValue& mode = arg(n, 2);
    if (mode.kind != Kind::kString && !mode.is_none()) return "a non-constant mode";
    const std::string m = mode.is_none() ? "constant" : mode.s;
    if (m == "reflect") a.mode = PadMode::kReflect;
    else if (m == "replicate") a.mode = PadMode::kReplicate;
    else if (m != "constant") return str_cat("padding mode '", m, "' is not supported");
    value = &arg(n, 3);
  } else if (t.rfind("aten.reflection_pad", 0) == 0) {
    a.mode = PadMode::kReflect;
  } else if (t.rfind("aten.replication_pad", 0) == 0) {
    a.mode = PadMode::kReplicate;
  } else {
    return str_cat("unknown pad target ", t);
  }
  if (size_t spatial = target_spatial(t); spatial != 0) {
    if (pads->size() != 2 * spatial) {
      return str_cat("pad ", arg(n, 1).to_string(), " for ", spatial, " spatial dims");
    }
    if (rank != spatial + 1 && rank != spatial + 2) {
      return str_cat("an input of rank ", rank, " for ", spatial, " spatial dims");
    }
  }
  if (value != nullptr && !value->is_none()) {
    switch (value->kind) {
      case Kind::kFloat: a.value = value->f; break;
      case Kind::kInt: a.value = static_cast<double>(value->i); break;
      case Kind::kBool: a.value = value->b ? 1 : 0; break;
      default: return str_cat("a non-constant pad value ", value->to_string());
    }
  }
  a.pads.assign(2 * rank, 0);
  for (size_t i = 0; i < pads->size() / 2; ++i) {
    const size_t d = rank - 1 - i;
    const int64_t before = (*pads)[2 * i], after = (*pads)[2 * i + 1];
    a.pads[2 * d] = before;
    a.pads[2 * d + 1] = after;
    if (a.mode == PadMode::kConstant) continue;
    if (before < 0 || after < 0) return "negative reflect or replicate padding";
    std::optional<int64_t> size = ImportContext::static_int(xm.items[d]);
    if (a.mode == PadMode::kReflect && size && (before >= *size || after >= *size)) {
      return str_cat("reflect padding (", before, ", ", after, ") of a dim of size ", *size);
    }
    if (a.mode == PadMode::kReplicate && size && *size == 0 && (before > 0 || after > 0)) {
      return "replicate padding of an empty dim";
    }
  }
  return "";
}

std::string check_pad(const ImportContext& ctx, const TorchNode& n) {
  PadAttrs a;
  return parse_pad(ctx, n, a);
}

Status convert_pad(ImportContext& ctx, const TorchNode& n) {
  PadAttrs a;
  if (std::string r = parse_pad(ctx, n, a); !r.empty()) return unsupported(r);
  KILN_ASSIGN_OR_RETURN(DType out, ctx.out_dtype(n));
  KILN_ASSIGN_OR_RETURN(ValueId x, ctx.tensor(arg(n, 0), out));
  KILN_ASSIGN_OR_RETURN(ValueId y, ctx.add(OpKind::kPad, {x}, a));
  ctx.set_output(y);
  return ok_status();
}

const Converter kConverters[] = {
    // convolution
    {"aten.conv1d.default", convert_conv, check_conv},
    {"aten.conv2d.default", convert_conv, check_conv},
    {"aten.conv3d.default", convert_conv, check_conv},
    {"aten.conv1d.padding", convert_conv, check_conv},
    {"aten.conv2d.padding", convert_conv, check_conv},
    {"aten.conv3d.padding", convert_conv, check_conv},
    {"aten.convolution.default", convert_conv, check_conv},
    {"aten.conv_transpose1d.input", convert_conv, check_conv},
    {"aten.conv_transpose2d.input", convert_conv, check_conv},
    {"aten.conv_transpose3d.input", convert_conv, check_conv},
    // max and avg pooling
    {"aten.max_pool1d.default", convert_pool<true>, check_pool<true>},
    {"aten.max_pool2d.default", convert_pool<true>, check_pool<true>},
    {"aten.max_pool3d.default", convert_pool<true>, check_pool<true>},
    {"aten.max_pool2d_with_indices.default", convert_pool<true>, check_pool<true>},
    {"aten.max_pool3d_with_indices.default", convert_pool<true>, check_pool<true>},
    {"aten.avg_pool1d.default", convert_pool<false>, check_pool<false>},
    {"aten.avg_pool2d.default", convert_pool<false>, check_pool<false>},
    {"aten.avg_pool3d.default", convert_pool<false>, check_pool<false>},
    // adaptive pooling
    {"aten.adaptive_avg_pool1d.default", convert_adaptive<false>, check_adaptive<false>},
    {"aten.adaptive_avg_pool2d.default", convert_adaptive<false>, check_adaptive<false>},
    {"aten.adaptive_avg_pool3d.default", convert_adaptive<false>, check_adaptive<false>},
    {"aten._adaptive_avg_pool2d.default", convert_adaptive<false>, check_adaptive<false>},
    {"aten._adaptive_avg_pool3d.default", convert_adaptive<false>, check_adaptive<false>},
    {"aten.adaptive_max_pool1d.default", convert_adaptive<true>, check_adaptive<true>},
    {"aten.adaptive_max_pool2d.default", convert_adaptive<true>, check_adaptive<true>},
    {"aten.adaptive_max_pool3d.default", convert_adaptive<true>, check_adaptive<true>},
    // resize
    {"aten.upsample_nearest1d.vec", convert_resize, check_resize},
    {"aten.upsample_nearest2d.vec", convert_resize, check_resize},
    {"aten.upsample_nearest3d.vec", convert_resize, check_resize},
    {"aten.upsample_nearest1d.default", convert_resize, check_resize},
    {"aten.upsample_nearest2d.default", convert_resize, check_resize},
    {"aten.upsample_nearest3d.default", convert_resize, check_resize},
    {"aten.upsample_bilinear2d.vec", convert_resize, check_resize},
    {"aten.upsample_bilinear2d.default", convert_resize, check_resize},
    // pad
    {"aten.constant_pad_nd.default", convert_pad, check_pad},
    {"aten.pad.default", convert_pad, check_pad},
    {"aten.reflection_pad1d.default", convert_pad, check_pad},
    {"aten.reflection_pad2d.default", convert_pad, check_pad},
    {"aten.reflection_pad3d.default", convert_pad, check_pad},
    {"aten.replication_pad1d.default", convert_pad, check_pad},
    {"aten.replication_pad2d.default", convert_pad, check_pad},
    {"aten.replication_pad3d.default", convert_pad, check_pad},
};

}  // namespace

std::span<const Converter> conv_pool_converters() { return kConverters; }

}  // namespace kiln::importer
