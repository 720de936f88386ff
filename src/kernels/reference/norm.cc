// Reference kernels for the normalisation layers: batch_norm (inference, running statistics),
// layer_norm and rms_norm over the trailing dims [axis, rank), and group_norm. Statistics are
// accumulated in double (mean first, then the biased variance around it), the normalisation is
// applied in f32, and f16/bf16 outputs are rounded once. Rows run on the thread pool.
//
// Deliberately not here: training-mode batch_norm (batch statistics, running-stat updates), the
// saved mean/rstd outputs of the ATen ops, and instance_norm (the importer expresses it as
// group_norm with groups = C).
#include <cmath>
#include <vector>

#include "common.h"
#include "kiln/support/parallel.h"

namespace kiln {
namespace {

using ref::shape_text;

// x and the output share a float dtype; parameters (inputs 1..) may be any float dtype.
Status check_norm_operands(std::string_view op, const KernelArgs& args, size_t min_inputs,
                           size_t max_inputs) {
  if (args.inputs.size() < min_inputs || args.inputs.size() > max_inputs ||
      args.outputs.size() != 1) {
    return invalid_argument(op, ": expected ", min_inputs, " to ", max_inputs,
                            " inputs and 1 output, got ", args.inputs.size(), " and ",
                            args.outputs.size());
  }
  KILN_RETURN_IF_ERROR(ref::check_float_operands(op, args, 1));
  for (size_t i = 1; i < args.inputs.size(); ++i) {
    const TensorView& p = args.inputs[i];
    if (p.data != nullptr && !ref::is_float_compute_dtype(p.dtype)) {
      return invalid_argument(op, ": input ", i, " must be f32, f16 or bf16, got ",
                              dtype_name(p.dtype));
    }
  }
  if (args.outputs[0].shape != args.inputs[0].shape) {
    return invalid_argument(op, ": output", shape_text(args.outputs[0].shape),
                            " must have the input's shape ", shape_text(args.inputs[0].shape));
  }
  return ok_status();
}

// Input i as floats if present with exactly `numel` elements; an empty vector if absent.
Status optional_param(std::string_view op, const KernelArgs& args, size_t i, int64_t numel,
                      std::string_view what, std::vector<float>& out) {
  out.clear();
  if (i >= args.inputs.size() || args.inputs[i].data == nullptr) return ok_status();
  if (args.inputs[i].numel() != numel) {
    return invalid_argument(op, ": ", what, shape_text(args.inputs[i].shape), " must have ", numel,
                            " elements");
  }
  out = ref::to_float(args.inputs[i]);
  return ok_status();
}

// Mean and biased variance of n floats, accumulated in double.
void moments(const float* x, int64_t n, double& mean, double& var) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += x[i];
  mean = n > 0 ? s / double(n) : 0.0;
  double q = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = x[i] - mean;
    q += d * d;
  }
  var = n > 0 ? q / double(n) : 0.0;
}

// Resolves a normalisation axis into [0, rank]; rank itself means "no dims" (an error here).
Status norm_axis(std::string_view op, int64_t axis, size_t rank, size_t& out) {
  const int64_t r = static_cast<int64_t>(rank);
  const int64_t a = axis < 0 ? axis + r : axis;
  if (a < 0 || a >= r) {
    return invalid_argument(op, ": axis ", axis, " is out of range for rank ", r);
  }
  out = static_cast<size_t>(a);
  return ok_status();
}

// layer_norm (rms = false) and rms_norm (rms = true) over the dims [axis, rank).
Status trailing_norm(std::string_view op, const KernelArgs& args, bool rms) {
  KILN_RETURN_IF_ERROR(check_norm_operands(op, args, 1, rms ? 2 : 3));
  const NormAttrs& at = args.node.attrs_as<NormAttrs>();
  const TensorView& x = args.inputs[0];
  size_t axis = 0;
  KILN_RETURN_IF_ERROR(norm_axis(op, at.axis, x.shape.size(), axis));
  int64_t inner = 1;
  for (size_t i = axis; i < x.shape.size(); ++i) inner *= x.shape[i];
  const int64_t rows = inner == 0 ? 0 : x.numel() / inner;
  std::vector<float> weight, bias;
  KILN_RETURN_IF_ERROR(optional_param(op, args, 1, inner, "weight", weight));
  if (!rms) KILN_RETURN_IF_ERROR(optional_param(op, args, 2, inner, "bias", bias));
  const ref::FloatInput fx(x);
  ref::FloatOutput fo(args.outputs[0]);
  auto body = [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* src = fx.data() + r * inner;
      float* dst = fo.data() + r * inner;
      double mean = 0, var = 0;
      if (rms) {
        double q = 0;
        for (int64_t i = 0; i < inner; ++i) q += double(src[i]) * src[i];
        var = q / double(inner);
      } else {
        moments(src, inner, mean, var);
      }
      const float m = static_cast<float>(mean);
      const float inv = static_cast<float>(1.0 / std::sqrt(var + at.eps));
      for (int64_t i = 0; i < inner; ++i) {
        float y = (src[i] - m) * inv;
        if (!weight.empty()) y *= weight[i];
        if (!bias.empty()) y += bias[i];
        dst[i] = y;
      }
    }
  };
  parallel_for(rows, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, inner)), body);
  fo.commit();
  return ok_status();
}

}  // namespace

