// Harness cases of the cuDNN kernels (src/kernels/cuda/cudnn_conv.cc, cudnn_attention.cc), f16
// and bf16, plus two tests of their own:
// - CudnnAccepts: the static acceptance rules, on the host (no GPU needed);
// - CudnnProbe: convs cudnn.conv refuses today (NCHW with an epilogue, unaligned channels,
//   depthwise and the C = 3 stem in NHWC) run on cuDNN anyway; each must
//   either have no cuDNN plan or match the reference, and the test prints which, so one GPU run
//   says where the acceptance rules could be widened;
// - CudnnPlanTest: an engine a kernel does not trust is used only when nothing else plans, and
//   then behind a fence (CudnnPlan::fence), with the same results.
// Conv: NHWC with every fused epilogue (bias, residual given or computed by a strided 1x1 conv,
// relu / silu / gelu / gelu_tanh), grouped, 7x7 stride-2 stem-like, dilated, chained; plain NCHW
// convs (C = 3 stem, depthwise, strided + dilated); odd, size-1-output and empty batches. Inputs in
// [-1, 1]. Attention: E in {32, 64, 80, 128}, Lq == Lk, Lq < Lk, Lq > Lk, causal, explicit
// scales, additive masks full and broadcast over batch, heads and query rows (BERT's [B, 1, 1, S]
// padding mask, including large negative values), empty batches.
//
// Tolerances: conv accumulates in f32 and rounds once, as the reference, but in another order:
// conv_test.cc's tolerances. Attention: flash attention rounds the softmax probabilities to the
// I/O dtype before multiplying by v (|v| <= 1 here), which adds up to about one ulp of the output
// scale: f16 atol 1e-3, bf16 atol 8e-3 (docs/kernels.md).
#if KILN_HAVE_CUDNN

#include <cuda_fp16.h>

#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "../../src/kernels/cuda/cudnn_common.h"
#include "harness.h"

