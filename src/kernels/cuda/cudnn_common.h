// Plumbing shared by the cuDNN kernels (cudnn_conv.cc, cudnn_attention.cc), which describe their
// op as a cudnn-frontend graph (cudnn_frontend::graph::Graph, the v1 graph API) and let this file
// build, cache and execute it.
//
//   Expected<std::shared_ptr<const CudnnPlan>> plan = cudnn_plan(key, [&]() { ...describe... });
//   KILN_RETURN_IF_ERROR(cudnn_execute(**plan, args, {{kX, x.data}, {kY, y.data}}));
//
// - Status: every cuDNN call (cudnnStatus_t) and every cudnn-frontend call (error_t) becomes a
//   Status that names the call; frontend exceptions are caught and become Statuses too.
// - Handles: cuDNN handles are not thread-safe, so each call leases one from a per-device pool
//   (created on demand, never destroyed: kiln lives inside the user's process, and tearing cuDNN
//   down at exit races the CUDA runtime's own teardown) and sets its stream first.
// - Plans: keyed by the caller's key (every op attribute, shape and dtype that changes the graph)
//   plus the device. A miss describes the graph, validates it, lowers it to a backend operation
//   graph, asks the heuristics for engine configs (mode A, then the fallback list), drops the
//   unsupported ones, builds the first that builds, and stores it with its workspace size.
//   Failures are cached too, so a shape without a plan fails fast every time with the same message.
//   A kernel may name engines it does not trust (`untrusted_engines`, substrings of cuDNN's engine
//   names such as "eng4_"): they are barred, and only when no other engine plans the graph is one
//   of them used, behind a stream fence (CudnnPlan::fence) so that it cannot overlap the kernels
//   before it.
//   Plans are built outside the cache's lock (two threads may build the same plan; one wins).
//
// Deliberately not here: timing several engine configs (the builder's autotuner), serialising
// plans into engine files, and freeing handles or plans.
#pragma once

#include <cuda_runtime.h>
#include <cudnn.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

// kiln never (de)serialises cuDNN graphs: leave out the frontend's JSON library (compile time).
// Every file that includes the frontend does so through this header, so all agree on it.
#ifndef CUDNN_FRONTEND_SKIP_JSON_LIB
#define CUDNN_FRONTEND_SKIP_JSON_LIB
#endif
#include <cudnn_frontend.h>

#include "kiln/kernels/kernel.h"
#include "kiln/support/status.h"

namespace kiln::cudnn {

namespace fe = cudnn_frontend;

// A cudnnStatus_t as a Status naming `call`; CUDNN_STATUS_NOT_SUPPORTED* is Unsupported.
Status cudnn_status(cudnnStatus_t s, const char* call);
// A cudnn-frontend error_t as a Status naming `call`; GRAPH_NOT_SUPPORTED is Unsupported.
Status frontend_status(fe::error_t e, const char* call);

// A built cuDNN execution plan: the graph (which owns the plan) and the scratch it needs.
struct CudnnPlan {
  std::shared_ptr<fe::graph::Graph> graph;
  int64_t workspace_bytes = 0;
  std::string engine;  // the engine config's name, for messages
  // An untrusted engine (see cudnn_plan): cudnn_execute enqueues stream_fence before it.
  bool fence = false;
};

// Describes one op as a graph: its tensors carry the caller's UIDs (set_uid), its outputs are
// marked set_output(true). Called at most once per cache miss, on the device the plan is for.
using CudnnDescribe = std::function<Expected<std::shared_ptr<fe::graph::Graph>>()>;

// The plan for `key` on the current CUDA device, built with `describe` on a miss. A miss while
// `stream` is being captured into a CUDA graph is an error (building a plan synchronises): the
// runtime prepares plans through Kernel::workspace_bytes before it captures.
Expected<std::shared_ptr<const CudnnPlan>> cudnn_plan(
    const std::string& key, const CudnnDescribe& describe, void* stream = nullptr,
    const std::vector<std::string>& untrusted_engines = {});

// Enqueues `plan` on args.stream with the given device pointers by tensor UID, after checking
// that args.workspace holds plan.workspace_bytes.
Status cudnn_execute(const CudnnPlan& plan, const KernelArgs& args,
                     std::vector<std::pair<int64_t, void*>> pointers);

// Enqueues an empty kernel on `stream`: a plain launch starts only after everything before it on
// the stream has finished, so a kernel after it that starts early (programmatic dependent launch)
// overlaps only the empty one. Defined in cudnn_fence.cu.
Status stream_fence(void* stream);

// "f16" -> fe::DataType_t::HALF; f32, f16 and bf16 only.
Expected<fe::DataType_t> cudnn_data_type(DType t);

// Row-major (contiguous) strides of `dims`, in elements.
std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& dims);

}  // namespace kiln::cudnn

#define KILN_CUDNN_RETURN_IF_ERROR(call)                                        \
  do {                                                                          \
    ::kiln::Status kiln_cudnn_status_ = ::kiln::cudnn::cudnn_status((call), #call); \
    if (!kiln_cudnn_status_.ok()) return kiln_cudnn_status_;                    \
  } while (0)

#define KILN_CUDNN_FE_RETURN_IF_ERROR(call)                                          \
  do {                                                                               \
    ::kiln::Status kiln_cudnn_fe_status_ = ::kiln::cudnn::frontend_status((call), #call); \
    if (!kiln_cudnn_fe_status_.ok()) return kiln_cudnn_fe_status_;                   \
  } while (0)
