// The CUDA runtime (src/runtime/cuda_runtime.cc) against the CPU engine of the same graph:
// constants uploaded once, the device arena across shape signatures, one Engine from several
// threads, CUDA graphs on and off, caller workspaces, and errors for host pointers. Tests that need
// a CUDA device skip where there is none (CPU CI); the GPU machine runs them.
#include <cstdlib>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <thread>

#if KILN_HAVE_CUDA
#include <cuda_runtime.h>
#endif

#include "kiln/build/builder.h"
#include "kiln/runtime.h"
#include "test_graphs.h"

namespace kiln {
namespace {

using testing::value_or_fail;

TEST(CudaRuntimeTest, CpuRunOfACudaEngineAndCudaRunOfACpuEngineAreRefused) {
  std::shared_ptr<const Engine> cpu = testing::reference_engine(testing::mlp_graph());
  ExecutionContext cpu_ctx(cpu);
  std::vector<float> x(8), y(6);
  TensorView in{x.data(), DType::kF32, {2, 4}};
  TensorView out{y.data(), DType::kF32, {2, 3}};
  Status s = cpu_ctx.run(std::span<const TensorView>(&in, 1), std::span<const TensorView>(&out, 1),
                         nullptr);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("engine runs on cpu"), std::string::npos) << s.message();
  EXPECT_FALSE(cpu->device_constants(0).ok());
  Status upload = cpu->upload_constants(0, nullptr, 0, nullptr);
  EXPECT_EQ(upload.code(), StatusCode::kInvalidArgument) << upload.to_string();
  EXPECT_FALSE(cpu_ctx.use_cuda_graphs());
  EXPECT_FALSE(ExecutionContext(cpu, ExecutionContextOptions{true}).use_cuda_graphs());
}

#if KILN_HAVE_CUDA

bool cuda_device_present() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  return count > 0;
}

// Skips without a device; scripts/gpu-check sets KILN_REQUIRE_CUDA=1, which makes that a failure.
#define SKIP_WITHOUT_CUDA_DEVICE()                                                          \
  if (!cuda_device_present()) {                                                             \
    if (std::getenv("KILN_REQUIRE_CUDA") != nullptr) FAIL() << "KILN_REQUIRE_CUDA: no device"; \
    GTEST_SKIP() << "no CUDA device here: runs on the GPU machine";                         \
  }

const std::vector<float> kScale = {0.5f, -2.0f, 1.5f, 3.0f, -0.25f};

// {relu(x * scale + x + x * scale), x * scale}: x f32[batch, 5] with batch in [1, 64], scale a
// constant [5]. Built from the ops whose CUDA kernels the elementwise family provides (mul, add,
// relu). The tail is the relu; s = m + x is read only before it (the body's memory).
Graph elementwise_graph() {
  Graph g;
  DimExpr batch = value_or_fail(graph_add_symbol(g, SymbolInfo{"batch", 1, 64, 4}));
  ValueId x = graph_add_input(g, "x", TensorType{DType::kF32, {batch, 5}});
  ValueId scale = value_or_fail(graph_add_constant(g, TensorType{DType::kF32, {5}}, kScale.data(),
                                                   kScale.size() * sizeof(float)));
  ValueId m = value_or_fail(graph_add_node1(g, OpKind::kMul, {x, scale}, NoAttrs{}, "t.py:1"));
  ValueId s = value_or_fail(graph_add_node1(g, OpKind::kAdd, {m, x}, NoAttrs{}, "t.py:2"));
  ValueId a = value_or_fail(graph_add_node1(g, OpKind::kAdd, {s, m}, NoAttrs{}, "t.py:3"));
  ValueId y = value_or_fail(graph_add_node1(g, OpKind::kRelu, {a}, NoAttrs{}, "t.py:4"));
  g.outputs = {y, m};
  return g;
}

std::shared_ptr<const Engine> built_engine(DeviceKind device) {
  BuildOptions options;
  options.device = device;
  EngineContents contents = value_or_fail(build_engine(elementwise_graph(), options));
  return value_or_fail(Engine::from_contents(std::move(contents)));
}

