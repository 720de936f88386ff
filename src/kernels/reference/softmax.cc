// Reference kernels for softmax and log_softmax along one axis, max-subtracted for numerical
// stability: softmax = exp(x - max) / sum(exp(x - max)), log_softmax = x - max - log(sum(...)).
// exp runs in f32, sums accumulate in double. A row that is entirely -inf, or holds a NaN, gives
// NaN, as in PyTorch.
// The tensor is viewed as [outer, axis, inner]; columns of `inner` are processed in chunks so that
// reads stay contiguous for any axis.
//
// Deliberately not here: masked or "safe" softmax variants (attention.cc handles its own masking).
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "common.h"
#include "kiln/support/parallel.h"

namespace kiln {
namespace {

constexpr int64_t kChunk = 64;  // inner columns handled together

Status softmax_impl(std::string_view op, const KernelArgs& args, bool log) {
  if (args.inputs.size() != 1 || args.outputs.size() != 1) {
    return invalid_argument(op, ": expected 1 input and 1 output, got ", args.inputs.size(),
                            " and ", args.outputs.size());
  }
  KILN_RETURN_IF_ERROR(ref::check_float_operands(op, args, 1));
  const TensorView& x = args.inputs[0];
  if (args.outputs[0].shape != x.shape) {
    return invalid_argument(op, ": output", ref::shape_text(args.outputs[0].shape),
                            " must have the input's shape ", ref::shape_text(x.shape));
  }
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  const int64_t axis_attr = args.node.attrs_as<AxisAttrs>().axis;
  const int64_t axis = axis_attr < 0 ? axis_attr + std::max<int64_t>(rank, 1) : axis_attr;
  if (axis < 0 || axis >= std::max<int64_t>(rank, 1)) {
    return invalid_argument(op, ": axis ", axis_attr, " is out of range for rank ", rank);
  }
  int64_t outer = 1, len = 1, inner = 1;
  for (int64_t i = 0; i < rank; ++i) {
    (i < axis ? outer : (i == axis ? len : inner)) *= x.shape[static_cast<size_t>(i)];
  }
  if (x.numel() == 0) return ok_status();

  const ref::FloatInput fx(x);
  ref::FloatOutput fo(args.outputs[0]);
  const int64_t chunks = (inner + kChunk - 1) / kChunk;
  auto body = [&](int64_t begin, int64_t end) {
    float mx[kChunk];
    double sum[kChunk];
    for (int64_t t = begin; t < end; ++t) {
      const int64_t o = t / chunks, j0 = (t % chunks) * kChunk;
      const int64_t w = std::min(kChunk, inner - j0);
      const float* src = fx.data() + o * len * inner + j0;
      float* dst = fo.data() + o * len * inner + j0;
      // 1. Max along the axis; 2. exp(x - max) and its sum; 3. normalise.
      std::fill(mx, mx + w, -std::numeric_limits<float>::infinity());
      std::fill(sum, sum + w, 0.0);
      for (int64_t a = 0; a < len; ++a) {
        for (int64_t j = 0; j < w; ++j) mx[j] = std::max(mx[j], src[a * inner + j]);
      }
      for (int64_t a = 0; a < len; ++a) {
        for (int64_t j = 0; j < w; ++j) {
          const float e = std::exp(src[a * inner + j] - mx[j]);
          if (!log) dst[a * inner + j] = e;
          sum[j] += e;
        }
      }
      for (int64_t j = 0; j < w; ++j) {
        if (log) {
          const float log_sum = static_cast<float>(std::log(sum[j]));
          for (int64_t a = 0; a < len; ++a) {
            dst[a * inner + j] = (src[a * inner + j] - mx[j]) - log_sum;
          }
        } else {
          const float inv = static_cast<float>(1.0 / sum[j]);
          for (int64_t a = 0; a < len; ++a) dst[a * inner + j] *= inv;
        }
      }
    }
  };
  parallel_for(outer * chunks, std::max<int64_t>(1, 4096 / (len * std::min(inner, kChunk))), body);
  fo.commit();
  return ok_status();
}

}  // namespace

Status ref_kernel_Softmax(const KernelArgs& args) { return softmax_impl("softmax", args, false); }

Status ref_kernel_LogSoftmax(const KernelArgs& args) {
  return softmax_impl("log_softmax", args, true);
}

}  // namespace kiln
