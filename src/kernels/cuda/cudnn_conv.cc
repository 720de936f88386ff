// "cudnn.conv": 2-D conv on cuDNN, with the reference's semantics (src/kernels/reference/conv.cc)
// y = activation(conv(x, w) + bias + residual), fused into one cuDNN graph:
//
//   conv_fprop(x, w) -> [+ bias [1, O, 1, 1]] -> [+ residual] -> [relu | swish | gelu | gelu_tanh]
//
// with f32 compute and f32 virtual intermediates, so f16/bf16 results are rounded once, like the
// reference's. cuDNN describes every tensor as dims [N, C, H, W] plus strides: channels_last=false
// is NCHW (contiguous strides); channels_last=true means x [N, H, W, C] in memory, i.e. dims
// [N, C, H, W] with strides [H*W*C, 1, W*C, C], and w [O, kH, kW, C/g], i.e. dims [O, C/g, kH, kW]
// with strides [kH*kW*C/g, 1, kW*C/g, C/g]; y and the residual likewise. Groups are implied by
// the dims (w has C/g input channels). Plans are cached per shape (cudnn_common.h);
// workspace_bytes builds the plan, so the runtime prepares every plan before it runs or captures.
//
// What it accepts (static rules: accepts() cannot build plans, it sees symbolic shapes):
// - f16 or bf16 everywhere (f32 is left to cuda.conv: cuDNN may pick TF32 tensor-core engines,
//   which exact-f32 kernels must not, and whether TF32 is allowed is a build setting that does not
//   reach kernels -- as in gemm.cu);
// - rank 4 (two spatial dims), constant channel counts;
// - channels_last: C/g and O/g multiples of 8 (16-byte channel vectors, which cuDNN's fused
//   tensor-core engines need; the ResNet stem's C = 3 goes to cuda.conv unless the layout pass pads
//   it to 8);
// - NCHW: only a plain conv (no bias, residual or activation) -- cuDNN's engines that fuse
//   pointwise epilogues run on NHWC; a plain NCHW conv has generic engines for any channel count.
// A shape whose graph cuDNN still cannot plan fails in workspace_bytes/run with cuDNN's reason.
//
// Deliberately not here: 1-D/3-D conv, conv_transpose, f32 (see above), and asymmetric padding.
#include <cuda_runtime.h>

#include "check.h"
#include "cudnn_common.h"
#include "families.h"
#include "movement.cuh"

