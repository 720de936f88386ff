// Round trips of the IR text format: exact printed text, every attribute field type, constant data
// in every dtype, value naming, and the example graphs under examples/.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "kiln/text/parser.h"
#include "kiln/text/printer.h"

namespace kiln {
namespace {

Graph parse_ok(std::string_view text) {
  Expected<Graph> g = parse_graph(text, "t.ir");
  EXPECT_TRUE(g.ok()) << g.status().to_string() << "\n" << text;
  return g.ok() ? std::move(g).value() : Graph{};
}

// Parses, prints, parses the print and prints again; both prints must be equal.
std::string round_trip(std::string_view text) {
  std::string first = print_graph(parse_ok(text));
  std::string second = print_graph(parse_ok(first));
  EXPECT_EQ(first, second);
  return first;
}

// A graph with one input %x : f32[2, 3] and one node line.
std::string one_node(std::string_view node_line, std::string_view input_type = "f32[2, 3]") {
  return str_cat("graph @g {\n  input %x : ", input_type, "\n  ", node_line, "\n  return %0\n}\n");
}

template <typename A>
const A& attrs_of_last(const Graph& g) {
  return std::get<A>(g.nodes.back().attrs);
}

TEST(PrinterParserTest, PrintsTheSpecExampleExactly) {
  const char* text = R"(// a comment
graph @conv_mlp {   # another comment
  symbol batch in [1, 64] opt 8
  input %x : f32[batch, 3, 4, 4]
  %w = constant {dtype=f32, shape=[2, 3, 1, 1], data=[1, 2, 3, 4, 5, 6.5]}
  %0 = conv(%x, %w, _) {stride=[1, 1], padding=[0, 0], dilation=[1, 1], groups=1} : f32[batch, 2, 4, 4]
  %1 = relu(%0) : f32[batch, 2, 4, 4] loc("model.py:12 \"relu\" \\1")
  %2, %3 = split(%1) {axis=1, sizes=[1, 1]}
  %4 = reshape(%2) {shape=[batch, 1*4*4]}
  return %4, %3
}
)";
  const char* expected = R"(graph @conv_mlp {
  symbol batch in [1, 64] opt 8
  input %x : f32[batch, 3, 4, 4]
  %w = constant {dtype=f32, shape=[2, 3, 1, 1], data=[1, 2, 3, 4, 5, 6.5]} : f32[2, 3, 1, 1]
  %0 = conv(%x, %w, _) {stride=[1, 1], padding=[0, 0], dilation=[1, 1], groups=1, activation=none, channels_last=false} : f32[batch, 2, 4, 4]
  %1 = relu(%0) : f32[batch, 2, 4, 4] loc("model.py:12 \"relu\" \\1")
  %2, %3 = split(%1) {axis=1, sizes=[1, 1]} : f32[batch, 1, 4, 4], f32[batch, 1, 4, 4]
  %4 = reshape(%2) {shape=[batch, 16]} : f32[batch, 16]
  return %4, %3
}
)";
  EXPECT_EQ(round_trip(text), expected);
  Graph g = parse_ok(text);
  EXPECT_EQ(g.name, "conv_mlp");
  ASSERT_EQ(g.symbols.size(), 1u);
  EXPECT_EQ(g.symbols[0].min, 1);
  EXPECT_EQ(g.symbols[0].max, 64);
  EXPECT_EQ(g.symbols[0].opt, 8);
  EXPECT_EQ(g.nodes[2].loc, "model.py:12 \"relu\" \\1");
  EXPECT_EQ(g.nodes[1].inputs[2], kNoValue);
  EXPECT_EQ(g.values[g.inputs[0]].name, "x");
  EXPECT_EQ(g.values[g.nodes[0].outputs[0]].name, "w");
  EXPECT_EQ(g.values[g.nodes[1].outputs[0]].name, "");
}

