// A cache-blocked, threaded single-precision matrix multiply for the CPU reference kernels
// (matmul, linear, conv, conv_transpose, attention). Accumulates in f32.
#pragma once

#include <cstdint>

namespace kiln::ref {

// A read-only strided matrix: element (i, j) is data[i * row_stride + j * col_stride]. Transposed
// operands are views with swapped strides; nothing is copied.
struct ConstMatrix {
  const float* data = nullptr;
  int64_t row_stride = 0;
  int64_t col_stride = 1;
};

// c[i * ldc + j] = (accumulate ? c[i * ldc + j] : 0) + sum_p a(i, p) * b(p, j), for i < m, j < n,
// p < k. With k == 0 this writes zeros (or leaves c as it is when accumulating). Runs on the thread
// pool unless called from inside a parallel_for chunk, where it runs on the calling thread.
void gemm_f32(int64_t m, int64_t n, int64_t k, ConstMatrix a, ConstMatrix b, float* c, int64_t ldc,
              bool accumulate);

}  // namespace kiln::ref
