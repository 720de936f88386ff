// The kiln runtime C++ API: load an engine file and run it on caller-owned buffers. No Python, no
// torch; link libkiln_runtime. A minimal program:
//
//   auto engine = kiln::Engine::from_file("model.kiln");          // Expected<shared_ptr<const Engine>>
//   kiln::ExecutionContext ctx(*engine);
//   auto shapes = ctx.infer_output_shapes({{1, 3, 224, 224}});     // checks ranges, dtypes later
//   ... allocate outputs of those shapes ...
//   kiln::Status s = ctx.run(inputs, outputs);                     // CPU engine, host buffers
//   kiln::Status s = ctx.run(inputs, outputs, stream);             // CUDA engine, device buffers
//
// An Engine is immutable and may be shared by any number of threads; each thread (or CUDA stream)
// uses its own ExecutionContext. Errors name the input and what was allowed. docs/runtime.md says
// who owns which memory, which stream work goes to, and how CUDA graphs are used.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
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
  // The value of metadata `key` ("" when absent).
  std::string_view metadata(std::string_view key) const;

  // CUDA engines: the device copy of every constant node's data on CUDA device `device`, indexed
  // by node (null for other nodes). Uploaded once per device on first use (thread-safe; callers on
  // other threads wait) into memory the engine allocates (cudaMalloc), kept until the Engine is
  // destroyed, unless upload_constants placed it first. Allowed while the calling thread's stream
  // is being captured into a CUDA graph (the upload leaves the capture alone).
  Expected<std::span<void* const>> device_constants(int device) const;
  // Bytes of device memory one device's copy of the constants takes (each at a 256-byte aligned
  // offset of one block).
  int64_t device_constant_bytes() const;
  // Uploads the constants for CUDA device `device` into the caller's `block` (device memory of that
  // device, at least device_constant_bytes() bytes, 256-byte aligned), queued on `stream`, which it
  // then synchronizes; the engine does not own the block, which must stay valid, and unused by
  // anything else, while the Engine lives. Lets a host framework hold the weights in its own
  // allocator (kiln's torch op does: they then count in torch's memory statistics). Fails if that
  // device's constants are already uploaded or `stream` is being captured.
  Status upload_constants(int device, void* block, int64_t bytes, void* stream) const;

  ~Engine();

 private:
  struct DeviceWeights;  // one device's copy of the constants (src/runtime/internal.h)
  // Into `block` on `stream` when given, else into a cudaMalloc'd block on a private stream.
  static Expected<std::unique_ptr<DeviceWeights>> upload_constants(const Graph& g, int device,
                                                                   void* block, void* stream);
  Engine() = default;
  EngineContents contents_;
  std::vector<const Kernel*> kernels_;
  mutable std::mutex device_weights_mutex_;
  mutable std::map<int, std::unique_ptr<DeviceWeights>> device_weights_;
};

// What the runtime computed for one input-shape signature; cached per signature.
struct ExecutionPlan {
  std::vector<int64_t> symbol_values;
  std::vector<TensorType> types;     // per value, concrete
  std::vector<ConcreteShape> shapes;  // per value, the same shapes as plain integers
  MemoryPlan memory;
  // Per value: the value whose bytes it is (a reshape's output is its input's bytes, and the reshape
  // launches nothing), or kNoValue.
  std::vector<ValueId> alias_of;
  // Per node: the scratch its kernel asked for (Kernel::workspace_bytes), placed in the arena like
  // a value that lives while the node runs (memory.scratch_offsets).
  std::vector<int64_t> scratch_bytes;
  // The arena a run needs: activations, scratch and staging.
  int64_t run_bytes = 0;
  // With CUDA graphs, replay reads inputs from fixed addresses: one staging buffer per graph input,
  // at these arena offsets, planned like values that live until their last reader; empty otherwise.
  std::vector<int64_t> staging_offsets;
  // Per graph output: whether its node writes it straight into the caller's buffer (no arena
  // bytes, no copy), else it is computed in the arena and copied out. Direct outputs are those of
  // the tail: the nodes from `tail_begin` on, each of which writes an output that no node reads,
  // that is no other output's bytes, from inputs none of which is a graph input's bytes (so a
  // caller's output buffer may be one of its input buffers). With CUDA graphs, the graph holds the
  // nodes before the tail, and the tail (usually one node: a classifier or LM head) is launched
  // after each replay, on the caller's buffers.
  std::vector<bool> direct_outputs;
  size_t tail_begin = 0;
};

