// Reference kernels for max_pool, avg_pool, adaptive_avg_pool and adaptive_max_pool over the last
// 1 to 3 dims (all leading dims are independent planes), matching torch.nn.functional:
// - output size floor((in + 2p - d(k-1) - 1) / s) + 1, or ceil with ceil_mode, where a last window
//   that would start inside the right padding is dropped;
// - max_pool: padding counts as -inf, dilation spaces the taps, NaN propagates;
// - avg_pool: no dilation; the divisor is divisor_override, or with count_include_pad the window
//   clipped to the padded input (in + p), else the number of real input elements;
// - adaptive pools: window [floor(o * in / out), ceil((o + 1) * in / out)).
// Planes run on the thread pool; f16/bf16 are staged to f32 and rounded once. max_pool and
// avg_pool with channels_last take x [*lead, *spatial, C]: it is permuted to [*lead, C, *spatial]
// planes in f32, pooled as above, and the result permuted back to [*lead, *spatial', C].
//
// Deliberately not here: the indices output of max_pool (return_indices), fractional and LP
// pooling, and integer inputs.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <vector>

#include "common.h"
#include "kiln/support/parallel.h"

namespace kiln {
namespace {

using ref::shape_text;

// Spatial sizes right-aligned into three dims (leading ones have size 1).
struct PoolGeometry {
  std::array<int64_t, 3> in{1, 1, 1}, out{1, 1, 1};
  int64_t planes = 0;
  bool channels_last = false;
  int64_t channels = 1;  // channels_last: the last dim (planes = outer * channels)
  int64_t in_size() const { return in[0] * in[1] * in[2]; }
  int64_t out_size() const { return out[0] * out[1] * out[2]; }
};

// Checks x[*lead, *spatial] -> out[*lead, *spatial'] with nsp spatial dims and fills `g`; with
// channels_last, x[*lead, *spatial, C] -> out[*lead, *spatial', C].
Status pool_geometry(std::string_view op, const KernelArgs& args, size_t nsp, bool channels_last,
                     PoolGeometry& g) {
  if (args.inputs.size() != 1 || args.outputs.size() != 1) {
    return invalid_argument(op, ": expected 1 input and 1 output, got ", args.inputs.size(),
                            " and ", args.outputs.size());
  }
  KILN_RETURN_IF_ERROR(ref::check_float_operands(op, args, 1));
  const TensorView& x = args.inputs[0];
  const TensorView& out = args.outputs[0];
  const size_t extra = channels_last ? 2 : 1;  // leading dims (and C) besides the pooled ones
  if (nsp < 1 || nsp > 3 || x.shape.size() < nsp + extra || out.shape.size() != x.shape.size()) {
    return invalid_argument(op, ": expected 1 to 3 pooled dims after at least one leading dim",
                            channels_last ? " and before the channels (channels_last), " : ", ",
                            "got ", nsp, " pooled dims, x", shape_text(x.shape), " and output",
                            shape_text(out.shape));
  }
  const size_t lead = x.shape.size() - nsp - (channels_last ? 1 : 0);
  g.channels_last = channels_last;
  g.channels = channels_last ? x.shape.back() : 1;
  if (channels_last && out.shape.back() != g.channels) {
    return invalid_argument(op, ": output", shape_text(out.shape),
                            " must keep the channels (last dim) of x", shape_text(x.shape));
  }
  g.planes = g.channels;
  for (size_t i = 0; i < lead; ++i) {
    if (out.shape[i] != x.shape[i]) {
      return invalid_argument(op, ": output", shape_text(out.shape),
                              " must keep the leading dims of x", shape_text(x.shape));
    }
    g.planes *= x.shape[i];
  }
  for (size_t i = 0; i < nsp; ++i) {
    g.in[3 - nsp + i] = x.shape[lead + i];
    g.out[3 - nsp + i] = out.shape[lead + i];
  }
  return ok_status();
}

// A per-dim window attribute: one entry per pooled dim, or empty for `fallback` (the kernel size
// for stride, as in torch). Values must be >= min_value.
Status pool_param(std::string_view op, std::string_view name, const std::vector<int64_t>& v,
                  size_t nsp, const std::array<int64_t, 3>* fallback, int64_t fallback_value,
                  int64_t min_value, std::array<int64_t, 3>& out) {
  if (!v.empty() && v.size() != nsp) {
    return invalid_argument(op, ": ", name, " has ", v.size(), " entries for ", nsp,
                            " pooled dims");
  }
  for (size_t i = 0; i < nsp; ++i) {
    const size_t d = 3 - nsp + i;
    const int64_t x = !v.empty() ? v[i] : (fallback ? (*fallback)[d] : fallback_value);
    if (x < min_value) {
      return invalid_argument(op, ": ", name, "[", i, "] = ", x, ", expected >= ", min_value);
    }
    out[d] = x;
  }
  return ok_status();
}

// Windows of max_pool / avg_pool along the three dims.
struct Windows {
  std::array<int64_t, 3> k{1, 1, 1}, stride{1, 1, 1}, pad{0, 0, 0}, dil{1, 1, 1};
};

// Reads and checks PoolAttrs; verifies the output size against torch's formula.
Status read_windows(std::string_view op, const PoolAttrs& at, bool use_dilation,
                    const KernelArgs& args, PoolGeometry& g, Windows& w) {
  const size_t nsp = at.kernel.size();
  KILN_RETURN_IF_ERROR(pool_geometry(op, args, nsp, at.channels_last, g));
  KILN_RETURN_IF_ERROR(pool_param(op, "kernel", at.kernel, nsp, nullptr, 1, 1, w.k));
  KILN_RETURN_IF_ERROR(pool_param(op, "stride", at.stride, nsp, &w.k, 1, 1, w.stride));
  KILN_RETURN_IF_ERROR(pool_param(op, "padding", at.padding, nsp, nullptr, 0, 0, w.pad));
  if (use_dilation) {
    KILN_RETURN_IF_ERROR(pool_param(op, "dilation", at.dilation, nsp, nullptr, 1, 1, w.dil));
  }
  for (size_t i = 0; i < nsp; ++i) {
    const size_t d = 3 - nsp + i;
    if (w.pad[d] * 2 > w.k[d]) {
      return invalid_argument(op, ": padding[", i, "] = ", w.pad[d],
                              " must be at most half the kernel size ", w.k[d]);
    }
    const int64_t span = g.in[d] + 2 * w.pad[d] - w.dil[d] * (w.k[d] - 1) - 1;
    int64_t expected = 0;
    if (span >= 0) {
      expected = (at.ceil_mode ? (span + w.stride[d] - 1) / w.stride[d] : span / w.stride[d]) + 1;
      if (at.ceil_mode && (expected - 1) * w.stride[d] >= g.in[d] + w.pad[d]) --expected;
    }
    if (g.out[d] != expected) {
      return invalid_argument(op, ": output size ", g.out[d], " along pooled dim ", i,
                              ", expected ", expected, " for input ", g.in[d], ", kernel ", w.k[d],
                              ", stride ", w.stride[d], ", padding ", w.pad[d],
                              at.ceil_mode ? ", ceil_mode" : "");
    }
  }
  return ok_status();
}

// Runs `fn(plane_in, plane_out)` for every plane of x and y on the pool. With channels_last the
// planes are f32 copies of x permuted to [*lead, C, *spatial], and y's planes are permuted back
// into `y` afterwards.
template <typename Fn>
void for_each_plane(const PoolGeometry& g, const float* x, float* y, Fn fn) {
  std::vector<float> x_planes, y_planes;
  const float* xp = x;
  float* yp = y;
  if (g.channels_last) {
    x_planes.resize(static_cast<size_t>(g.planes * g.in_size()));
    y_planes.resize(static_cast<size_t>(g.planes * g.out_size()));
    ref::to_channels_first(x, g.planes / std::max<int64_t>(1, g.channels), g.in_size(),
                           g.channels, x_planes.data());
    xp = x_planes.data();
    yp = y_planes.data();
  }
  const int64_t work = std::max<int64_t>(1, g.out_size());
  auto body = [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) fn(xp + p * g.in_size(), yp + p * g.out_size());
  };
  parallel_for(g.planes, std::max<int64_t>(1, 4096 / work), body);
  if (g.channels_last) {
    ref::to_channels_last(yp, g.planes / std::max<int64_t>(1, g.channels), g.out_size(),
                          g.channels, y);
  }
}

}  // namespace