namespace kiln {
namespace {

namespace fe = cudnn_frontend;
using cuda_move::refuse;
using cuda_move::shape_text;

// Tensor UIDs of the graph.
constexpr int64_t kUidX = 1, kUidW = 2, kUidBias = 3, kUidResidual = 4, kUidY = 5;

// One conv, in cuDNN's logical [N, C, H, W] order whatever the layout.
struct ConvShape {
  DType dtype = DType::kF16;
  bool channels_last = false;
  int64_t n = 0, c = 0, h = 0, w = 0;  // x
  int64_t o = 0, cg = 0, kh = 0, kw = 0;  // weight
  int64_t oh = 0, ow = 0;                 // y
  int64_t groups = 1;
  int64_t stride[2] = {1, 1}, pad[2] = {0, 0}, dil[2] = {1, 1};
  bool bias = false, residual = false;
  Activation activation = Activation::kNone;
};

bool activation_known(Activation a) {
  return static_cast<uint8_t>(a) <= static_cast<uint8_t>(Activation::kGeluTanh);
}

const char* activation_text(Activation a) {
  switch (a) {
    case Activation::kNone: return "none";
    case Activation::kRelu: return "relu";
    case Activation::kSilu: return "silu";
    case Activation::kGelu: return "gelu";
    case Activation::kGeluTanh: return "gelu_tanh";
  }
  return "?";
}

// Strides of dims [N, C, H, W] for a tensor stored NCHW, or NHWC when channels_last.
std::vector<int64_t> layout_strides(int64_t n, int64_t c, int64_t h, int64_t w, bool channels_last) {
  (void)n;
  if (channels_last) return {h * w * c, 1, w * c, c};
  return {c * h * w, h * w, w, 1};
}

Status read_pair(std::string_view name, const std::vector<int64_t>& v, int64_t fallback,
                 int64_t min_value, int64_t* out) {
  if (!v.empty() && v.size() != 2) {
    return invalid_argument("cudnn.conv: ", name, " has ", v.size(), " entries for 2 spatial dims");
  }
  for (size_t i = 0; i < 2; ++i) {
    out[i] = v.empty() ? fallback : v[i];
    if (out[i] < min_value) {
      return invalid_argument("cudnn.conv: ", name, "[", i, "] = ", out[i], ", expected >= ",
                              min_value);
    }
  }
  return ok_status();
}

// ---- Host: operands -----------------------------------------------------------------------------

// The conv's geometry from the concrete operands, checked as the reference checks them.
Expected<ConvShape> conv_shape(const KernelArgs& args) {
  const ConvAttrs& at = args.node.attrs_as<ConvAttrs>();
  if (args.inputs.size() < 2 || args.inputs.size() > 4 || args.outputs.size() != 1) {
    return invalid_argument("cudnn.conv: expected 2 to 4 inputs and 1 output, got ",
                            args.inputs.size(), " and ", args.outputs.size());
  }
  const TensorView& x = args.inputs[0];
  const TensorView& w = args.inputs[1];
  const TensorView& y = args.outputs[0];
  ConvShape s;
  s.dtype = x.dtype;
  s.channels_last = at.channels_last;
  s.activation = at.activation;
  s.groups = at.groups;
  // Optional inputs are present by the node (their views may lack data in workspace_bytes).
  const std::vector<ValueId>& ids = args.node.inputs;
  s.bias = args.inputs.size() > 2 && ids.size() > 2 && ids[2] != kNoValue;
  s.residual = args.inputs.size() > 3 && ids.size() > 3 && ids[3] != kNoValue;
  if (s.dtype != DType::kF16 && s.dtype != DType::kBF16) {
    return unsupported("cudnn.conv takes f16 or bf16, got ", dtype_name(s.dtype));
  }
  if (x.shape.size() != 4 || w.shape.size() != 4 || y.shape.size() != 4) {
    return invalid_argument("cudnn.conv: expected rank-4 x, weight and output, got x",
                            shape_text(x.shape), ", weight", shape_text(w.shape), ", output",
                            shape_text(y.shape));
  }
  // Logical sizes from the physical shapes.
  const bool cl = s.channels_last;
  s.n = x.shape[0];
  s.c = cl ? x.shape[3] : x.shape[1];
  s.h = cl ? x.shape[1] : x.shape[2];
  s.w = cl ? x.shape[2] : x.shape[3];
  s.o = w.shape[0];
  s.cg = cl ? w.shape[3] : w.shape[1];
  s.kh = cl ? w.shape[1] : w.shape[2];
  s.kw = cl ? w.shape[2] : w.shape[3];
  KILN_RETURN_IF_ERROR(read_pair("stride", at.stride, 1, 1, s.stride));
  KILN_RETURN_IF_ERROR(read_pair("padding", at.padding, 0, 0, s.pad));
  KILN_RETURN_IF_ERROR(read_pair("dilation", at.dilation, 1, 1, s.dil));
  if (s.groups < 1 || s.c % s.groups != 0 || s.o % s.groups != 0 || s.cg * s.groups != s.c) {
    return invalid_argument("cudnn.conv: x", shape_text(x.shape), " and weight",
                            shape_text(w.shape), " do not fit groups = ", s.groups);
  }
  int64_t out[2];
  const int64_t in[2] = {s.h, s.w}, k[2] = {s.kh, s.kw};
  for (int d = 0; d < 2; ++d) {
    const int64_t span = in[d] + 2 * s.pad[d] - s.dil[d] * (k[d] - 1) - 1;
    out[d] = span < 0 ? 0 : span / s.stride[d] + 1;
  }
  s.oh = out[0];
  s.ow = out[1];
  const ConcreteShape expected =
      cl ? ConcreteShape{s.n, s.oh, s.ow, s.o} : ConcreteShape{s.n, s.o, s.oh, s.ow};
  if (y.shape != expected || y.dtype != s.dtype) {
    return invalid_argument("cudnn.conv: output ", dtype_name(y.dtype), shape_text(y.shape),
                            ", expected ", dtype_name(s.dtype), shape_text(expected));
  }
  if (w.dtype != s.dtype) {
    return invalid_argument("cudnn.conv: weight is ", dtype_name(w.dtype), ", x is ",
                            dtype_name(s.dtype));
  }
  if (s.bias && (args.inputs[2].shape != ConcreteShape{s.o} || args.inputs[2].dtype != s.dtype)) {
    return invalid_argument("cudnn.conv: bias ", dtype_name(args.inputs[2].dtype),
                            shape_text(args.inputs[2].shape), ", expected ", dtype_name(s.dtype),
                            "[", s.o, "]");
  }
  if (s.residual && (args.inputs[3].shape != expected || args.inputs[3].dtype != s.dtype)) {
    return invalid_argument("cudnn.conv: residual ", dtype_name(args.inputs[3].dtype),
                            shape_text(args.inputs[3].shape), ", expected the output's ",
                            dtype_name(s.dtype), shape_text(expected));
  }
  if (!activation_known(s.activation)) {
    return invalid_argument("cudnn.conv: unknown activation ", static_cast<int>(s.activation));
  }
  return s;
}

// The plan cache key: everything that shapes the graph.
std::string conv_key(const ConvShape& s) {
  return str_cat("cudnn.conv ", dtype_name(s.dtype), s.channels_last ? " nhwc" : " nchw", " x=[",
                 s.n, ",", s.c, ",", s.h, ",", s.w, "] w=[", s.o, ",", s.cg, ",", s.kh, ",", s.kw,
                 "] y=[", s.oh, ",", s.ow, "] g=", s.groups, " s=", s.stride[0], ",", s.stride[1],
                 " p=", s.pad[0], ",", s.pad[1], " d=", s.dil[0], ",", s.dil[1],
                 " bias=", s.bias, " residual=", s.residual, " act=", activation_text(s.activation));
}

// ---- Host: the graph ----------------------------------------------------------------------------

Expected<std::shared_ptr<fe::graph::Graph>> describe_conv(const ConvShape& s) {
  KILN_ASSIGN_OR_RETURN(fe::DataType_t io, cudnn::cudnn_data_type(s.dtype));
  constexpr fe::DataType_t f32 = fe::DataType_t::FLOAT;
  auto graph = std::make_shared<fe::graph::Graph>();
  graph->set_io_data_type(io).set_intermediate_data_type(f32).set_compute_data_type(f32);

  const bool cl = s.channels_last;
  auto x = graph->tensor(fe::graph::Tensor_attributes()
                             .set_name("x")
                             .set_uid(kUidX)
                             .set_data_type(io)
                             .set_dim({s.n, s.c, s.h, s.w})
                             .set_stride(layout_strides(s.n, s.c, s.h, s.w, cl)));
  auto w = graph->tensor(fe::graph::Tensor_attributes()
                             .set_name("w")
                             .set_uid(kUidW)
                             .set_data_type(io)
                             .set_dim({s.o, s.cg, s.kh, s.kw})
                             .set_stride(layout_strides(s.o, s.cg, s.kh, s.kw, cl)));
  auto conv = fe::graph::Conv_fprop_attributes()
                  .set_name("conv")
                  .set_padding({s.pad[0], s.pad[1]})
                  .set_stride({s.stride[0], s.stride[1]})
                  .set_dilation({s.dil[0], s.dil[1]})
                  .set_compute_data_type(f32);
  std::shared_ptr<fe::graph::Tensor_attributes> y = graph->conv_fprop(x, w, conv);
  y->set_data_type(f32);

  auto add = [&](std::shared_ptr<fe::graph::Tensor_attributes> a,
                 std::shared_ptr<fe::graph::Tensor_attributes> b, const char* name) {
    auto out = graph->pointwise(a, b,
                                fe::graph::Pointwise_attributes()
                                    .set_name(name)
                                    .set_mode(fe::PointwiseMode_t::ADD)
                                    .set_compute_data_type(f32));
    out->set_data_type(f32);
    return out;
  };
  if (s.bias) {
    auto bias = graph->tensor(fe::graph::Tensor_attributes()
                                  .set_name("bias")
                                  .set_uid(kUidBias)
                                  .set_data_type(io)
                                  .set_dim({1, s.o, 1, 1})
                                  .set_stride({s.o, 1, s.o, s.o}));
    y = add(y, bias, "bias_add");
  }
  if (s.residual) {
    auto residual = graph->tensor(fe::graph::Tensor_attributes()
                                      .set_name("residual")
                                      .set_uid(kUidResidual)
                                      .set_data_type(io)
                                      .set_dim({s.n, s.o, s.oh, s.ow})
                                      .set_stride(layout_strides(s.n, s.o, s.oh, s.ow, cl)));
    y = add(y, residual, "residual_add");
  }
  if (s.activation != Activation::kNone) {
    auto act = fe::graph::Pointwise_attributes().set_name("activation").set_compute_data_type(f32);
    switch (s.activation) {
      case Activation::kRelu: act.set_mode(fe::PointwiseMode_t::RELU_FWD); break;
      case Activation::kSilu: act.set_mode(fe::PointwiseMode_t::SWISH_FWD).set_swish_beta(1.0f); break;
      case Activation::kGelu: act.set_mode(fe::PointwiseMode_t::GELU_FWD); break;
      case Activation::kGeluTanh: act.set_mode(fe::PointwiseMode_t::GELU_APPROX_TANH_FWD); break;
      case Activation::kNone: break;
    }
    y = graph->pointwise(y, act);
  }
  y->set_output(true)
      .set_name("y")
      .set_uid(kUidY)
      .set_data_type(io)
      .set_dim({s.n, s.o, s.oh, s.ow})
      .set_stride(layout_strides(s.n, s.o, s.oh, s.ow, cl));
  return graph;
}

// cuDNN engines cudnn.conv does not trust (cudnn_common.h). Engine 4, which cuDNN's heuristics
// rank first for conv+bias+residual+relu on sm_90 (cuDNN 9 of torch 2.11's wheel), reads its
// inputs before the kernel launched just before it has finished: ResNet-50 f16 at batch 32 gave
// wrong outputs on most calls, on H100 and H200, with and without CUDA graphs, and never under
// CUDA_LAUNCH_BLOCKING or with an empty kernel launched before it. The next engine the heuristics
// give (engine 7) was correct on every call and is only 5% slower (2026-11-27, H200).
const std::vector<std::string> kUntrustedConvEngines = {"eng4_"};

// The plan for these operands (built on a miss). Null stream: workspace_bytes, never capturing.
Expected<std::shared_ptr<const cudnn::CudnnPlan>> conv_plan(const ConvShape& s, void* stream) {
  return cudnn::cudnn_plan(conv_key(s), [&s]() { return describe_conv(s); }, stream,
                           kUntrustedConvEngines);
}

bool empty_conv(const ConvShape& s) { return s.n == 0 || s.o == 0 || s.oh == 0 || s.ow == 0; }

// ---- Entries ------------------------------------------------------------------------------------

Expected<size_t> conv_workspace_bytes(const KernelArgs& args) {
  KILN_ASSIGN_OR_RETURN(ConvShape s, conv_shape(args));
  if (empty_conv(s)) return size_t{0};
  KILN_ASSIGN_OR_RETURN(std::shared_ptr<const cudnn::CudnnPlan> plan, conv_plan(s, nullptr));
  return static_cast<size_t>(plan->workspace_bytes);
}

Status conv_run(const KernelArgs& args) {
  // 1. Operands; an empty output needs nothing.
  KILN_ASSIGN_OR_RETURN(ConvShape s, conv_shape(args));
  if (empty_conv(s)) return ok_status();
  for (size_t i = 0; i < args.inputs.size(); ++i) {
    const bool present = i < 2 || (i == 2 && s.bias) || (i == 3 && s.residual);
    if (present && args.inputs[i].data == nullptr) {
      return invalid_argument("cudnn.conv: input ", i, " has no device buffer");
    }
  }
  if (args.outputs[0].data == nullptr) {
    return invalid_argument("cudnn.conv: the output has no device buffer");
  }
  // 2. The plan (prepared by workspace_bytes), then one launch.
  KILN_ASSIGN_OR_RETURN(std::shared_ptr<const cudnn::CudnnPlan> plan, conv_plan(s, args.stream));
  std::vector<std::pair<int64_t, void*>> pointers = {
      {kUidX, args.inputs[0].data}, {kUidW, args.inputs[1].data}, {kUidY, args.outputs[0].data}};
  if (s.bias) pointers.emplace_back(kUidBias, args.inputs[2].data);
  if (s.residual) pointers.emplace_back(kUidResidual, args.inputs[3].data);
  return cudnn::cudnn_execute(*plan, args, std::move(pointers));
}

// A constant dim's value, or -1.
int64_t constant_dim(const DimExpr& d) { return d.is_constant() ? d.constant_value() : -1; }

bool conv_accepts(const Node& node, std::span<const TensorType> input_types, std::string* why) {
  std::vector<const TensorType*> inputs;
  std::vector<TensorType> outputs;
  if (!cuda_move::typed_node(node, input_types, 4, inputs, outputs, why)) return false;
  if (inputs.size() < 2 || inputs[0] == nullptr || inputs[1] == nullptr) {
    return refuse(why, "expected x and weight inputs");
  }
  const ConvAttrs& at = node.attrs_as<ConvAttrs>();
  const DType t = inputs[0]->dtype;
  if (t != DType::kF16 && t != DType::kBF16) {
    return refuse(why, str_cat("input is ", dtype_name(t), "; cudnn.conv takes f16 or bf16"));
  }
  for (const TensorType* in : inputs) {
    if (in != nullptr && in->dtype != t) return refuse(why, "mixed input dtypes");
  }
  if (inputs[0]->shape.size() != 4 || inputs[1]->shape.size() != 4) {
    return refuse(why, "cudnn.conv takes 2-D convs (rank-4 x and weight)");
  }
  if (!activation_known(at.activation)) return refuse(why, "unknown activation");
  const bool epilogue = (inputs.size() > 2 && inputs[2] != nullptr) ||
                        (inputs.size() > 3 && inputs[3] != nullptr) ||
                        at.activation != Activation::kNone;
  if (!at.channels_last) {
    if (epilogue) {
      return refuse(why, "cudnn.conv fuses bias, residual and activation in the channels_last "
                         "layout only");
    }
    return true;
  }
  const int64_t c = constant_dim(inputs[0]->shape[3]);
  const int64_t o = constant_dim(inputs[1]->shape[0]);
  const int64_t cg = constant_dim(inputs[1]->shape[3]);
  if (c < 0 || o < 0 || cg < 0 || at.groups < 1 || o % at.groups != 0) {
    return refuse(why, "cudnn.conv needs constant channel counts");
  }
  if (cg % 8 != 0 || (o / at.groups) % 8 != 0) {
    return refuse(why, str_cat("cudnn.conv (channels_last) needs C/groups and O/groups multiples "
                               "of 8, got ", cg, " and ", o / at.groups));
  }
  return true;
}

const Kernel kCudnnConvKernels[] = {
    {"cudnn.conv", OpKind::kConv, DeviceKind::kCuda, 1, &conv_accepts, &conv_run,
     &conv_workspace_bytes},
};

}  // namespace

std::span<const Kernel> cuda_cudnn_conv_kernels() { return kCudnnConvKernels; }

}  // namespace kiln
