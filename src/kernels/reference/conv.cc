// Reference kernels for conv and conv_transpose with 1 to 3 spatial dims, groups, stride, padding,
// dilation, output_padding and an optional bias, as torch.nn.functional.conv{1,2,3}d and
// conv_transpose{1,2,3}d. Every spatial rank runs through one 3-D code path (missing leading dims
// have size 1).
//
// conv: per (batch, group) an im2col matrix [C/g * prod(k), prod(out)] times the group's weights on
// the blocked GEMM (a 1x1, stride-1, unpadded conv multiplies the input directly); groups with one
// input channel (depthwise) use a direct per-tap loop instead. conv_transpose is the gradient of
// conv: the GEMM computes W_g^T @ x_g into a column matrix that col2im scatters into the output.
// f16/bf16 are staged to f32 and rounded once.
//
// conv's fused epilogue and layout (ConvAttrs): an optional residual (input 3, the output's shape)
// is added to conv + bias and the activation applied, all in f32 before the one rounding. With
// channels_last, x [N, *sp, C] and w [O, *k, C/g] are permuted to the NC* layout in f32, the conv
// runs as above, and the epilogue writes the result back as [N, *sp', O].
//
// Deliberately not here: padding modes other than zeros (the importer emits a pad op), asymmetric
// padding, Winograd/FFT algorithms, and integer convolution.
#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "activation.h"
#include "common.h"
#include "gemm.h"
#include "kiln/support/parallel.h"

