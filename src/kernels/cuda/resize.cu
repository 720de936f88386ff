// CUDA kernel for resize (torch.nn.functional.interpolate) of x[N, C, *spatial] with 1 to 3
// spatial dims, with the reference's semantics and numerics (src/kernels/reference/resize.cc):
// - nearest: src = min(floor(dst * scale), in - 1);
// - bilinear (linear along each spatial dim): with align_corners src = dst * (in - 1) / (out - 1),
//   else max(0, (dst + 0.5) * scale - 0.5); neighbours floor(src) and floor(src) + 1 (clamped),
//   weighted by the fractional part; an unchanged size copies.
// The scales are computed on the host exactly as the reference computes them, and every f32
// operation on the device is written with an explicit rounding intrinsic (no contraction into
// FMA), so the source indices, weights and blends equal the reference's bit for bit. The blend
// order is the reference's: along w, then h, then d.
//
// One thread per output element; spatial dims right-aligned into three. f32, f16 and bf16.
//
// Deliberately not here: nearest-exact, bicubic, area and antialiased modes (the importer rejects
// them), and caching taps in shared memory.
#include <algorithm>

#include "dtype.cuh"
#include "families.h"
#include "movement.cuh"

namespace kiln {
namespace {

using cuda::store_as;
using cuda::to_float;
using cuda_move::shape_text;

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = int64_t{1} << 20;

struct ResizeParams {
  int64_t planes;
  int64_t in[3], out[3];
  float scale[3];
  bool spatial[3];  // false for the dims added to reach three (a single tap at 0)
  bool nearest;
  bool align_corners;
};

// The two source indices of one output coordinate and their weights.
struct Tap {
  int64_t i0, i1;
  float w0, w1;
};

__device__ inline Tap tap_for(const ResizeParams& p, int d, int64_t o) {
  Tap t{0, 0, 1.0f, 0.0f};
  if (!p.spatial[d]) return t;
  const int64_t in = p.in[d];
  if (p.nearest) {
    const float f = floorf(__fmul_rn(static_cast<float>(o), p.scale[d]));
    const int64_t src = min(static_cast<int64_t>(f), in - 1);
    t.i0 = t.i1 = src;
    return t;
  }
  if (p.out[d] == in) {  // torch copies whenever the size is unchanged
    t.i0 = t.i1 = o;
    return t;
  }
  const float fo = static_cast<float>(o);
  float src = p.align_corners ? __fmul_rn(p.scale[d], fo)
                              : __fsub_rn(__fmul_rn(p.scale[d], __fadd_rn(fo, 0.5f)), 0.5f);
  if (src < 0) src = 0;
  const int64_t i0 = min(static_cast<int64_t>(src), in - 1);
  const float lambda = fminf(fmaxf(__fsub_rn(src, static_cast<float>(i0)), 0.0f), 1.0f);
  t.i0 = i0;
  t.i1 = i0 < in - 1 ? i0 + 1 : i0;
  t.w0 = __fsub_rn(1.0f, lambda);
  t.w1 = lambda;
  return t;
}

// w0 * a + w1 * b, or a alone for a single-source tap (so that an infinite input stays infinite).
__device__ inline float blend(const Tap& t, float a, float b) {
  return t.i1 == t.i0 && t.w1 == 0.0f ? a : __fadd_rn(__fmul_rn(t.w0, a), __fmul_rn(t.w1, b));
}

template <typename T>
__global__ void resize_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t total,
                              ResizeParams p) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t in_plane = p.in[0] * p.in[1] * p.in[2];
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
       e += step) {
    const int64_t ow = e % p.out[2], oh = (e / p.out[2]) % p.out[1];
    const int64_t t = e / (p.out[2] * p.out[1]);
    const int64_t od = t % p.out[0], plane = t / p.out[0];
    const T* src = x + plane * in_plane;
    const Tap td = tap_for(p, 0, od), th = tap_for(p, 1, oh), tw = tap_for(p, 2, ow);
    const T* r00 = src + (td.i0 * p.in[1] + th.i0) * p.in[2];
    if (p.nearest) {
      y[e] = r00[tw.i0];
      continue;
    }
    const T* r01 = src + (td.i0 * p.in[1] + th.i1) * p.in[2];
    const T* r10 = src + (td.i1 * p.in[1] + th.i0) * p.in[2];
    const T* r11 = src + (td.i1 * p.in[1] + th.i1) * p.in[2];
    const float v0 = blend(th, blend(tw, to_float(r00[tw.i0]), to_float(r00[tw.i1])),
                           blend(tw, to_float(r01[tw.i0]), to_float(r01[tw.i1])));
    const float v1 = blend(th, blend(tw, to_float(r10[tw.i0]), to_float(r10[tw.i1])),
                           blend(tw, to_float(r11[tw.i0]), to_float(r11[tw.i1])));
    y[e] = store_as<T>(blend(td, v0, v1));
  }
}

