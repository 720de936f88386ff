// CUDA kernels for the reductions: reduce_sum / mean / max / min / prod, var, argmax, argmin and
// cumsum, with the reference's semantics (src/kernels/reference/reduce.cc): integer inputs
// accumulate in int64 with two's-complement wrap and are stored wrapped to the output dtype;
// max / min propagate NaN; argmax / argmin return the first index among equal extremes and treat
// NaN as the extreme (the first NaN wins); var divides by max(N - correction, 0); the mean of
// nothing is NaN, the sum 0 and the product 1; max / min / argmax / argmin of nothing is an error.
// Float inputs accumulate in f32 (the reference uses double) in a fixed tree order, so results are
// deterministic; var is two-pass (mean, then squared deviations); cumsum scans in f32 within a
// chunk of a row and carries the running sum in double between chunks.
//
// Layout: the input is split into kept dims (one output each) and reduced dims, each list
// coalesced where contiguous. When the reduced elements of an output are not the innermost ones
// (the innermost kept dim has stride 1), a column kernel reads 32 adjacent outputs' elements per
// row of the block (coalesced) with 8 rows splitting the reduction; otherwise a row kernel gives
// each output one warp (up to kWarpRowMax elements) or one block.
//
// Deliberately not here: topk (the reference kernel still runs it: the CUDA family has no entry
// for it), vectorised loads, and splitting one huge reduction over several blocks (that would need
// a workspace or atomics).
#include <cmath>

#include "families.h"
#include "reduce_common.cuh"

