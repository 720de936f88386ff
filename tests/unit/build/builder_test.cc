#include "kiln/build/builder.h"

#include <gtest/gtest.h>

#include "kiln/runtime.h"

namespace kiln {
namespace {

template <typename T>
T value_or_fail(Expected<T> e) {
  EXPECT_TRUE(e.ok()) << e.status().to_string();
  if (!e.ok()) throw std::runtime_error(e.status().to_string());
  return std::move(e).value();
}

std::string metadata(const EngineContents& c, std::string_view key) {
  for (const auto& [k, v] : c.metadata) {
    if (k == key) return v;
  }
  return "<missing>";
}

// y = relu(x + c) with a dead `neg` node the pipeline removes, and two constants folded into one.
Graph small_graph() {
  Graph g;
  DimExpr n = value_or_fail(graph_add_symbol(g, SymbolInfo{"n", 1, 16, 4}));
  ValueId x = graph_add_input(g, "x", TensorType{DType::kF32, {n, 2}});
  const float a[2] = {1.0f, -2.0f}, b[2] = {0.5f, 0.25f};
  ValueId ca = value_or_fail(graph_add_constant(g, TensorType{DType::kF32, {2}}, a, sizeof a));
  ValueId cb = value_or_fail(graph_add_constant(g, TensorType{DType::kF32, {2}}, b, sizeof b));
  ValueId c = value_or_fail(graph_add_node1(g, OpKind::kAdd, {ca, cb}, NoAttrs{}, "m.py:1"));
  value_or_fail(graph_add_node1(g, OpKind::kNeg, {x}, NoAttrs{}, "m.py:2"));
  ValueId sum = value_or_fail(graph_add_node1(g, OpKind::kAdd, {x, c}, NoAttrs{}, "m.py:3"));
  g.outputs = {value_or_fail(graph_add_node1(g, OpKind::kRelu, {sum}, NoAttrs{}, "m.py:4"))};
  return g;
}

TEST(BuilderTest, ChoosesAReferenceKernelForEveryNodeAfterThePipeline) {
  EngineContents c = value_or_fail(build_engine(small_graph(), BuildOptions{}));
  EXPECT_EQ(c.device, DeviceKind::kCpu);
  ASSERT_EQ(c.kernels.size(), c.graph.nodes.size());
  for (size_t i = 0; i < c.kernels.size(); ++i) {
    EXPECT_EQ(c.kernels[i], str_cat("ref.", op_name(c.graph.nodes[i].op))) << "node " << i;
  }
  // The pipeline folded the constant add and removed the dead neg.
  std::vector<std::string> ops;
  for (const Node& n : c.graph.nodes) ops.emplace_back(op_name(n.op));
  EXPECT_EQ(ops, (std::vector<std::string>{"constant", "add", "relu"}));
}

TEST(BuilderTest, RecordsWhatBuiltTheEngine) {
  BuildOptions options;
  options.passes.disabled = {"cse"};
  EngineContents c = value_or_fail(build_engine(small_graph(), options));
  EXPECT_EQ(metadata(c, "kiln_version"), KILN_VERSION);
  EXPECT_EQ(metadata(c, "device"), "cpu");
  EXPECT_EQ(metadata(c, "format_version"), std::to_string(kEngineFormatVersion));
  std::string pipeline;
  for (const std::string& p : default_pipeline()) {
    if (p != "cse") pipeline += (pipeline.empty() ? "" : ",") + p;
  }
  EXPECT_EQ(metadata(c, "pipeline"), pipeline);
  EXPECT_EQ(metadata(c, "disabled_passes"), "cse");
}

TEST(BuilderTest, TheEngineRunsAndComputesTheGraph) {
  EngineContents c = value_or_fail(build_engine(small_graph(), BuildOptions{}));
  std::vector<uint8_t> bytes = value_or_fail(write_engine(c));
  std::shared_ptr<const Engine> engine = value_or_fail(Engine::from_bytes(bytes));
  ExecutionContext ctx(engine);
  float x[6] = {0.0f, 0.0f, -2.0f, 3.0f, 1.0f, 1.0f};
  float y[6] = {-7, -7, -7, -7, -7, -7};
  TensorView in{x, DType::kF32, {3, 2}};
  TensorView out{y, DType::kF32, {3, 2}};
  Status s = ctx.run(std::span<const TensorView>(&in, 1), std::span<const TensorView>(&out, 1));
  ASSERT_TRUE(s.ok()) << s.to_string();
  // c = [1.5, -1.75]
  const float want[6] = {1.5f, 0.0f, 0.0f, 1.25f, 2.5f, 0.0f};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(y[i], want[i]) << i;
}

TEST(BuilderTest, RefusesInvalidGraphs) {
  Graph g = small_graph();
  g.outputs = {static_cast<ValueId>(g.values.size() + 3)};
  Expected<EngineContents> c = build_engine(std::move(g), BuildOptions{});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("output"), std::string::npos) << c.status().message();
}

TEST(BuilderTest, NamesTheNodeNoKernelCanRun) {
  BuildOptions options;
  options.device = DeviceKind::kCuda;
  Expected<EngineContents> c = build_engine(small_graph(), options);
  if (!kernels_for(OpKind::kConstant, DeviceKind::kCuda).empty()) {
    // A build with CUDA kernels: the same graph must build for CUDA.
    EXPECT_TRUE(c.ok()) << c.status().to_string();
    return;
  }
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kUnsupported);
  EXPECT_EQ(c.status().message(),
            "node 0 (constant, loc \"m.py:1\"): no cuda kernel exists for constant");
}

}  // namespace
}  // namespace kiln
