// raise-composites: rewrites the op-by-op spellings that exported models use for ops kiln has as
// one node back into that node, so that kernel selection and fuse-epilogues see the op. Repeated
// to a fixed point:
//   linears:
//      matmul(x, w) with w a 2-d float constant [K, N] that nothing else reads, x of rank >= 2
//          -> linear(x, w) with the constant transposed in place to [N, K]
//             (HF GPT-2's Conv1D: addmm(b, x, w) imports as add(b, matmul(x, w)));
//      add(linear(x, w), b) or add(b, linear(x, w)) with b of type [N] (the output's dtype and
//      last dim), the linear without bias or activation and its output read only by the add
//          -> linear(x, w, b).
//   activations and norms:
//      x * 0.5 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))   (HF's "gelu_new")
//          -> gelu(x) {approximate=tanh};
//      w * cast(xf * rsqrt(mean(xf^2, last axis, keepdim) + eps)) with xf = cast(x) or x, either
//      cast optional, w of type [D] (HF's LlamaRMSNorm, T5LayerNorm)
//          -> rms_norm(x, w) {axis=-1, eps}.
// Every add and mul matches its operands in either order. Scalar coefficients are constants with
// one element, matched within 2^-7 relative (their fp16 / bf16 roundings); exponents exactly. The
// raised node takes the place and output value of the pattern's last node, with the same type;
// the pattern's other nodes stay, unused, for dce (one that something else also reads keeps being
// computed for it). Numerics change only by rounding: the raised op rounds once where the chain
// rounded after every step. It does not raise other spellings (x*x*x, division by sqrt), other
// activations or norms, or a linear whose weight is not a constant.
#include <charconv>
#include <cmath>
#include <cstring>
#include <numbers>
#include <optional>
#include <vector>

#include "kiln/passes/passes.h"
#include "rewrite_util.h"

namespace kiln {
namespace {

using passes_internal::live_nodes;
using passes_internal::live_use_counts;
using passes_internal::read_floats;

bool is_float(DType d) { return d == DType::kF32 || d == DType::kF16 || d == DType::kBF16; }

class Raiser {
 public:
  explicit Raiser(Graph& g) : g_(g) {}

  // One sweep over the nodes in order; true if anything changed. Every rewrite is in place (the
  // raised node takes the place of the pattern's last node), so producers stay exact.
  bool sweep() {
    producers_ = graph_producers(g_);
    uses_ = live_use_counts(g_, live_nodes(g_));
    bool changed = false;
    for (Node& n : g_.nodes) {
      if (n.outputs.size() != 1 || uses_[n.outputs[0]] == 0) continue;
      changed = raise_matmul(n) || raise_bias(n) || raise_gelu_tanh(n) || raise_rms_norm(n) ||
                changed;
    }
    return changed;
  }

 private:
  // The node defining `v` if it has op `op`, else null.
  Node* def(ValueId v, OpKind op) {
    return passes_internal::producer_with_op(g_, producers_, v, op);
  }

  // True if `v` is a float constant of one element within 2^-7 relative of `c` (exactly `c` if
  // `exact`).
  bool is_scalar(ValueId v, double c, bool exact = false) {
    Node* k = def(v, OpKind::kConstant);
    if (k == nullptr) return false;
    std::optional<std::vector<double>> values = read_floats(k->attrs_as<ConstantAttrs>());
    if (!values || values->size() != 1) return false;
    const double x = (*values)[0];
    return exact ? x == c : std::abs(x - c) <= std::abs(c) * 0x1p-7;
  }

  // For a binary node: the operand other than one that satisfies `match` (tried first on input 0,
  // then on input 1), or kNoValue.
  template <typename Match>
  ValueId other_operand(const Node& n, Match match) {
    if (n.inputs.size() != 2) return kNoValue;
    if (match(n.inputs[0])) return n.inputs[1];
    if (match(n.inputs[1])) return n.inputs[0];
    return kNoValue;
  }

  // Replaces node `n` (keeping its outputs) by `op(inputs) {attrs}`.
  void replace(Node& n, OpKind op, std::vector<ValueId> inputs, Attrs attrs) {
    for (ValueId v : inputs) {
      if (v != kNoValue) ++uses_[v];
    }
    n.op = op;
    n.inputs = std::move(inputs);
    n.attrs = std::move(attrs);
  }