TEST(PrinterParserTest, NumbersUnnamedValuesInDefinitionOrder) {
  // Numbers in the text are labels only: they need not be dense or ordered.
  std::string out = round_trip(R"(graph @g {
  input %in : f32[2]
  %7 = neg(%in)
  %named = exp(%7)
  %3 = add(%7, %named)
  return %3, %named
})");
  EXPECT_EQ(out, R"(graph @g {
  input %in : f32[2]
  %0 = neg(%in) : f32[2]
  %named = exp(%0) : f32[2]
  %1 = add(%0, %named) : f32[2]
  return %1, %named
}
)");
}

TEST(PrinterParserTest, MakesNamesValidAndUnique) {
  Graph g;
  g.name = "my graph";
  ASSERT_TRUE(graph_add_symbol(g, SymbolInfo{"s-0", 1, 8, 2}).ok());
  ValueId a = graph_add_input(g, "x", TensorType{DType::kF32, {DimExpr::symbol(0)}});
  ValueId b = graph_add_input(g, "x", TensorType{DType::kF32, {DimExpr::symbol(0)}});
  ValueId c = graph_add_input(g, "0abc", TensorType{DType::kF32, {DimExpr::symbol(0)}});
  Expected<ValueId> sum = graph_add_node1(g, OpKind::kAdd, {a, b}, NoAttrs{});
  ASSERT_TRUE(sum.ok()) << sum.status().to_string();
  g.values[*sum].name = "x y";
  g.outputs = {*sum, c};
  std::string text = print_graph(g);
  EXPECT_EQ(text, R"(graph @my_graph {
  symbol s_0 in [1, 8] opt 2
  input %x : f32[s_0]
  input %x_1 : f32[s_0]
  input %_0abc : f32[s_0]
  %x_y = add(%x, %x_1) : f32[s_0]
  return %x_y, %_0abc
}
)");
  EXPECT_EQ(print_graph(parse_ok(text)), text);
}

TEST(PrinterParserTest, PrintsInvalidGraphsWithoutCrashing) {
  Graph g;
  ValueId x = graph_add_input(g, "x", TensorType{DType::kF32, {2}});
  g.nodes.push_back(Node{OpKind::kNeg, {x, 17, kNoValue}, {42}, NoAttrs{}, ""});
  g.outputs = {-5};
  std::string text = print_graph(g);
  EXPECT_NE(text.find("%<invalid:42> = neg(%x, %<invalid:17>, _) : <invalid value>"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("return %<invalid:-5>"), std::string::npos) << text;
  EXPECT_FALSE(parse_graph(text).ok());
}

TEST(PrinterParserTest, ScalarsAndZeroOperandOps) {
  // "op" and "op()" are the same; the printer writes source ops without parentheses.
  std::string out = round_trip(R"(graph @g {
  %0 = full {shape=[], value=2.5, dtype=f16}
  %1 = arange() {start=0, step=1, length=4, dtype=i64}
  return %0, %1
})");
  EXPECT_EQ(out, R"(graph @g {
  %0 = full {shape=[], value=2.5, dtype=f16} : f16[]
  %1 = arange {start=0, step=1, length=4, dtype=i64} : i64[4]
  return %0, %1
}
)");
}

TEST(PrinterParserTest, AttributesNotWrittenKeepTheirDefaults) {
  Graph g = parse_ok(one_node("%0 = leaky_relu(%x)"));
  EXPECT_EQ(attrs_of_last<LeakyReluAttrs>(g).negative_slope, 0.01);
  EXPECT_NE(print_graph(g).find("leaky_relu(%x) {negative_slope=0.01}"), std::string::npos);
  g = parse_ok(one_node("%0 = reduce_sum(%x) {}"));
  EXPECT_TRUE(attrs_of_last<ReduceAttrs>(g).axes.empty());
  EXPECT_FALSE(attrs_of_last<ReduceAttrs>(g).keepdim);
  g = parse_ok(one_node("%0 = relu(%x) {}"));
  EXPECT_EQ(print_graph(g).find("{"), print_graph(g).find("{\n"));  // only the graph's brace
}

