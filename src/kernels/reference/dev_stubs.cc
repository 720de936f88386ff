// TEMPORARY during bring-up: weak placeholder reference kernels so that the tree links while the
// kernel families are written. Real definitions override these. Deleted once every op has a kernel.
#include "kiln/kernels/kernel.h"

namespace kiln {
#define KILN_OP(E, name, A, min_in, max_in, outs)                       \
  __attribute__((weak)) Status ref_kernel_##E(const KernelArgs& args) { \
    return unsupported("reference kernel for '" name "' is not written yet"); \
  }
#include "kiln/ir/ops.def"
#undef KILN_OP
}  // namespace kiln
