// Small convolutional and linear graphs, built with the graph API, for the tests of the rewriting
// passes (fold-batch-norm, fuse-epilogues, layout): conv + batch_norm + relu, ResNet basic blocks
// with identity and downsampling shortcuts, a mini ResNet, an SE block and a GELU MLP. Weights are
// random; batch-norm variances are positive.
#pragma once

#include <string>
#include <vector>

#include "reference_eval.h"

namespace kiln::pass_test {

class ModelBuilder {
 public:
  Graph g;

  ValueId input(std::string name, std::vector<int64_t> shape) {
    return graph_add_input(g, std::move(name), f32(Shape(shape.begin(), shape.end())));
  }

  Expected<ValueId> constant(std::vector<int64_t> shape, float lo = -0.5f, float hi = 0.5f) {
    return add_random_constant(g, std::move(shape), ++seed_, lo, hi);
  }

  int64_t channels(ValueId x) const { return g.type(x).shape[1].constant_value(); }

  Expected<ValueId> conv(ValueId x, int64_t out, int64_t k, int64_t stride, int64_t pad,
                         bool bias = false, int64_t groups = 1) {
    KILN_ASSIGN_OR_RETURN(ValueId w, constant({out, channels(x) / groups, k, k}));
    ValueId b = kNoValue;
    if (bias) {
      KILN_ASSIGN_OR_RETURN(b, constant({out}));
    }
    ConvAttrs a{{stride, stride}, {pad, pad}, {1, 1}, groups};
    return graph_add_node1(g, OpKind::kConv, {x, w, b}, a, "conv");
  }

  Expected<ValueId> batch_norm(ValueId x, bool affine = true) {
    const int64_t c = channels(x);
    KILN_ASSIGN_OR_RETURN(ValueId mean, constant({c}));
    KILN_ASSIGN_OR_RETURN(ValueId var, constant({c}, 0.5f, 2.0f));
    std::vector<ValueId> inputs = {x, mean, var};
    if (affine) {
      KILN_ASSIGN_OR_RETURN(ValueId gamma, constant({c}, 0.5f, 1.5f));
      KILN_ASSIGN_OR_RETURN(ValueId beta, constant({c}));
      inputs.push_back(gamma);
      inputs.push_back(beta);
    }
    return graph_add_node1(g, OpKind::kBatchNorm, inputs, BatchNormAttrs{1e-5}, "bn");
  }

  Expected<ValueId> op(OpKind kind, std::vector<ValueId> inputs, Attrs attrs = NoAttrs{}) {
    return graph_add_node1(g, kind, std::move(inputs), std::move(attrs));
  }

  Expected<ValueId> conv_bn_relu(ValueId x, int64_t out, int64_t k, int64_t stride, int64_t pad) {
    KILN_ASSIGN_OR_RETURN(ValueId c, conv(x, out, k, stride, pad));
    KILN_ASSIGN_OR_RETURN(ValueId b, batch_norm(c));
    return op(OpKind::kRelu, {b});
  }

  // torchvision's BasicBlock: relu(bn(conv(relu(bn(conv(x))))) + shortcut(x)), the shortcut a
  // strided 1x1 conv + bn when the shape changes.
  Expected<ValueId> basic_block(ValueId x, int64_t out, int64_t stride) {
    KILN_ASSIGN_OR_RETURN(ValueId h, conv_bn_relu(x, out, 3, stride, 1));
    KILN_ASSIGN_OR_RETURN(ValueId c, conv(h, out, 3, 1, 1));
    KILN_ASSIGN_OR_RETURN(ValueId b, batch_norm(c));
    ValueId shortcut = x;
    if (stride != 1 || out != channels(x)) {
      KILN_ASSIGN_OR_RETURN(ValueId d, conv(x, out, 1, stride, 0));
      KILN_ASSIGN_OR_RETURN(shortcut, batch_norm(d));
    }
    KILN_ASSIGN_OR_RETURN(ValueId s, op(OpKind::kAdd, {b, shortcut}));
    return op(OpKind::kRelu, {s});
  }

  Expected<ValueId> max_pool(ValueId x, int64_t k, int64_t stride, int64_t pad) {
    PoolAttrs a;
    a.kernel = {k, k};
    a.stride = {stride, stride};
    a.padding = {pad, pad};
    a.dilation = {1, 1};
    return op(OpKind::kMaxPool, {x}, a);
  }

  // adaptive_avg_pool to 1x1, flatten, linear: the classifier head.
  Expected<ValueId> head(ValueId x, int64_t classes) {
    KILN_ASSIGN_OR_RETURN(ValueId p, op(OpKind::kAdaptiveAvgPool, {x}, AdaptivePoolAttrs{{1, 1}}));
    const Shape& s = g.type(p).shape;
    KILN_ASSIGN_OR_RETURN(ValueId f, op(OpKind::kReshape, {p}, ReshapeAttrs{{s[0], s[1]}}));
    KILN_ASSIGN_OR_RETURN(ValueId w, constant({classes, channels(x)}));
    KILN_ASSIGN_OR_RETURN(ValueId b, constant({classes}));
    return op(OpKind::kLinear, {f, w, b}, LinearAttrs{});
  }

