// CUDA kernels for the data-movement ops with the reference's semantics
// (src/kernels/reference/movement.cc): reshape, permute, expand, slice, concat, split, pad, tile,
// flip, roll and trilu. Each moves raw element bytes (1, 2, 4 or 8), so every dtype runs through
// the same code. All but reshape and trilu are one CopyPlan (movement.cuh) per output, or per
// input for concat, run by launch_copy(): cudaMemcpyAsync when the plan is contiguous, a tiled
// (or, for a short dim, looped) transpose when the innermost dims of source and destination
// differ, else one generic strided-copy kernel that writes up to 16 bytes per thread when the
// destination's innermost dim is contiguous. All of them use 32-bit index arithmetic when every
// offset fits. Reshape is a device-to-device copy; trilu has its own small kernel.
//
// Host-side validation mirrors the reference kernel's checks and messages, so a node that the
// reference refuses gives the same kind of Status here.
//
// Deliberately not here: take and gather (movement_index.cu), and views or aliasing (each kernel
// writes its own output buffer, except that reshape onto its own input is a no-op).
#include <algorithm>
#include <array>
#include <cstring>
#include <type_traits>

#include "../reference/common.h"
#include "families.h"
#include "movement.cuh"

namespace kiln {
namespace cuda_move {

// ---- The strided copy: kernel -------------------------------------------------------------------

// The plan as a kernel parameter (by value), in the offset type Off (int32_t when every offset
// the plan can form fits, else int64_t).
template <typename Off>
struct DeviceDims {
  int rank;
  Off size[kMaxDims];
  Off src_stride[kMaxDims];
  Off dst_stride[kMaxDims];
  Off start[kMaxDims];
  Off src_size[kMaxDims];
  DimMode mode[kMaxDims];
};

// The source index of logical index o along a dim of `mode`; sets is_fill for a kFill index
// outside the source.
template <typename Off>
__device__ __forceinline__ Off source_index(DimMode mode, Off o, Off start, Off m, bool& is_fill) {
  if (mode == DimMode::kPlain) return o;
  Off i = o + start;
  switch (mode) {
    case DimMode::kWrap: return i % m;  // start >= 0, so i >= 0
    case DimMode::kReflect:
      if (i < 0) i = -i;
      if (i >= m) i = 2 * (m - 1) - i;
      return i;
    case DimMode::kClamp: return i < 0 ? 0 : (i >= m ? m - 1 : i);
    case DimMode::kFill:
      if (i < 0 || i >= m) {
        is_fill = true;
        return 0;
      }
      return i;
    case DimMode::kPlain: break;
  }
  return o;
}

// V elements written as one store.
template <typename E, int V>
struct alignas(sizeof(E) * V) Pack {
  E v[V];
};

// One thread per V consecutive elements of the innermost logical dim (grid-stride over `total`
// such groups). With V > 1 the innermost dim is contiguous in the destination (dst_stride 1,
// extent and every destination stride and base multiples of V, dst aligned to a pack): the outer
// dims are decomposed once per group, the V source elements read one by one and the group
// written as one store. Off is the index and offset type; the flat index is decomposed unsigned.
// A source offset outside [0, src_limit) never happens for a valid plan; if it did, the element
// gets the fill value instead of an out-of-bounds read.
template <typename E, int V, typename Off>
__global__ void copy_kernel(const E* __restrict__ src, E* __restrict__ dst, Off total,
                            DeviceDims<Off> p, Off src_base, Off dst_base, Off src_limit, E fill) {
  using U = std::make_unsigned_t<Off>;
  const int inner = p.rank - 1;
  const U groups = static_cast<U>(p.size[inner] / V);
  const Off step = static_cast<Off>(gridDim.x) * blockDim.x;
  for (Off e = static_cast<Off>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += step) {
    U rest = static_cast<U>(e);
    const Off g = static_cast<Off>(rest % groups);
    rest /= groups;
    Off s = src_base, d = dst_base;
    bool outer_fill = false;
#pragma unroll
    for (int k = kMaxDims - 2; k >= 0; --k) {
      if (k >= inner) continue;
      const U n = static_cast<U>(p.size[k]);
      const Off o = static_cast<Off>(rest % n);
      rest /= n;
      d += o * p.dst_stride[k];
      s += source_index(p.mode[k], o, p.start[k], p.src_size[k], outer_fill) * p.src_stride[k];
    }
    Pack<E, V> out;
#pragma unroll
    for (int v = 0; v < V; ++v) {
      bool is_fill = outer_fill;
      const Off o = g * V + v;
      const Off si =
          s + source_index(p.mode[inner], o, p.start[inner], p.src_size[inner], is_fill) *
                  p.src_stride[inner];
      out.v[v] = (is_fill || si < 0 || si >= src_limit) ? fill : src[si];
    }
    if constexpr (V == 1) {
      dst[d + g * p.dst_stride[inner]] = out.v[0];
    } else {
      *reinterpret_cast<Pack<E, V>*>(dst + d + g * V) = out;  // dst_stride[inner] == 1
    }
  }
}

// ---- Transposes: the innermost destination dim is not the source's -----------------------------
//
// A plain plan whose last dim k is contiguous in the destination and whose second-to-last dim r
// is contiguous in the source: out[lead..., r, k] = in[lead..., k, r] with arbitrary strides
// elsewhere (permutes like [0, 2, 3, 1] and [0, 3, 1, 2] collapse to this with one lead dim).

template <typename Off>
struct TransposeDims {
  int lead;  // dims before r
  Off size[kMaxDims], src_stride[kMaxDims], dst_stride[kMaxDims];
  Off n_r, n_k;      // extents of r and k
  Off src_k, dst_r;  // the strides that are not 1
};

// The offsets of lead index b (flat over the lead dims).
template <typename Off>
__device__ __forceinline__ void lead_offsets(std::make_unsigned_t<Off> b,
                                             const TransposeDims<Off>& p, Off& s, Off& d) {
  using U = std::make_unsigned_t<Off>;
#pragma unroll
  for (int k = kMaxDims - 3; k >= 0; --k) {
    if (k >= p.lead) continue;
    const U n = static_cast<U>(p.size[k]);
    const Off o = static_cast<Off>(b % n);
    b /= n;
    s += o * p.src_stride[k];
    d += o * p.dst_stride[k];
  }
}

constexpr int kTile = 32, kTileRows = 8;

// One 32 x 32 tile of (r, k) per block iteration (grid-stride over lead x r-tiles x k-tiles):
// read along r (coalesced in the source), written along k (coalesced in the destination).
template <typename E, typename Off>
__global__ void transpose_tiled_kernel(const E* __restrict__ src, E* __restrict__ dst,
                                       TransposeDims<Off> p, Off src_base, Off dst_base,
                                       Off src_limit, int64_t tiles_r, int64_t tiles_k,
                                       int64_t total_tiles) {
  using U = std::make_unsigned_t<Off>;
  __shared__ E tile[kTile][kTile + 1];
  for (int64_t t = blockIdx.x; t < total_tiles; t += gridDim.x) {
    const Off k0 = static_cast<Off>(t % tiles_k) * kTile;
    const Off r0 = static_cast<Off>((t / tiles_k) % tiles_r) * kTile;
    Off s = src_base, d = dst_base;
    lead_offsets<Off>(static_cast<U>(t / tiles_k / tiles_r), p, s, d);
    const Off r = r0 + static_cast<Off>(threadIdx.x);
    for (int j = threadIdx.y; j < kTile; j += kTileRows) {
      const Off k = k0 + j;
      if (k < p.n_k && r < p.n_r) {
        const Off si = s + r + k * p.src_k;
        tile[j][threadIdx.x] = (si >= 0 && si < src_limit) ? src[si] : E{};
      }
    }
    __syncthreads();
    const Off k = k0 + static_cast<Off>(threadIdx.x);
    for (int j = threadIdx.y; j < kTile; j += kTileRows) {
      const Off rr = r0 + j;
      if (rr < p.n_r && k < p.n_k) dst[d + rr * p.dst_r + k] = tile[threadIdx.x][j];
    }
    __syncthreads();
  }
}

// For a small r or k: one thread per element of the large dim (consecutive threads touch
// consecutive memory on the side where it is contiguous), looping over the small one.
template <typename E, typename Off, bool kLoopK>
__global__ void transpose_loop_kernel(const E* __restrict__ src, E* __restrict__ dst,
                                      TransposeDims<Off> p, Off src_base, Off dst_base,
                                      Off src_limit, Off total) {
  using U = std::make_unsigned_t<Off>;
  const U n_big = static_cast<U>(kLoopK ? p.n_r : p.n_k);
  const Off step = static_cast<Off>(gridDim.x) * blockDim.x;
  for (Off e = static_cast<Off>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += step) {
    const Off big = static_cast<Off>(static_cast<U>(e) % n_big);
    Off s = src_base, d = dst_base;
    lead_offsets<Off>(static_cast<U>(e) / n_big, p, s, d);
    if constexpr (kLoopK) {
      s += big;
      d += big * p.dst_r;
      for (Off k = 0; k < p.n_k; ++k) {
        const Off si = s + k * p.src_k;
        dst[d + k] = (si >= 0 && si < src_limit) ? src[si] : E{};
      }
    } else {
      s += big * p.src_k;
      d += big;
      for (Off r = 0; r < p.n_r; ++r) {
        const Off si = s + r;
        dst[d + r * p.dst_r] = (si >= 0 && si < src_limit) ? src[si] : E{};
      }
    }
  }
}

// ---- The strided copy: host ---------------------------------------------------------------------

namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = int64_t{1} << 20;

// Drops plain dims of size 1 and merges neighbouring plain dims that are one run on both sides.
void simplify(CopyPlan& plan) {
  std::vector<CopyDim> out;
  for (const CopyDim& d : plan.dims) {
    if (d.mode == DimMode::kPlain && d.size == 1) continue;
    if (!out.empty() && d.mode == DimMode::kPlain && out.back().mode == DimMode::kPlain &&
        out.back().src_stride == d.size * d.src_stride &&
        out.back().dst_stride == d.size * d.dst_stride) {
      out.back().size *= d.size;
      out.back().src_stride = d.src_stride;
      out.back().dst_stride = d.dst_stride;
      continue;
    }
    out.push_back(d);
  }
  plan.dims = std::move(out);
}

// The widest element (up to 16 bytes) that the plan can move instead of `esize`-byte ones: the
// innermost dim is plain and contiguous on both sides, and every stride, base, extent and pointer
// is a multiple of the wider element. Rescales the plan to it and returns the new element size.
int64_t widen(CopyPlan& plan, int64_t esize, const void* src, void* dst) {
  if (plan.dims.empty()) return esize;
  const CopyDim& inner = plan.dims.back();
  if (inner.mode != DimMode::kPlain || inner.src_stride != 1 || inner.dst_stride != 1) {
    return esize;
  }
  for (int64_t w = 16; w > esize; w /= 2) {
    const int64_t f = w / esize;
    bool ok = inner.size % f == 0 && plan.src_base % f == 0 && plan.dst_base % f == 0 &&
              reinterpret_cast<uintptr_t>(src) % w == 0 && reinterpret_cast<uintptr_t>(dst) % w == 0;
    for (size_t k = 0; ok && k + 1 < plan.dims.size(); ++k) {
      ok = plan.dims[k].src_stride % f == 0 && plan.dims[k].dst_stride % f == 0;
    }
    if (!ok) continue;
    for (size_t k = 0; k + 1 < plan.dims.size(); ++k) {
      plan.dims[k].src_stride /= f;
      plan.dims[k].dst_stride /= f;
    }
    plan.dims.back().size /= f;
    plan.src_base /= f;
    plan.dst_base /= f;
    plan.src_numel /= f;
    return w;
  }
  return esize;
}

// True when every index and offset the plan can form (flat indices, logical and source indices
// before mapping, source and destination offsets, also negative ones) lies within +-2^31, so
// the kernels can run on int32_t (32-bit division is several times cheaper than 64-bit).
bool fits_32_bits(const CopyPlan& plan, int64_t total) {
  constexpr uint64_t kLimit = uint64_t{1} << 31;
  auto mag = [](int64_t v) { return static_cast<uint64_t>(v < 0 ? -v : v); };
  // The flat index plus one grid stride (at most 2^28) must not overflow either.
  if (static_cast<uint64_t>(total) >= kLimit / 2 || mag(plan.src_numel) >= kLimit) return false;
  uint64_t bound = mag(plan.src_base) + mag(plan.dst_base) + uint64_t{kThreads} * 2;
  for (const CopyDim& d : plan.dims) {
    const uint64_t reach = mag(d.size) + 2 * mag(d.start) + 2 * mag(d.src_size) + 2;
    if (reach >= kLimit || mag(d.src_stride) >= kLimit || mag(d.dst_stride) >= kLimit) {
      return false;
    }
    bound += (mag(d.src_stride) + mag(d.dst_stride)) * reach;
    if (bound >= kLimit) return false;
  }
  return bound < kLimit;
}

// Elements per thread along the innermost dim when it is contiguous in the destination: the
// largest V with V * esize <= 16 that divides its extent, every destination stride and the
// destination base, with dst aligned to V * esize; 1 otherwise.
int pack_width(const CopyPlan& plan, int64_t esize, const void* dst) {
  const CopyDim& inner = plan.dims.back();
  if (inner.dst_stride != 1) return 1;
  for (int64_t v = 16 / esize; v > 1; v /= 2) {
    bool ok = inner.size % v == 0 && plan.dst_base % v == 0 &&
              reinterpret_cast<uintptr_t>(dst) % static_cast<uintptr_t>(v * esize) == 0;
    for (size_t k = 0; ok && k + 1 < plan.dims.size(); ++k) ok = plan.dims[k].dst_stride % v == 0;
    if (ok) return static_cast<int>(v);
  }
  return 1;
}

template <typename E, int V, typename Off>
Status launch_generic(const CopyPlan& plan, int64_t total, const void* src, void* dst,
                      const std::array<uint8_t, 16>& fill_bytes, cudaStream_t stream) {
  DeviceDims<Off> p{};
  p.rank = static_cast<int>(plan.dims.size());
  for (int k = 0; k < p.rank; ++k) {
    const CopyDim& d = plan.dims[static_cast<size_t>(k)];
    p.size[k] = static_cast<Off>(d.size);
    p.src_stride[k] = static_cast<Off>(d.src_stride);
    p.dst_stride[k] = static_cast<Off>(d.dst_stride);
    p.start[k] = static_cast<Off>(d.start);
    p.src_size[k] = static_cast<Off>(d.src_size);
    p.mode[k] = d.mode;
  }
  E fill;
  std::memcpy(&fill, fill_bytes.data(), sizeof(E));
  const int64_t groups = total / V;
  const int64_t blocks = std::min((groups + kThreads - 1) / kThreads, kMaxBlocks);
  copy_kernel<E, V, Off><<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(
      static_cast<const E*>(src), static_cast<E*>(dst), static_cast<Off>(groups), p,
      static_cast<Off>(plan.src_base), static_cast<Off>(plan.dst_base),
      static_cast<Off>(plan.src_numel), fill);
  KILN_CUDA_RETURN_IF_ERROR(cudaGetLastError());
  return ok_status();
}

template <typename E, typename Off>
Status launch_packed(const CopyPlan& plan, int v, int64_t total, const void* src, void* dst,
                     const std::array<uint8_t, 16>& fill_bytes, cudaStream_t stream) {
  switch (v) {
    case 1: return launch_generic<E, 1, Off>(plan, total, src, dst, fill_bytes, stream);
    case 2: return launch_generic<E, 2, Off>(plan, total, src, dst, fill_bytes, stream);
    case 4:
      if constexpr (sizeof(E) <= 4) {
        return launch_generic<E, 4, Off>(plan, total, src, dst, fill_bytes, stream);
      }
      break;
    case 8:
      if constexpr (sizeof(E) <= 2) {
        return launch_generic<E, 8, Off>(plan, total, src, dst, fill_bytes, stream);
      }
      break;
    case 16:
      if constexpr (sizeof(E) == 1) {
        return launch_generic<E, 16, Off>(plan, total, src, dst, fill_bytes, stream);
      }
      break;
    default: break;
  }
  return internal_error("strided copy: unexpected pack of ", v, " elements of ", sizeof(E),
                        " bytes");
}

// The plan as a transpose (see TransposeDims), or false.
template <typename Off>
bool as_transpose(const CopyPlan& plan, TransposeDims<Off>& t) {
  const size_t rank = plan.dims.size();
  if (rank < 2) return false;
  for (const CopyDim& d : plan.dims) {
    if (d.mode != DimMode::kPlain) return false;
  }
  const CopyDim& k = plan.dims[rank - 1];
  const CopyDim& r = plan.dims[rank - 2];
  if (k.dst_stride != 1 || k.src_stride == 1 || r.src_stride != 1 || r.dst_stride == 1) {
    return false;
  }
  t.lead = static_cast<int>(rank - 2);
  for (size_t d = 0; d + 2 < rank; ++d) {
    t.size[d] = static_cast<Off>(plan.dims[d].size);
    t.src_stride[d] = static_cast<Off>(plan.dims[d].src_stride);
    t.dst_stride[d] = static_cast<Off>(plan.dims[d].dst_stride);
  }
  t.n_r = static_cast<Off>(r.size);
  t.n_k = static_cast<Off>(k.size);
  t.src_k = static_cast<Off>(k.src_stride);
  t.dst_r = static_cast<Off>(r.dst_stride);
  return true;
}

// A dim at most this long is looped over by one thread instead of being tiled.
constexpr int64_t kSmallDim = 8;

template <typename E, typename Off>
Status launch_transpose(const CopyPlan& plan, const TransposeDims<Off>& t, int64_t total,
                        const void* src, void* dst, cudaStream_t stream) {
  const E* s = static_cast<const E*>(src);
  E* d = static_cast<E*>(dst);
  const Off sb = static_cast<Off>(plan.src_base), db = static_cast<Off>(plan.dst_base);
  const Off limit = static_cast<Off>(plan.src_numel);
  if (t.n_k <= kSmallDim || t.n_r <= kSmallDim) {
    const bool loop_k = t.n_k <= t.n_r;
    const int64_t threads = total / (loop_k ? t.n_k : t.n_r);
    const unsigned blocks =
        static_cast<unsigned>(std::min((threads + kThreads - 1) / kThreads, kMaxBlocks));
    if (loop_k) {
      transpose_loop_kernel<E, Off, true>
          <<<blocks, kThreads, 0, stream>>>(s, d, t, sb, db, limit, static_cast<Off>(threads));
    } else {
      transpose_loop_kernel<E, Off, false>
          <<<blocks, kThreads, 0, stream>>>(s, d, t, sb, db, limit, static_cast<Off>(threads));
    }
  } else {
    const int64_t tiles_r = (t.n_r + kTile - 1) / kTile, tiles_k = (t.n_k + kTile - 1) / kTile;
    const int64_t total_tiles = total / (int64_t{t.n_r} * t.n_k) * tiles_r * tiles_k;
    const unsigned blocks = static_cast<unsigned>(std::min(total_tiles, kMaxBlocks));
    transpose_tiled_kernel<E, Off><<<blocks, dim3(kTile, kTileRows), 0, stream>>>(
        s, d, t, sb, db, limit, tiles_r, tiles_k, total_tiles);
  }
  KILN_CUDA_RETURN_IF_ERROR(cudaGetLastError());
  return ok_status();
}

// The kernel for a simplified, widened plan of `total` elements of E: a transpose, or the generic
// copy with packed stores where the destination allows.
template <typename E, typename Off>
Status launch_typed(const CopyPlan& plan, int64_t total, const void* src, void* dst,
                    const std::array<uint8_t, 16>& fill_bytes, cudaStream_t stream) {
  if constexpr (sizeof(E) <= 8) {
    TransposeDims<Off> t{};
    if (as_transpose(plan, t)) return launch_transpose<E, Off>(plan, t, total, src, dst, stream);
    const int v = pack_width(plan, sizeof(E), dst);
    return launch_packed<E, Off>(plan, v, total, src, dst, fill_bytes, stream);
  } else {
    return launch_generic<E, 1, Off>(plan, total, src, dst, fill_bytes, stream);
  }
}

template <typename E>
Status launch_sized(const CopyPlan& plan, int64_t total, const void* src, void* dst,
                    const std::array<uint8_t, 16>& fill_bytes, cudaStream_t stream) {
  if (fits_32_bits(plan, total)) {
    return launch_typed<E, int32_t>(plan, total, src, dst, fill_bytes, stream);
  }
  return launch_typed<E, int64_t>(plan, total, src, dst, fill_bytes, stream);
}

}  // namespace

Status launch_copy(CopyPlan plan, const void* src, void* dst, int64_t esize, cudaStream_t stream) {
  int64_t total = 1;
  for (const CopyDim& d : plan.dims) total *= d.size;
  if (total == 0) return ok_status();
  if (esize != 1 && esize != 2 && esize != 4 && esize != 8) {
    return internal_error("strided copy: unexpected element size ", esize);
  }
  simplify(plan);
  std::array<uint8_t, 16> fill_bytes{};
  for (int64_t k = 0; k < 16; k += esize) {
    std::memcpy(fill_bytes.data() + k, &plan.fill, static_cast<size_t>(esize));
  }
  // 1. Contiguous on both sides (or one element): one memcpy.
  const bool one_run =
      plan.dims.empty() || (plan.dims.size() == 1 && plan.dims[0].mode == DimMode::kPlain &&
                            plan.dims[0].src_stride == 1 && plan.dims[0].dst_stride == 1);
  if (one_run) {
    if (plan.src_base < 0 || plan.src_base + total > plan.src_numel) {
      return internal_error("strided copy: a contiguous run of ", total, " elements at ",
                            plan.src_base, " exceeds the source's ", plan.src_numel);
    }
    KILN_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(
        static_cast<uint8_t*>(dst) + plan.dst_base * esize,
        static_cast<const uint8_t*>(src) + plan.src_base * esize,
        static_cast<size_t>(total * esize), cudaMemcpyDeviceToDevice, stream));
    return ok_status();
  }
  if (plan.dims.size() > static_cast<size_t>(kMaxDims)) {
    return unsupported("strided copy: ", plan.dims.size(), " dims after merging, at most ",
                       kMaxDims);
  }
  // 2. A kernel, on the widest element that fits: a transpose when the innermost dims swap,
  // else the generic copy (packed stores when the destination's innermost dim is contiguous).
  const int64_t w = widen(plan, esize, src, dst);
  total /= w / esize;
  switch (w) {
    case 1: return launch_sized<uint8_t>(plan, total, src, dst, fill_bytes, stream);
    case 2: return launch_sized<uint16_t>(plan, total, src, dst, fill_bytes, stream);
    case 4: return launch_sized<uint32_t>(plan, total, src, dst, fill_bytes, stream);
    case 8: return launch_sized<uint64_t>(plan, total, src, dst, fill_bytes, stream);
    case 16: return launch_sized<uint4>(plan, total, src, dst, fill_bytes, stream);
    default: return internal_error("strided copy: unexpected element width ", w);
  }
}