TEST(PrinterParserTest, Int64AndBoolFields) {
  Graph g = parse_ok(one_node("%0, %1 = topk(%x) {k=2, axis=-1, largest=false}"));
  const TopKAttrs& a = attrs_of_last<TopKAttrs>(g);
  EXPECT_EQ(a.k, 2);
  EXPECT_EQ(a.axis, -1);
  EXPECT_FALSE(a.largest);
  round_trip(one_node("%0, %1 = topk(%x) {k=2, axis=-1, largest=false}"));
}

TEST(PrinterParserTest, DoubleFieldsRoundTripBitExactly) {
  const double values[] = {0.5,
                           1e-05,
                           0.1,
                           1.0 / 3.0,
                           -0.0,
                           1e300,
                           5e-324,
                           std::numeric_limits<double>::max(),
                           std::numeric_limits<double>::infinity(),
                           -std::numeric_limits<double>::infinity(),
                           123456789.0,
                           -2.0};
  for (double v : values) {
    Graph g = parse_ok(one_node("%0 = elu(%x)"));
    std::get<EluAttrs>(g.nodes[0].attrs).alpha = v;
    std::string text = print_graph(g);
    Graph back = parse_ok(text);
    double w = attrs_of_last<EluAttrs>(back).alpha;
    EXPECT_EQ(std::bit_cast<uint64_t>(w), std::bit_cast<uint64_t>(v)) << text;
    EXPECT_EQ(print_graph(back), text);
  }
  Graph g = parse_ok(one_node("%0 = elu(%x) {alpha=nan}"));
  EXPECT_TRUE(std::isnan(attrs_of_last<EluAttrs>(g).alpha));
  EXPECT_NE(print_graph(g).find("{alpha=nan}"), std::string::npos);
  g = parse_ok(one_node("%0 = elu(%x) {alpha=1e-05}"));
  EXPECT_NE(print_graph(g).find("{alpha=1e-05}"), std::string::npos);
  g = parse_ok(one_node("%0 = elu(%x) {alpha=2.5E+3}"));
  EXPECT_EQ(attrs_of_last<EluAttrs>(g).alpha, 2500.0);
}

TEST(PrinterParserTest, DTypeAndEnumFields) {
  Graph g = parse_ok(one_node("%0 = cast(%x) {to=bf16}"));
  EXPECT_EQ(attrs_of_last<CastAttrs>(g).to, DType::kBF16);
  g = parse_ok(one_node("%0 = gelu(%x) {approximate=tanh}"));
  EXPECT_EQ(attrs_of_last<GeluAttrs>(g).approximate, GeluApprox::kTanh);
  g = parse_ok(one_node("%0 = pad(%x) {pads=[0, 0, 1, 2], mode=reflect, value=0}"));
  EXPECT_EQ(attrs_of_last<PadAttrs>(g).mode, PadMode::kReflect);
  EXPECT_EQ(attrs_of_last<PadAttrs>(g).pads, (std::vector<int64_t>{0, 0, 1, 2}));
  round_trip(one_node("%0 = pad(%x) {pads=[0, 0, 1, 2], mode=replicate, value=-1.5}"));
  round_trip(one_node("%0 = div(%x, %x) {rounding=floor}"));
}

