// Parser errors: each names file:line:col, what was expected and what was found. And a
// deterministic mini-fuzz: truncations and byte mutations of a valid text must give a graph or an
// error, never a crash or a hang.
#include <gtest/gtest.h>

#include <string>

#include "kiln/text/parser.h"
#include "kiln/text/printer.h"

namespace kiln {
namespace {

std::string parse_error(std::string_view text) {
  Expected<Graph> g = parse_graph(text, "t.ir");
  EXPECT_FALSE(g.ok()) << "parsed:\n" << text;
  if (g.ok()) return "";
  EXPECT_EQ(g.status().code(), StatusCode::kInvalidArgument) << g.status().to_string();
  return g.status().message();
}

// `body` goes between "graph @g {\n  input %x : f32[2, 3]\n" and "\n}".
std::string graph_with(std::string_view body) {
  return str_cat("graph @g {\n  input %x : f32[2, 3]\n", body, "\n}\n");
}

struct ErrorCase {
  const char* text;
  const char* message;  // the whole expected message
};

TEST(ParserErrorsTest, SyntaxErrorsSayWhereAndWhat) {
  const ErrorCase cases[] = {
      {"", "t.ir:1:1: expected 'graph', found end of input"},
      {"graf @g {}", "t.ir:1:1: expected 'graph', found 'graf'"},
      {"graph g {}", "t.ir:1:7: expected a graph name such as @main, found 'g'"},
      {"graph @ {}", "t.ir:1:7: expected a name after '@'"},
      {"graph @g {\n  return\n", "t.ir:3:1: expected '}' after return, found end of input"},
      {"graph @g {\n  return\n}\nextra",
       "t.ir:4:1: expected end of input after the graph, found 'extra'"},
      {"graph @g {\n  input %x : f32[2, 3]\n}",
       "t.ir:3:1: expected 'symbol', 'input', a node or 'return', found '}'"},
      {"graph @g {\n  return\n  return\n}", "t.ir:3:3: expected '}' after return, found 'return'"},
      {"graph @g {\n  input x : f32[2]\n", "t.ir:2:9: expected a value name such as %x, found 'x'"},
      {"graph @g {\n  input %x : f33[2]\n",
       "t.ir:2:14: unknown dtype 'f33' (expected one of f32, f16, bf16, i64, i32, i8, u8, bool, "
       "f64)"},
      {"graph @g {\n  input %x : f32[2, 3\n  return %x\n}",
       "t.ir:3:3: expected ',' or ']', found 'return'"},
      {"graph @g {\n  input %x : f32[2 $ 3]\n", "t.ir:2:20: unexpected character '$'"},
      {"graph @g {\n  input %x : f32[2 / 3]\n",
       "t.ir:2:20: unexpected '/' (floor division is written '//')"},
      {"graph @g {\n  input %x : f32[2]\n  %0 = relu(%x) loc(\"abc\n",
       "t.ir:3:21: unterminated string"},
      {"graph @g {\n  input %x : f32[2]\n  %0 = relu(%x) loc(\"a\\qb\")\n",
       "t.ir:3:21: unknown escape after '\\': 'q'"},
      {"graph @g {\n  symbol n in [1, 8]\n", "t.ir:3:1: expected 'opt', found end of input"},
      {"graph @g {\n  symbol n in [1, 99999999999999999999] opt 2\n",
       "t.ir:2:19: integer 99999999999999999999 does not fit in int64"},
      {"graph @g {\n  symbol n in [4, 8] opt 2\n",
       "t.ir:2:3: shape symbol 'n' needs 0 <= min <= opt <= max, got min=4 opt=2 max=8"},
      {"graph @g {\n  symbol n in [1, 8] opt 2\n  symbol n in [1, 8] opt 2\n",
       "t.ir:3:3: shape symbol 'n' is declared twice"},
  };
  for (const ErrorCase& c : cases) EXPECT_EQ(parse_error(c.text), c.message) << c.text;
}

TEST(ParserErrorsTest, ValueErrors) {
  const ErrorCase cases[] = {
      {"  %0 = relu(%y)\n  return %0", "t.ir:3:13: use of undefined value %y"},
      {"  %0 = relu(%0)\n  return %0", "t.ir:3:13: use of undefined value %0"},
      {"  %0 = relu(%x)\n  %0 = relu(%x)\n  return %0",
       "t.ir:4:3: redefinition of %0 (first defined at 3:3)"},
      {"  %x = relu(%x)\n  return %x", "t.ir:3:3: redefinition of %x (first defined at 2:9)"},
      {"  %a, %a = split(%x) {axis=0, sizes=[1, 1]}\n  return %a",
       "t.ir:3:7: result %a repeated"},
      {"  return %nope", "t.ir:3:10: use of undefined value %nope"},
  };
  for (const ErrorCase& c : cases) EXPECT_EQ(parse_error(graph_with(c.text)), c.message) << c.text;
}

TEST(ParserErrorsTest, NodeErrors) {
  const ErrorCase cases[] = {
      {"  %0 = frobnicate(%x)\n  return %0", "t.ir:3:8: unknown op 'frobnicate'"},
      {"  %0 = add(%x)\n  return %0", "t.ir:3:8: add takes 2 operands, got 1"},
      {"  %0 = linear(%x, %x, %x, %x)\n  return %0",
       "t.ir:3:8: linear takes 2 to 3 operands, got 4"},
      {"  %0 = concat()\n  return %0", "t.ir:3:8: concat takes at least 1 operands, got 0"},
      {"  %0 = add(%x, _)\n  return %0",
       "t.ir:3:16: add: operand 1 is required and cannot be absent ('_')"},
      {"  %0 = relu(%x) {alpha=1}\n  return %0", "t.ir:3:18: relu takes no attributes"},
      {"  %0 = softmax(%x) {axes=1}\n  return %0",
       "t.ir:3:21: softmax has no attribute 'axes' (its attributes: axis)"},
      {"  %0 = reduce_sum(%x) {keepdim=true, keepdim=false}\n  return %0",
       "t.ir:3:38: attribute 'keepdim' is given twice"},
      {"  %0 = reduce_sum(%x) {keepdim=1}\n  return %0",
       "t.ir:3:32: expected true or false, found '1'"},
      {"  %0 = softmax(%x) {axis=1.5}\n  return %0", "t.ir:3:26: expected an integer, found '1.5'"},
      {"  %0 = gelu(%x) {approximate=fast}\n  return %0",
       "t.ir:3:30: unknown value 'fast' (expected one of none, tanh)"},
      {"  %0 = linear(%x, %x) {activation=gelu_erf}\n  return %0",
       "t.ir:3:35: unknown value 'gelu_erf' (expected one of none, relu, silu, gelu, gelu_tanh)"},
      {"  %0 = cast(%x) {to=float}\n  return %0",
       "t.ir:3:21: unknown dtype 'float' (expected one of f32, f16, bf16, i64, i32, i8, u8, bool, "
       "f64)"},
      {"  %0 = reduce_sum(%x) {axes=[0 1]}\n  return %0",
       "t.ir:3:32: expected ',' or ']', found '1'"},
      {"  %0 = relu(%x) : f32[2, 4]\n  return %0",
       "t.ir:3:19: type mismatch for %0 (result 0 of relu): written f32[2, 4], inferred f32[2, 3]"},
      {"  %0 = relu(%x) : f32[2, 3], f32[2, 3]\n  return %0",
       "t.ir:3:19: relu has 1 result(s), but 2 type(s) are written"},
      {"  %0 = split(%x) {axis=0, sizes=[1, 1]}\n  return %0",
       "t.ir:3:8: split has 2 result(s), but 1 name(s) are written before '='"},
      {"  %0 = reshape(%x) {shape=[n, 3]}\n  return %0",
       "t.ir:3:28: unknown shape symbol 'n' (declare it with 'symbol n in [MIN, MAX] opt OPT' "
       "before use)"},
      {"  %0 = reshape(%x) {shape=[sqrt(4), 3]}\n  return %0",
       "t.ir:3:28: unknown dim function 'sqrt' (expected floordiv, mod, min or max)"},
      {"  %0 = relu(%x) loc(abc)\n  return %0",
       "t.ir:3:21: expected a quoted location string, found 'abc'"},
  };
  for (const ErrorCase& c : cases) EXPECT_EQ(parse_error(graph_with(c.text)), c.message) << c.text;
}

TEST(ParserErrorsTest, ShapeInferenceErrorsArePrefixedWithThePosition) {
  std::string message = parse_error(graph_with("  %0 = matmul(%x, %x)\n  return %0"));
  EXPECT_EQ(message.rfind("t.ir:3:8: ", 0), 0u) << message;
  EXPECT_NE(message.find("matmul"), std::string::npos) << message;
}

TEST(ParserErrorsTest, ConstantDataErrors) {
  const ErrorCase cases[] = {
      {"%0 = constant {dtype=f32, shape=[2], data=[1, 2, 3]}",
       "t.ir:2:43: constant data has 3 element(s), expected 2 for f32[2]"},
      {"%0 = constant {dtype=f32, shape=[2]}",
       "t.ir:2:6: constant f32[2] needs data with 2 element(s), got none"},
      {"%0 = constant {dtype=f32, shape=[-2], data=[]}",
       "t.ir:2:6: constant shape has a negative dim (-2)"},
      {"%0 = constant {dtype=u8, shape=[2], data=[1, 256]}",
       "t.ir:2:46: value 256 does not fit in u8"},
      {"%0 = constant {dtype=i32, shape=[1], data=[nan]}", "t.ir:2:44: cannot store nan in i32"},
      {"%0 = constant {dtype=f32, shape=[1048576, 1024], data=splat(0)}",
       "t.ir:2:55: generated constant data for f32[1048576, 1024] would take 4294967296 bytes (the "
       "limit is 1073741824)"},
      {"%0 = constant {dtype=f32, shape=[4611686018427387904, 4], data=splat(0)}",
       "t.ir:2:6: constant f32[4611686018427387904, 4] is too large"},
      {"%0 = constant {dtype=f32, shape=[1], data=random(scale=1)}",
       "t.ir:2:43: random(...) needs seed=N"},
      {"%0 = constant {dtype=f32, shape=[1], data=random(seed=1, seed=2)}",
       "t.ir:2:58: 'seed' is given twice"},
      {"%0 = constant {dtype=f32, shape=[1], data=ones}",
       "t.ir:2:43: expected constant data: [numbers], splat(X), random(seed=N, scale=S) or elided, "
       "found 'ones'"},
  };
  for (const ErrorCase& c : cases) {
    std::string text = str_cat("graph @g {\n", c.text, "\n  return\n}\n");
    EXPECT_EQ(parse_error(text), c.message) << c.text;
  }
}

TEST(ParserErrorsTest, DeepOrHugeDimExpressionsAreRefused) {
  std::string deep = graph_with(str_cat("  %0 = reshape(%x) {shape=[", std::string(100, '('), "6",
                                        std::string(100, ')'), "]}\n  return %0"));
  EXPECT_NE(parse_error(deep).find("dim expression nested more than 64 levels"), std::string::npos);
  std::string minus = graph_with(
      str_cat("  %0 = reshape(%x) {shape=[", std::string(200, '-'), "6]}\n  return %0"));
  EXPECT_NE(parse_error(minus).find("nested more than 64 levels"), std::string::npos);
  // (a+b+...)^k grows combinatorially: refused once it passes the term limit.
  std::string symbols, sum;
  for (int i = 0; i < 8; ++i) {
    symbols += str_cat("  symbol s", i, " in [1, 8] opt 1\n");
    sum += str_cat(i ? " + " : "", "s", i);
  }
  std::string product;
  for (int i = 0; i < 12; ++i) product += str_cat(i ? "*" : "", "(", sum, ")");
  std::string huge = str_cat("graph @g {\n", symbols, "  input %x : f32[", product, "]\n}\n");
  EXPECT_NE(parse_error(huge).find("dim expression has more than 256 terms"), std::string::npos);
  std::string power;
  for (int i = 0; i < 100; ++i) power += str_cat(i ? "*" : "", "s0");
  std::string tall = str_cat("graph @g {\n", symbols, "  input %x : f32[", power, "]\n}\n");
  EXPECT_NE(parse_error(tall).find("a product of more than 64 factors"), std::string::npos);
}

// ---- mini-fuzz ----------------------------------------------------------------------------------

const char* kFuzzSeed = R"(// fuzz seed
graph @fuzz {
  symbol batch in [1, 64] opt 8
  input %x : f32[batch, 3, 4, 4]
  %w = constant {dtype=f32, shape=[2, 3, 1, 1], data=[1, -2, 3.5, 1e-05, inf, 6]}
  %b = constant {dtype=i64, shape=[2], data=splat(3)}
  %r = constant {dtype=f16, shape=[2], data=random(seed=3, scale=0.5)}
  %0 = conv(%x, %w, _) {stride=[1, 1], padding=[0, 0], dilation=[1, 1], groups=1}
  %1 = relu(%0) : f32[batch, 2, 4, 4] loc("m.py:1 \"q\"")
  %2, %3 = split(%1) {axis=1, sizes=[1, 1]}
  %4 = reshape(%2) {shape=[batch, floordiv(32, 2) + (batch - batch) % 3]}
  %5 = clamp(%4) {min=none, max=-0.5}
  # trailing comment
  return %5, %3
}
)";

// Parses `text`; if it parses, its print must parse back and print identically.
void check_no_crash(const std::string& text) {
  Expected<Graph> g = parse_graph(text, "fuzz.ir");
  if (!g.ok()) {
    EXPECT_FALSE(g.status().message().empty());
    return;
  }
  std::string printed = print_graph(*g);
  Expected<Graph> back = parse_graph(printed, "printed.ir");
  ASSERT_TRUE(back.ok()) << back.status().to_string() << "\nfrom:\n" << text;
  EXPECT_EQ(print_graph(*back), printed);
}

TEST(ParserFuzzTest, SeedParses) {
  Expected<Graph> g = parse_graph(kFuzzSeed);
  ASSERT_TRUE(g.ok()) << g.status().to_string();
}

TEST(ParserFuzzTest, TruncationsNeverCrash) {
  const std::string seed = kFuzzSeed;
  for (size_t n = 0; n <= seed.size(); ++n) check_no_crash(seed.substr(0, n));
}

TEST(ParserFuzzTest, MutationsNeverCrash) {
  const std::string seed = kFuzzSeed;
  const char replacements[] = {'%', '(', ')', '[', ']', '{', '}', ',', '-', '/', '#', '"', '0',
                               '9', 'a', '_', '\n', '\0', '\xff', '@', '=', ':', '*', ' '};
  for (size_t pos = 0; pos < seed.size(); ++pos) {
    for (char c : replacements) {
      std::string mutated = seed;
      mutated[pos] = c;
      check_no_crash(mutated);
    }
    std::string deleted = seed;
    deleted.erase(pos, 1);
    check_no_crash(deleted);
    std::string doubled = seed;
    doubled.insert(pos, 1, seed[pos]);
    check_no_crash(doubled);
  }
}

TEST(ParserFuzzTest, PathologicalInputsNeverCrash) {
  check_no_crash(std::string(100000, '('));
  check_no_crash(std::string(100000, '['));
  check_no_crash(std::string(100000, '-'));
  check_no_crash(std::string(100000, '%'));
  check_no_crash(std::string(100000, '"'));
  check_no_crash(std::string(100000, '\0'));
  check_no_crash(str_cat("graph @g {\n  input %x : f32[", std::string(100000, '('), "\n"));
  check_no_crash(str_cat("graph @g {\n  input %x : f32[", std::string(100000, '-'), "1]\n"));
  check_no_crash(str_cat("graph @g {\n  %0 = constant {dtype=f32, shape=[1], data=[",
                         std::string(100000, '['), "\n"));
  check_no_crash("graph @g {\n  input %x : f32[2]\n  %0 = relu(%x) loc(\"\\");
  check_no_crash("graph @g {\n  input %x : f32[2]\n  %0 = relu(%x) loc(\"\\x4");
  check_no_crash("graph @g {\n  input %x : f32[2]\n  return %x //");
}

}  // namespace
}  // namespace kiln
