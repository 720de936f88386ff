// The cuDNN kernels' shared plumbing (see cudnn_common.h): Status conversion, the per-device
// handle pools, the plan cache and execution.
//
// Deliberately not here: anything op-specific (the kernels describe their graphs), choosing
// between engine configs by timing, and tearing anything down.
#include "cudnn_common.h"

#include <algorithm>
#include <exception>
#include <mutex>
#include <unordered_map>

#include "check.h"

namespace kiln::cudnn {
namespace {

// ---- Handles ------------------------------------------------------------------------------------

// Idle handles per device. Heap-allocated and never destroyed (see the header).
struct HandlePool {
  std::mutex mu;
  std::unordered_map<int, std::vector<cudnnHandle_t>> idle;
};

HandlePool& handle_pool() {
  static HandlePool* pool = new HandlePool;
  return *pool;
}

// One handle of `device`'s pool, for one thread, returned to the pool on destruction.
class HandleLease {
 public:
  HandleLease(int device, cudnnHandle_t handle) : device_(device), handle_(handle) {}
  HandleLease(HandleLease&& other) noexcept
      : device_(other.device_), handle_(std::exchange(other.handle_, nullptr)) {}
  HandleLease(const HandleLease&) = delete;
  HandleLease& operator=(const HandleLease&) = delete;
  HandleLease& operator=(HandleLease&&) = delete;
  ~HandleLease() {
    if (handle_ == nullptr) return;
    HandlePool& pool = handle_pool();
    std::lock_guard<std::mutex> lock(pool.mu);
    pool.idle[device_].push_back(handle_);
  }
  cudnnHandle_t get() const { return handle_; }

 private:
  int device_;
  cudnnHandle_t handle_;
};

// A handle of the current device (`device`), idle or new.
Expected<HandleLease> lease_handle(int device) {
  HandlePool& pool = handle_pool();
  {
    std::lock_guard<std::mutex> lock(pool.mu);
    std::vector<cudnnHandle_t>& idle = pool.idle[device];
    if (!idle.empty()) {
      cudnnHandle_t h = idle.back();
      idle.pop_back();
      return HandleLease(device, h);
    }
  }
  cudnnHandle_t h = nullptr;
  KILN_CUDNN_RETURN_IF_ERROR(cudnnCreate(&h));
  return HandleLease(device, h);
}

Expected<int> current_device() {
  int device = -1;
  KILN_CUDA_RETURN_IF_ERROR(cudaGetDevice(&device));
  return device;
}

// ---- Plans --------------------------------------------------------------------------------------

struct PlanEntry {
  std::shared_ptr<const CudnnPlan> plan;  // null when building failed
  Status error;
};

struct PlanCache {
  std::mutex mu;
  std::unordered_map<std::string, PlanEntry> entries;
};

PlanCache& plan_cache() {
  static PlanCache* cache = new PlanCache;
  return *cache;
}

// Steps 1-5 of building a plan for one described graph, with the `barred` engines deselected
// (exceptions are the caller's).
Expected<std::shared_ptr<const CudnnPlan>> build_plan(const CudnnDescribe& describe,
                                                      cudnnHandle_t handle,
                                                      const std::vector<std::string>& barred) {
  // 1. The graph, as the kernel describes it; its attributes and shapes are validated.
  KILN_ASSIGN_OR_RETURN(std::shared_ptr<fe::graph::Graph> graph, describe());
  if (graph == nullptr) return internal_error("the cuDNN kernel described no graph");
  if (!barred.empty()) graph->deselect_engines(barred);
  KILN_CUDNN_FE_RETURN_IF_ERROR(graph->validate());
  // 2. The backend operation graph.
  KILN_CUDNN_FE_RETURN_IF_ERROR(graph->build_operation_graph(handle));
  // 3. Engine configs: heuristics mode A, then the fallback list; keep the supported ones.
  KILN_CUDNN_FE_RETURN_IF_ERROR(
      graph->create_execution_plans({fe::HeurMode_t::A, fe::HeurMode_t::FALLBACK}));
  KILN_CUDNN_FE_RETURN_IF_ERROR(graph->check_support(handle));
  // 4. The first config (in heuristic order) that builds.
  KILN_CUDNN_FE_RETURN_IF_ERROR(graph->build_plans(handle, fe::BuildPlanPolicy_t::HEURISTICS_CHOICE));
  // 5. Its scratch and name.
  auto plan = std::make_shared<CudnnPlan>();
  KILN_CUDNN_FE_RETURN_IF_ERROR(graph->get_workspace_size(plan->workspace_bytes));
  if (plan->workspace_bytes < 0) {
    return internal_error("cuDNN reported a negative workspace size ", plan->workspace_bytes);
  }
  std::string name;
  if (graph->get_plan_name(name).is_good()) plan->engine = name;
  plan->graph = std::move(graph);
  return std::shared_ptr<const CudnnPlan>(std::move(plan));
}

}  // namespace

// ---- Status -------------------------------------------------------------------------------------

Status cudnn_status(cudnnStatus_t s, const char* call) {
  if (s == CUDNN_STATUS_SUCCESS) return ok_status();
  const char* name = cudnnGetErrorString(s);
  if (CUDNN_STATUS_CATEGORY(s) == CUDNN_STATUS_NOT_SUPPORTED) {
    return unsupported(call, " failed: ", name, " (", static_cast<int>(s), ")");
  }
  return internal_error(call, " failed: ", name, " (", static_cast<int>(s), ")");
}

Status frontend_status(fe::error_t e, const char* call) {
  if (e.is_good()) return ok_status();
  const fe::error_code_t code = e.get_code();
  std::string message = e.get_message();
  if (code == fe::error_code_t::GRAPH_NOT_SUPPORTED) {
    return unsupported(call, " failed: not supported: ", message);
  }
  return internal_error(call, " failed (cudnn-frontend error ", static_cast<int>(code),
                        "): ", message);
}

Expected<fe::DataType_t> cudnn_data_type(DType t) {
  switch (t) {
    case DType::kF32: return fe::DataType_t::FLOAT;
    case DType::kF16: return fe::DataType_t::HALF;
    case DType::kBF16: return fe::DataType_t::BFLOAT16;
    default: break;
  }
  return unsupported("the cuDNN kernels take f32, f16 or bf16, got ", dtype_name(t));
}

std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& dims) {
  std::vector<int64_t> strides(dims.size(), 1);
  for (size_t i = dims.size(); i-- > 1;) strides[i - 1] = strides[i] * std::max<int64_t>(dims[i], 1);
  return strides;
}

