// The CUDA "kernel" of the constant op (compiled only when KILN_HAVE_CUDA). The runtime never
// launches constant nodes: it points their values at the engine's device copy of the data
// (Engine::device_constants). The entry exists so that the builder, which gives every node a
// kernel of the target device, can place constants in CUDA engines.
#if KILN_HAVE_CUDA

#include <array>

#include "kiln/kernels/kernel.h"

namespace kiln {
namespace {

bool constant_accepts(const Node& node, std::span<const TensorType>, std::string* why) {
  if (node.op == OpKind::kConstant && node.outputs.size() == 1) return true;
  if (why != nullptr) *why = "not a constant node";
  return false;
}

Status constant_run(const KernelArgs& args) {
  return internal_error("constant nodes are bound by the runtime, never launched");
}

constexpr std::array kRuntimeKernels = {
    Kernel{"cuda.constant", OpKind::kConstant, DeviceKind::kCuda, 1, &constant_accepts,
           &constant_run},
};

}  // namespace

std::span<const Kernel> cuda_runtime_kernels() { return kRuntimeKernels; }

}  // namespace kiln

#endif  // KILN_HAVE_CUDA
