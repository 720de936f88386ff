// Pieces the runtime's CPU files (engine.cc, execution_context.cc) share with its CUDA file
// (cuda_runtime.cc, compiled only when KILN_HAVE_CUDA). Nothing here names a CUDA type: handles
// are void*, so the CPU build sees the same layouts.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "kiln/runtime.h"

namespace kiln {

// One device's copy of an engine's constants: one allocation, each constant at an aligned offset.
struct Engine::DeviceWeights {
  int device = -1;
  void* block = nullptr;        // cudaMalloc'd and freed by the destructor, unless borrowed
  bool borrowed = false;        // the caller's memory (Engine::upload_constants): never freed
  std::vector<void*> by_node;   // per node: its constant's device address, or null
  ~DeviceWeights();             // cuda_runtime.cc (a no-op stub without CUDA)
};

// A context's device state, created on its first CUDA run.
struct ExecutionContext::CudaState {
  int device = -1;
  void* arena = nullptr;  // cudaMalloc'd when a run needs more; freed by the destructor
  int64_t arena_bytes = 0;
  void* capture_stream = nullptr;  // private non-blocking stream that graphs are captured on
  void* done_event = nullptr;      // recorded after each run that used the arena
  void* last_stream = nullptr;     // the stream of that run
  bool has_last_run = false;
  // Per plan: its instantiated CUDA graphs (cudaGraphExec_t), one per activation memory (tail and
  // body address) it ran on, the most recently used last, at most kGraphsPerPlan.
  struct Graphed {
    void* tail = nullptr;
    void* body = nullptr;
    void* exec = nullptr;
  };
  static constexpr size_t kGraphsPerPlan = 4;
  // A plan that has captured this often, on more than a quarter of its runs, stops using graphs.
  static constexpr int64_t kCapturesBeforeGivingUp = 8;
  struct PlanGraphs {
    std::vector<Graphed> recent;
    int64_t runs = 0;       // graphed runs
    int64_t captures = 0;
    bool plain = false;     // a capture failed, or the memory moved too often: plain launches
    // The graph for this memory (moved to the back), or null.
    void* find(void* tail, void* body) {
      for (size_t i = 0; i < recent.size(); ++i) {
        if (recent[i].tail != tail || recent[i].body != body) continue;
        Graphed hit = recent[i];
        recent.erase(recent.begin() + static_cast<std::ptrdiff_t>(i));
        recent.push_back(hit);
        return hit.exec;
      }
      return nullptr;
    }
    void add(void* tail, void* body, void* exec);  // drops the least recently used past the cap
    void clear();                                    // destroys the graphs (cuda_runtime.cc)
  };
  std::map<const ExecutionPlan*, PlanGraphs> graphs;
  int64_t graphs_captured = 0;
  ~CudaState();  // cuda_runtime.cc (a no-op stub without CUDA)
};

// Where a run's activation memory is: the plan's tail region (offsets below
// plan.memory.tail_bytes) at `tail`, its body region at `body` (null once released: the tail's
// nodes never touch it). One block of plan.run_bytes is both, the body right after the tail.
struct ArenaBases {
  uint8_t* tail = nullptr;
  uint8_t* body = nullptr;
  int64_t tail_bytes = 0;
  static ArenaBases one_block(uint8_t* base, const ExecutionPlan& plan) {
    return {base, base == nullptr ? nullptr : base + plan.memory.tail_bytes,
            plan.memory.tail_bytes};
  }
  uint8_t* at(int64_t offset) const {
    if (offset < tail_bytes) return tail + offset;
    return body == nullptr ? nullptr : body + (offset - tail_bytes);
  }
};

std::string runtime_node_context(const Graph& g, size_t i);
// Per node: its constant's offset in one device block of all constants (-1 for other nodes);
// `total` gets the block's size. Offsets are aligned to kArenaAlignment.
std::vector<int64_t> runtime_constant_offsets(const Graph& g, int64_t& total);
std::string runtime_input_name(const Graph& g, size_t i);
std::string runtime_output_name(const Graph& g, size_t i);

// One view per graph value: shapes and dtypes from `plan`; data in the arena at `arena` for
// planned values, the caller's `inputs` for graph inputs, `constants[node]` for constant outputs,
// the caller's `outputs` for the plan's direct outputs.
std::vector<TensorView> runtime_bind_values(const Graph& g, const ExecutionPlan& plan,
                                            const ArenaBases& arena,
                                            std::span<const TensorView> inputs,
                                            std::span<void* const> constants,
                                            std::span<const TensorView> outputs);

// Runs nodes [begin, end) of `engine` in order on `values`, passing `stream` to every kernel and
// the plan's kernel scratch in `arena`. Constant nodes launch nothing (their views
// already point at their data).
// `after_node`, if given, is called after each node's kernel is launched (profiling).
Status runtime_run_nodes(const Engine& engine, const ExecutionPlan& plan,
                         std::span<const TensorView> values, const ArenaBases& arena, void* stream,
                         size_t begin, size_t end,
                         const std::function<Status(size_t node)>* after_node = nullptr);

// kernel.workspace_bytes(args); with CUDA, in relaxed stream-capture mode for the calling thread,
// so that a kernel preparing per-shape state (cuDNN plans, which may allocate) works even while the
// caller captures another stream (torch.cuda.graph captures in global mode).
Expected<size_t> runtime_kernel_workspace(const Kernel& kernel, const KernelArgs& args);

}  // namespace kiln
