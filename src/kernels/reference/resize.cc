// Reference kernel for resize (torch.nn.functional.interpolate) of x[N, C, *spatial] with 1 to 3
// spatial dims, in two modes:
// - nearest (torch's legacy 'nearest'): src = min(floor(dst * scale), in - 1), where scale is
//   1 / scale_factor when scales are given, else in / out (computed in f32, as torch does);
// - bilinear (linear along each spatial dim: linear, bilinear, trilinear): torch's
//   area_pixel_compute_source_index: with align_corners src = dst * (in - 1) / (out - 1), else
//   src = max(0, (dst + 0.5) * scale - 0.5); the two neighbours floor(src) and floor(src) + 1
//   (clamped to the input) are weighted by the fractional part; an unchanged size copies.
// Index and weight tables are built once per dim; planes run on the thread pool. f16/bf16 are
// staged to f32 and rounded once.
//
// Deliberately not here: 'nearest-exact', bicubic, area and antialiased modes (the importer
// rejects them), and recompute_scale_factor (the importer resolves it into `size`).
#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "common.h"
#include "kiln/support/parallel.h"

namespace kiln {
namespace {

using ref::shape_text;

// For one output coordinate: the two source indices and their weights.
struct Tap {
  int64_t i0 = 0, i1 = 0;
  float w0 = 1.0f, w1 = 0.0f;
};

// torch's compute_scales_value: 1 / scale_factor if given (> 0), else in / out.
float scale_value(const std::vector<double>& scales, size_t i, int64_t in, int64_t out) {
  if (i < scales.size() && scales[i] > 0) return static_cast<float>(1.0 / scales[i]);
  return static_cast<float>(in) / static_cast<float>(out);
}

std::vector<Tap> nearest_taps(int64_t in, int64_t out, const std::vector<double>& scales,
                              size_t i) {
  std::vector<Tap> taps(static_cast<size_t>(out));
  const float scale = scale_value(scales, i, in, out);
  for (int64_t o = 0; o < out; ++o) {
    const int64_t src =
        std::min(static_cast<int64_t>(std::floor(static_cast<float>(o) * scale)), in - 1);
    taps[size_t(o)].i0 = taps[size_t(o)].i1 = src;
  }
  return taps;
}

std::vector<Tap> linear_taps(int64_t in, int64_t out, bool align_corners,
                             const std::vector<double>& scales, size_t i) {
  std::vector<Tap> taps(static_cast<size_t>(out));
  const float scale =
      align_corners ? (out > 1 ? static_cast<float>(in - 1) / static_cast<float>(out - 1) : 0.0f)
                    : scale_value(scales, i, in, out);
  for (int64_t o = 0; o < out; ++o) {
    if (out == in) {  // torch copies whenever the size is unchanged, even with scales given
      taps[size_t(o)].i0 = taps[size_t(o)].i1 = o;
      continue;
    }
    float src = align_corners ? scale * static_cast<float>(o)
                              : scale * (static_cast<float>(o) + 0.5f) - 0.5f;
    if (src < 0) src = 0;
    const int64_t i0 = std::min(static_cast<int64_t>(src), in - 1);
    const float lambda = std::clamp(src - static_cast<float>(i0), 0.0f, 1.0f);
    Tap& t = taps[size_t(o)];
    t.i0 = i0;
    t.i1 = i0 < in - 1 ? i0 + 1 : i0;
    t.w0 = 1.0f - lambda;
    t.w1 = lambda;
  }
  return taps;
}

// w0 * a + w1 * b. A tap with one source (same index, zero weight: the dims added to reach three,
// or an exact hit on the last element) is just a, so that an infinite input stays infinite.
inline float blend(const Tap& t, float a, float b) {
  return t.i1 == t.i0 && t.w1 == 0.0f ? a : t.w0 * a + t.w1 * b;
}

}  // namespace

Status ref_kernel_Resize(const KernelArgs& args) {
  // 1. Validate: x[N, C, *in] -> out[N, C, *out] with 1-3 spatial dims.
  if (args.inputs.size() != 1 || args.outputs.size() != 1) {
    return invalid_argument("resize: expected 1 input and 1 output, got ", args.inputs.size(),
                            " and ", args.outputs.size());
  }
  KILN_RETURN_IF_ERROR(ref::check_float_operands("resize", args, 1));
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
  std::array<int64_t, 3> in{1, 1, 1}, os{1, 1, 1};
  std::array<std::vector<Tap>, 3> taps;
  for (size_t d = 0; d < 3; ++d) taps[d] = {Tap{}};
  for (size_t i = 0; i < nsp; ++i) {
    const size_t d = 3 - nsp + i;
    in[d] = x.shape[2 + i];
    os[d] = out.shape[2 + i];
    if (in[d] == 0 && os[d] > 0) {
      return invalid_argument("resize: cannot resize an empty spatial dim ", i, " to ", os[d]);
    }
    taps[d] = at.mode == ResizeMode::kNearest
                  ? nearest_taps(in[d], os[d], at.scales, i)
                  : linear_taps(in[d], os[d], at.align_corners, at.scales, i);
  }
  if (out.numel() == 0) return ok_status();

  // 2. Nearest copies one element; linear blends up to 8 (2 per dim).
  const ref::FloatInput fx(x);
  ref::FloatOutput fo(out);
  const int64_t planes = x.shape[0] * x.shape[1];
  const int64_t in_plane = in[0] * in[1] * in[2], out_plane = os[0] * os[1] * os[2];
  const bool nearest = at.mode == ResizeMode::kNearest;
  auto body = [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const float* src = fx.data() + p * in_plane;
      float* dst = fo.data() + p * out_plane;
      for (int64_t od = 0; od < os[0]; ++od) {
        const Tap& td = taps[0][size_t(od)];
        for (int64_t oh = 0; oh < os[1]; ++oh) {
          const Tap& th = taps[1][size_t(oh)];
          float* out_row = dst + (od * os[1] + oh) * os[2];
          const float* r00 = src + (td.i0 * in[1] + th.i0) * in[2];
          if (nearest) {
            for (int64_t ow = 0; ow < os[2]; ++ow) out_row[ow] = r00[taps[2][size_t(ow)].i0];
            continue;
          }
          const float* r01 = src + (td.i0 * in[1] + th.i1) * in[2];
          const float* r10 = src + (td.i1 * in[1] + th.i0) * in[2];
          const float* r11 = src + (td.i1 * in[1] + th.i1) * in[2];
          for (int64_t ow = 0; ow < os[2]; ++ow) {
            const Tap& tw = taps[2][size_t(ow)];
            const float v0 =
                blend(th, blend(tw, r00[tw.i0], r00[tw.i1]), blend(tw, r01[tw.i0], r01[tw.i1]));
            const float v1 =
                blend(th, blend(tw, r10[tw.i0], r10[tw.i1]), blend(tw, r11[tw.i0], r11[tw.i1]));
            out_row[ow] = blend(td, v0, v1);
          }
        }
      }
    }
  };
  parallel_for(planes, std::max<int64_t>(1, 4096 / out_plane), body);
  fo.commit();
  return ok_status();
}

}  // namespace kiln
