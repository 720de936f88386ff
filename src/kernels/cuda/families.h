// The CUDA kernel families (compiled only when KILN_HAVE_CUDA): each src/kernels/cuda/<family>.cu
// defines one function returning its kernels, best first, and is listed here once. The registry
// appends them, in this order, after the CPU reference kernels.
#pragma once

#include <span>
#include <vector>

#include "kiln/kernels/kernel.h"

namespace kiln {

std::span<const Kernel> cuda_runtime_kernels();      // src/runtime/cuda_constant.cc (constants)
std::span<const Kernel> cuda_softmax_kernels();      // softmax.cu
std::span<const Kernel> cuda_norm_kernels();         // norm.cu
std::span<const Kernel> cuda_reduce_kernels();       // reduce.cu
std::span<const Kernel> cuda_gemm_kernels();         // gemm.cu (empty without cuBLASLt)
std::span<const Kernel> cuda_elementwise_kernels();  // elementwise*.cu
std::span<const Kernel> cuda_movement_kernels();     // movement.cu
std::span<const Kernel> cuda_index_kernels();        // movement_index.cu (take, gather)
std::span<const Kernel> cuda_pool_kernels();         // pool.cu
std::span<const Kernel> cuda_resize_kernels();       // resize.cu
#if KILN_HAVE_CUDNN
std::span<const Kernel> cuda_cudnn_conv_kernels();       // cudnn_conv.cc (ahead of conv.cu)
std::span<const Kernel> cuda_cudnn_attention_kernels();  // cudnn_attention.cc
#endif
std::span<const Kernel> cuda_conv_kernels();         // conv.cu (conv, conv_transpose)
std::span<const Kernel> cuda_attention_kernels();    // attention.cu
std::span<const Kernel> cuda_topk_kernels();         // topk.cu

inline std::vector<std::span<const Kernel>> cuda_kernel_families() {
  return {
      cuda_runtime_kernels(),
      cuda_softmax_kernels(),
      cuda_norm_kernels(),
      cuda_reduce_kernels(),
      cuda_gemm_kernels(),
      cuda_elementwise_kernels(),
      cuda_movement_kernels(),
      cuda_index_kernels(),
      cuda_pool_kernels(),
      cuda_resize_kernels(),
#if KILN_HAVE_CUDNN
      cuda_cudnn_conv_kernels(),
#endif
      cuda_conv_kernels(),
#if KILN_HAVE_CUDNN
      cuda_cudnn_attention_kernels(),
#endif
      cuda_attention_kernels(),
      cuda_topk_kernels(),
  };
}

}  // namespace kiln
