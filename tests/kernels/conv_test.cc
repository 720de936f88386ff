// Harness cases of the CUDA convolution family (src/kernels/cuda/conv.cu): conv and
// conv_transpose over 1, 2 and 3 spatial dims in f32, f16 and bf16, with stride, padding,
// dilation, groups (including depthwise), output_padding, 1x1 kernels, bias on and off, odd and
// size-1 spatial dims and empty batches; conv also with its fused epilogue (residual, every
// activation) and channels_last (grouped, depthwise, 1x1, 1-D and 3-D). Inputs are in [-1, 1]; the
// kernels sum in f32 in another order than the reference's im2col + GEMM, hence GEMM-like
// tolerances.
#include <string>
#include <vector>

#include "harness.h"

namespace kiln::harness {
namespace {

const char* const kFloatTypes[] = {"f32", "f16", "bf16"};

// f32 accumulation over at most a few hundred taps of |x| <= 1 in another order, then one rounding
// of the output dtype: neighbouring f16/bf16 values may differ by one ulp.
std::map<DType, Tolerance> conv_tolerances() {
  return {{DType::kF32, {1e-5, 1e-4}}, {DType::kF16, {2e-3, 2e-4}}, {DType::kBF16, {1.6e-2, 2e-3}}};
}

HarnessCase conv_case(std::string name, const std::string& inputs, const std::string& body,
                      const std::string& ret) {
  HarnessCase c;
  c.name = std::move(name);
  c.ir = "graph @g {\n  symbol n in [0, 1000] opt 2\n  symbol h in [1, 10000] opt 8\n"
         "  symbol w in [1, 10000] opt 8\n" +
         inputs + body + "  return " + ret + "\n}\n";
  c.range.lo = -1;
  c.range.hi = 1;
  c.tolerances = conv_tolerances();
  return c;
}

std::vector<HarnessCase> conv_cases() {
  std::vector<HarnessCase> cases;
  for (const char* dt_c : kFloatTypes) {
    const std::string dt = dt_c;
    // 2-D conv with symbolic spatial dims: padding, stride, dilation, groups, depthwise, 1x1, bias.
    HarnessCase c2 = conv_case(
        "conv2d_" + dt,
        "  input %x : " + dt + "[n, 4, h, w]\n  input %w0 : " + dt + "[6, 4, 3, 3]\n" +
            "  input %w1 : " + dt + "[6, 2, 3, 2]\n  input %w2 : " + dt + "[8, 1, 3, 3]\n" +
            "  input %w3 : " + dt + "[5, 4, 1, 1]\n  input %b6 : " + dt + "[6]\n" +
            "  input %b8 : " + dt + "[8]\n  input %b5 : " + dt + "[5]\n",
        "  %0 = conv(%x, %w0, _) {stride=[1, 1], padding=[1, 1], dilation=[1, 1], groups=1}\n"
        "  %1 = conv(%x, %w0, %b6) {stride=[2, 2], padding=[0, 1], dilation=[1, 1], groups=1}\n"
        "  %2 = conv(%x, %w1, %b6) {stride=[2, 1], padding=[2, 0], dilation=[2, 1], groups=2}\n"
        "  %3 = conv(%x, %w2, %b8) {stride=[2, 2], padding=[1, 1], dilation=[1, 1], groups=4}\n"
        "  %4 = conv(%x, %w2, _) {stride=[1, 1], padding=[2, 2], dilation=[2, 2], groups=4}\n"
        "  %5 = conv(%x, %w3, %b5) {stride=[1, 1], padding=[0, 0], dilation=[1, 1], groups=1}\n"
        "  %6 = conv(%x, %w3, _) {stride=[3, 2], padding=[0, 0], dilation=[1, 1], groups=1}\n",
        "%0, %1, %2, %3, %4, %5, %6");
    c2.shapes = {{{"n", 2}, {"h", 7}, {"w", 10}}, {{"n", 1}, {"h", 5}, {"w", 5}},
                 {{"n", 3}, {"h", 9}, {"w", 13}}, {{"n", 0}, {"h", 6}, {"w", 6}},
                 {{"n", 1}, {"h", 17}, {"w", 3}}};
    cases.push_back(c2);

    // 1-D and 3-D conv, with wide padding and a kernel as large as the input.
    HarnessCase c13 = conv_case(
        "conv1d3d_" + dt,
        "  input %x : " + dt + "[n, 3, w]\n  input %w0 : " + dt + "[4, 3, 5]\n" +
            "  input %w1 : " + dt + "[6, 1, 3]\n  input %b4 : " + dt + "[4]\n" +
            "  input %v : " + dt + "[n, 4, 5, 6, 7]\n  input %k0 : " + dt + "[4, 2, 3, 2, 3]\n" +
            "  input %k1 : " + dt + "[3, 4, 1, 1, 1]\n  input %k2 : " + dt + "[2, 4, 5, 6, 7]\n" +
            "  input %c2 : " + dt + "[2]\n",
        "  %0 = conv(%x, %w0, %b4) {stride=[2], padding=[2], dilation=[1], groups=1}\n"
        "  %1 = conv(%x, %w1, _) {stride=[1], padding=[0], dilation=[3], groups=3}\n"
        "  %2 = conv(%x, %w0, _) {stride=[3], padding=[4], dilation=[2], groups=1}\n"
        "  %3 = conv(%v, %k0, %b4) {stride=[1, 2, 2], padding=[1, 0, 1], dilation=[1, 1, 2], "
        "groups=2}\n"
        "  %4 = conv(%v, %k1, _) {stride=[1, 1, 1], padding=[0, 0, 0], dilation=[1, 1, 1], "
        "groups=1}\n"
        "  %5 = conv(%v, %k2, %c2) {stride=[1, 1, 1], padding=[0, 1, 0], dilation=[1, 1, 1], "
        "groups=1}\n",
        "%0, %1, %2, %3, %4, %5");
    c13.shapes = {{{"n", 2}, {"w", 11}}, {{"n", 1}, {"w", 7}}, {{"n", 3}, {"w", 100}},
                  {{"n", 0}, {"w", 9}}};
    cases.push_back(c13);

    // The fused epilogue in the NC* layout: residual with and without bias, every activation.
    HarnessCase f2 = conv_case(
        "conv2d_fused_" + dt,
        "  input %x : " + dt + "[n, 4, h, w]\n  input %w0 : " + dt + "[6, 4, 3, 3]\n" +
            "  input %w1 : " + dt + "[6, 2, 3, 2]\n  input %w2 : " + dt + "[4, 1, 3, 3]\n" +
            "  input %b6 : " + dt + "[6]\n  input %b4 : " + dt + "[4]\n" +
            "  input %r0 : " + dt + "[n, 6, h, w]\n  input %r2 : " + dt + "[n, 4, h, w]\n",
        "  %0 = conv(%x, %w0, %b6, %r0) {stride=[1, 1], padding=[1, 1], dilation=[1, 1], "
        "groups=1, activation=relu}\n"
        "  %1 = conv(%x, %w0, _, %r0) {stride=[1, 1], padding=[1, 1], dilation=[1, 1], groups=1, "
        "activation=none}\n"
        "  %2 = conv(%x, %w0, %b6) {stride=[2, 1], padding=[1, 1], dilation=[1, 1], groups=1, "
        "activation=silu}\n"
        "  %3 = conv(%x, %w1, %b6) {stride=[1, 2], padding=[2, 1], dilation=[2, 1], groups=2, "
        "activation=gelu}\n"
        "  %4 = conv(%x, %w1, _) {stride=[2, 2], padding=[1, 1], dilation=[1, 1], groups=2, "
        "activation=gelu_tanh}\n"
        "  %5 = conv(%x, %w2, %b4, %r2) {stride=[1, 1], padding=[1, 1], dilation=[1, 1], "
        "groups=4, activation=relu}\n",
        "%0, %1, %2, %3, %4, %5");
    f2.shapes = {{{"n", 2}, {"h", 7}, {"w", 10}}, {{"n", 1}, {"h", 1}, {"w", 1}},
                 {{"n", 3}, {"h", 9}, {"w", 13}}, {{"n", 0}, {"h", 5}, {"w", 5}}};
    f2.inputs["r0"] = InputRange{-3, 3};
    f2.inputs["r2"] = InputRange{-3, 3};
    cases.push_back(f2);

    // channels_last 2-D: x [n, h, w, C], w [O, kh, kw, C/g]; grouped, depthwise (with a channel
    // multiplier), 1x1, strided and dilated, with residual and every activation.
    HarnessCase l2 = conv_case(
        "conv2d_channels_last_" + dt,
        "  input %x : " + dt + "[n, h, w, 6]\n  input %w0 : " + dt + "[5, 3, 3, 6]\n" +
            "  input %w1 : " + dt + "[9, 3, 2, 2]\n  input %w2 : " + dt + "[6, 3, 3, 1]\n" +
            "  input %w3 : " + dt + "[12, 3, 3, 1]\n  input %w4 : " + dt + "[7, 1, 1, 6]\n" +
            "  input %b5 : " + dt + "[5]\n  input %b9 : " + dt + "[9]\n" +
            "  input %b6 : " + dt + "[6]\n  input %b7 : " + dt + "[7]\n" +
            "  input %r5 : " + dt + "[n, h, w, 5]\n  input %r6 : " + dt + "[n, h, w, 6]\n" +
            "  input %r7 : " + dt + "[n, h, w, 7]\n",
        "  %0 = conv(%x, %w0, %b5, %r5) {stride=[1, 1], padding=[1, 1], dilation=[1, 1], "
        "groups=1, activation=relu, channels_last=true}\n"
        "  %1 = conv(%x, %w0, _) {stride=[2, 2], padding=[0, 1], dilation=[1, 1], groups=1, "
        "channels_last=true}\n"
        "  %2 = conv(%x, %w1, %b9) {stride=[2, 1], padding=[2, 0], dilation=[2, 1], groups=3, "
        "activation=silu, channels_last=true}\n"
        "  %3 = conv(%x, %w2, %b6, %r6) {stride=[1, 1], padding=[1, 1], dilation=[1, 1], "
        "groups=6, activation=gelu, channels_last=true}\n"
        "  %4 = conv(%x, %w3, _) {stride=[2, 2], padding=[2, 2], dilation=[2, 2], groups=6, "
        "activation=gelu_tanh, channels_last=true}\n"
        "  %5 = conv(%x, %w4, %b7, %r7) {stride=[1, 1], padding=[0, 0], dilation=[1, 1], "
        "groups=1, activation=relu, channels_last=true}\n"
        "  %6 = conv(%x, %w4, _, %r7) {stride=[1, 1], padding=[0, 0], dilation=[1, 1], "
        "groups=1, channels_last=true}\n",
        "%0, %1, %2, %3, %4, %5, %6");
    l2.shapes = {{{"n", 2}, {"h", 7}, {"w", 10}}, {{"n", 1}, {"h", 5}, {"w", 5}},
                 {{"n", 3}, {"h", 9}, {"w", 13}}, {{"n", 0}, {"h", 6}, {"w", 6}},
                 {{"n", 1}, {"h", 17}, {"w", 3}}};
    for (const char* r : {"r5", "r6", "r7"}) l2.inputs[r] = InputRange{-3, 3};
    cases.push_back(l2);

    // Depthwise channels_last (groups == C): C = 8 and 12 take the 4-channel path, C = 5 the
    // one-channel one; 7x7 (ConvNeXt), 5x5 stride 2 with SiLU (EfficientNet), 3x3 with a residual
    // and ReLU, stride 2 with dilation, 1-D and 3-D, a 3x3 image and an empty batch.
    HarnessCase dw = conv_case(
        "conv_depthwise_channels_last_" + dt,
        "  input %x : " + dt + "[n, h, w, 8]\n  input %w7 : " + dt + "[8, 7, 7, 1]\n" +
            "  input %w5 : " + dt + "[8, 5, 5, 1]\n  input %w3 : " + dt + "[8, 3, 3, 1]\n" +
            "  input %b8 : " + dt + "[8]\n  input %r8 : " + dt + "[n, h, w, 8]\n" +
            "  input %x5 : " + dt + "[n, h, w, 5]\n  input %k5 : " + dt + "[5, 3, 3, 1]\n" +
            "  input %b5 : " + dt + "[5]\n  input %u : " + dt + "[n, w, 12]\n" +
            "  input %ku : " + dt + "[12, 3, 1]\n  input %v : " + dt + "[n, 3, h, w, 4]\n" +
            "  input %kv : " + dt + "[4, 3, 3, 3, 1]\n",
        "  %0 = conv(%x, %w7, %b8) {stride=[1, 1], padding=[3, 3], dilation=[1, 1], groups=8, "
        "channels_last=true}\n"
        "  %1 = conv(%x, %w5, %b8) {stride=[2, 2], padding=[2, 2], dilation=[1, 1], groups=8, "
        "activation=silu, channels_last=true}\n"
        "  %2 = conv(%x, %w3, %b8, %r8) {stride=[1, 1], padding=[1, 1], dilation=[1, 1], "
        "groups=8, activation=relu, channels_last=true}\n"
        "  %3 = conv(%x, %w3, _) {stride=[2, 1], padding=[2, 0], dilation=[2, 1], groups=8, "
        "channels_last=true}\n"
        "  %4 = conv(%x5, %k5, %b5) {stride=[2, 2], padding=[1, 1], dilation=[1, 1], groups=5, "
        "activation=relu, channels_last=true}\n"
        "  %5 = conv(%u, %ku, _) {stride=[1], padding=[1], dilation=[1], groups=12, "
        "activation=gelu, channels_last=true}\n"
        "  %6 = conv(%v, %kv, _) {stride=[1, 2, 2], padding=[1, 1, 1], dilation=[1, 1, 1], "
        "groups=4, channels_last=true}\n",
        "%0, %1, %2, %3, %4, %5, %6");
    dw.shapes = {{{"n", 2}, {"h", 7}, {"w", 10}}, {{"n", 1}, {"h", 3}, {"w", 3}},
                 {{"n", 3}, {"h", 13}, {"w", 9}}, {{"n", 0}, {"h", 6}, {"w", 6}},
                 {{"n", 1}, {"h", 30}, {"w", 17}}};
    dw.inputs["r8"] = InputRange{-3, 3};
    cases.push_back(dw);

    // channels_last 1-D and 3-D.
    HarnessCase l13 = conv_case(
        "conv1d3d_channels_last_" + dt,
        "  input %x : " + dt + "[n, w, 3]\n  input %w0 : " + dt + "[4, 5, 3]\n" +
            "  input %w1 : " + dt + "[6, 3, 1]\n  input %b4 : " + dt + "[4]\n" +
            "  input %v : " + dt + "[n, 5, 6, 7, 4]\n  input %k0 : " + dt + "[4, 3, 2, 3, 2]\n" +
            "  input %k1 : " + dt + "[3, 1, 1, 1, 4]\n  input %q3 : " + dt + "[n, 5, 6, 7, 3]\n",
        "  %0 = conv(%x, %w0, %b4) {stride=[2], padding=[2], dilation=[1], groups=1, "
        "activation=gelu, channels_last=true}\n"
        "  %1 = conv(%x, %w1, _) {stride=[1], padding=[0], dilation=[3], groups=3, "
        "activation=relu, channels_last=true}\n"
        "  %2 = conv(%v, %k0, %b4) {stride=[1, 2, 2], padding=[1, 0, 1], dilation=[1, 1, 2], "
        "groups=2, activation=silu, channels_last=true}\n"
        "  %3 = conv(%v, %k1, _, %q3) {stride=[1, 1, 1], padding=[0, 0, 0], dilation=[1, 1, 1], "
        "groups=1, activation=gelu_tanh, channels_last=true}\n",
        "%0, %1, %2, %3");
    l13.shapes = {{{"n", 2}, {"w", 11}}, {{"n", 1}, {"w", 7}}, {{"n", 3}, {"w", 100}},
                  {{"n", 0}, {"w", 9}}};
    cases.push_back(l13);

    // conv_transpose 2-D: stride with output_padding, groups with dilation, depthwise, bias.
    HarnessCase t2 = conv_case(
        "conv_transpose2d_" + dt,
        "  input %x : " + dt + "[n, 4, h, w]\n  input %w0 : " + dt + "[4, 3, 3, 3]\n" +
            "  input %w1 : " + dt + "[4, 2, 2, 3]\n  input %w2 : " + dt + "[4, 1, 3, 3]\n" +
            "  input %w3 : " + dt + "[4, 5, 1, 1]\n  input %b3 : " + dt + "[3]\n" +
            "  input %b4 : " + dt + "[4]\n",
        "  %0 = conv_transpose(%x, %w0, %b3) {stride=[2, 2], padding=[1, 1], "
        "output_padding=[1, 1], dilation=[1, 1], groups=1}\n"
        "  %1 = conv_transpose(%x, %w0, _) {stride=[1, 1], padding=[0, 0], "
        "output_padding=[0, 0], dilation=[1, 1], groups=1}\n"
        "  %2 = conv_transpose(%x, %w1, %b4) {stride=[2, 3], padding=[0, 1], "
        "output_padding=[1, 0], dilation=[1, 2], groups=2}\n"
        "  %3 = conv_transpose(%x, %w2, %b4) {stride=[1, 1], padding=[1, 1], "
        "output_padding=[0, 0], dilation=[1, 1], groups=4}\n"
        "  %4 = conv_transpose(%x, %w2, _) {stride=[3, 2], padding=[2, 1], "
        "output_padding=[2, 1], dilation=[2, 2], groups=4}\n"
        "  %5 = conv_transpose(%x, %w3, _) {stride=[2, 2], padding=[0, 0], "
        "output_padding=[1, 0], dilation=[1, 1], groups=1}\n",
        "%0, %1, %2, %3, %4, %5");
    t2.shapes = {{{"n", 2}, {"h", 7}, {"w", 10}}, {{"n", 1}, {"h", 1}, {"w", 1}},
                 {{"n", 3}, {"h", 5}, {"w", 9}}, {{"n", 0}, {"h", 4}, {"w", 4}}};
    cases.push_back(t2);

    // conv_transpose 1-D and 3-D.
    HarnessCase t13 = conv_case(
        "conv_transpose1d3d_" + dt,
        "  input %x : " + dt + "[n, 3, w]\n  input %w0 : " + dt + "[3, 5, 4]\n" +
            "  input %w1 : " + dt + "[3, 2, 3]\n  input %b5 : " + dt + "[5]\n" +
            "  input %v : " + dt + "[n, 2, 3, 4, 3]\n  input %k0 : " + dt + "[2, 3, 2, 3, 2]\n" +
            "  input %k1 : " + dt + "[2, 1, 3, 1, 2]\n  input %b3 : " + dt + "[3]\n" +
            "  input %b2 : " + dt + "[2]\n",
        "  %0 = conv_transpose(%x, %w0, %b5) {stride=[3], padding=[2], output_padding=[2], "
        "dilation=[1], groups=1}\n"
        "  %1 = conv_transpose(%x, %w1, _) {stride=[1], padding=[0], output_padding=[1], "
        "dilation=[2], groups=1}\n"
        "  %2 = conv_transpose(%v, %k0, %b3) {stride=[2, 2, 2], padding=[0, 1, 0], "
        "output_padding=[1, 0, 1], dilation=[1, 1, 1], groups=1}\n"
        "  %3 = conv_transpose(%v, %k1, %b2) {stride=[1, 2, 1], padding=[1, 0, 1], "
        "output_padding=[0, 1, 0], dilation=[1, 1, 2], groups=2}\n",
        "%0, %1, %2, %3");
    t13.shapes = {{{"n", 2}, {"w", 11}}, {{"n", 1}, {"w", 1}}, {{"n", 3}, {"w", 40}},
                  {{"n", 0}, {"w", 5}}};
    cases.push_back(t13);
  }
  return cases;
}

}  // namespace

KILN_HARNESS_CASES(Conv, conv_cases);

}  // namespace kiln::harness
