// "cudnn.attention": scaled_dot_product_attention on cuDNN's fused flash attention (the
// cudnn-frontend sdpa node, inference mode: no softmax statistics), with the reference's semantics
// (src/kernels/reference/attention.cc) for the shapes it accepts:
//   out = softmax(q @ k^T * scale + mask) @ v,   q [B, H, Lq, E], k and v [B, H, Lk, E]
// or, with AttentionAttrs::bshd, q [B, Lq, H, E], k and v [B, Lk, H, E] and the output like q:
// cuDNN's tensors keep dims [B, H, L, E] and take strides [L*H*E, E, H*E, 1];
// - scale: AttentionAttrs::scale, else 1/sqrt(E);
// - is_causal: cuDNN's top-left aligned causal mask (key j kept for query i iff j <= i), which is
//   torch's tril(ones(Lq, Lk)) also when Lq != Lk; no query row is then fully masked;
// - mask: an additive float mask (q's dtype) broadcastable to [B, H, Lq, Lk], passed as cuDNN's
//   attention bias with dims [1|B, 1|H, Lq, Lk]: batch and head broadcast natively (dim 1), a
//   query-row broadcast ([.., 1, Lk], BERT's padding mask) by stride 0. Its last dim must be Lk.
//   When Lk is not a multiple of 8, the mask is first copied into the workspace with rows padded
//   to a multiple of 8 (zeros after Lk): cuDNN's flash kernels read the bias in pairs and 16-byte
//   rows, and read past the end of an unpadded [.., Lk] mask (compute-sanitizer memcheck on H100,
//   cuDNN 9.19, 2026-11-27: a 4-byte read at the end of a [1, 1, 1, 129] f16 mask).
// Plans are cached per shape (cudnn_common.h); workspace_bytes builds the plan.
//
// Numerics: scores and softmax in f32; like every flash kernel (torch's included), cuDNN rounds
// the probabilities to f16/bf16 before multiplying by v, so results differ from the reference's
// (which rounds once) by up to about one ulp of the I/O dtype times max|v|; docs/kernels.md.
//
// Not accepted (cuda.attention runs them): ranks other than 4, f32, head dims other than
// 8..128 in steps of 8, a v head dim unlike q's, batch or head broadcasting between q, k and v,
// bool masks, and masks broadcast along Lk. Known difference: a query row whose additive mask is
// -inf everywhere gives zeros in the reference and is undefined here (finite masks, such as
// HuggingFace's finfo.min padding masks, are exact).
//
// Deliberately not here: dropout, grouped-query attention, the logsumexp output, and ragged or
// padded (seq_len) batches.
#include <cmath>

#include "check.h"
#include "cudnn_common.h"
#include "families.h"
#include "movement.cuh"