// ---- Shared host helpers ------------------------------------------------------------------------

std::vector<int64_t> contiguous_strides(std::span<const int64_t> shape) {
  std::vector<int64_t> strides(shape.size());
  int64_t s = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

std::string shape_text(std::span<const int64_t> shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

Expected<int64_t> normalize_axis(std::string_view op, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank) {
    return invalid_argument(op, ": axis ", axis, " is out of range for rank ", rank,
                            " (expected [", -rank, ", ", rank, "))");
  }
  return axis < 0 ? axis + rank : axis;
}

Status check_buffers(std::string_view op, const KernelArgs& args, bool same_dtype) {
  if (args.inputs.empty() || args.outputs.empty()) {
    return invalid_argument(op, ": expected inputs and outputs, got ", args.inputs.size(), " and ",
                            args.outputs.size());
  }
  for (size_t k = 0; k < args.inputs.size(); ++k) {
    if (args.inputs[k].data == nullptr && args.inputs[k].numel() > 0) {
      return invalid_argument(op, ": input ", k, " has no device buffer");
    }
  }
  for (size_t k = 0; k < args.outputs.size(); ++k) {
    const TensorView& out = args.outputs[k];
    if (out.data == nullptr && out.numel() > 0) {
      return invalid_argument(op, ": output ", k, " has no device buffer");
    }
    if (same_dtype && out.dtype != args.inputs[0].dtype) {
      return invalid_argument(op, ": the output must have the input's dtype ",
                              dtype_name(args.inputs[0].dtype), ", got ", dtype_name(out.dtype));
    }
  }
  return ok_status();
}

bool typed_node(const Node& node, std::span<const TensorType> input_types, int64_t max_rank,
                std::vector<const TensorType*>& inputs, std::vector<TensorType>& outputs,
                std::string* why) {
  if (input_types.size() != node.inputs.size()) {
    return refuse(why, str_cat("expected ", node.inputs.size(), " input types, got ",
                               input_types.size()));
  }
  inputs.clear();
  for (size_t i = 0; i < input_types.size(); ++i) {
    if (node.inputs[i] == kNoValue) {
      inputs.push_back(nullptr);
      continue;
    }
    const TensorType& t = input_types[i];
    if (t.dtype == DType::kF64) return refuse(why, str_cat("input ", i, " is f64"));
    if (t.rank() > max_rank) {
      return refuse(why, str_cat("input ", i, " has rank ", t.rank(), "; the CUDA kernel takes ",
                                 "at most ", max_rank));
    }
    inputs.push_back(&t);
  }
  Expected<std::vector<TensorType>> out = infer_output_types(node.op, node.attrs, inputs);
  if (!out.ok()) return refuse(why, out.status().message());
  outputs = std::move(*out);
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (outputs[i].dtype == DType::kF64) return refuse(why, str_cat("output ", i, " is f64"));
    if (outputs[i].rank() > max_rank) {
      return refuse(why, str_cat("output ", i, " has rank ", outputs[i].rank(),
                                 "; the CUDA kernel takes at most ", max_rank));
    }
  }
  return true;
}

}  // namespace cuda_move

