// Private to the CUDA elementwise family (src/kernels/cuda/elementwise*.cu): the generic kernels,
// their launcher, the broadcast plan and the checks every entry shares.
//
// Layers (as every CUDA family): `__global__` kernels that apply an element functor G to loaded
// storage values; launch_elementwise(), the host launcher that plans broadcasting, picks the flat
// or the strided kernel and launches on the given stream; and per-op entries (in the .cu files)
// that validate KernelArgs, choose storage types and build the functor.
//
// Two kernels cover every op:
//   flat_kernel     when the broadcast plan merges to one dim (same shapes, or an operand that is a
//                   single broadcast element): kVec consecutive elements per thread, with vector
//                   loads and stores when every pointer is aligned;
//   strided_kernel  otherwise: one element per thread, offsets from the merged output index.
#pragma once

#include <cuda_runtime.h>

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>

#include "check.h"
#include "dtype.cuh"
#include "kiln/kernels/kernel.h"

namespace kiln::cuda {

inline constexpr int kMaxDims = 8;        // merged broadcast rank the strided kernel handles
inline constexpr int kThreads = 256;      // threads per block
inline constexpr int kVec = 4;            // elements per thread in flat_kernel
inline constexpr int kMaxOperands = 3;    // where

// kVec elements of T, aligned so that one load or store moves them all.
template <typename T, int N>
struct alignas(sizeof(T) * N) Pack {
  T v[N];
};

// An operand of flat_kernel: element i is p[i * stride], stride 0 (one broadcast element) or 1.
template <typename T>
struct FlatIn {
  const T* p;
  int64_t stride;
  __device__ T at(int64_t i) const { return p[i * stride]; }
  __device__ Pack<T, kVec> pack(int64_t base) const {
    if (stride == 0) {
      Pack<T, kVec> r;
      const T v = p[0];
#pragma unroll
      for (int j = 0; j < kVec; ++j) r.v[j] = v;
      return r;
    }
    return *reinterpret_cast<const Pack<T, kVec>*>(p + base);
  }
};

template <typename Out, typename G, typename... P>
__device__ inline void apply_pack(const G& g, Pack<Out, kVec>& o, const P&... in) {
#pragma unroll
  for (int j = 0; j < kVec; ++j) o.v[j] = g(in.v[j]...);
}

// out[i] = g(in[i * stride]...) for i < n. `vector_ok`: out and every stride-1 operand are aligned
// to their Pack, so full packs move with one access each.
template <typename Out, typename G, typename... In>
__global__ void flat_kernel(Out* __restrict__ out, int64_t n, bool vector_ok, G g,
                            FlatIn<In>... in) {
  const int64_t base = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) * kVec;
  if (base >= n) return;
  if (vector_ok && base + kVec <= n) {
    Pack<Out, kVec> o;
    apply_pack(g, o, in.pack(base)...);
    *reinterpret_cast<Pack<Out, kVec>*>(out + base) = o;
    return;
  }
  for (int64_t i = base; i < base + kVec && i < n; ++i) out[i] = g(in.at(i)...);
}

// The output's merged shape and each operand's strides along it (0 on broadcast dims).
struct StridedIndex {
  int rank = 0;
  int64_t shape[kMaxDims] = {};
  int64_t strides[kMaxOperands][kMaxDims] = {};
};

template <typename Out, typename G, typename... In, size_t... K>
__device__ inline Out strided_apply(const G& g, const int64_t* off, std::index_sequence<K...>,
                                    const In*... in) {
  return g(in[off[K]]...);
}

template <typename Out, typename G, typename... In>
__global__ void strided_kernel(Out* __restrict__ out, int64_t n, StridedIndex ix, G g,
                               const In*... in) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  int64_t off[sizeof...(In) > 0 ? sizeof...(In) : 1] = {};
  if constexpr (sizeof...(In) > 0) {
    int64_t rest = i;
    for (int d = ix.rank - 1; d >= 0; --d) {
      const int64_t c = rest % ix.shape[d];
      rest /= ix.shape[d];
#pragma unroll
      for (size_t k = 0; k < sizeof...(In); ++k) off[k] += c * ix.strides[k][d];
    }
  }
  out[i] = strided_apply<Out>(g, off, std::index_sequence_for<In...>{}, in...);
}