// The activation memory of a run in two halves (ExecutionContext::run_body, run_tail): the body's
// is needed until run_body's work has finished on the stream, the tail's until run_tail's has.
struct WorkspaceSizes {
  int64_t body = 0;
  int64_t tail = 0;
};

struct ArenaBases;  // where a run's activations are (src/runtime/internal.h)

struct ExecutionContextOptions {
  // CUDA engines: capture each input-shape signature's kernel launches as a CUDA graph on its
  // first run and replay the graph on later runs. Unset: on when the engine's metadata has
  // use_cuda_graphs=1 (or true), else off. Ignored for CPU engines and for runs on a stream that
  // is itself being captured (the caller's graph already holds the launches). A graph holds the
  // activation memory's addresses: a run on other memory (a grown arena, a different caller
  // workspace) captures another, and each signature keeps graphs for a few recent addresses.
  std::optional<bool> use_cuda_graphs;
};

class ExecutionContext {
 public:
  explicit ExecutionContext(std::shared_ptr<const Engine> engine,
                            ExecutionContextOptions options = {});
  ~ExecutionContext();
  ExecutionContext(const ExecutionContext&) = delete;
  ExecutionContext& operator=(const ExecutionContext&) = delete;

  // Output shapes for these input shapes; fails naming the input if a rank, a static dim or a
  // symbol's range does not fit.
  Expected<std::vector<ConcreteShape>> infer_output_shapes(std::span<const ConcreteShape> inputs);
  // Runs a CPU engine. Inputs and outputs are contiguous host buffers, in graph order, with the
  // engine's dtypes; output shapes must equal infer_output_shapes'. Outputs are written, never
  // read.
  Status run(std::span<const TensorView> inputs, std::span<const TensorView> outputs);

  // Runs a CUDA engine on the current CUDA device. Inputs and outputs are as above but in memory
  // of that device; `stream` is a cudaStream_t (null: the legacy default stream, which kiln uses
  // only when the caller passes it). All work is queued on `stream`: the call returns once it is
  // queued, without synchronizing; the outputs are ready when `stream` reaches this point. The
  // context's own device arena holds the activations (grown when a bigger shape signature needs
  // more, kept between runs). Consecutive runs of one context on different streams are ordered by
  // the context (the new stream waits for the previous run).
  Status run(std::span<const TensorView> inputs, std::span<const TensorView> outputs,
             void* stream);
  // As above, with the activations in `workspace` (device memory of at least workspace_bytes()
  // for these input shapes, 256-byte aligned, not used by anything else until `stream` has
  // finished this run). The context allocates nothing on the device here, so the call may be
  // captured into a CUDA graph by the caller (torch.cuda.graph) once the engine's constants are
  // uploaded (device_constants). With the context's CUDA graphs on, a workspace at a new address
  // captures the signature's graph again (see run_body).
  Status run(std::span<const TensorView> inputs, std::span<const TensorView> outputs, void* stream,
             void* workspace, int64_t workspace_bytes);
  // Runs a CUDA engine as run(inputs, outputs, stream) does, but with plain launches (no CUDA
  // graph) and a CUDA event after every node; waits for the run and returns each node's GPU time
  // in milliseconds, by node index (0 for constants). For finding slow kernels, not for timing.
  Expected<std::vector<double>> profile(std::span<const TensorView> inputs,
                                        std::span<const TensorView> outputs, void* stream);
  // Device workspace bytes that run(..., workspace, ...) needs for these input shapes.
  Expected<int64_t> workspace_bytes(std::span<const ConcreteShape> inputs);