namespace kiln {
namespace {

using ref::shape_text;

// Sizes of one convolution with the spatial dims right-aligned into three (leading ones are 1).
struct Geometry {
  std::array<int64_t, 3> in{1, 1, 1}, out{1, 1, 1}, k{1, 1, 1};
  std::array<int64_t, 3> stride{1, 1, 1}, pad{0, 0, 0}, dil{1, 1, 1};
  int64_t in_size() const { return in[0] * in[1] * in[2]; }
  int64_t out_size() const { return out[0] * out[1] * out[2]; }
  int64_t k_size() const { return k[0] * k[1] * k[2]; }
};

// Reads a per-spatial-dim attribute: one entry per dim, or empty for `fallback` everywhere.
Status read_spatial(std::string_view op, std::string_view name, const std::vector<int64_t>& v,
                    size_t nsp, int64_t fallback, int64_t min_value, std::array<int64_t, 3>& out) {
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

// Common operand checks: x[N, C, *sp], w[A, B, *k] with 1-3 spatial dims (channels_last:
// x[N, *sp, C], w[A, *k, B]), bias[bias_len]?, up to `max_inputs` inputs and an output of rank
// x's. Fills the spatial sizes of `g` (in, k, out) from the shapes.
Status check_operands(std::string_view op, const KernelArgs& args, size_t max_inputs,
                      bool channels_last, int64_t bias_len_dim, Geometry& g, size_t& nsp) {
  if (args.inputs.size() < 2 || args.inputs.size() > max_inputs || args.outputs.size() != 1) {
    return invalid_argument(op, ": expected 2 to ", max_inputs, " inputs and 1 output, got ",
                            args.inputs.size(), " and ", args.outputs.size());
  }
  KILN_RETURN_IF_ERROR(ref::check_float_operands(op, args, max_inputs));
  const TensorView& x = args.inputs[0];
  const TensorView& w = args.inputs[1];
  const TensorView& out = args.outputs[0];
  if (x.shape.size() < 3 || x.shape.size() > 5) {
    return invalid_argument(op, ": input x", shape_text(x.shape),
                            channels_last ? " must be [N, *spatial, C]"
                                          : " must be [N, C, *spatial]",
                            " with 1 to 3 spatial dims");
  }
  nsp = x.shape.size() - 2;
  if (w.shape.size() != x.shape.size() || out.shape.size() != x.shape.size()) {
    return invalid_argument(op, ": weight", shape_text(w.shape), " and output",
                            shape_text(out.shape), " must have the rank of x", shape_text(x.shape));
  }
  const size_t sp0 = channels_last ? 1 : 2;
  for (size_t i = 0; i < nsp; ++i) {
    g.in[3 - nsp + i] = x.shape[sp0 + i];
    g.k[3 - nsp + i] = w.shape[sp0 + i];
    g.out[3 - nsp + i] = out.shape[sp0 + i];
  }
  if (args.inputs.size() >= 3 && args.inputs[2].data != nullptr &&
      args.inputs[2].shape != ConcreteShape{bias_len_dim}) {
    return invalid_argument(op, ": bias", shape_text(args.inputs[2].shape), ", expected [",
                            bias_len_dim, "]");
  }
  return ok_status();
}

// Writes `bias` (or zeros) into each of `channels` planes of `plane` floats.
void fill_bias(const float* bias, int64_t channels, int64_t plane, float* out) {
  for (int64_t c = 0; c < channels; ++c) {
    std::fill(out + c * plane, out + (c + 1) * plane, bias ? bias[c] : 0.0f);
  }
}

// The range [lo, hi) of output positions o along one dim whose input o * s + off lies in [0, n).
void valid_range(int64_t off, int64_t s, int64_t n, int64_t out, int64_t& lo, int64_t& hi) {
  lo = off >= 0 ? 0 : (-off + s - 1) / s;
  hi = off >= n ? 0 : std::min(out, (n - 1 - off) / s + 1);
  if (hi < lo) hi = lo;
}

// col[(c * KK + kk) * P + p] = x[c, in(p, kk)] or 0 in the padding, for c < channels.
void im2col(const float* x, int64_t channels, const Geometry& g, float* col) {
  const int64_t kk_size = g.k_size(), p_size = g.out_size();
  auto body = [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t c = row / kk_size, kk = row % kk_size;
      const int64_t kd = kk / (g.k[1] * g.k[2]), kh = (kk / g.k[2]) % g.k[1], kw = kk % g.k[2];
      // Output columns [lo, hi) read inside the input row; the rest are padding.
      const int64_t off = kw * g.dil[2] - g.pad[2], s = g.stride[2];
      int64_t lo, hi;
      valid_range(off, s, g.in[2], g.out[2], lo, hi);
      float* dst = col + row * p_size;
      for (int64_t od = 0; od < g.out[0]; ++od) {
        const int64_t id = od * g.stride[0] - g.pad[0] + kd * g.dil[0];
        for (int64_t oh = 0; oh < g.out[1]; ++oh, dst += g.out[2]) {
          const int64_t ih = oh * g.stride[1] - g.pad[1] + kh * g.dil[1];
          if (id < 0 || id >= g.in[0] || ih < 0 || ih >= g.in[1]) {
            std::fill(dst, dst + g.out[2], 0.0f);
            continue;
          }
          const float* src = x + ((c * g.in[0] + id) * g.in[1] + ih) * g.in[2];
          std::fill(dst, dst + lo, 0.0f);
          if (s == 1) {
            if (hi > lo) std::copy(src + lo + off, src + hi + off, dst + lo);
          } else {
            for (int64_t ow = lo; ow < hi; ++ow) dst[ow] = src[ow * s + off];
          }
          std::fill(dst + hi, dst + g.out[2], 0.0f);
        }
      }
    }
  };
  parallel_for(channels * kk_size, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, p_size)),
               body);
}

// Depthwise-style conv (one input channel per group): out[o] += w[o, tap] * x[o / og, ...] tap by
// tap, over planes already holding the bias. Runs over (batch, channel) on the pool.
void conv_one_channel_groups(const float* x, const float* w, int64_t n, int64_t c_in, int64_t c_out,
                             const Geometry& g, float* out) {
  const int64_t og = c_out / c_in, kk_size = g.k_size();
  auto body = [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t b = t / c_out, o = t % c_out;
      const float* xp = x + (b * c_in + o / og) * g.in_size();
      float* op = out + t * g.out_size();
      for (int64_t kk = 0; kk < kk_size; ++kk) {
        const int64_t tap[3] = {kk / (g.k[1] * g.k[2]), (kk / g.k[2]) % g.k[1], kk % g.k[2]};
        const float wv = w[o * kk_size + kk];
        int64_t lo[3], hi[3];
        for (int d = 0; d < 3; ++d) {
          valid_range(tap[d] * g.dil[d] - g.pad[d], g.stride[d], g.in[d], g.out[d], lo[d], hi[d]);
        }
        for (int64_t od = lo[0]; od < hi[0]; ++od) {
          const int64_t id = od * g.stride[0] + tap[0] * g.dil[0] - g.pad[0];
          for (int64_t oh = lo[1]; oh < hi[1]; ++oh) {
            const int64_t ih = oh * g.stride[1] + tap[1] * g.dil[1] - g.pad[1];
            const float* src = xp + (id * g.in[1] + ih) * g.in[2];
            float* dst = op + (od * g.out[1] + oh) * g.out[2];
            const int64_t off = tap[2] * g.dil[2] - g.pad[2], s = g.stride[2];
            if (s == 1) {
              for (int64_t ow = lo[2]; ow < hi[2]; ++ow) dst[ow] += wv * src[ow + off];
            } else {
              for (int64_t ow = lo[2]; ow < hi[2]; ++ow) dst[ow] += wv * src[ow * s + off];
            }
          }
        }
      }
    }
  };
  parallel_for(n * c_out, 1, body);
}

}  // namespace