std::vector<float> random_floats(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> uniform(-2.0f, 2.0f);
  std::vector<float> out(n);
  for (float& v : out) v = uniform(rng);
  return out;
}

// The CPU engine's outputs for x of `batch` rows.
std::vector<std::vector<float>> cpu_outputs(const std::vector<float>& x, int64_t batch) {
  static const std::shared_ptr<const Engine> engine = built_engine(DeviceKind::kCpu);
  ExecutionContext ctx(engine);
  std::vector<std::vector<float>> out(2, std::vector<float>(x.size(), std::nanf("")));
  TensorView in{const_cast<float*>(x.data()), DType::kF32, {batch, 5}};
  std::vector<TensorView> outs = {{out[0].data(), DType::kF32, {batch, 5}},
                                  {out[1].data(), DType::kF32, {batch, 5}}};
  Status s = ctx.run(std::span<const TensorView>(&in, 1), outs);
  EXPECT_TRUE(s.ok()) << s.to_string();
  return out;
}

void expect_same(const std::vector<float>& got, const std::vector<float>& want,
                 const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_NEAR(got[i], want[i], 1e-6f * (1 + std::fabs(want[i]))) << what << " element " << i;
  }
}

// Device buffers that free themselves; a stream of the test's own.
class DeviceBuffers {
 public:
  DeviceBuffers() {
    EXPECT_EQ(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), cudaSuccess);
  }
  ~DeviceBuffers() {
    cudaStreamSynchronize(stream_);
    for (void* p : buffers_) cudaFree(p);
    cudaStreamDestroy(stream_);
  }
  void* alloc(size_t bytes, bool poison) {
    void* p = nullptr;
    EXPECT_EQ(cudaMalloc(&p, bytes), cudaSuccess);
    buffers_.push_back(p);
    if (poison) {
      EXPECT_EQ(cudaMemsetAsync(p, 0xff, bytes, stream_), cudaSuccess);  // NaN
    }
    return p;
  }
  void* upload(const std::vector<float>& host) {
    void* p = alloc(host.size() * sizeof(float), false);
    EXPECT_EQ(cudaMemcpyAsync(p, host.data(), host.size() * sizeof(float),
                              cudaMemcpyHostToDevice, stream_),
              cudaSuccess);
    return p;
  }
  std::vector<float> download(const void* p, size_t n) {
    std::vector<float> host(n);
    EXPECT_EQ(cudaMemcpyAsync(host.data(), p, n * sizeof(float), cudaMemcpyDeviceToHost, stream_),
              cudaSuccess);
    EXPECT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
    return host;
  }
  cudaStream_t stream() const { return stream_; }

 private:
  cudaStream_t stream_ = nullptr;
  std::vector<void*> buffers_;
};

// Runs `ctx` (a context of the CUDA engine) on x of `batch` rows through fresh poisoned device
// buffers (with `workspace`: a fresh poisoned workspace, or `fixed` of `fixed_bytes` when given);
// returns both outputs.
std::vector<std::vector<float>> cuda_outputs(ExecutionContext& ctx, DeviceBuffers& dev,
                                             const std::vector<float>& x, int64_t batch,
                                             Status* status, bool workspace = false,
                                             void* fixed = nullptr, int64_t fixed_bytes = 0) {
  TensorView in{dev.upload(x), DType::kF32, {batch, 5}};
  std::vector<TensorView> outs;
  for (int k = 0; k < 2; ++k) {
    outs.push_back(TensorView{dev.alloc(x.size() * sizeof(float), true), DType::kF32, {batch, 5}});
  }
  if (fixed != nullptr) {
    *status = ctx.run(std::span<const TensorView>(&in, 1), outs, dev.stream(), fixed, fixed_bytes);
  } else if (workspace) {
    std::vector<ConcreteShape> shapes = {{batch, 5}};
    int64_t bytes = value_or_fail(ctx.workspace_bytes(shapes));
    void* ws = dev.alloc(static_cast<size_t>(bytes > 0 ? bytes : 1), true);
    *status = ctx.run(std::span<const TensorView>(&in, 1), outs, dev.stream(), ws, bytes);
  } else {
    *status = ctx.run(std::span<const TensorView>(&in, 1), outs, dev.stream());
  }
  if (!status->ok()) return {};
  return {dev.download(outs[0].data, x.size()), dev.download(outs[1].data, x.size())};
}

