#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <thread>

#include "kiln/runtime.h"
#include "test_graphs.h"

namespace kiln {
namespace {

using testing::mlp_expected;
using testing::mlp_graph;
using testing::reference_engine;
using testing::value_or_fail;

std::vector<float> random_floats(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> out(n);
  for (float& v : out) v = uniform(rng);
  return out;
}

// Runs `ctx` on x: f32[batch, 4], returning the [batch, 3] output (poisoned with NaN first).
std::vector<float> run_mlp(ExecutionContext& ctx, const std::vector<float>& x, int64_t batch,
                           Status* status) {
  std::vector<float> y(static_cast<size_t>(batch) * 3, std::nanf(""));
  TensorView in{const_cast<float*>(x.data()), DType::kF32, {batch, 4}};
  TensorView out{y.data(), DType::kF32, {batch, 3}};
  *status = ctx.run(std::span<const TensorView>(&in, 1), std::span<const TensorView>(&out, 1));
  return y;
}

Status plan_status(ExecutionContext& ctx, std::vector<ConcreteShape> shapes) {
  return ctx.plan_for(shapes).status();
}

// x: f32[batch, 3], y: i64[batch*2] with batch in [1, 64], output x's relu.
std::shared_ptr<const Engine> two_input_engine() {
  Graph g;
  DimExpr batch = value_or_fail(graph_add_symbol(g, SymbolInfo{"batch", 1, 64, 4}));
  ValueId x = graph_add_input(g, "x", TensorType{DType::kF32, {batch, 3}});
  graph_add_input(g, "y", TensorType{DType::kI64, {batch * 2}});
  g.outputs = {value_or_fail(graph_add_node1(g, OpKind::kRelu, {x}, NoAttrs{}))};
  return reference_engine(std::move(g));
}

TEST(ExecutionContextTest, ComputesTheGraph) {
  ExecutionContext ctx(reference_engine(mlp_graph()));
  for (int64_t batch : {1, 5, 8}) {
    std::vector<float> x = random_floats(static_cast<size_t>(batch) * 4, 7 + batch);
    Status s;
    std::vector<float> y = run_mlp(ctx, x, batch, &s);
    ASSERT_TRUE(s.ok()) << s.to_string();
    std::vector<float> want = mlp_expected(x, batch);
    ASSERT_EQ(y.size(), want.size());
    int positive = 0;
    for (size_t i = 0; i < y.size(); ++i) {
      EXPECT_NEAR(y[i], want[i], 1e-6) << "batch " << batch << " element " << i;
      positive += want[i] > 0;
    }
    EXPECT_GT(positive, 0);  // the relu did not zero everything: the test sees the matmul
  }
}

TEST(ExecutionContextTest, InfersOutputShapes) {
  ExecutionContext ctx(reference_engine(mlp_graph()));
  std::vector<ConcreteShape> in = {{6, 4}};
  std::vector<ConcreteShape> out = value_or_fail(ctx.infer_output_shapes(in));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], (ConcreteShape{6, 3}));
}

TEST(ExecutionContextTest, RangeErrorsNameTheInputAndTheRange) {
  ExecutionContext ctx(two_input_engine());
  Status s = plan_status(ctx, {{65, 3}, {130}});
  EXPECT_EQ(s.code(), StatusCode::kOutOfRange);
  EXPECT_EQ(s.message(), "input 'x' dim 0 is 65 but batch must be in [1, 64]");
  s = plan_status(ctx, {{0, 3}, {0}});
  EXPECT_EQ(s.message(), "input 'x' dim 0 is 0 but batch must be in [1, 64]");
  EXPECT_TRUE(plan_status(ctx, {{64, 3}, {128}}).ok());
  EXPECT_TRUE(plan_status(ctx, {{1, 3}, {2}}).ok());
}

