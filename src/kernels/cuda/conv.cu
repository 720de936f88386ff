// CUDA kernels for conv and conv_transpose with 1 to 3 spatial dims, groups, stride, padding,
// dilation, output_padding and an optional bias, with the reference's semantics
// (src/kernels/reference/conv.cc): NCHW / NCDHW, weight [O, C/g, *k] for conv and [C, O/g, *k]
// for conv_transpose, torch's output-size formulas. The spatial dims are right-aligned into three
// (leading ones of size 1), as in the reference.
//
// These are the correctness fallbacks: one thread per output element, an f32 accumulator that
// starts at the bias (as the reference's does) and adds every tap that lands inside the input;
// conv_transpose gathers instead of scattering (input position i reaches output
// o = i * stride - pad + tap * dilation, so i = (o + pad - tap * dilation) / stride where that
// divides exactly). The reference sums in another order (im2col + blocked GEMM), so results agree
// to f32 rounding, not bit for bit; f16/bf16 are rounded once. f32, f16 and bf16.
//
// conv also takes ConvAttrs' fused epilogue and layout: y = activation(conv + bias + residual), the
// residual (input 3, the output's shape) added and the activation (activation.cuh) applied in f32
// before the one rounding, as the reference does; with channels_last, x [N, *sp, C], w [O, *k, C/g]
// and y [N, *sp', O], the same sums indexed in that layout.
//
// Depthwise channels_last convs (groups == C_in == C_out: ConvNeXt's 7x7, MobileNet's and
// EfficientNet's 3x3 / 5x5), which cuDNN's fp16 NHWC heuristics serve badly, take
// depthwise_kernel: 32-bit indices, and kVec consecutive channels per thread (one vector load of x
// per tap when C % kVec == 0 and the pointers allow), so the index arithmetic and bounds checks of
// a tap are paid once for kVec outputs. Each output element still sums the same taps in the same
// order with the same fmaf as conv_kernel, so the bits are the same.
//
// Deliberately not here: cuDNN (conv_cudnn sits in front of this kernel), implicit-GEMM or
// tensor-core paths, and padding modes other than zeros (the importer emits a pad op).
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "activation.cuh"
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

// Geometry of one convolution, passed by value. For conv_transpose `in` and `out` keep their
// meaning (x's and the output's spatial sizes).
struct ConvParams {
  int64_t n, c_in, c_out, groups;
  int64_t in[3], out[3], k[3];
  int64_t stride[3], pad[3], dil[3];
};

// ---- Kernels ------------------------------------------------------------------------------------

