// The CUDA half of the runtime (compiled only when KILN_HAVE_CUDA): uploading an engine's constants
// to a device, the device arena of an ExecutionContext, runs on the caller's stream, and CUDA graph
// capture and replay per input-shape signature. docs/runtime.md describes the ownership rules.
//
// Every CUDA call is checked into a Status naming it. Nothing here synchronizes the device or uses
// the legacy default stream on its own: uploads go through a private non-blocking stream that is
// synchronized alone, runs queue everything on the caller's stream, and graphs are captured on a
// private stream (capture only records, it runs nothing).
//
// Deliberately not here: the kernels (src/kernels/cuda), choosing them (the builder), and freeing
// memory stream-ordered in destructors (a destructor has no stream that is sure to still exist,
// so it uses cudaFree, which waits for work still using the memory).
#if KILN_HAVE_CUDA

#include <cuda_runtime.h>

#include <cstdio>
#include <functional>
#include <utility>

#include "../kernels/cuda/check.h"
#include "internal.h"

namespace kiln {
namespace {

cudaStream_t as_stream(void* s) { return static_cast<cudaStream_t>(s); }

// Makes the calling thread's stream capture mode relaxed for its lifetime, so that allocations
// and synchronous uploads are allowed while another stream of this thread is being captured
// (torch.cuda.graph captures in global mode).
class RelaxedCaptureMode {
 public:
  RelaxedCaptureMode() { ok_ = cudaThreadExchangeStreamCaptureMode(&mode_) == cudaSuccess; }
  ~RelaxedCaptureMode() {
    if (ok_) cudaThreadExchangeStreamCaptureMode(&mode_);
  }