void check_against_cpu(ExecutionContext& ctx, DeviceBuffers& dev, int64_t batch, uint64_t seed,
                       bool workspace = false, void* fixed = nullptr, int64_t fixed_bytes = 0) {
  std::vector<float> x = random_floats(static_cast<size_t>(batch) * 5, seed);
  Status s;
  std::vector<std::vector<float>> got =
      cuda_outputs(ctx, dev, x, batch, &s, workspace, fixed, fixed_bytes);
  ASSERT_TRUE(s.ok()) << s.to_string();
  std::vector<std::vector<float>> want = cpu_outputs(x, batch);
  int positive = 0;
  for (float v : want[0]) positive += v > 0;
  ASSERT_GT(positive, 0);  // relu must not zero everything: the comparison would be weak
  expect_same(got[0], want[0], str_cat("output y, batch ", batch));
  expect_same(got[1], want[1], str_cat("output m, batch ", batch));
}

TEST(CudaRuntimeTest, MatchesTheCpuEngine) {
  SKIP_WITHOUT_CUDA_DEVICE();
  std::shared_ptr<const Engine> engine = built_engine(DeviceKind::kCuda);
  ASSERT_EQ(engine->device(), DeviceKind::kCuda);
  ExecutionContext ctx(engine, ExecutionContextOptions{false});
  DeviceBuffers dev;
  for (int64_t batch : {1, 7, 64}) check_against_cpu(ctx, dev, batch, 100 + batch);
}

TEST(CudaRuntimeTest, ConstantsAreUploadedOncePerDevice) {
  SKIP_WITHOUT_CUDA_DEVICE();
  std::shared_ptr<const Engine> engine = built_engine(DeviceKind::kCuda);
  std::span<void* const> first = value_or_fail(engine->device_constants(0));
  std::span<void* const> again = value_or_fail(engine->device_constants(0));
  ASSERT_EQ(first.data(), again.data());
  int constants = 0;
  for (size_t i = 0; i < first.size(); ++i) {
    if (engine->graph().nodes[i].op != OpKind::kConstant) continue;
    ++constants;
    ASSERT_NE(first[i], nullptr);
    std::vector<float> host(kScale.size());
    ASSERT_EQ(cudaMemcpy(host.data(), first[i], host.size() * sizeof(float),
                         cudaMemcpyDeviceToHost),
              cudaSuccess);
    EXPECT_EQ(host, kScale);
  }
  EXPECT_EQ(constants, 1);
}

TEST(CudaRuntimeTest, ConstantsGoIntoTheCallersBlock) {
  SKIP_WITHOUT_CUDA_DEVICE();
  std::shared_ptr<const Engine> engine = built_engine(DeviceKind::kCuda);
  const int64_t bytes = engine->device_constant_bytes();
  EXPECT_EQ(bytes, static_cast<int64_t>(kArenaAlignment));  // 5 floats, at an aligned offset
  int device = 0;
  ASSERT_EQ(cudaGetDevice(&device), cudaSuccess);
  DeviceBuffers dev;
  auto* block = static_cast<uint8_t*>(dev.alloc(static_cast<size_t>(bytes) + 256, true));
  std::vector<float> host(kScale.size());
  // Refused before anything is copied: too small, unaligned, host memory.
  for (Status s : {engine->upload_constants(device, block, bytes - 1, dev.stream()),
                   engine->upload_constants(device, block + 4, bytes, dev.stream()),
                   engine->upload_constants(device, host.data(), bytes, dev.stream())}) {
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.to_string();
  }
  Status ok = engine->upload_constants(device, block, bytes, dev.stream());
  ASSERT_TRUE(ok.ok()) << ok.to_string();
  std::span<void* const> constants = value_or_fail(engine->device_constants(device));
  int found = 0;
  for (size_t i = 0; i < constants.size(); ++i) {
    if (engine->graph().nodes[i].op != OpKind::kConstant) continue;
    ++found;
    EXPECT_EQ(constants[i], block);
    EXPECT_EQ(dev.download(constants[i], kScale.size()), kScale);
  }
  EXPECT_EQ(found, 1);
  Status again = engine->upload_constants(device, block, bytes, dev.stream());
  EXPECT_EQ(again.code(), StatusCode::kInvalidArgument) << again.to_string();
  EXPECT_NE(again.message().find("already"), std::string::npos) << again.message();
  ExecutionContext ctx(engine, ExecutionContextOptions{false});
  check_against_cpu(ctx, dev, 9, 91);
  // The engine goes first; the block is the caller's (DeviceBuffers frees it, once).
}

