// Reference kernel for attention (torch.nn.functional.scaled_dot_product_attention without
// dropout): out = softmax(q @ k^T * scale + mask) @ v over the last two dims, leading dims
// broadcast between q, k, v and the mask. With AttentionAttrs::bshd, q, k, v and the output are
// [B, L, H, E] (rank 4) and are read and written through strides as if they were [B, H, L, E]; the
// mask keeps its [B, H, L, S] meaning. Both layouts give bit-identical results.
//
// Semantics, as PyTorch's CPU kernels (flash and math backends) in the torch versions kiln targets:
// - scale defaults to 1/sqrt(E);
// - is_causal keeps key j for query i iff j <= i (top-left aligned, tril(ones(L, S)));
// - a bool mask keeps true entries (false adds -inf); a float mask is added to the scores;
// - a query row whose scores are all -inf (fully masked) gives zeros, not NaN (PyTorch's
//   _safe_softmax and its CPU flash kernel both do this since torch 2.5).
// Work is split into blocks of query rows per batch element; each block computes its scores with
// the blocked GEMM, applies the masks, normalises in f32 and multiplies by v. f16/bf16 inputs are
// staged to f32 and the output is rounded once.
//
// Deliberately not here: dropout, grouped-query head broadcasting (enable_gqa: the importer
// repeats k and v), the logsumexp output, and an online (flash) softmax.
#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "attention_layout.h"
#include "common.h"
#include "gemm.h"
#include "kiln/support/parallel.h"

