// CUDA kernels for softmax and log_softmax along one axis, with the reference's numerics
// (src/kernels/reference/softmax.cc): max-subtracted, exp in f32, softmax = exp(x - max) * (1 /
// sum), log_softmax = (x - max) - log(sum); f16/bf16 are computed in f32 and rounded once. A row
// that holds a NaN or is entirely -inf gives NaN. The sum accumulates in f32 (the reference uses
// double), in a fixed tree order, so results are deterministic.
//
// The tensor is viewed as [outer, len, inner]. inner == 1 (the last axis, the common case): one
// warp per row for rows up to kWarpRowMax elements, else one block per row. inner > 1: one thread
// per (outer, inner) column, reading across the columns so that loads stay coalesced.
//
// Deliberately not here: caching rows in registers or shared memory (each row is read three
// times; the re-reads mostly hit L1/L2), and masked or "safe" softmax variants.
#include <cmath>

#include "families.h"
#include "reduce_common.cuh"

namespace kiln {
namespace {

using namespace cuda_reduce;

constexpr int64_t kWarpRowMax = 1024;
constexpr int kRowThreads = 256;  // threads of the warp-per-row kernel's blocks (8 rows a block)

// ---- Kernels ------------------------------------------------------------------------------------

template <typename T, bool kLog, bool kWarpPerRow>
__global__ void softmax_rows_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t rows,
                                    int64_t len) {
  const int lane = kWarpPerRow ? static_cast<int>(threadIdx.x & 31) : static_cast<int>(threadIdx.x);
  const int width = kWarpPerRow ? 32 : static_cast<int>(blockDim.x);
  const int64_t per_block = kWarpPerRow ? blockDim.x / 32 : 1;
  const int64_t first = blockIdx.x * per_block + (kWarpPerRow ? threadIdx.x / 32 : 0);
  // Every thread of a block runs the same number of iterations in the block-per-row case (the row
  // depends on blockIdx only), so block_reduce's barriers are uniform.
  for (int64_t row = first; row < rows; row += gridDim.x * per_block) {
    const T* p = x + row * len;
    T* q = y + row * len;
    // 1. Max along the row; 2. sum of exp(x - max); 3. normalise.
    float m = -INFINITY;
    for (int64_t i = lane; i < len; i += width) m = fmaxf(m, load_acc(p[i]));
    m = kWarpPerRow ? warp_reduce(m, MaxF{}) : block_reduce(m, MaxF{}, -INFINITY);
    float s = 0.0f;
    for (int64_t i = lane; i < len; i += width) s += expf(load_acc(p[i]) - m);
    s = kWarpPerRow ? warp_reduce(s, AddF{}) : block_reduce(s, AddF{}, 0.0f);
    if constexpr (kLog) {
      const float log_sum = logf(s);
      for (int64_t i = lane; i < len; i += width) {
        q[i] = from_float<T>(__fsub_rn(__fsub_rn(load_acc(p[i]), m), log_sum));
      }
    } else {
      const float inv = 1.0f / s;
      for (int64_t i = lane; i < len; i += width) {
        q[i] = from_float<T>(__fmul_rn(expf(load_acc(p[i]) - m), inv));
      }
    }
  }
}

template <typename T, bool kLog>
__global__ void softmax_cols_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t outer,
                                    int64_t len, int64_t inner) {
  const int64_t columns = outer * inner;
  for (int64_t c = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; c < columns;
       c += int64_t{gridDim.x} * blockDim.x) {
    const int64_t o = c / inner, j = c % inner;
    const T* p = x + o * len * inner + j;
    T* q = y + o * len * inner + j;
    float m = -INFINITY;
    for (int64_t a = 0; a < len; ++a) m = fmaxf(m, load_acc(p[a * inner]));
    float s = 0.0f;
    for (int64_t a = 0; a < len; ++a) s += expf(load_acc(p[a * inner]) - m);
    if constexpr (kLog) {
      const float log_sum = logf(s);
      for (int64_t a = 0; a < len; ++a) {
        q[a * inner] = from_float<T>(__fsub_rn(__fsub_rn(load_acc(p[a * inner]), m), log_sum));
      }
    } else {
      const float inv = 1.0f / s;
      for (int64_t a = 0; a < len; ++a) {
        q[a * inner] = from_float<T>(__fmul_rn(expf(load_acc(p[a * inner]) - m), inv));
      }
    }
  }
}