Status ref_kernel_MaxPool(const KernelArgs& args) {
  const PoolAttrs& at = args.node.attrs_as<PoolAttrs>();
  PoolGeometry g;
  Windows w;
  KILN_RETURN_IF_ERROR(read_windows("max_pool", at, true, args, g, w));
  const ref::FloatInput fx(args.inputs[0]);
  ref::FloatOutput fo(args.outputs[0]);
  for_each_plane(g, fx.data(), fo.data(), [&](const float* x, float* y) {
    for (int64_t od = 0; od < g.out[0]; ++od) {
      for (int64_t oh = 0; oh < g.out[1]; ++oh) {
        for (int64_t ow = 0; ow < g.out[2]; ++ow) {
          float best = -std::numeric_limits<float>::infinity();
          for (int64_t kd = 0; kd < w.k[0]; ++kd) {
            const int64_t id = od * w.stride[0] - w.pad[0] + kd * w.dil[0];
            if (id < 0 || id >= g.in[0]) continue;
            for (int64_t kh = 0; kh < w.k[1]; ++kh) {
              const int64_t ih = oh * w.stride[1] - w.pad[1] + kh * w.dil[1];
              if (ih < 0 || ih >= g.in[1]) continue;
              const float* row = x + (id * g.in[1] + ih) * g.in[2];
              for (int64_t kw = 0; kw < w.k[2]; ++kw) {
                const int64_t iw = ow * w.stride[2] - w.pad[2] + kw * w.dil[2];
                if (iw < 0 || iw >= g.in[2]) continue;
                const float v = row[iw];
                if (v > best || std::isnan(v)) best = v;  // NaN, once seen, stays
              }
            }
          }
          y[(od * g.out[1] + oh) * g.out[2] + ow] = best;
        }
      }
    }
  });
  fo.commit();
  return ok_status();
}