namespace {

using cuda_move::check_buffers;
using cuda_move::contiguous_strides;
using cuda_move::CopyDim;
using cuda_move::CopyPlan;
using cuda_move::DimMode;
using cuda_move::launch_copy;
using cuda_move::normalize_axis;
using cuda_move::shape_text;
using cuda_move::stream_of;

Status shape_mismatch(std::string_view op, const TensorView& out, const ConcreteShape& want) {
  return invalid_argument(op, ": the output shape is ", shape_text(out.shape), " but should be ",
                          shape_text(want));
}

Status check_one_to_one(std::string_view op, const KernelArgs& args) {
  if (args.inputs.size() != 1 || args.outputs.size() != 1) {
    return invalid_argument(op, ": expected 1 input and 1 output, got ", args.inputs.size(),
                            " and ", args.outputs.size());
  }
  return check_buffers(op, args, true);
}

// The plan of out == in (same shape, contiguous on both sides), to be edited per op.
CopyPlan identity_plan(const TensorView& in) {
  CopyPlan plan;
  const std::vector<int64_t> strides = contiguous_strides(in.shape);
  for (size_t d = 0; d < in.shape.size(); ++d) {
    plan.dims.push_back(CopyDim{in.shape[d], strides[d], strides[d]});
  }
  plan.src_numel = in.numel();
  return plan;
}

Status run_plan(const CopyPlan& plan, const TensorView& in, const TensorView& out,
                const KernelArgs& args) {
  if (out.numel() == 0) return ok_status();
  return launch_copy(plan, in.data, out.data, dtype_size(in.dtype), stream_of(args));
}

// ---- Entries ------------------------------------------------------------------------------------

Status reshape_run(const KernelArgs& args) {
  KILN_RETURN_IF_ERROR(check_one_to_one("reshape", args));
  const TensorView& in = args.inputs[0];
  const TensorView& out = args.outputs[0];
  if (in.numel() != out.numel()) {
    return invalid_argument("reshape: cannot reshape ", shape_text(in.shape), " (", in.numel(),
                            " elements) to ", shape_text(out.shape));
  }
  if (out.nbytes() > 0 && out.data != in.data) {
    KILN_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(out.data, in.data, static_cast<size_t>(out.nbytes()),
                                              cudaMemcpyDeviceToDevice, stream_of(args)));
  }
  return ok_status();
}