TEST(CudaRuntimeTest, ArenaGrowsAcrossShapeSignatures) {
  SKIP_WITHOUT_CUDA_DEVICE();
  ExecutionContext ctx(built_engine(DeviceKind::kCuda), ExecutionContextOptions{false});
  DeviceBuffers dev;
  // Small, then a signature that needs a bigger arena, then the small one again on the grown one.
  check_against_cpu(ctx, dev, 2, 1);
  check_against_cpu(ctx, dev, 64, 2);
  check_against_cpu(ctx, dev, 2, 3);
  check_against_cpu(ctx, dev, 33, 4);
}

TEST(CudaRuntimeTest, CallerWorkspaceGivesTheSameResults) {
  SKIP_WITHOUT_CUDA_DEVICE();
  ExecutionContext ctx(built_engine(DeviceKind::kCuda), ExecutionContextOptions{false});
  DeviceBuffers dev;
  for (int64_t batch : {3, 64}) check_against_cpu(ctx, dev, batch, 40 + batch, /*workspace=*/true);
  EXPECT_EQ(ctx.cuda_graphs_captured(), 0);
  // Too small a workspace is refused before anything runs.
  std::vector<float> x = random_floats(10, 5);
  TensorView in{dev.upload(x), DType::kF32, {2, 5}};
  std::vector<TensorView> outs = {{dev.alloc(40, true), DType::kF32, {2, 5}},
                                  {dev.alloc(40, true), DType::kF32, {2, 5}}};
  std::vector<ConcreteShape> shapes = {{2, 5}};
  int64_t bytes = value_or_fail(ctx.workspace_bytes(shapes));
  if (bytes > 0) {
    Status s = ctx.run(std::span<const TensorView>(&in, 1), outs, dev.stream(),
                       dev.alloc(static_cast<size_t>(bytes), false), bytes - 1);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.to_string();
  }
}

TEST(CudaRuntimeTest, CudaGraphsAreKeptPerWorkspaceAddress) {
  SKIP_WITHOUT_CUDA_DEVICE();
  ExecutionContext ctx(built_engine(DeviceKind::kCuda), ExecutionContextOptions{true});
  DeviceBuffers dev;
  std::vector<ConcreteShape> largest = {{64, 5}};
  const int64_t bytes = value_or_fail(ctx.workspace_bytes(largest));
  void* a = dev.alloc(static_cast<size_t>(bytes), true);
  void* b = dev.alloc(static_cast<size_t>(bytes), true);
  // One workspace: a graph per signature, replayed afterwards.
  for (int64_t batch : {64, 4, 4, 64}) {
    check_against_cpu(ctx, dev, batch, 50 + batch, true, a, bytes);
  }
  EXPECT_EQ(ctx.cuda_graphs_captured(), 2);
  // Another workspace captures the signature at b's addresses (poisoned b and a replay of a's
  // graph would give NaN or a's old values: the results are checked); back on a, a's graph.
  check_against_cpu(ctx, dev, 4, 61, true, b, bytes);
  check_against_cpu(ctx, dev, 4, 62, true, b, bytes);
  EXPECT_EQ(ctx.cuda_graphs_captured(), 3);
  check_against_cpu(ctx, dev, 4, 63, true, a, bytes);
  check_against_cpu(ctx, dev, 4, 64, true, b, bytes);
  EXPECT_EQ(ctx.cuda_graphs_captured(), 3);
}