 private:
  cudaStreamCaptureMode mode_ = cudaStreamCaptureModeRelaxed;
  bool ok_ = false;
};

// Fails unless `ptr` is memory that kernels on CUDA device `device` can read (device or managed
// memory of that device); `what` names the tensor ("input 'x'").
Status check_device_pointer(const void* ptr, int device, const std::string& what) {
  cudaPointerAttributes attrs{};
  cudaError_t e = cudaPointerGetAttributes(&attrs, ptr);
  if (e != cudaSuccess) {
    cudaGetLastError();  // clear the sticky-free error so the next call does not see it
    return invalid_argument(what, " is not CUDA memory (cudaPointerGetAttributes: ",
                            cudaGetErrorString(e), ")");
  }
  if (attrs.type == cudaMemoryTypeHost || attrs.type == cudaMemoryTypeUnregistered) {
    return invalid_argument(what, " is in host memory; this engine runs on cuda:", device,
                            " and takes device pointers");
  }
  if (attrs.type == cudaMemoryTypeDevice && attrs.device != device) {
    return invalid_argument(what, " is on cuda:", attrs.device, " but this run is on cuda:",
                            device, " (the current device)");
  }
  return ok_status();
}

// Whether `stream` is being captured into a CUDA graph right now.
Expected<bool> is_capturing(cudaStream_t stream) {
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  KILN_CUDA_RETURN_IF_ERROR(cudaStreamIsCapturing(stream, &status));
  if (status == cudaStreamCaptureStatusInvalidated) {
    return invalid_argument("the stream's CUDA graph capture was invalidated before this run");
  }
  return status == cudaStreamCaptureStatusActive;
}

// Runs the nodes with an event after each and fills `node_ms` (waits for the stream).
Status profile_nodes(const Engine& engine, const ExecutionPlan& plan,
                     std::span<const TensorView> views, const ArenaBases& arena,
                     cudaStream_t stream, std::vector<double>& node_ms) {
  const size_t n = engine.graph().nodes.size();
  std::vector<cudaEvent_t> events(n + 1, nullptr);
  Status status = [&]() -> Status {
    for (cudaEvent_t& e : events) KILN_CUDA_RETURN_IF_ERROR(cudaEventCreate(&e));
    KILN_CUDA_RETURN_IF_ERROR(cudaEventRecord(events[0], stream));
    std::vector<size_t> after(n, 0);  // the event that closes each node's interval
    size_t last = 0;
    std::function<Status(size_t)> mark = [&](size_t i) -> Status {
      after[i] = i + 1;
      last = i + 1;
      return cuda_status(cudaEventRecord(events[i + 1], stream), "cudaEventRecord");
    };
    KILN_RETURN_IF_ERROR(runtime_run_nodes(engine, plan, views, arena, stream, 0, n, &mark));
    KILN_CUDA_RETURN_IF_ERROR(cudaEventSynchronize(events[last]));
    size_t previous = 0;
    for (size_t i = 0; i < n; ++i) {
      if (after[i] == 0) continue;  // constants launch nothing
      float ms = 0;
      KILN_CUDA_RETURN_IF_ERROR(cudaEventElapsedTime(&ms, events[previous], events[after[i]]));
      node_ms[i] = ms;
      previous = after[i];
    }
    return ok_status();
  }();
  for (cudaEvent_t e : events) {
    if (e != nullptr) cudaEventDestroy(e);
  }
  return status;
}

}  // namespace

Expected<size_t> runtime_kernel_workspace(const Kernel& kernel, const KernelArgs& args) {
  RelaxedCaptureMode relaxed;
  return kernel.workspace_bytes(args);
}

// ---- Engine constants ---------------------------------------------------------------------------

Engine::DeviceWeights::~DeviceWeights() {
  if (block == nullptr || borrowed) return;
  int previous = -1;
  const bool switched = cudaGetDevice(&previous) == cudaSuccess && previous != device &&
                        cudaSetDevice(device) == cudaSuccess;
  cudaFree(block);  // waits for kernels still reading the weights
  if (switched) cudaSetDevice(previous);
}

Expected<std::unique_ptr<Engine::DeviceWeights>> Engine::upload_constants(const Graph& g,
                                                                          int device, void* block,
                                                                          void* stream) {
  // 1. One block for all constants, each at an aligned offset: the caller's, or cudaMalloc'd.
  auto weights = std::make_unique<DeviceWeights>();
  weights->device = device;
  weights->by_node.assign(g.nodes.size(), nullptr);
  weights->borrowed = block != nullptr;
  int64_t total = 0;
  const std::vector<int64_t> offsets = runtime_constant_offsets(g, total);
  if (total == 0) return weights;
  if (block != nullptr) {  // the caller's stream must not be capturing: the copies would be recorded
    KILN_ASSIGN_OR_RETURN(bool capturing, is_capturing(as_stream(stream)));
    if (capturing) {
      return invalid_argument("cannot upload constants into the caller's memory while its stream "
                              "is being captured");
    }
  }
  RelaxedCaptureMode relaxed;  // (another thread's capture in global mode forbids these calls)
  if (block != nullptr) {
    KILN_RETURN_IF_ERROR(check_device_pointer(block, device, "the constants' block"));
  }
  int previous = -1;
  KILN_CUDA_RETURN_IF_ERROR(cudaGetDevice(&previous));
  if (previous != device) KILN_CUDA_RETURN_IF_ERROR(cudaSetDevice(device));
  // 2. Copy on the caller's stream (work it queued before may still use the block: a caching
  //    allocator hands out memory stream-ordered), or on a private non-blocking stream; then wait
  //    for that stream alone.
  Status status = [&]() -> Status {
    cudaStream_t upload = as_stream(stream);
    if (block == nullptr) {
      KILN_CUDA_RETURN_IF_ERROR(cudaMalloc(&weights->block, static_cast<size_t>(total)));
      KILN_CUDA_RETURN_IF_ERROR(cudaStreamCreateWithFlags(&upload, cudaStreamNonBlocking));
    } else {
      weights->block = block;
    }
    Status copied = ok_status();
    for (size_t i = 0; i < g.nodes.size() && copied.ok(); ++i) {
      if (offsets[i] < 0) continue;
      const auto& data = g.nodes[i].attrs_as<ConstantAttrs>().data;
      void* dst = static_cast<uint8_t*>(weights->block) + offsets[i];
      weights->by_node[i] = dst;
      if (data.size == 0) continue;
      copied = cuda_status(
          cudaMemcpyAsync(dst, data.data(), data.size, cudaMemcpyHostToDevice, upload),
          "cudaMemcpyAsync(constant, host to device)");
    }
    Status synced = cuda_status(cudaStreamSynchronize(upload), "cudaStreamSynchronize(upload)");
    if (block == nullptr) cudaStreamDestroy(upload);
    KILN_RETURN_IF_ERROR(copied);
    return synced;
  }();
  if (previous != device) cudaSetDevice(previous);
  if (!status.ok()) {
    return status.with_context(str_cat("uploading ", total, " bytes of constants to cuda:",
                                       device));
  }
  return weights;
}

// ---- ExecutionContext on CUDA -------------------------------------------------------------------

ExecutionContext::CudaState::~CudaState() {
  int previous = -1;
  const bool switched = device >= 0 && cudaGetDevice(&previous) == cudaSuccess &&
                        previous != device && cudaSetDevice(device) == cudaSuccess;
  for (auto& [plan, plan_graphs] : graphs) plan_graphs.clear();
  if (arena != nullptr) cudaFree(arena);  // waits for work still using the arena
  if (done_event != nullptr) cudaEventDestroy(static_cast<cudaEvent_t>(done_event));
  if (capture_stream != nullptr) cudaStreamDestroy(as_stream(capture_stream));
  if (switched) cudaSetDevice(previous);
}

void ExecutionContext::CudaState::PlanGraphs::clear() {
  for (const Graphed& g : recent) {  // an in-flight graph is freed when it finishes
    cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(g.exec));
  }
  recent.clear();
}

