// CUDA kernel for attention (scaled_dot_product_attention without dropout) with the reference's
// semantics (src/kernels/reference/attention.cc): out = softmax(q @ k^T * scale + mask) @ v over
// the last two dims, q[..., L, E], k[..., S, E], v[..., S, Ev], leading dims broadcast between q,
// k, v and the mask (numpy rules). scale defaults to 1/sqrt(E); is_causal keeps key j for query i
// iff j <= i (top-left aligned); a bool mask keeps nonzero bytes (false adds -inf), a float mask
// (f32, f16 or bf16, whatever q's dtype) is added to the scores; a fully masked query row gives
// zeros, not NaN. With AttentionAttrs::bshd, q, k, v and the output are [B, L, H, E] (rank 4),
// read and written through strides as if [B, H, L, E]; the mask keeps its [B, H, L, S] meaning.
//
// This is the correctness fallback: one thread per output element out[b, i, c], in two passes
// over the keys. Pass 1 finds the row maximum of the masked, scaled scores (each an f32 dot
// product); pass 2 sums exp(x - max) in double (as the reference) and accumulates
// exp(x - max) * v[j, c] in f32; the result is that sum times (float)(1 / total). Scores are
// recomputed by every thread of a row and in both passes: slow, simple and obviously bounded.
// The reference uses a blocked GEMM (another summation order), so results agree to f32 rounding;
// f16/bf16 are rounded once. f32, f16 and bf16.
//
// Deliberately not here: flash / cuDNN attention, dropout, grouped-query head broadcasting (the
// reference has none either: the importer repeats k and v), and the logsumexp output.
#include <algorithm>
#include <cmath>
#include <utility>

#include "../reference/attention_layout.h"
#include "dtype.cuh"
#include "families.h"
#include "movement.cuh"

