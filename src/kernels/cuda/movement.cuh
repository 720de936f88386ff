// Private to the CUDA data-movement, indexing, pooling and resize families (movement*.cu,
// pool.cu, resize.cu): the generic strided copy that most movement ops reduce to, and the host-side
// checks their entries share.
//
// The strided copy. A CopyPlan describes a loop nest over a logical index space of up to kMaxDims
// dims. For every logical index (o_0, ..., o_r-1):
//   dst offset = dst_base + sum_d o_d * dst_stride[d]
//   src offset = src_base + sum_d src_index_d(o_d) * src_stride[d]
// where src_index_d is o_d itself for a kPlain dim (slices, flips and broadcasts fold their start
// into src_base and their step into src_stride), and for the other modes i = start[d] + o_d mapped
// into [0, src_size[d]) by wrapping (roll, tile), reflecting or clamping (pad), or, for kFill, an
// i outside [0, src_size[d]) writes the fill value instead of reading (constant pad). Offsets are
// in elements. launch_copy() merges adjacent plain dims, drops plain dims of size 1, widens the
// element to up to 16 bytes when the innermost dim is contiguous on both sides and everything is
// aligned, and turns a fully contiguous plan into one cudaMemcpyAsync. Otherwise it launches
// - for a plain plan whose innermost destination dim is strided in the source and whose next dim
//   is contiguous in the source (NCHW <-> NHWC permutes): a shared-memory 32 x 32 tiled
//   transpose, or, when one of the two dims has at most 8 elements, one thread per element of the
//   long dim looping over the short one;
// - else one thread per 1 to 16 bytes' worth of consecutive innermost elements (several when the
//   destination's innermost dim is contiguous and aligned: one wide store per thread).
// Index arithmetic is 32-bit when every offset fits. It moves raw bytes: elements of 1, 2, 4 or
// 8 bytes, any dtype.
//
// Deliberately not here: anything that converts values.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "check.h"
#include "kiln/ir/shape_inference.h"
#include "kiln/kernels/kernel.h"

namespace kiln::cuda_move {

inline constexpr int kMaxDims = 8;  // logical dims of a copy, and the largest rank accepted

enum class DimMode : uint8_t { kPlain, kWrap, kReflect, kClamp, kFill };

struct CopyDim {
  int64_t size = 1;        // extent of the logical index
  int64_t src_stride = 0;  // elements of the source per step of the source index
  int64_t dst_stride = 0;  // elements of the destination per step of the logical index
  DimMode mode = DimMode::kPlain;
  int64_t start = 0;     // non-plain modes: source index = start + o, then mapped
  int64_t src_size = 0;  // non-plain modes: the source dim's extent
};

struct CopyPlan {
  std::vector<CopyDim> dims;  // outermost first
  int64_t src_base = 0;
  int64_t dst_base = 0;
  int64_t src_numel = 0;  // elements of the source: no offset reaches it
  uint64_t fill = 0;      // the fill element's bytes (low bytes), for kFill dims
};

// Runs `plan` from `src` to `dst` (device pointers) with elements of `esize` bytes (1, 2, 4 or 8)
// on `stream`. The caller guarantees every source offset the plan can produce is in bounds.
Status launch_copy(CopyPlan plan, const void* src, void* dst, int64_t esize, cudaStream_t stream);

// Row-major strides of a contiguous shape, in elements.
std::vector<int64_t> contiguous_strides(std::span<const int64_t> shape);

// "[2, 3, 4]", for messages.
std::string shape_text(std::span<const int64_t> shape);

// ---- Entry helpers ------------------------------------------------------------------------------

inline cudaStream_t stream_of(const KernelArgs& args) {
  return static_cast<cudaStream_t>(args.stream);
}

inline bool refuse(std::string* why, std::string reason) {
  if (why != nullptr) *why = std::move(reason);
  return false;
}

// An axis in [-rank, rank) as [0, rank), or InvalidArgument naming `op`.
Expected<int64_t> normalize_axis(std::string_view op, int64_t axis, int64_t rank);

// Every input and output has a device buffer unless it is empty, and the output(s) have input 0's
// dtype (`same_dtype`).
Status check_buffers(std::string_view op, const KernelArgs& args, bool same_dtype);

// Shape inference on the node: its present inputs (null for absent ones) and output types, or
// false with the reason. Also refuses f64 anywhere and any rank above `max_rank`.
bool typed_node(const Node& node, std::span<const TensorType> input_types, int64_t max_rank,
                std::vector<const TensorType*>& inputs, std::vector<TensorType>& outputs,
                std::string* why);

}  // namespace kiln::cuda_move
