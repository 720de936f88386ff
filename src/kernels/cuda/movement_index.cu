// CUDA kernels for the data-dependent movement ops, with the reference's semantics
// (src/kernels/reference/movement.cc): take (numpy.take along an axis: index_select, embedding,
// x[idx]) and gather (torch.gather). Elements move as raw bytes (1, 2, 4 or 8; take widens its
// contiguous runs up to 16), indices are any integer dtype.
//
// Indices out of range. The reference checks every index before copying and returns OutOfRange
// (take allows [-n, n), negatives counting from the end; gather allows [0, n)). A CUDA kernel
// cannot return a Status without synchronising the stream, which kiln never does, so here an
// index outside the accepted range is never dereferenced: the output elements it selects are
// written as all-zero bytes (0, 0.0 or false). Valid indices give exactly the reference's result.
//
// Deliberately not here: scatter, index_put and multi-index advanced indexing (the importer lowers
// what it supports to take and gather), and a device-side error flag for bad indices.
#include <algorithm>
#include <cstring>

#include "families.h"
#include "movement.cuh"

namespace kiln {
namespace {

using cuda_move::check_buffers;
using cuda_move::contiguous_strides;
using cuda_move::kMaxDims;
using cuda_move::normalize_axis;
using cuda_move::shape_text;
using cuda_move::stream_of;

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = int64_t{1} << 20;

unsigned blocks_for(int64_t total) {
  return static_cast<unsigned>(std::min((total + kThreads - 1) / kThreads, kMaxBlocks));
}

// ---- Kernels ------------------------------------------------------------------------------------

// out viewed as [outer, m, inner] (inner in E units): out[o, k, j] = x[o, idx[k] (+ n), j].
template <typename E, typename I>
__global__ void take_kernel(const E* __restrict__ x, const I* __restrict__ idx, E* __restrict__ out,
                            int64_t total, int64_t m, int64_t inner, int64_t n) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
       e += step) {
    const int64_t j = e % inner, t = e / inner;
    const int64_t k = t % m, o = t / m;
    int64_t v = static_cast<int64_t>(idx[k]);
    if (v < 0) v += n;
    out[e] = (v >= 0 && v < n) ? x[(o * n + v) * inner + j] : E{};
  }
}

struct GatherDims {
  int rank;
  int axis;
  int64_t size[kMaxDims];      // the index's (and output's) shape
  int64_t x_stride[kMaxDims];  // x's contiguous strides
};

// out[e] = x at e's coordinates, with the axis coordinate replaced by idx[e].
template <typename E, typename I>
__global__ void gather_kernel(const E* __restrict__ x, const I* __restrict__ idx,
                              E* __restrict__ out, int64_t total, GatherDims p, int64_t n) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
       e += step) {
    int64_t rest = e, off = 0;
#pragma unroll
    for (int k = kMaxDims - 1; k >= 0; --k) {
      if (k >= p.rank) continue;
      const int64_t o = rest % p.size[k];
      rest /= p.size[k];
      if (k != p.axis) off += o * p.x_stride[k];
    }
    const int64_t v = static_cast<int64_t>(idx[e]);
    out[e] = (v >= 0 && v < n) ? x[off + v * p.x_stride[p.axis]] : E{};
  }
}

// ---- Dispatch -----------------------------------------------------------------------------------

// Calls f(index_tag) with a value of the index storage type of `t`.
template <typename F>
Status visit_index(std::string_view op, DType t, F&& f) {
  switch (t) {
    case DType::kI64: return f(int64_t{});
    case DType::kI32: return f(int32_t{});
    case DType::kI8: return f(int8_t{});
    case DType::kU8: return f(uint8_t{});
    default: break;
  }
  return invalid_argument(op, ": indices must be an integer tensor, got ", dtype_name(t));
}

// Calls f(element_tag) with an unsigned type of `bytes` bytes (1, 2, 4, 8 or 16).
template <typename F>
Status visit_bytes(std::string_view op, int64_t bytes, F&& f) {
  switch (bytes) {
    case 1: return f(uint8_t{});
    case 2: return f(uint16_t{});
    case 4: return f(uint32_t{});
    case 8: return f(uint64_t{});
    case 16: return f(uint4{});
    default: break;
  }
  return internal_error(op, ": unexpected element size ", bytes);
}

// ---- Entries ------------------------------------------------------------------------------------

Status check_two_to_one(std::string_view op, const KernelArgs& args) {
  if (args.inputs.size() != 2 || args.outputs.size() != 1) {
    return invalid_argument(op, ": expected 2 inputs and 1 output, got ", args.inputs.size(),
                            " and ", args.outputs.size());
  }
  return check_buffers(op, args, true);
}