// Each value alone fits in int64 bytes, but three of them (the arena's bound) do not: the plan is
// refused instead of getting a wrapped arena size.
TEST(ExecutionContextTest, ActivationsBeyondInt64AreOutOfRange) {
  Graph g;
  DimExpr n = value_or_fail(graph_add_symbol(g, SymbolInfo{"n", 1, int64_t{1} << 61, 4}));
  ValueId v = graph_add_input(g, "x", TensorType{DType::kF32, {n}});
  for (int i = 0; i < 3; ++i) v = value_or_fail(graph_add_node1(g, OpKind::kRelu, {v}, NoAttrs{}));
  g.outputs = {v};
  ExecutionContext ctx(reference_engine(std::move(g)));
  Status s = plan_status(ctx, {{int64_t{1} << 60}});  // 2^62 bytes a value
  EXPECT_EQ(s.code(), StatusCode::kOutOfRange);
  EXPECT_EQ(s.message(), "the activations of these input shapes need more than 2^63 bytes");
  EXPECT_TRUE(plan_status(ctx, {{1 << 20}}).ok());
}

TEST(ExecutionContextTest, RankStaticDimAndExpressionErrors) {
  ExecutionContext ctx(two_input_engine());
  Status s = plan_status(ctx, {{4, 3, 1}, {8}});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "input 'x' must have rank 2, got 3 ([4, 3, 1])");
  s = plan_status(ctx, {{4, 5}, {8}});
  EXPECT_EQ(s.message(), "input 'x' dim 1 must be 3, got 5 ([4, 5])");
  s = plan_status(ctx, {{4, 3}, {7}});
  EXPECT_EQ(s.message(), "input 'y' dim 0 must be 2*batch = 8, got 7");
  s = plan_status(ctx, {{4, 3}});
  EXPECT_EQ(s.message(), "engine takes 2 inputs, got 1");
  s = plan_status(ctx, {{-1, 3}, {8}});
  EXPECT_EQ(s.message(), "input 'x' dim 0 is negative (-1)");
}

TEST(ExecutionContextTest, SymbolsSharedBetweenInputsMustAgree) {
  Graph g;
  DimExpr batch = value_or_fail(graph_add_symbol(g, SymbolInfo{"batch", 1, 8, 2}));
  ValueId a = graph_add_input(g, "a", TensorType{DType::kF32, {batch, 2}});
  ValueId b = graph_add_input(g, "b", TensorType{DType::kF32, {batch, 2}});
  g.outputs = {value_or_fail(graph_add_node1(g, OpKind::kAdd, {a, b}, NoAttrs{}))};
  ExecutionContext ctx(reference_engine(std::move(g)));
  Status s = plan_status(ctx, {{3, 2}, {4, 2}});
  EXPECT_EQ(s.message(), "input 'b' dim 0 must be batch = 3 (from input 'a' dim 0), got 4");
}

TEST(ExecutionContextTest, RunChecksDtypesShapesAndBuffers) {
  ExecutionContext ctx(reference_engine(mlp_graph()));
  std::vector<float> x(8, 1.0f), y(6, 0.0f);
  std::vector<uint16_t> half(8);
  TensorView in{x.data(), DType::kF32, {2, 4}};
  TensorView out{y.data(), DType::kF32, {2, 3}};
  auto run = [&](TensorView i, TensorView o) {
    return ctx.run(std::span<const TensorView>(&i, 1), std::span<const TensorView>(&o, 1));
  };
  EXPECT_EQ(run(TensorView{half.data(), DType::kF16, {2, 4}}, out).message(),
            "input 'x' must be f32, got f16");
  EXPECT_EQ(run(in, TensorView{y.data(), DType::kF32, {2, 4}}).message(),
            "output 'output0' must have shape [2, 3] for these inputs, got [2, 4]");
  EXPECT_EQ(run(in, TensorView{y.data(), DType::kI32, {2, 3}}).message(),
            "output 'output0' must be f32, got i32");
  EXPECT_EQ(run(TensorView{nullptr, DType::kF32, {2, 4}}, out).message(),
            "input 'x' has no data (null pointer)");
  EXPECT_EQ(run(in, TensorView{nullptr, DType::kF32, {2, 3}}).message(),
            "output 'output0' has no data (null pointer)");
  EXPECT_EQ(ctx.run({}, std::span<const TensorView>(&out, 1)).message(),
            "engine takes 1 inputs, got 0");
  EXPECT_TRUE(run(in, out).ok());
}