// A poisoned device block of n bytes (at least 1, so that it has an address of its own).
void* block(DeviceBuffers& dev, int64_t n) {
  return dev.alloc(static_cast<size_t>(std::max<int64_t>(n, 1)), true);
}

// run_body, then the body memory overwritten on the stream (as a caching allocator may hand it
// to the next allocation), then run_tail: the results must not depend on the body's bytes. Null
// `body` or `tail`: fresh blocks.
void check_body_then_tail(ExecutionContext& ctx, DeviceBuffers& dev, int64_t batch, uint64_t seed,
                          void* body = nullptr, void* tail = nullptr) {
  std::vector<ConcreteShape> shapes = {{batch, 5}};
  const WorkspaceSizes sizes = value_or_fail(ctx.workspace_sizes(shapes));
  EXPECT_EQ(sizes.body + sizes.tail, value_or_fail(ctx.workspace_bytes(shapes)));
  if (body == nullptr) body = block(dev, sizes.body);
  if (tail == nullptr) tail = block(dev, sizes.tail);
  std::vector<float> x = random_floats(static_cast<size_t>(batch) * 5, seed);
  TensorView in{dev.upload(x), DType::kF32, {batch, 5}};
  std::span<const TensorView> ins(&in, 1);
  std::vector<TensorView> outs;
  for (int k = 0; k < 2; ++k) {
    outs.push_back(TensorView{dev.alloc(x.size() * sizeof(float), true), DType::kF32, {batch, 5}});
  }
  Status s = ctx.run_body(ins, dev.stream(), body, sizes.body, tail, sizes.tail);
  ASSERT_TRUE(s.ok()) << s.to_string();
  if (sizes.body > 0) {
    ASSERT_EQ(cudaMemsetAsync(body, 0xff, static_cast<size_t>(sizes.body), dev.stream()),
              cudaSuccess);
  }
  s = ctx.run_tail(ins, outs, dev.stream(), tail, sizes.tail);
  ASSERT_TRUE(s.ok()) << s.to_string();
  std::vector<std::vector<float>> want = cpu_outputs(x, batch);
  expect_same(dev.download(outs[0].data, x.size()), want[0], str_cat("y, batch ", batch));
  expect_same(dev.download(outs[1].data, x.size()), want[1], str_cat("m, batch ", batch));
}

