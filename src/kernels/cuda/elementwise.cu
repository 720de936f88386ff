// The CUDA elementwise family's shared host code: the broadcast plan, the argument checks, the
// registry predicate, and cuda_elementwise_kernels(), which joins the unary, binary and source
// kernel tables for the registry (families.h).
//
// Deliberately not here: the ops themselves (elementwise_unary.cu, elementwise_binary.cu,
// elementwise_sources.cu) and any fusion of elementwise chains (NVRTC-generated kernels, later).
#include <vector>

#include "elementwise.cuh"
#include "kiln/ir/shape_inference.h"

namespace kiln {
namespace cuda {

Expected<BroadcastPlan> plan_broadcast(std::string_view op, std::span<const TensorView> inputs,
                                       const ConcreteShape& out) {
  const size_t rank = out.size();
  if (inputs.size() > static_cast<size_t>(kMaxOperands)) {
    return internal_error(op, ": ", inputs.size(), " operands, at most ", kMaxOperands);
  }
  // 1. Each operand's strides along the output's dims (0 where it broadcasts).
  std::array<std::vector<int64_t>, kMaxOperands> full;
  for (size_t k = 0; k < inputs.size(); ++k) {
    const ConcreteShape& in = inputs[k].shape;
    if (in.size() > rank) {
      return invalid_argument(op, ": input ", k, " has rank ", in.size(), ", above the output's ",
                              rank);
    }
    full[k].assign(rank, 0);
    int64_t stride = 1;
    for (size_t i = in.size(); i-- > 0;) {
      const int64_t o = out[rank - in.size() + i];
      if (in[i] != o && in[i] != 1) {
        return invalid_argument(op, ": input ", k, " of ", in.size(),
                                "-d shape does not broadcast to the output (dim ", i, " is ", in[i],
                                ", the output's is ", o, ")");
      }
      full[k][rank - in.size() + i] = (in[i] == 1 && o != 1) ? 0 : stride;
      stride *= in[i];
    }
  }
  // 2. Drop size-1 dims; merge a dim into the previous one when every operand stays contiguous.
  BroadcastPlan p;
  StridedIndex& ix = p.index;
  for (size_t d = 0; d < rank; ++d) {
    if (out[d] == 1) continue;
    bool merge = ix.rank > 0;
    for (size_t k = 0; merge && k < inputs.size(); ++k) {
      merge = ix.strides[k][ix.rank - 1] == full[k][d] * out[d];
    }
    if (merge) {
      ix.shape[ix.rank - 1] *= out[d];
      for (size_t k = 0; k < inputs.size(); ++k) ix.strides[k][ix.rank - 1] = full[k][d];
      continue;
    }
    if (ix.rank == kMaxDims) {
      return unsupported(op, ": the broadcast needs more than ", kMaxDims,
                         " dims after merging, which the CUDA elementwise kernels do not index");
    }
    ix.shape[ix.rank] = out[d];
    for (size_t k = 0; k < inputs.size(); ++k) ix.strides[k][ix.rank] = full[k][d];
    ++ix.rank;
  }
  if (ix.rank == 0) {  // a scalar, or every dim 1
    ix.rank = 1;
    ix.shape[0] = 1;
    for (size_t k = 0; k < inputs.size(); ++k) ix.strides[k][0] = 0;
  }
  p.flat = ix.rank == 1;
  for (size_t k = 0; p.flat && k < inputs.size(); ++k) {
    p.flat = ix.strides[k][0] == 0 || ix.strides[k][0] == 1;
  }
  return p;
}

// The caller's stream. Null is the caller's choice too: torch's default stream is the legacy
// default stream, and kiln launches where the caller works.
Expected<cudaStream_t> stream_of(const KernelArgs& args, std::string_view op) {
  return static_cast<cudaStream_t>(args.stream);
}

Status check_io(const KernelArgs& args, std::string_view op, size_t inputs) {
  if (args.inputs.size() != inputs || args.outputs.size() != 1) {
    return invalid_argument(op, ": expected ", inputs, " inputs and 1 output, got ",
                            args.inputs.size(), " and ", args.outputs.size());
  }
  if (args.outputs[0].numel() == 0) return ok_status();
  if (args.outputs[0].data == nullptr) return invalid_argument(op, ": the output buffer is null");
  for (size_t k = 0; k < inputs; ++k) {
    if (args.inputs[k].data == nullptr && args.inputs[k].numel() > 0) {
      return invalid_argument(op, ": input ", k, " is null");
    }
  }
  return ok_status();
}

bool elementwise_accepts(const Node& node, std::span<const TensorType> input_types,
                         std::string* why) {
  auto refuse = [&](std::string reason) {
    if (why != nullptr) *why = std::move(reason);
    return false;
  };
  if (input_types.size() != node.inputs.size()) {
    return refuse(str_cat("expected ", node.inputs.size(), " input types, got ",
                          input_types.size()));
  }
  std::vector<const TensorType*> inputs;
  for (size_t i = 0; i < input_types.size(); ++i) {
    if (node.inputs[i] == kNoValue) return refuse(str_cat("input ", i, " is absent"));
    if (input_types[i].dtype == DType::kF64) {
      return refuse(str_cat("input ", i, " is f64, which the CUDA elementwise kernels do not run"));
    }
    inputs.push_back(&input_types[i]);
  }
  Expected<std::vector<TensorType>> outputs = infer_output_types(node.op, node.attrs, inputs);
  if (!outputs.ok()) return refuse(outputs.status().message());
  if (outputs->size() != 1) return refuse(str_cat("expected 1 output, got ", outputs->size()));
  const TensorType& out = (*outputs)[0];
  if (out.dtype == DType::kF64) {
    return refuse("the output is f64, which the CUDA elementwise kernels do not run");
  }
  if (inputs.size() > 1 && out.rank() > kMaxDims) {
    return refuse(str_cat("the output has rank ", out.rank(), "; broadcasting CUDA kernels index ",
                          "at most ", kMaxDims, " dims"));
  }
  return true;
}

}  // namespace cuda

std::span<const Kernel> cuda_elementwise_kernels() {
  static const std::vector<Kernel> table = [] {
    std::vector<Kernel> all;
    for (std::span<const Kernel> part :
         {cuda::elementwise_unary_kernels(), cuda::elementwise_binary_kernels(),
          cuda::elementwise_source_kernels()}) {
      all.insert(all.end(), part.begin(), part.end());
    }
    return all;
  }();
  return table;
}

}  // namespace kiln
