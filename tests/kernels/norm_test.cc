// Harness cases of the CUDA normalisation family (src/kernels/cuda/norm.cu): layer_norm and
// rms_norm over the last dim, with weight and bias, either, or neither, for row lengths on both
// sides of every boundary of the register kernel (1 and 2 to 8 warps a row: 1024, 2048, 4096 and
// 8192 elements, then the block kernel), lengths that are not a multiple of the 16-byte pack (7,
// 31, 33, 769, 1000, 4097: one element at a time), BERT's 768, few rows (fewer than a block's row
// groups) and many; over several trailing dims; group_norm with 1, some and C groups and large groups; inference
// batch_norm on [N, C] (small planes) and [N, C, H, W] (planes of 1024 and more), with and without
// weight; f32, f16 and bf16.
#include <string>
#include <vector>

#include "harness.h"

namespace kiln::harness {
namespace {

// A case with a name and IR text (fields set one by one: -Wextra warns on partial designated
// initialisers).
HarnessCase make_case(std::string name, std::string ir) {
  HarnessCase c;
  c.name = std::move(name);
  c.ir = std::move(ir);
  return c;
}

InputRange make_range(double lo, double hi, double special = 0) {
  InputRange r;
  r.lo = lo;
  r.hi = hi;
  r.special = special;
  return r;
}

const char* const kFloatTypes[] = {"f32", "f16", "bf16"};

// Statistics accumulate in f32 in another order than the reference's double.
std::map<DType, Tolerance> norm_tolerances() {
  return {{DType::kF32, {2e-5, 2e-5}},
          {DType::kF16, {2e-3, 2e-3}},
          {DType::kBF16, {1.6e-2, 1.6e-2}}};
}

std::vector<HarnessCase> norm_cases() {
  std::vector<HarnessCase> cases;
  for (const std::string dt : kFloatTypes) {
    // layer_norm / rms_norm over the last dim, with weight and bias, one of them, or neither.
    HarnessCase rows = make_case("trailing_norms_rows_" + dt, "");
    rows.ir = "graph @g {\n  symbol r in [0, 100000] opt 4\n  symbol n in [1, 100000] opt 32\n"
              "  input %x : " + dt + "[r, n]\n  input %w : " + dt + "[n]\n  input %b : " + dt +
              "[n]\n"
              "  %0 = layer_norm(%x, %w, %b) {axis=-1, eps=1e-05}\n"
              "  %1 = layer_norm(%x, _, _) {axis=1, eps=0.001}\n"
              "  %2 = layer_norm(%x, %w, _) {axis=-1, eps=1e-05}\n"
              "  %3 = rms_norm(%x, %w) {axis=-1, eps=1e-06}\n"
              "  %4 = rms_norm(%x, _) {axis=-1, eps=1e-06}\n"
              "  %5 = layer_norm(%x, _, %b) {axis=-1, eps=1e-05}\n"
              "  return %0, %1, %2, %3, %4, %5\n}\n";
    for (int64_t n : {1, 7, 8, 31, 32, 33, 768, 769, 1000, 1024, 1025, 2048, 2056, 4096, 4097,
                      8192, 8193}) {
      rows.shapes.push_back({{"r", 5}, {"n", n}});
    }
    rows.shapes.push_back({{"r", 300}, {"n", 64}});
    rows.shapes.push_back({{"r", 1000}, {"n", 768}});  // BERT-like: many rows, 1 warp a row
    rows.shapes.push_back({{"r", 257}, {"n", 1024}});
    rows.shapes.push_back({{"r", 1}, {"n", 768}});     // fewer rows than a block's row groups
    rows.shapes.push_back({{"r", 3}, {"n", 2048}});    // 2 warps a row, 2 rows a block
    rows.shapes.push_back({{"r", 33}, {"n", 769}});    // one element at a time
    rows.shapes.push_back({{"r", 9}, {"n", 4096}});
    rows.shapes.push_back({{"r", 0}, {"n", 8}});
    rows.inputs["x"] = make_range(1, 5);  // an offset mean
    rows.tolerances = norm_tolerances();
    cases.push_back(rows);

    // Several trailing dims, and the whole tensor as one row.
    HarnessCase dims = make_case("trailing_norms_dims_" + dt, "");
    dims.ir = "graph @g {\n  symbol a in [1, 1000] opt 3\n  input %x : " + dt +
              "[a, 4, 7, 9]\n  input %w : " + dt + "[7, 9]\n  input %b : " + dt + "[7, 9]\n"
              "  %0 = layer_norm(%x, %w, %b) {axis=-2, eps=1e-05}\n"
              "  %1 = layer_norm(%x, _, _) {axis=0, eps=1e-05}\n"
              "  %2 = rms_norm(%x, %w) {axis=2, eps=1e-06}\n"
              "  return %0, %1, %2\n}\n";
    dims.shapes = {{{"a", 3}}, {{"a", 1}}};
    dims.tolerances = norm_tolerances();
    cases.push_back(dims);

    HarnessCase group = make_case("group_norm_" + dt, "");
    group.ir = "graph @g {\n  symbol n in [0, 1000] opt 2\n  symbol h in [1, 10000] opt 5\n"
               "  input %x : " + dt + "[n, 6, h, 7]\n  input %w : " + dt + "[6]\n  input %b : " +
               dt + "[6]\n"
               "  %0 = group_norm(%x, %w, %b) {groups=1, eps=1e-05}\n"
               "  %1 = group_norm(%x, %w, %b) {groups=2, eps=1e-05}\n"
               "  %2 = group_norm(%x, _, _) {groups=3, eps=1e-05}\n"
               "  %3 = group_norm(%x, %w, _) {groups=6, eps=0.001}\n"
               "  return %0, %1, %2, %3\n}\n";
    group.shapes = {{{"n", 2}, {"h", 5}}, {{"n", 1}, {"h", 1}}, {{"n", 1}, {"h", 600}},
                    {{"n", 0}, {"h", 3}}};
    group.inputs["x"] = make_range(1, 5);
    group.tolerances = norm_tolerances();
    cases.push_back(group);

    HarnessCase group2d = make_case("group_norm_nc_" + dt, "");
    group2d.ir = "graph @g {\n  symbol n in [1, 1000] opt 3\n  input %x : " + dt +
                 "[n, 4]\n  %0 = group_norm(%x, _, _) {groups=2, eps=1e-05}\n  return %0\n}\n";
    group2d.shapes = {{{"n", 3}}};
    group2d.tolerances = norm_tolerances();
    cases.push_back(group2d);

    // batch_norm: [N, C] and [N, C, H, W]; planes of 1 to 4097 elements.
    HarnessCase bn = make_case("batch_norm_" + dt, "");
    bn.ir = "graph @g {\n  symbol n in [0, 1000] opt 2\n  symbol p in [1, 100000] opt 49\n"
            "  input %x : " + dt + "[n, 5, p]\n  input %x2 : " + dt + "[n, 5]\n"
            "  input %mean : " + dt + "[5]\n  input %var : " + dt + "[5]\n"
            "  input %w : " + dt + "[5]\n  input %b : " + dt + "[5]\n"
            "  %0 = batch_norm(%x, %mean, %var, %w, %b) {eps=1e-05}\n"
            "  %1 = batch_norm(%x, %mean, %var) {eps=0.001}\n"
            "  %2 = batch_norm(%x, %mean, %var, _, %b) {eps=1e-05}\n"
            "  %3 = batch_norm(%x2, %mean, %var, %w, %b) {eps=1e-05}\n"
            "  return %0, %1, %2, %3\n}\n";
    bn.shapes = {{{"n", 4}, {"p", 1}}, {{"n", 2}, {"p", 49}}, {{"n", 2}, {"p", 1024}},
                 {{"n", 3}, {"p", 4097}}, {{"n", 0}, {"p", 7}}};
    bn.inputs["var"] = make_range(0.1, 3);
    bn.tolerances = norm_tolerances();
    cases.push_back(bn);
  }
  return cases;
}

}  // namespace

KILN_HARNESS_CASES(Norm, norm_cases);

}  // namespace kiln::harness