// y[b, co, o] = act(bias[co] + residual[b, co, o] + sum over ci in co's group and taps t of
//   w[co, ci, t] * x[b, ci, o * s - p + t * d]) (taps landing in the padding add nothing).
// kChannelsLast: the same with x[b, *i, ci], w[co, *t, ci], y and residual [b, *o, co].
template <typename T, bool kChannelsLast>
__global__ void conv_kernel(const T* __restrict__ x, const T* __restrict__ w,
                            const T* __restrict__ bias, const T* __restrict__ residual,
                            T* __restrict__ y, int64_t total, ConvParams p, Activation act) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t in_plane = p.in[0] * p.in[1] * p.in[2];
  const int64_t k_size = p.k[0] * p.k[1] * p.k[2];
  const int64_t cg = p.c_in / p.groups, og = p.c_out / p.groups;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
       e += step) {
    int64_t t = e, co = 0;
    if constexpr (kChannelsLast) {
      co = t % p.c_out;
      t /= p.c_out;
    }
    const int64_t ow = t % p.out[2];
    t /= p.out[2];
    const int64_t oh = t % p.out[1];
    t /= p.out[1];
    const int64_t od = t % p.out[0];
    t /= p.out[0];
    if constexpr (!kChannelsLast) {
      co = t % p.c_out;
      t /= p.c_out;
    }
    const int64_t b = t;
    const int64_t g = co / og;
    float acc = bias != nullptr ? to_float(bias[co]) : 0.0f;
    for (int64_t kd = 0; kd < p.k[0]; ++kd) {
      const int64_t id = od * p.stride[0] - p.pad[0] + kd * p.dil[0];
      if (id < 0 || id >= p.in[0]) continue;
      for (int64_t kh = 0; kh < p.k[1]; ++kh) {
        const int64_t ih = oh * p.stride[1] - p.pad[1] + kh * p.dil[1];
        if (ih < 0 || ih >= p.in[1]) continue;
        for (int64_t kw = 0; kw < p.k[2]; ++kw) {
          const int64_t iw = ow * p.stride[2] - p.pad[2] + kw * p.dil[2];
          if (iw < 0 || iw >= p.in[2]) continue;
          const int64_t ipos = (id * p.in[1] + ih) * p.in[2] + iw;
          const int64_t kpos = (kd * p.k[1] + kh) * p.k[2] + kw;
          if constexpr (kChannelsLast) {
            const T* xp = x + (b * in_plane + ipos) * p.c_in + g * cg;
            const T* wp = w + (co * k_size + kpos) * cg;
            for (int64_t cl = 0; cl < cg; ++cl) acc = fmaf(to_float(wp[cl]), to_float(xp[cl]), acc);
          } else {
            const T* xp = x + (b * p.c_in + g * cg) * in_plane + ipos;
            const T* wp = w + co * cg * k_size + kpos;
            for (int64_t cl = 0; cl < cg; ++cl) {
              acc = fmaf(to_float(wp[cl * k_size]), to_float(xp[cl * in_plane]), acc);
            }
          }
        }
      }
    }
    if (residual != nullptr) acc += to_float(residual[e]);
    y[e] = store_as<T>(cuda::apply_activation(act, acc));
  }
}

// The depthwise channels_last conv_kernel (groups == C_in == C_out), in 32-bit indices: `e` runs
// over groups of kVec consecutive channels of one output position, flat index e * kVec + j.
struct DepthwiseParams {
  int32_t c, in[3], out[3], k[3], stride[3], pad[3], dil[3];
};

template <typename T, int kVec>
struct alignas(sizeof(T) * kVec) Lanes {
  T v[kVec];
};

template <typename T, int kVec>
__global__ void depthwise_kernel(const T* __restrict__ x, const T* __restrict__ w,
                                 const T* __restrict__ bias, const T* __restrict__ residual,
                                 T* __restrict__ y, int32_t groups_total, DepthwiseParams p,
                                 Activation act) {
  const int32_t c_groups = p.c / kVec;
  const int32_t k_size = p.k[0] * p.k[1] * p.k[2];
  for (int32_t e = blockIdx.x * blockDim.x + threadIdx.x; e < groups_total;
       e += gridDim.x * blockDim.x) {
    int32_t t = e / c_groups;
    const int32_t c0 = (e - t * c_groups) * kVec;
    const int32_t ow = t % p.out[2];
    t /= p.out[2];
    const int32_t oh = t % p.out[1];
    t /= p.out[1];
    const int32_t od = t % p.out[0];
    const int32_t b = t / p.out[0];
    float acc[kVec];
#pragma unroll
    for (int j = 0; j < kVec; ++j) acc[j] = bias != nullptr ? to_float(bias[c0 + j]) : 0.0f;
    const T* wc = w + c0 * k_size;
    for (int32_t kd = 0; kd < p.k[0]; ++kd) {
      const int32_t id = od * p.stride[0] - p.pad[0] + kd * p.dil[0];
      if (id < 0 || id >= p.in[0]) continue;
      for (int32_t kh = 0; kh < p.k[1]; ++kh) {
        const int32_t ih = oh * p.stride[1] - p.pad[1] + kh * p.dil[1];
        if (ih < 0 || ih >= p.in[1]) continue;
        const int32_t row = (b * p.in[0] + id) * p.in[1] + ih;
        for (int32_t kw = 0; kw < p.k[2]; ++kw) {
          const int32_t iw = ow * p.stride[2] - p.pad[2] + kw * p.dil[2];
          if (iw < 0 || iw >= p.in[2]) continue;
          const Lanes<T, kVec> xv =
              *reinterpret_cast<const Lanes<T, kVec>*>(x + (row * p.in[2] + iw) * p.c + c0);
          const int32_t kpos = (kd * p.k[1] + kh) * p.k[2] + kw;
#pragma unroll
          for (int j = 0; j < kVec; ++j) {
            acc[j] = fmaf(to_float(wc[j * k_size + kpos]), to_float(xv.v[j]), acc[j]);
          }
        }
      }
    }
    Lanes<T, kVec> out;
#pragma unroll
    for (int j = 0; j < kVec; ++j) {
      float v = acc[j];
      if (residual != nullptr) v += to_float(residual[e * kVec + j]);
      out.v[j] = store_as<T>(cuda::apply_activation(act, v));
    }
    *reinterpret_cast<Lanes<T, kVec>*>(y + e * kVec) = out;
  }
}

