// The attention operands' logical layout, shared by the reference kernel (attention.cc) and the
// CUDA fallback kernel (cuda/attention.cu), so both read q, k, v, the mask and the output through
// the same view and broadcast their leading dims by the same rule.
#pragma once

#include <string_view>
#include <utility>

#include "common.h"

namespace kiln::ref {

// A tensor seen in the op's logical layout [..., L, E]: its dims and the element stride of each
// in the row-major buffer. A bshd operand [B, L, H, E] is seen as [B, H, L, E] with strides
// [L*H*E, E, H*E, 1].
struct AttentionOperand {
  ConcreteShape shape;
  ConcreteShape strides;
  int64_t rows() const { return shape[shape.size() - 2]; }
  int64_t cols() const { return shape.back(); }
  int64_t row_stride() const { return strides[strides.size() - 2]; }
  ConcreteShape lead() const { return ConcreteShape(shape.begin(), shape.end() - 2); }
};

// `shape` (row-major) as the op sees it: bshd swaps dims 1 and 2 of a rank-4 operand.
inline AttentionOperand attention_view(const ConcreteShape& shape, bool bshd) {
  AttentionOperand o{shape, ConcreteShape(shape.size(), 1)};
  for (size_t d = shape.size(); d-- > 1;) o.strides[d - 1] = o.strides[d] * shape[d];
  if (bshd && shape.size() == 4) {
    std::swap(o.shape[1], o.shape[2]);
    std::swap(o.strides[1], o.strides[2]);
  }
  return o;
}

// Broadcasts the leading dims of `shape` (all but the last `keep`) into `batch` (numpy rules);
// the error names `what`.
inline Status broadcast_attention_batch(const ConcreteShape& shape, size_t keep,
                                        ConcreteShape& batch, std::string_view what) {
  const size_t rank = shape.size() - keep;
  if (rank > batch.size()) batch.insert(batch.begin(), rank - batch.size(), 1);
  for (size_t i = 0; i < rank; ++i) {
    int64_t& b = batch[batch.size() - rank + i];
    const int64_t d = shape[i];
    if (d != b && d != 1 && b != 1) {
      return invalid_argument("attention: leading dims of ", what, shape_text(shape),
                              " do not broadcast with ", shape_text(batch));
    }
    if (b == 1) b = d;
  }
  return ok_status();
}

}  // namespace kiln::ref
