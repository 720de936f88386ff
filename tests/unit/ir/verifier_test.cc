// The verifier accepts well-formed graphs and names the node and problem for each broken invariant.
#include "kiln/ir/verifier.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace kiln {
namespace {

TensorType F32(Shape s) { return TensorType{DType::kF32, std::move(s)}; }

// x: f32[batch, 4], w: f32[8, 4]; relu(x) -> linear(., w) -> output.
struct Fixture {
  Graph g;
  DimExpr batch;
  ValueId x = kNoValue, w = kNoValue, r = kNoValue, y = kNoValue;

  Fixture() {
    batch = *graph_add_symbol(g, SymbolInfo{"batch", 1, 32, 4});
    x = graph_add_input(g, "x", F32({batch, 4}));
    w = graph_add_input(g, "w", F32({8, 4}));
    r = *graph_add_node1(g, OpKind::kRelu, {x}, NoAttrs{}, "model.py:3");
    y = *graph_add_node1(g, OpKind::kLinear, {r, w, kNoValue}, LinearAttrs{}, "model.py:4");
    g.outputs = {y};
  }
};

std::string verify_message(const Graph& g) {
  Status s = verify_graph(g);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  return s.message();
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(VerifierTest, AcceptsAWellFormedGraph) {
  Fixture f;
  Status s = verify_graph(f.g);
  EXPECT_TRUE(s.ok()) << s.to_string();
  // Split (outputs from the attributes) and a constant verify too.
  float data[6] = {1, 2, 3, 4, 5, 6};
  ValueId c = *graph_add_constant(f.g, F32({2, 3}), data, sizeof(data));
  Expected<std::vector<ValueId>> parts =
      graph_add_node(f.g, OpKind::kSplit, {c}, SplitAttrs{1, {1, 2}});
  ASSERT_TRUE(parts.ok()) << parts.status().to_string();
  f.g.outputs.push_back((*parts)[1]);
  s = verify_graph(f.g);
  EXPECT_TRUE(s.ok()) << s.to_string();
}

TEST(VerifierTest, UseBeforeDefinition) {
  Fixture f;
  std::swap(f.g.nodes[0], f.g.nodes[1]);
  EXPECT_EQ(verify_message(f.g),
            "node 0 (linear at model.py:4): input 0 uses value %2 before it is defined");
}

TEST(VerifierTest, ValueIdsOutOfRange) {
  Fixture f;
  f.g.nodes[1].inputs[0] = 99;
  EXPECT_EQ(verify_message(f.g),
            "node 1 (linear at model.py:4): input 0 is value %99, which does not exist");
  Fixture o;
  o.g.outputs = {42};
  EXPECT_TRUE(contains(verify_message(o.g), "graph output 0 refers to value %42"));
  Fixture n;
  n.g.nodes[0].outputs[0] = -3;
  EXPECT_TRUE(contains(verify_message(n.g), "output 0 is value %-3"));
}

TEST(VerifierTest, ValueDefinedTwice) {
  Fixture f;
  f.g.nodes[1].outputs[0] = f.g.nodes[0].outputs[0];
  EXPECT_EQ(verify_message(f.g), "node 1 (linear at model.py:4): output 0 redefines value %2");
  Fixture i;
  i.g.nodes[0].outputs[0] = i.x;
  EXPECT_TRUE(contains(verify_message(i.g), "redefines value %0"));
}

TEST(VerifierTest, WrongOutputType) {
  Fixture f;
  f.g.values[f.y].type = F32({f.batch, 4});
  EXPECT_EQ(verify_message(f.g),
            "node 1 (linear at model.py:4): output 0 (value %3) has type f32[batch, 4] but shape "
            "inference gives f32[batch, 8]");
}

TEST(VerifierTest, ShapeInferenceFailureNamesTheNode) {
  Fixture f;
  f.g.values[f.w].type = F32({8, 5});
  EXPECT_TRUE(contains(verify_message(f.g),
                       "node 1 (linear at model.py:4): linear: the input's last dim is 4"));
}

TEST(VerifierTest, OperandCountsAndAttributes) {
  Fixture f;
  f.g.nodes[0].inputs.push_back(f.x);
  EXPECT_EQ(verify_message(f.g), "node 0 (relu at model.py:3): has 2 inputs, expected 1");
  Fixture a;
  a.g.nodes[0].attrs = AxisAttrs{0};
  EXPECT_EQ(verify_message(a.g),
            "node 0 (relu at model.py:3): attributes of the wrong kind for the op");
  Fixture r;
  r.g.nodes[1].inputs[1] = kNoValue;  // the weight is not optional
  EXPECT_EQ(verify_message(r.g), "node 1 (linear at model.py:4): input 1 is required");
  Fixture o;
  o.g.nodes[0].outputs.push_back(o.y);
  EXPECT_EQ(verify_message(o.g), "node 0 (relu at model.py:3): has 2 outputs, expected 1");
}

TEST(VerifierTest, UnboundSymbol) {
  Graph g;
  DimExpr n = *graph_add_symbol(g, SymbolInfo{"n", 1, 16, 4});
  // 2*n alone does not say what n is.
  ValueId x = graph_add_input(g, "x", F32({n * 2}));
  g.outputs = {*graph_add_node1(g, OpKind::kNeg, {x}, NoAttrs{})};
  EXPECT_EQ(verify_message(g),
            "shape symbol 'n' is used but no graph input has a dim that is exactly 'n', so its "
            "value cannot be known at run time");
  // Binding it through another input fixes it.
  graph_add_input(g, "y", F32({n}));
  EXPECT_TRUE(verify_graph(g).ok());
  // A symbol the graph does not declare.
  Graph h;
  ValueId z = graph_add_input(h, "z", F32({DimExpr::symbol(3)}));
  h.outputs = {*graph_add_node1(h, OpKind::kNeg, {z}, NoAttrs{})};
  EXPECT_EQ(verify_message(h), "shape symbol #3 is used but the graph declares only 0 symbols");
}

TEST(VerifierTest, SymbolOnlyInAttributesMustBeBound) {
  Graph g;
  DimExpr n = *graph_add_symbol(g, SymbolInfo{"n", 1, 16, 4});
  ValueId x = graph_add_input(g, "x", F32({3, 4}));
  g.outputs = {*graph_add_node1(g, OpKind::kFull, {}, FullAttrs{{n}, 0.0, DType::kF32})};
  (void)x;
  EXPECT_TRUE(contains(verify_message(g), "shape symbol 'n' is used"));
}

TEST(VerifierTest, RejectsF64) {
  Graph g;
  ValueId x = graph_add_input(g, "x", TensorType{DType::kF64, {2}});
  g.outputs = {*graph_add_node1(g, OpKind::kCast, {x}, CastAttrs{DType::kF32})};
  EXPECT_EQ(verify_message(g),
            "graph input 'x': value %0 has type f64[2]; f64 is not allowed in a kiln graph (cast "
            "to f32)");
  Graph h;
  ValueId y = graph_add_input(h, "y", F32({2}));
  h.outputs = {*graph_add_node1(h, OpKind::kCast, {y}, CastAttrs{DType::kF64})};
  EXPECT_TRUE(contains(verify_message(h), "node 0 (cast): value %1 has type f64[2]"));
}

TEST(VerifierTest, InputNames) {
  Fixture f;
  f.g.values[f.w].name = "x";
  EXPECT_EQ(verify_message(f.g), "graph input name 'x' is used twice");
  f.g.values[f.w].name = "";
  EXPECT_EQ(verify_message(f.g), "graph input 1 needs a name that is an identifier, got ''");
  f.g.values[f.w].name = "1w";
  EXPECT_EQ(verify_message(f.g), "graph input 1 needs a name that is an identifier, got '1w'");
  f.g.values[f.w].name = "layer.0_w";
  EXPECT_TRUE(verify_graph(f.g).ok());
  f.g.inputs.push_back(f.w);
  EXPECT_EQ(verify_message(f.g), "graph input name 'layer.0_w' is used twice");
}

TEST(VerifierTest, Outputs) {
  Fixture f;
  f.g.outputs.clear();
  EXPECT_EQ(verify_message(f.g), "the graph has no outputs");
  // A value id that exists but that nothing defines (a leftover after a pass).
  f.g.values.push_back(Value{"", F32({1})});
  f.g.outputs = {static_cast<ValueId>(f.g.values.size() - 1)};
  EXPECT_EQ(verify_message(f.g), "graph output 0 (value %4) is never defined");
}

TEST(VerifierTest, ConstantSizeMismatch) {
  Fixture f;
  float data[2] = {1, 2};
  ValueId c = *graph_add_constant(f.g, F32({2}), data, sizeof(data));
  f.g.outputs.push_back(c);
  f.g.nodes.back().attrs_as<ConstantAttrs>().shape = {3};
  EXPECT_TRUE(contains(verify_message(f.g), "data holds 8 bytes but f32[3] needs 12"));
}

}  // namespace
}  // namespace kiln