TEST(CudaRuntimeTest, TheBodysMemoryIsFreeBeforeTheTail) {
  SKIP_WITHOUT_CUDA_DEVICE();
  std::shared_ptr<const Engine> engine = built_engine(DeviceKind::kCuda);
  for (bool graphs : {false, true}) {
    ExecutionContext ctx(engine, ExecutionContextOptions{graphs});
    DeviceBuffers dev;
    std::vector<ConcreteShape> shapes = {{64, 5}};
    const WorkspaceSizes sizes = value_or_fail(ctx.workspace_sizes(shapes));
    if (!graphs) {
      // s is the body's, m and a the tail's; y, as large as each, can reuse s's bytes. (With
      // graphs the staged x joins the body, and one region is as good: the plan is not split.)
      EXPECT_EQ(sizes.body, 64 * 5 * 4);
      EXPECT_EQ(sizes.tail, 2 * 64 * 5 * 4);
    } else {
      EXPECT_EQ(sizes.body, 0);
    }
    void* body = block(dev, sizes.body);
    void* tail = block(dev, sizes.tail);
    for (int64_t batch : {64, 3, 64, 3}) {
      check_body_then_tail(ctx, dev, batch, 80 + batch, body, tail);
    }
    EXPECT_EQ(ctx.cuda_graphs_captured(), graphs ? 2 : 0);  // one per signature
  }
  // Refused before anything runs: too small, unaligned, and a CPU engine.
  ExecutionContext ctx(engine, ExecutionContextOptions{false});
  DeviceBuffers dev;
  std::vector<ConcreteShape> shapes = {{2, 5}};
  const WorkspaceSizes sizes = value_or_fail(ctx.workspace_sizes(shapes));
  ASSERT_GT(sizes.body, 0);
  auto* body = static_cast<uint8_t*>(block(dev, sizes.body + 256));
  auto* tail = static_cast<uint8_t*>(block(dev, sizes.tail + 256));
  std::vector<float> x(10, 1.0f);
  TensorView in{dev.upload(x), DType::kF32, {2, 5}};
  std::span<const TensorView> ins(&in, 1);
  for (Status s : {ctx.run_body(ins, dev.stream(), body, sizes.body - 1, tail, sizes.tail),
                   ctx.run_body(ins, dev.stream(), body, sizes.body, tail + 4, sizes.tail),
                   ctx.run_tail(ins, {}, dev.stream(), tail, sizes.tail)}) {
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.to_string();
  }
  ExecutionContext cpu(built_engine(DeviceKind::kCpu));
  EXPECT_EQ(cpu.run_body(ins, nullptr, body, sizes.body, tail, sizes.tail).code(),
            StatusCode::kInvalidArgument);
  // run_tail only right after a run_body of the same shapes, stream and tail memory: not first,
  // not on other tail memory, not twice.
  std::vector<TensorView> outs;
  for (int k = 0; k < 2; ++k) outs.push_back(TensorView{dev.alloc(40, true), DType::kF32, {2, 5}});
  auto tail_fails = [&](void* at, const char* why) {
    Status s = ctx.run_tail(ins, outs, dev.stream(), at, sizes.tail + 256);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << why;
    EXPECT_NE(s.message().find("run_tail must follow run_body"), std::string::npos) << s.to_string();
  };
  tail_fails(tail, "before any run_body");
  ASSERT_TRUE(ctx.run_body(ins, dev.stream(), body, sizes.body, tail, sizes.tail).ok());
  tail_fails(tail + 256, "on other tail memory");
  tail_fails(tail, "after a failed run_tail");
  ASSERT_TRUE(ctx.run_body(ins, dev.stream(), body, sizes.body, tail, sizes.tail).ok());
  Status s = ctx.run_tail(ins, outs, dev.stream(), tail, sizes.tail);
  ASSERT_TRUE(s.ok()) << s.to_string();
  tail_fails(tail, "twice");
  std::vector<std::vector<float>> want = cpu_outputs(x, 2);
  expect_same(dev.download(outs[0].data, x.size()), want[0], "y after the refusals");
}

TEST(CudaRuntimeTest, MemoryThatMovesOnEveryRunStopsCapturing) {
  SKIP_WITHOUT_CUDA_DEVICE();
  ExecutionContext ctx(built_engine(DeviceKind::kCuda), ExecutionContextOptions{true});
  DeviceBuffers dev;
  // Fresh (poisoned) memory every run: a capture each time, until the signature gives up on
  // graphs; the results stay right throughout.
  for (int run = 0; run < 20; ++run) check_body_then_tail(ctx, dev, 7, 300 + run);
  EXPECT_EQ(ctx.cuda_graphs_captured(), 8);
  // Another signature still uses graphs, on memory that stays put.
  std::vector<ConcreteShape> shapes = {{5, 5}};
  const WorkspaceSizes sizes = value_or_fail(ctx.workspace_sizes(shapes));
  void* body = block(dev, sizes.body);
  void* tail = block(dev, sizes.tail);
  for (int run = 0; run < 3; ++run) check_body_then_tail(ctx, dev, 5, 400 + run, body, tail);
  EXPECT_EQ(ctx.cuda_graphs_captured(), 9);
}

