// Harness cases of the CUDA softmax family (src/kernels/cuda/softmax.cu): softmax and log_softmax
// on the last axis over rows of 1, 31, 32, 33, 1000, 1024, 1025 and 4097 elements (the warp and
// block paths), on inner axes (the column path), with special values (NaN, +-inf) mixed in, and a
// constant with a NaN row, an all -inf row and a +inf row; f32, f16 and bf16.
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

// Accumulating family: f32 sums in a different order than the reference's double.
std::map<DType, Tolerance> softmax_tolerances() {
  return {{DType::kF32, {1e-5, 1e-5}}, {DType::kF16, {2e-3, 1e-4}}, {DType::kBF16, {1.6e-2, 1e-3}}};
}

std::string one_node(const std::string& dt, const std::string& dims, const std::string& symbols,
                     const std::string& op, int axis) {
  return "graph @g {\n" + symbols + "  input %x : " + dt + "[" + dims + "]\n  %0 = " + op +
         "(%x) {axis=" + std::to_string(axis) + "}\n  return %0\n}\n";
}

std::vector<HarnessCase> softmax_cases() {
  const std::string rn =
      "  symbol r in [0, 1000000] opt 4\n  symbol n in [0, 1000000] opt 32\n";
  const std::string abc = "  symbol a in [0, 100000] opt 2\n  symbol n in [0, 100000] opt 8\n"
                          "  symbol b in [0, 100000] opt 4\n";
  std::vector<HarnessCase> cases;
  for (const char* op : {"softmax", "log_softmax"}) {
    for (const char* dt : kFloatTypes) {
      const std::string base = std::string(op) + "_" + dt;
      HarnessCase rows = make_case(base + "_rows", one_node(dt, "r, n", rn, op, -1));
      for (int64_t n : {1, 31, 32, 33, 1000, 1024, 1025, 4097}) {
        rows.shapes.push_back({{"r", 3}, {"n", n}});
      }
      rows.shapes.push_back({{"r", 37}, {"n", 129}});
      rows.shapes.push_back({{"r", 0}, {"n", 5}});
      rows.tolerances = softmax_tolerances();
      cases.push_back(rows);

      HarnessCase special = rows;
      special.name = base + "_special";
      special.shapes = {{{"r", 8}, {"n", 40}}, {{"r", 4}, {"n", 2000}}};
      special.range.special = 0.02;
      cases.push_back(special);

      HarnessCase inner = make_case(base + "_inner", one_node(dt, "a, n, b", abc, op, 1));
      inner.shapes = {{{"a", 2}, {"n", 31}, {"b", 5}}, {{"a", 1}, {"n", 1000}, {"b", 2}},
                      {{"a", 4}, {"n", 1}, {"b", 9}},  {{"a", 3}, {"n", 33}, {"b", 7}},
                      {{"a", 0}, {"n", 3}, {"b", 2}}};
      inner.tolerances = softmax_tolerances();
      cases.push_back(inner);
    }
    // Rows: a NaN, only -inf, one +inf, one -inf among finite values.
    HarnessCase edge = make_case(std::string(op) + "_nan_inf_rows", "");
    edge.ir = std::string("graph @g {\n  %x = constant {dtype=f32, shape=[4, 3], data=[1, nan, 2, "
                          "-inf, -inf, -inf, 1, inf, 2, -inf, 0.5, 3]}\n  %0 = ") +
              op + "(%x) {axis=-1}\n  %1 = " + op + "(%x) {axis=0}\n  return %0, %1\n}\n";
    edge.tolerances = softmax_tolerances();
    cases.push_back(edge);
  }
  return cases;
}

}  // namespace

KILN_HARNESS_CASES(Softmax, softmax_cases);

}  // namespace kiln::harness
