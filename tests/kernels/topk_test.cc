// Harness cases of the CUDA topk kernel (src/kernels/cuda/topk.cu) in f32, f16, bf16, i64, i32, i8
// and u8: k = 1, a middle k and k = n, largest and smallest, the last axis and an inner axis,
// lines of 1, 7 and 129 elements, and an empty batch. Ties are everywhere: integers are drawn from
// [-4, 4], and a second float case replaces a third of the elements with special values (NaN,
// +-inf, +-0, 0.5, ...) so that equal values, NaNs (largest, in index order) and +0 against -0
// all meet. Values and indices must match the reference exactly.
#include <string>
#include <vector>

#include "harness.h"

namespace kiln::harness {
namespace {

const char* const kAllTypes[] = {"f32", "f16", "bf16", "i64", "i32", "i8", "u8"};

std::vector<HarnessCase> topk_cases() {
  std::vector<HarnessCase> cases;
  for (const char* dt_c : kAllTypes) {
    const std::string dt = dt_c;
    HarnessCase c;
    c.name = "topk_" + dt;
    c.ir = "graph @g {\n  symbol r in [0, 1000] opt 3\n  symbol c in [1, 1000] opt 4\n"
           "  input %x : " + dt + "[r, 7]\n  input %y : " + dt + "[r, 5, c]\n" +
           "  input %z : " + dt + "[r, 129]\n  input %o : " + dt + "[r, 1]\n" +
           "  %0, %1 = topk(%x) {k=1, axis=-1, largest=true}\n"
           "  %2, %3 = topk(%x) {k=3, axis=-1, largest=false}\n"
           "  %4, %5 = topk(%x) {k=7, axis=1, largest=true}\n"
           "  %6, %7 = topk(%x) {k=7, axis=-1, largest=false}\n"
           "  %8, %9 = topk(%y) {k=2, axis=1, largest=true}\n"
           "  %10, %11 = topk(%y) {k=5, axis=-2, largest=false}\n"
           "  %12, %13 = topk(%z) {k=10, axis=-1, largest=true}\n"
           "  %14, %15 = topk(%z) {k=129, axis=1, largest=false}\n"
           "  %16, %17 = topk(%o) {k=1, axis=-1, largest=false}\n"
           "  return %0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, "
           "%17\n}\n";
    c.shapes = {{{"r", 3}, {"c", 4}}, {{"r", 1}, {"c", 1}}, {{"r", 5}, {"c", 9}},
                {{"r", 0}, {"c", 3}}};
    cases.push_back(c);
    if (dt == "f32" || dt == "f16" || dt == "bf16") {
      HarnessCase special = c;
      special.name = "topk_special_" + dt;
      special.range.special = 0.35;
      cases.push_back(special);
    }
  }
  return cases;
}

}  // namespace

KILN_HARNESS_CASES(TopK, topk_cases);

}  // namespace kiln::harness