  // matmul(x, w) with a constant 2-d w -> linear(x, w transposed in place).
  bool raise_matmul(Node& n) {
    if (n.op != OpKind::kMatMul || n.inputs.size() != 2) return false;
    const ValueId x = n.inputs[0], w = n.inputs[1];
    Node* k = def(w, OpKind::kConstant);
    if (k == nullptr || uses_[w] != 1 || g_.type(x).rank() < 2) return false;
    auto& c = k->attrs_as<ConstantAttrs>();
    if (c.shape.size() != 2 || !is_float(c.dtype)) return false;
    const int64_t rows = c.shape[0], cols = c.shape[1];
    const size_t es = static_cast<size_t>(dtype_size(c.dtype));
    if (c.data.size != static_cast<size_t>(rows * cols) * es) return false;
    std::vector<uint8_t> t(c.data.size);
    const uint8_t* src = c.data.data();
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t j = 0; j < cols; ++j) {
        std::memcpy(&t[static_cast<size_t>(j * rows + r) * es],
                    &src[static_cast<size_t>(r * cols + j) * es], es);
      }
    }
    c = ConstantAttrs{c.dtype, {cols, rows}, TensorData::copy_of(t.data(), t.size())};
    g_.values[w].type = TensorType{c.dtype, {DimExpr(cols), DimExpr(rows)}};
    n.op = OpKind::kLinear;
    n.attrs = LinearAttrs{};
    return true;
  }

  // add(linear(x, w), b) with b[N] -> linear(x, w, b).
  bool raise_bias(Node& n) {
    if (n.op != OpKind::kAdd) return false;
    const TensorType& out = g_.type(n.outputs[0]);
    if (out.rank() < 1) return false;
    const TensorType bias_type{out.dtype, {out.shape.back()}};
    Node* linear = nullptr;
    const ValueId b = other_operand(n, [&](ValueId v) {
      Node* l = def(v, OpKind::kLinear);
      if (l == nullptr || uses_[v] != 1 || !(g_.type(v) == out)) return false;
      if (l->inputs.size() > 2 && l->inputs[2] != kNoValue) return false;
      if (l->attrs_as<LinearAttrs>().activation != Activation::kNone) return false;
      linear = l;
      return true;
    });
    if (b == kNoValue || !(g_.type(b) == bias_type)) return false;
    replace(n, OpKind::kLinear, {linear->inputs[0], linear->inputs[1], b}, LinearAttrs{});
    return true;
  }

  // x * 0.5 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3))) -> gelu(x) {approximate=tanh}.
  bool raise_gelu_tanh(Node& n) {
    if (n.op != OpKind::kMul) return false;
    ValueId x = kNoValue;
    const ValueId one_plus = other_operand(n, [&](ValueId v) {  // mul(x, 0.5)
      Node* half = def(v, OpKind::kMul);
      if (half == nullptr) return false;
      x = other_operand(*half, [&](ValueId c) { return is_scalar(c, 0.5); });
      return x != kNoValue;
    });
    if (one_plus == kNoValue) return false;
    auto is_x = [&](ValueId v) { return v == x; };
    Node* add1 = def(one_plus, OpKind::kAdd);
    if (add1 == nullptr) return false;
    Node* th = def(other_operand(*add1, [&](ValueId c) { return is_scalar(c, 1.0); }),
                   OpKind::kTanh);
    Node* scaled = th == nullptr ? nullptr : def(th->inputs[0], OpKind::kMul);
    if (scaled == nullptr) return false;
    Node* inner = def(other_operand(*scaled, [&](ValueId c) {
                        return is_scalar(c, std::sqrt(2.0 / std::numbers::pi));
                      }),
                      OpKind::kAdd);
    Node* cubic = inner == nullptr ? nullptr : def(other_operand(*inner, is_x), OpKind::kMul);
    Node* cube = cubic == nullptr ? nullptr
                                  : def(other_operand(*cubic, [&](ValueId c) {
                                          return is_scalar(c, 0.044715);
                                        }),
                                        OpKind::kPow);
    if (cube == nullptr || cube->inputs[0] != x || !is_scalar(cube->inputs[1], 3.0, true)) {
      return false;
    }
    if (!(g_.type(x) == g_.type(n.outputs[0])) || !is_float(g_.type(x).dtype)) return false;
    replace(n, OpKind::kGelu, {x}, GeluAttrs{GeluApprox::kTanh});
    return true;
  }

