// CUDA kernels of the source ops that compute: full (one value, converted once on the host exactly
// as the reference converts it, then replicated bit for bit) and arange (start + i * step).
//
// Numerics are the reference's (src/kernels/reference/sources.cc): integer dtypes compute in int64
// from the truncated start and step (wrapping), f32 in double, f16 and bf16 in float, each element
// rounded once. The products and sums are written with __dmul_rn/__fmul_rn and friends so that
// nvcc does not fuse them into FMAs, which round once where the reference rounds twice.
//
// Deliberately not here: constant (the runtime uploads constants once; it never launches a kernel
// for them), f64.
#include <cstring>

#include "elementwise.cuh"

namespace kiln::cuda {
namespace {

// full: every element is the same bit pattern.
template <typename T>
struct Fill {
  T value;
  __device__ T operator()() const { return value; }
};

Status check_one_output(const KernelArgs& args, std::string_view op) {
  if (!args.inputs.empty() || args.outputs.size() != 1) {
    return invalid_argument(op, ": expected no inputs and 1 output, got ", args.inputs.size(),
                            " and ", args.outputs.size());
  }
  if (args.outputs[0].data == nullptr && args.outputs[0].numel() > 0) {
    return invalid_argument(op, ": the output buffer is null");
  }
  return ok_status();
}

// The bytes of `v` rounded once to `dtype`, as the reference's store of a double: floats round to
// nearest even (through float for f16 and bf16), integers truncate toward zero then wrap, bool is
// v != 0.
uint64_t element_bits(DType dtype, double v) {
  uint64_t bits = 0;
  auto put = [&](auto x) { std::memcpy(&bits, &x, sizeof(x)); };
  const int64_t i = double_to_int64(v);
  switch (dtype) {
    case DType::kF32: put(static_cast<float>(v)); break;
    case DType::kF16: put(f32_to_f16(static_cast<float>(v))); break;
    case DType::kBF16: put(f32_to_bf16(static_cast<float>(v))); break;
    case DType::kI64: put(i); break;
    case DType::kI32: put(static_cast<int32_t>(i)); break;
    case DType::kI8: put(static_cast<int8_t>(i)); break;
    case DType::kU8: put(static_cast<uint8_t>(i)); break;
    case DType::kBool: put(static_cast<uint8_t>(v != 0 ? 1 : 0)); break;
    case DType::kF64: put(v); break;
  }
  return bits;
}

Status run_Full(const KernelArgs& args) {
  KILN_RETURN_IF_ERROR(check_one_output(args, "full"));
  KILN_ASSIGN_OR_RETURN(cudaStream_t stream, stream_of(args, "full"));
  const FullAttrs& a = args.node.attrs_as<FullAttrs>();
  const TensorView& out = args.outputs[0];
  if (a.dtype != out.dtype || a.dtype == DType::kF64) {
    return invalid_argument("full: the attribute dtype is ", dtype_name(a.dtype),
                            " and the output is ", dtype_name(out.dtype));
  }
  const uint64_t bits = element_bits(out.dtype, a.value);
  auto fill = [&](auto tag) {
    using T = typename decltype(tag)::type;
    T value;
    std::memcpy(&value, &bits, sizeof(T));
    return launch_elementwise<T>("full", stream, out, {}, Fill<T>{value});
  };
  switch (dtype_size(out.dtype)) {
    case 1: return fill(TypeTag<uint8_t>{});
    case 2: return fill(TypeTag<uint16_t>{});
    case 4: return fill(TypeTag<uint32_t>{});
    case 8: return fill(TypeTag<uint64_t>{});
    default: break;
  }
  return unsupported("full: no CUDA kernel for ", dtype_name(out.dtype));
}

// out[i] = start + step * i in the reference's compute type for S, rounded once to S.
template <typename S>
__global__ void arange_kernel(S* __restrict__ out, int64_t n, double start, double step) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  if constexpr (std::is_same_v<S, float>) {
    out[i] = static_cast<float>(__dadd_rn(start, __dmul_rn(step, static_cast<double>(i))));
  } else if constexpr (kIsFloatStorage<S>) {
    const float v = __fadd_rn(static_cast<float>(start),
                              __fmul_rn(static_cast<float>(step), static_cast<float>(i)));
    out[i] = store_as<S>(v);
  } else {
    const uint64_t s0 = static_cast<uint64_t>(double_to_int64(start));
    const uint64_t ds = static_cast<uint64_t>(double_to_int64(step));
    out[i] = store_as<S>(static_cast<int64_t>(s0 + ds * static_cast<uint64_t>(i)));
  }
}

Status run_Arange(const KernelArgs& args) {
  KILN_RETURN_IF_ERROR(check_one_output(args, "arange"));
  KILN_ASSIGN_OR_RETURN(cudaStream_t stream, stream_of(args, "arange"));
  const ArangeAttrs& a = args.node.attrs_as<ArangeAttrs>();
  const TensorView& out = args.outputs[0];
  KILN_ASSIGN_OR_RETURN(int64_t length, a.length.evaluate(args.symbol_values));
  if (length != out.numel() || out.shape.size() != 1 || out.dtype != a.dtype) {
    return invalid_argument("arange: length evaluates to ", length, " of ", dtype_name(a.dtype),
                            " but the output is ", dtype_name(out.dtype), " with ", out.numel(),
                            " elements in ", out.shape.size(), " dims");
  }
  if (length == 0) return ok_status();
  const int64_t blocks = (length + kThreads - 1) / kThreads;
  if (blocks > INT32_MAX) return unsupported("arange: ", length, " elements are too many");
  return visit_dtype(out.dtype, "arange", [&](auto tag) -> Status {
    using S = typename decltype(tag)::type;
    if constexpr (std::is_same_v<S, Bool8>) {
      return invalid_argument("arange: the dtype must be numeric, got bool");
    } else {
      arange_kernel<S><<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(
          static_cast<S*>(out.data), length, a.start, a.step);
      return cuda_status(cudaGetLastError(), "arange_kernel launch");
    }
  });
}

}  // namespace

std::span<const Kernel> elementwise_source_kernels() {
  static const Kernel kKernels[] = {
      {"cuda.full", OpKind::kFull, DeviceKind::kCuda, 1, &elementwise_accepts, &run_Full},
      {"cuda.arange", OpKind::kArange, DeviceKind::kCuda, 1, &elementwise_accepts, &run_Arange},
  };
  return kKernels;
}

}  // namespace kiln::cuda