Status permute_run(const KernelArgs& args) {
  KILN_RETURN_IF_ERROR(check_one_to_one("permute", args));
  const TensorView& in = args.inputs[0];
  const TensorView& out = args.outputs[0];
  const std::vector<int64_t>& perm = args.node.attrs_as<PermuteAttrs>().perm;
  const int64_t rank = static_cast<int64_t>(in.shape.size());
  if (static_cast<int64_t>(perm.size()) != rank) {
    return invalid_argument("permute: perm has ", perm.size(), " entries for an input of rank ",
                            rank);
  }
  const std::vector<int64_t> strides = contiguous_strides(in.shape);
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  ConcreteShape want;
  CopyPlan plan;
  for (int64_t p : perm) {
    KILN_ASSIGN_OR_RETURN(int64_t d, normalize_axis("permute", p, rank));
    if (seen[static_cast<size_t>(d)]) {
      return invalid_argument("permute: axis ", p, " appears more than once in the permutation");
    }
    seen[static_cast<size_t>(d)] = true;
    want.push_back(in.shape[static_cast<size_t>(d)]);
    plan.dims.push_back(CopyDim{want.back(), strides[static_cast<size_t>(d)], 0});
  }
  if (want != out.shape) return shape_mismatch("permute", out, want);
  const std::vector<int64_t> out_strides = contiguous_strides(out.shape);
  for (size_t d = 0; d < plan.dims.size(); ++d) plan.dims[d].dst_stride = out_strides[d];
  plan.src_numel = in.numel();
  return run_plan(plan, in, out, args);
}