// Input index i along one dim that reaches output o through tap t, or -1: o = i * s - p + t * d.
__device__ __forceinline__ int64_t transpose_source(int64_t o, int64_t t, int64_t s, int64_t pad,
                                                    int64_t d, int64_t n) {
  const int64_t num = o + pad - t * d;
  if (num < 0 || num % s != 0) return -1;
  const int64_t i = num / s;
  return i < n ? i : -1;
}

// y[b, co, o] = bias[co] + sum over ci in co's group and taps t reaching o of
//   w[ci, co % (C_out / groups), t] * x[b, ci, i].
template <typename T>
__global__ void conv_transpose_kernel(const T* __restrict__ x, const T* __restrict__ w,
                                      const T* __restrict__ bias, T* __restrict__ y,
                                      int64_t total, ConvParams p) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t in_plane = p.in[0] * p.in[1] * p.in[2];
  const int64_t k_size = p.k[0] * p.k[1] * p.k[2];
  const int64_t cg = p.c_in / p.groups, og = p.c_out / p.groups;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
       e += step) {
    const int64_t ow = e % p.out[2];
    int64_t t = e / p.out[2];
    const int64_t oh = t % p.out[1];
    t /= p.out[1];
    const int64_t od = t % p.out[0];
    t /= p.out[0];
    const int64_t co = t % p.c_out, b = t / p.c_out;
    const int64_t g = co / og, col = co % og;
    float acc = bias != nullptr ? to_float(bias[co]) : 0.0f;
    for (int64_t cl = 0; cl < cg; ++cl) {
      const int64_t ci = g * cg + cl;
      const T* xp = x + (b * p.c_in + ci) * in_plane;
      const T* wp = w + (ci * og + col) * k_size;
      for (int64_t kd = 0; kd < p.k[0]; ++kd) {
        const int64_t id = transpose_source(od, kd, p.stride[0], p.pad[0], p.dil[0], p.in[0]);
        if (id < 0) continue;
        for (int64_t kh = 0; kh < p.k[1]; ++kh) {
          const int64_t ih = transpose_source(oh, kh, p.stride[1], p.pad[1], p.dil[1], p.in[1]);
          if (ih < 0) continue;
          const T* row = xp + (id * p.in[1] + ih) * p.in[2];
          const T* wrow = wp + (kd * p.k[1] + kh) * p.k[2];
          for (int64_t kw = 0; kw < p.k[2]; ++kw) {
            const int64_t iw = transpose_source(ow, kw, p.stride[2], p.pad[2], p.dil[2], p.in[2]);
            if (iw < 0) continue;
            acc = fmaf(to_float(wrow[kw]), to_float(row[iw]), acc);
          }
        }
      }
    }
    y[e] = store_as<T>(acc);
  }
}

// ---- Host: validation (as the reference's) ------------------------------------------------------

// Every required input (the first `required`) and every output has a device buffer unless it is
// empty; a later input with a null buffer is an absent optional one.
Status check_device_buffers(std::string_view op, const KernelArgs& args, size_t required) {
  for (size_t i = 0; i < args.inputs.size() && i < required; ++i) {
    if (args.inputs[i].data == nullptr && args.inputs[i].numel() > 0) {
      return invalid_argument(op, ": input ", i, " has no device buffer");
    }
  }
  for (size_t i = 0; i < args.outputs.size(); ++i) {
    if (args.outputs[i].data == nullptr && args.outputs[i].numel() > 0) {
      return invalid_argument(op, ": output ", i, " has no device buffer");
    }
  }
  return ok_status();
}

