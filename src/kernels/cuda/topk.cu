// CUDA kernel for topk with the reference's semantics (src/kernels/reference/reduce.cc): along one
// axis, the k largest (or smallest) values sorted best first with their i64 indices; equal values
// keep index order (the lower index first), and NaN counts as the largest value (first when
// largest, last when smallest). Values are copied unchanged (NaN payloads included).
//
// This is the correctness fallback, by ranking: one thread per input element computes its rank in
// its line under that strict total order (the number of elements of the line that come before
// it) and, if the rank is below k, writes itself to position `rank` of the outputs. Ranks in a
// line are a permutation of [0, n), so each output element is written exactly once. O(n) reads
// per element: fine for the sizes a fallback meets, slow for a vocabulary-sized axis.
// Float types compare as float (exact for f16/bf16/f32, as the reference's double), integers as
// int64. f32, f16, bf16, i64, i32, i8 and u8.
//
// Deliberately not here: radix select / bitonic sorts and splitting a long line over a block.
#include <algorithm>

#include "dtype.cuh"
#include "families.h"
#include "movement.cuh"

namespace kiln {
namespace {

using cuda_move::shape_text;

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = int64_t{1} << 20;

// True if a comes before b in "largest" order (NaN largest). Not a tie-break: equal keys are false.
template <typename C>
__device__ __forceinline__ bool key_greater(C a, C b) {
  if constexpr (std::is_same_v<C, float>) {
    if (isnan(a)) return !isnan(b);
    if (isnan(b)) return false;
  }
  return a > b;
}

// The input is [outer, n, inner]; element e = (o, j, i). Outputs are [outer, k, inner].
template <typename T>
__global__ void topk_rank_kernel(const T* __restrict__ x, T* __restrict__ values,
                                 int64_t* __restrict__ indices, int64_t total, int64_t n,
                                 int64_t inner, int64_t k, bool largest) {
  using C = cuda::ComputeOf<T>;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
       e += step) {
    const int64_t i = e % inner;
    const int64_t j = (e / inner) % n;
    const int64_t o = e / (inner * n);
    const T* line = x + o * n * inner + i;
    const C mine = cuda::load_as<C>(line[j * inner]);
    int64_t rank = 0;
    for (int64_t m = 0; m < n && rank < k; ++m) {
      if (m == j) continue;
      const C other = cuda::load_as<C>(line[m * inner]);
      const bool first = largest ? key_greater(other, mine) : key_greater(mine, other);
      const bool second = largest ? key_greater(mine, other) : key_greater(other, mine);
      if (first || (!second && m < j)) ++rank;
    }
    if (rank < k) {
      const int64_t to = (o * k + rank) * inner + i;
      values[to] = line[j * inner];
      indices[to] = j;
    }
  }
}

Status topk_run(const KernelArgs& args) {
  // 1. Validate as the reference: one input, outputs (values of its dtype, i64 indices).
  if (args.inputs.size() != 1 || args.outputs.size() != 2) {
    return invalid_argument("topk: expected 1 input and 2 outputs, got ", args.inputs.size(),
                            " and ", args.outputs.size());
  }
  KILN_RETURN_IF_ERROR(cuda_move::check_buffers("topk", args, false));
  const TopKAttrs& a = args.node.attrs_as<TopKAttrs>();
  const TensorView& in = args.inputs[0];
  const TensorView& values = args.outputs[0];
  const TensorView& indices = args.outputs[1];
  const int64_t rank = static_cast<int64_t>(in.shape.size());
  KILN_ASSIGN_OR_RETURN(int64_t axis,
                        cuda_move::normalize_axis("topk", a.axis, std::max<int64_t>(rank, 1)));
  int64_t outer = 1, n = 1, inner = 1;
  for (int64_t d = 0; d < rank; ++d) {
    if (d < axis) outer *= in.shape[d];
    if (d == axis) n = in.shape[d];
    if (d > axis) inner *= in.shape[d];
  }
  if (a.k < 0 || a.k > n) {
    return invalid_argument("topk: k = ", a.k, " is out of range for an axis of size ", n,
                            " (input ", shape_text(in.shape), ")");
  }
  if (values.dtype != in.dtype || indices.dtype != DType::kI64) {
    return invalid_argument("topk: the outputs must be ", dtype_name(in.dtype), " and i64, got ",
                            dtype_name(values.dtype), " and ", dtype_name(indices.dtype));
  }
  const int64_t want = outer * a.k * inner;
  if (values.numel() != want || indices.numel() != want) {
    return invalid_argument("topk: the outputs ", shape_text(values.shape), " and ",
                            shape_text(indices.shape), " should have ", want, " elements");
  }
  if (in.dtype == DType::kBool || in.dtype == DType::kF64) {
    return unsupported("topk: the CUDA kernel does not take ", dtype_name(in.dtype));
  }
  const int64_t total = in.numel();
  if (total == 0 || want == 0) return ok_status();

  // 2. One thread per input element: its rank, and a write if it is among the k first.
  const unsigned blocks =
      static_cast<unsigned>(std::min((total + kThreads - 1) / kThreads, kMaxBlocks));
  cudaStream_t stream = cuda_move::stream_of(args);
  KILN_RETURN_IF_ERROR(cuda::visit_dtype(in.dtype, "topk", [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, cuda::Bool8>) {
      return unsupported("topk: the CUDA kernel does not take bool");
    } else {
      topk_rank_kernel<T><<<blocks, kThreads, 0, stream>>>(
          static_cast<const T*>(in.data), static_cast<T*>(values.data),
          static_cast<int64_t*>(indices.data), total, n, inner, a.k, a.largest);
      return ok_status();
    }
  }));
  KILN_CUDA_RETURN_IF_ERROR(cudaGetLastError());
  return ok_status();
}

bool topk_accepts(const Node& node, std::span<const TensorType> input_types, std::string* why) {
  std::vector<const TensorType*> inputs;
  std::vector<TensorType> outputs;
  if (!cuda_move::typed_node(node, input_types, INT64_MAX, inputs, outputs, why)) return false;
  if (inputs.size() != 1 || inputs[0] == nullptr) return cuda_move::refuse(why, "expected 1 input");
  const DType t = inputs[0]->dtype;
  if (t == DType::kBool || t == DType::kF64) {
    return cuda_move::refuse(why, str_cat("input is ", dtype_name(t),
                                          "; the CUDA kernel takes float and integer types"));
  }
  return true;
}

const Kernel kTopKKernels[] = {
    {"cuda.topk", OpKind::kTopK, DeviceKind::kCuda, 1, &topk_accepts, &topk_run},
};

}  // namespace

std::span<const Kernel> cuda_topk_kernels() { return kTopKKernels; }

}  // namespace kiln
