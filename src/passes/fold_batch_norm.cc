// fold-batch-norm: folds an inference batch_norm into the conv or conv_transpose that feeds it:
//   batch_norm(conv(x, w, b?), mean, var, gamma?, beta?)  ->  conv(x, w', b')
// with s = gamma / sqrt(var + eps), w' = w * s along the weight's output-channel axis and
// b' = (b - mean) * s + beta (b = 0, gamma = 1, beta = 0 where absent). It applies only when the
// conv's output has no other live use, w, b and the four batch-norm parameters are all `constant`
// nodes of f32, f16 or bf16, var + eps > 0 everywhere, and the conv has no fused activation or
// residual and is channels-first (batch_norm normalises axis 1). The arithmetic is done in double
// and rounded once to the weight's dtype. The folded conv takes the batch_norm's place and its
// output value; w' and b' are new constants just before it; the old conv and constants stay,
// unused, for dce. It does not fold batch_norm into anything else (linear, a conv behind a view)
// or fold a batch_norm that precedes the conv.
#include <cmath>
#include <cstring>
#include <optional>
#include <vector>

#include "kiln/passes/passes.h"
#include "rewrite_util.h"

namespace kiln {
namespace {

using passes_internal::add_value;
using passes_internal::live_nodes;
using passes_internal::live_use_counts;
using passes_internal::read_floats;

// A constant of `dtype` and `shape` holding `values`, each rounded once from double.
ConstantAttrs make_constant(DType dtype, std::vector<int64_t> shape,
                            const std::vector<double>& values) {
  const size_t size = static_cast<size_t>(dtype_size(dtype));
  std::vector<uint8_t> bytes(values.size() * size);
  for (size_t i = 0; i < values.size(); ++i) {
    const float f = static_cast<float>(values[i]);
    if (dtype == DType::kF32) {
      std::memcpy(&bytes[i * size], &f, 4);
    } else {
      const uint16_t h = dtype == DType::kF16 ? f32_to_f16(f) : f32_to_bf16(f);
      std::memcpy(&bytes[i * size], &h, 2);
    }
  }
  return ConstantAttrs{dtype, std::move(shape), TensorData::copy_of(bytes.data(), bytes.size())};
}

// Everything one fold needs, read from the graph.
struct FoldInputs {
  const Node* conv = nullptr;
  const ConstantAttrs* weight = nullptr;
  std::vector<double> w, b, mean, var, gamma, beta;
};

// What the constant nodes of `g` hold, by value (null where a value is not a constant).
std::vector<const ConstantAttrs*> constants_by_value(const Graph& g) {
  std::vector<const ConstantAttrs*> out(g.values.size(), nullptr);
  for (const Node& n : g.nodes) {
    if (n.op == OpKind::kConstant && n.outputs.size() == 1) {
      out[n.outputs[0]] = &n.attrs_as<ConstantAttrs>();
    }
  }
  return out;
}

// The inputs of a fold of batch-norm node `bn`, or nothing if the pattern does not match.
std::optional<FoldInputs> match(const Graph& g, const Node& bn,
                                const std::vector<int32_t>& producers,
                                const std::vector<int32_t>& uses,
                                const std::vector<const ConstantAttrs*>& constant_of) {
  // 1. The producer: a conv (no epilogue, channels first) or conv_transpose used only here.
  const ValueId x = bn.inputs[0];
  if (producers[x] < 0 || uses[x] != 1) return std::nullopt;
  const Node& conv = g.nodes[producers[x]];
  if (conv.op == OpKind::kConv) {
    const ConvAttrs& a = conv.attrs_as<ConvAttrs>();
    if (a.activation != Activation::kNone || a.channels_last) return std::nullopt;
    if (conv.inputs.size() > 3 && conv.inputs[3] != kNoValue) return std::nullopt;
  } else if (conv.op != OpKind::kConvTranspose) {
    return std::nullopt;
  }
  // 2. Every parameter a float constant (absent optional ones get their neutral value).
  auto read = [&](const Node& n, size_t i, double absent, size_t count,
                  std::vector<double>& out) -> bool {
    const ValueId v = i < n.inputs.size() ? n.inputs[i] : kNoValue;
    if (v == kNoValue) {
      out.assign(count, absent);
      return true;
    }
    if (constant_of[v] == nullptr) return false;
    std::optional<std::vector<double>> values = read_floats(*constant_of[v]);
    if (!values || values->size() != count) return false;
    out = std::move(*values);
    return true;
  };
  FoldInputs in;
  in.conv = &conv;
  in.weight = constant_of[conv.inputs[1]];
  if (in.weight == nullptr || in.weight->shape.size() < 3) return std::nullopt;
  std::optional<std::vector<double>> w = read_floats(*in.weight);
  if (!w) return std::nullopt;
  in.w = std::move(*w);
  const std::vector<int64_t>& ws = in.weight->shape;
  const int64_t groups = conv.op == OpKind::kConv ? 1 : conv.attrs_as<ConvTransposeAttrs>().groups;
  const size_t channels = static_cast<size_t>(conv.op == OpKind::kConv ? ws[0] : ws[1] * groups);
  if (channels == 0 || in.w.empty()) return std::nullopt;
  if (!read(conv, 2, 0.0, channels, in.b) || !read(bn, 1, 0.0, channels, in.mean) ||
      !read(bn, 2, 0.0, channels, in.var) || !read(bn, 3, 1.0, channels, in.gamma) ||
      !read(bn, 4, 0.0, channels, in.beta)) {
    return std::nullopt;
  }
  const double eps = bn.attrs_as<BatchNormAttrs>().eps;
  for (double v : in.var) {
    if (!(v + eps > 0)) return std::nullopt;
  }
  return in;
}

// Scales the weight per output channel and folds the batch norm into the bias (in place).
void fold(FoldInputs& in, double eps) {
  const size_t channels = in.mean.size();
  std::vector<double> scale(channels);
  for (size_t o = 0; o < channels; ++o) {
    scale[o] = in.gamma[o] / std::sqrt(in.var[o] + eps);
    in.b[o] = (in.b[o] - in.mean[o]) * scale[o] + in.beta[o];
  }
  const std::vector<int64_t>& ws = in.weight->shape;
  if (in.conv->op == OpKind::kConv) {  // w[O, C/g, *k]: channel o is a contiguous block
    const size_t block = in.w.size() / channels;
    for (size_t i = 0; i < in.w.size(); ++i) in.w[i] *= scale[i / block];
    return;
  }
  // conv_transpose, w[C, O/g, *k]: input channel c of group c / (C/g) feeds output channel
  // (c / (C/g)) * (O/g) + j through w[c, j].
  const size_t in_channels = static_cast<size_t>(ws[0]);
  const size_t out_per_group = static_cast<size_t>(ws[1]);
  const size_t groups = channels / out_per_group;
  const size_t in_per_group = in_channels / groups;
  const size_t kernel = in.w.size() / (in_channels * out_per_group);
  for (size_t c = 0; c < in_channels; ++c) {
    for (size_t j = 0; j < out_per_group; ++j) {
      const double s = scale[(c / in_per_group) * out_per_group + j];
      double* row = &in.w[(c * out_per_group + j) * kernel];
      for (size_t k = 0; k < kernel; ++k) row[k] *= s;
    }
  }
}

}  // namespace

Expected<bool> fold_batch_norm(Graph& g, const PassOptions& options) {
  // 1. Find every foldable batch_norm; make its new constants and the conv that replaces it.
  const std::vector<int32_t> producers = graph_producers(g);
  const std::vector<int32_t> uses = live_use_counts(g, live_nodes(g));
  const std::vector<const ConstantAttrs*> constant_of = constants_by_value(g);
  std::vector<std::vector<Node>> insert_before(g.nodes.size());
  std::vector<Node> replacements;
  std::vector<size_t> replaced;
  for (size_t j = 0; j < g.nodes.size(); ++j) {
    const Node& bn = g.nodes[j];
    if (bn.op != OpKind::kBatchNorm) continue;
    std::optional<FoldInputs> in = match(g, bn, producers, uses, constant_of);
    if (!in) continue;
    fold(*in, bn.attrs_as<BatchNormAttrs>().eps);
    const Node& conv = *in->conv;
    const DType dtype = in->weight->dtype;
    const int64_t channels = static_cast<int64_t>(in->b.size());
    ConstantAttrs w = make_constant(dtype, in->weight->shape, in->w);
    ConstantAttrs b = make_constant(dtype, {channels}, in->b);
    const ValueId w_value = add_value(g, g.type(conv.inputs[1]));
    const ValueId b_value = add_value(g, TensorType{dtype, {DimExpr(channels)}});
    insert_before[j].push_back(Node{OpKind::kConstant, {}, {w_value}, std::move(w), bn.loc});
    insert_before[j].push_back(Node{OpKind::kConstant, {}, {b_value}, std::move(b), bn.loc});
    replacements.push_back(
        Node{conv.op, {conv.inputs[0], w_value, b_value}, bn.outputs, conv.attrs, conv.loc});
    replaced.push_back(j);
  }
  if (replaced.empty()) return false;
  // 2. Put the new constants and convs in place; the old convs stay for dce.
  for (size_t k = 0; k < replaced.size(); ++k) g.nodes[replaced[k]] = std::move(replacements[k]);
  std::vector<Node> nodes;
  nodes.reserve(g.nodes.size() + 2 * replaced.size());
  for (size_t j = 0; j < g.nodes.size(); ++j) {
    for (Node& n : insert_before[j]) nodes.push_back(std::move(n));
    nodes.push_back(std::move(g.nodes[j]));
  }
  g.nodes = std::move(nodes);
  return true;
}

}  // namespace kiln