Status ref_kernel_AvgPool(const KernelArgs& args) {
  const PoolAttrs& at = args.node.attrs_as<PoolAttrs>();
  PoolGeometry g;
  Windows w;
  KILN_RETURN_IF_ERROR(read_windows("avg_pool", at, false, args, g, w));
  if (at.divisor_override.has_value() && *at.divisor_override == 0) {
    return invalid_argument("avg_pool: divisor_override must not be zero");
  }
  const ref::FloatInput fx(args.inputs[0]);
  ref::FloatOutput fo(args.outputs[0]);
  for_each_plane(g, fx.data(), fo.data(), [&](const float* x, float* y) {
    for (int64_t od = 0; od < g.out[0]; ++od) {
      for (int64_t oh = 0; oh < g.out[1]; ++oh) {
        for (int64_t ow = 0; ow < g.out[2]; ++ow) {
          // Window clipped to the padded input [-p, in + p), then to the real input [0, in).
          const int64_t o[3] = {od, oh, ow};
          int64_t lo[3], hi[3], padded_count = 1, real_count = 1;
          for (int d = 0; d < 3; ++d) {
            const int64_t start = o[d] * w.stride[d] - w.pad[d];
            const int64_t stop = std::min(start + w.k[d], g.in[d] + w.pad[d]);
            padded_count *= stop - start;
            lo[d] = std::max<int64_t>(start, 0);
            hi[d] = std::min(stop, g.in[d]);
            real_count *= std::max<int64_t>(0, hi[d] - lo[d]);
          }
          float& dst = y[(od * g.out[1] + oh) * g.out[2] + ow];
          if (real_count == 0) {
            dst = 0.0f;
            continue;
          }
          double sum = 0;
          for (int64_t id = lo[0]; id < hi[0]; ++id) {
            for (int64_t ih = lo[1]; ih < hi[1]; ++ih) {
              const float* row = x + (id * g.in[1] + ih) * g.in[2];
              for (int64_t iw = lo[2]; iw < hi[2]; ++iw) sum += row[iw];
            }
          }
          const int64_t divisor = at.divisor_override.has_value() ? *at.divisor_override
                                  : at.count_include_pad          ? padded_count
                                                                  : real_count;
          dst = static_cast<float>(sum / double(divisor));
        }
      }
    }
  });
  fo.commit();
  return ok_status();
}