Status expand_run(const KernelArgs& args) {
  KILN_RETURN_IF_ERROR(check_one_to_one("expand", args));
  const TensorView& in = args.inputs[0];
  const TensorView& out = args.outputs[0];
  const size_t rank = out.shape.size();
  if (in.shape.size() > rank) {
    return invalid_argument("expand: cannot expand ", shape_text(in.shape), " to fewer dims ",
                            shape_text(out.shape));
  }
  const size_t lead = rank - in.shape.size();
  const std::vector<int64_t> strides = contiguous_strides(in.shape);
  const std::vector<int64_t> out_strides = contiguous_strides(out.shape);
  CopyPlan plan;
  for (size_t d = 0; d < rank; ++d) {
    const int64_t n = out.shape[d];
    int64_t stride = 0;
    if (d >= lead) {
      const int64_t m = in.shape[d - lead];
      if (m != n && m != 1) {
        return invalid_argument("expand: input ", shape_text(in.shape), " does not broadcast to ",
                                shape_text(out.shape));
      }
      stride = m == 1 ? 0 : strides[d - lead];
    }
    plan.dims.push_back(CopyDim{n, stride, out_strides[d]});
  }
  plan.src_numel = in.numel();
  return run_plan(plan, in, out, args);
}

// Python slice bounds: negative counts from the end, then clamped to [0, dim].
int64_t clamp_bound(int64_t v, int64_t dim) {
  if (v < 0) v = std::max<int64_t>(v + dim, 0);
  return std::min(v, dim);
}

int64_t prod(const ConcreteShape& s, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t d = begin; d < end; ++d) p *= s[d];
  return p;
}