// ---- Launchers ----------------------------------------------------------------------------------

template <typename T, bool kLog>
Status launch_softmax(const T* x, T* y, int64_t outer, int64_t len, int64_t inner,
                      cudaStream_t stream) {
  if (inner == 1 && len <= kWarpRowMax) {
    const int64_t rows_per_block = kRowThreads / 32;
    const int64_t blocks = std::min(ceil_div(outer, rows_per_block), kMaxGridX);
    softmax_rows_kernel<T, kLog, true>
        <<<static_cast<unsigned>(blocks), kRowThreads, 0, stream>>>(x, y, outer, len);
  } else if (inner == 1) {
    const int64_t blocks = std::min(outer, kMaxGridX);
    softmax_rows_kernel<T, kLog, false>
        <<<static_cast<unsigned>(blocks), block_threads_for(len, 1024), 0, stream>>>(x, y, outer,
                                                                                     len);
  } else {
    const int threads = 256;
    const int64_t blocks = std::min(ceil_div(outer * inner, threads), kMaxGridX);
    softmax_cols_kernel<T, kLog>
        <<<static_cast<unsigned>(blocks), threads, 0, stream>>>(x, y, outer, len, inner);
  }
  KILN_CUDA_RETURN_IF_ERROR(cudaGetLastError());
  return ok_status();
}

// ---- Entry points -------------------------------------------------------------------------------

bool softmax_accepts(const Node& node, std::span<const TensorType> input_types, std::string* why) {
  std::vector<const TensorType*> inputs;
  std::vector<TensorType> outputs;
  if (!typed_node(node, input_types, inputs, outputs, why)) return false;
  if (inputs.size() != 1 || inputs[0] == nullptr) return refuse(why, "expected one input");
  const DType t = inputs[0]->dtype;
  if (t != DType::kF32 && t != DType::kF16 && t != DType::kBF16) {
    return refuse(why, str_cat("input is ", dtype_name(t), "; the kernel takes f32, f16, bf16"));
  }
  return true;
}

Status softmax_run(std::string_view op, const KernelArgs& args, bool log) {
  if (args.inputs.size() != 1 || args.outputs.size() != 1) {
    return invalid_argument(op, ": expected 1 input and 1 output, got ", args.inputs.size(),
                            " and ", args.outputs.size());
  }
  KILN_RETURN_IF_ERROR(check_buffers(op, args));
  const TensorView& x = args.inputs[0];
  const TensorView& y = args.outputs[0];
  if (y.shape != x.shape || y.dtype != x.dtype) {
    return invalid_argument(op, ": the output must have the input's dtype and shape");
  }
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  const int64_t r = std::max<int64_t>(rank, 1);
  const int64_t axis_attr = args.node.attrs_as<AxisAttrs>().axis;
  const int64_t axis = axis_attr < 0 ? axis_attr + r : axis_attr;
  if (axis < 0 || axis >= r) {
    return invalid_argument(op, ": axis ", axis_attr, " is out of range for rank ", rank);
  }
  int64_t outer = 1, len = 1, inner = 1;
  for (int64_t i = 0; i < rank; ++i) {
    (i < axis ? outer : (i == axis ? len : inner)) *= x.shape[static_cast<size_t>(i)];
  }
  if (x.numel() == 0) return ok_status();
  return dispatch_float(x.dtype, op, [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    const T* xp = static_cast<const T*>(x.data);
    T* yp = static_cast<T*>(y.data);
    return log ? launch_softmax<T, true>(xp, yp, outer, len, inner, stream_of(args))
               : launch_softmax<T, false>(xp, yp, outer, len, inner, stream_of(args));
  });
}

Status softmax_entry(const KernelArgs& args) { return softmax_run("softmax", args, false); }
Status log_softmax_entry(const KernelArgs& args) { return softmax_run("log_softmax", args, true); }

const Kernel kSoftmaxKernels[] = {
    {"cuda.softmax", OpKind::kSoftmax, DeviceKind::kCuda, 1, &softmax_accepts, &softmax_entry},
    {"cuda.log_softmax", OpKind::kLogSoftmax, DeviceKind::kCuda, 1, &softmax_accepts,
     &log_softmax_entry},
};

}  // namespace

std::span<const Kernel> cuda_softmax_kernels() { return kSoftmaxKernels; }

}  // namespace kiln
