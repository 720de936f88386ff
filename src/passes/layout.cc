// layout: on CUDA, runs 2-d convolutions channels-last (NHWC), which is what tensor-core conv
// kernels want, and keeps their neighbours channels-last so that layout changes happen only at the
// edges of conv regions. One sweep in node order:
//   1. conv with 2 spatial dims and channels_last=false ->
//        permute(conv(to_last(x), to_last(w), b, to_last(residual)) {channels_last=true},
//                [0,3,1,2])
//      where to_last(v) is permute(v, [0,2,3,1]), or the source of v when v is itself a "back"
//      permute [0,3,1,2] (so consecutive convs meet without permutes). Weight permutes are left to
//      fold-constants. An ungrouped f16/bf16 conv with a constant weight and input channels that
//      are not a multiple of 8 (an RGB stem) gets x and w zero-padded along C to the next multiple
//      of 8, so that tensor-core kernels take it.
//   2. A back permute is sunk below its users, so that back/front pairs meet and cancel:
//        unary elementwise ops and casts:  op(permute(t)) -> permute(op(t))
//        binary elementwise ops and where, when each operand is a back permute, a single-element
//          value, a constant, a value already permuted for a conv, or a value whose permute only
//          moves size-1 dims (it becomes a reshape): lower-rank operands get leading 1s, then
//          permute(·, [0,2,3,1])
//        max_pool / avg_pool with 2 spatial dims: they switch to channels_last=true
//        adaptive_avg_pool to 1x1 (a global average pool): reduce_mean over H and W (keepdim), whose
//          [N,1,1,C] result canonicalize then turns back into [N,C,1,1] with a mere reshape
//      The rewritten node's place and output value go to the new back permute, which the sweep
//      then sinks further through its own users. A back permute with several users is sunk once per
//      user; the original stays for the users that cannot take it, or for dce.
// Front permutes of a value are shared. It does nothing on the CPU, to 1-d and 3-d convs,
// convs already channels-last, or any other op (reshape, reductions, adaptive pools, norms stop
// the sinking); canonicalize removes the permute pairs that meet, dce the nodes left unused.
#include <array>
#include <vector>

#include "kiln/passes/passes.h"
#include "rewrite_util.h"

namespace kiln {
namespace {

using passes_internal::permuted;

const std::vector<int64_t> kToLast = {0, 2, 3, 1};   // NCHW -> NHWC
const std::vector<int64_t> kToFirst = {0, 3, 1, 2};  // NHWC -> NCHW

bool is_elementwise(OpKind op) {
  switch (op) {
    // Unary (every op of that ops.def section, casts included).
    case OpKind::kNeg: case OpKind::kAbs: case OpKind::kSign: case OpKind::kExp:
    case OpKind::kLog: case OpKind::kSqrt: case OpKind::kRsqrt: case OpKind::kReciprocal:
    case OpKind::kSin: case OpKind::kCos: case OpKind::kTanh: case OpKind::kErf:
    case OpKind::kFloor: case OpKind::kCeil: case OpKind::kRound: case OpKind::kSigmoid:
    case OpKind::kRelu: case OpKind::kGelu: case OpKind::kSilu: case OpKind::kSoftplus:
    case OpKind::kMish: case OpKind::kHardswish: case OpKind::kHardsigmoid:
    case OpKind::kLeakyRelu: case OpKind::kElu: case OpKind::kClamp: case OpKind::kIsNan:
    case OpKind::kLogicalNot: case OpKind::kCast:
    // Binary with broadcasting, and where.
    case OpKind::kAdd: case OpKind::kSub: case OpKind::kMul: case OpKind::kDiv:
    case OpKind::kRemainder: case OpKind::kPow: case OpKind::kMaximum: case OpKind::kMinimum:
    case OpKind::kEqual: case OpKind::kNotEqual: case OpKind::kLess: case OpKind::kLessEqual:
    case OpKind::kGreater: case OpKind::kGreaterEqual: case OpKind::kLogicalAnd:
    case OpKind::kLogicalOr: case OpKind::kWhere:
      return true;
    default:
      return false;
  }
}

bool is_unit(const DimExpr& d) { return d.is_constant() && d.constant_value() == 1; }

// True if permuting `shape` by `perm` keeps every dim that is not a static 1 in its order (so the
// permute is a reshape, which canonicalize makes of it).
bool moves_only_unit_dims(const Shape& shape, const std::vector<int64_t>& perm) {
  int64_t last = -1;
  for (int64_t p : perm) {
    if (is_unit(shape[static_cast<size_t>(p)])) continue;
    if (p < last) return false;
    last = p;
  }
  return true;
}

bool is_back_permute(const Node& n) {
  if (n.op != OpKind::kPermute) return false;
  return passes_internal::normalized_perm(n.attrs_as<PermuteAttrs>().perm) == kToFirst;
}

class LayoutRewriter {
 public:
  explicit LayoutRewriter(Graph& g) : g_(g) {}