TEST(ExecutionContextTest, CachesOnePlanPerSignature) {
  ExecutionContext ctx(reference_engine(mlp_graph()));
  std::vector<ConcreteShape> two = {{2, 4}}, seven = {{7, 4}};
  const ExecutionPlan* a = value_or_fail(ctx.plan_for(two));
  const ExecutionPlan* b = value_or_fail(ctx.plan_for(seven));
  EXPECT_NE(a, b);
  EXPECT_EQ(value_or_fail(ctx.plan_for(two)), a);
  EXPECT_EQ(value_or_fail(ctx.plan_for(seven)), b);
  EXPECT_EQ(a->symbol_values, (std::vector<int64_t>{2}));
  EXPECT_EQ(b->symbol_values, (std::vector<int64_t>{7}));
  // matmul [7, 3] and add [7, 3] are live together; relu writes the caller's output.
  EXPECT_EQ(b->memory.sum_bytes, 2 * 7 * 3 * 4);
  EXPECT_EQ(b->memory.arena_bytes, kArenaAlignment + 7 * 3 * 4);
  EXPECT_EQ(b->direct_outputs, (std::vector<bool>{true}));
  const Graph& g = ctx.engine().graph();
  EXPECT_EQ(b->types[g.outputs[0]].shape, (Shape{7, 3}));
  EXPECT_EQ(b->memory.offsets[g.inputs[0]], -1);
  EXPECT_EQ(b->memory.offsets[g.nodes[0].outputs[0]], -1);  // a constant
}

TEST(ExecutionContextTest, OutputsThatAreInputsOrConstantsAreCopied) {
  Graph g;
  const float c[2] = {3.5f, -1.25f};
  ValueId x = graph_add_input(g, "x", TensorType{DType::kF32, {2}});
  ValueId k = value_or_fail(graph_add_constant(g, TensorType{DType::kF32, {2}}, c, sizeof c));
  g.outputs = {x, k};
  ExecutionContext ctx(reference_engine(std::move(g)));
  float xin[2] = {1.0f, 2.0f}, out0[2] = {0, 0}, out1[2] = {0, 0};
  TensorView in{xin, DType::kF32, {2}};
  TensorView outs[2] = {{out0, DType::kF32, {2}}, {out1, DType::kF32, {2}}};
  ASSERT_TRUE(ctx.run(std::span<const TensorView>(&in, 1), outs).ok());
  EXPECT_EQ(out0[0], 1.0f);
  EXPECT_EQ(out0[1], 2.0f);
  EXPECT_EQ(out1[0], 3.5f);
  EXPECT_EQ(out1[1], -1.25f);
}

// x: f32[4] -> relu -> neg -> reshape [2, 2] (the last two nodes: the tail, writing the caller's
// buffer), with relu's output also a graph output (read by neg: computed in the arena and copied).
struct TailGraph {
  Graph g;
  ValueId x, r, n, shaped;
};
TailGraph tail_graph() {
  TailGraph t;
  t.x = graph_add_input(t.g, "x", TensorType{DType::kF32, {4}});
  t.r = value_or_fail(graph_add_node1(t.g, OpKind::kRelu, {t.x}, NoAttrs{}));
  t.n = value_or_fail(graph_add_node1(t.g, OpKind::kNeg, {t.r}, NoAttrs{}));
  t.shaped = value_or_fail(graph_add_node1(t.g, OpKind::kReshape, {t.n}, ReshapeAttrs{{2, 2}}));
  return t;
}

