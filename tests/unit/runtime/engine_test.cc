#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "kiln/runtime.h"
#include "test_graphs.h"

namespace kiln {
namespace {

using testing::mlp_graph;
using testing::reference_contents;
using testing::reference_engine;
using testing::value_or_fail;

TEST(EngineTest, DescribesInputsOutputsAndWeights) {
  std::shared_ptr<const Engine> engine = reference_engine(mlp_graph());
  std::vector<IOInfo> inputs = engine->inputs();
  ASSERT_EQ(inputs.size(), 1u);
  EXPECT_EQ(inputs[0].name, "x");
  EXPECT_EQ(inputs[0].dtype, DType::kF32);
  EXPECT_EQ(inputs[0].shape_text, "[batch, 4] with batch in [1, 8]");
  std::vector<IOInfo> outputs = engine->outputs();
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_EQ(outputs[0].name, "output0");
  EXPECT_EQ(outputs[0].shape_text, "[batch, 3] with batch in [1, 8]");
  EXPECT_EQ(engine->weight_bytes(), (12 + 3) * 4);
  ASSERT_EQ(engine->kernels().size(), engine->graph().nodes.size());
  EXPECT_EQ(engine->kernels()[2]->name, "ref.matmul");
}

TEST(EngineTest, StaticShapesHaveNoRangeText) {
  Graph g;
  ValueId x = graph_add_input(g, "x", TensorType{DType::kF32, {2, 3}});
  ValueId y = value_or_fail(graph_add_node1(g, OpKind::kRelu, {x}, NoAttrs{}));
  g.values[y].name = "activated";
  g.outputs = {y};
  std::shared_ptr<const Engine> engine = reference_engine(std::move(g));
  EXPECT_EQ(engine->inputs()[0].shape_text, "[2, 3]");
  EXPECT_EQ(engine->outputs()[0].name, "activated");
  EXPECT_EQ(engine->weight_bytes(), 0);
}

TEST(EngineTest, RefusesUnknownKernels) {
  EngineContents c = reference_contents(mlp_graph());
  c.kernels[3] = "ref.no_such_kernel";
  Expected<std::shared_ptr<const Engine>> engine = Engine::from_contents(std::move(c));
  ASSERT_FALSE(engine.ok());
  EXPECT_EQ(engine.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(engine.status().message(),
            "node 3 (add, loc \"mlp.py:4\"): kernel 'ref.no_such_kernel' is not in this build of "
            "kiln");
}

TEST(EngineTest, RefusesAKernelForAnotherOp) {
  EngineContents c = reference_contents(mlp_graph());
  c.kernels[4] = "ref.sigmoid";
  Expected<std::shared_ptr<const Engine>> engine = Engine::from_contents(std::move(c));
  ASSERT_FALSE(engine.ok());
  EXPECT_EQ(engine.status().message(),
            "node 4 (relu, loc \"mlp.py:5\"): kernel 'ref.sigmoid' runs sigmoid, not relu");
}

TEST(EngineTest, RefusesAMissingKernelChoice) {
  EngineContents c = reference_contents(mlp_graph());
  c.kernels.pop_back();
  Expected<std::shared_ptr<const Engine>> engine = Engine::from_contents(std::move(c));
  ASSERT_FALSE(engine.ok());
  EXPECT_EQ(engine.status().message(), "engine has 5 nodes but 4 kernel choices");
}

TEST(EngineTest, RefusesCudaEnginesItCannotRun) {
  EngineContents c = reference_contents(mlp_graph());
  c.device = DeviceKind::kCuda;
  Expected<std::shared_ptr<const Engine>> engine = Engine::from_contents(std::move(c));
  ASSERT_FALSE(engine.ok());
  if (KILN_HAVE_CUDA) {  // a CUDA build loads CUDA engines, but not with CPU kernels in them
    EXPECT_EQ(engine.status().message(),
              "node 0 (constant): kernel 'ref.constant' is a cpu kernel but the engine is for "
              "cuda");
  } else {
    EXPECT_EQ(engine.status().code(), StatusCode::kUnsupported);
    EXPECT_EQ(engine.status().message(),
              "engine was built for cuda but this kiln has no CUDA backend");
  }
}

TEST(EngineTest, RoundTripsThroughBytesAndFiles) {
  EngineContents c = reference_contents(mlp_graph());
  std::vector<uint8_t> bytes = value_or_fail(write_engine(c));
  std::shared_ptr<const Engine> engine = value_or_fail(Engine::from_bytes(bytes));
  EXPECT_EQ(engine->inputs()[0].shape_text, "[batch, 4] with batch in [1, 8]");
  EXPECT_EQ(engine->weight_bytes(), (12 + 3) * 4);
  EXPECT_EQ(engine->kernels()[4]->name, "ref.relu");

  std::string path = ::testing::TempDir() + "engine_test.kiln";
  ASSERT_TRUE(write_file_bytes(path, bytes).ok());
  std::shared_ptr<const Engine> from_file = value_or_fail(Engine::from_file(path));
  EXPECT_EQ(from_file->graph().nodes.size(), 5u);
  std::remove(path.c_str());
}

TEST(EngineTest, FileErrorsNameTheFile) {
  std::string path = ::testing::TempDir() + "engine_test_garbage.kiln";
  {
    std::ofstream out(path, std::ios::binary);
    out << "this is not an engine file, not even close to one, but long enough for a header....";
  }
  Expected<std::shared_ptr<const Engine>> engine = Engine::from_file(path);
  ASSERT_FALSE(engine.ok());
  EXPECT_EQ(engine.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(engine.status().message().rfind(path + ": ", 0), 0u) << engine.status().message();
  std::remove(path.c_str());

  Expected<std::shared_ptr<const Engine>> missing = Engine::from_file(path);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kIoError);
  EXPECT_NE(missing.status().message().find(path), std::string::npos);
}

}  // namespace
}  // namespace kiln