namespace kiln {
namespace {

using namespace cuda_reduce;

constexpr int kMaxDims = 8;          // coalesced kept / reduced dims; accepts() refuses rank > 8
constexpr int64_t kWarpRowMax = 512;  // rows up to this many elements get one warp
constexpr int kRowThreads = 256;
constexpr int kColRows = 8;  // rows of the column kernel's 32 x kColRows blocks

// Sizes and strides (in input elements) of up to kMaxDims dims, row-major.
struct Dims {
  int n = 0;
  int64_t size[kMaxDims] = {};
  int64_t stride[kMaxDims] = {};
};

// Offset in the input of element `idx` (row-major over d's sizes).
__device__ __forceinline__ int64_t dims_offset(const Dims& d, int64_t idx) {
  if (d.n == 1) return idx * d.stride[0];
  int64_t off = 0;
  for (int k = d.n - 1; k >= 0; --k) {
    off += (idx % d.size[k]) * d.stride[k];
    idx /= d.size[k];
  }
  return off;
}

__device__ __forceinline__ int64_t wrap_add(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
__device__ __forceinline__ int64_t wrap_mul(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
}

template <typename V>
__device__ __forceinline__ bool is_nan(V v) {
  if constexpr (std::is_floating_point_v<V>) {
    return v != v;
  } else {
    return false;
  }
}

// ---- Reduction operators ------------------------------------------------------------------------
// Acc: the per-thread state. identity(), make(value, index) and a commutative, associative
// operator() (the combine); store() writes the finished result of output `o`.

template <typename V>
struct SumOp {
  using Acc = V;
  static constexpr bool kTwoPass = false;
  __device__ static Acc identity() { return V(0); }
  __device__ static Acc make(V v, int64_t) { return v; }
  __device__ Acc operator()(Acc a, Acc b) const {
    if constexpr (std::is_integral_v<V>) {
      return wrap_add(a, b);
    } else {
      return a + b;
    }
  }
  __device__ static void store(void* out, DType t, int64_t o, Acc a, int64_t, double) {
    store_acc(out, t, o, a);
  }
};

struct MeanOp : SumOp<float> {
  __device__ static void store(void* out, DType t, int64_t o, Acc a, int64_t count, double) {
    store_float(out, t, o, static_cast<float>(static_cast<double>(a) / static_cast<double>(count)));
  }
};

// Two passes (see the row and column kernels): Acc is the sum of squared deviations.
struct VarOp : SumOp<float> {
  static constexpr bool kTwoPass = true;
  __device__ static void store(void* out, DType t, int64_t o, Acc m2, int64_t count,
                               double correction) {
    const double denom = fmax(static_cast<double>(count) - correction, 0.0);
    store_float(out, t, o, static_cast<float>(static_cast<double>(m2) / denom));
  }
};

template <typename V>
struct ProdOp {
  using Acc = V;
  static constexpr bool kTwoPass = false;
  __device__ static Acc identity() { return V(1); }
  __device__ static Acc make(V v, int64_t) { return v; }
  __device__ Acc operator()(Acc a, Acc b) const {
    if constexpr (std::is_integral_v<V>) {
      return wrap_mul(a, b);
    } else {
      return a * b;
    }
  }
  __device__ static void store(void* out, DType t, int64_t o, Acc a, int64_t, double) {
    store_acc(out, t, o, a);
  }
};

// max (kMax) or min; NaN wins.
template <typename V, bool kMax>
struct ExtremeOp {
  using Acc = V;
  static constexpr bool kTwoPass = false;
  __device__ static Acc identity() {
    if constexpr (std::is_integral_v<V>) {
      return kMax ? INT64_MIN : INT64_MAX;
    } else {
      return kMax ? -INFINITY : INFINITY;
    }
  }
  __device__ static Acc make(V v, int64_t) { return v; }
  __device__ Acc operator()(Acc a, Acc b) const {
    if (is_nan(a)) return a;
    if (is_nan(b)) return b;
    return (kMax ? b > a : b < a) ? b : a;
  }
  __device__ static void store(void* out, DType t, int64_t o, Acc a, int64_t, double) {
    store_acc(out, t, o, a);
  }
};

// argmax (kMax) or argmin: the extreme with the smallest index; NaN is the extreme.
template <typename V, bool kMax>
struct ArgOp {
  using Acc = ArgPair<V>;
  static constexpr bool kTwoPass = false;
  __device__ static Acc identity() { return Acc{ExtremeOp<V, kMax>::identity(), INT64_MAX}; }
  __device__ static Acc make(V v, int64_t r) { return Acc{v, r}; }
  __device__ Acc operator()(Acc a, Acc b) const {
    const bool an = is_nan(a.v), bn = is_nan(b.v);
    if (an || bn) {
      if (an && bn) return a.i < b.i ? a : b;
      return an ? a : b;
    }
    if (kMax ? a.v > b.v : a.v < b.v) return a;
    if (kMax ? b.v > a.v : b.v < a.v) return b;
    return a.i < b.i ? a : b;
  }
  __device__ static void store(void* out, DType t, int64_t o, Acc a, int64_t, double) {
    store_int(out, t, o, a.i);
  }
};

// ---- Reduction kernels --------------------------------------------------------------------------

// One warp (kWarpPerRow) or one block per output; `red` walks the output's reduced elements.
template <typename In, typename Op, bool kWarpPerRow>
__global__ void reduce_rows_kernel(const In* __restrict__ x, void* __restrict__ out,
                                   DType out_dtype, Dims kept, Dims red, int64_t outputs,
                                   int64_t count, double param) {
  using Acc = typename Op::Acc;
  const int lane = kWarpPerRow ? static_cast<int>(threadIdx.x & 31) : static_cast<int>(threadIdx.x);
  const int width = kWarpPerRow ? 32 : static_cast<int>(blockDim.x);
  const int64_t per_block = kWarpPerRow ? blockDim.x / 32 : 1;
  const int64_t first = blockIdx.x * per_block + (kWarpPerRow ? threadIdx.x / 32 : 0);
  // In the block-per-row case the loop depends on blockIdx only: block_reduce's barriers are
  // reached by every thread.
  for (int64_t row = first; row < outputs; row += gridDim.x * per_block) {
    const In* p = x + dims_offset(kept, row);
    Acc acc;
    if constexpr (Op::kTwoPass) {
      float s = 0.0f;
      for (int64_t r = lane; r < count; r += width) s += load_acc(p[dims_offset(red, r)]);
      s = kWarpPerRow ? warp_reduce(s, AddF{}) : block_reduce(s, AddF{}, 0.0f);
      const float mean = s / static_cast<float>(count);
      float q = 0.0f;
      for (int64_t r = lane; r < count; r += width) {
        const float d = load_acc(p[dims_offset(red, r)]) - mean;
        q += d * d;
      }
      acc = kWarpPerRow ? warp_reduce(q, AddF{}) : block_reduce(q, AddF{}, 0.0f);
    } else {
      acc = Op::identity();
      for (int64_t r = lane; r < count; r += width) {
        acc = Op{}(acc, Op::make(load_acc(p[dims_offset(red, r)]), r));
      }
      acc = kWarpPerRow ? warp_reduce(acc, Op{}) : block_reduce(acc, Op{}, Op::identity());
    }
    if (lane == 0) Op::store(out, out_dtype, row, acc, count, param);
  }
}

// Outputs [o, j]: j runs over the innermost kept dim (stride 1, `inner` long) across threadIdx.x,
// o over the other kept dims (`outer_dims`); threadIdx.y splits the reduction, combined in order.
template <typename In, typename Op>
__global__ void reduce_cols_kernel(const In* __restrict__ x, void* __restrict__ out,
                                   DType out_dtype, Dims outer_dims, int64_t inner, Dims red,
                                   int64_t outer, int64_t count, double param) {
  using Acc = typename Op::Acc;
  __shared__ Acc part[kColRows][33];
  __shared__ float fpart[kColRows][33];
  __shared__ float fmean[32];
  const int tx = static_cast<int>(threadIdx.x), ty = static_cast<int>(threadIdx.y);
  const int64_t j = blockIdx.x * int64_t{32} + tx;
  const bool active = j < inner;
  for (int64_t o = blockIdx.y; o < outer; o += gridDim.y) {  // uniform across the block
    const In* p = x + dims_offset(outer_dims, o) + (active ? j : 0);
    Acc acc;
    if constexpr (Op::kTwoPass) {
      float s = 0.0f;
      if (active) {
        for (int64_t r = ty; r < count; r += kColRows) s += load_acc(p[dims_offset(red, r)]);
      }
      fpart[ty][tx] = s;
      __syncthreads();
      if (ty == 0) {
        float t = fpart[0][tx];
        for (int k = 1; k < kColRows; ++k) t += fpart[k][tx];
        fmean[tx] = t / static_cast<float>(count);
      }
      __syncthreads();
      const float mean = fmean[tx];
      float q = 0.0f;
      if (active) {
        for (int64_t r = ty; r < count; r += kColRows) {
          const float d = load_acc(p[dims_offset(red, r)]) - mean;
          q += d * d;
        }
      }
      acc = q;
    } else {
      acc = Op::identity();
      if (active) {
        for (int64_t r = ty; r < count; r += kColRows) {
          acc = Op{}(acc, Op::make(load_acc(p[dims_offset(red, r)]), r));
        }
      }
    }
    part[ty][tx] = acc;
    __syncthreads();
    if (ty == 0 && active) {
      Acc t = part[0][tx];
      for (int k = 1; k < kColRows; ++k) t = Op{}(t, part[k][tx]);
      Op::store(out, out_dtype, o * inner + j, t, count, param);
    }
    __syncthreads();
  }
}

// ---- Cumsum kernels -----------------------------------------------------------------------------

__device__ __forceinline__ float add_acc(float a, float b) { return a + b; }
__device__ __forceinline__ int64_t add_acc(int64_t a, int64_t b) { return wrap_add(a, b); }
__device__ __forceinline__ double add_carry(double c, float v) {
  return c + static_cast<double>(v);
}
__device__ __forceinline__ int64_t add_carry(int64_t c, int64_t v) { return wrap_add(c, v); }
__device__ __forceinline__ void store_carry(void* out, DType t, int64_t i, double v) {
  store_float(out, t, i, static_cast<float>(v));
}
__device__ __forceinline__ void store_carry(void* out, DType t, int64_t i, int64_t v) {
  store_int(out, t, i, v);
}

template <typename Acc>
using CarryOf = std::conditional_t<std::is_same_v<Acc, float>, double, int64_t>;

// inner == 1: one block per row; each chunk of blockDim.x elements is scanned (warp shuffles, then
// the warp totals), offset by the carry of the chunks before it.
template <typename In>
__global__ void cumsum_rows_kernel(const In* __restrict__ x, void* __restrict__ out,
                                   DType out_dtype, int64_t rows, int64_t len) {
  using Acc = AccOf<In>;
  using Carry = CarryOf<Acc>;
  __shared__ Acc warp_sums[32];
  const int lane = static_cast<int>(threadIdx.x & 31), warp = static_cast<int>(threadIdx.x >> 5);
  const int warps = static_cast<int>(blockDim.x >> 5);
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {  // uniform across the block
    Carry carry = 0;
    for (int64_t c0 = 0; c0 < len; c0 += blockDim.x) {
      const int64_t i = c0 + threadIdx.x;
      Acc v = i < len ? load_acc(x[row * len + i]) : Acc(0);
      for (int d = 1; d < 32; d <<= 1) {
        const Acc t = __shfl_up_sync(0xffffffffu, v, d);
        if (lane >= d) v = add_acc(t, v);
      }
      if (lane == 31) warp_sums[warp] = v;
      __syncthreads();
      if (warp == 0) {
        Acc s = lane < warps ? warp_sums[lane] : Acc(0);
        for (int d = 1; d < 32; d <<= 1) {
          const Acc t = __shfl_up_sync(0xffffffffu, s, d);
          if (lane >= d) s = add_acc(t, s);
        }
        warp_sums[lane] = s;
      }
      __syncthreads();
      if (warp > 0) v = add_acc(warp_sums[warp - 1], v);
      if (i < len) store_carry(out, out_dtype, row * len + i, add_carry(carry, v));
      carry = add_carry(carry, warp_sums[warps - 1]);
      __syncthreads();  // warp_sums is rewritten by the next chunk
    }
  }
}

// inner > 1: one thread per (outer, inner) column, a sequential running sum down the axis.
template <typename In>
__global__ void cumsum_cols_kernel(const In* __restrict__ x, void* __restrict__ out,
                                   DType out_dtype, int64_t outer, int64_t len, int64_t inner) {
  using Carry = CarryOf<AccOf<In>>;
  const int64_t columns = outer * inner;
  for (int64_t c = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; c < columns;
       c += int64_t{gridDim.x} * blockDim.x) {
    const int64_t base = (c / inner) * len * inner + c % inner;
    Carry carry = 0;
    for (int64_t a = 0; a < len; ++a) {
      carry = add_carry(carry, load_acc(x[base + a * inner]));
      store_carry(out, out_dtype, base + a * inner, carry);
    }
  }
}

// ---- Host: plans and launchers ------------------------------------------------------------------

struct Plan {
  Dims kept, red;
  int64_t outputs = 1;
  int64_t count = 1;  // elements reduced into each output
};

Status push_dim(std::string_view op, Dims& d, int64_t size, int64_t stride) {
  if (size == 1) return ok_status();
  if (d.n > 0 && d.stride[d.n - 1] == stride * size) {
    d.size[d.n - 1] *= size;
    d.stride[d.n - 1] = stride;
    return ok_status();
  }
  if (d.n == kMaxDims) return invalid_argument(op, ": more than ", kMaxDims, " dims after merging");
  d.size[d.n] = size;
  d.stride[d.n] = stride;
  ++d.n;
  return ok_status();
}

Expected<int64_t> normalize_axis(std::string_view op, int64_t axis, int64_t rank) {
  const int64_t r = std::max<int64_t>(rank, 1);  // a scalar accepts axis 0 and -1
  if (axis < -r || axis >= r) {
    return invalid_argument(op, ": axis ", axis, " is out of range for rank ", rank);
  }
  return axis < 0 ? axis + r : axis;
}

// `axes` empty: every axis. The output must have one element per kept index.
Expected<Plan> make_plan(std::string_view op, const TensorView& in, std::span<const int64_t> axes,
                         const TensorView& out) {
  const int64_t rank = static_cast<int64_t>(in.shape.size());
  if (rank > kMaxDims) return invalid_argument(op, ": rank ", rank, " is above ", kMaxDims);
  std::vector<bool> reduced(static_cast<size_t>(rank), axes.empty());
  for (int64_t a : axes) {
    KILN_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(op, a, rank));
    if (rank == 0) continue;
    if (reduced[static_cast<size_t>(axis)]) {
      return invalid_argument(op, ": axis ", a, " appears more than once");
    }
    reduced[static_cast<size_t>(axis)] = true;
  }
  Plan p;
  int64_t stride = 1;
  std::vector<int64_t> strides(static_cast<size_t>(rank));
  for (int64_t d = rank; d-- > 0;) {
    strides[static_cast<size_t>(d)] = stride;
    stride *= in.shape[static_cast<size_t>(d)];
  }
  for (int64_t d = 0; d < rank; ++d) {
    const int64_t size = in.shape[static_cast<size_t>(d)];
    const int64_t s = strides[static_cast<size_t>(d)];
    if (reduced[static_cast<size_t>(d)]) {
      p.count *= size;
      KILN_RETURN_IF_ERROR(push_dim(op, p.red, size, s));
    } else {
      p.outputs *= size;
      KILN_RETURN_IF_ERROR(push_dim(op, p.kept, size, s));
    }
  }
  if (p.red.n == 0) {  // nothing reduced, or only size-1 dims: one element (or none) each
    p.red.n = 1;
    p.red.size[0] = p.count;
    p.red.stride[0] = 1;
  }
  if (out.numel() != p.outputs) {
    return invalid_argument(op, ": the output has ", out.numel(), " elements, expected ",
                            p.outputs);
  }
  return p;
}

template <typename In, typename Op>
Status launch_reduce(const In* x, const TensorView& out, const Plan& p, double param,
                     cudaStream_t stream) {
  const bool columns = p.kept.n > 0 && p.kept.stride[p.kept.n - 1] == 1 &&
                       p.red.stride[p.red.n - 1] != 1;
  if (columns) {
    Dims outer_dims = p.kept;
    --outer_dims.n;
    const int64_t inner = p.kept.size[p.kept.n - 1];
    const int64_t outer = p.outputs / inner;
    if (ceil_div(inner, 32) > kMaxGridX) {
      return invalid_argument("reduction: ", inner, " kept columns are more than a launch covers");
    }
    const dim3 grid(static_cast<unsigned>(std::min(ceil_div(inner, 32), kMaxGridX)),
                    static_cast<unsigned>(std::min(outer, kMaxGridY)));
    reduce_cols_kernel<In, Op><<<grid, dim3(32, kColRows), 0, stream>>>(
        x, out.data, out.dtype, outer_dims, inner, p.red, outer, p.count, param);
  } else if (p.count <= kWarpRowMax) {
    const int64_t blocks = std::min(ceil_div(p.outputs, kRowThreads / 32), kMaxGridX);
    reduce_rows_kernel<In, Op, true><<<static_cast<unsigned>(blocks), kRowThreads, 0, stream>>>(
        x, out.data, out.dtype, p.kept, p.red, p.outputs, p.count, param);
  } else {
    const int64_t blocks = std::min(p.outputs, kMaxGridX);
    reduce_rows_kernel<In, Op, false>
        <<<static_cast<unsigned>(blocks), block_threads_for(p.count, 512), 0, stream>>>(
            x, out.data, out.dtype, p.kept, p.red, p.outputs, p.count, param);
  }
  KILN_CUDA_RETURN_IF_ERROR(cudaGetLastError());
  return ok_status();
}

enum class Kind { kSum, kMean, kMax, kMin, kProd, kVar, kArgMax, kArgMin };

Status check_io(std::string_view op, const KernelArgs& args) {
  if (args.inputs.size() != 1 || args.outputs.size() != 1) {
    return invalid_argument(op, ": expected 1 input and 1 output, got ", args.inputs.size(),
                            " and ", args.outputs.size());
  }
  return check_buffers(op, args);
}

Status reduce_run(const KernelArgs& args, std::string_view op, Kind kind,
                  std::span<const int64_t> axes, double param) {
  KILN_RETURN_IF_ERROR(check_io(op, args));
  const TensorView& in = args.inputs[0];
  const TensorView& out = args.outputs[0];
  const bool arg = kind == Kind::kArgMax || kind == Kind::kArgMin;
  const bool float_only = kind == Kind::kMean || kind == Kind::kVar;
  if (float_only && !dtype_is_float(in.dtype)) {
    return invalid_argument(op, ": expected a float input, got ", dtype_name(in.dtype));
  }
  if (arg && out.dtype != DType::kI64) {
    return invalid_argument(op, ": expected an i64 output, got ", dtype_name(out.dtype));
  }
  if (out.dtype == DType::kF64) return invalid_argument(op, ": f64 outputs are not computed");
  KILN_ASSIGN_OR_RETURN(Plan p, make_plan(op, in, axes, out));
  const bool needs_elements =
      kind == Kind::kMax || kind == Kind::kMin || arg;
  if (needs_elements && p.count == 0 && p.outputs > 0) {
    return invalid_argument(op, ": cannot reduce an empty dimension without an identity");
  }
  if (p.outputs == 0) return ok_status();
  const cudaStream_t stream = stream_of(args);
  return dispatch_numeric(in.dtype, op, [&](auto tag) -> Status {
    using In = typename decltype(tag)::type;
    using V = AccOf<In>;
    const In* x = static_cast<const In*>(in.data);
    switch (kind) {
      case Kind::kSum: return launch_reduce<In, SumOp<V>>(x, out, p, param, stream);
      case Kind::kProd: return launch_reduce<In, ProdOp<V>>(x, out, p, param, stream);
      case Kind::kMax: return launch_reduce<In, ExtremeOp<V, true>>(x, out, p, param, stream);
      case Kind::kMin: return launch_reduce<In, ExtremeOp<V, false>>(x, out, p, param, stream);
      case Kind::kArgMax: return launch_reduce<In, ArgOp<V, true>>(x, out, p, param, stream);
      case Kind::kArgMin: return launch_reduce<In, ArgOp<V, false>>(x, out, p, param, stream);
      case Kind::kMean:
      case Kind::kVar:
        if constexpr (kIsFloatStorage<In>) {
          return kind == Kind::kMean ? launch_reduce<In, MeanOp>(x, out, p, param, stream)
                                     : launch_reduce<In, VarOp>(x, out, p, param, stream);
        }
        break;
    }
    return invalid_argument(op, ": unsupported input ", dtype_name(in.dtype));
  });
}

Status cumsum_run(const KernelArgs& args) {
  constexpr std::string_view op = "cumsum";
  KILN_RETURN_IF_ERROR(check_io(op, args));
  const TensorView& in = args.inputs[0];
  const TensorView& out = args.outputs[0];
  if (in.numel() != out.numel()) {
    return invalid_argument(op, ": the output must have the input's ", in.numel(), " elements");
  }
  if (in.dtype == DType::kBool || out.dtype == DType::kF64 ||
      dtype_is_float(in.dtype) != dtype_is_float(out.dtype)) {
    return invalid_argument(op, ": cannot sum ", dtype_name(in.dtype), " into ",
                            dtype_name(out.dtype));
  }
  const int64_t rank = static_cast<int64_t>(in.shape.size());
  const int64_t axis_attr = args.node.attrs_as<AxisAttrs>().axis;
  KILN_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(op, axis_attr, rank));
  int64_t outer = 1, len = 1, inner = 1;
  for (int64_t d = 0; d < rank; ++d) {
    const int64_t n = in.shape[static_cast<size_t>(d)];
    (d < axis ? outer : (d == axis ? len : inner)) *= n;
  }
  if (in.numel() == 0) return ok_status();
  const cudaStream_t stream = stream_of(args);
  return dispatch_numeric(in.dtype, op, [&](auto tag) -> Status {
    using In = typename decltype(tag)::type;
    const In* x = static_cast<const In*>(in.data);
    if (inner == 1) {
      const int threads = block_threads_for(len, 256);
      cumsum_rows_kernel<In><<<static_cast<unsigned>(std::min(outer, kMaxGridX)), threads, 0,
                               stream>>>(x, out.data, out.dtype, outer, len);
    } else {
      const int threads = 256;
      const int64_t blocks = std::min(ceil_div(outer * inner, threads), kMaxGridX);
      cumsum_cols_kernel<In><<<static_cast<unsigned>(blocks), threads, 0, stream>>>(
          x, out.data, out.dtype, outer, len, inner);
    }
    KILN_CUDA_RETURN_IF_ERROR(cudaGetLastError());
    return ok_status();
  });
}

// ---- Entry points -------------------------------------------------------------------------------

bool reduce_accepts(const Node& node, std::span<const TensorType> input_types, std::string* why) {
  std::vector<const TensorType*> inputs;
  std::vector<TensorType> outputs;
  if (!typed_node(node, input_types, inputs, outputs, why)) return false;
  if (inputs.size() != 1 || inputs[0] == nullptr) return refuse(why, "expected one input");
  const DType t = inputs[0]->dtype;
  if (t == DType::kBool || t == DType::kF64) {
    return refuse(why, str_cat("input is ", dtype_name(t), "; the CUDA kernel takes f32, f16, "
                               "bf16, i64, i32, i8, u8"));
  }
  if (node.op != OpKind::kCumsum && inputs[0]->rank() > kMaxDims) {
    return refuse(why, str_cat("rank ", inputs[0]->rank(), " is above the CUDA kernel's ",
                               kMaxDims));
  }
  for (const TensorType& o : outputs) {
    if (o.dtype == DType::kF64) return refuse(why, "f64 outputs are not computed");
  }
  return true;
}

Status sum_entry(const KernelArgs& a) {
  const ReduceAttrs& r = a.node.attrs_as<ReduceAttrs>();
  return reduce_run(a, "reduce_sum", Kind::kSum, r.axes, 0);
}
Status mean_entry(const KernelArgs& a) {
  const ReduceAttrs& r = a.node.attrs_as<ReduceAttrs>();
  return reduce_run(a, "reduce_mean", Kind::kMean, r.axes, 0);
}
Status max_entry(const KernelArgs& a) {
  const ReduceAttrs& r = a.node.attrs_as<ReduceAttrs>();
  return reduce_run(a, "reduce_max", Kind::kMax, r.axes, 0);
}
Status min_entry(const KernelArgs& a) {
  const ReduceAttrs& r = a.node.attrs_as<ReduceAttrs>();
  return reduce_run(a, "reduce_min", Kind::kMin, r.axes, 0);
}
Status prod_entry(const KernelArgs& a) {
  const ReduceAttrs& r = a.node.attrs_as<ReduceAttrs>();
  return reduce_run(a, "reduce_prod", Kind::kProd, r.axes, 0);
}
Status var_entry(const KernelArgs& a) {
  const VarAttrs& v = a.node.attrs_as<VarAttrs>();
  return reduce_run(a, "var", Kind::kVar, v.axes, v.correction);
}
Status argmax_entry(const KernelArgs& a) {
  const int64_t axis = a.node.attrs_as<ArgReduceAttrs>().axis;
  return reduce_run(a, "argmax", Kind::kArgMax, std::span<const int64_t>(&axis, 1), 0);
}
Status argmin_entry(const KernelArgs& a) {
  const int64_t axis = a.node.attrs_as<ArgReduceAttrs>().axis;
  return reduce_run(a, "argmin", Kind::kArgMin, std::span<const int64_t>(&axis, 1), 0);
}

const Kernel kReduceKernels[] = {
    {"cuda.reduce_sum", OpKind::kReduceSum, DeviceKind::kCuda, 1, &reduce_accepts, &sum_entry},
    {"cuda.reduce_mean", OpKind::kReduceMean, DeviceKind::kCuda, 1, &reduce_accepts, &mean_entry},
    {"cuda.reduce_max", OpKind::kReduceMax, DeviceKind::kCuda, 1, &reduce_accepts, &max_entry},
    {"cuda.reduce_min", OpKind::kReduceMin, DeviceKind::kCuda, 1, &reduce_accepts, &min_entry},
    {"cuda.reduce_prod", OpKind::kReduceProd, DeviceKind::kCuda, 1, &reduce_accepts, &prod_entry},
    {"cuda.var", OpKind::kVar, DeviceKind::kCuda, 1, &reduce_accepts, &var_entry},
    {"cuda.argmax", OpKind::kArgMax, DeviceKind::kCuda, 1, &reduce_accepts, &argmax_entry},
    {"cuda.argmin", OpKind::kArgMin, DeviceKind::kCuda, 1, &reduce_accepts, &argmin_entry},
    {"cuda.cumsum", OpKind::kCumsum, DeviceKind::kCuda, 1, &reduce_accepts, &cumsum_run},
};

}  // namespace

std::span<const Kernel> cuda_reduce_kernels() { return kReduceKernels; }

}  // namespace kiln