TEST(ExecutionContextTest, TheTailWritesTheCallersBuffers) {
  TailGraph t = tail_graph();
  t.g.outputs = {t.shaped, t.r};
  ExecutionContext ctx(reference_engine(std::move(t.g)));
  std::vector<ConcreteShape> shapes = {{4}};
  const ExecutionPlan* plan = value_or_fail(ctx.plan_for(shapes));
  EXPECT_EQ(plan->direct_outputs, (std::vector<bool>{true, false}));
  EXPECT_EQ(plan->tail_begin, 1u);
  EXPECT_EQ(plan->memory.offsets[t.n], -1);       // neg's bytes are the caller's
  EXPECT_EQ(plan->memory.offsets[t.shaped], -1);  // and so are its reshape's
  EXPECT_GE(plan->memory.offsets[t.r], 0);
  EXPECT_EQ(plan->memory.arena_bytes, 4 * 4);

  // The caller's first output buffer is the input buffer: relu reads it before neg writes it.
  float x[4] = {1.5f, -2.0f, 0.0f, 3.0f}, relu_out[4] = {9, 9, 9, 9};
  TensorView in{x, DType::kF32, {4}};
  TensorView outs[2] = {{x, DType::kF32, {2, 2}}, {relu_out, DType::kF32, {4}}};
  ASSERT_TRUE(ctx.run(std::span<const TensorView>(&in, 1), outs).ok());
  EXPECT_EQ(std::vector<float>(x, x + 4), (std::vector<float>{-1.5f, -0.0f, -0.0f, -3.0f}));
  EXPECT_EQ(std::vector<float>(relu_out, relu_out + 4), (std::vector<float>{1.5f, 0, 0, 3.0f}));
}

TEST(ExecutionContextTest, TheArenaIsSplitAtTheTail) {
  // x -> a = relu(x) -> b = neg(a) -> y = add(b, b): the add is the tail. a is read only before
  // it (the body's bytes, which run_body's caller may give back before run_tail), b by it.
  Graph g;
  ValueId x = graph_add_input(g, "x", TensorType{DType::kF32, {4}});
  ValueId a = value_or_fail(graph_add_node1(g, OpKind::kRelu, {x}, NoAttrs{}));
  ValueId b = value_or_fail(graph_add_node1(g, OpKind::kNeg, {a}, NoAttrs{}));
  g.outputs = {value_or_fail(graph_add_node1(g, OpKind::kAdd, {b, b}, NoAttrs{}))};
  ExecutionContext ctx(reference_engine(std::move(g)));
  std::vector<ConcreteShape> shapes = {{4}};
  const ExecutionPlan* plan = value_or_fail(ctx.plan_for(shapes));
  EXPECT_EQ(plan->tail_begin, 2u);
  EXPECT_EQ(plan->memory.tail_bytes, kArenaAlignment);  // b, padded so that the body is aligned
  EXPECT_EQ(plan->memory.offsets[b], 0);
  EXPECT_EQ(plan->memory.offsets[a], kArenaAlignment);  // after the tail's region
  const WorkspaceSizes sizes = value_or_fail(ctx.workspace_sizes(shapes));
  EXPECT_EQ(sizes.tail, kArenaAlignment);
  EXPECT_EQ(sizes.body, 16);
  EXPECT_EQ(value_or_fail(ctx.workspace_bytes(shapes)), kArenaAlignment + 16);
  float xs[4] = {1, -2, 3, -4}, y[4] = {};
  TensorView in{xs, DType::kF32, {4}};
  TensorView out{y, DType::kF32, {4}};
  ASSERT_TRUE(ctx.run(std::span<const TensorView>(&in, 1), std::span<const TensorView>(&out, 1)).ok());
  EXPECT_EQ(std::vector<float>(y, y + 4), (std::vector<float>{-2, -0.0f, -6, -0.0f}));
  // The halves are for CUDA engines.
  Status s = ctx.run_tail(std::span<const TensorView>(&in, 1), std::span<const TensorView>(&out, 1),
                          nullptr, y, 16);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.to_string();
}