Status ref_kernel_BatchNorm(const KernelArgs& args) {
  // y = (x - mean[c]) / sqrt(var[c] + eps) * weight[c] + bias[c], channels on axis 1.
  KILN_RETURN_IF_ERROR(check_norm_operands("batch_norm", args, 3, 5));
  const BatchNormAttrs& at = args.node.attrs_as<BatchNormAttrs>();
  const TensorView& x = args.inputs[0];
  if (x.shape.size() < 2) {
    return invalid_argument("batch_norm: x", shape_text(x.shape), " must be [N, C, ...]");
  }
  const int64_t n = x.shape[0], c = x.shape[1], plane = x.numel() / std::max<int64_t>(1, n * c);
  std::vector<float> mean, var, weight, bias;
  KILN_RETURN_IF_ERROR(optional_param("batch_norm", args, 1, c, "mean", mean));
  KILN_RETURN_IF_ERROR(optional_param("batch_norm", args, 2, c, "var", var));
  KILN_RETURN_IF_ERROR(optional_param("batch_norm", args, 3, c, "weight", weight));
  KILN_RETURN_IF_ERROR(optional_param("batch_norm", args, 4, c, "bias", bias));
  if (mean.empty() || var.empty()) {
    return invalid_argument("batch_norm: running mean and var are required");
  }
  // Per channel: y = x * scale + shift.
  std::vector<float> scale(static_cast<size_t>(c)), shift(static_cast<size_t>(c));
  for (int64_t ch = 0; ch < c; ++ch) {
    const double inv_std = 1.0 / std::sqrt(double(var[ch]) + at.eps);
    const double s = inv_std * (weight.empty() ? 1.0 : weight[ch]);
    scale[ch] = static_cast<float>(s);
    shift[ch] = static_cast<float>((bias.empty() ? 0.0 : bias[ch]) - mean[ch] * s);
  }
  const ref::FloatInput fx(x);
  ref::FloatOutput fo(args.outputs[0]);
  auto body = [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const float s = scale[row % c], t = shift[row % c];
      const float* src = fx.data() + row * plane;
      float* dst = fo.data() + row * plane;
      for (int64_t i = 0; i < plane; ++i) dst[i] = src[i] * s + t;
    }
  };
  parallel_for(n * c, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, plane)), body);
  fo.commit();
  return ok_status();
}

Status ref_kernel_LayerNorm(const KernelArgs& args) {
  return trailing_norm("layer_norm", args, false);
}

Status ref_kernel_RmsNorm(const KernelArgs& args) { return trailing_norm("rms_norm", args, true); }

Status ref_kernel_GroupNorm(const KernelArgs& args) {
  // Per (n, group): statistics over C/groups channels x spatial, then per-channel weight, bias.
  KILN_RETURN_IF_ERROR(check_norm_operands("group_norm", args, 1, 3));
  const GroupNormAttrs& at = args.node.attrs_as<GroupNormAttrs>();
  const TensorView& x = args.inputs[0];
  if (x.shape.size() < 2) {
    return invalid_argument("group_norm: x", shape_text(x.shape), " must be [N, C, ...]");
  }
  const int64_t n = x.shape[0], c = x.shape[1], groups = at.groups;
  if (groups < 1 || c % groups != 0) {
    return invalid_argument("group_norm: ", c, " channels are not divisible into ", groups,
                            " groups");
  }
  const int64_t plane = n * c == 0 ? 0 : x.numel() / (n * c), cg = c / groups;
  std::vector<float> weight, bias;
  KILN_RETURN_IF_ERROR(optional_param("group_norm", args, 1, c, "weight", weight));
  KILN_RETURN_IF_ERROR(optional_param("group_norm", args, 2, c, "bias", bias));
  const ref::FloatInput fx(x);
  ref::FloatOutput fo(args.outputs[0]);
  auto body = [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t c0 = (t % groups) * cg;
      const float* src = fx.data() + t * cg * plane;
      float* dst = fo.data() + t * cg * plane;
      double mean = 0, var = 0;
      moments(src, cg * plane, mean, var);
      const float m = static_cast<float>(mean);
      const float inv = static_cast<float>(1.0 / std::sqrt(var + at.eps));
      for (int64_t ch = 0; ch < cg; ++ch) {
        const float w = weight.empty() ? 1.0f : weight[c0 + ch];
        const float b = bias.empty() ? 0.0f : bias[c0 + ch];
        for (int64_t i = 0; i < plane; ++i) {
          dst[ch * plane + i] = (src[ch * plane + i] - m) * inv * w + b;
        }
      }
    }
  };
  parallel_for(n * groups, 1, body);
  fo.commit();
  return ok_status();
}

}  // namespace kiln