// Viewed as [outer, len, inner]: the axis becomes one strided dim.
Status slice_run(const KernelArgs& args) {
  KILN_RETURN_IF_ERROR(check_one_to_one("slice", args));
  const SliceAttrs& a = args.node.attrs_as<SliceAttrs>();
  const TensorView& in = args.inputs[0];
  const TensorView& out = args.outputs[0];
  const int64_t rank = static_cast<int64_t>(in.shape.size());
  KILN_ASSIGN_OR_RETURN(int64_t axis, normalize_axis("slice", a.axis, rank));
  KILN_ASSIGN_OR_RETURN(int64_t start, a.start.evaluate(args.symbol_values));
  KILN_ASSIGN_OR_RETURN(int64_t end, a.end.evaluate(args.symbol_values));
  if (a.step <= 0) return invalid_argument("slice: step must be positive, got ", a.step);
  const size_t ax = static_cast<size_t>(axis);
  const int64_t dim = in.shape[ax];
  start = clamp_bound(start, dim);
  end = clamp_bound(end, dim);
  const int64_t len = end > start ? (end - start + a.step - 1) / a.step : 0;
  ConcreteShape want = in.shape;
  want[ax] = len;
  if (want != out.shape) return shape_mismatch("slice", out, want);
  const int64_t outer = prod(in.shape, 0, ax), inner = prod(in.shape, ax + 1, in.shape.size());
  CopyPlan plan;
  plan.dims = {CopyDim{outer, dim * inner, len * inner}, CopyDim{len, a.step * inner, inner},
               CopyDim{inner, 1, 1}};
  plan.src_base = start * inner;
  plan.src_numel = in.numel();
  return run_plan(plan, in, out, args);
}

Status concat_run(const KernelArgs& args) {
  if (args.inputs.empty() || args.outputs.size() != 1) {
    return invalid_argument("concat: expected at least 1 input and 1 output, got ",
                            args.inputs.size(), " and ", args.outputs.size());
  }
  KILN_RETURN_IF_ERROR(check_buffers("concat", args, false));
  const TensorView& out = args.outputs[0];
  const int64_t rank = static_cast<int64_t>(out.shape.size());
  KILN_ASSIGN_OR_RETURN(int64_t axis,
                        normalize_axis("concat", args.node.attrs_as<AxisAttrs>().axis, rank));
  const size_t ax = static_cast<size_t>(axis);
  const int64_t outer = prod(out.shape, 0, ax), inner = prod(out.shape, ax + 1, out.shape.size());
  // 1. Validate every input and place it; 2. copy each non-empty one.
  std::vector<int64_t> offsets(args.inputs.size(), -1);
  int64_t offset = 0;  // along the axis
  for (size_t k = 0; k < args.inputs.size(); ++k) {
    const TensorView& in = args.inputs[k];
    if (in.dtype != out.dtype) {
      return invalid_argument("concat: input ", k, " is ", dtype_name(in.dtype),
                              " but the output is ", dtype_name(out.dtype));
    }
    if (in.numel() == 0) {  // nothing to copy; it still fills its span of the axis
      if (in.shape.size() == out.shape.size()) offset += in.shape[ax];
      continue;
    }
    bool ok = in.shape.size() == out.shape.size();
    for (size_t d = 0; ok && d < out.shape.size(); ++d) {
      ok = d == ax ? offset + in.shape[d] <= out.shape[d] : in.shape[d] == out.shape[d];
    }
    if (!ok) {
      return invalid_argument("concat: input ", k, " of shape ", shape_text(in.shape),
                              " does not fit the output ", shape_text(out.shape), " at offset ",
                              offset, " along axis ", axis);
    }
    offsets[k] = offset;
    offset += in.shape[ax];
  }
  if (offset != out.shape[ax]) {
    return invalid_argument("concat: the inputs fill ", offset, " of the output's ", out.shape[ax],
                            " entries along axis ", axis);
  }
  for (size_t k = 0; k < args.inputs.size(); ++k) {
    if (offsets[k] < 0) continue;
    const TensorView& in = args.inputs[k];
    const int64_t run = in.shape[ax] * inner;
    CopyPlan plan;
    plan.dims = {CopyDim{outer, run, out.shape[ax] * inner}, CopyDim{run, 1, 1}};
    plan.dst_base = offsets[k] * inner;
    plan.src_numel = in.numel();
    KILN_RETURN_IF_ERROR(
        launch_copy(plan, in.data, out.data, dtype_size(out.dtype), stream_of(args)));
  }
  return ok_status();
}

Status split_run(const KernelArgs& args) {
  if (args.inputs.size() != 1) {
    return invalid_argument("split: expected 1 input, got ", args.inputs.size());
  }
  const SplitAttrs& a = args.node.attrs_as<SplitAttrs>();
  const TensorView& in = args.inputs[0];
  if (args.outputs.size() != a.sizes.size()) {
    return invalid_argument("split: expected ", a.sizes.size(), " outputs, got ",
                            args.outputs.size());
  }
  if (in.data == nullptr && in.numel() > 0) {
    return invalid_argument("split: input 0 has no device buffer");
  }
  const int64_t rank = static_cast<int64_t>(in.shape.size());
  KILN_ASSIGN_OR_RETURN(int64_t axis, normalize_axis("split", a.axis, rank));
  const size_t ax = static_cast<size_t>(axis);
  const int64_t outer = prod(in.shape, 0, ax), inner = prod(in.shape, ax + 1, in.shape.size());
  // 1. Validate every output; 2. copy.
  std::vector<int64_t> offsets, sizes;
  int64_t offset = 0;
  for (size_t k = 0; k < args.outputs.size(); ++k) {
    const TensorView& out = args.outputs[k];
    KILN_ASSIGN_OR_RETURN(int64_t size, a.sizes[k].evaluate(args.symbol_values));
    ConcreteShape want = in.shape;
    want[ax] = size;
    if (out.shape != want || out.dtype != in.dtype || offset + size > in.shape[ax] ||
        (out.data == nullptr && out.numel() > 0)) {
      return invalid_argument("split: output ", k, " is ", dtype_name(out.dtype),
                              shape_text(out.shape), " but should be ", dtype_name(in.dtype),
                              shape_text(want), " at offset ", offset, " of input ",
                              shape_text(in.shape));
    }
    offsets.push_back(offset);
    sizes.push_back(size);
    offset += size;
  }
  if (offset != in.shape[ax]) {
    return invalid_argument("split: the sizes add up to ", offset, " but axis ", axis,
                            " of the input has ", in.shape[ax]);
  }
  for (size_t k = 0; k < args.outputs.size(); ++k) {
    const TensorView& out = args.outputs[k];
    if (out.numel() == 0) continue;
    const int64_t run = sizes[k] * inner;
    CopyPlan plan;
    plan.dims = {CopyDim{outer, in.shape[ax] * inner, run}, CopyDim{run, 1, 1}};
    plan.src_base = offsets[k] * inner;
    plan.src_numel = in.numel();
    KILN_RETURN_IF_ERROR(
        launch_copy(plan, in.data, out.data, dtype_size(in.dtype), stream_of(args)));
  }
  return ok_status();
}

