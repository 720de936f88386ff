// Harness cases of the CUDA attention kernel (src/kernels/cuda/attention.cu) in f32, f16 and
// bf16: head dims 8, 64 and 80 (and a v head dim unlike q's), sequence lengths 1, 7, 33 and 129
// with L == S, L < S and L > S, the default and an explicit scale, is_causal (shape inference
// refuses it together with a mask, as torch does), bool masks (random: short rows are often fully
// masked, which gives zeros), additive float masks, masks broadcast over batch, heads and query
// rows, k and v broadcast over the batch, and an empty batch; the same in the bshd layout
// ([B, L, H, E] operands) for head dims 64 and 80. Inputs are in [-1, 1]; the kernel
// sums in f32 in another order than the reference's GEMMs.
#include <string>
#include <vector>

#include "harness.h"

namespace kiln::harness {
namespace {

const char* const kFloatTypes[] = {"f32", "f16", "bf16"};

std::map<DType, Tolerance> attention_tolerances() {
  return {{DType::kF32, {1e-4, 2e-5}}, {DType::kF16, {2e-3, 2e-4}}, {DType::kBF16, {1.6e-2, 2e-3}}};
}

HarnessCase attention_case(std::string name, const std::string& inputs, const std::string& body,
                           const std::string& ret) {
  HarnessCase c;
  c.name = std::move(name);
  c.ir = "graph @g {\n  symbol b in [0, 1000] opt 1\n  symbol l in [1, 10000] opt 7\n"
         "  symbol s in [1, 10000] opt 7\n" +
         inputs + body + "  return " + ret + "\n}\n";
  c.range.lo = -1;
  c.range.hi = 1;
  c.tolerances = attention_tolerances();
  return c;
}

std::vector<HarnessCase> attention_cases() {
  std::vector<HarnessCase> cases;
  for (const char* dt_c : kFloatTypes) {
    const std::string dt = dt_c;
    // Head dim 8: every mask and broadcast form, up to L = S = 129.
    HarnessCase e8 = attention_case(
        "attention_e8_" + dt,
        "  input %q : " + dt + "[b, 2, l, 8]\n  input %k : " + dt + "[b, 2, s, 8]\n" +
            "  input %v : " + dt + "[b, 2, s, 8]\n  input %kb : " + dt + "[2, s, 8]\n" +
            "  input %vb : " + dt + "[2, s, 8]\n  input %m : bool[l, s]\n" +
            "  input %fm : " + dt + "[b, 1, l, s]\n  input %rm : bool[1, s]\n",
        "  %0 = attention(%q, %k, %v) {is_causal=false}\n"
        "  %1 = attention(%q, %k, %v) {is_causal=true}\n"
        "  %2 = attention(%q, %k, %v) {is_causal=false, scale=0.3}\n"
        "  %3 = attention(%q, %k, %v, %m) {is_causal=false}\n"
        "  %4 = attention(%q, %k, %v, %fm) {is_causal=false}\n"
        "  %5 = attention(%q, %kb, %vb, %rm) {is_causal=false}\n"
        "  %6 = attention(%q, %k, %v, %m) {is_causal=false, scale=2.5}\n",
        "%0, %1, %2, %3, %4, %5, %6");
    e8.shapes = {{{"b", 2}, {"l", 1}, {"s", 1}},     {{"b", 1}, {"l", 7}, {"s", 7}},
                 {{"b", 2}, {"l", 33}, {"s", 33}},   {{"b", 1}, {"l", 129}, {"s", 129}},
                 {{"b", 1}, {"l", 7}, {"s", 33}},    {{"b", 1}, {"l", 33}, {"s", 7}},
                 {{"b", 0}, {"l", 7}, {"s", 7}}};
    cases.push_back(e8);

    // Head dim 64.
    HarnessCase e64 = attention_case(
        "attention_e64_" + dt,
        "  input %q : " + dt + "[b, 2, l, 64]\n  input %k : " + dt + "[b, 2, s, 64]\n" +
            "  input %v : " + dt + "[b, 2, s, 64]\n  input %m : bool[b, 2, l, s]\n",
        "  %0 = attention(%q, %k, %v) {is_causal=false}\n"
        "  %1 = attention(%q, %k, %v) {is_causal=true}\n"
        "  %2 = attention(%q, %k, %v, %m) {is_causal=false}\n",
        "%0, %1, %2");
    e64.shapes = {{{"b", 1}, {"l", 1}, {"s", 1}},
                  {{"b", 2}, {"l", 7}, {"s", 7}},
                  {{"b", 1}, {"l", 33}, {"s", 33}},
                  {{"b", 1}, {"l", 129}, {"s", 33}},
                  {{"b", 1}, {"l", 33}, {"s", 129}}};
    cases.push_back(e64);

    // Head dim 80, and a v head dim (24) unlike q's; rank-3 operands.
    HarnessCase e80 = attention_case(
        "attention_e80_" + dt,
        "  input %q : " + dt + "[b, l, 80]\n  input %k : " + dt + "[b, s, 80]\n" +
            "  input %v : " + dt + "[b, s, 80]\n  input %v2 : " + dt + "[b, s, 24]\n" +
            "  input %fm : " + dt + "[l, s]\n",
        "  %0 = attention(%q, %k, %v) {is_causal=false}\n"
        "  %1 = attention(%q, %k, %v, %fm) {is_causal=false}\n"
        "  %2 = attention(%q, %k, %v2) {is_causal=false, scale=0.05}\n"
        "  %3 = attention(%q, %k, %v2) {is_causal=true, scale=0.2}\n",
        "%0, %1, %2, %3");
    e80.shapes = {{{"b", 1}, {"l", 1}, {"s", 1}},
                  {{"b", 3}, {"l", 7}, {"s", 7}},
                  {{"b", 2}, {"l", 33}, {"s", 33}},
                  {{"b", 1}, {"l", 7}, {"s", 129}}};
    cases.push_back(e80);

    // bshd: q, k, v and the output [B, L, H, E] (the layout fold-attention-permutes makes), with
    // head dims 64 and 80, a v head dim unlike q's, k and v shared across batch and heads, and
    // masks in their [B, H, L, S] form.
    for (int e : {64, 80}) {
      const std::string es = std::to_string(e);
      const std::string t = dt + "[b, ";
      HarnessCase bshd = attention_case(
          "attention_bshd_e" + es + "_" + dt,
          "  input %q : " + t + "l, 2, " + es + "]\n  input %k : " + t + "s, 2, " + es + "]\n" +
              "  input %v : " + t + "s, 2, " + es + "]\n  input %v2 : " + t + "s, 2, 24]\n" +
              "  input %kb : " + dt + "[1, s, 1, " + es + "]\n  input %m : bool[b, 2, l, s]\n" +
              "  input %fm : " + t + "1, 1, s]\n",
          "  %0 = attention(%q, %k, %v) {is_causal=false, bshd=true}\n"
          "  %1 = attention(%q, %k, %v) {is_causal=true, bshd=true}\n"
          "  %2 = attention(%q, %k, %v, %m) {is_causal=false, bshd=true}\n"
          "  %3 = attention(%q, %k, %v, %fm) {is_causal=false, scale=0.3, bshd=true}\n"
          "  %4 = attention(%q, %k, %v2) {is_causal=true, scale=0.2, bshd=true}\n"
          "  %5 = attention(%q, %kb, %kb, %fm) {is_causal=false, bshd=true}\n",
          "%0, %1, %2, %3, %4, %5");
      // cudnn.attention takes the f16/bf16 forms too (its tolerances: probabilities rounded to
      // the I/O dtype before P @ v, as every flash kernel).
      bshd.tolerances[DType::kF16] = {2e-3, 1e-3};
      bshd.tolerances[DType::kBF16] = {1.6e-2, 8e-3};
      bshd.shapes = {{{"b", 1}, {"l", 1}, {"s", 1}},
                     {{"b", 2}, {"l", 7}, {"s", 7}},
                     {{"b", 1}, {"l", 33}, {"s", 129}},
                     {{"b", 2}, {"l", 129}, {"s", 33}},
                     {{"b", 0}, {"l", 7}, {"s", 7}}};
      cases.push_back(bshd);
    }
  }
  return cases;
}

}  // namespace

KILN_HARNESS_CASES(Attention, attention_cases);

}  // namespace kiln::harness
