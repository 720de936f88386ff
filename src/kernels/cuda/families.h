// The CUDA kernel families (compiled only when KILN_HAVE_CUDA): each src/kernels/cuda/<family>.cu
// defines one function returning its kernels, best first, and is listed here once. The registry
// appends them, in this order, after the CPU reference kernels.
#pragma once

#include <span>
#include <vector>

#include "kiln/kernels/kernel.h"

namespace kiln {

inline std::vector<std::span<const Kernel>> cuda_kernel_families() {
  return {};
}

}  // namespace kiln