// One entry per spatial dim, or empty for `fallback` everywhere; right-aligned into out[3].
Status read_spatial(std::string_view op, std::string_view name, const std::vector<int64_t>& v,
                    size_t nsp, int64_t fallback, int64_t min_value, int64_t* out) {
  if (!v.empty() && v.size() != nsp) {
    return invalid_argument(op, ": ", name, " has ", v.size(), " entries for ", nsp,
                            " spatial dims");
  }
  for (size_t i = 0; i < nsp; ++i) {
    const int64_t x = v.empty() ? fallback : v[i];
    if (x < min_value) {
      return invalid_argument(op, ": ", name, "[", i, "] = ", x, ", expected >= ", min_value);
    }
    out[3 - nsp + i] = x;
  }
  return ok_status();
}

// x[N, C, *sp], w[A, B, *k], bias[C_out]?, residual (conv only, up to `max_inputs` = 4) of the
// output's shape, output of x's rank; with channels_last x[N, *sp, C], w[A, *k, B] and output
// [N, *sp', C_out]. Fills sizes and spatial dims.
Status conv_operands(std::string_view op, const KernelArgs& args, size_t max_inputs,
                     bool channels_last, ConvParams& p, size_t& nsp) {
  if (args.inputs.size() < 2 || args.inputs.size() > max_inputs || args.outputs.size() != 1) {
    return invalid_argument(op, ": expected 2 to ", max_inputs, " inputs and 1 output, got ",
                            args.inputs.size(), " and ", args.outputs.size());
  }
  KILN_RETURN_IF_ERROR(check_device_buffers(op, args, 2));
  const TensorView& x = args.inputs[0];
  const TensorView& w = args.inputs[1];
  const TensorView& out = args.outputs[0];
  if (x.dtype != DType::kF32 && x.dtype != DType::kF16 && x.dtype != DType::kBF16) {
    return unsupported(op, ": the CUDA kernel takes f32, f16 or bf16, got ", dtype_name(x.dtype));
  }
  bool same_dtype = w.dtype == x.dtype && out.dtype == x.dtype;
  for (size_t i = 2; i < args.inputs.size(); ++i) {
    same_dtype = same_dtype && (args.inputs[i].data == nullptr || args.inputs[i].dtype == x.dtype);
  }
  if (!same_dtype) {
    return invalid_argument(op, ": weight, bias, residual and output must have x's dtype ",
                            dtype_name(x.dtype));
  }
  if (x.shape.size() < 3 || x.shape.size() > 5 || w.shape.size() != x.shape.size() ||
      out.shape.size() != x.shape.size()) {
    return invalid_argument(op, ": expected x",
                            channels_last ? "[N, *spatial, C]" : "[N, C, *spatial]",
                            " with 1 to 3 spatial dims and a weight and output of its rank, got x",
                            shape_text(x.shape), ", weight", shape_text(w.shape), ", output",
                            shape_text(out.shape));
  }
  nsp = x.shape.size() - 2;
  for (int d = 0; d < 3; ++d) {
    p.in[d] = p.out[d] = p.k[d] = p.stride[d] = p.dil[d] = 1;
    p.pad[d] = 0;
  }
  const size_t sp0 = channels_last ? 1 : 2, c_axis = channels_last ? x.shape.size() - 1 : 1;
  for (size_t i = 0; i < nsp; ++i) {
    p.in[3 - nsp + i] = x.shape[sp0 + i];
    p.k[3 - nsp + i] = w.shape[sp0 + i];
    p.out[3 - nsp + i] = out.shape[sp0 + i];
  }
  p.n = x.shape[0];
  p.c_in = x.shape[c_axis];
  p.c_out = out.shape[c_axis];
  if (args.inputs.size() >= 3 && args.inputs[2].data != nullptr &&
      args.inputs[2].shape != ConcreteShape{p.c_out}) {
    return invalid_argument(op, ": bias", shape_text(args.inputs[2].shape), ", expected [",
                            p.c_out, "]");
  }
  if (args.inputs.size() == 4 && args.inputs[3].data != nullptr &&
      args.inputs[3].shape != out.shape) {
    return invalid_argument(op, ": residual (input 3)", shape_text(args.inputs[3].shape),
                            " must have the output's shape", shape_text(out.shape));
  }
  return ok_status();
}