  bool run() {
    // Every rewrite reads values defined earlier and defines the same value ids as the node it
    // replaces, so emitting in the original order keeps the graph topological.
    std::vector<Node> nodes = std::move(g_.nodes);
    g_.nodes.clear();
    g_.nodes.reserve(nodes.size());
    grow();
    for (Node& n : nodes) {
      if (!rewrite_conv(n) && !sink(n)) emit(std::move(n));
    }
    return changed_;
  }

 private:
  // Per-value tables, grown as values are added.
  void grow() {
    back_source_.resize(g_.values.size(), kNoValue);
    to_last_.resize(g_.values.size(), kNoValue);
    is_constant_.resize(g_.values.size(), false);
  }

  void emit(Node n) {
    if (n.op == OpKind::kConstant && n.outputs.size() == 1) is_constant_[n.outputs[0]] = true;
    if (is_back_permute(n) && g_.type(n.inputs[0]).rank() == 4) {
      back_source_[n.outputs[0]] = n.inputs[0];
    }
    g_.nodes.push_back(std::move(n));
  }

  // Appends a node defining a new value of type `type`.
  ValueId emit_new(OpKind op, std::vector<ValueId> inputs, Attrs attrs, TensorType type,
                   const std::string& loc) {
    const ValueId v = passes_internal::add_value(g_, std::move(type));
    grow();
    emit(Node{op, std::move(inputs), {v}, std::move(attrs), loc});
    return v;
  }

  // `v` (rank 4) in channels-last order: the source of a back permute, or a (shared) permute.
  ValueId to_last(ValueId v, const std::string& loc) {
    if (back_source_[v] != kNoValue) return back_source_[v];
    if (to_last_[v] == kNoValue) {
      to_last_[v] = emit_new(OpKind::kPermute, {v}, PermuteAttrs{kToLast},
                             permuted(g_.type(v), kToLast), loc);
    }
    return to_last_[v];
  }

  // Emits `n` with channels-last inputs and output, then the back permute defining n's output.
  void emit_channels_last(Node n, std::vector<ValueId> inputs) {
    const ValueId y = n.outputs[0];
    const ValueId t = emit_new(n.op, std::move(inputs), std::move(n.attrs),
                               permuted(g_.type(y), kToLast), n.loc);
    emit(Node{OpKind::kPermute, {t}, {y}, PermuteAttrs{kToFirst}, n.loc});
    changed_ = true;
  }

  // Step 1 of the file comment.
  bool rewrite_conv(Node& n) {
    if (n.op != OpKind::kConv || g_.type(n.inputs[0]).rank() != 4) return false;
    ConvAttrs& a = n.attrs_as<ConvAttrs>();
    if (a.channels_last) return false;
    a.channels_last = true;
    std::vector<ValueId> inputs = n.inputs;
    inputs[0] = to_last(inputs[0], n.loc);
    inputs[1] = to_last(inputs[1], n.loc);
    if (inputs.size() > 3 && inputs[3] != kNoValue) inputs[3] = to_last(inputs[3], n.loc);
    pad_channels(n, inputs);
    emit_channels_last(std::move(n), std::move(inputs));
    return true;
  }