TEST(PrinterParserTest, ListAndOptionalFields) {
  const char* text = R"(graph @g {
  input %x : f32[1, 2, 8, 8]
  %0 = resize(%x) {mode=bilinear, align_corners=true, size=[16, 16], scales=[2, 2.0]}
  %1 = clamp(%0) {min=none, max=0.5}
  %2 = avg_pool(%1) {kernel=[2, 2], stride=[2, 2], padding=[0, 0], dilation=[1, 1], divisor_override=3}
  return %2
})";
  Graph g = parse_ok(text);
  const ResizeAttrs& r = std::get<ResizeAttrs>(g.nodes[0].attrs);
  EXPECT_EQ(r.mode, ResizeMode::kBilinear);
  EXPECT_TRUE(r.align_corners);
  EXPECT_EQ(r.size, (Shape{16, 16}));
  EXPECT_EQ(r.scales, (std::vector<double>{2.0, 2.0}));
  const ClampAttrs& c = std::get<ClampAttrs>(g.nodes[1].attrs);
  EXPECT_FALSE(c.min.has_value());
  EXPECT_EQ(c.max, 0.5);
  const PoolAttrs& p = std::get<PoolAttrs>(g.nodes[2].attrs);
  EXPECT_EQ(p.divisor_override, 3);
  EXPECT_TRUE(p.count_include_pad);
  std::string out = round_trip(text);
  EXPECT_NE(out.find("clamp(%0) {min=none, max=0.5}"), std::string::npos) << out;
  EXPECT_NE(out.find("ceil_mode=false, count_include_pad=true, divisor_override=3, "
                     "channels_last=false}"),
            std::string::npos)
      << out;
}