Status ref_kernel_Conv(const KernelArgs& args) {
  // 1. Validate shapes and attributes; the output size must follow torch's formula.
  const ConvAttrs& at = args.node.attrs_as<ConvAttrs>();
  const bool cl = at.channels_last;
  Geometry g;
  size_t nsp = 0;
  const int64_t c_out =
      args.inputs.size() >= 2 && args.inputs[1].shape.size() >= 1 ? args.inputs[1].shape[0] : 0;
  KILN_RETURN_IF_ERROR(check_operands("conv", args, 4, cl, c_out, g, nsp));
  KILN_RETURN_IF_ERROR(read_spatial("conv", "stride", at.stride, nsp, 1, 1, g.stride));
  KILN_RETURN_IF_ERROR(read_spatial("conv", "padding", at.padding, nsp, 0, 0, g.pad));
  KILN_RETURN_IF_ERROR(read_spatial("conv", "dilation", at.dilation, nsp, 1, 1, g.dil));
  if (!ref::activation_is_valid(at.activation)) {
    return invalid_argument("conv: invalid activation ", static_cast<int>(at.activation));
  }
  const TensorView& x = args.inputs[0];
  const TensorView& w = args.inputs[1];
  const TensorView& out = args.outputs[0];
  const size_t c_axis = cl ? x.shape.size() - 1 : 1;
  const int64_t n = x.shape[0], c_in = x.shape[c_axis], groups = at.groups;
  if (groups < 1 || c_in % groups != 0 || c_out % groups != 0 ||
      w.shape[c_axis] != c_in / groups) {
    return invalid_argument("conv: x", shape_text(x.shape), " and weight", shape_text(w.shape),
                            " do not fit groups = ", groups,
                            cl ? " (expected channels_last weight [O, *k, C/groups] with O and C "
                                 "divisible)"
                               : " (expected weight [O, C/groups, *k] with O and C divisible)");
  }
  ConcreteShape expected = {n};
  if (!cl) expected.push_back(c_out);
  for (size_t i = 0; i < nsp; ++i) {
    const size_t d = 3 - nsp + i;
    const int64_t span = g.in[d] + 2 * g.pad[d] - g.dil[d] * (g.k[d] - 1) - 1;
    expected.push_back(span < 0 ? 0 : span / g.stride[d] + 1);
  }
  if (cl) expected.push_back(c_out);
  if (out.shape != expected) {
    return invalid_argument("conv: output", shape_text(out.shape), ", expected",
                            shape_text(expected), " for x", shape_text(x.shape), " and weight",
                            shape_text(w.shape), cl ? " (channels_last)" : "");
  }
  const bool has_residual = args.inputs.size() == 4 && args.inputs[3].data != nullptr;
  if (has_residual && args.inputs[3].shape != out.shape) {
    return invalid_argument("conv: residual (input 3)", shape_text(args.inputs[3].shape),
                            " must have the output's shape", shape_text(out.shape));
  }
  if (out.numel() == 0) return ok_status();

  // 2. The operands in the NC* layout, as f32. channels_last permutes x and w first and computes
  //    into scratch that the epilogue (step 5) permutes back.
  const ref::FloatInput fx(x), fw(w);
  const int64_t p_size = g.out_size(), in_size = g.in_size(), kk_size = g.k_size();
  const int64_t cg = c_in / groups, og = c_out / groups;
  std::vector<float> x_nc, w_nc, y_nc;
  const float* xd = fx.data();
  const float* wd = fw.data();
  if (cl) {
    x_nc.resize(static_cast<size_t>(x.numel()));
    w_nc.resize(static_cast<size_t>(w.numel()));
    ref::to_channels_first(fx.data(), n, in_size, c_in, x_nc.data());
    ref::to_channels_first(fw.data(), c_out, kk_size, cg, w_nc.data());
    xd = x_nc.data();
    wd = w_nc.data();
    y_nc.resize(static_cast<size_t>(out.numel()));
  }
  ref::FloatOutput fo(out);
  float* yd = cl ? y_nc.data() : fo.data();

  // 3. Bias (or zeros) first; the GEMMs and taps accumulate on top.
  const bool has_bias = args.inputs.size() >= 3 && args.inputs[2].data != nullptr;
  const ref::FloatInput fb(has_bias ? args.inputs[2] : TensorView{nullptr, x.dtype, {0}});
  for (int64_t b = 0; b < n; ++b) {
    fill_bias(has_bias ? fb.data() : nullptr, c_out, p_size, yd + b * c_out * p_size);
  }

  // 4. One input channel per group: direct taps. Otherwise im2col + GEMM per (batch, group).
  if (cg == 1 && groups > 1) {
    conv_one_channel_groups(xd, wd, n, c_in, c_out, g, yd);
  } else {
    const bool direct = kk_size == 1 && g.pad == std::array<int64_t, 3>{0, 0, 0} &&
                        g.stride == std::array<int64_t, 3>{1, 1, 1};
    std::vector<float> col(direct ? 0 : static_cast<size_t>(cg * kk_size * p_size));
    for (int64_t b = 0; b < n; ++b) {
      for (int64_t gi = 0; gi < groups; ++gi) {
        const float* xg = xd + (b * c_in + gi * cg) * in_size;
        if (!direct) im2col(xg, cg, g, col.data());
        const float* bmat = direct ? xg : col.data();
        ref::gemm_f32(og, p_size, cg * kk_size, {wd + gi * og * cg * kk_size, cg * kk_size, 1},
                      {bmat, p_size, 1}, yd + (b * c_out + gi * og) * p_size, p_size, true);
      }
    }
  }

  // 5. Epilogue in f32: + residual, activation, and (channels_last) the permutation back to
  //    [N, *sp', O]; then the one rounding.
  const Activation act = at.activation;
  if (cl || has_residual || act != Activation::kNone) {
    const ref::FloatInput fr(has_residual ? args.inputs[3] : TensorView{nullptr, x.dtype, {0}});
    const float* r = has_residual ? fr.data() : nullptr;
    float* dst = fo.data();
    parallel_for(out.numel(), 16384, [&](int64_t begin, int64_t end) {
      for (int64_t e = begin; e < end; ++e) {
        // e indexes the output's own layout; src is the same element in y's NC* layout.
        int64_t src = e;
        if (cl) {
          const int64_t co = e % c_out, rest = e / c_out;  // rest = b * p_size + p
          src = ((rest / p_size) * c_out + co) * p_size + rest % p_size;
        }
        float v = yd[src];
        if (r != nullptr) v += r[e];
        dst[e] = ref::apply_activation(act, v);
      }
    });
  }
  fo.commit();
  return ok_status();
}