namespace kiln::harness {
namespace {

const char* const kHalfTypes[] = {"f16", "bf16"};

std::map<DType, Tolerance> conv_tolerances() {
  return {{DType::kF16, {2e-3, 2e-4}}, {DType::kBF16, {1.6e-2, 2e-3}}};
}
std::map<DType, Tolerance> sdpa_tolerances() {
  return {{DType::kF16, {2e-3, 1e-3}}, {DType::kBF16, {1.6e-2, 8e-3}}};
}

HarnessCase conv_case(std::string name, const std::string& body, const std::string& ret) {
  HarnessCase c;
  c.name = std::move(name);
  c.ir = "graph @g {\n  symbol n in [0, 1000] opt 2\n  symbol h in [1, 10000] opt 8\n"
         "  symbol w in [1, 10000] opt 8\n" +
         body + "  return " + ret + "\n}\n";
  c.range.lo = -1;
  c.range.hi = 1;
  c.tolerances = conv_tolerances();
  // Spatial sizes >= 5 (the dilated 5x5 needs 5 after padding): odd sizes, an empty batch.
  // Every distinct shape builds a cuDNN plan, which takes a while: few bindings.
  c.shapes = {{{"n", 2}, {"h", 7}, {"w", 9}}, {{"n", 0}, {"h", 6}, {"w", 6}},
              {{"n", 3}, {"h", 17}, {"w", 6}}};
  return c;
}

// channels_last=true attributes text.
std::string nhwc(const std::string& geometry, const std::string& act) {
  return "{" + geometry + ", activation=" + act + ", channels_last=true}";
}
const char* const kSame3 = "stride=[1, 1], padding=[1, 1], dilation=[1, 1], groups=1";

std::vector<HarnessCase> cudnn_conv_cases() {
  std::vector<HarnessCase> cases;
  for (const char* dt_c : kHalfTypes) {
    const std::string dt = dt_c;
    const std::string s3 = kSame3;
    cases.push_back(conv_case(
        "cudnn_conv_nhwc_" + dt,
        "  input %x : " + dt + "[n, h, w, 16]\n  input %w0 : " + dt + "[32, 3, 3, 16]\n" +
            "  input %w1 : " + dt + "[32, 1, 1, 16]\n  input %wg : " + dt + "[32, 3, 3, 8]\n" +
            "  input %w7 : " + dt + "[64, 7, 7, 16]\n  input %wd : " + dt + "[24, 5, 5, 16]\n" +
            "  input %w2 : " + dt + "[16, 3, 3, 32]\n  input %b : " + dt + "[32]\n" +
            "  input %b16 : " + dt + "[16]\n  input %b64 : " + dt + "[64]\n" +
            "  input %r : " + dt + "[n, h, w, 32]\n" +
            "  %0 = conv(%x, %w0, %b) " + nhwc(s3, "relu") + "\n" +
            "  %1 = conv(%x, %w0, %b, %r) " + nhwc(s3, "relu") + "\n" +
            "  %2 = conv(%x, %w1, _, %r) " +
            nhwc("stride=[1, 1], padding=[0, 0], dilation=[1, 1], groups=1", "none") + "\n" +
            "  %3 = conv(%x, %w0, %b) " + nhwc(s3, "silu") + "\n" +
            "  %4 = conv(%x, %w0, %b) " + nhwc(s3, "gelu") + "\n" +
            "  %5 = conv(%x, %w0, %b, %r) " + nhwc(s3, "gelu_tanh") + "\n" +
            "  %6 = conv(%x, %w1, %b) " +
            nhwc("stride=[2, 2], padding=[0, 0], dilation=[1, 1], groups=1", "none") + "\n" +
            "  %7 = conv(%x, %w0, %b, %6) " +
            nhwc("stride=[2, 2], padding=[1, 1], dilation=[1, 1], groups=1", "relu") + "\n" +
            "  %8 = conv(%x, %wg, %b) " +
            nhwc("stride=[1, 1], padding=[1, 1], dilation=[1, 1], groups=2", "relu") + "\n" +
            "  %9 = conv(%x, %w7, %b64) " +
            nhwc("stride=[2, 2], padding=[3, 3], dilation=[1, 1], groups=1", "relu") + "\n" +
            "  %10 = conv(%x, %wd, _) " +
            nhwc("stride=[1, 2], padding=[2, 1], dilation=[2, 1], groups=1", "none") + "\n" +
            "  %11 = conv(%0, %w2, %b16) " + nhwc(s3, "relu") + "\n" +
            "  %12 = conv(%x, %w0, _) " + nhwc(s3, "none") + "\n" +
            "  %13 = conv(%x, %w0, _) " + nhwc(s3, "relu") + "\n",
        "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13"));
    cases.push_back(conv_case(
        "cudnn_conv_nchw_" + dt,
        "  input %x : " + dt + "[n, 16, h, w]\n  input %x3 : " + dt + "[n, 3, h, w]\n" +
            "  input %w0 : " + dt + "[32, 16, 3, 3]\n  input %ws : " + dt + "[64, 3, 7, 7]\n" +
            "  input %wdw : " + dt + "[16, 1, 3, 3]\n  input %w5 : " + dt + "[12, 16, 1, 1]\n" +
            "  %0 = conv(%x, %w0, _) {" + s3 + "}\n" +
            "  %1 = conv(%x3, %ws, _) {stride=[2, 2], padding=[3, 3], dilation=[1, 1], "
            "groups=1}\n"
            "  %2 = conv(%x, %wdw, _) {stride=[1, 1], padding=[1, 1], dilation=[1, 1], "
            "groups=16}\n"
            "  %3 = conv(%x, %w0, _) {stride=[2, 2], padding=[2, 2], dilation=[2, 2], "
            "groups=1}\n"
            "  %4 = conv(%x, %w5, _) {stride=[3, 2], padding=[0, 0], dilation=[1, 1], "
            "groups=1}\n",
        "%0, %1, %2, %3, %4"));
  }
  return cases;
}

// Every node form for E = 64; the plain, causal and padding-mask forms for the other head dims
// (every distinct shape builds a cuDNN plan, which takes a while: the case count is kept modest).
HarnessCase sdpa_case(std::string name, const std::string& dt, int e, bool all_forms) {
  const std::string q = dt + "[b, 4, l, " + std::to_string(e) + "]";
  const std::string kv = dt + "[b, 4, s, " + std::to_string(e) + "]";
  HarnessCase c;
  c.name = std::move(name);
  c.ir = "graph @g {\n  symbol b in [0, 1000] opt 1\n  symbol l in [1, 10000] opt 7\n"
         "  symbol s in [1, 10000] opt 7\n"
         "  input %q : " + q + "\n  input %k : " + kv + "\n  input %v : " + kv + "\n" +
         "  input %mp : " + dt + "[b, 1, 1, s]\n";
  std::string body =
      "  %0 = attention(%q, %k, %v) {is_causal=false}\n"
      "  %1 = attention(%q, %k, %v) {is_causal=true}\n"
      "  %2 = attention(%q, %k, %v, %mp) {is_causal=false}\n";
  std::string ret = "%0, %1, %2";
  if (all_forms) {
    c.ir += "  input %m4 : " + dt + "[b, 4, l, s]\n  input %mb : " + dt + "[b, 1, 1, s]\n" +
            "  input %mh : " + dt + "[1, 4, l, s]\n  input %m2 : " + dt + "[l, s]\n" +
            "  input %mr : " + dt + "[1, s]\n";
    body +=
        "  %3 = attention(%q, %k, %v) {is_causal=false, scale=0.2}\n"
        "  %4 = attention(%q, %k, %v, %m4) {is_causal=false}\n"
        "  %5 = attention(%q, %k, %v, %mb) {is_causal=false}\n"
        "  %6 = attention(%q, %k, %v, %mh) {is_causal=false, scale=0.5}\n"
        "  %7 = attention(%q, %k, %v, %m2) {is_causal=false}\n"
        "  %8 = attention(%q, %k, %v, %mr) {is_causal=false}\n"
        "  %9 = attention(%q, %k, %v) {is_causal=true, scale=0.3}\n";
    ret += ", %3, %4, %5, %6, %7, %8, %9";
    for (const char* m : {"m4", "mb", "mh", "m2", "mr"}) c.inputs[m] = InputRange{-8, 0};
  }
  c.ir += body + "  return " + ret + "\n}\n";
  c.range.lo = -1;
  c.range.hi = 1;
  // A padding-style mask: mostly hugely negative (finite) values, as HuggingFace's.
  c.inputs["mp"] = InputRange{-30000, 0};
  c.tolerances = sdpa_tolerances();
  if (all_forms) {
    c.shapes = {{{"b", 2}, {"l", 7}, {"s", 7}},    {{"b", 1}, {"l", 33}, {"s", 129}},
                {{"b", 1}, {"l", 129}, {"s", 33}}, {{"b", 0}, {"l", 5}, {"s", 5}}};
  } else {
    c.shapes = {{{"b", 2}, {"l", 64}, {"s", 64}}, {{"b", 3}, {"l", 17}, {"s", 9}}};
  }
  return c;
}

// The bshd layout (q, k, v and the output [B, L, H, E], cuDNN strides [L*H*E, E, H*E, 1]): plain,
// causal, a padding mask and a per-head mask, with Lq == Lk and Lq != Lk.
HarnessCase sdpa_bshd_case(const std::string& dt, int e) {
  const std::string es = std::to_string(e);
  HarnessCase c;
  c.name = "cudnn_attention_bshd_e" + es + "_" + dt;
  c.ir = "graph @g {\n  symbol b in [0, 1000] opt 1\n  symbol l in [1, 10000] opt 7\n"
         "  symbol s in [1, 10000] opt 7\n"
         "  input %q : " + dt + "[b, l, 4, " + es + "]\n  input %k : " + dt + "[b, s, 4, " + es +
         "]\n  input %v : " + dt + "[b, s, 4, " + es + "]\n  input %mp : " + dt +
         "[b, 1, 1, s]\n  input %m4 : " + dt + "[b, 4, l, s]\n"
         "  %0 = attention(%q, %k, %v) {is_causal=false, bshd=true}\n"
         "  %1 = attention(%q, %k, %v) {is_causal=true, bshd=true}\n"
         "  %2 = attention(%q, %k, %v, %mp) {is_causal=false, bshd=true}\n"
         "  %3 = attention(%q, %k, %v, %m4) {is_causal=false, scale=0.5, bshd=true}\n"
         "  return %0, %1, %2, %3\n}\n";
  c.range.lo = -1;
  c.range.hi = 1;
  c.inputs["mp"] = InputRange{-30000, 0};
  c.inputs["m4"] = InputRange{-8, 0};
  c.tolerances = sdpa_tolerances();
  c.shapes = {{{"b", 2}, {"l", 64}, {"s", 64}},
              {{"b", 1}, {"l", 33}, {"s", 129}},
              {{"b", 3}, {"l", 17}, {"s", 9}},
              {{"b", 0}, {"l", 5}, {"s", 5}}};
  return c;
}

std::vector<HarnessCase> cudnn_attention_cases() {
  std::vector<HarnessCase> cases;
  for (const char* dt_c : kHalfTypes) {
    for (int e : {32, 64, 80, 128}) {
      cases.push_back(
          sdpa_case("cudnn_attention_e" + std::to_string(e) + "_" + dt_c, dt_c, e, e == 64));
    }
    for (int e : {64, 80}) cases.push_back(sdpa_bshd_case(dt_c, e));
  }
  return cases;
}

// ---- acceptance rules (host only) ---------------------------------------------------------------

// accepts() of `kernel` on every node of a one-binding graph, in order.
std::vector<bool> accepted(const std::string& kernel, const std::string& ir,
                           std::map<std::string, int64_t> shapes = {}) {
  HarnessCase c;
  c.name = "accepts";
  c.ir = ir;
  if (!shapes.empty()) c.shapes = {shapes};
  Expected<std::vector<NodeTypes>> nodes = case_node_types(c);
  EXPECT_TRUE(nodes.ok()) << nodes.status().to_string();
  std::vector<bool> out;
  const Kernel* k = find_kernel(kernel);
  EXPECT_NE(k, nullptr) << kernel;
  if (!nodes.ok() || k == nullptr) return out;
  for (const NodeTypes& n : *nodes) out.push_back(k->accepts(n.node, n.input_types, nullptr));
  return out;
}

TEST(CudnnAccepts, ConvRules) {
  const std::vector<bool> got = accepted(
      "cudnn.conv",
      "graph @g {\n"
      "  input %x : f16[2, 8, 8, 16]\n  input %w : f16[32, 3, 3, 16]\n  input %b : f16[32]\n"
      "  input %xc : f16[2, 16, 8, 8]\n  input %wc : f16[32, 16, 3, 3]\n  input %bc : f16[32]\n"
      "  input %x3 : f16[2, 8, 8, 3]\n  input %w3 : f16[32, 3, 3, 3]\n"
      "  input %xf : f32[2, 8, 8, 16]\n  input %wf : f32[32, 3, 3, 16]\n"
      "  input %wdw : f16[16, 3, 3, 1]\n  input %x1 : f16[2, 16, 8]\n  input %w1 : f16[4, 16, 3]\n"
      "  %0 = conv(%x, %w, %b) {" + std::string(kSame3) + ", activation=relu, "
      "channels_last=true}\n"
      "  %1 = conv(%xc, %wc, _) {" + kSame3 + "}\n"
      "  %2 = conv(%xc, %wc, %bc) {" + kSame3 + "}\n"
      "  %3 = conv(%x3, %w3, %b) {" + kSame3 + ", activation=relu, channels_last=true}\n"
      "  %4 = conv(%xf, %wf, _) {" + kSame3 + ", channels_last=true}\n"
      "  %5 = conv(%x, %wdw, _) {stride=[1, 1], padding=[1, 1], dilation=[1, 1], groups=16, "
      "channels_last=true}\n"
      "  %6 = conv(%x1, %w1, _) {stride=[1], padding=[1], dilation=[1], groups=1}\n"
      "  return %0, %1, %2, %3, %4, %5, %6\n}\n");
  // NHWC fused: yes; NCHW plain: yes; NCHW + bias: no; C = 3 NHWC: no; f32: no; depthwise
  // NHWC: no; 1-D: no.
  EXPECT_EQ(got, (std::vector<bool>{true, true, false, false, false, false, false}));
}

TEST(CudnnAccepts, AttentionRules) {
  const std::vector<bool> got = accepted(
      "cudnn.attention",
      "graph @g {\n  symbol s in [1, 4096] opt 128\n"
      "  input %q : f16[2, 4, s, 64]\n  input %k : f16[2, 4, s, 64]\n  input %v : f16[2, 4, s, 64]\n"
      "  input %mb : f16[2, 1, 1, s]\n  input %bm : bool[2, 1, 1, s]\n  input %ml : f16[s, 1]\n"
      "  input %q3 : f16[8, s, 64]\n  input %q2 : f16[2, 4, s, 20]\n  input %k2 : f16[2, 4, s, 20]\n"
      "  input %qf : f32[2, 4, s, 64]\n  input %kb : f16[1, 4, s, 64]\n"
      "  input %qe : f16[2, 4, s, 256]\n"
      "  %0 = attention(%q, %k, %v) {is_causal=true}\n"
      "  %1 = attention(%q, %k, %v, %mb) {is_causal=false}\n"
      "  %2 = attention(%q, %k, %v, %bm) {is_causal=false}\n"
      "  %3 = attention(%q, %k, %v, %ml) {is_causal=false}\n"
      "  %4 = attention(%q3, %q3, %q3) {is_causal=false}\n"
      "  %5 = attention(%q2, %k2, %k2) {is_causal=false}\n"
      "  %6 = attention(%qf, %qf, %qf) {is_causal=false}\n"
      "  %7 = attention(%q, %kb, %kb) {is_causal=false}\n"
      "  %8 = attention(%qe, %qe, %qe) {is_causal=false}\n"
      "  return %0, %1, %2, %3, %4, %5, %6, %7, %8\n}\n",
      {{"s", 128}});
  // causal: yes; [B, 1, 1, S] additive: yes; bool mask: no; mask broadcast along Lk: no; rank 3:
  // no; E = 20: no; f32: no; k/v broadcast over batch: no; E = 256: no.
  EXPECT_EQ(got, (std::vector<bool>{true, true, false, false, false, false, false, false, false}));
}

TEST(CudnnAccepts, AttentionBshdRules) {
  const std::vector<bool> got = accepted(
      "cudnn.attention",
      "graph @g {\n  symbol s in [1, 4096] opt 128\n"
      "  input %q : f16[2, s, 4, 64]\n  input %k : f16[2, 9, 4, 64]\n"
      "  input %mb : f16[2, 1, 1, 9]\n"
      "  input %mh : f16[2, 4, s, 9]\n  input %kh : f16[2, 9, 1, 64]\n"
      "  input %q80 : bf16[2, s, 4, 80]\n  input %k80 : bf16[2, 9, 4, 80]\n"
      "  %0 = attention(%q, %k, %k) {is_causal=true, bshd=true}\n"
      "  %1 = attention(%q, %k, %k, %mb) {is_causal=false, bshd=true}\n"
      "  %2 = attention(%q, %k, %k, %mh) {is_causal=false, bshd=true}\n"
      "  %3 = attention(%q, %kh, %kh) {is_causal=false, bshd=true}\n"
      "  %4 = attention(%q80, %k80, %k80) {is_causal=false, bshd=true}\n"
      "  return %0, %1, %2, %3, %4\n}\n",
      {{"s", 128}});
  // causal: yes; [B, 1, 1, Lk] mask: yes; [B, H, Lq, Lk] mask: yes; k/v broadcast over heads: no;
  // bf16 E = 80: yes.
  EXPECT_EQ(got, (std::vector<bool>{true, true, true, false, true}));
}

// ---- probe of refused shapes (GPU) --------------------------------------------------------------

TEST(CudnnProbe, RefusedShapesHaveNoPlanOrMatch) {
  KILN_OPEN_CUDA_DEVICE_OR_SKIP(device);
  std::vector<HarnessCase> probes;
  for (const char* dt_c : kHalfTypes) {
    const std::string dt = dt_c;
    const std::string s3 = kSame3;
    probes.push_back(conv_case(
        "probe_conv_" + dt,
        "  input %x : " + dt + "[n, 16, h, w]\n  input %w0 : " + dt + "[32, 16, 3, 3]\n" +
            "  input %b : " + dt + "[32]\n  input %r : " + dt + "[n, 32, h, w]\n" +
            "  input %x3 : " + dt + "[n, h, w, 3]\n  input %w3 : " + dt + "[64, 7, 7, 3]\n" +
            "  input %b64 : " + dt + "[64]\n  input %x4 : " + dt + "[n, h, w, 4]\n" +
            "  input %w4 : " + dt + "[12, 3, 3, 4]\n  input %xn : " + dt + "[n, h, w, 16]\n" +
            "  input %wdw : " + dt + "[16, 3, 3, 1]\n  input %b16 : " + dt + "[16]\n" +
            "  input %b12 : " + dt + "[12]\n" +
            "  %0 = conv(%x, %w0, %b) {" + s3 + ", activation=relu}\n" +
            "  %1 = conv(%x, %w0, %b, %r) {" + s3 + ", activation=relu}\n" +
            "  %2 = conv(%x3, %w3, %b64) {stride=[2, 2], padding=[3, 3], dilation=[1, 1], "
            "groups=1, activation=relu, channels_last=true}\n"
            "  %3 = conv(%x4, %w4, %b12) {" + s3 + ", activation=silu, channels_last=true}\n" +
            "  %4 = conv(%xn, %wdw, %b16) {stride=[1, 1], padding=[1, 1], dilation=[1, 1], "
            "groups=16, activation=relu, channels_last=true}\n",
        "%0, %1, %2, %3, %4"));
  }
  const Kernel* conv = find_kernel("cudnn.conv");
  ASSERT_NE(conv, nullptr);
  const KernelSelector force = [&](const Node&, std::span<const TensorType>) {
    return std::vector<const Kernel*>{conv};
  };
  for (const HarnessCase& c : probes) {
    const Report report = run_case(c, **device, force);
    std::cout << "cuDNN probe " << c.name << ": " << report.comparisons << " comparisons, "
              << report.failures.size() << " without a plan or wrong\n";
    for (const std::string& f : report.failures) {
      // Refused at plan time (workspace_bytes: no cuDNN plan, or the kernel's own shape checks).
      const bool no_plan = f.find("workspace_bytes failed") != std::string::npos;
      std::cout << (no_plan ? "  no plan: " : "  WRONG: ") << f << "\n";
      EXPECT_TRUE(no_plan) << "cuDNN planned a refused shape and computed a wrong result: " << f;
    }
  }
}

// A 3x3 NHWC f16 conv of x[2, 16, 9, 7] (values in [-1, 1]) as a cudnn-frontend graph.
Expected<std::shared_ptr<cudnn::fe::graph::Graph>> describe_probe_conv() {
  namespace fe = cudnn::fe;
  auto graph = std::make_shared<fe::graph::Graph>();
  graph->set_io_data_type(fe::DataType_t::HALF)
      .set_intermediate_data_type(fe::DataType_t::FLOAT)
      .set_compute_data_type(fe::DataType_t::FLOAT);
  auto x = graph->tensor(fe::graph::Tensor_attributes().set_name("x").set_uid(1).set_dim(
      {2, 16, 9, 7}).set_stride({9 * 7 * 16, 1, 7 * 16, 16}));
  auto w = graph->tensor(fe::graph::Tensor_attributes().set_name("w").set_uid(2).set_dim(
      {16, 16, 3, 3}).set_stride({3 * 3 * 16, 1, 3 * 16, 16}));
  auto y = graph->conv_fprop(x, w, fe::graph::Conv_fprop_attributes()
                                       .set_padding({1, 1})
                                       .set_stride({1, 1})
                                       .set_dilation({1, 1}));
  y->set_output(true).set_uid(3).set_data_type(fe::DataType_t::HALF);
  return graph;
}

// Runs `plan` on the probe conv's operands; returns y's f16 bits.
std::vector<uint16_t> run_probe_conv(const cudnn::CudnnPlan& plan) {
  const size_t nx = 2 * 16 * 9 * 7, nw = 16 * 16 * 3 * 3;
  std::vector<__half> hx(nx), hw(nw);
  for (size_t i = 0; i < nx; ++i) hx[i] = __float2half(static_cast<float>(i % 17) / 8.0f - 1.0f);
  for (size_t i = 0; i < nw; ++i) hw[i] = __float2half(static_cast<float>(i % 13) / 6.0f - 1.0f);
  void *x = nullptr, *w = nullptr, *y = nullptr, *ws = nullptr;
  EXPECT_EQ(cudaMalloc(&x, nx * 2), cudaSuccess);
  EXPECT_EQ(cudaMalloc(&w, nw * 2), cudaSuccess);
  EXPECT_EQ(cudaMalloc(&y, nx * 2), cudaSuccess);
  if (plan.workspace_bytes > 0) {
    EXPECT_EQ(cudaMalloc(&ws, plan.workspace_bytes), cudaSuccess);
  }
  EXPECT_EQ(cudaMemcpy(x, hx.data(), nx * 2, cudaMemcpyHostToDevice), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(w, hw.data(), nw * 2, cudaMemcpyHostToDevice), cudaSuccess);
  EXPECT_EQ(cudaMemset(y, 0xff, nx * 2), cudaSuccess);  // NaN: an unwritten output shows
  Node node;
  KernelArgs args{node, {}, {}, {}};
  args.workspace = ws;
  args.workspace_bytes = static_cast<size_t>(plan.workspace_bytes);
  const Status s = cudnn::cudnn_execute(plan, args, {{1, x}, {2, w}, {3, y}});
  EXPECT_TRUE(s.ok()) << s.to_string();
  std::vector<uint16_t> out(nx);
  EXPECT_EQ(cudaMemcpy(out.data(), y, nx * 2, cudaMemcpyDeviceToHost), cudaSuccess);
  for (void* p : {x, w, y, ws}) cudaFree(p);
  return out;
}

TEST(CudnnPlanTest, UntrustedEnginesAreAFencedFallback) {
  KILN_OPEN_CUDA_DEVICE_OR_SKIP(device);
  Expected<std::shared_ptr<const cudnn::CudnnPlan>> trusted =
      cudnn::cudnn_plan("CudnnPlanTest trusted", describe_probe_conv);
  ASSERT_TRUE(trusted.ok()) << trusted.status().to_string();
  EXPECT_FALSE((*trusted)->fence);
  // "eng" is in every engine's name: nothing plans without the untrusted ones, so the plan is
  // the same engine, fenced.
  Expected<std::shared_ptr<const cudnn::CudnnPlan>> fenced =
      cudnn::cudnn_plan("CudnnPlanTest fenced", describe_probe_conv, nullptr, {"eng"});
  ASSERT_TRUE(fenced.ok()) << fenced.status().to_string();
  EXPECT_TRUE((*fenced)->fence);
  EXPECT_EQ((*fenced)->engine, (*trusted)->engine);
  const std::vector<uint16_t> want = run_probe_conv(**trusted), got = run_probe_conv(**fenced);
  EXPECT_EQ(got, want);
  size_t written = 0;
  for (uint16_t bits : got) written += bits != 0xffff;
  EXPECT_EQ(written, got.size()) << "the fenced plan left output elements unwritten";
}

}  // namespace

KILN_HARNESS_CASES(CudnnConv, cudnn_conv_cases);
KILN_HARNESS_CASES(CudnnAttention, cudnn_attention_cases);

}  // namespace kiln::harness

#endif  // KILN_HAVE_CUDNN