// How the operands map onto the output: dims of size 1 dropped, mergeable dims merged (as the
// reference's plan). `flat`: one merged dim with every stride 0 or 1.
struct BroadcastPlan {
  StridedIndex index;
  bool flat = false;
};

// Fails if an operand does not broadcast to `out` or the merged rank exceeds kMaxDims.
Expected<BroadcastPlan> plan_broadcast(std::string_view op, std::span<const TensorView> inputs,
                                       const ConcreteShape& out);

// The stream of a CUDA kernel call; refuses the legacy default stream (null).
Expected<cudaStream_t> stream_of(const KernelArgs& args, std::string_view op);

// `inputs` inputs and one output; a non-empty output needs non-null buffers.
Status check_io(const KernelArgs& args, std::string_view op, size_t inputs);

// The registry predicate of every elementwise kernel: what shape inference accepts, minus f64 and
// (for broadcasting ops) outputs of rank above kMaxDims, which the strided kernel cannot index.
bool elementwise_accepts(const Node& node, std::span<const TensorType> input_types,
                         std::string* why);

// The per-file kernel tables, joined by cuda_elementwise_kernels() (families.h).
std::span<const Kernel> elementwise_unary_kernels();
std::span<const Kernel> elementwise_binary_kernels();
std::span<const Kernel> elementwise_source_kernels();

template <typename T>
bool pack_aligned(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % sizeof(Pack<T, kVec>) == 0;
}

template <typename Out, typename G, typename... In, size_t... K>
Status launch_planned(std::string_view op, cudaStream_t stream, const TensorView& out,
                      std::span<const TensorView> inputs, const BroadcastPlan& plan, G g,
                      std::index_sequence<K...>) {
  const int64_t n = out.numel();
  Out* o = static_cast<Out*>(out.data);
  if (plan.flat) {
    const std::array<int64_t, sizeof...(In) + 1> strides = {plan.index.strides[K][0]..., 0};
    (void)strides;  // unused when there are no operands (full)
    (void)inputs;
    bool vector_ok = pack_aligned<Out>(o);
    ((vector_ok = vector_ok && (strides[K] == 0 || pack_aligned<In>(inputs[K].data))), ...);
    const int64_t blocks = ((n + kVec - 1) / kVec + kThreads - 1) / kThreads;
    if (blocks > INT32_MAX) return unsupported(op, ": ", n, " elements are too many to launch");
    flat_kernel<Out, G, In...><<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(
        o, n, vector_ok, g, FlatIn<In>{static_cast<const In*>(inputs[K].data), strides[K]}...);
  } else {
    const int64_t blocks = (n + kThreads - 1) / kThreads;
    if (blocks > INT32_MAX) return unsupported(op, ": ", n, " elements are too many to launch");
    strided_kernel<Out, G, In...><<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(
        o, n, plan.index, g, static_cast<const In*>(inputs[K].data)...);
  }
  return cuda_status(cudaGetLastError(), "elementwise kernel launch");
}

// out = g(inputs...) elementwise with numpy broadcasting, on `stream`. In... are the operands'
// storage types, Out the output's; g maps storage values to an output storage value. An empty
// output launches nothing.
template <typename Out, typename... In, typename G>
Status launch_elementwise(std::string_view op, cudaStream_t stream, const TensorView& out,
                          std::span<const TensorView> inputs, G g) {
  static_assert(sizeof...(In) <= kMaxOperands);
  if (inputs.size() != sizeof...(In)) {
    return internal_error(op, ": ", inputs.size(), " operands for a ", sizeof...(In),
                          "-operand kernel");
  }
  if (out.numel() == 0) return ok_status();
  KILN_ASSIGN_OR_RETURN(BroadcastPlan plan, plan_broadcast(op, inputs, out.shape));
  return launch_planned<Out, G, In...>(op, stream, out, inputs, plan, g,
                                       std::index_sequence_for<In...>{});
}

// g applied to compute values: loads each operand as C, stores the result as Out.
template <typename C, typename Out, typename Op>
struct Mapped {
  Op op;
  template <typename... S>
  __device__ Out operator()(S... x) const {
    return store_as<Out>(op(load_as<C>(x)...));
  }
};

template <typename C, typename Out, typename Op>
Mapped<C, Out, Op> mapped(Op op) {
  return Mapped<C, Out, Op>{op};
}

}  // namespace kiln::cuda