void ExecutionContext::CudaState::PlanGraphs::add(void* tail, void* body, void* exec) {
  if (recent.size() >= kGraphsPerPlan) {
    cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(recent.front().exec));
    recent.erase(recent.begin());
  }
  recent.push_back(Graphed{tail, body, exec});
}

namespace {

// Captures nodes [0, plan.tail_begin) on `capture_stream` and instantiates them; null `exec` and
// the error on failure.
Status capture_body(const Engine& engine, const ExecutionPlan& plan,
                    std::span<const TensorView> views, const ArenaBases& arena,
                    cudaStream_t capture_stream, cudaGraphExec_t* exec) {
  cudaGraph_t graph = nullptr;
  *exec = nullptr;
  Status captured = [&]() -> Status {
    KILN_CUDA_RETURN_IF_ERROR(
        cudaStreamBeginCapture(capture_stream, cudaStreamCaptureModeThreadLocal));
    Status ran = runtime_run_nodes(engine, plan, views, arena, capture_stream, 0, plan.tail_begin);
    cudaError_t ended = cudaStreamEndCapture(capture_stream, &graph);
    KILN_RETURN_IF_ERROR(ran);
    KILN_CUDA_RETURN_IF_ERROR(ended);
    KILN_CUDA_RETURN_IF_ERROR(cudaGraphInstantiate(exec, graph, 0));
    return ok_status();
  }();
  if (graph != nullptr) cudaGraphDestroy(graph);
  if (!captured.ok()) {
    cudaGetLastError();  // a failed capture may leave a launch error behind
    *exec = nullptr;
  }
  return captured;
}

}  // namespace