// pads = [before_0, after_0, ...]; negative pads crop. Each padded dim is a reflect, clamp or
// fill dim of the plan; a dim padded by nothing on either side (or only cropped) stays plain.
Status pad_run(const KernelArgs& args) {
  KILN_RETURN_IF_ERROR(check_one_to_one("pad", args));
  const PadAttrs& a = args.node.attrs_as<PadAttrs>();
  const TensorView& in = args.inputs[0];
  const TensorView& out = args.outputs[0];
  const size_t rank = in.shape.size();
  if (a.pads.size() != 2 * rank) {
    return invalid_argument("pad: expected ", 2 * rank, " pads (before and after each of ", rank,
                            " dims), got ", a.pads.size());
  }
  ConcreteShape want(rank);
  for (size_t d = 0; d < rank; ++d) want[d] = in.shape[d] + a.pads[2 * d] + a.pads[2 * d + 1];
  if (want != out.shape) return shape_mismatch("pad", out, want);
  if (out.numel() == 0) return ok_status();
  const char* mode_name = a.mode == PadMode::kReflect ? "reflect" : "replicate";
  CopyPlan plan = identity_plan(in);
  const std::vector<int64_t> out_strides = contiguous_strides(out.shape);
  for (size_t d = 0; d < rank; ++d) {
    const int64_t n = in.shape[d], before = a.pads[2 * d], after = a.pads[2 * d + 1];
    if (n == 0 && a.mode != PadMode::kConstant) {
      return invalid_argument("pad: cannot ", mode_name, " dim ", d, " of size 0 (input ",
                              shape_text(in.shape), ")");
    }
    // The source index o - before is monotone in o: its extremes are at o = 0 and o = want - 1.
    const int64_t lo = -before, hi = want[d] - 1 - before;
    if (a.mode == PadMode::kReflect && (-lo > n - 1 || hi > 2 * (n - 1))) {
      return invalid_argument("pad: ", mode_name, " padding of dim ", d, " (size ", n, ") by ",
                              before, " and ", after, " reads outside the input");
    }
    CopyDim& cd = plan.dims[d];
    cd.size = want[d];
    cd.dst_stride = out_strides[d];
    if (lo >= 0 && hi < n) {  // only reads inside: plain, shifted
      plan.src_base += lo * cd.src_stride;
      continue;
    }
    cd.start = lo;
    cd.src_size = n;
    cd.mode = a.mode == PadMode::kConstant  ? DimMode::kFill
              : a.mode == PadMode::kReflect ? DimMode::kReflect
                                            : DimMode::kClamp;
  }
  uint64_t fill = 0;
  const TensorView fill_view{&fill, out.dtype, {1}};
  ref::store_contiguous<double>(fill_view, 0, 1, &a.value);  // the reference's rounding
  plan.fill = fill;
  return run_plan(plan, in, out, args);
}

// torch.Tensor.repeat: dims wrap around the input's extent.
Status tile_run(const KernelArgs& args) {
  KILN_RETURN_IF_ERROR(check_one_to_one("tile", args));
  const std::vector<int64_t>& reps = args.node.attrs_as<TileAttrs>().repeats;
  const TensorView& in = args.inputs[0];
  const TensorView& out = args.outputs[0];
  if (reps.size() < in.shape.size()) {
    return invalid_argument("tile: ", reps.size(), " repeats for an input of rank ",
                            in.shape.size(), " (expected at least one per dim)");
  }
  const size_t rank = reps.size(), lead = rank - in.shape.size();
  ConcreteShape shape(lead, 1);
  shape.insert(shape.end(), in.shape.begin(), in.shape.end());
  const std::vector<int64_t> strides = contiguous_strides(shape);
  ConcreteShape want(rank);
  for (size_t d = 0; d < rank; ++d) {
    if (reps[d] < 0) return invalid_argument("tile: repeat ", reps[d], " is negative");
    want[d] = shape[d] * reps[d];
  }
  if (want != out.shape) return shape_mismatch("tile", out, want);
  if (out.numel() == 0) return ok_status();
  const std::vector<int64_t> out_strides = contiguous_strides(out.shape);
  CopyPlan plan;
  for (size_t d = 0; d < rank; ++d) {
    CopyDim cd{want[d], shape[d] == 1 ? 0 : strides[d], out_strides[d]};
    if (reps[d] != 1 && shape[d] != 1) {
      cd.mode = DimMode::kWrap;
      cd.src_size = shape[d];
    }
    plan.dims.push_back(cd);
  }
  plan.src_numel = in.numel();
  return run_plan(plan, in, out, args);
}

Status flip_run(const KernelArgs& args) {
  KILN_RETURN_IF_ERROR(check_one_to_one("flip", args));
  const TensorView& in = args.inputs[0];
  const TensorView& out = args.outputs[0];
  if (in.shape != out.shape) return shape_mismatch("flip", out, in.shape);
  const int64_t rank = static_cast<int64_t>(in.shape.size());
  CopyPlan plan = identity_plan(in);
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  for (int64_t a : args.node.attrs_as<AxesAttrs>().axes) {
    KILN_ASSIGN_OR_RETURN(int64_t d, normalize_axis("flip", a, rank));
    if (seen[static_cast<size_t>(d)]) {
      return invalid_argument("flip: axis ", a, " appears more than once");
    }
    seen[static_cast<size_t>(d)] = true;
    CopyDim& cd = plan.dims[static_cast<size_t>(d)];
    plan.src_base += (cd.size - 1) * cd.src_stride;
    cd.src_stride = -cd.src_stride;
  }
  return run_plan(plan, in, out, args);
}