TEST(ExecutionContextTest, OutputsOutsideTheTailAreCopied) {
  // neg's output twice: two buffers to fill, so neither is written in place.
  TailGraph twice = tail_graph();
  twice.g.outputs = {twice.n, twice.shaped};
  ExecutionContext a(reference_engine(std::move(twice.g)));
  std::vector<ConcreteShape> shapes = {{4}};
  EXPECT_EQ(value_or_fail(a.plan_for(shapes))->direct_outputs, (std::vector<bool>{false, false}));
  float x[4] = {1, -2, 3, -4}, o0[4] = {}, o1[4] = {};
  TensorView in{x, DType::kF32, {4}};
  TensorView outs[2] = {{o0, DType::kF32, {4}}, {o1, DType::kF32, {2, 2}}};
  ASSERT_TRUE(a.run(std::span<const TensorView>(&in, 1), outs).ok());
  EXPECT_EQ(std::vector<float>(o0, o0 + 4), (std::vector<float>{-1, -0.0f, -3, -0.0f}));
  EXPECT_EQ(std::vector<float>(o1, o1 + 4), (std::vector<float>{-1, -0.0f, -3, -0.0f}));

  // A node reading a graph input stays out of the tail (the caller may pass that input's buffer
  // as the output), and so does every node before it.
  Graph g;
  ValueId xin = graph_add_input(g, "x", TensorType{DType::kF32, {4}});
  ValueId r = value_or_fail(graph_add_node1(g, OpKind::kRelu, {xin}, NoAttrs{}));
  g.outputs = {value_or_fail(graph_add_node1(g, OpKind::kAdd, {r, xin}, NoAttrs{}))};
  ExecutionContext b(reference_engine(std::move(g)));
  const ExecutionPlan* plan = value_or_fail(b.plan_for(shapes));
  EXPECT_EQ(plan->direct_outputs, (std::vector<bool>{false}));
  EXPECT_EQ(plan->tail_begin, 2u);
  TensorView same{x, DType::kF32, {4}};
  ASSERT_TRUE(b.run(std::span<const TensorView>(&in, 1), std::span<const TensorView>(&same, 1)).ok());
  EXPECT_EQ(std::vector<float>(x, x + 4), (std::vector<float>{2, -2, 6, -4}));
}

TEST(ExecutionContextTest, TailsOfSeveralOutputsAndEmptyOnes) {
  // relu(x) feeds a split whose parts are outputs, one of them negated first: split's second part
  // is read by neg, so only its first part and neg's output are written in place; the split and
  // the neg are the tail. With n = 0 every buffer is empty (null).
  Graph g;
  DimExpr n = value_or_fail(graph_add_symbol(g, SymbolInfo{"n", 0, 8, 2}));
  ValueId x = graph_add_input(g, "x", TensorType{DType::kF32, {n, 4}});
  ValueId r = value_or_fail(graph_add_node1(g, OpKind::kRelu, {x}, NoAttrs{}));
  std::vector<ValueId> parts =
      value_or_fail(graph_add_node(g, OpKind::kSplit, {r}, SplitAttrs{1, {1, 3}}));
  ValueId neg = value_or_fail(graph_add_node1(g, OpKind::kNeg, {parts[1]}, NoAttrs{}));
  g.outputs = {parts[0], neg, parts[1]};
  ExecutionContext ctx(reference_engine(std::move(g)));
  for (int64_t rows : {int64_t{2}, int64_t{0}}) {
    std::vector<ConcreteShape> shapes = {{rows, 4}};
    const ExecutionPlan* plan = value_or_fail(ctx.plan_for(shapes));
    EXPECT_EQ(plan->direct_outputs, (std::vector<bool>{true, true, false}));
    EXPECT_EQ(plan->tail_begin, 1u);
    std::vector<float> in = {1, -2, 3, -4, -5, 6, -7, 8};
    std::vector<float> a(2, -9), b(6, -9), c(6, -9);
    TensorView input{rows ? in.data() : nullptr, DType::kF32, {rows, 4}};
    TensorView outs[3] = {{rows ? a.data() : nullptr, DType::kF32, {rows, 1}},
                          {rows ? b.data() : nullptr, DType::kF32, {rows, 3}},
                          {rows ? c.data() : nullptr, DType::kF32, {rows, 3}}};
    ASSERT_TRUE(ctx.run(std::span<const TensorView>(&input, 1), outs).ok());
    if (rows == 0) continue;
    EXPECT_EQ(a, (std::vector<float>{1, 0}));
    EXPECT_EQ(c, (std::vector<float>{0, 3, 0, 6, 0, 8}));
    EXPECT_EQ(b, (std::vector<float>{-0.0f, -3, -0.0f, -6, -0.0f, -8}));
  }
}