  // An ungrouped f16/bf16 conv whose input channels are not a multiple of 8 (an RGB stem) gets
  // them zero-padded up to one, x and the constant weight alike: tensor-core conv kernels need
  // multiples of 8, and the padding adds zeros to the sums only. (fold-constants pads the weight.)
  void pad_channels(const Node& n, std::vector<ValueId>& inputs) {
    const ConvAttrs& a = n.attrs_as<ConvAttrs>();
    const TensorType& x = g_.type(inputs[0]);
    const DimExpr& c = x.shape[3];
    if (a.groups != 1 || !c.is_constant() || c.constant_value() % 8 == 0) return;
    if (x.dtype != DType::kF16 && x.dtype != DType::kBF16) return;
    if (!is_constant_[n.inputs[1]]) return;
    const int64_t extra = 8 - c.constant_value() % 8;
    for (int k = 0; k < 2; ++k) {
      TensorType t = g_.type(inputs[k]);
      t.shape[3] = DimExpr(t.shape[3].constant_value() + extra);
      PadAttrs pad;
      pad.pads = {0, 0, 0, 0, 0, 0, 0, extra};
      inputs[k] = emit_new(OpKind::kPad, {inputs[k]}, std::move(pad), std::move(t), n.loc);
    }
  }

  // Step 2 of the file comment.
  bool sink(Node& n) {
    if (n.outputs.size() != 1 || g_.type(n.outputs[0]).rank() != 4) return false;
    if (n.op == OpKind::kMaxPool || n.op == OpKind::kAvgPool) {
      PoolAttrs& a = n.attrs_as<PoolAttrs>();
      if (a.channels_last || back_source_[n.inputs[0]] == kNoValue) return false;
      a.channels_last = true;
      emit_channels_last(std::move(n), {back_source_[n.inputs[0]]});
      return true;
    }
    if (n.op == OpKind::kAdaptiveAvgPool && back_source_[n.inputs[0]] != kNoValue &&
        n.attrs_as<AdaptivePoolAttrs>().output_size == std::vector<int64_t>{1, 1}) {
      // A global average pool of channels-last data is a mean over H and W.
      n.op = OpKind::kReduceMean;
      n.attrs = ReduceAttrs{{1, 2}, true};
      emit_channels_last(std::move(n), {back_source_[n.inputs[0]]});
      return true;
    }
    if (!is_elementwise(n.op)) return false;
    // Each operand: a back permute, or something that may be permuted cheaply.
    bool any_back = false;
    for (ValueId v : n.inputs) {
      if (back_source_[v] != kNoValue) {
        any_back = true;
      } else if (!permutable(v)) {
        return false;
      }
    }
    if (!any_back) return false;
    std::vector<ValueId> inputs;
    for (ValueId v : n.inputs) inputs.push_back(operand_to_last(v, n.loc));
    emit_channels_last(std::move(n), std::move(inputs));
    return true;
  }

  // Whether a non-permute operand may follow its neighbour into channels-last order: one element,
  // a constant (fold-constants permutes it), a value already permuted for a conv (a residual
  // block's identity shortcut), or a permute that is a mere reshape.
  bool permutable(ValueId v) const {
    const TensorType& t = g_.type(v);
    if (t.rank() > 4) return false;
    if (to_last_[v] != kNoValue) return true;
    bool single = true;
    for (const DimExpr& d : t.shape) single = single && is_unit(d);
    if (single || is_constant_[v]) return true;
    return moves_only_unit_dims(padded(t).shape, kToLast);
  }

  // `t` with leading 1s up to rank 4.
  static TensorType padded(const TensorType& t) {
    TensorType out{t.dtype, Shape(static_cast<size_t>(4 - t.rank()), DimExpr(1))};
    out.shape.insert(out.shape.end(), t.shape.begin(), t.shape.end());
    return out;
  }

  ValueId operand_to_last(ValueId v, const std::string& loc) {
    if (back_source_[v] != kNoValue) return back_source_[v];
    const TensorType& t = g_.type(v);
    bool single = true;
    for (const DimExpr& d : t.shape) single = single && is_unit(d);
    if (single) return v;  // broadcasts the same in any order
    if (t.rank() < 4) {
      TensorType p = padded(t);
      Shape shape = p.shape;
      v = emit_new(OpKind::kReshape, {v}, ReshapeAttrs{std::move(shape)}, std::move(p), loc);
    }
    return to_last(v, loc);
  }

  Graph& g_;
  std::vector<ValueId> back_source_;  // v = permute(t, [0,3,1,2]) with t of rank 4: t
  std::vector<ValueId> to_last_;      // the emitted permute(v, [0,2,3,1]), if any
  std::vector<bool> is_constant_;
  bool changed_ = false;
};

}  // namespace

Expected<bool> layout(Graph& g, const PassOptions& options) {
  if (options.device != DeviceKind::kCuda) return false;
  return LayoutRewriter(g).run();
}

}  // namespace kiln