// ---- Host: launch -------------------------------------------------------------------------------

// Whether depthwise_kernel takes this conv: channels_last, groups == C_in == C_out, and every
// index of x, w and y (plus a grid stride, at most 2^28) fits in 32 bits.
bool takes_depthwise(const KernelArgs& args, const ConvParams& p, bool channels_last) {
  constexpr int64_t kMax = int64_t{1} << 30;
  return channels_last && p.groups == p.c_in && p.c_in == p.c_out && p.c_in > 0 &&
         args.inputs[0].numel() < kMax && args.outputs[0].numel() < kMax &&
         args.inputs[1].numel() < kMax;
}

template <typename T>
Status launch_depthwise(const KernelArgs& args, const ConvParams& p, Activation act,
                        const T* bias, const T* residual, cudaStream_t stream) {
  DepthwiseParams d{};
  d.c = static_cast<int32_t>(p.c_in);
  for (int i = 0; i < 3; ++i) {
    d.in[i] = static_cast<int32_t>(p.in[i]);
    d.out[i] = static_cast<int32_t>(p.out[i]);
    d.k[i] = static_cast<int32_t>(p.k[i]);
    d.stride[i] = static_cast<int32_t>(p.stride[i]);
    d.pad[i] = static_cast<int32_t>(p.pad[i]);
    d.dil[i] = static_cast<int32_t>(p.dil[i]);
  }
  const T* x = static_cast<const T*>(args.inputs[0].data);
  const T* w = static_cast<const T*>(args.inputs[1].data);
  T* y = static_cast<T*>(args.outputs[0].data);
  const int64_t total = args.outputs[0].numel();
  constexpr int kVec = 4;
  auto aligned = [](const void* ptr) {
    return ptr == nullptr || reinterpret_cast<uintptr_t>(ptr) % (sizeof(T) * kVec) == 0;
  };
  auto launch = [&](auto kernel, int64_t groups_total) {
    const unsigned blocks =
        static_cast<unsigned>(std::min((groups_total + kThreads - 1) / kThreads, kMaxBlocks));
    kernel<<<blocks, kThreads, 0, stream>>>(x, w, bias, residual, y,
                                            static_cast<int32_t>(groups_total), d, act);
  };
  if (p.c_in % kVec == 0 && aligned(x) && aligned(y)) {
    launch(depthwise_kernel<T, kVec>, total / kVec);
  } else {
    launch(depthwise_kernel<T, 1>, total);
  }
  return ok_status();
}

// `act` and `channels_last` apply to conv only (conv_transpose has neither).
Status launch_conv(std::string_view op, bool transpose, const KernelArgs& args,
                   const ConvParams& p, Activation act, bool channels_last) {
  const TensorView& x = args.inputs[0];
  const TensorView& y = args.outputs[0];
  const int64_t total = y.numel();
  if (total == 0) return ok_status();
  const void* bias =
      args.inputs.size() >= 3 && args.inputs[2].data != nullptr ? args.inputs[2].data : nullptr;
  const void* residual =
      args.inputs.size() == 4 && args.inputs[3].data != nullptr ? args.inputs[3].data : nullptr;
  const unsigned blocks =
      static_cast<unsigned>(std::min((total + kThreads - 1) / kThreads, kMaxBlocks));
  cudaStream_t stream = cuda_move::stream_of(args);
  KILN_RETURN_IF_ERROR(cuda::visit_float_dtype(x.dtype, op, [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    const T* xp = static_cast<const T*>(x.data);
    const T* wp = static_cast<const T*>(args.inputs[1].data);
    const T* bp = static_cast<const T*>(bias);
    const T* rp = static_cast<const T*>(residual);
    T* yp = static_cast<T*>(y.data);
    if (transpose) {
      conv_transpose_kernel<T><<<blocks, kThreads, 0, stream>>>(xp, wp, bp, yp, total, p);
    } else if (takes_depthwise(args, p, channels_last)) {
      return launch_depthwise<T>(args, p, act, bp, rp, stream);
    } else if (channels_last) {
      conv_kernel<T, true><<<blocks, kThreads, 0, stream>>>(xp, wp, bp, rp, yp, total, p, act);
    } else {
      conv_kernel<T, false><<<blocks, kThreads, 0, stream>>>(xp, wp, bp, rp, yp, total, p, act);
    }
    return ok_status();
  }));
  KILN_CUDA_RETURN_IF_ERROR(cudaGetLastError());
  return ok_status();
}