  // run(inputs, outputs, stream, workspace, workspace_bytes) in two calls, so that the caller can
  // give the body's memory back to its allocator before it allocates the outputs: the peak is then
  // the tail's memory plus the larger of the body's and the outputs', not the sum of all three.
  // run_body queues every node before the tail (ExecutionPlan::tail_begin; with CUDA graphs, the
  // replay of the signature's graph for these two addresses, captured on first use). run_tail,
  // called next on the same stream with the same inputs and tail memory, queues the tail and the
  // copies into `outputs`; the body memory may be reused by then by work queued after run_body on
  // the stream. Each block is device memory of at least workspace_sizes(), 256-byte aligned.
  // A run_tail that does not follow a run_body of the same input shapes, stream and tail memory
  // (it would read values nothing wrote) fails before it queues anything. Graphs are kept for the
  // few most recent address pairs of each signature; one whose memory moves on most calls runs
  // with plain launches.
  Expected<WorkspaceSizes> workspace_sizes(std::span<const ConcreteShape> inputs);
  Status run_body(std::span<const TensorView> inputs, void* stream, void* body,
                  int64_t body_bytes, void* tail, int64_t tail_bytes);
  Status run_tail(std::span<const TensorView> inputs, std::span<const TensorView> outputs,
                  void* stream, void* tail, int64_t tail_bytes);

  // The plan for these input shapes (built and cached on first use).
  Expected<const ExecutionPlan*> plan_for(std::span<const ConcreteShape> inputs);

  const Engine& engine() const { return *engine_; }
  bool use_cuda_graphs() const { return use_cuda_graphs_; }
  // How many CUDA graphs this context has captured and instantiated (one per shape signature).
  int64_t cuda_graphs_captured() const;

 private:
  struct CudaState;  // device arena, CUDA graphs, events (src/runtime/internal.h)
  // Checks the count, dtypes and null pointers of inputs; the plan for their shapes.
  Expected<const ExecutionPlan*> check_inputs(std::span<const TensorView> inputs);
  // Checks the count, dtypes, shapes and null pointers of outputs against the plan.
  Status check_outputs(const ExecutionPlan& plan, std::span<const TensorView> outputs);
  Expected<const ExecutionPlan*> check_io(std::span<const TensorView> inputs,
                                          std::span<const TensorView> outputs);
  // Checks a caller's activation block of `bytes` (null allowed only when `needed` is 0).
  static Status check_workspace(const char* what, void* block, int64_t bytes, int64_t needed);
  enum class Phase { kAll, kBody, kTail };
  // `arena`: the caller's activation memory, else (null) the context's own arena (kAll only).
  // `node_ms`: profile (see profile()).
  Status run_cuda(const ExecutionPlan& plan, std::span<const TensorView> inputs,
                  std::span<const TensorView> outputs, void* stream, Phase phase,
                  const ArenaBases* arena, std::vector<double>* node_ms = nullptr);

  std::shared_ptr<const Engine> engine_;
  bool use_cuda_graphs_ = false;
  std::map<std::vector<int64_t>, std::unique_ptr<ExecutionPlan>> plans_;
  std::vector<uint8_t> arena_;
  std::unique_ptr<CudaState> cuda_;
  // What the last successful run_body left for run_tail: its plan, stream and tail memory.
  struct PendingTail {
    const ExecutionPlan* plan = nullptr;
    void* stream = nullptr;
    void* tail = nullptr;
  };
  std::optional<PendingTail> pending_tail_;
};

// One engine's ExecutionContext::profile() times, for profile_report.
struct EngineProfile {
  std::string name;             // how the report names the engine
  const Engine* engine = nullptr;
  std::vector<double> node_ms;  // by node index, as profile() returns them
};

// The report `kiln run --profile` and kiln.runtime.profile print: GPU ms per engine, then per
// kernel over every engine (ms, nodes), then the `top` slowest nodes (engine, index, op, kernel,
// output type, source location). Constants are left out.
std::string profile_report(std::span<const EngineProfile> runs, size_t top);

}  // namespace kiln