// out[i] = in[(i - shift) mod n]: a wrap dim starting at (n - shift mod n) mod n.
Status roll_run(const KernelArgs& args) {
  KILN_RETURN_IF_ERROR(check_one_to_one("roll", args));
  const RollAttrs& a = args.node.attrs_as<RollAttrs>();
  const TensorView& in = args.inputs[0];
  const TensorView& out = args.outputs[0];
  if (in.shape != out.shape) return shape_mismatch("roll", out, in.shape);
  if (out.numel() == 0) return ok_status();
  auto wrap = [](int64_t s, int64_t n) { return ((s % n) + n) % n; };
  auto roll_dim = [&](CopyDim& cd, int64_t total_shift) {
    const int64_t n = cd.size, s = wrap(total_shift, n);
    if (s == 0) return;
    cd.mode = DimMode::kWrap;
    cd.start = n - s;
    cd.src_size = n;
  };
  if (a.axes.empty()) {
    if (a.shifts.size() != 1) {
      return invalid_argument("roll: without axes, expected 1 shift, got ", a.shifts.size());
    }
    CopyPlan plan;
    plan.dims = {CopyDim{in.numel(), 1, 1}};
    plan.src_numel = in.numel();
    roll_dim(plan.dims[0], a.shifts[0]);
    return run_plan(plan, in, out, args);
  }
  if (a.shifts.size() != a.axes.size()) {
    return invalid_argument("roll: ", a.shifts.size(), " shifts for ", a.axes.size(), " axes");
  }
  const int64_t rank = static_cast<int64_t>(in.shape.size());
  std::vector<int64_t> total(static_cast<size_t>(rank), 0);
  for (size_t k = 0; k < a.axes.size(); ++k) {
    KILN_ASSIGN_OR_RETURN(int64_t d, normalize_axis("roll", a.axes[k], rank));
    total[static_cast<size_t>(d)] += wrap(a.shifts[k], in.shape[static_cast<size_t>(d)]);
  }
  CopyPlan plan = identity_plan(in);
  for (size_t d = 0; d < plan.dims.size(); ++d) roll_dim(plan.dims[d], total[d]);
  return run_plan(plan, in, out, args);
}

// ---- Trilu --------------------------------------------------------------------------------------

// Element e of [rows, cols] matrices (row r of all matrices, i = r % rows_per): kept when
// lo <= j < hi with the reference's bounds, else zero (all-zero bytes are 0 in every dtype).
template <typename E>
__global__ void trilu_kernel(const E* __restrict__ src, E* __restrict__ dst, int64_t total,
                             int64_t cols, int64_t rows_per, bool upper, int64_t diagonal) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
       e += step) {
    const int64_t j = e % cols, i = (e / cols) % rows_per;
    const int64_t bound = upper ? i + diagonal : i + diagonal + 1;
    const int64_t c = bound < 0 ? 0 : (bound > cols ? cols : bound);
    const bool keep = upper ? j >= c : j < c;
    dst[e] = keep ? src[e] : E{};
  }
}

Status trilu_run(const KernelArgs& args) {
  KILN_RETURN_IF_ERROR(check_one_to_one("trilu", args));
  const TriluAttrs& a = args.node.attrs_as<TriluAttrs>();
  const TensorView& in = args.inputs[0];
  const TensorView& out = args.outputs[0];
  if (in.shape.size() < 2) {
    return invalid_argument("trilu: expected rank >= 2, got ", shape_text(in.shape));
  }
  if (in.shape != out.shape) return shape_mismatch("trilu", out, in.shape);
  const int64_t total = out.numel();
  if (total == 0) return ok_status();
  const int64_t cols = in.shape.back(), rows_per = in.shape[in.shape.size() - 2];
  const int threads = 256;
  const int64_t blocks = std::min<int64_t>((total + threads - 1) / threads, int64_t{1} << 20);
  cudaStream_t stream = stream_of(args);
  auto launch = [&](auto tag) {
    using E = decltype(tag);
    trilu_kernel<E><<<static_cast<unsigned>(blocks), threads, 0, stream>>>(
        static_cast<const E*>(in.data), static_cast<E*>(out.data), total, cols, rows_per, a.upper,
        a.diagonal);
  };
  switch (dtype_size(in.dtype)) {
    case 1: launch(uint8_t{}); break;
    case 2: launch(uint16_t{}); break;
    case 4: launch(uint32_t{}); break;
    case 8: launch(uint64_t{}); break;
    default: return internal_error("trilu: unexpected element size ", dtype_size(in.dtype));
  }
  KILN_CUDA_RETURN_IF_ERROR(cudaGetLastError());
  return ok_status();
}

// ---- accepts ------------------------------------------------------------------------------------

// Ops whose copy plan has a dim per tensor dim (merged at run time) take rank <= kMaxDims; the
// others view their tensors as at most three dims and take any rank.
bool strided_accepts(const Node& node, std::span<const TensorType> input_types, std::string* why) {
  std::vector<const TensorType*> inputs;
  std::vector<TensorType> outputs;
  return cuda_move::typed_node(node, input_types, cuda_move::kMaxDims, inputs, outputs, why);
}

bool any_rank_accepts(const Node& node, std::span<const TensorType> input_types,
                      std::string* why) {
  std::vector<const TensorType*> inputs;
  std::vector<TensorType> outputs;
  return cuda_move::typed_node(node, input_types, INT64_MAX, inputs, outputs, why);
}

const Kernel kMovementKernels[] = {
    {"cuda.reshape", OpKind::kReshape, DeviceKind::kCuda, 1, &any_rank_accepts, &reshape_run},
    {"cuda.permute", OpKind::kPermute, DeviceKind::kCuda, 1, &strided_accepts, &permute_run},
    {"cuda.expand", OpKind::kExpand, DeviceKind::kCuda, 1, &strided_accepts, &expand_run},
    {"cuda.slice", OpKind::kSlice, DeviceKind::kCuda, 1, &any_rank_accepts, &slice_run},
    {"cuda.concat", OpKind::kConcat, DeviceKind::kCuda, 1, &any_rank_accepts, &concat_run},
    {"cuda.split", OpKind::kSplit, DeviceKind::kCuda, 1, &any_rank_accepts, &split_run},
    {"cuda.pad", OpKind::kPad, DeviceKind::kCuda, 1, &strided_accepts, &pad_run},
    {"cuda.tile", OpKind::kTile, DeviceKind::kCuda, 1, &strided_accepts, &tile_run},
    {"cuda.flip", OpKind::kFlip, DeviceKind::kCuda, 1, &strided_accepts, &flip_run},
    {"cuda.roll", OpKind::kRoll, DeviceKind::kCuda, 1, &strided_accepts, &roll_run},
    {"cuda.trilu", OpKind::kTrilu, DeviceKind::kCuda, 1, &any_rank_accepts, &trilu_run},
};

}  // namespace

std::span<const Kernel> cuda_movement_kernels() { return kMovementKernels; }

}  // namespace kiln