  // w * cast(xf * rsqrt(mean(xf^2) + eps)) -> rms_norm(x, w).
  bool raise_rms_norm(Node& n) {
    if (n.op != OpKind::kMul) return false;
    const TensorType& out = g_.type(n.outputs[0]);
    if (out.rank() < 1 || !is_float(out.dtype)) return false;
    const TensorType weight_type{out.dtype, {out.shape.back()}};
    ValueId x = kNoValue;
    double eps = 0;
    const ValueId w = other_operand(n, [&](ValueId v) {
      return (x = normalized_source(v, &eps)) != kNoValue;
    });
    if (w == kNoValue || !(g_.type(w) == weight_type) || !(g_.type(x) == out)) return false;
    replace(n, OpKind::kRmsNorm, {x, w}, NormAttrs{-1, eps});
    return true;
  }

  // If `v` is [cast](xf * rsqrt(mean(xf^2, last axis, keepdim) + eps)) with xf = [cast](x): x,
  // with *eps set; else kNoValue.
  ValueId normalized_source(ValueId v, double* eps) {
    if (Node* c = def(v, OpKind::kCast)) v = c->inputs[0];
    Node* scaled = def(v, OpKind::kMul);
    if (scaled == nullptr) return kNoValue;
    Node* rsqrt = nullptr;
    const ValueId xf = other_operand(*scaled, [&](ValueId r) {
      return (rsqrt = def(r, OpKind::kRsqrt)) != nullptr;
    });
    Node* sum = xf == kNoValue ? nullptr : def(rsqrt->inputs[0], OpKind::kAdd);
    if (sum == nullptr) return kNoValue;
    const int64_t rank = g_.type(xf).rank();
    Node* mean = nullptr;
    const ValueId e = other_operand(*sum, [&](ValueId m) {
      mean = def(m, OpKind::kReduceMean);
      if (mean == nullptr) return false;
      const auto& a = mean->attrs_as<ReduceAttrs>();
      const bool last = a.axes.size() == 1 && (a.axes[0] == -1 || a.axes[0] == rank - 1);
      Node* sq = last && a.keepdim ? def(mean->inputs[0], OpKind::kPow) : nullptr;
      return sq != nullptr && sq->inputs[0] == xf && is_scalar(sq->inputs[1], 2.0, true);
    });
    Node* k = e == kNoValue ? nullptr : def(e, OpKind::kConstant);
    std::optional<std::vector<double>> eps_value;
    if (k != nullptr) eps_value = read_floats(k->attrs_as<ConstantAttrs>());
    if (!eps_value || eps_value->size() != 1 || !((*eps_value)[0] >= 0)) return kNoValue;
    // The shortest decimal that rounds to the constant's float: 1e-06 rather than the f32's exact
    // 9.99999997e-07, which would print as such in the IR.
    const float f = static_cast<float>((*eps_value)[0]);
    char text[32];
    auto printed = std::to_chars(text, text + sizeof(text), f);
    std::from_chars(text, printed.ptr, *eps);
    Node* up = def(xf, OpKind::kCast);
    return up != nullptr ? up->inputs[0] : xf;
  }

  Graph& g_;
  std::vector<int32_t> producers_;
  std::vector<int32_t> uses_;
};

}  // namespace

Expected<bool> raise_composites(Graph& g, const PassOptions& /*options*/) {
  Raiser raiser(g);
  // Every sweep that changes something raises at least one node, so a graph needs at most about
  // as many sweeps as it has nodes; more would be a rewrite cycle, a bug here.
  const size_t max_sweeps = g.nodes.size() + 8;
  bool changed = false;
  for (size_t sweep = 0; raiser.sweep(); ++sweep) {
    changed = true;
    if (sweep > max_sweeps) {
      return internal_error("raise-composites: no fixed point after ", max_sweeps, " sweeps");
    }
  }
  return changed;
}

}  // namespace kiln
