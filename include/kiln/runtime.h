// The kiln runtime C++ API: load an engine file and run it on caller-owned buffers. No Python, no
// torch; link libkiln_runtime. A minimal program:
//
//   auto engine = kiln::Engine::from_file("model.kiln");          // Expected<shared_ptr<const Engine>>
//   kiln::ExecutionContext ctx(*engine);
//   auto shapes = ctx.infer_output_shapes({{1, 3, 224, 224}});     // checks ranges, dtypes later
//   ... allocate outputs of those shapes ...
//   kiln::Status s = ctx.run(inputs, outputs);
//
// An Engine is immutable and may be shared by any number of threads; each thread (or CUDA stream)
// uses its own ExecutionContext. Errors name the input and what was allowed.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "kiln/engine/engine_file.h"
#include "kiln/kernels/kernel.h"
#include "kiln/runtime/memory_plan.h"
#include "kiln/support/status.h"

namespace kiln {

struct IOInfo {
  std::string name;
  DType dtype;
  Shape shape;             // symbolic
  std::string shape_text;  // "[batch, 3, 224, 224] with batch in [1, 32]"
};

class Engine {
 public:
  static Expected<std::shared_ptr<const Engine>> from_bytes(std::span<const uint8_t> bytes);
  static Expected<std::shared_ptr<const Engine>> from_file(const std::string& path);
  // Takes an in-memory engine (from the builder) without serializing.
  static Expected<std::shared_ptr<const Engine>> from_contents(EngineContents contents);

  const EngineContents& contents() const { return contents_; }
  const Graph& graph() const { return contents_.graph; }
  DeviceKind device() const { return contents_.device; }
  std::vector<IOInfo> inputs() const;
  std::vector<IOInfo> outputs() const;
  // The kernel chosen for each node (same order as graph().nodes).
  const std::vector<const Kernel*>& kernels() const { return kernels_; }
  int64_t weight_bytes() const;

 private:
  Engine() = default;
  EngineContents contents_;
  std::vector<const Kernel*> kernels_;
};

// What the runtime computed for one input-shape signature; cached per signature.
struct ExecutionPlan {
  std::vector<int64_t> symbol_values;
  std::vector<TensorType> types;  // per value, concrete
  MemoryPlan memory;
};

class ExecutionContext {
 public:
  explicit ExecutionContext(std::shared_ptr<const Engine> engine);

  // Output shapes for these input shapes; fails naming the input if a rank, a static dim or a
  // symbol's range does not fit.
  Expected<std::vector<ConcreteShape>> infer_output_shapes(std::span<const ConcreteShape> inputs);
  // Runs the engine. Inputs and outputs are contiguous, in graph order, with the engine's dtypes;
  // output shapes must equal infer_output_shapes'. Outputs are written, never read.
  Status run(std::span<const TensorView> inputs, std::span<const TensorView> outputs);
  // The plan for these input shapes (built and cached on first use).
  Expected<const ExecutionPlan*> plan_for(std::span<const ConcreteShape> inputs);

  const Engine& engine() const { return *engine_; }

 private:
  std::shared_ptr<const Engine> engine_;
  std::map<std::vector<int64_t>, std::unique_ptr<ExecutionPlan>> plans_;
  std::vector<uint8_t> arena_;
};

}  // namespace kiln