// ---- Plans --------------------------------------------------------------------------------------

Expected<std::shared_ptr<const CudnnPlan>> cudnn_plan(
    const std::string& key, const CudnnDescribe& describe, void* stream,
    const std::vector<std::string>& untrusted_engines) {
  // 1. The cache, per device.
  KILN_ASSIGN_OR_RETURN(int device, current_device());
  const std::string full_key = str_cat(key, " device=", device);
  PlanCache& cache = plan_cache();
  {
    std::lock_guard<std::mutex> lock(cache.mu);
    auto it = cache.entries.find(full_key);
    if (it != cache.entries.end()) {
      if (it->second.plan != nullptr) return it->second.plan;
      return it->second.error;
    }
  }
  // 2. Never build while capturing: building synchronises, which would invalidate the capture.
  if (stream != nullptr) {
    cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
    KILN_CUDA_RETURN_IF_ERROR(
        cudaStreamIsCapturing(static_cast<cudaStream_t>(stream), &capture));
    if (capture != cudaStreamCaptureStatusNone) {
      return internal_error("no cuDNN plan was prepared for ", key,
                            " before CUDA graph capture (Kernel::workspace_bytes prepares it)");
    }
  }
  // 3. Build (outside the lock), catching whatever the frontend throws: without the untrusted
  //    engines, then, if nothing else plans, with them and a fence.
  Expected<std::shared_ptr<const CudnnPlan>> built = internal_error("unreachable");
  {
    KILN_ASSIGN_OR_RETURN(HandleLease handle, lease_handle(device));
    auto attempt = [&](const std::vector<std::string>& barred) {
      try {
        built = build_plan(describe, handle.get(), barred);
      } catch (const std::exception& e) {
        built = internal_error("cudnn-frontend threw: ", e.what());
      } catch (...) {
        built = internal_error("cudnn-frontend threw a non-standard exception");
      }
    };
    attempt(untrusted_engines);
    if (!built.ok() && !untrusted_engines.empty()) {
      attempt({});
      if (built.ok()) std::const_pointer_cast<CudnnPlan>(*built)->fence = true;
    }
  }
  // 4. Remember the outcome (a concurrent build of the same key may have won).
  PlanEntry entry;
  if (built.ok()) {
    entry.plan = *built;
  } else {
    const Status& s = built.status();
    entry.error = Status(s.code(), str_cat("cuDNN has no plan for ", key, ": ", s.message()));
  }
  std::lock_guard<std::mutex> lock(cache.mu);
  auto [it, inserted] = cache.entries.emplace(full_key, std::move(entry));
  if (it->second.plan != nullptr) return it->second.plan;
  return it->second.error;
}

Status cudnn_execute(const CudnnPlan& plan, const KernelArgs& args,
                     std::vector<std::pair<int64_t, void*>> pointers) {
  // 1. Scratch.
  if (plan.workspace_bytes > 0 &&
      (args.workspace == nullptr ||
       args.workspace_bytes < static_cast<size_t>(plan.workspace_bytes))) {
    return invalid_argument("the cuDNN plan (engine ", plan.engine, ") needs ",
                            plan.workspace_bytes, " bytes of workspace, the launch has ",
                            args.workspace == nullptr ? 0 : args.workspace_bytes,
                            " (Kernel::workspace_bytes says how much)");
  }
  // 2. A handle of this device on this stream.
  KILN_ASSIGN_OR_RETURN(int device, current_device());
  KILN_ASSIGN_OR_RETURN(HandleLease handle, lease_handle(device));
  KILN_CUDNN_RETURN_IF_ERROR(cudnnSetStream(handle.get(), static_cast<cudaStream_t>(args.stream)));
  // 3. Enqueue.
  std::unordered_map<int64_t, void*> pack(pointers.begin(), pointers.end());
  for (const auto& [uid, ptr] : pack) {
    if (ptr == nullptr) return internal_error("cuDNN tensor ", uid, " has no device buffer");
  }
  if (plan.fence) KILN_RETURN_IF_ERROR(stream_fence(args.stream));
  try {
    KILN_CUDNN_FE_RETURN_IF_ERROR(
        plan.graph->execute(handle.get(), pack, plan.workspace_bytes > 0 ? args.workspace : nullptr));
  } catch (const std::exception& e) {
    return internal_error("cudnn-frontend execute threw: ", e.what());
  }
  return ok_status();
}

}  // namespace kiln::cudnn