TEST(ExecutionContextTest, KernelErrorsNameTheNode) {
  // An index out of range is only known when the data is: the take kernel must refuse it, and
  // the runtime must say which node did.
  Graph g;
  const float table[6] = {1, 2, 3, 4, 5, 6};
  ValueId t = value_or_fail(graph_add_constant(g, TensorType{DType::kF32, {3, 2}}, table,
                                               sizeof table));
  ValueId i = graph_add_input(g, "i", TensorType{DType::kI64, {2}});
  g.outputs = {value_or_fail(graph_add_node1(g, OpKind::kTake, {t, i}, AxisAttrs{0}, "t.py:1"))};
  ExecutionContext ctx(reference_engine(std::move(g)));
  int64_t index[2] = {1, 100};
  float out[4];
  TensorView in{index, DType::kI64, {2}};
  TensorView o{out, DType::kF32, {2, 2}};
  Status s = ctx.run(std::span<const TensorView>(&in, 1), std::span<const TensorView>(&o, 1));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message().rfind("node 1 (take, loc \"t.py:1\"): ", 0), 0u) << s.message();
}

TEST(ExecutionContextTest, EmptyTensorsRun) {
  Graph g;
  DimExpr n = value_or_fail(graph_add_symbol(g, SymbolInfo{"n", 0, 4, 1}));
  ValueId x = graph_add_input(g, "x", TensorType{DType::kF32, {n, 4}});
  ValueId w = value_or_fail(graph_add_constant(g, TensorType{DType::kF32, {4, 3}},
                                               testing::kWeights.data(), 12 * sizeof(float)));
  g.outputs = {value_or_fail(graph_add_node1(g, OpKind::kMatMul, {x, w}, NoAttrs{}))};
  ExecutionContext ctx(reference_engine(std::move(g)));
  TensorView in{nullptr, DType::kF32, {0, 4}};
  TensorView out{nullptr, DType::kF32, {0, 3}};
  EXPECT_TRUE(
      ctx.run(std::span<const TensorView>(&in, 1), std::span<const TensorView>(&out, 1)).ok());
}

TEST(ExecutionContextTest, ThreadsShareOneEngine) {
  std::shared_ptr<const Engine> engine = reference_engine(mlp_graph());
  constexpr int kThreads = 4;
  constexpr int kRuns = 20;
  std::vector<std::vector<std::vector<float>>> results(kThreads);
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ExecutionContext ctx(engine);
      for (int r = 0; r < kRuns; ++r) {
        int64_t batch = 1 + (r + t) % 8;
        std::vector<float> x = random_floats(static_cast<size_t>(batch) * 4, r);
        Status s;
        std::vector<float> y = run_mlp(ctx, x, batch, &s);
        if (!s.ok()) errors[t] = s.to_string();
        results[t].push_back(std::move(y));
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(errors[t], "") << "thread " << t;
    ASSERT_EQ(results[t].size(), size_t(kRuns));
    for (int r = 0; r < kRuns; ++r) {
      int64_t batch = 1 + (r + t) % 8;
      std::vector<float> x = random_floats(static_cast<size_t>(batch) * 4, r);
      std::vector<float> want = mlp_expected(x, batch);
      ASSERT_EQ(results[t][r].size(), want.size());
      for (size_t i = 0; i < want.size(); ++i) {
        EXPECT_NEAR(results[t][r][i], want[i], 1e-6) << "thread " << t << " run " << r;
      }
    }
  }
}

}  // namespace
}  // namespace kiln
