// Harness cases of the CUDA resize kernel (src/kernels/cuda/resize.cu): nearest over 1, 2 and 3
// spatial dims, bilinear over 2, with align_corners on and off, up- and downsampling by integer
// and fractional factors, unchanged sizes, outputs of size 1, explicit scales (torch's
// scale_factor, which need not equal out / in), special values, and empty batches; f32, f16 and
// bf16. The kernel reproduces the reference's f32 arithmetic operation by operation, so the
// default tolerances hold.
#include <string>
#include <vector>

#include "harness.h"

namespace kiln::harness {
namespace {

const char* const kFloatTypes[] = {"f32", "f16", "bf16"};

std::string graph(const std::string& inputs, const std::string& body, const std::string& ret) {
  return "graph @g {\n  symbol n in [0, 1000] opt 2\n  symbol h in [1, 10000] opt 8\n"
         "  symbol w in [1, 10000] opt 8\n" +
         inputs + body + "  return " + ret + "\n}\n";
}

std::vector<HarnessCase> resize_cases() {
  std::vector<HarnessCase> cases;
  for (const char* dt_c : kFloatTypes) {
    const std::string dt = dt_c;
    HarnessCase r2;
    r2.name = "resize2d_" + dt;
    r2.ir = graph("  input %x : " + dt + "[n, 3, h, w]\n",
                  "  %0 = resize(%x) {mode=nearest, size=[2*h, 2*w]}\n"
                  "  %1 = resize(%x) {mode=nearest, size=[7, 5]}\n"
                  "  %2 = resize(%x) {mode=bilinear, align_corners=false, size=[2*h, 2*w]}\n"
                  "  %3 = resize(%x) {mode=bilinear, align_corners=true, size=[2*h, 2*w]}\n"
                  "  %4 = resize(%x) {mode=bilinear, align_corners=false, size=[5, 13]}\n"
                  "  %5 = resize(%x) {mode=bilinear, align_corners=true, size=[5, 13]}\n"
                  "  %6 = resize(%x) {mode=bilinear, align_corners=false, size=[h, w]}\n"
                  "  %7 = resize(%x) {mode=bilinear, align_corners=true, size=[1, 1]}\n"
                  "  %8 = resize(%x) {mode=bilinear, align_corners=false, size=[1, 3]}\n"
                  "  %9 = resize(%x) {mode=nearest, size=[h, 3*w]}\n",
                  "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9");
    r2.shapes = {{{"n", 2}, {"h", 4}, {"w", 5}}, {{"n", 1}, {"h", 1}, {"w", 1}},
                 {{"n", 1}, {"h", 17}, {"w", 33}}, {{"n", 3}, {"h", 7}, {"w", 3}},
                 {{"n", 0}, {"h", 3}, {"w", 4}}};
    cases.push_back(r2);

    HarnessCase special = r2;
    special.name = "resize2d_special_" + dt;
    special.shapes = {{{"n", 2}, {"h", 6}, {"w", 9}}};
    special.range.special = 0.05;
    cases.push_back(special);

    // Explicit scales (as torch's scale_factor): source coordinates use 1 / scale.
    HarnessCase sc;
    sc.name = "resize_scales_" + dt;
    sc.ir = graph("  input %x : " + dt + "[n, 2, 5, 7]\n",
                  "  %0 = resize(%x) {mode=nearest, size=[12, 10], scales=[2.5, 1.5]}\n"
                  "  %1 = resize(%x) {mode=bilinear, align_corners=false, size=[12, 10], "
                  "scales=[2.5, 1.5]}\n"
                  "  %2 = resize(%x) {mode=bilinear, align_corners=false, size=[5, 3], "
                  "scales=[1.3, 0.5]}\n"
                  "  %3 = resize(%x) {mode=nearest, size=[2, 3], scales=[0.4, 0.5]}\n",
                  "%0, %1, %2, %3");
    sc.shapes = {{{"n", 2}, {"h", 1}, {"w", 1}}, {{"n", 0}, {"h", 1}, {"w", 1}}};
    cases.push_back(sc);

    // Nearest over 1 and 3 spatial dims.
    HarnessCase r13;
    r13.name = "resize1d3d_" + dt;
    r13.ir = graph("  input %x : " + dt + "[n, 3, w]\n  input %v : " + dt + "[n, 2, 3, h, 5]\n",
                   "  %0 = resize(%x) {mode=nearest, size=[3*w]}\n"
                   "  %1 = resize(%x) {mode=nearest, size=[4]}\n"
                   "  %2 = resize(%v) {mode=nearest, size=[6, 2*h, 3]}\n"
                   "  %3 = resize(%v) {mode=nearest, size=[2, h, 11], scales=[0.7, 1, 2.2]}\n",
                   "%0, %1, %2, %3");
    r13.shapes = {{{"n", 2}, {"h", 3}, {"w", 7}}, {{"n", 1}, {"h", 1}, {"w", 1}},
                  {{"n", 0}, {"h", 2}, {"w", 2}}};
    cases.push_back(r13);
  }
  return cases;
}

}  // namespace

KILN_HARNESS_CASES(Resize, resize_cases);

}  // namespace kiln::harness