Status take_run(const KernelArgs& args) {
  KILN_RETURN_IF_ERROR(check_two_to_one("take", args));
  const TensorView& x = args.inputs[0];
  const TensorView& indices = args.inputs[1];
  const TensorView& out = args.outputs[0];
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  KILN_ASSIGN_OR_RETURN(int64_t axis,
                        normalize_axis("take", args.node.attrs_as<AxisAttrs>().axis, rank));
  const size_t ax = static_cast<size_t>(axis);
  ConcreteShape want(x.shape.begin(), x.shape.begin() + axis);
  want.insert(want.end(), indices.shape.begin(), indices.shape.end());
  want.insert(want.end(), x.shape.begin() + axis + 1, x.shape.end());
  if (want != out.shape) {
    return invalid_argument("take: the output shape is ", shape_text(out.shape),
                            " but should be ", shape_text(want));
  }
  if (out.numel() == 0) return ok_status();
  const int64_t n = x.shape[ax], m = indices.numel();
  int64_t inner = 1;
  for (size_t d = ax + 1; d < x.shape.size(); ++d) inner *= x.shape[d];
  // Widest element: runs of `inner` elements, aligned on both sides.
  int64_t esize = dtype_size(x.dtype);
  for (int64_t w = 16; w > esize; w /= 2) {
    const int64_t f = w / esize;
    if (inner % f == 0 && reinterpret_cast<uintptr_t>(x.data) % w == 0 &&
        reinterpret_cast<uintptr_t>(out.data) % w == 0) {
      inner /= f;
      esize = w;
      break;
    }
  }
  const int64_t total = out.numel() * dtype_size(x.dtype) / esize;
  cudaStream_t stream = stream_of(args);
  KILN_RETURN_IF_ERROR(visit_index("take", indices.dtype, [&](auto itag) -> Status {
    using I = decltype(itag);
    return visit_bytes("take", esize, [&](auto etag) -> Status {
      using E = decltype(etag);
      take_kernel<E, I><<<blocks_for(total), kThreads, 0, stream>>>(
          static_cast<const E*>(x.data), static_cast<const I*>(indices.data),
          static_cast<E*>(out.data), total, m, inner, n);
      return ok_status();
    });
  }));
  KILN_CUDA_RETURN_IF_ERROR(cudaGetLastError());
  return ok_status();
}

Status gather_run(const KernelArgs& args) {
  KILN_RETURN_IF_ERROR(check_two_to_one("gather", args));
  const TensorView& x = args.inputs[0];
  const TensorView& index = args.inputs[1];
  const TensorView& out = args.outputs[0];
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  KILN_ASSIGN_OR_RETURN(int64_t axis,
                        normalize_axis("gather", args.node.attrs_as<AxisAttrs>().axis,
                                       std::max<int64_t>(rank, 1)));
  const size_t ax = static_cast<size_t>(axis);
  bool ok = index.shape.size() == x.shape.size() && out.shape == index.shape;
  for (size_t d = 0; ok && d < x.shape.size(); ++d) ok = d == ax || index.shape[d] <= x.shape[d];
  if (!ok) {
    return invalid_argument("gather: index ", shape_text(index.shape),
                            " must have the rank of x ", shape_text(x.shape),
                            " and no larger dims except along axis ", axis,
                            ", and the output must have its shape (got ", shape_text(out.shape),
                            ")");
  }
  if (out.numel() == 0) return ok_status();
  if (rank > kMaxDims) {
    return unsupported("gather: rank ", rank, " is above the CUDA kernel's ", kMaxDims);
  }
  GatherDims p{};
  int64_t n = 1;
  if (rank == 0) {  // one element: x[idx] with idx == 0
    p.rank = 1;
    p.axis = 0;
    p.size[0] = 1;
    p.x_stride[0] = 1;
  } else {
    const std::vector<int64_t> xs = contiguous_strides(x.shape);
    p.rank = static_cast<int>(rank);
    p.axis = static_cast<int>(ax);
    for (int64_t d = 0; d < rank; ++d) {
      p.size[d] = index.shape[static_cast<size_t>(d)];
      p.x_stride[d] = xs[static_cast<size_t>(d)];
    }
    n = x.shape[ax];
  }
  const int64_t total = out.numel();
  cudaStream_t stream = stream_of(args);
  KILN_RETURN_IF_ERROR(visit_index("gather", index.dtype, [&](auto itag) -> Status {
    using I = decltype(itag);
    return visit_bytes("gather", dtype_size(x.dtype), [&](auto etag) -> Status {
      using E = decltype(etag);
      gather_kernel<E, I><<<blocks_for(total), kThreads, 0, stream>>>(
          static_cast<const E*>(x.data), static_cast<const I*>(index.data),
          static_cast<E*>(out.data), total, p, n);
      return ok_status();
    });
  }));
  KILN_CUDA_RETURN_IF_ERROR(cudaGetLastError());
  return ok_status();
}

// ---- accepts ------------------------------------------------------------------------------------

bool index_accepts(const Node& node, std::span<const TensorType> input_types, std::string* why,
                   int64_t max_rank) {
  std::vector<const TensorType*> inputs;
  std::vector<TensorType> outputs;
  if (!cuda_move::typed_node(node, input_types, max_rank, inputs, outputs, why)) return false;
  if (inputs.size() != 2 || inputs[1] == nullptr) return cuda_move::refuse(why, "expected 2 inputs");
  if (!dtype_is_int(inputs[1]->dtype)) {
    return cuda_move::refuse(why, str_cat("indices are ", dtype_name(inputs[1]->dtype),
                                          "; the CUDA kernel takes i64, i32, i8 or u8"));
  }
  return true;
}

bool take_accepts(const Node& node, std::span<const TensorType> input_types, std::string* why) {
  return index_accepts(node, input_types, why, INT64_MAX);  // viewed as [outer, m, inner]
}

bool gather_accepts(const Node& node, std::span<const TensorType> input_types, std::string* why) {
  return index_accepts(node, input_types, why, kMaxDims);
}

const Kernel kIndexKernels[] = {
    {"cuda.take", OpKind::kTake, DeviceKind::kCuda, 1, &take_accepts, &take_run},
    {"cuda.gather", OpKind::kGather, DeviceKind::kCuda, 1, &gather_accepts, &gather_run},
};

}  // namespace

std::span<const Kernel> cuda_index_kernels() { return kIndexKernels; }

}  // namespace kiln
