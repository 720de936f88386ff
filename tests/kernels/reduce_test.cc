// Harness cases of the CUDA reduction family (src/kernels/cuda/reduce.cu): reduce_sum / mean /
// max / min / prod, var, argmax, argmin and cumsum over each axis, several axes and all axes, with
// and without keepdim; rows of 1, 31, 32, 33, 511 to 513, 1000 and 4097 elements and columns of the
// same lengths (the warp, block and column kernels); float and integer dtypes; integer ties
// (argmax / argmin take the first index), special values (NaN, +-inf), var's correction, and
// empty reductions (sum 0, prod 1, mean and var NaN).
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
const char* const kAllTypes[] = {"f32", "f16", "bf16", "i64", "i32", "i8", "u8"};

bool is_float(const std::string& dt) { return dt == "f32" || dt == "f16" || dt == "bf16"; }

// Sums of thousands of elements in f32 in a different order than the reference's double.
std::map<DType, Tolerance> reduce_tolerances() {
  return {{DType::kF32, {2e-5, 1e-4}},
          {DType::kF16, {2e-3, 2e-3}},
          {DType::kBF16, {1.6e-2, 1.6e-2}}};
}

InputRange range_for(const std::string& dt) {
  if (is_float(dt)) return make_range(-2, 2);
  return make_range(dt == "u8" ? 0.0 : -9.0, 9);  // many equal values: ties
}

// A graph: the declared symbols and input %x, then `body` (nodes %0, %1, ...), returning them all.
std::string graph(const std::string& symbols, const std::string& x_type,
                  const std::vector<std::string>& nodes) {
  std::string s = "graph @g {\n" + symbols + "  input %x : " + x_type + "\n";
  std::string ret;
  for (size_t i = 0; i < nodes.size(); ++i) {
    s += "  %" + std::to_string(i) + " = " + nodes[i] + "\n";
    ret += (i ? ", %" : "%") + std::to_string(i);
  }
  return s + "  return " + ret + "\n}\n";
}

const char* const kSymbolsRN =
    "  symbol r in [0, 100000] opt 3\n  symbol n in [0, 100000] opt 33\n";
const char* const kSymbols3 =
    "  symbol a in [0, 100000] opt 5\n  symbol b in [0, 100000] opt 7\n"
    "  symbol c in [0, 100000] opt 33\n";

