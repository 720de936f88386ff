// Reference kernels of the source ops, which read no tensors: constant (copies the attribute's
// bytes), full (one value converted to the output dtype) and arange (start + i * step).
//
// Deliberately not here: any shape logic beyond checking that the output buffer matches what the
// attributes describe (shape inference computed it).
#include <algorithm>
#include <cstring>

#include "common.h"
#include "kiln/support/parallel.h"

namespace kiln {
namespace {

constexpr int64_t kGrain = 16384;

Status check_one_output(const KernelArgs& args, std::string_view op) {
  if (args.outputs.size() != 1) {
    return invalid_argument(op, ": expected 1 output buffer, got ", args.outputs.size());
  }
  if (args.outputs[0].data == nullptr && args.outputs[0].numel() > 0) {
    return invalid_argument(op, ": the output buffer is null");
  }
  return ok_status();
}

// Fills every element of `out` with a copy of the element whose bytes are at `value`.
void fill_elements(const TensorView& out, const uint8_t* value) {
  const int64_t size = dtype_size(out.dtype);
  uint8_t* dst = static_cast<uint8_t*>(out.data);
  parallel_for(out.numel(), kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) std::memcpy(dst + i * size, value, size);
  });
}

}  // namespace

Status ref_kernel_Constant(const KernelArgs& args) {
  KILN_RETURN_IF_ERROR(check_one_output(args, "constant"));
  const ConstantAttrs& a = args.node.attrs_as<ConstantAttrs>();
  const TensorView& out = args.outputs[0];
  if (a.dtype != out.dtype || static_cast<int64_t>(a.data.size) != out.nbytes()) {
    return invalid_argument("constant: the attribute holds ", a.data.size, " bytes of ",
                            dtype_name(a.dtype), " but the output is ", dtype_name(out.dtype),
                            ref::shape_text(out.shape), " (", out.nbytes(), " bytes)");
  }
  if (out.nbytes() > 0) std::memcpy(out.data, a.data.data(), static_cast<size_t>(out.nbytes()));
  return ok_status();
}

Status ref_kernel_Full(const KernelArgs& args) {
  KILN_RETURN_IF_ERROR(check_one_output(args, "full"));
  const FullAttrs& a = args.node.attrs_as<FullAttrs>();
  const TensorView& out = args.outputs[0];
  if (a.dtype != out.dtype) {
    return invalid_argument("full: the attribute dtype is ", dtype_name(a.dtype),
                            " but the output is ", dtype_name(out.dtype));
  }
  // Convert once (rounding like a cast from double), then replicate the bytes.
  uint64_t element = 0;
  TensorView one{&element, out.dtype, {1}};
  ref::store_contiguous<double>(one, 0, 1, &a.value);
  fill_elements(out, reinterpret_cast<const uint8_t*>(&element));
  return ok_status();
}

Status ref_kernel_Arange(const KernelArgs& args) {
  KILN_RETURN_IF_ERROR(check_one_output(args, "arange"));
  const ArangeAttrs& a = args.node.attrs_as<ArangeAttrs>();
  const TensorView& out = args.outputs[0];
  KILN_ASSIGN_OR_RETURN(int64_t length, a.length.evaluate(args.symbol_values));
  if (length != out.numel() || out.shape.size() != 1) {
    return invalid_argument("arange: length evaluates to ", length, " but the output is ",
                            dtype_name(out.dtype), ref::shape_text(out.shape));
  }
  // As torch: integer dtypes compute in int64 from the truncated start and step; f32 in double;
  // f16 and bf16 in float. Each element is rounded once.
  parallel_for(length, kGrain, [&](int64_t begin, int64_t end) {
    constexpr int64_t kBlock = 512;
    for (int64_t b = begin; b < end; b += kBlock) {
      const int64_t n = std::min(kBlock, end - b);
      if (dtype_is_float(out.dtype) && out.dtype != DType::kF32 && out.dtype != DType::kF64) {
        float buf[kBlock];
        const float start = static_cast<float>(a.start), step = static_cast<float>(a.step);
        for (int64_t i = 0; i < n; ++i) buf[i] = start + step * static_cast<float>(b + i);
        ref::store_contiguous<float>(out, b, n, buf);
      } else if (dtype_is_float(out.dtype)) {
        double buf[kBlock];
        for (int64_t i = 0; i < n; ++i) buf[i] = a.start + a.step * static_cast<double>(b + i);
        ref::store_contiguous<double>(out, b, n, buf);
      } else {
        int64_t buf[kBlock];
        const uint64_t start = static_cast<uint64_t>(ref::float_to_int64(a.start));
        const uint64_t step = static_cast<uint64_t>(ref::float_to_int64(a.step));
        for (int64_t i = 0; i < n; ++i) {
          buf[i] = static_cast<int64_t>(start + step * static_cast<uint64_t>(b + i));
        }
        ref::store_contiguous<int64_t>(out, b, n, buf);
      }
    }
  });
  return ok_status();
}

}  // namespace kiln