// ---- Entries ------------------------------------------------------------------------------------

Status conv_run(const KernelArgs& args) {
  // 1. Operands and attributes; the output size must follow torch's formula.
  const ConvAttrs& at = args.node.attrs_as<ConvAttrs>();
  const bool cl = at.channels_last;
  ConvParams p{};
  size_t nsp = 0;
  KILN_RETURN_IF_ERROR(conv_operands("conv", args, 4, cl, p, nsp));
  KILN_RETURN_IF_ERROR(read_spatial("conv", "stride", at.stride, nsp, 1, 1, p.stride));
  KILN_RETURN_IF_ERROR(read_spatial("conv", "padding", at.padding, nsp, 0, 0, p.pad));
  KILN_RETURN_IF_ERROR(read_spatial("conv", "dilation", at.dilation, nsp, 1, 1, p.dil));
  const TensorView& x = args.inputs[0];
  const TensorView& w = args.inputs[1];
  const TensorView& out = args.outputs[0];
  const size_t c_axis = cl ? x.shape.size() - 1 : 1;
  p.groups = at.groups;
  if (p.groups < 1 || p.c_in % p.groups != 0 || w.shape[0] != p.c_out ||
      p.c_out % p.groups != 0 || w.shape[c_axis] != p.c_in / p.groups) {
    return invalid_argument("conv: x", shape_text(x.shape), ", weight", shape_text(w.shape),
                            " and output", shape_text(out.shape), " do not fit groups = ",
                            p.groups,
                            cl ? " (expected channels_last weight [O, *k, C/groups] with O and C "
                                 "divisible)"
                               : " (expected weight [O, C/groups, *k] with O and C divisible)");
  }
  if (static_cast<size_t>(at.activation) >= std::size(EnumNames<Activation>::kNames)) {
    return invalid_argument("conv: invalid activation ", static_cast<int>(at.activation));
  }
  ConcreteShape expected = {p.n};
  if (!cl) expected.push_back(p.c_out);
  for (size_t i = 0; i < nsp; ++i) {
    const size_t d = 3 - nsp + i;
    const int64_t span = p.in[d] + 2 * p.pad[d] - p.dil[d] * (p.k[d] - 1) - 1;
    expected.push_back(span < 0 ? 0 : span / p.stride[d] + 1);
  }
  if (cl) expected.push_back(p.c_out);
  if (out.shape != expected) {
    return invalid_argument("conv: output", shape_text(out.shape), ", expected",
                            shape_text(expected), " for x", shape_text(x.shape), " and weight",
                            shape_text(w.shape), cl ? " (channels_last)" : "");
  }
  // 2. One thread per output element, with the epilogue (residual, activation) fused.
  return launch_conv("conv", false, args, p, at.activation, cl);
}