TEST(CudaRuntimeTest, CudaGraphsOnAndOffAgree) {
  SKIP_WITHOUT_CUDA_DEVICE();
  std::shared_ptr<const Engine> engine = built_engine(DeviceKind::kCuda);
  ExecutionContext plain(engine, ExecutionContextOptions{false});
  ExecutionContext graphed(engine, ExecutionContextOptions{true});
  ASSERT_TRUE(graphed.use_cuda_graphs());
  DeviceBuffers dev;
  // The largest signature first, so the arena never grows afterwards (growing drops graphs).
  const std::vector<int64_t> batches = {64, 4, 4, 17, 4, 17, 64};
  for (size_t i = 0; i < batches.size(); ++i) {
    std::vector<float> x = random_floats(static_cast<size_t>(batches[i]) * 5, 70 + i);
    Status a, b;
    std::vector<std::vector<float>> off = cuda_outputs(plain, dev, x, batches[i], &a);
    std::vector<std::vector<float>> on = cuda_outputs(graphed, dev, x, batches[i], &b);
    ASSERT_TRUE(a.ok()) << a.to_string();
    ASSERT_TRUE(b.ok()) << b.to_string();
    ASSERT_EQ(on, off) << "batch " << batches[i];  // the same kernels: bitwise equal
    expect_same(on[0], cpu_outputs(x, batches[i])[0], str_cat("graphed, batch ", batches[i]));
  }
  // One graph per shape signature: 64, 4 and 17, each captured once and replayed afterwards.
  EXPECT_EQ(graphed.cuda_graphs_captured(), 3);
  // relu reads only the arena: the tail, launched after each replay into that call's fresh
  // (poisoned) y buffer; m is read by add, so it is computed in the arena and copied.
  std::vector<ConcreteShape> shapes = {{4, 5}};
  EXPECT_EQ(value_or_fail(graphed.plan_for(shapes))->direct_outputs,
            (std::vector<bool>{true, false}));
  EXPECT_EQ(plain.cuda_graphs_captured(), 0);
}

TEST(CudaRuntimeTest, OneEngineFromManyThreads) {
  SKIP_WITHOUT_CUDA_DEVICE();
  std::shared_ptr<const Engine> engine = built_engine(DeviceKind::kCuda);
  constexpr int kThreads = 4;
  std::vector<std::string> failures(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      int device = 0;
      cudaGetDevice(&device);
      cudaSetDevice(device);
      ExecutionContext ctx(engine, ExecutionContextOptions{t % 2 == 0});
      DeviceBuffers dev;
      for (int i = 0; i < 20 && failures[t].empty(); ++i) {
        const int64_t batch = 1 + (t * 7 + i * 5) % 64;
        std::vector<float> x = random_floats(static_cast<size_t>(batch) * 5, 1000 * t + i);
        Status s;
        std::vector<std::vector<float>> got = cuda_outputs(ctx, dev, x, batch, &s);
        if (!s.ok()) {
          failures[t] = s.to_string();
          break;
        }
        std::vector<std::vector<float>> want = cpu_outputs(x, batch);
        if (got != want) failures[t] = str_cat("thread ", t, " iteration ", i, ": outputs differ");
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], "") << "thread " << t;
}

TEST(CudaRuntimeTest, HostPointersAreRefusedNamingTheTensor) {
  SKIP_WITHOUT_CUDA_DEVICE();
  ExecutionContext ctx(built_engine(DeviceKind::kCuda));
  DeviceBuffers dev;
  std::vector<float> x = random_floats(10, 9), y(10), m(10);
  TensorView host_in{x.data(), DType::kF32, {2, 5}};
  std::vector<TensorView> dev_outs = {{dev.alloc(40, true), DType::kF32, {2, 5}},
                                      {dev.alloc(40, true), DType::kF32, {2, 5}}};
  Status s = ctx.run(std::span<const TensorView>(&host_in, 1), dev_outs, dev.stream());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("input 'x'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("host memory"), std::string::npos) << s.message();

  TensorView dev_in{dev.upload(x), DType::kF32, {2, 5}};
  std::vector<TensorView> host_outs = {{y.data(), DType::kF32, {2, 5}},
                                       {m.data(), DType::kF32, {2, 5}}};
  s = ctx.run(std::span<const TensorView>(&dev_in, 1), host_outs, dev.stream());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("output"), std::string::npos) << s.message();
  // The CPU entry point refuses a CUDA engine.
  s = ctx.run(std::span<const TensorView>(&host_in, 1), host_outs);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("engine runs on cuda"), std::string::npos) << s.message();
}

#endif  // KILN_HAVE_CUDA

}  // namespace
}  // namespace kiln
