// CUDA error checking for kiln: every CUDA runtime call becomes a Status that names the call.
//
//   KILN_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToDevice, stream));
//   my_kernel<<<grid, block, 0, stream>>>(...);
//   KILN_CUDA_RETURN_IF_ERROR(cudaGetLastError());  // the launch itself
#pragma once

#include <cuda_runtime.h>

#include "kiln/support/status.h"

namespace kiln {

inline Status cuda_status(cudaError_t e, const char* call) {
  if (e == cudaSuccess) return ok_status();
  return internal_error(call, " failed: ", cudaGetErrorName(e), ": ", cudaGetErrorString(e));
}

}  // namespace kiln

#define KILN_CUDA_RETURN_IF_ERROR(call)                               \
  do {                                                                \
    ::kiln::Status kiln_cuda_status_ = ::kiln::cuda_status((call), #call); \
    if (!kiln_cuda_status_.ok()) return kiln_cuda_status_;            \
  } while (0)
