// Shared helpers for the CPU reference kernels: element access by dtype, fp32 staging for the
// half-precision types, contiguous strides and broadcast index mapping. Reference kernels favour
// clarity: they may stage whole tensors as float/double/int64 and write back with one rounding.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "kiln/kernels/kernel.h"

namespace kiln::ref {

// Row-major strides (in elements) of a contiguous tensor of this shape.
std::vector<int64_t> contiguous_strides(std::span<const int64_t> shape);

// For an output of shape `out` and an input of shape `in` (numpy-broadcastable to `out`), the
// input's strides expanded to out's rank, with 0 on broadcast dims.
std::vector<int64_t> broadcast_strides(std::span<const int64_t> in, std::span<const int64_t> out);

// Element `i` of `t` as a double / int64 (floats truncate toward zero for the int read).
double load_double(const TensorView& t, int64_t i);
int64_t load_int(const TensorView& t, int64_t i);
// Stores `v` into element `i`, rounding once to t's dtype (round-to-nearest-even for f16/bf16,
// truncation toward zero for ints, v != 0 for bool).
void store_double(const TensorView& t, int64_t i, double v);
void store_int(const TensorView& t, int64_t i, int64_t v);

// Whole-tensor staging: every element as float (for fp32/fp16/bf16 kernels), and back.
std::vector<float> to_float(const TensorView& t);
void from_float(std::span<const float> values, const TensorView& out);

}  // namespace kiln::ref