std::vector<HarnessCase> reduce_cases() {
  const std::vector<std::string> axis_sets = {"[0]",    "[1]",    "[2]",    "[-1]",
                                              "[0, 1]", "[0, 2]", "[1, 2]", "[2, 0]",
                                              "[0, 1, 2]", "[]"};
  std::vector<HarnessCase> cases;
  for (const std::string dt : kAllTypes) {
    const bool fl = is_float(dt);
    // 1. Every axis set, with and without keepdim.
    std::vector<std::string> nodes;
    for (const std::string& axes : axis_sets) {
      for (const char* keep : {"false", "true"}) {
        const std::string attrs = "{axes=" + axes + ", keepdim=" + keep + "}";
        for (const char* op : {"reduce_sum", "reduce_max", "reduce_min"}) {
          nodes.push_back(std::string(op) + "(%x) " + attrs);
        }
        if (fl) {
          nodes.push_back("reduce_mean(%x) " + attrs);
          nodes.push_back("var(%x) {axes=" + axes + ", keepdim=" + keep + ", correction=1}");
        }
      }
    }
    for (int axis = 0; axis < 3; ++axis) {
      nodes.push_back("argmax(%x) {axis=" + std::to_string(axis) + ", keepdim=false}");
      nodes.push_back("argmin(%x) {axis=" + std::to_string(axis) + ", keepdim=true}");
      nodes.push_back("cumsum(%x) {axis=" + std::to_string(axis) + "}");
    }
    HarnessCase axes = make_case("reduce_axes_" + dt, graph(kSymbols3, dt + "[a, b, c]", nodes));
    axes.shapes = {{{"a", 5}, {"b", 7}, {"c", 33}}, {{"a", 1}, {"b", 3}, {"c", 1}},
                   {{"a", 2}, {"b", 1}, {"c", 4097}}};
    axes.range = range_for(dt);
    axes.tolerances = reduce_tolerances();
    cases.push_back(axes);

    // 2. Rows (last axis) and columns (first axis) of many lengths.
    std::vector<std::string> line_nodes;
    for (const char* axis : {"0", "1"}) {
      for (const char* op : {"reduce_sum", "reduce_max", "reduce_min"}) {
        line_nodes.push_back(std::string(op) + "(%x) {axes=[" + axis + "], keepdim=false}");
      }
      line_nodes.push_back(std::string("argmax(%x) {axis=") + axis + ", keepdim=false}");
      line_nodes.push_back(std::string("argmin(%x) {axis=") + axis + ", keepdim=false}");
      line_nodes.push_back(std::string("cumsum(%x) {axis=") + axis + "}");
      if (fl) {
        line_nodes.push_back(std::string("reduce_mean(%x) {axes=[") + axis + "], keepdim=true}");
        line_nodes.push_back(std::string("var(%x) {axes=[") + axis +
                             "], keepdim=false, correction=0}");
      }
    }
    HarnessCase lines = make_case("reduce_lines_" + dt, graph(kSymbolsRN,
                                  dt + "[r, n]", line_nodes));
    for (int64_t n : {1, 31, 32, 33, 255, 256, 257, 511, 512, 513, 1000, 4097}) {
      lines.shapes.push_back({{"r", 3}, {"n", n}});
      lines.shapes.push_back({{"r", n}, {"n", 3}});
    }
    lines.shapes.push_back({{"r", 1000}, {"n", 5}});
    lines.range = range_for(dt);
    lines.tolerances = reduce_tolerances();
    cases.push_back(lines);

    // 3. Products: values near 1 (floats) or small integers (wrapping identically).
    HarnessCase prod = make_case("reduce_prod_" + dt, graph(kSymbols3, dt + "[a, b, c]",
                                 {"reduce_prod(%x) {axes=[1], keepdim=false}",
                                  "reduce_prod(%x) {axes=[2], keepdim=true}",
                                  "reduce_prod(%x) {axes=[0, 2], keepdim=false}",
                                  "reduce_prod(%x) {axes=[], keepdim=false}"}));
    prod.shapes = {{{"a", 4}, {"b", 33}, {"c", 6}}, {{"a", 2}, {"b", 3}, {"c", 700}}};
    prod.range = fl ? make_range(0.9, 1.1)
                    : make_range(dt == "u8" ? 0.0 : -3.0, 3);
    prod.tolerances = reduce_tolerances();
    cases.push_back(prod);

    // 4. Empty reductions (reduced axis of size 0) and empty outputs.
    std::vector<std::string> empty_nodes = {"reduce_sum(%x) {axes=[1], keepdim=false}",
                                            "reduce_prod(%x) {axes=[1], keepdim=true}",
                                            "reduce_sum(%x) {axes=[0], keepdim=false}",
                                            "cumsum(%x) {axis=1}"};
    if (fl) {
      empty_nodes.push_back("reduce_mean(%x) {axes=[1], keepdim=false}");
      empty_nodes.push_back("var(%x) {axes=[1], keepdim=false, correction=1}");
    }
    HarnessCase empty = make_case("reduce_empty_" + dt, graph(kSymbolsRN,
                                  dt + "[r, n]", empty_nodes));
    empty.shapes = {{{"r", 3}, {"n", 0}}, {{"r", 0}, {"n", 4}}};
    empty.range = range_for(dt);
    cases.push_back(empty);
  }

  for (const std::string dt : kFloatTypes) {
    // 5. NaN and infinities mixed in: max / min / arg propagate NaN, sums give NaN or inf.
    HarnessCase special = make_case("reduce_special_" + dt, graph(kSymbolsRN,
                    dt + "[r, n]",
                    {"reduce_max(%x) {axes=[1], keepdim=false}",
                     "reduce_min(%x) {axes=[0], keepdim=false}",
                     "argmax(%x) {axis=1, keepdim=false}", "argmin(%x) {axis=0, keepdim=false}",
                     "reduce_sum(%x) {axes=[1], keepdim=false}",
                     "reduce_mean(%x) {axes=[0], keepdim=false}"}));
    special.shapes = {{{"r", 40}, {"n", 33}}, {{"r", 6}, {"n", 1000}}, {{"r", 1000}, {"n", 6}}};
    special.range = make_range(-2, 2, 0.01);
    special.tolerances = reduce_tolerances();
    cases.push_back(special);

    // 6. var's correction, including correction > N (a division by zero) and N = 1.
    std::vector<std::string> var_nodes;
    for (const char* corr : {"0", "1", "2.5", "40"}) {
      var_nodes.push_back(std::string("var(%x) {axes=[1], keepdim=false, correction=") + corr +
                          "}");
      var_nodes.push_back(std::string("var(%x) {axes=[0], keepdim=true, correction=") + corr + "}");
    }
    HarnessCase var = make_case("var_corrections_" + dt, graph(kSymbolsRN,
                                dt + "[r, n]", var_nodes));
    var.shapes = {{{"r", 6}, {"n", 35}}, {{"r", 4}, {"n", 1}}};
    var.range = make_range(8, 12);  // an offset mean
    var.tolerances = reduce_tolerances();
    cases.push_back(var);
  }

  // 7. Fixed rows: all equal (first index), all -inf, NaNs (the first NaN), +inf twice.
  HarnessCase edge = make_case("reduce_edge_rows", "");
  edge.ir =
      "graph @g {\n"
      "  %x = constant {dtype=f32, shape=[4, 4], data=[1.5, 1.5, 1.5, 1.5, -inf, -inf, -inf, "
      "-inf, 1, nan, 2, nan, 1, inf, 0, inf]}\n"
      "  %0 = argmax(%x) {axis=1, keepdim=false}\n  %1 = argmin(%x) {axis=1, keepdim=false}\n"
      "  %2 = reduce_max(%x) {axes=[1], keepdim=false}\n"
      "  %3 = reduce_min(%x) {axes=[1], keepdim=false}\n"
      "  %4 = argmax(%x) {axis=0, keepdim=false}\n  %5 = argmin(%x) {axis=0, keepdim=false}\n"
      "  %6 = reduce_sum(%x) {axes=[1], keepdim=false}\n  %7 = cumsum(%x) {axis=1}\n"
      "  return %0, %1, %2, %3, %4, %5, %6, %7\n}\n";
  cases.push_back(edge);
  return cases;
}

}  // namespace

KILN_HARNESS_CASES(Reduce, reduce_cases);

}  // namespace kiln::harness
