// The kernel registry: the only answer to "which kernels can run this node on this device".
//
// A kernel runs one node on contiguous row-major tensors whose concrete shapes the runtime computed.
// Kernels never allocate outputs: the runtime hands them buffers. Reference kernels (device kCpu)
// define each op's numerics: fp16/bf16 are computed in fp32 and rounded once per op.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/ir/graph.h"

namespace kiln {

enum class DeviceKind : uint8_t { kCpu = 0, kCuda = 1 };
std::string_view device_name(DeviceKind d);

// A contiguous row-major tensor in caller- or runtime-owned memory.
struct TensorView {
  void* data = nullptr;
  DType dtype = DType::kF32;
  ConcreteShape shape;
  int64_t numel() const { return concrete_numel(shape); }
  int64_t nbytes() const { return numel() * dtype_size(dtype); }
};

struct KernelArgs {
  const Node& node;
  std::span<const int64_t> symbol_values;  // for evaluating DimExprs in attributes (slice bounds)
  std::span<const TensorView> inputs;   // data == nullptr for an absent optional input
  std::span<const TensorView> outputs;  // already shaped and allocated
  // CUDA kernels: the cudaStream_t to launch on (never the legacy default stream, never a device-wide
  // synchronisation). Null for CPU kernels.
  void* stream = nullptr;
  // Scratch memory for this launch alone (CUDA: device memory in the runtime's arena, reused by the
  // next node), at least Kernel::workspace_bytes(args) bytes; null when that is 0.
  void* workspace = nullptr;
  size_t workspace_bytes = 0;
};

struct Kernel {
  std::string_view name;  // stable, stored in engine files: "ref.conv"
  OpKind op;
  DeviceKind device;
  int version;
  // True if this kernel can run `node` given its input types; if not, says why (when `why` is not
  // null). `input_types[i]` belongs to node.inputs[i] and is ignored when that input is absent
  // (kNoValue).
  bool (*accepts)(const Node& node, std::span<const TensorType> input_types, std::string* why);
  Status (*run)(const KernelArgs& args);
  // Scratch bytes run() needs for these shapes, or null for none. Called by the runtime when it plans
  // a shape signature, before any run and never while a stream is being captured, with `args`'s
  // tensors shaped but their data, stream and workspace null: a kernel may prepare (and cache)
  // per-shape state here, such as a cuDNN execution plan.
  Expected<size_t> (*workspace_bytes)(const KernelArgs& args) = nullptr;
};

// Every kernel for `op` on `device`, best first.
std::vector<const Kernel*> kernels_for(OpKind op, DeviceKind device);
const Kernel* find_kernel(std::string_view name);
// Every kernel in this build, all devices, in preference order.
std::span<const Kernel> all_kernels();

// The CPU reference kernel of each op, defined in src/kernels/reference/*.cc: a missing one is a
// link error. Each is a plain loop nest: the definition of the op.
#define KILN_OP(E, name, A, min_in, max_in, outs) Status ref_kernel_##E(const KernelArgs& args);
#include "kiln/ir/ops.def"
#undef KILN_OP

}  // namespace kiln