Status ExecutionContext::run_cuda(const ExecutionPlan& plan, std::span<const TensorView> inputs,
                                  std::span<const TensorView> outputs, void* stream_handle,
                                  Phase phase, const ArenaBases* caller_arena,
                                  std::vector<double>* node_ms) {
  const Graph& g = engine_->graph();
  const cudaStream_t stream = as_stream(stream_handle);
  const bool body_phase = phase != Phase::kTail;
  const bool tail_phase = phase != Phase::kBody;

  // 1. The device: the current one, the same for every run of this context.
  int device = -1;
  KILN_CUDA_RETURN_IF_ERROR(cudaGetDevice(&device));
  if (!cuda_) cuda_ = std::make_unique<CudaState>();
  CudaState& state = *cuda_;
  if (state.device >= 0 && state.device != device) {
    return invalid_argument("this execution context runs on cuda:", state.device,
                            " but the current device is cuda:", device);
  }
  state.device = device;

  // 2. Every caller pointer must be memory of that device (queried in relaxed capture mode: the
  //    query runs nothing, and torch captures in global mode).
  {
    RelaxedCaptureMode relaxed;
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (inputs[i].numel() == 0) continue;
      KILN_RETURN_IF_ERROR(check_device_pointer(
          inputs[i].data, device, str_cat("input '", runtime_input_name(g, i), "'")));
    }
    for (size_t i = 0; i < outputs.size(); ++i) {
      if (outputs[i].numel() == 0) continue;
      KILN_RETURN_IF_ERROR(check_device_pointer(
          outputs[i].data, device, str_cat("output '", runtime_output_name(g, i), "'")));
    }
    if (caller_arena != nullptr && plan.memory.tail_bytes != 0) {
      KILN_RETURN_IF_ERROR(check_device_pointer(
          caller_arena->tail, device, phase == Phase::kAll ? "workspace" : "tail workspace"));
    }
    if (caller_arena != nullptr && phase == Phase::kBody &&
        plan.run_bytes != plan.memory.tail_bytes) {
      KILN_RETURN_IF_ERROR(check_device_pointer(caller_arena->body, device, "body workspace"));
    }
  }

  // 3. The constants (uploaded once per engine and device) and whether the caller is capturing.
  KILN_ASSIGN_OR_RETURN(std::span<void* const> constants, engine_->device_constants(device));
  KILN_ASSIGN_OR_RETURN(bool capturing, is_capturing(stream));
  if (node_ms != nullptr && capturing) {
    return invalid_argument("cannot profile while the stream is being captured");
  }
  // (A graph of no nodes would hold nothing: every node is in the tail, launched after it.)
  const bool graphed = use_cuda_graphs_ && !capturing && node_ms == nullptr && plan.tail_begin > 0;

  // 4. The activation memory: the caller's, or the context's arena. Work of the previous run on
  //    another stream may still use the arena: this stream waits for it first (not while
  //    capturing: a capture may not wait on an event recorded outside it; the caller orders that).
  ArenaBases arena;
  if (caller_arena != nullptr) {
    arena = *caller_arena;
  } else {
    if (state.has_last_run && state.last_stream != stream_handle && !capturing) {
      KILN_CUDA_RETURN_IF_ERROR(
          cudaStreamWaitEvent(stream, static_cast<cudaEvent_t>(state.done_event), 0));
    }
    const int64_t needed = plan.run_bytes;
    if (state.arena_bytes < needed) {
      if (capturing) {
        return invalid_argument(
            "the activation arena must grow to ", needed, " bytes, which cannot happen while the "
            "stream is being captured: run these input shapes once before capturing, or pass a "
            "workspace");
      }
      // cudaFree waits for the work still using the old arena (graphs that hold its addresses
      // stay cached: they replay only on memory at those addresses). cudaMalloc, not the
      // stream-ordered allocator: its pool hands out physical memory in 32 MiB steps (a 36 MiB
      // arena took 64 MiB on H200, 2026-11-27), which put kiln above eager's peak. Growing thus
      // synchronizes the device, once per larger input-shape signature; runs never do. Relaxed
      // capture mode: another thread's capture in global mode would forbid cudaMalloc/cudaFree.
      RelaxedCaptureMode relaxed;
      if (state.arena != nullptr) {
        KILN_CUDA_RETURN_IF_ERROR(cudaFree(state.arena));
        state.arena = nullptr;
        state.arena_bytes = 0;
      }
      KILN_CUDA_RETURN_IF_ERROR(cudaMalloc(&state.arena, static_cast<size_t>(needed)));
      state.arena_bytes = needed;
    }
    arena = ArenaBases::one_block(static_cast<uint8_t*>(state.arena), plan);
  }

  // 5. The body's graphs for this plan, unless it runs with plain launches: a failed capture, or
  //    memory that moves on most runs (each move means a capture).
  CudaState::PlanGraphs* pg = nullptr;
  cudaGraphExec_t exec = nullptr;
  if (graphed && body_phase) {
    pg = &state.graphs[&plan];
    if (!pg->plain) {
      ++pg->runs;
      exec = static_cast<cudaGraphExec_t>(pg->find(arena.tail, arena.body));
      if (exec == nullptr && pg->captures >= CudaState::kCapturesBeforeGivingUp &&
          pg->captures * 4 > pg->runs) {
        std::fprintf(stderr,
                     "kiln: warning: the activation memory of one input-shape signature moved on "
                     "%lld of %lld runs; running it with plain launches from now on (pass the "
                     "same memory each run to keep CUDA graphs)\n",
                     static_cast<long long>(pg->captures), static_cast<long long>(pg->runs));
        pg->plain = true;
        pg->clear();
      }
    }
    if (pg->plain) pg = nullptr;
  }

  // 6. The values. With graphs, the body reads inputs from the arena's staging buffers; the
  //    direct outputs are the caller's buffers (only the tail, outside the graph, writes them).
  //    The tail reads no graph input (ExecutionPlan::direct_outputs): it binds the caller's.
  std::vector<TensorView> staged(inputs.begin(), inputs.end());
  if (pg != nullptr) {
    for (size_t i = 0; i < staged.size(); ++i) staged[i].data = arena.at(plan.staging_offsets[i]);
  }
  std::vector<TensorView> views = runtime_bind_values(g, plan, arena, staged, constants, outputs);

  // 7. Profiling: every node with an event after it.
  if (node_ms != nullptr) {
    KILN_RETURN_IF_ERROR(profile_nodes(*engine_, plan, views, arena, stream, *node_ms));
  }

  // 8. The body: the inputs staged, then the replay of the plan's graph for this memory (captured
  //    on first use); or plain launches.
  if (pg != nullptr) {
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (inputs[i].nbytes() == 0) continue;
      KILN_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(staged[i].data, inputs[i].data,
                                                inputs[i].nbytes(), cudaMemcpyDeviceToDevice,
                                                stream));
    }
    if (exec == nullptr) {
      if (state.capture_stream == nullptr) {
        cudaStream_t s = nullptr;
        KILN_CUDA_RETURN_IF_ERROR(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
        state.capture_stream = s;
      }
      Status captured =
          capture_body(*engine_, plan, views, arena, as_stream(state.capture_stream), &exec);
      if (!captured.ok()) {  // the staged inputs serve the plain launches below
        std::fprintf(stderr,
                     "kiln: warning: CUDA graph capture failed, running this shape signature "
                     "with plain launches: %s\n",
                     captured.message().c_str());
        pg->plain = true;
        pg->clear();
      } else {
        ++pg->captures;
        ++state.graphs_captured;
        pg->add(arena.tail, arena.body, exec);
      }
    }
  }
  if (node_ms == nullptr && body_phase) {
    if (exec != nullptr) {
      KILN_CUDA_RETURN_IF_ERROR(cudaGraphLaunch(exec, stream));
    } else {
      KILN_RETURN_IF_ERROR(
          runtime_run_nodes(*engine_, plan, views, arena, stream_handle, 0, plan.tail_begin));
    }
  }

  // 9. The tail, then the other outputs, copied into the caller's buffers on the stream.
  if (tail_phase) {
    if (node_ms == nullptr) {
      KILN_RETURN_IF_ERROR(runtime_run_nodes(*engine_, plan, views, arena, stream_handle,
                                             plan.tail_begin, g.nodes.size()));
    }
    for (size_t i = 0; i < outputs.size(); ++i) {
      if (plan.direct_outputs[i]) continue;
      const TensorView& from = views[g.outputs[i]];
      if (from.nbytes() == 0) continue;
      KILN_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(outputs[i].data, from.data, from.nbytes(),
                                                cudaMemcpyDeviceToDevice, stream));
    }
  }

  // 10. Remember where the context's arena was last used, for the next run on another stream.
  if (caller_arena == nullptr && !capturing) {
    if (state.done_event == nullptr) {
      cudaEvent_t e = nullptr;
      KILN_CUDA_RETURN_IF_ERROR(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
      state.done_event = e;
    }
    KILN_CUDA_RETURN_IF_ERROR(cudaEventRecord(static_cast<cudaEvent_t>(state.done_event), stream));
    state.last_stream = stream_handle;
    state.has_last_run = true;
  }
  return ok_status();
}

}  // namespace kiln

#endif  // KILN_HAVE_CUDA