Status ref_kernel_ConvTranspose(const KernelArgs& args) {
  // 1. Validate: weight [C_in, C_out/groups, *k]; out = (in-1)*s - 2p + d*(k-1) + out_pad + 1.
  const ConvTransposeAttrs& at = args.node.attrs_as<ConvTransposeAttrs>();
  Geometry g;
  size_t nsp = 0;
  const int64_t c_out =
      args.outputs.size() == 1 && args.outputs[0].shape.size() >= 2 ? args.outputs[0].shape[1] : 0;
  KILN_RETURN_IF_ERROR(check_operands("conv_transpose", args, 3, false, c_out, g, nsp));
  std::array<int64_t, 3> out_pad{0, 0, 0};
  KILN_RETURN_IF_ERROR(read_spatial("conv_transpose", "stride", at.stride, nsp, 1, 1, g.stride));
  KILN_RETURN_IF_ERROR(read_spatial("conv_transpose", "padding", at.padding, nsp, 0, 0, g.pad));
  KILN_RETURN_IF_ERROR(
      read_spatial("conv_transpose", "output_padding", at.output_padding, nsp, 0, 0, out_pad));
  KILN_RETURN_IF_ERROR(read_spatial("conv_transpose", "dilation", at.dilation, nsp, 1, 1, g.dil));
  const TensorView& x = args.inputs[0];
  const TensorView& w = args.inputs[1];
  const TensorView& out = args.outputs[0];
  const int64_t n = x.shape[0], c_in = x.shape[1], groups = at.groups;
  if (groups < 1 || c_in % groups != 0 || w.shape[0] != c_in || w.shape[1] * groups != c_out) {
    return invalid_argument("conv_transpose: x", shape_text(x.shape), ", weight",
                            shape_text(w.shape), " and output", shape_text(out.shape),
                            " do not fit groups = ", groups,
                            " (expected weight [C_in, C_out/groups, *k])");
  }
  ConcreteShape expected = {n, c_out};
  for (size_t i = 0; i < nsp; ++i) {
    const size_t d = 3 - nsp + i;
    if (out_pad[d] >= std::max(g.stride[d], g.dil[d])) {
      return invalid_argument("conv_transpose: output_padding[", i, "] = ", out_pad[d],
                              " must be smaller than stride or dilation");
    }
    expected.push_back((g.in[d] - 1) * g.stride[d] - 2 * g.pad[d] + g.dil[d] * (g.k[d] - 1) +
                       out_pad[d] + 1);
  }
  if (out.shape != expected) {
    return invalid_argument("conv_transpose: output", shape_text(out.shape), ", expected",
                            shape_text(expected), " for x", shape_text(x.shape), " and weight",
                            shape_text(w.shape));
  }
  if (out.numel() == 0) return ok_status();

  // 2. Per (batch, group): col[co * KK + kk, p_in] = sum_ci w[ci, co, kk] * x[ci, p_in], then
  //    col2im scatters col into the output planes (which start as the bias), one plane per task.
  const ref::FloatInput fx(x), fw(w);
  const bool has_bias = args.inputs.size() == 3 && args.inputs[2].data != nullptr;
  const ref::FloatInput fb(has_bias ? args.inputs[2] : TensorView{nullptr, x.dtype, {0}});
  ref::FloatOutput fo(out);
  const int64_t p_in = g.in_size(), p_out = g.out_size(), kk_size = g.k_size();
  const int64_t cg = c_in / groups, og = c_out / groups;
  std::vector<float> col(static_cast<size_t>(og * kk_size * p_in));
  for (int64_t b = 0; b < n; ++b) {
    fill_bias(has_bias ? fb.data() : nullptr, c_out, p_out, fo.data() + b * c_out * p_out);
    for (int64_t gi = 0; gi < groups; ++gi) {
      const float* wg = fw.data() + gi * cg * og * kk_size;
      ref::gemm_f32(og * kk_size, p_in, cg, {wg, 1, og * kk_size},
                    {fx.data() + (b * c_in + gi * cg) * p_in, p_in, 1}, col.data(), p_in, false);
      float* out_g = fo.data() + (b * c_out + gi * og) * p_out;
      auto body = [&](int64_t begin, int64_t end) {
        for (int64_t co = begin; co < end; ++co) {
          float* plane = out_g + co * p_out;
          for (int64_t kk = 0; kk < kk_size; ++kk) {
            const int64_t tap[3] = {kk / (g.k[1] * g.k[2]), (kk / g.k[2]) % g.k[1], kk % g.k[2]};
            const float* src = col.data() + (co * kk_size + kk) * p_in;
            // Input position i lands on output position i * stride - pad + tap * dilation.
            int64_t lo[3], hi[3];
            for (int d = 0; d < 3; ++d) {
              valid_range(tap[d] * g.dil[d] - g.pad[d], g.stride[d], g.out[d], g.in[d], lo[d],
                          hi[d]);
            }
            for (int64_t id = lo[0]; id < hi[0]; ++id) {
              const int64_t od = id * g.stride[0] + tap[0] * g.dil[0] - g.pad[0];
              for (int64_t ih = lo[1]; ih < hi[1]; ++ih) {
                const int64_t oh = ih * g.stride[1] + tap[1] * g.dil[1] - g.pad[1];
                const float* s = src + (id * g.in[1] + ih) * g.in[2];
                float* dst = plane + (od * g.out[1] + oh) * g.out[2];
                const int64_t off = tap[2] * g.dil[2] - g.pad[2], st = g.stride[2];
                for (int64_t iw = lo[2]; iw < hi[2]; ++iw) dst[iw * st + off] += s[iw];
              }
            }
          }
        }
      };
      parallel_for(og, 1, body);
    }
  }
  fo.commit();
  return ok_status();
}

}  // namespace kiln