namespace kiln {
namespace {

using ref::attention_view;
using ref::AttentionOperand;
using ref::broadcast_attention_batch;
using ref::shape_text;

constexpr int64_t kRowBlock = 64;  // query rows per task

// Element offset of the matrix of batch element `bi` of an operand whose leading dims broadcast
// to `batch` (a size-1 dim adds nothing).
int64_t batch_offset(int64_t bi, const ConcreteShape& batch, const AttentionOperand& o) {
  int64_t offset = 0;
  const size_t lead = o.shape.size() - 2;
  for (size_t d = batch.size(); d-- > 0;) {
    const int64_t idx = bi % batch[d];
    bi /= batch[d];
    const size_t back = batch.size() - d;
    if (back <= lead && o.shape[lead - back] != 1) offset += idx * o.strides[lead - back];
  }
  return offset;
}

}  // namespace

Status ref_kernel_Attention(const KernelArgs& args) {
  // 1. Shapes: q[..., L, E], k[..., S, E], v[..., S, Ev], mask[..., L|1, S|1]? -> out[..., L, Ev],
  //    or with bshd q[B, L, H, E], k[B, S, H, E], v[B, S, H, Ev] -> out[B, L, H, Ev], seen as the
  //    former through strides.
  if (args.inputs.size() < 3 || args.inputs.size() > 4 || args.outputs.size() != 1) {
    return invalid_argument("attention: expected 3 or 4 inputs and 1 output, got ",
                            args.inputs.size(), " and ", args.outputs.size());
  }
  KILN_RETURN_IF_ERROR(ref::check_float_operands("attention", args, 3));
  const AttentionAttrs& at = args.node.attrs_as<AttentionAttrs>();
  const TensorView& q = args.inputs[0];
  const TensorView& k = args.inputs[1];
  const TensorView& v = args.inputs[2];
  const TensorView* mask =
      args.inputs.size() == 4 && args.inputs[3].data != nullptr ? &args.inputs[3] : nullptr;
  const TensorView& out = args.outputs[0];
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
  const int64_t l = lq.rows(), e = lq.cols();
  const int64_t s = lk.rows(), ev = lv.cols();
  if (lk.cols() != e || lv.rows() != s) {
    return invalid_argument("attention: expected q[..., L, E], k[..., S, E], v[..., S, Ev]",
                            at.bshd ? " (as [B, L, H, *])" : "", ", got q", shape_text(q.shape),
                            ", k", shape_text(k.shape), ", v", shape_text(v.shape));
  }
  ConcreteShape batch;
  KILN_RETURN_IF_ERROR(broadcast_attention_batch(lq.shape, 2, batch, "q"));
  KILN_RETURN_IF_ERROR(broadcast_attention_batch(lk.shape, 2, batch, "k"));
  KILN_RETURN_IF_ERROR(broadcast_attention_batch(lv.shape, 2, batch, "v"));
  ConcreteShape expected = batch;
  expected.push_back(l);
  expected.push_back(ev);
  if (at.bshd) std::swap(expected[1], expected[2]);
  if (out.shape != expected) {
    return invalid_argument("attention: output", shape_text(out.shape), ", expected",
                            shape_text(expected));
  }
  AttentionOperand lm;  // the mask, rank >= 2
  int64_t mask_l = 1, mask_s = 1;
  if (mask != nullptr) {
    if (mask->dtype != DType::kBool && !ref::is_float_compute_dtype(mask->dtype)) {
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
    if ((mask_l != 1 && mask_l != l) || (mask_s != 1 && mask_s != s) || check != batch) {
      return invalid_argument("attention: mask", shape_text(mask->shape), " does not broadcast to ",
                              shape_text(batch), " + [", l, ", ", s, "]");
    }
  }
  if (out.numel() == 0) return ok_status();

  // 2. Per (batch element, block of query rows): scores, masks, softmax, then P @ v.
  const ref::FloatInput fq(q), fk(k), fv(v);
  std::vector<float> mask_values;
  std::vector<uint8_t> keep;
  if (mask != nullptr) {
    if (mask->dtype == DType::kBool) {
      const uint8_t* p = static_cast<const uint8_t*>(mask->data);
      keep.assign(p, p + mask->numel());
    } else {
      mask_values = ref::to_float(*mask);
    }
  }
  ref::FloatOutput fo(out);
  const float scale = static_cast<float>(at.scale.has_value() ? *at.scale
                                         : e > 0              ? 1.0 / std::sqrt(double(e))
                                                              : 1.0);
  const AttentionOperand lo = attention_view(out.shape, at.bshd);
  const int64_t batches = concrete_numel(batch);
  const int64_t blocks = (l + kRowBlock - 1) / kRowBlock;
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  auto body = [&](int64_t begin, int64_t end) {
    std::vector<float> scores(static_cast<size_t>(std::min(l, kRowBlock) * s));
    for (int64_t t = begin; t < end; ++t) {
      const int64_t bi = t / blocks, i0 = (t % blocks) * kRowBlock;
      const int64_t rows = std::min(kRowBlock, l - i0);
      const float* qb = fq.data() + batch_offset(bi, batch, lq) + i0 * lq.row_stride();
      const float* kb = fk.data() + batch_offset(bi, batch, lk);
      const float* vb = fv.data() + batch_offset(bi, batch, lv);
      const int64_t mb = mask ? batch_offset(bi, batch, lm) : 0;
      // scores[i, j] = (q[i] . k[j]) * scale + mask
      ref::gemm_f32(rows, s, e, {qb, lq.row_stride(), 1}, {kb, 1, lk.row_stride()}, scores.data(),
                    s, false);
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t i = i0 + r;
        float* row = scores.data() + r * s;
        const int64_t mrow = mb + (mask_l == 1 ? 0 : i * mask_s);
        for (int64_t j = 0; j < s; ++j) {
          float x = row[j] * scale;
          if (!keep.empty()) {
            if (!keep[size_t(mrow + (mask_s == 1 ? 0 : j))]) x = kNegInf;
          } else if (!mask_values.empty()) {
            x += mask_values[size_t(mrow + (mask_s == 1 ? 0 : j))];
          }
          if (at.is_causal && j > i) x = kNegInf;
          row[j] = x;
        }
        // Softmax; a fully masked row (max = -inf) becomes all zeros.
        float mx = kNegInf;
        for (int64_t j = 0; j < s; ++j) mx = std::max(mx, row[j]);
        if (mx == kNegInf) {
          std::fill(row, row + s, 0.0f);
          continue;
        }
        double sum = 0;
        for (int64_t j = 0; j < s; ++j) {
          row[j] = std::exp(row[j] - mx);
          sum += row[j];
        }
        const float inv = static_cast<float>(1.0 / sum);
        for (int64_t j = 0; j < s; ++j) row[j] *= inv;
      }
      float* ob = fo.data() + batch_offset(bi, batch, lo) + i0 * lo.row_stride();
      ref::gemm_f32(rows, ev, s, {scores.data(), s, 1}, {vb, lv.row_stride(), 1}, ob,
                    lo.row_stride(), false);
    }
  };
  parallel_for(batches * blocks, 1, body);
  fo.commit();
  return ok_status();
}

}  // namespace kiln
