// Reference kernels for matmul (torch.matmul: 1-D operands promoted and squeezed, batch dims
// broadcast) and linear (y = activation(x @ w^T + bias), the activation in f32 before the one
// rounding, from activation.h). Both run on the blocked f32 GEMM in gemm.cc; f16 and
// bf16 are staged to f32 and rounded once at the end.
//
// Deliberately not here: integer or f64 matmul (the importer keeps those in PyTorch), and any
// strided or transposed input: inputs are contiguous by the kernel contract, transposes are views
// over them.
#include <algorithm>
#include <vector>

#include "activation.h"
#include "common.h"
#include "gemm.h"
#include "kiln/support/parallel.h"

namespace kiln {
namespace {

using ref::shape_text;

}  // namespace

Status ref_kernel_MatMul(const KernelArgs& args) {
  // 1. Shapes: promote 1-D operands to matrices, broadcast the batch dims.
  if (args.inputs.size() != 2 || args.outputs.size() != 1) {
    return invalid_argument("matmul: expected 2 inputs and 1 output, got ", args.inputs.size(),
                            " and ", args.outputs.size());
  }
  KILN_RETURN_IF_ERROR(ref::check_float_operands("matmul", args, 2));
  const TensorView& a = args.inputs[0];
  const TensorView& b = args.inputs[1];
  const TensorView& out = args.outputs[0];
  if (a.shape.empty() || b.shape.empty()) {
    return invalid_argument("matmul: operands must have rank >= 1, got ", shape_text(a.shape),
                            " and ", shape_text(b.shape));
  }
  ConcreteShape as = a.shape, bs = b.shape;
  const bool a_vec = as.size() == 1, b_vec = bs.size() == 1;
  if (a_vec) as.insert(as.begin(), 1);
  if (b_vec) bs.push_back(1);
  const int64_t m = as[as.size() - 2], k = as.back(), n = bs.back();
  if (bs[bs.size() - 2] != k) {
    return invalid_argument("matmul: inner dims differ: ", shape_text(a.shape), " @ ",
                            shape_text(b.shape));
  }
  const ConcreteShape a_batch(as.begin(), as.end() - 2), b_batch(bs.begin(), bs.end() - 2);
  const size_t rank = std::max(a_batch.size(), b_batch.size());
  ConcreteShape batch(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t da = i + a_batch.size() >= rank ? a_batch[i + a_batch.size() - rank] : 1;
    const int64_t db = i + b_batch.size() >= rank ? b_batch[i + b_batch.size() - rank] : 1;
    if (da != db && da != 1 && db != 1) {
      return invalid_argument("matmul: batch dims do not broadcast: ", shape_text(a.shape), " @ ",
                              shape_text(b.shape));
    }
    batch[i] = da == 1 ? db : da;
  }
  ConcreteShape expected = batch;
  if (!a_vec) expected.push_back(m);
  if (!b_vec) expected.push_back(n);
  if (out.shape != expected) {
    return invalid_argument("matmul: output shape ", shape_text(out.shape), " but ",
                            shape_text(a.shape), " @ ", shape_text(b.shape), " gives ",
                            shape_text(expected));
  }

  // 2. One GEMM per batch element, or one tall GEMM when b is shared by the whole batch.
  const ref::FloatInput fa(a), fb(b);
  ref::FloatOutput fo(out);
  const int64_t batches = concrete_numel(batch);
  const std::vector<int64_t> sa = ref::broadcast_strides(a_batch, batch);
  const std::vector<int64_t> sb = ref::broadcast_strides(b_batch, batch);
  const std::vector<int64_t> so = ref::contiguous_strides(batch);
  const bool b_shared = std::all_of(sb.begin(), sb.end(), [](int64_t s) { return s == 0; });
  if (b_shared && concrete_numel(a_batch) == batches) {
    ref::gemm_f32(batches * m, n, k, {fa.data(), k, 1}, {fb.data(), n, 1}, fo.data(), n, false);
  } else {
    auto run = [&](int64_t begin, int64_t end) {
      for (int64_t bi = begin; bi < end; ++bi) {
        int64_t oa = 0, ob = 0;
        for (size_t d = 0; d < rank; ++d) {
          const int64_t idx = (bi / so[d]) % batch[d];
          oa += idx * sa[d];
          ob += idx * sb[d];
        }
        ref::gemm_f32(m, n, k, {fa.data() + oa * m * k, k, 1}, {fb.data() + ob * k * n, n, 1},
                      fo.data() + bi * m * n, n, false);
      }
    };
    // Many batch elements: one per thread (the GEMMs then run serially). Few: threaded GEMMs.
    if (batches >= parallel_num_threads()) {
      parallel_for(batches, 1, run);
    } else {
      run(0, batches);
    }
  }
  fo.commit();
  return ok_status();
}

Status ref_kernel_Linear(const KernelArgs& args) {
  if (args.inputs.size() < 2 || args.inputs.size() > 3 || args.outputs.size() != 1) {
    return invalid_argument("linear: expected 2 or 3 inputs and 1 output, got ", args.inputs.size(),
                            " and ", args.outputs.size());
  }
  KILN_RETURN_IF_ERROR(ref::check_float_operands("linear", args, 3));
  const TensorView& x = args.inputs[0];
  const TensorView& w = args.inputs[1];
  const bool has_bias = args.inputs.size() == 3 && args.inputs[2].data != nullptr;
  const TensorView& out = args.outputs[0];
  if (x.shape.empty() || w.shape.size() != 2 || w.shape[1] != x.shape.back()) {
    return invalid_argument("linear: expected x[..., K] and w[N, K], got x", shape_text(x.shape),
                            " and w", shape_text(w.shape));
  }
  const int64_t k = w.shape[1], n = w.shape[0];
  ConcreteShape expected = x.shape;
  expected.back() = n;
  if (out.shape != expected) {
    return invalid_argument("linear: output shape ", shape_text(out.shape), ", expected ",
                            shape_text(expected));
  }
  if (has_bias && args.inputs[2].shape != ConcreteShape{n}) {
    return invalid_argument("linear: bias shape ", shape_text(args.inputs[2].shape), ", expected [",
                            n, "]");
  }
  const Activation act = args.node.attrs_as<LinearAttrs>().activation;
  if (!ref::activation_is_valid(act)) {
    return invalid_argument("linear: invalid activation ", static_cast<int>(act));
  }
  const int64_t m = concrete_numel(ConcreteShape(x.shape.begin(), x.shape.end() - 1));
  const ref::FloatInput fx(x), fw(w);
  ref::FloatOutput fo(out);
  if (has_bias) {
    const ref::FloatInput fb(args.inputs[2]);
    for (int64_t i = 0; i < m; ++i) std::copy(fb.data(), fb.data() + n, fo.data() + i * n);
  }
  ref::gemm_f32(m, n, k, {fx.data(), k, 1}, {fw.data(), 1, k}, fo.data(), n, has_bias);
  if (act != Activation::kNone) {
    float* y = fo.data();
    parallel_for(m * n, 16384, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) y[i] = ref::apply_activation(act, y[i]);
    });
  }
  fo.commit();
  return ok_status();
}

}  // namespace kiln