TEST(PrinterParserTest, FusedActivationAndChannelsLastFields) {
  // Written fields are read; unwritten ones keep their defaults (none, false); all are printed.
  const char* text = R"(graph @g {
  input %x : f32[1, 8, 8, 4]
  input %w : f32[4, 3, 3, 1]
  input %v : f32[2, 6]
  input %u : f32[3, 6]
  %0 = conv(%x, %w, _, %x) {stride=[1, 1], padding=[1, 1], dilation=[1, 1], groups=4, activation=gelu_tanh, channels_last=true}
  %1 = max_pool(%0) {kernel=[2, 2], stride=[2, 2], padding=[0, 0], dilation=[1, 1], channels_last=true}
  %2 = linear(%v, %u) {activation=silu}
  %3 = linear(%v, %u)
  return %1, %2, %3
})";
  Graph g = parse_ok(text);
  const ConvAttrs& c = std::get<ConvAttrs>(g.nodes[0].attrs);
  EXPECT_EQ(c.activation, Activation::kGeluTanh);
  EXPECT_TRUE(c.channels_last);
  EXPECT_TRUE(std::get<PoolAttrs>(g.nodes[1].attrs).channels_last);
  EXPECT_EQ(std::get<LinearAttrs>(g.nodes[2].attrs).activation, Activation::kSilu);
  EXPECT_EQ(std::get<LinearAttrs>(g.nodes[3].attrs).activation, Activation::kNone);
  const std::string out = round_trip(text);
  EXPECT_NE(out.find("groups=4, activation=gelu_tanh, channels_last=true} : f32[1, 8, 8, 4]"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("divisor_override=none, channels_last=true} : f32[1, 4, 4, 4]"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("linear(%v, %u) {activation=silu} : f32[2, 3]"), std::string::npos) << out;
  EXPECT_NE(out.find("linear(%v, %u) {activation=none} : f32[2, 3]"), std::string::npos) << out;
  for (const char* name : {"none", "relu", "silu", "gelu", "gelu_tanh"}) {
    round_trip(one_node(str_cat("%0 = linear(%x, %x) {activation=", name, "}")));
  }
}

TEST(PrinterParserTest, DimExpressionsInTypesAndAttributes) {
  const char* text = R"(graph @g {
  symbol n in [1, 100] opt 10
  symbol s in [2, 64] opt 8
  input %x : f32[n, s]
  %0 = reshape(%x) {shape=[(n*s) // 2, 2]}
  %1 = slice(%x) {axis=1, start=1, end=-1, step=1}
  %2 = slice(%x) {axis=1, start=0, end=min(s, 4), step=1}
  %3 = reshape(%x) {shape=[n, s % 4 + (s - s % 4)]}
  %4 = full {shape=[max(n, 3), floordiv(s + 1, 2), mod(n, 5), -(-n) - 1 + 1], value=0, dtype=f32}
  return %0, %1, %2, %3, %4
})";
  Graph g = parse_ok(text);
  DimExpr n = DimExpr::symbol(0), s = DimExpr::symbol(1);
  EXPECT_EQ(g.type(g.nodes[0].outputs[0]).shape, (Shape{floordiv(n * s, 2), 2}));
  EXPECT_EQ(std::get<SliceAttrs>(g.nodes[1].attrs).end, DimExpr(-1));
  EXPECT_EQ(std::get<SliceAttrs>(g.nodes[2].attrs).end, min(s, 4));
  EXPECT_EQ(min(s, 4), min(4, s));
  EXPECT_EQ(std::get<ReshapeAttrs>(g.nodes[3].attrs).shape, (Shape{n, s}));
  EXPECT_EQ(std::get<FullAttrs>(g.nodes[4].attrs).shape,
            (Shape{max(n, 3), floordiv(s + 1, 2), mod(n, 5), n}));
  std::string out = round_trip(text);
  EXPECT_NE(out.find("{shape=[floordiv(n*s, 2), 2]}"), std::string::npos) << out;
  EXPECT_NE(out.find("shape=[max(3, n), floordiv(s + 1, 2), mod(n, 5), n]"), std::string::npos)
      << out;
}

TEST(PrinterParserTest, Int64MinAndMaxDims) {
  Graph g = parse_ok(one_node(
      "%0 = slice(%x) {axis=1, start=-9223372036854775808, end=9223372036854775807, step=1}"));
  const SliceAttrs& a = attrs_of_last<SliceAttrs>(g);
  EXPECT_EQ(a.start, DimExpr(std::numeric_limits<int64_t>::min()));
  EXPECT_EQ(a.end, DimExpr(std::numeric_limits<int64_t>::max()));
  round_trip(print_graph(g));
}

// ---- constant data ------------------------------------------------------------------------------

// The bytes of the one constant in `text`.
std::vector<uint8_t> constant_bytes(const Graph& g) {
  const TensorData& d = std::get<ConstantAttrs>(g.nodes.at(0).attrs).data;
  return std::vector<uint8_t>(d.data(), d.data() + d.size);
}

std::string constant_graph(std::string_view dtype, std::string_view shape, std::string_view data) {
  return str_cat("graph @g {\n  %0 = constant {dtype=", dtype, ", shape=", shape, ", data=", data,
                 "}\n  return %0\n}\n");
}

template <typename T>
std::vector<uint8_t> bytes_of(const std::vector<T>& v) {
  std::vector<uint8_t> out(v.size() * sizeof(T));
  std::memcpy(out.data(), v.data(), out.size());
  return out;
}

TEST(ConstantDataTest, ListsConvertToEachDType) {
  EXPECT_EQ(constant_bytes(parse_ok(constant_graph("f32", "[3]", "[1.5, -2, 1e-3]"))),
            bytes_of<float>({1.5f, -2.0f, 1e-3f}));
  EXPECT_EQ(constant_bytes(parse_ok(constant_graph("f32", "[3]", "[-0, -0.0, 0]"))),
            bytes_of<float>({-0.0f, -0.0f, 0.0f}));
  const char* i64_data = "[-9223372036854775808, 9223372036854775807, 2.6]";
  EXPECT_EQ(constant_bytes(parse_ok(constant_graph("i64", "[3]", i64_data))),
            bytes_of<int64_t>({std::numeric_limits<int64_t>::min(),
                               std::numeric_limits<int64_t>::max(), 3}));
  EXPECT_EQ(constant_bytes(parse_ok(constant_graph("i32", "[2]", "[-7, 2147483647]"))),
            bytes_of<int32_t>({-7, 2147483647}));
  EXPECT_EQ(constant_bytes(parse_ok(constant_graph("i8", "[2]", "[-128, 127]"))),
            bytes_of<int8_t>({-128, 127}));
  EXPECT_EQ(constant_bytes(parse_ok(constant_graph("u8", "[2]", "[0, 255]"))),
            bytes_of<uint8_t>({0, 255}));
  EXPECT_EQ(constant_bytes(parse_ok(constant_graph("bool", "[4]", "[0, 1, true, false]"))),
            bytes_of<uint8_t>({0, 1, 1, 0}));
  EXPECT_EQ(constant_bytes(parse_ok(constant_graph("f16", "[2]", "[1, -0.5]"))),
            bytes_of<uint16_t>({0x3c00, 0xb800}));
  EXPECT_EQ(constant_bytes(parse_ok(constant_graph("bf16", "[2]", "[1, -0.5]"))),
            bytes_of<uint16_t>({0x3f80, 0xbf00}));
  EXPECT_EQ(constant_bytes(parse_ok(constant_graph("f32", "[2, 0]", "[]"))).size(), 0u);
  EXPECT_EQ(constant_bytes(parse_ok(constant_graph("f32", "[]", "[4]"))), bytes_of<float>({4}));
}

TEST(ConstantDataTest, SplatFillsEveryElement) {
  EXPECT_EQ(constant_bytes(parse_ok(constant_graph("i32", "[2, 2]", "splat(-3)"))),
            bytes_of<int32_t>({-3, -3, -3, -3}));
  EXPECT_EQ(constant_bytes(parse_ok(constant_graph("f16", "[3]", "splat(0.5)"))),
            bytes_of<uint16_t>({0x3800, 0x3800, 0x3800}));
}

// splitmix64 written out again, independently of the parser's copy.
std::vector<double> expected_random(uint64_t seed, double scale, int n) {
  std::vector<double> out;
  uint64_t s = seed;
  for (int i = 0; i < n; ++i) {
    s += 0x9e3779b97f4a7c15ull;
    uint64_t z = s;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    out.push_back((std::ldexp(static_cast<double>(z >> 11), -53) * 2 - 1) * scale);
  }
  return out;
}

TEST(ConstantDataTest, RandomIsDeterministicSplitMix64) {
  std::vector<double> want = expected_random(7, 0.25, 6);
  std::vector<float> as_float;
  for (double v : want) as_float.push_back(static_cast<float>(v));
  EXPECT_EQ(constant_bytes(parse_ok(constant_graph("f32", "[2, 3]", "random(seed=7, scale=0.25)"))),
            bytes_of(as_float));
  std::vector<uint16_t> want16;
  for (double v : expected_random(1, 1.0, 4)) want16.push_back(f32_to_bf16(static_cast<float>(v)));
  EXPECT_EQ(constant_bytes(parse_ok(constant_graph("bf16", "[4]", "random(scale=1, seed=1)"))),
            bytes_of(want16));
  std::vector<double> ints = expected_random(3, 100.0, 5);
  std::vector<int32_t> rounded;
  for (double v : ints) rounded.push_back(static_cast<int32_t>(std::nearbyint(v)));
  EXPECT_EQ(constant_bytes(parse_ok(constant_graph("i32", "[5]", "random(seed=3, scale=100)"))),
            bytes_of(rounded));
  // Values stay inside [-scale, scale) and differ between seeds.
  for (double v : expected_random(1, 0.1, 100)) {
    EXPECT_GE(v, -0.1);
    EXPECT_LT(v, 0.1);
  }
  EXPECT_NE(constant_bytes(parse_ok(constant_graph("f32", "[4]", "random(seed=1)"))),
            constant_bytes(parse_ok(constant_graph("f32", "[4]", "random(seed=2)"))));
}

// Every f16 and bf16 bit pattern except NaNs prints and parses back to the same bits.
TEST(ConstantDataTest, HalfPrecisionRoundTripsBitExactly) {
  for (DType dtype : {DType::kF16, DType::kBF16}) {
    std::vector<uint16_t> bits;
    for (uint32_t b = 0; b < 65536; ++b) {
      float f = dtype == DType::kF16 ? f16_to_f32(uint16_t(b)) : bf16_to_f32(uint16_t(b));
      if (!std::isnan(f)) bits.push_back(uint16_t(b));
    }
    Graph g;
    ASSERT_TRUE(graph_add_constant(g, TensorType{dtype, {int64_t(bits.size())}}, bits.data(),
                                   bits.size() * 2)
                    .ok());
    g.outputs = {0};
    std::string text = print_graph(g);
    Graph back = parse_ok(text);
    EXPECT_EQ(constant_bytes(back), bytes_of(bits)) << dtype_name(dtype);
    EXPECT_EQ(print_graph(back), text);
  }
}

TEST(ConstantDataTest, FloatsAndIntsRoundTripBitExactly) {
  std::vector<float> floats = {0.1f,
                               -0.0f,
                               1.0f / 3.0f,
                               std::numeric_limits<float>::denorm_min(),
                               std::numeric_limits<float>::max(),
                               std::numeric_limits<float>::lowest(),
                               std::numeric_limits<float>::infinity(),
                               16777217.0f};
  std::vector<int64_t> ints = {std::numeric_limits<int64_t>::min(), -1, 0,
                               (int64_t{1} << 53) + 1, std::numeric_limits<int64_t>::max()};
  Graph g;
  ASSERT_TRUE(graph_add_constant(g, TensorType{DType::kF32, {int64_t(floats.size())}},
                                 floats.data(), floats.size() * 4)
                  .ok());
  ASSERT_TRUE(graph_add_constant(g, TensorType{DType::kI64, {int64_t(ints.size())}}, ints.data(),
                                 ints.size() * 8)
                  .ok());
  g.outputs = {0, 1};
  std::string text = print_graph(g);
  Graph back = parse_ok(text);
  EXPECT_EQ(print_graph(back), text);
  const TensorData& f = std::get<ConstantAttrs>(back.nodes[0].attrs).data;
  const TensorData& i = std::get<ConstantAttrs>(back.nodes[1].attrs).data;
  EXPECT_EQ(std::vector<uint8_t>(f.data(), f.data() + f.size), bytes_of(floats));
  EXPECT_EQ(std::vector<uint8_t>(i.data(), i.data() + i.size), bytes_of(ints));
  EXPECT_NE(text.find("[-9223372036854775808, -1, 0, 9007199254740993, 9223372036854775807]"),
            std::string::npos)
      << text;
}

TEST(ConstantDataTest, ElidesLargeConstantsOnRequest) {
  Graph g = parse_ok(constant_graph("f32", "[4]", "splat(1)"));
  PrintOptions options;
  options.elide_constants_over_bytes = 16;
  EXPECT_NE(print_graph(g, options).find("data=[1, 1, 1, 1]"), std::string::npos);
  options.elide_constants_over_bytes = 15;
  std::string elided = print_graph(g, options);
  EXPECT_NE(elided.find("data=elided} : f32[4]"), std::string::npos) << elided;
  Expected<Graph> back = parse_graph(elided, "dump.ir");
  ASSERT_FALSE(back.ok());
  EXPECT_NE(back.status().message().find("dump.ir:2:45: constant data was elided"),
            std::string::npos)
      << back.status().message();
}

// ---- the examples -------------------------------------------------------------------------------

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(ExamplesTest, ExamplesParseAndRoundTrip) {
  for (const char* name : {"conv_mlp.ir", "mlp.ir"}) {
    std::filesystem::path path = std::filesystem::path(KILN_SOURCE_DIR) / "examples" / name;
    std::string text = read_file(path);
    ASSERT_FALSE(text.empty()) << path;
    Expected<Graph> g = parse_graph(text, path.string());
    ASSERT_TRUE(g.ok()) << g.status().to_string();
    std::string printed = print_graph(*g);
    Expected<Graph> back = parse_graph(printed, "printed");
    ASSERT_TRUE(back.ok()) << back.status().to_string();
    EXPECT_EQ(print_graph(*back), printed) << name;
  }
}

}  // namespace
}  // namespace kiln