namespace {

// adaptive_avg_pool (max = false) and adaptive_max_pool (max = true).
Status adaptive_pool(std::string_view op, const KernelArgs& args, bool max) {
  const AdaptivePoolAttrs& at = args.node.attrs_as<AdaptivePoolAttrs>();
  const size_t nsp = at.output_size.size();
  PoolGeometry g;
  KILN_RETURN_IF_ERROR(pool_geometry(op, args, nsp, false, g));
  for (size_t i = 0; i < nsp; ++i) {
    const size_t d = 3 - nsp + i;
    if (g.out[d] != at.output_size[i]) {
      return invalid_argument(op, ": output size ", g.out[d], " along pooled dim ", i,
                              " differs from output_size ", at.output_size[i]);
    }
    if (g.out[d] > 0 && g.in[d] == 0) {
      return invalid_argument(op, ": cannot pool an empty input dim ", i, " to size ", g.out[d]);
    }
  }
  const ref::FloatInput fx(args.inputs[0]);
  ref::FloatOutput fo(args.outputs[0]);
  // Window [floor(o * in / out), ceil((o + 1) * in / out)) along dim d.
  auto window = [&](int d, int64_t o, int64_t& lo, int64_t& hi) {
    lo = (o * g.in[d]) / g.out[d];
    hi = ((o + 1) * g.in[d] + g.out[d] - 1) / g.out[d];
  };
  for_each_plane(g, fx.data(), fo.data(), [&](const float* x, float* y) {
    for (int64_t od = 0; od < g.out[0]; ++od) {
      int64_t d0, d1;
      window(0, od, d0, d1);
      for (int64_t oh = 0; oh < g.out[1]; ++oh) {
        int64_t h0, h1;
        window(1, oh, h0, h1);
        for (int64_t ow = 0; ow < g.out[2]; ++ow) {
          int64_t w0, w1;
          window(2, ow, w0, w1);
          double sum = 0;
          float best = -std::numeric_limits<float>::infinity();
          for (int64_t id = d0; id < d1; ++id) {
            for (int64_t ih = h0; ih < h1; ++ih) {
              const float* row = x + (id * g.in[1] + ih) * g.in[2];
              for (int64_t iw = w0; iw < w1; ++iw) {
                const float v = row[iw];
                sum += v;
                if (v > best || std::isnan(v)) best = v;  // NaN, once seen, stays
              }
            }
          }
          const int64_t count = (d1 - d0) * (h1 - h0) * (w1 - w0);
          y[(od * g.out[1] + oh) * g.out[2] + ow] =
              max ? best : static_cast<float>(sum / double(count));
        }
      }
    }
  });
  fo.commit();
  return ok_status();
}

}  // namespace

Status ref_kernel_AdaptiveAvgPool(const KernelArgs& args) {
  return adaptive_pool("adaptive_avg_pool", args, false);
}

Status ref_kernel_AdaptiveMaxPool(const KernelArgs& args) {
  return adaptive_pool("adaptive_max_pool", args, true);
}

}  // namespace kiln