namespace kiln {
namespace {

using cuda::to_float;
using ref::attention_view;
using ref::AttentionOperand;
using ref::broadcast_attention_batch;
using cuda_move::shape_text;

constexpr int kThreads = 128;
constexpr int64_t kMaxBlocks = int64_t{1} << 20;
constexpr int kMaxBatchDims = 6;  // broadcast leading dims (rank 8 tensors)

enum class MaskKind : int { kNone, kBool, kF32, kF16, kBF16 };

// Batch dims right-aligned into kMaxBatchDims (leading ones of size 1); per operand, the element
// stride of each batch dim (0 where that operand broadcasts) and of its rows (L or S); the last
// dim of q, k, v and the output is contiguous.
struct AttentionParams {
  int64_t batch[kMaxBatchDims];
  int64_t q_stride[kMaxBatchDims], k_stride[kMaxBatchDims], v_stride[kMaxBatchDims];
  int64_t m_stride[kMaxBatchDims], o_stride[kMaxBatchDims];
  int64_t q_row, k_row, v_row, o_row;
  int64_t l, s, e, ev;
  int64_t mask_row, mask_col;  // element strides of the mask along L and S (0: broadcast)
  MaskKind mask;
  bool causal;
  float scale;
};

// ---- Kernel -------------------------------------------------------------------------------------

__device__ __forceinline__ float load_mask(const void* m, MaskKind kind, int64_t i) {
  switch (kind) {
    case MaskKind::kBool:
      return static_cast<const uint8_t*>(m)[i] != 0 ? 0.0f : -INFINITY;
    case MaskKind::kF32: return static_cast<const float*>(m)[i];
    case MaskKind::kF16: return to_float(static_cast<const __half*>(m)[i]);
    case MaskKind::kBF16: return to_float(static_cast<const __nv_bfloat16*>(m)[i]);
    case MaskKind::kNone: break;
  }
  return 0.0f;
}

// The masked, scaled score of query row `qr` against key j (as the reference: dot * scale, then
// a bool mask sets -inf or a float mask is added, then causal sets -inf).
template <typename T>
__device__ __forceinline__ float score(const T* __restrict__ qr, const T* __restrict__ kb,
                                       const void* __restrict__ mask, int64_t mrow, int64_t i,
                                       int64_t j, const AttentionParams& p) {
  const T* kr = kb + j * p.k_row;
  float dot = 0.0f;
  for (int64_t d = 0; d < p.e; ++d) dot = fmaf(to_float(qr[d]), to_float(kr[d]), dot);
  float x = dot * p.scale;
  if (p.mask == MaskKind::kBool) {
    if (load_mask(mask, p.mask, mrow + j * p.mask_col) == -INFINITY) x = -INFINITY;
  } else if (p.mask != MaskKind::kNone) {
    x += load_mask(mask, p.mask, mrow + j * p.mask_col);
  }
  if (p.causal && j > i) x = -INFINITY;
  return x;
}

template <typename T>
__global__ void attention_kernel(const T* __restrict__ q, const T* __restrict__ k,
                                 const T* __restrict__ v, const void* __restrict__ mask,
                                 T* __restrict__ out, int64_t total, AttentionParams p) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; idx < total;
       idx += step) {
    // 1. Logical out[bi, i, c]: the offsets of bi's matrices in q, k, v, the mask and the output.
    const int64_t c = idx % p.ev;
    const int64_t i = (idx / p.ev) % p.l;
    int64_t bi = idx / (p.ev * p.l);
    int64_t qo = 0, ko = 0, vo = 0, mo = 0, oo = 0;
    for (int d = kMaxBatchDims - 1; d >= 0; --d) {
      const int64_t bd = bi % p.batch[d];
      bi /= p.batch[d];
      qo += bd * p.q_stride[d];
      ko += bd * p.k_stride[d];
      vo += bd * p.v_stride[d];
      mo += bd * p.m_stride[d];
      oo += bd * p.o_stride[d];
    }
    const T* qr = q + qo + i * p.q_row;
    const T* kb = k + ko;
    const T* vb = v + vo + c;
    const int64_t mrow = mo + i * p.mask_row;
    T* o = out + oo + i * p.o_row + c;

    // 2. The row maximum; a fully masked row gives zeros.
    float mx = -INFINITY;
    for (int64_t j = 0; j < p.s; ++j) mx = fmaxf(mx, score(qr, kb, mask, mrow, i, j, p));
    if (mx == -INFINITY) {
      *o = cuda::store_as<T>(0.0f);
      continue;
    }

    // 3. Softmax numerators against v's column c; the denominator in double.
    double sum = 0;
    float acc = 0.0f;
    for (int64_t j = 0; j < p.s; ++j) {
      const float w = expf(score(qr, kb, mask, mrow, i, j, p) - mx);
      sum += static_cast<double>(w);
      acc = fmaf(w, to_float(vb[j * p.v_row]), acc);
    }
    *o = cuda::store_as<T>(acc * static_cast<float>(1.0 / sum));
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

// The element strides of o's leading (batch) dims, right-aligned into kMaxBatchDims, 0 on the
// dims where o broadcasts (size 1) and on those it lacks.
void batch_strides(const AttentionOperand& o, int64_t* strides) {
  std::fill(strides, strides + kMaxBatchDims, 0);
  const size_t lead = o.shape.size() - 2;
  for (size_t back = 1; back <= lead && back <= static_cast<size_t>(kMaxBatchDims); ++back) {
    if (o.shape[lead - back] != 1) strides[kMaxBatchDims - back] = o.strides[lead - back];
  }
}

Status attention_run(const KernelArgs& args) {
  // 1. Shapes: q[..., L, E], k[..., S, E], v[..., S, Ev], mask[..., L|1, S|1]? -> out[..., L, Ev],
  //    or with bshd q[B, L, H, E], k[B, S, H, E], v[B, S, H, Ev] -> out[B, L, H, Ev], seen as the
  //    former through strides.
  if (args.inputs.size() < 3 || args.inputs.size() > 4 || args.outputs.size() != 1) {
    return invalid_argument("attention: expected 3 or 4 inputs and 1 output, got ",
                            args.inputs.size(), " and ", args.outputs.size());
  }
  KILN_RETURN_IF_ERROR(check_device_buffers("attention", args, 3));
  const AttentionAttrs& at = args.node.attrs_as<AttentionAttrs>();
  const TensorView& q = args.inputs[0];
  const TensorView& k = args.inputs[1];
  const TensorView& v = args.inputs[2];
  const TensorView* mask =
      args.inputs.size() == 4 && args.inputs[3].data != nullptr ? &args.inputs[3] : nullptr;
  const TensorView& out = args.outputs[0];
  if (q.dtype != DType::kF32 && q.dtype != DType::kF16 && q.dtype != DType::kBF16) {
    return unsupported("attention: the CUDA kernel takes f32, f16 or bf16, got ",
                       dtype_name(q.dtype));
  }
  if (k.dtype != q.dtype || v.dtype != q.dtype || out.dtype != q.dtype) {
    return invalid_argument("attention: q, k, v and the output must share a dtype, got ",
                            dtype_name(q.dtype), ", ", dtype_name(k.dtype), ", ",
                            dtype_name(v.dtype), " and ", dtype_name(out.dtype));
  }
  if (q.shape.size() < 2 || k.shape.size() < 2 || v.shape.size() < 2) {
    return invalid_argument("attention: q, k and v need rank >= 2, got q", shape_text(q.shape),
                            ", k", shape_text(k.shape), ", v", shape_text(v.shape));
  }
  if (at.bshd && (q.shape.size() != 4 || k.shape.size() != 4 || v.shape.size() != 4 ||
                  out.shape.size() != 4)) {
    return invalid_argument("attention: bshd takes rank-4 q, k, v and output, got q",
                            shape_text(q.shape), ", k", shape_text(k.shape), ", v",
                            shape_text(v.shape), ", output", shape_text(out.shape));
  }
  const AttentionOperand lq = attention_view(q.shape, at.bshd),
                         lk = attention_view(k.shape, at.bshd),
                         lv = attention_view(v.shape, at.bshd);
  AttentionParams p{};
  p.l = lq.rows();
  p.e = lq.cols();
  p.s = lk.rows();
  p.ev = lv.cols();
  if (lk.cols() != p.e || lv.rows() != p.s) {
    return invalid_argument("attention: expected q[..., L, E], k[..., S, E], v[..., S, Ev]",
                            at.bshd ? " (as [B, L, H, *])" : "", ", got q", shape_text(q.shape),
                            ", k", shape_text(k.shape), ", v", shape_text(v.shape));
  }
  ConcreteShape batch;
  KILN_RETURN_IF_ERROR(broadcast_attention_batch(lq.shape, 2, batch, "q"));
  KILN_RETURN_IF_ERROR(broadcast_attention_batch(lk.shape, 2, batch, "k"));
  KILN_RETURN_IF_ERROR(broadcast_attention_batch(lv.shape, 2, batch, "v"));
  ConcreteShape expected = batch;
  expected.push_back(p.l);
  expected.push_back(p.ev);
  if (at.bshd) std::swap(expected[1], expected[2]);
  if (out.shape != expected) {
    return invalid_argument("attention: output", shape_text(out.shape), ", expected",
                            shape_text(expected));
  }
  AttentionOperand lm{{1, 1}, {0, 0}};  // the mask, rank >= 2
  int64_t mask_l = 1, mask_s = 1;
  p.mask = MaskKind::kNone;
  if (mask != nullptr) {
    switch (mask->dtype) {
      case DType::kBool: p.mask = MaskKind::kBool; break;
      case DType::kF32: p.mask = MaskKind::kF32; break;
      case DType::kF16: p.mask = MaskKind::kF16; break;
      case DType::kBF16: p.mask = MaskKind::kBF16; break;
      default:
        return invalid_argument("attention: mask must be bool or float, got ",
                                dtype_name(mask->dtype));
    }
    ConcreteShape ms = mask->shape;
    while (ms.size() < 2) ms.insert(ms.begin(), 1);
    mask_l = ms[ms.size() - 2];
    mask_s = ms.back();
    lm = attention_view(ms, false);
    ConcreteShape check = batch;
    KILN_RETURN_IF_ERROR(broadcast_attention_batch(ms, 2, check, "mask"));
    if ((mask_l != 1 && mask_l != p.l) || (mask_s != 1 && mask_s != p.s) || check != batch) {
      return invalid_argument("attention: mask", shape_text(mask->shape), " does not broadcast to ",
                              shape_text(batch), " + [", p.l, ", ", p.s, "]");
    }
  }
  if (batch.size() > static_cast<size_t>(kMaxBatchDims)) {
    return unsupported("attention: the CUDA kernel broadcasts at most ", kMaxBatchDims,
                       " leading dims, got ", batch.size());
  }
  const int64_t total = out.numel();
  if (total == 0) return ok_status();

  // 2. Parameters: right-aligned batch dims and each operand's strides over them.
  std::fill(p.batch, p.batch + kMaxBatchDims, 1);
  for (size_t back = 1; back <= batch.size(); ++back) {
    p.batch[kMaxBatchDims - back] = batch[batch.size() - back];
  }
  const AttentionOperand lo = attention_view(out.shape, at.bshd);
  batch_strides(lq, p.q_stride);
  batch_strides(lk, p.k_stride);
  batch_strides(lv, p.v_stride);
  batch_strides(lm, p.m_stride);
  batch_strides(lo, p.o_stride);
  p.q_row = lq.row_stride();
  p.k_row = lk.row_stride();
  p.v_row = lv.row_stride();
  p.o_row = lo.row_stride();
  p.mask_row = mask_l == 1 ? 0 : mask_s;
  p.mask_col = mask_s == 1 ? 0 : 1;
  p.causal = at.is_causal;
  p.scale = static_cast<float>(at.scale.has_value() ? *at.scale
                               : p.e > 0            ? 1.0 / std::sqrt(static_cast<double>(p.e))
                                                    : 1.0);

  // 3. One thread per output element.
  const unsigned blocks =
      static_cast<unsigned>(std::min((total + kThreads - 1) / kThreads, kMaxBlocks));
  cudaStream_t stream = cuda_move::stream_of(args);
  const void* mp = mask != nullptr ? mask->data : nullptr;
  KILN_RETURN_IF_ERROR(cuda::visit_float_dtype(q.dtype, "attention", [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    attention_kernel<T><<<blocks, kThreads, 0, stream>>>(
        static_cast<const T*>(q.data), static_cast<const T*>(k.data),
        static_cast<const T*>(v.data), mp, static_cast<T*>(out.data), total, p);
    return ok_status();
  }));
  KILN_CUDA_RETURN_IF_ERROR(cudaGetLastError());
  return ok_status();
}

bool attention_accepts(const Node& node, std::span<const TensorType> input_types,
                       std::string* why) {
  std::vector<const TensorType*> inputs;
  std::vector<TensorType> outputs;
  if (!cuda_move::typed_node(node, input_types, kMaxBatchDims + 2, inputs, outputs, why)) {
    return false;
  }
  if (inputs.size() < 3 || inputs[0] == nullptr || inputs[1] == nullptr || inputs[2] == nullptr) {
    return cuda_move::refuse(why, "expected q, k and v inputs");
  }
  const DType t = inputs[0]->dtype;
  if (t != DType::kF32 && t != DType::kF16 && t != DType::kBF16) {
    return cuda_move::refuse(why, str_cat("q is ", dtype_name(t),
                                          "; the CUDA kernel takes f32, f16 or bf16"));
  }
  if (inputs[1]->dtype != t || inputs[2]->dtype != t) {
    return cuda_move::refuse(why, "q, k and v have different dtypes");
  }
  if (inputs.size() == 4 && inputs[3] != nullptr) {
    const DType m = inputs[3]->dtype;
    if (m != DType::kBool && m != DType::kF32 && m != DType::kF16 && m != DType::kBF16) {
      return cuda_move::refuse(why, str_cat("mask is ", dtype_name(m),
                                            "; expected bool, f32, f16 or bf16"));
    }
  }
  return true;
}

const Kernel kAttentionKernels[] = {
    {"cuda.attention", OpKind::kAttention, DeviceKind::kCuda, 1, &attention_accepts,
     &attention_run},
};

}  // namespace

std::span<const Kernel> cuda_attention_kernels() { return kAttentionKernels; }

}  // namespace kiln