 private:
  uint64_t seed_ = 100;
};

// x[2, 3, 8, 8] -> conv 3x3 (bias) -> batch_norm -> relu.
inline Expected<Graph> conv_bn_relu_graph() {
  ModelBuilder m;
  ValueId x = m.input("x", {2, 3, 8, 8});
  KILN_ASSIGN_OR_RETURN(ValueId c, m.conv(x, 4, 3, 1, 1, /*bias=*/true));
  KILN_ASSIGN_OR_RETURN(ValueId b, m.batch_norm(c));
  KILN_ASSIGN_OR_RETURN(ValueId y, m.op(OpKind::kRelu, {b}));
  m.g.outputs = {y};
  return std::move(m.g);
}

// Two basic blocks on x[2, 4, 6, 6]: one with an identity shortcut, one downsampling to 8 channels.
inline Expected<Graph> residual_blocks_graph() {
  ModelBuilder m;
  ValueId x = m.input("x", {2, 4, 6, 6});
  KILN_ASSIGN_OR_RETURN(ValueId b1, m.basic_block(x, 4, 1));
  KILN_ASSIGN_OR_RETURN(ValueId b2, m.basic_block(b1, 8, 2));
  m.g.outputs = {b2};
  return std::move(m.g);
}

// A ResNet in miniature: stem conv+bn+relu, max_pool, two basic blocks, classifier head.
inline Expected<Graph> mini_resnet_graph() {
  ModelBuilder m;
  ValueId x = m.input("x", {2, 3, 16, 16});
  KILN_ASSIGN_OR_RETURN(ValueId stem, m.conv_bn_relu(x, 8, 3, 2, 1));
  KILN_ASSIGN_OR_RETURN(ValueId p, m.max_pool(stem, 3, 2, 1));
  KILN_ASSIGN_OR_RETURN(ValueId b1, m.basic_block(p, 8, 1));
  KILN_ASSIGN_OR_RETURN(ValueId b2, m.basic_block(b1, 16, 2));
  KILN_ASSIGN_OR_RETURN(ValueId y, m.head(b2, 5));
  m.g.outputs = {y};
  return std::move(m.g);
}

// A squeeze-and-excitation block as in MobileNetV3 / EfficientNet: a depthwise conv whose output
// is scaled per channel by sigmoid(conv(relu(conv(adaptive_avg_pool(h))))) of shape [N, C, 1, 1].
inline Expected<Graph> se_block_graph() {
  ModelBuilder m;
  ValueId x = m.input("x", {2, 8, 6, 6});
  KILN_ASSIGN_OR_RETURN(ValueId c, m.conv(x, 8, 3, 1, 1, /*bias=*/false, /*groups=*/8));
  KILN_ASSIGN_OR_RETURN(ValueId b, m.batch_norm(c));
  KILN_ASSIGN_OR_RETURN(ValueId h, m.op(OpKind::kSilu, {b}));
  KILN_ASSIGN_OR_RETURN(ValueId p, m.op(OpKind::kAdaptiveAvgPool, {h}, AdaptivePoolAttrs{{1, 1}}));
  KILN_ASSIGN_OR_RETURN(ValueId s1, m.conv(p, 4, 1, 1, 0, /*bias=*/true));
  KILN_ASSIGN_OR_RETURN(ValueId r, m.op(OpKind::kRelu, {s1}));
  KILN_ASSIGN_OR_RETURN(ValueId s2, m.conv(r, 8, 1, 1, 0, /*bias=*/true));
  KILN_ASSIGN_OR_RETURN(ValueId gate, m.op(OpKind::kSigmoid, {s2}));
  KILN_ASSIGN_OR_RETURN(ValueId scaled, m.op(OpKind::kMul, {h, gate}));
  KILN_ASSIGN_OR_RETURN(ValueId y, m.conv_bn_relu(scaled, 4, 1, 1, 0));
  m.g.outputs = {y};
  return std::move(m.g);
}

// x[3, 8] -> linear+gelu -> linear+gelu(tanh) -> linear+silu -> linear+relu.
inline Expected<Graph> linear_mlp_graph() {
  ModelBuilder m;
  ValueId x = m.input("x", {3, 8});
  ValueId h = x;
  const std::pair<OpKind, Attrs> acts[] = {{OpKind::kGelu, GeluAttrs{GeluApprox::kNone}},
                                           {OpKind::kGelu, GeluAttrs{GeluApprox::kTanh}},
                                           {OpKind::kSilu, NoAttrs{}},
                                           {OpKind::kRelu, NoAttrs{}}};
  for (const auto& [kind, attrs] : acts) {
    KILN_ASSIGN_OR_RETURN(ValueId w, m.constant({8, m.g.type(h).shape[1].constant_value()}));
    KILN_ASSIGN_OR_RETURN(ValueId b, m.constant({8}));
    KILN_ASSIGN_OR_RETURN(ValueId l, m.op(OpKind::kLinear, {h, w, b}, LinearAttrs{}));
    KILN_ASSIGN_OR_RETURN(h, m.op(kind, {l}, attrs));
  }
  m.g.outputs = {h};
  return std::move(m.g);
}

}  // namespace kiln::pass_test
