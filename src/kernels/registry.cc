// The kernel registry: one static table of every kernel this build of kiln has, derived from
// ops.def for the CPU reference kernels (one "ref.<op>" entry per op). kernels_for() and
// find_kernel() are the only ways the builder and the runtime find kernels.
//
// Deliberately not here: choosing between kernels (the builder does that, in table order) and the
// kernels themselves (src/kernels/reference/*.cc). The CUDA backend appends its entries to the same
// table, ahead of nothing: within one device, earlier entries are preferred.
#include <array>
#include <vector>

#include "kiln/ir/shape_inference.h"
#include "kiln/kernels/kernel.h"

#if KILN_HAVE_CUDA
#include "cuda/families.h"
#endif

namespace kiln {
namespace {

// A reference kernel runs every node that shape inference types, except f64 (which never reaches
// an engine: importers cast it away).
bool reference_accepts(const Node& node, std::span<const TensorType> input_types,
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
    if (node.inputs[i] == kNoValue) {
      inputs.push_back(nullptr);
      continue;
    }
    if (input_types[i].dtype == DType::kF64) {
      return refuse(str_cat("input ", i, " is f64, which kiln kernels do not run"));
    }
    inputs.push_back(&input_types[i]);
  }
  Expected<std::vector<TensorType>> outputs = infer_output_types(node.op, node.attrs, inputs);
  if (!outputs.ok()) return refuse(outputs.status().message());
  for (size_t i = 0; i < outputs->size(); ++i) {
    if ((*outputs)[i].dtype == DType::kF64) {
      return refuse(str_cat("output ", i, " is f64, which kiln kernels do not run"));
    }
  }
  return true;
}

constexpr std::array kReferenceKernels = {
#define KILN_OP(E, name, A, min_in, max_in, outs) \
  Kernel{"ref." name, OpKind::k##E, DeviceKind::kCpu, 1, &reference_accepts, &ref_kernel_##E},
#include "kiln/ir/ops.def"
#undef KILN_OP
};

}  // namespace

std::string_view device_name(DeviceKind d) {
  switch (d) {
    case DeviceKind::kCpu: return "cpu";
    case DeviceKind::kCuda: return "cuda";
  }
  return "unknown";
}

std::span<const Kernel> all_kernels() {
  static const std::vector<Kernel> table = [] {
    std::vector<Kernel> all(kReferenceKernels.begin(), kReferenceKernels.end());
#if KILN_HAVE_CUDA
    for (std::span<const Kernel> family : cuda_kernel_families()) {
      all.insert(all.end(), family.begin(), family.end());
    }
#endif
    return all;
  }();
  return table;
}

std::vector<const Kernel*> kernels_for(OpKind op, DeviceKind device) {
  std::vector<const Kernel*> out;
  for (const Kernel& k : all_kernels()) {
    if (k.op == op && k.device == device) out.push_back(&k);
  }
  return out;
}

const Kernel* find_kernel(std::string_view name) {
  for (const Kernel& k : all_kernels()) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

}  // namespace kiln
