// A small, valid engine used by the engine-format tests, the mutation test and the fuzzer's seed
// corpus. Its nodes together use every attribute field type (int64, double, bool, DType, enum, int
// and double lists, DimExpr with nested atoms, Shape, optional double and int64, TensorData), two
// constants (two weight blobs), a shape symbol and metadata. Output types are written by hand,
// as shape inference defines them for these ops, so the graph also passes verify_graph.
#pragma once

#include <cstring>
#include <string>
#include <vector>

#include "kiln/engine/engine_file.h"

namespace kiln::testing_engine {

inline ValueId add_value(Graph& g, TensorType type, std::string name = "") {
  g.values.push_back(Value{std::move(name), std::move(type)});
  return static_cast<ValueId>(g.values.size() - 1);
}

inline ValueId add_node(Graph& g, OpKind op, std::vector<ValueId> inputs, Attrs attrs,
                        TensorType out, std::string loc = "") {
  ValueId v = add_value(g, std::move(out));
  g.nodes.push_back(Node{op, std::move(inputs), {v}, std::move(attrs), std::move(loc)});
  return v;
}

inline ValueId add_constant(Graph& g, DType dtype, std::vector<int64_t> shape,
                            const std::vector<uint8_t>& bytes) {
  ConstantAttrs a;
  a.dtype = dtype;
  a.shape = shape;
  a.data = TensorData::copy_of(bytes.data(), bytes.size());
  Shape s(shape.begin(), shape.end());
  return add_node(g, OpKind::kConstant, {}, std::move(a), TensorType{dtype, s});
}

inline std::vector<uint8_t> f32_bytes(const std::vector<float>& v) {
  std::vector<uint8_t> b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

inline EngineContents sample_engine() {
  EngineContents e;
  Graph& g = e.graph;
  g.name = "sample";
  g.symbols.push_back(SymbolInfo{"batch", 1, 64, 8});
  const DimExpr batch = DimExpr::symbol(0);
  const DType f32 = DType::kF32;

  ValueId x = add_value(g, {f32, {batch, 3, 8, 8}}, "x");
  g.inputs.push_back(x);
  ValueId c0 = add_constant(g, f32, {1, 3, 1, 1}, f32_bytes({0.5f, -1.25f, 2.0f}));
  ValueId sum = add_node(g, OpKind::kAdd, {x, c0}, NoAttrs{}, {f32, {batch, 3, 8, 8}},
                         "model.py:10 add");
  ClampAttrs clamp;
  clamp.min = 0.0;
  ValueId clamped = add_node(g, OpKind::kClamp, {sum}, clamp, {f32, {batch, 3, 8, 8}});
  GeluAttrs gelu;
  gelu.approximate = GeluApprox::kTanh;
  ValueId act = add_node(g, OpKind::kGelu, {clamped}, gelu, {f32, {batch, 3, 8, 8}});
  PoolAttrs pool;
  pool.kernel = {2, 2};
  pool.stride = {2, 2};
  pool.padding = {0, 0};
  pool.dilation = {1, 1};
  pool.ceil_mode = false;
  pool.count_include_pad = true;
  pool.divisor_override = 3;
  ValueId pooled = add_node(g, OpKind::kAvgPool, {act}, pool, {f32, {batch, 3, 4, 4}});
  ResizeAttrs resize;
  resize.mode = ResizeMode::kBilinear;
  resize.align_corners = false;
  resize.size = {8, 8};
  resize.scales = {2.0, 2.0};
  ValueId up = add_node(g, OpKind::kResize, {pooled}, resize, {f32, {batch, 3, 8, 8}});
  SliceAttrs slice;
  slice.axis = 3;
  slice.start = 1;
  slice.end = 7;
  slice.step = 2;
  ValueId sliced = add_node(g, OpKind::kSlice, {up}, slice, {f32, {batch, 3, 8, 3}});
  ReshapeAttrs reshape;
  reshape.shape = {batch, 72};
  ValueId flat = add_node(g, OpKind::kReshape, {sliced}, reshape, {f32, {batch, 72}});
  AxisAttrs softmax;
  softmax.axis = -1;
  ValueId probs = add_node(g, OpKind::kSoftmax, {flat}, softmax, {f32, {batch, 72}});
  ArangeAttrs arange;
  arange.start = 0;
  arange.step = 1;
  arange.length = min(batch, DimExpr(16));
  arange.dtype = DType::kI64;
  ValueId positions = add_node(g, OpKind::kArange, {}, arange, {DType::kI64, {arange.length}});
  FullAttrs full;
  DimExpr half = floordiv(batch - 1, 2) + 1;
  full.shape = {half, 4};
  full.value = 0.5;
  full.dtype = f32;
  ValueId filled = add_node(g, OpKind::kFull, {}, full, {f32, {half, 4}});
  std::vector<uint8_t> h(12);
  for (size_t i = 0; i < h.size(); ++i) h[i] = static_cast<uint8_t>(0x30 + i);
  ValueId c1 = add_constant(g, DType::kF16, {2, 3}, h);
  CastAttrs cast;
  cast.to = f32;
  ValueId widened = add_node(g, OpKind::kCast, {c1}, cast, {f32, {2, 3}});

  g.values[probs].name = "probs";
  g.values[positions].name = "positions";
  g.values[filled].name = "filled";
  g.values[widened].name = "widened";
  g.outputs = {probs, positions, filled, widened};

  for (const Node& n : g.nodes) e.kernels.push_back(std::string("ref.") + std::string(op_name(n.op)));
  e.device = DeviceKind::kCpu;
  e.metadata = {{"build", "unit-test"}, {"opt_level", "2"}};
  return e;
}

}  // namespace kiln::testing_engine