Status conv_transpose_run(const KernelArgs& args) {
  // 1. Operands and attributes: out = (in - 1) * s - 2p + d * (k - 1) + output_padding + 1.
  const ConvTransposeAttrs& at = args.node.attrs_as<ConvTransposeAttrs>();
  ConvParams p{};
  size_t nsp = 0;
  int64_t out_pad[3] = {0, 0, 0};
  KILN_RETURN_IF_ERROR(conv_operands("conv_transpose", args, 3, false, p, nsp));
  KILN_RETURN_IF_ERROR(read_spatial("conv_transpose", "stride", at.stride, nsp, 1, 1, p.stride));
  KILN_RETURN_IF_ERROR(read_spatial("conv_transpose", "padding", at.padding, nsp, 0, 0, p.pad));
  KILN_RETURN_IF_ERROR(
      read_spatial("conv_transpose", "output_padding", at.output_padding, nsp, 0, 0, out_pad));
  KILN_RETURN_IF_ERROR(read_spatial("conv_transpose", "dilation", at.dilation, nsp, 1, 1, p.dil));
  const TensorView& x = args.inputs[0];
  const TensorView& w = args.inputs[1];
  const TensorView& out = args.outputs[0];
  p.groups = at.groups;
  if (p.groups < 1 || p.c_in % p.groups != 0 || w.shape[0] != p.c_in ||
      w.shape[1] * p.groups != p.c_out) {
    return invalid_argument("conv_transpose: x", shape_text(x.shape), ", weight",
                            shape_text(w.shape), " and output", shape_text(out.shape),
                            " do not fit groups = ", p.groups,
                            " (expected weight [C_in, C_out/groups, *k])");
  }
  ConcreteShape expected = {p.n, p.c_out};
  for (size_t i = 0; i < nsp; ++i) {
    const size_t d = 3 - nsp + i;
    if (out_pad[d] >= std::max(p.stride[d], p.dil[d])) {
      return invalid_argument("conv_transpose: output_padding[", i, "] = ", out_pad[d],
                              " must be smaller than stride or dilation");
    }
    expected.push_back((p.in[d] - 1) * p.stride[d] - 2 * p.pad[d] + p.dil[d] * (p.k[d] - 1) +
                       out_pad[d] + 1);
  }
  if (out.shape != expected) {
    return invalid_argument("conv_transpose: output", shape_text(out.shape), ", expected",
                            shape_text(expected), " for x", shape_text(x.shape), " and weight",
                            shape_text(w.shape));
  }
  // 2. One thread per output element, gathering the taps that reach it.
  return launch_conv("conv_transpose", true, args, p, Activation::kNone, false);
}

bool conv_accepts(const Node& node, std::span<const TensorType> input_types, std::string* why) {
  std::vector<const TensorType*> inputs;
  std::vector<TensorType> outputs;
  if (!cuda_move::typed_node(node, input_types, INT64_MAX, inputs, outputs, why)) return false;
  if (inputs.size() < 2 || inputs[0] == nullptr || inputs[1] == nullptr) {
    return cuda_move::refuse(why, "expected x and weight inputs");
  }
  const DType t = inputs[0]->dtype;
  if (t != DType::kF32 && t != DType::kF16 && t != DType::kBF16) {
    return cuda_move::refuse(why, str_cat("input is ", dtype_name(t),
                                          "; the CUDA kernel takes f32, f16 or bf16"));
  }
  for (const TensorType* in : inputs) {
    if (in != nullptr && in->dtype != t) {
      return cuda_move::refuse(why, str_cat("mixed input dtypes (", dtype_name(t), " and ",
                                            dtype_name(in->dtype), ")"));
    }
  }
  const size_t rank = inputs[0]->shape.size();
  if (rank < 3 || rank > 5) {
    return cuda_move::refuse(why, str_cat("input rank ", rank,
                                          "; the CUDA kernel takes 1 to 3 spatial dims"));
  }
  return true;
}

const Kernel kConvKernels[] = {
    {"cuda.conv", OpKind::kConv, DeviceKind::kCuda, 1, &conv_accepts, &conv_run},
    {"cuda.conv_transpose", OpKind::kConvTranspose, DeviceKind::kCuda, 1, &conv_accepts,
     &conv_transpose_run},
};

}  // namespace

std::span<const Kernel> cuda_conv_kernels() { return kConvKernels; }

}  // namespace kiln
