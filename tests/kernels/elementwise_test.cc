// Harness cases of the CUDA elementwise family (src/kernels/cuda/elementwise*.cu): every unary op,
// binary op, where, full and arange, in every dtype the reference takes, over shapes that are odd,
// off the vector width (4) and the block (256 threads), of size 1, broadcast in each way the
// kernels distinguish (same shape, a row, an outer product, a scalar on either side, 4-d) and
// empty. The graphs are generated below; each case is one graph for one dtype.
//
// Tolerances: ops that are IEEE-exact on both sides (arithmetic, comparisons, rounding, clamps,
// sqrt, the piecewise-linear activations, casts) are compared exactly; transcendental ones use
// the harness's per-dtype defaults (harness.h).
#include <string>
#include <vector>

#include "harness.h"

namespace kiln::harness {
namespace {

using Shapes = std::vector<std::map<std::string, int64_t>>;

const std::map<DType, Tolerance> kExact = {
    {DType::kF32, {0, 0}}, {DType::kF16, {0, 0}}, {DType::kBF16, {0, 0}}};

constexpr DType kFloats[] = {DType::kF32, DType::kF16, DType::kBF16};
constexpr DType kInts[] = {DType::kI64, DType::kI32, DType::kI8, DType::kU8};
constexpr DType kAll[] = {DType::kF32, DType::kF16, DType::kBF16, DType::kI64,
                          DType::kI32, DType::kI8,  DType::kU8,   DType::kBool};

std::string dt(DType d) { return std::string(dtype_name(d)); }

// A graph named `name` with symbols (all in [0, 100000]), inputs "name : type" and node lines
// "op(%x) {attrs}", each becoming %0, %1, ... and all returned.
std::string graph(const std::string& name, const std::vector<std::string>& symbols,
                  const std::vector<std::string>& inputs, const std::vector<std::string>& nodes) {
  std::string text = "graph @" + name + " {\n";
  for (const std::string& s : symbols) text += "  symbol " + s + " in [0, 100000] opt 1\n";
  for (const std::string& in : inputs) text += "  input %" + in + "\n";
  std::string ret;
  for (size_t i = 0; i < nodes.size(); ++i) {
    text += str_cat("  %", i, " = ", nodes[i], "\n");
    ret += str_cat(i ? ", " : "", "%", i);
  }
  return text + "  return " + ret + "\n}\n";
}

// A case (fields set one by one: -Wextra warns on partial designated initialisers).
HarnessCase make_case(std::string name, std::string ir, Shapes shapes, InputRange range = {},
                      std::map<DType, Tolerance> tolerances = {}) {
  HarnessCase c;
  c.name = std::move(name);
  c.ir = std::move(ir);
  c.shapes = std::move(shapes);
  c.range = range;
  c.tolerances = std::move(tolerances);
  return c;
}

InputRange range(double lo, double hi, bool nonzero = false, double special = 0) {
  InputRange r;
  r.lo = lo;
  r.hi = hi;
  r.nonzero = nonzero;
  r.special = special;
  return r;
}

// Unary inputs: x is [n, m].
const Shapes kUnaryShapes = {{{"n", 1}, {"m", 1}},   {{"n", 3}, {"m", 7}},
                             {{"n", 0}, {"m", 5}},   {{"n", 2}, {"m", 4}},
                             {{"n", 65}, {"m", 1031}}};

std::vector<std::string> on_operands(const std::vector<std::string>& ops, const std::string& args) {
  std::vector<std::string> out;
  for (const std::string& op : ops) {
    const size_t brace = op.find(' ');
    out.push_back(brace == std::string::npos ? op + "(" + args + ")"
                                             : op.substr(0, brace) + "(" + args + ")" +
                                                   op.substr(brace));
  }
  return out;
}

void add_unary_cases(std::vector<HarnessCase>& cases) {
  // Transcendental float ops: default tolerances.
  const std::vector<std::string> math = {
      "exp",  "log",     "sin",  "cos",  "tanh", "erf", "sigmoid", "silu",
      "mish", "gelu",    "gelu {approximate=tanh}", "softplus",
      "softplus {beta=2, threshold=3}", "elu", "elu {alpha=0.5}"};
  // IEEE-exact float ops: compared exactly.
  const std::vector<std::string> exact = {
      "neg",   "abs",   "sign",  "sqrt",      "rsqrt",       "reciprocal",
      "floor", "ceil",  "round", "relu",      "hardswish",   "hardsigmoid",
      "leaky_relu", "leaky_relu {negative_slope=0.2}", "clamp {min=-1, max=2.5}",
      "clamp {min=-0.5, max=none}", "clamp {min=none, max=0.25}", "isnan"};
  for (DType d : kFloats) {
    const std::string x = "x : " + dt(d) + "[n, m]";
    cases.push_back(make_case("unary_math_" + dt(d),
                              graph("unary_math", {"n", "m"}, {x}, on_operands(math, "%x")),
                              kUnaryShapes, range(-4, 4, false, 0.05)));
    cases.push_back(make_case("unary_exact_" + dt(d),
                              graph("unary_exact", {"n", "m"}, {x}, on_operands(exact, "%x")),
                              kUnaryShapes, range(-5, 5, false, 0.1), kExact));
  }
  // Integer inputs: neg, abs, sign, relu, clamp (integer bounds inside the float bounds), isnan.
  const std::vector<std::string> ints = {"neg", "abs", "sign", "relu", "clamp {min=-3.5, max=20.5}",
                                         "clamp {min=none, max=-7}", "isnan"};
  for (DType d : kInts) {
    const double r = d == DType::kI64 ? 9e18 : 2e9;
    cases.push_back(make_case("unary_int_" + dt(d),
                              graph("unary_int", {"n", "m"}, {"x : " + dt(d) + "[n, m]"},
                                    on_operands(ints, "%x")),
                              kUnaryShapes, range(-r, r)));
  }
  cases.push_back(make_case("unary_bool",
                            graph("unary_bool", {"n", "m"}, {"x : bool[n, m]"},
                                  {"logical_not(%x)"}),
                            kUnaryShapes));
  // cast: every dtype to every dtype. Floats include NaN, infinities and values that wrap i8/u8.
  for (DType from : kAll) {
    std::vector<std::string> casts;
    for (DType to : kAll) casts.push_back("cast(%x) {to=" + dt(to) + "}");
    const bool is_float = dtype_is_float(from);
    cases.push_back(make_case("cast_from_" + dt(from),
                              graph("cast", {"n", "m"}, {"x : " + dt(from) + "[n, m]"}, casts),
                              kUnaryShapes,
                              is_float ? range(-300, 300, false, 0.1) : range(-1e12, 1e12),
                              kExact));
  }
}

// Binary operand patterns: the shapes of a and b, and the bindings of their symbols.
struct Pattern {
  std::string name;
  std::vector<std::string> symbols;
  std::string a, b;
  Shapes shapes;
};

const std::vector<Pattern>& patterns() {
  static const std::vector<Pattern> kPatterns = {
      {"same", {"n", "m"}, "[n, m]", "[n, m]",
       {{{"n", 1}, {"m", 1}}, {{"n", 3}, {"m", 7}}, {{"n", 0}, {"m", 5}}, {{"n", 2}, {"m", 4}},
        {{"n", 65}, {"m", 1031}}}},
      {"row", {"n", "m"}, "[n, m]", "[m]",
       {{{"n", 1}, {"m", 1}}, {{"n", 3}, {"m", 7}}, {{"n", 5}, {"m", 1}}, {{"n", 0}, {"m", 3}},
        {{"n", 257}, {"m", 33}}}},
      {"outer", {"n", "m"}, "[n, 1]", "[1, m]",
       {{{"n", 1}, {"m", 1}}, {{"n", 3}, {"m", 7}}, {{"n", 6}, {"m", 0}}, {{"n", 129}, {"m", 65}}}},
      {"scalar", {"n", "m"}, "[n, m]", "[]",
       {{{"n", 1}, {"m", 1}}, {{"n", 3}, {"m", 7}}, {{"n", 0}, {"m", 2}},
        {{"n", 65}, {"m", 1031}}}},
      {"scalar_lhs", {"n"}, "[]", "[n]", {{{"n", 1}}, {{"n", 13}}, {{"n", 0}}, {{"n", 4099}}}},
      {"rank4", {"k", "p", "n", "m"}, "[k, 1, n, m]", "[p, n, 1]",
       {{{"k", 2}, {"p", 3}, {"n", 5}, {"m", 7}},
        {{"k", 1}, {"p", 1}, {"n", 1}, {"m", 1}},
        {{"k", 3}, {"p", 2}, {"n", 1}, {"m", 9}},
        {{"k", 2}, {"p", 0}, {"n", 3}, {"m", 4}}}},
  };
  return kPatterns;
}

void add_binary_cases(std::vector<HarnessCase>& cases) {
  const std::vector<std::string> float_exact = {
      "add", "sub", "mul", "div", "div {rounding=trunc}", "div {rounding=floor}", "remainder",
      "maximum", "minimum"};
  const std::vector<std::string> int_ops = {
      "add", "sub", "mul", "div {rounding=trunc}", "div {rounding=floor}", "remainder",
      "maximum", "minimum"};
  const std::vector<std::string> compare = {"eq", "ne", "lt", "le", "gt", "ge"};
  for (const Pattern& p : patterns()) {
    // One case: `ops` applied to (a, b) of dtype d in this pattern.
    auto add = [&](const std::string& name, DType d, const std::vector<std::string>& ops,
                   InputRange r, std::map<DType, Tolerance> tolerances = {}) -> HarnessCase& {
      cases.push_back(make_case(name + "_" + dt(d) + "_" + p.name,
                                graph(name, p.symbols, {"a : " + dt(d) + p.a, "b : " + dt(d) + p.b},
                                      on_operands(ops, "%a, %b")),
                                p.shapes, r, std::move(tolerances)));
      return cases.back();
    };
    for (DType d : kFloats) {
      // Specials: NaN and infinities through every op, zeros for the divisions, ties.
      add("arith", d, float_exact, range(-6, 6, false, 0.1), kExact);
      add("pow", d, {"pow"}, range(0.25, 3)).inputs["b"] = range(-3, 3, false, 0.1);
    }
    for (DType d : kInts) {
      // Divisors never 0 (the reference refuses integer division by zero); i64 and i32 values
      // that overflow in add, sub and mul.
      const double r = d == DType::kI64 ? 9e18 : 2e9;
      add("arith", d, int_ops, range(-r, r)).inputs["b"] = range(-r / 1e6, r / 1e6, true);
    }
    for (DType d : kAll) {
      // Small integers and specials, so that equal elements occur.
      add("compare", d, compare, range(-2, 2, false, 0.3), kExact);
    }
    add("logical", DType::kBool, {"logical_and", "logical_or"}, range(0, 1));
  }
  // where: (bool cond, a, b), broadcast three ways.
  struct WherePattern {
    std::string name, cond, a, b;
  };
  const WherePattern where_patterns[] = {{"same", "[n, m]", "[n, m]", "[n, m]"},
                                         {"bcast", "[n, 1]", "[n, m]", "[m]"},
                                         {"scalar", "[n, m]", "[]", "[1, m]"}};
  for (const WherePattern& w : where_patterns) {
    for (DType d : kAll) {
      cases.push_back(make_case("where_" + dt(d) + "_" + w.name,
                                graph("where", {"n", "m"},
                                      {"c : bool" + w.cond, "a : " + dt(d) + w.a,
                                       "b : " + dt(d) + w.b},
                                      {"where(%c, %a, %b)"}),
                                kUnaryShapes, range(-100, 100, false, 0.1), kExact));
    }
  }
}

void add_source_cases(std::vector<HarnessCase>& cases) {
  // Sources read nothing; %x only binds n. Values cover rounding, truncation, wrapping,
  // overflow to infinity and NaN.
  std::vector<std::string> nodes;
  for (DType d : kAll) {
    for (const char* value : {"1.5", "-2.7", "70000.25", "0", "nan", "-inf"}) {
      nodes.push_back("full() {shape=[n, 3], value=" + std::string(value) + ", dtype=" + dt(d) +
                      "}");
    }
  }
  nodes.push_back("full() {shape=[], value=3, dtype=f32}");
  const char* aranges[] = {
      "start=0, step=1, length=n, dtype=i64",       "start=0.5, step=0.25, length=n, dtype=f32",
      "start=-3.7, step=1.3, length=n, dtype=f16",  "start=0.1, step=0.1, length=n, dtype=bf16",
      "start=10, step=-3, length=n, dtype=i8",      "start=250.9, step=1.5, length=n, dtype=u8",
      "start=-5, step=7, length=2*n + 1, dtype=i32", "start=1e9, step=-0.001, length=n, dtype=f32"};
  for (const char* a : aranges) nodes.push_back("arange() {" + std::string(a) + "}");
  HarnessCase c = make_case("sources", graph("sources", {"n"}, {"x : f32[n]"}, nodes),
                            {{{"n", 0}}, {{"n", 1}}, {{"n", 7}}, {{"n", 1000}}, {{"n", 70001}}},
                            {}, kExact);
  c.seeds = {1};
  cases.push_back(c);
}

std::vector<HarnessCase> elementwise_cases() {
  std::vector<HarnessCase> cases;
  add_unary_cases(cases);
  add_binary_cases(cases);
  add_source_cases(cases);
  return cases;
}

}  // namespace

KILN_HARNESS_CASES(Elementwise, elementwise_cases);

// The elementwise family has a CUDA kernel "cuda.<op>" for each of its ops (in a CUDA build).
TEST(ElementwiseFamily, EveryOpHasACudaKernel) {
#if KILN_HAVE_CUDA
  const char* ops[] = {
      "neg", "abs", "sign", "exp", "log", "sqrt", "rsqrt", "reciprocal", "sin", "cos", "tanh",
      "erf", "floor", "ceil", "round", "sigmoid", "relu", "gelu", "silu", "softplus", "mish",
      "hardswish", "hardsigmoid", "leaky_relu", "elu", "clamp", "isnan", "logical_not", "cast",
      "add", "sub", "mul", "div", "remainder", "pow", "maximum", "minimum", "eq", "ne", "lt", "le",
      "gt", "ge", "logical_and", "logical_or", "where", "full", "arange"};
  for (const char* op : ops) {
    const Kernel* k = find_kernel(str_cat("cuda.", op));
    ASSERT_NE(k, nullptr) << op;
    EXPECT_EQ(k->device, DeviceKind::kCuda);
    EXPECT_EQ(op_name(k->op), op);
  }
#else
  GTEST_SKIP() << "this build has no CUDA backend";
#endif
}

// accepts refuses what the kernels do not run, and says why.
TEST(ElementwiseFamily, AcceptsRefusesWithReasons) {
#if KILN_HAVE_CUDA
  const Kernel* add = find_kernel("cuda.add");
  ASSERT_NE(add, nullptr);
  Node node{OpKind::kAdd, {0, 1}, {2}, NoAttrs{}, ""};
  std::string why;
  std::vector<TensorType> ok = {{DType::kF16, {2, 3}}, {DType::kF16, {3}}};
  EXPECT_TRUE(add->accepts(node, ok, &why)) << why;
  std::vector<TensorType> f64 = {{DType::kF64, {2}}, {DType::kF64, {2}}};
  EXPECT_FALSE(add->accepts(node, f64, &why));
  EXPECT_NE(why.find("f64"), std::string::npos) << why;
  std::vector<TensorType> mixed = {{DType::kF32, {2}}, {DType::kF16, {2}}};
  why.clear();
  EXPECT_FALSE(add->accepts(node, mixed, &why));
  EXPECT_FALSE(why.empty());
  Shape rank9(9, DimExpr(2));
  std::vector<TensorType> deep = {{DType::kF32, rank9}, {DType::kF32, {2}}};
  EXPECT_FALSE(add->accepts(node, deep, &why));
  EXPECT_NE(why.find("rank 9"), std::string::npos) << why;

  const Kernel* exp = find_kernel("cuda.exp");
  ASSERT_NE(exp, nullptr);
  Node unary{OpKind::kExp, {0}, {1}, NoAttrs{}, ""};
  std::vector<TensorType> i32 = {{DType::kI32, {4}}};
  EXPECT_FALSE(exp->accepts(unary, i32, &why));
  std::vector<TensorType> deep1 = {{DType::kBF16, rank9}};
  EXPECT_TRUE(exp->accepts(unary, deep1, &why)) << why;  // unary ops are flat at any rank

  const Kernel* cast = find_kernel("cuda.cast");
  ASSERT_NE(cast, nullptr);
  Node to_f64{OpKind::kCast, {0}, {1}, CastAttrs{DType::kF64}, ""};
  std::vector<TensorType> one = {{DType::kF32, {2}}};
  EXPECT_FALSE(cast->accepts(to_f64, one, &why));
  EXPECT_NE(why.find("f64"), std::string::npos) << why;
#else
  GTEST_SKIP() << "this build has no CUDA backend";
#endif
}

}  // namespace kiln::harness
