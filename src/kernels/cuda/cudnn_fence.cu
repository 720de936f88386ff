// cudnn::stream_fence (declared in cudnn_common.h, which .cu files cannot include): a launch that
// does nothing, so the next launch on the stream cannot overlap what came before it.
#include <cuda_runtime.h>

#include "check.h"
#include "kiln/support/status.h"

namespace kiln::cudnn {
namespace {
__global__ void fence_kernel() {}
}  // namespace

Status stream_fence(void* stream) {
  fence_kernel<<<1, 1, 0, static_cast<cudaStream_t>(stream)>>>();
  KILN_CUDA_RETURN_IF_ERROR(cudaGetLastError());
  return ok_status();
}

}  // namespace kiln::cudnn