namespace kiln {
namespace {

namespace fe = cudnn_frontend;
using cuda_move::refuse;
using cuda_move::shape_text;

constexpr int64_t kUidQ = 1, kUidK = 2, kUidV = 3, kUidBias = 4, kUidO = 5;
constexpr int64_t kMaxHeadDim = 128;

struct SdpaShape {
  DType dtype = DType::kF16;
  bool bshd = false;  // q, k, v and the output are [B, L, H, E]
  int64_t b = 0, h = 0, lq = 0, lk = 0, e = 0;
  bool causal = false;
  float scale = 1.0f;
  bool mask = false;
  int64_t mask_dims[4] = {1, 1, 1, 1};     // as given, right-aligned into 4 (leading 1s)
  int64_t bias_dims[4] = {1, 1, 1, 1};     // what cuDNN sees
  int64_t bias_strides[4] = {0, 0, 0, 0};  // 0 along a broadcast query dim
  int64_t bias_pitch = 0;  // elements per row of the workspace's padded mask; 0: the mask as is
  int64_t bias_rows = 0;   // rows of the padded mask (the mask's own dims before Lk)
};

constexpr int64_t kBiasRowAlign = 8;  // elements: 16 bytes of f16/bf16

// Where the padded mask starts in the workspace, after the cuDNN plan's own scratch.
int64_t padded_bias_offset(int64_t plan_workspace) { return (plan_workspace + 255) / 256 * 256; }
int64_t padded_bias_bytes(const SdpaShape& s) {
  return s.bias_rows * s.bias_pitch * dtype_size(s.dtype);
}

// ---- Host: operands -----------------------------------------------------------------------------

Expected<SdpaShape> sdpa_shape(const KernelArgs& args) {
  const AttentionAttrs& at = args.node.attrs_as<AttentionAttrs>();
  if (args.inputs.size() < 3 || args.inputs.size() > 4 || args.outputs.size() != 1) {
    return invalid_argument("cudnn.attention: expected 3 or 4 inputs and 1 output, got ",
                            args.inputs.size(), " and ", args.outputs.size());
  }
  const TensorView& q = args.inputs[0];
  const TensorView& k = args.inputs[1];
  const TensorView& v = args.inputs[2];
  const TensorView& o = args.outputs[0];
  SdpaShape s;
  s.dtype = q.dtype;
  if (s.dtype != DType::kF16 && s.dtype != DType::kBF16) {
    return unsupported("cudnn.attention takes f16 or bf16, got ", dtype_name(s.dtype));
  }
  if (k.dtype != s.dtype || v.dtype != s.dtype || o.dtype != s.dtype) {
    return invalid_argument("cudnn.attention: q, k, v and the output must share q's dtype ",
                            dtype_name(s.dtype));
  }
  if (q.shape.size() != 4 || k.shape.size() != 4 || v.shape.size() != 4) {
    return invalid_argument("cudnn.attention: expected rank-4 q, k and v, got q",
                            shape_text(q.shape), ", k", shape_text(k.shape), ", v",
                            shape_text(v.shape));
  }
  s.bshd = at.bshd;
  const int seq = s.bshd ? 1 : 2, head = s.bshd ? 2 : 1;
  s.b = q.shape[0];
  s.h = q.shape[head];
  s.lq = q.shape[seq];
  s.e = q.shape[3];
  s.lk = k.shape[seq];
  const ConcreteShape kv =
      s.bshd ? ConcreteShape{s.b, s.lk, s.h, s.e} : ConcreteShape{s.b, s.h, s.lk, s.e};
  if (k.shape != kv || v.shape != kv || o.shape != q.shape) {
    return invalid_argument("cudnn.attention: expected ",
                            s.bshd ? "q[B, Lq, H, E], k and v [B, Lk, H, E]"
                                   : "q[B, H, Lq, E], k and v [B, H, Lk, E]",
                            " and an output like q, got q", shape_text(q.shape), ", k",
                            shape_text(k.shape), ", v", shape_text(v.shape), ", output",
                            shape_text(o.shape));
  }
  if (s.e < 8 || s.e > kMaxHeadDim || s.e % 8 != 0) {
    return unsupported("cudnn.attention: head dim ", s.e, " (expected 8..", kMaxHeadDim,
                       " in steps of 8)");
  }
  s.causal = at.is_causal;
  s.scale = static_cast<float>(at.scale.has_value() ? *at.scale : 1.0 / std::sqrt(double(s.e)));
  s.mask = args.inputs.size() == 4 && args.node.inputs.size() == 4 &&
           args.node.inputs[3] != kNoValue;
  if (s.mask) {
    const TensorView& m = args.inputs[3];
    if (m.dtype != s.dtype) {
      return unsupported("cudnn.attention: the mask is ", dtype_name(m.dtype),
                         "; only an additive mask of q's dtype is taken");
    }
    if (m.shape.size() > 4) {
      return invalid_argument("cudnn.attention: mask", shape_text(m.shape), " has rank > 4");
    }
    for (size_t i = 0; i < m.shape.size(); ++i) s.mask_dims[4 - m.shape.size() + i] = m.shape[i];
    const int64_t want[4] = {s.b, s.h, s.lq, s.lk};
    for (int d = 0; d < 4; ++d) {
      const bool ok = s.mask_dims[d] == want[d] || (s.mask_dims[d] == 1 && d < 3);
      if (!ok) {
        return invalid_argument("cudnn.attention: mask", shape_text(m.shape),
                                " does not broadcast to [", s.b, ", ", s.h, ", ", s.lq, ", ", s.lk,
                                "] (its last dim must be Lk)");
      }
    }
    // Contiguous strides of the mask's own dims (rows padded to 16 bytes when they are not, in
    // the workspace's copy); batch/head keep cuDNN's native size-1 broadcast, a size-1 query dim
    // is stretched to Lq with stride 0.
    if (s.lk % kBiasRowAlign != 0) {
      s.bias_pitch = (s.lk + kBiasRowAlign - 1) / kBiasRowAlign * kBiasRowAlign;
      s.bias_rows = s.mask_dims[0] * s.mask_dims[1] * s.mask_dims[2];
    }
    const std::vector<int64_t> strides = cudnn::contiguous_strides(
        {s.mask_dims[0], s.mask_dims[1], s.mask_dims[2], s.bias_pitch != 0 ? s.bias_pitch : s.lk});
    for (int d = 0; d < 4; ++d) {
      s.bias_dims[d] = s.mask_dims[d];
      s.bias_strides[d] = strides[d];
    }
    if (s.mask_dims[2] == 1 && s.lq != 1) {
      s.bias_dims[2] = s.lq;
      s.bias_strides[2] = 0;
    }
  }
  return s;
}

std::string sdpa_key(const SdpaShape& s) {
  std::string key = str_cat("cudnn.attention ", dtype_name(s.dtype), s.bshd ? " bshd" : " bhsd",
                            " b=", s.b, " h=", s.h,
                            " lq=", s.lq, " lk=", s.lk, " e=", s.e, " causal=", s.causal,
                            " scale=", s.scale);
  if (s.mask) {
    key += str_cat(" bias=[", s.bias_dims[0], ",", s.bias_dims[1], ",", s.bias_dims[2], ",",
                   s.bias_dims[3], "]/[", s.bias_strides[0], ",", s.bias_strides[1], ",",
                   s.bias_strides[2], ",", s.bias_strides[3], "]");
  }
  return key;
}

// ---- Host: the graph ----------------------------------------------------------------------------

Expected<std::shared_ptr<fe::graph::Graph>> describe_sdpa(const SdpaShape& s) {
  KILN_ASSIGN_OR_RETURN(fe::DataType_t io, cudnn::cudnn_data_type(s.dtype));
  constexpr fe::DataType_t f32 = fe::DataType_t::FLOAT;
  auto graph = std::make_shared<fe::graph::Graph>();
  graph->set_io_data_type(io).set_intermediate_data_type(f32).set_compute_data_type(f32);
  // Dims [B, H, L, E] in both layouts; only the strides say where a [B, L, H, E] element is.
  auto strides = [&](int64_t l) -> std::vector<int64_t> {
    if (s.bshd) return {l * s.h * s.e, s.e, s.h * s.e, 1};
    return {s.h * l * s.e, l * s.e, s.e, 1};
  };
  auto tensor = [&](const char* name, int64_t uid, int64_t l) {
    return graph->tensor(fe::graph::Tensor_attributes()
                             .set_name(name)
                             .set_uid(uid)
                             .set_data_type(io)
                             .set_dim({s.b, s.h, l, s.e})
                             .set_stride(strides(l)));
  };
  auto q = tensor("q", kUidQ, s.lq);
  auto k = tensor("k", kUidK, s.lk);
  auto v = tensor("v", kUidV, s.lk);
  auto attrs = fe::graph::SDPA_attributes()
                   .set_name("sdpa")
                   .set_generate_stats(false)
                   .set_attn_scale(s.scale);
  if (s.causal) attrs.set_causal_mask(true);
  if (s.mask) {
    auto bias = graph->tensor(
        fe::graph::Tensor_attributes()
            .set_name("bias")
            .set_uid(kUidBias)
            .set_data_type(io)
            .set_dim({s.bias_dims[0], s.bias_dims[1], s.bias_dims[2], s.bias_dims[3]})
            .set_stride({s.bias_strides[0], s.bias_strides[1], s.bias_strides[2],
                         s.bias_strides[3]}));
    attrs.set_bias(bias);
  }
  auto [o, stats] = graph->sdpa(q, k, v, attrs);
  (void)stats;
  o->set_output(true)
      .set_uid(kUidO)
      .set_data_type(io)
      .set_dim({s.b, s.h, s.lq, s.e})
      .set_stride(strides(s.lq));
  return graph;
}

Expected<std::shared_ptr<const cudnn::CudnnPlan>> sdpa_plan(const SdpaShape& s, void* stream) {
  return cudnn::cudnn_plan(sdpa_key(s), [&s]() { return describe_sdpa(s); }, stream);
}

// ---- Entries ------------------------------------------------------------------------------------

// Nothing for cuDNN to do: an empty output, or no keys (every row fully masked: zeros).
bool trivial(const SdpaShape& s) { return s.b == 0 || s.h == 0 || s.lq == 0 || s.lk == 0; }

Expected<size_t> sdpa_workspace_bytes(const KernelArgs& args) {
  KILN_ASSIGN_OR_RETURN(SdpaShape s, sdpa_shape(args));
  if (trivial(s)) return size_t{0};
  KILN_ASSIGN_OR_RETURN(std::shared_ptr<const cudnn::CudnnPlan> plan, sdpa_plan(s, nullptr));
  if (s.bias_pitch == 0) return static_cast<size_t>(plan->workspace_bytes);
  return static_cast<size_t>(padded_bias_offset(plan->workspace_bytes) + padded_bias_bytes(s));
}

Status sdpa_run(const KernelArgs& args) {
  // 1. Operands; without keys the output is zeros (the reference's fully-masked rows).
  KILN_ASSIGN_OR_RETURN(SdpaShape s, sdpa_shape(args));
  const TensorView& out = args.outputs[0];
  if (out.numel() == 0) return ok_status();
  if (out.data == nullptr) return invalid_argument("cudnn.attention: the output has no device buffer");
  if (trivial(s)) {
    KILN_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(out.data, 0, static_cast<size_t>(out.nbytes()),
                                              static_cast<cudaStream_t>(args.stream)));
    return ok_status();
  }
  const size_t n_inputs = s.mask ? 4 : 3;
  for (size_t i = 0; i < n_inputs; ++i) {
    if (args.inputs[i].data == nullptr) {
      return invalid_argument("cudnn.attention: input ", i, " has no device buffer");
    }
  }
  // 2. The plan (prepared by workspace_bytes), then one launch.
  KILN_ASSIGN_OR_RETURN(std::shared_ptr<const cudnn::CudnnPlan> plan, sdpa_plan(s, args.stream));
  std::vector<std::pair<int64_t, void*>> pointers = {{kUidQ, args.inputs[0].data},
                                                     {kUidK, args.inputs[1].data},
                                                     {kUidV, args.inputs[2].data},
                                                     {kUidO, out.data}};
  void* bias = s.mask ? args.inputs[3].data : nullptr;
  if (s.bias_pitch != 0) {
    // The mask with rows padded to 16 bytes, zeros after Lk (see the top of this file).
    const int64_t offset = padded_bias_offset(plan->workspace_bytes);
    const size_t bytes = static_cast<size_t>(offset + padded_bias_bytes(s));
    if (args.workspace == nullptr || args.workspace_bytes < bytes) {
      return invalid_argument("cudnn.attention: the padded mask needs ", bytes,
                              " bytes of workspace, the launch has ",
                              args.workspace == nullptr ? 0 : args.workspace_bytes);
    }
    const cudaStream_t stream = static_cast<cudaStream_t>(args.stream);
    const size_t elt = static_cast<size_t>(dtype_size(s.dtype));
    void* padded = static_cast<uint8_t*>(args.workspace) + offset;
    KILN_CUDA_RETURN_IF_ERROR(
        cudaMemsetAsync(padded, 0, static_cast<size_t>(padded_bias_bytes(s)), stream));
    KILN_CUDA_RETURN_IF_ERROR(cudaMemcpy2DAsync(
        padded, static_cast<size_t>(s.bias_pitch) * elt, bias, static_cast<size_t>(s.lk) * elt,
        static_cast<size_t>(s.lk) * elt, static_cast<size_t>(s.bias_rows),
        cudaMemcpyDeviceToDevice, stream));
    bias = padded;
  }
  if (s.mask) pointers.emplace_back(kUidBias, bias);
  return cudnn::cudnn_execute(*plan, args, std::move(pointers));
}

bool same_dim(const DimExpr& a, const DimExpr& b) { return a == b; }
bool is_one(const DimExpr& d) { return d.is_constant() && d.constant_value() == 1; }

bool sdpa_accepts(const Node& node, std::span<const TensorType> input_types, std::string* why) {
  std::vector<const TensorType*> inputs;
  std::vector<TensorType> outputs;
  if (!cuda_move::typed_node(node, input_types, 4, inputs, outputs, why)) return false;
  if (inputs.size() < 3 || inputs[0] == nullptr || inputs[1] == nullptr || inputs[2] == nullptr) {
    return refuse(why, "expected q, k and v inputs");
  }
  const TensorType& q = *inputs[0];
  const TensorType& k = *inputs[1];
  const TensorType& v = *inputs[2];
  const DType t = q.dtype;
  if (t != DType::kF16 && t != DType::kBF16) {
    return refuse(why, str_cat("q is ", dtype_name(t), "; cudnn.attention takes f16 or bf16"));
  }
  if (k.dtype != t || v.dtype != t) return refuse(why, "q, k and v have different dtypes");
  if (q.shape.size() != 4 || k.shape.size() != 4 || v.shape.size() != 4) {
    return refuse(why, "cudnn.attention takes rank-4 q, k and v [B, H, L, E] or [B, L, H, E]");
  }
  const bool bshd = node.attrs_as<AttentionAttrs>().bshd;
  const size_t seq = bshd ? 1 : 2, head = bshd ? 2 : 1;
  const DimExpr& e = q.shape[3];
  if (!e.is_constant() || e.constant_value() < 8 || e.constant_value() > kMaxHeadDim ||
      e.constant_value() % 8 != 0) {
    return refuse(why, "cudnn.attention takes a constant head dim in 8..128, a multiple of 8");
  }
  for (size_t d : {size_t{0}, head}) {
    if (!same_dim(k.shape[d], q.shape[d]) || !same_dim(v.shape[d], q.shape[d])) {
      return refuse(why, "cudnn.attention needs the same batch and head dims on q, k and v");
    }
  }
  if (!same_dim(k.shape[3], e) || !same_dim(v.shape[3], e) ||
      !same_dim(v.shape[seq], k.shape[seq])) {
    return refuse(why, "cudnn.attention needs k and v with q's E and the same Lk");
  }
  if (inputs.size() == 4 && inputs[3] != nullptr) {
    const TensorType& m = *inputs[3];
    if (m.dtype != t) {
      return refuse(why, str_cat("cudnn.attention takes an additive mask of q's dtype, got ",
                                 dtype_name(m.dtype)));
    }
    if (m.shape.empty() || m.shape.size() > 4) return refuse(why, "mask rank must be 1 to 4");
    const size_t r = m.shape.size();
    const DimExpr* want[4] = {&q.shape[0], &q.shape[head], &q.shape[seq], &k.shape[seq]};
    for (size_t i = 0; i < r; ++i) {
      const size_t d = 4 - r + i;
      const DimExpr& md = m.shape[i];
      const bool ok = same_dim(md, *want[d]) || (d < 3 && is_one(md));
      if (!ok) {
        return refuse(why, "cudnn.attention needs a mask broadcastable to [B, H, Lq, Lk] whose "
                           "last dim is Lk");
      }
    }
  }
  return true;
}

const Kernel kCudnnAttentionKernels[] = {
    {"cudnn.attention", OpKind::kAttention, DeviceKind::kCuda, 1, &sdpa_accepts, &sdpa_run,
     &sdpa_workspace_bytes},
};

}  // namespace

std::span<const Kernel> cuda_cudnn_attention_kernels() { return kCudnnAttentionKernels; }

}  // namespace kiln