// torch's compute_scales_value, as the reference computes it: 1 / scale_factor if given (> 0),
// else in / out.
float scale_value(const std::vector<double>& scales, size_t i, int64_t in, int64_t out) {
  if (i < scales.size() && scales[i] > 0) return static_cast<float>(1.0 / scales[i]);
  return static_cast<float>(in) / static_cast<float>(out);
}

Status resize_run(const KernelArgs& args) {
  // 1. Validate, as the reference does.
  if (args.inputs.size() != 1 || args.outputs.size() != 1) {
    return invalid_argument("resize: expected 1 input and 1 output, got ", args.inputs.size(),
                            " and ", args.outputs.size());
  }
  KILN_RETURN_IF_ERROR(cuda_move::check_buffers("resize", args, true));
  const ResizeAttrs& at = args.node.attrs_as<ResizeAttrs>();
  const TensorView& x = args.inputs[0];
  const TensorView& out = args.outputs[0];
  const size_t rank = x.shape.size();
  if (rank < 3 || rank > 5 || out.shape.size() != rank || out.shape[0] != x.shape[0] ||
      out.shape[1] != x.shape[1]) {
    return invalid_argument("resize: expected x[N, C, *spatial] with 1 to 3 spatial dims and an ",
                            "output with the same N and C, got x", shape_text(x.shape),
                            " and output", shape_text(out.shape));
  }
  const size_t nsp = rank - 2;
  if ((!at.size.empty() && at.size.size() != nsp) ||
      (!at.scales.empty() && at.scales.size() != nsp)) {
    return invalid_argument("resize: size and scales need one entry per spatial dim (", nsp,
                            "), got ", at.size.size(), " and ", at.scales.size());
  }
  // 2. Parameters: the scale of each spatial dim.
  ResizeParams p{};
  p.planes = x.shape[0] * x.shape[1];
  p.nearest = at.mode == ResizeMode::kNearest;
  p.align_corners = at.align_corners;
  for (int d = 0; d < 3; ++d) {
    p.in[d] = p.out[d] = 1;
    p.scale[d] = 0.0f;
    p.spatial[d] = false;
  }
  for (size_t i = 0; i < nsp; ++i) {
    const size_t d = 3 - nsp + i;
    p.in[d] = x.shape[2 + i];
    p.out[d] = out.shape[2 + i];
    p.spatial[d] = true;
    if (p.in[d] == 0 && p.out[d] > 0) {
      return invalid_argument("resize: cannot resize an empty spatial dim ", i, " to ", p.out[d]);
    }
    if (p.out[d] == 0) continue;
    if (!p.nearest && at.align_corners) {
      p.scale[d] = p.out[d] > 1 ? static_cast<float>(p.in[d] - 1) / static_cast<float>(p.out[d] - 1)
                                : 0.0f;
    } else {
      p.scale[d] = scale_value(at.scales, i, p.in[d], p.out[d]);
    }
  }
  const int64_t total = out.numel();
  if (total == 0) return ok_status();
  if (x.dtype != DType::kF32 && x.dtype != DType::kF16 && x.dtype != DType::kBF16) {
    return unsupported("resize: the CUDA kernel takes f32, f16 or bf16, got ",
                       dtype_name(x.dtype));
  }
  // 3. Launch.
  const unsigned blocks =
      static_cast<unsigned>(std::min((total + kThreads - 1) / kThreads, kMaxBlocks));
  cudaStream_t stream = cuda_move::stream_of(args);
  KILN_RETURN_IF_ERROR(cuda::visit_float_dtype(x.dtype, "resize", [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    resize_kernel<T><<<blocks, kThreads, 0, stream>>>(static_cast<const T*>(x.data),
                                                      static_cast<T*>(out.data), total, p);
    return ok_status();
  }));
  KILN_CUDA_RETURN_IF_ERROR(cudaGetLastError());
  return ok_status();
}

bool resize_accepts(const Node& node, std::span<const TensorType> input_types, std::string* why) {
  std::vector<const TensorType*> inputs;
  std::vector<TensorType> outputs;
  if (!cuda_move::typed_node(node, input_types, 5, inputs, outputs, why)) return false;
  if (inputs.size() != 1 || inputs[0] == nullptr) return cuda_move::refuse(why, "expected 1 input");
  const DType t = inputs[0]->dtype;
  if (t != DType::kF32 && t != DType::kF16 && t != DType::kBF16) {
    return cuda_move::refuse(why, str_cat("input is ", dtype_name(t),
                                          "; the CUDA kernel takes f32, f16 or bf16"));
  }
  if (inputs[0]->rank() < 3) {
    return cuda_move::refuse(why, "expected x[N, C, *spatial] with 1 to 3 spatial dims");
  }
  return true;
}

const Kernel kResizeKernels[] = {
    {"cuda.resize", OpKind::kResize, DeviceKind::kCuda, 1, &resize_accepts, &resize_run},
};

}  // namespace

std::span<const Kernel> cuda_resize_kernels() { return kResizeKernels; }

}  // namespace kiln
