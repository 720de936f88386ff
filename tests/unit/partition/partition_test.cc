// Partitioner and importer tests on hand-built TorchGraphs: grouping by rank (acyclic groups),
// min_block_size, torch_executed_ops, require_full_compilation, shape nodes, tuple elements, the
// dry-run report, and the importer's type promotion, symbol binding and output check.
#include <gtest/gtest.h>

#include "kiln/importer/importer.h"
#include "kiln/ir/verifier.h"
#include "kiln/partition/partition.h"
#include "kiln/text/printer.h"

namespace kiln {
namespace {

using Kind = TorchValue::Kind;

TorchValue node_ref(int64_t i) {
  TorchValue v;
  v.kind = Kind::kNode;
  v.i = i;
  return v;
}
TorchValue int_value(int64_t i) {
  TorchValue v;
  v.kind = Kind::kInt;
  v.i = i;
  return v;
}
TorchValue float_value(double f) {
  TorchValue v;
  v.kind = Kind::kFloat;
  v.f = f;
  return v;
}
TorchValue sym(const std::string& name, std::vector<TorchValue> items = {}) {
  TorchValue v;
  v.kind = Kind::kSymInt;
  v.s = name;
  v.items = std::move(items);
  return v;
}
TorchValue tensor_meta(const std::string& dtype, std::vector<TorchValue> dims) {
  TorchValue v;
  v.kind = Kind::kTensor;
  v.s = dtype;
  v.items = std::move(dims);
  return v;
}
TorchValue f32(int64_t a, int64_t b) { return tensor_meta("float32", {int_value(a), int_value(b)}); }

// A small graph builder: nodes appended in order, returning their index.
struct Builder {
  TorchGraph g;
  int32_t add(std::string name, std::string op, std::string target, std::vector<TorchValue> args,
              TorchValue meta) {
    TorchNode n;
    n.name = std::move(name);
    n.op = std::move(op);
    n.target = std::move(target);
    n.args = std::move(args);
    n.meta = std::move(meta);
    n.source = "model.py:" + std::to_string(g.nodes.size()) + " in forward\n    y = f(x)";
    g.nodes.push_back(std::move(n));
    return static_cast<int32_t>(g.nodes.size() - 1);
  }
  int32_t input(std::string name, TorchValue meta = f32(2, 3)) {
    return add(std::move(name), "placeholder", "", {}, std::move(meta));
  }
  int32_t op(std::string name, std::string target, std::vector<int32_t> ins,
             TorchValue meta = f32(2, 3)) {
    std::vector<TorchValue> args;
    for (int32_t i : ins) args.push_back(node_ref(i));
    if (target == "aten.add.Tensor" || target == "aten.sub.Tensor") args.push_back(int_value(1));
    return add(std::move(name), "call_function", std::move(target), std::move(args),
               std::move(meta));
  }
  void output(std::vector<int32_t> outs) {
    TorchValue list;
    list.kind = Kind::kList;
    for (int32_t o : outs) list.items.push_back(node_ref(o));
    add("output", "output", "", {list}, TorchValue{});
  }
};

PartitionOptions opts(int64_t min_block = 1) {
  PartitionOptions o;
  o.min_block_size = min_block;
  return o;
}

TEST(PartitionTest, UnsupportedOpSplitsAChainIntoTwoEngines) {
  Builder b;
  int32_t x = b.input("x");
  int32_t a = b.op("a", "aten.exp.default", {x});
  int32_t c = b.op("c", "aten.mul.Tensor", {a, a});
  int32_t u = b.op("u", "aten.special_bessel_j0.default", {c});
  int32_t d = b.op("d", "aten.add.Tensor", {u, c});
  b.output({d});
  Partition p = partition_graph(b.g, opts()).value();
  ASSERT_EQ(p.groups.size(), 2u);
  EXPECT_EQ(p.groups[0].nodes, (std::vector<int32_t>{a, c}));
  EXPECT_EQ(p.groups[0].inputs, (std::vector<int32_t>{x}));
  EXPECT_EQ(p.groups[0].outputs, (std::vector<int32_t>{c}));  // read by u and d
  EXPECT_EQ(p.groups[1].nodes, (std::vector<int32_t>{d}));
  EXPECT_EQ(p.groups[1].inputs, (std::vector<int32_t>{u, c}));
  EXPECT_EQ(p.nodes[u].group, -1);
  EXPECT_NE(p.nodes[u].reason.find("no converter for aten.special_bessel_j0.default"),
            std::string::npos);
}

TEST(PartitionTest, BranchesOfOneRankShareAnEngineAndNoCycleForms) {
  // x -> a -> u(unsupported) -> d ; x -> e (independent) ; d + e. `e` may join a's engine (rank 0)
  // but d cannot, or the engine would both feed u and wait for it.
  Builder b;
  int32_t x = b.input("x");
  int32_t a = b.op("a", "aten.exp.default", {x});
  int32_t u = b.op("u", "aten.special_bessel_j0.default", {a});
  int32_t e = b.op("e", "aten.neg.default", {x});
  int32_t d = b.op("d", "aten.add.Tensor", {u, e});
  b.output({d});
  Partition p = partition_graph(b.g, opts()).value();
  ASSERT_EQ(p.groups.size(), 2u);
  EXPECT_EQ(p.groups[0].nodes, (std::vector<int32_t>{a, e}));
  EXPECT_EQ(p.groups[1].nodes, (std::vector<int32_t>{d}));
}

TEST(PartitionTest, MinBlockSizeAndWholeGraphExemption) {
  Builder b;
  int32_t x = b.input("x");
  int32_t a = b.op("a", "aten.exp.default", {x});
  int32_t u = b.op("u", "aten.special_bessel_j0.default", {a});
  int32_t c = b.op("c", "aten.neg.default", {u});
  int32_t d = b.op("d", "aten.abs.default", {c});
  b.output({d});
  Partition p = partition_graph(b.g, opts(2)).value();
  ASSERT_EQ(p.groups.size(), 1u);  // {a} has 1 op < 2
  EXPECT_EQ(p.groups[0].nodes, (std::vector<int32_t>{c, d}));
  EXPECT_NE(p.nodes[a].reason.find("fewer than min_block_size=2"), std::string::npos);

  Builder whole;
  int32_t y = whole.input("y");
  whole.output({whole.op("n", "aten.neg.default", {y})});
  EXPECT_EQ(partition_graph(whole.g, opts(5)).value().groups.size(), 1u);
}

TEST(PartitionTest, TorchExecutedOpsMatchOverloadsAndPackets) {
  Builder b;
  int32_t x = b.input("x");
  int32_t a = b.op("a", "aten.exp.default", {x});
  int32_t c = b.op("c", "aten.neg.default", {a});
  b.output({c});
  PartitionOptions o = opts();
  o.torch_executed_ops = {"aten.exp"};
  Partition p = partition_graph(b.g, o).value();
  EXPECT_EQ(p.nodes[a].group, -1);
  EXPECT_EQ(p.nodes[a].reason, "listed in torch_executed_ops");
  o.torch_executed_ops = {"aten.neg.default"};
  p = partition_graph(b.g, o).value();
  EXPECT_EQ(p.nodes[c].group, -1);
  EXPECT_EQ(p.nodes[a].group, 0);
  o.torch_executed_ops = {"aten.ex"};  // a prefix of a name is not a match
  EXPECT_EQ(partition_graph(b.g, o).value().nodes[a].group, 0);
}

TEST(PartitionTest, RequireFullCompilationListsEveryUnsupportedNode) {
  Builder b;
  int32_t x = b.input("x");
  int32_t u = b.op("u", "aten.special_bessel_j0.default", {x});
  int32_t v = b.op("v", "aten.special_bessel_j1.default", {u});
  b.output({v});
  PartitionOptions o = opts();
  o.require_full_compilation = true;
  Expected<Partition> p = partition_graph(b.g, o);
  ASSERT_FALSE(p.ok());
  const std::string& m = p.status().message();
  EXPECT_NE(m.find("2 op(s)"), std::string::npos) << m;
  EXPECT_NE(m.find("node 'u' (aten.special_bessel_j0.default) at model.py:1"), std::string::npos) << m;
  EXPECT_NE(m.find("node 'v'"), std::string::npos) << m;
}

TEST(PartitionTest, ShapeNodesAreNotOpsAndNotEngineInputs) {
  Builder b;
  int32_t x = b.input("x", tensor_meta("float32", {sym("s0"), int_value(3)}));
  int32_t size = b.add("sym_size", "call_function", "aten.sym_size.int", {node_ref(x), int_value(0)},
                       sym("s0"));
  int32_t a = b.op("a", "aten.exp.default", {x}, tensor_meta("float32", {sym("s0"), int_value(3)}));
  b.output({a});
  Partition p = partition_graph(b.g, opts()).value();
  EXPECT_EQ(p.nodes[size].cls, NodeClass::kShape);
  ASSERT_EQ(p.groups.size(), 1u);
  EXPECT_EQ(p.groups[0].inputs, (std::vector<int32_t>{x}));
}

TEST(PartitionTest, SizesPassedAsGraphInputsAreShapeNodes) {
  // torch.compile(dynamic=True) passes s0 itself as a graph input next to x: f32[s0, 3]. An engine
  // that uses s0 reads it from x's shape; s0 is not an engine input.
  Builder b;
  int32_t s0 = b.add("s0", "placeholder", "", {}, sym("s0"));
  int32_t x = b.input("x", tensor_meta("float32", {sym("s0"), int_value(3)}));
  TorchValue shape;
  shape.kind = Kind::kList;
  shape.items = {int_value(3), node_ref(s0)};
  int32_t v = b.add("v", "call_function", "aten.view.default", {node_ref(x), shape},
                    tensor_meta("float32", {int_value(3), sym("s0")}));
  int32_t e = b.op("e", "aten.exp.default", {v}, tensor_meta("float32", {int_value(3), sym("s0")}));
  b.output({e});
  Partition p = partition_graph(b.g, opts()).value();
  EXPECT_EQ(p.nodes[s0].cls, NodeClass::kShape);
  ASSERT_EQ(p.groups.size(), 1u);
  EXPECT_EQ(p.groups[0].inputs, (std::vector<int32_t>{x}));
  Expected<Graph> g = import_group(
      b.g, GroupIO{p.groups[0].nodes, p.groups[0].inputs, p.groups[0].outputs, {}}, ImportOptions{});
  ASSERT_TRUE(g.ok()) << g.status().message();
}

TEST(PartitionTest, NodesWithoutAKernelOnTheDeviceStayInPyTorch) {
  // On CUDA a node runs in an engine only if the registry has an accepting CUDA kernel for the IR
  // op it becomes; which ops have one depends on the build, so the expectation asks the registry.
  Builder b;
  int32_t x = b.input("x");
  int32_t e = b.op("e", "aten.exp.default", {x});
  b.output({e});
  PartitionOptions o = opts();
  o.device = DeviceKind::kCuda;
  Partition p = partition_graph(b.g, o).value();
  const bool cuda_exp = !kernels_for(OpKind::kExp, DeviceKind::kCuda).empty();
  EXPECT_EQ(p.nodes[e].group >= 0, cuda_exp) << p.nodes[e].reason;
  if (!cuda_exp) {
    EXPECT_NE(p.nodes[e].reason.find("no cuda kernel for exp"), std::string::npos)
        << p.nodes[e].reason;
  }
  Partition cpu = partition_graph(b.g, opts()).value();
  EXPECT_GE(cpu.nodes[e].group, 0);  // the reference runs every op
}

TEST(PartitionTest, NumbersComputedInPyTorchAreNotEngineInputs) {
  // n = x.sum().item() runs in PyTorch and gives an unbacked size u0; the slice that uses it
  // cannot take a number as an engine input, so it stays in PyTorch and the exp after it does not.
  Builder b;
  int32_t x = b.input("x", tensor_meta("float32", {int_value(8)}));
  int32_t item = b.add("item", "call_function", "aten._local_scalar_dense.default", {node_ref(x)},
                       sym("u0"));
  int32_t s = b.add("s", "call_function", "aten.slice.Tensor",
                    {node_ref(x), int_value(0), int_value(0), node_ref(item), int_value(1)},
                    tensor_meta("float32", {sym("u0")}));
  int32_t e = b.op("e", "aten.exp.default", {x}, tensor_meta("float32", {int_value(8)}));
  b.output({s, e});
  Partition p = partition_graph(b.g, opts()).value();
  EXPECT_EQ(p.nodes[item].group, -1);
  EXPECT_EQ(p.nodes[s].group, -1);
  EXPECT_NE(p.nodes[s].reason.find("takes the number 'item' computed in PyTorch"),
            std::string::npos)
      << p.nodes[s].reason;
  EXPECT_GE(p.nodes[e].group, 0);
}

TEST(PartitionTest, InputsWithSizesEnginesCannotBindStayInPyTorch) {
  // u (PyTorch) produces a tensor whose size torch writes as CeilToInt(...): an engine could not
  // bind its symbols, so the consumer runs in PyTorch and says why.
  Builder b;
  int32_t x = b.input("x", tensor_meta("float32", {sym("s0")}));
  TorchValue odd;
  odd.kind = Kind::kOther;
  odd.s = "symbolic CeilToInt: CeilToInt(s0/2)";
  int32_t u = b.op("u", "aten.special_bessel_j0.default", {x}, tensor_meta("float32", {odd}));
  int32_t c = b.op("c", "aten.neg.default", {u}, tensor_meta("float32", {odd}));
  b.output({c});
  Partition p = partition_graph(b.g, opts()).value();
  EXPECT_EQ(p.nodes[c].group, -1);
  EXPECT_NE(p.nodes[c].reason.find("its input 'u' has a size kiln cannot express"),
            std::string::npos)
      << p.nodes[c].reason;
}

TEST(PartitionTest, ReportShowsCoverageEnginesSegmentsAndSourceLines) {
  Builder b;
  int32_t x = b.input("x");
  int32_t a = b.op("a", "aten.exp.default", {x});
  int32_t u = b.op("u", "aten.special_bessel_j0.default", {a});
  int32_t d = b.op("d", "aten.neg.default", {u});
  b.output({d});
  Partition p = partition_graph(b.g, opts()).value();
  std::string r = partition_report(b.g, p);
  EXPECT_NE(r.find("3 ops, 2 in 2 engine(s) (coverage 66.7%), 1 in PyTorch"), std::string::npos) << r;
  EXPECT_NE(r.find("Engine 0: 1 op(s)"), std::string::npos) << r;
  EXPECT_NE(r.find("PyTorch segment: 1 op(s)"), std::string::npos) << r;
  EXPECT_NE(r.find("at model.py:2 in forward: y = f(x)"), std::string::npos) << r;
  EXPECT_NE(r.find("aten.special_bessel_j0.default x1"), std::string::npos) << r;
}

TEST(ImporterTest, PromotesScalarsAndCastsBackAtTheOutputs) {
  // x: i64 tensor, x * 2.5 -> f32 (a Python float promotes ints to the default float dtype).
  Builder b;
  int32_t x = b.input("x", tensor_meta("int64", {int_value(4)}));
  int32_t m = b.add("m", "call_function", "aten.mul.Tensor", {node_ref(x), float_value(2.5)},
                    tensor_meta("float32", {int_value(4)}));
  b.output({m});
  Graph g = import_group(b.g, GroupIO{{m}, {x}, {m}, {}}, ImportOptions{}).value();
  EXPECT_TRUE(verify_graph(g).ok());
  std::string text = print_graph(g);
  EXPECT_NE(text.find("cast"), std::string::npos) << text;
  EXPECT_EQ(g.type(g.outputs[0]).dtype, DType::kF32);
}

TEST(ImporterTest, ChannelsLastInputsArriveNhwcAndArePermutedFirst) {
  Builder b;
  b.g.symbols = {{"s0", 1, 8, 4}};
  TorchValue nchw = tensor_meta("float32", {sym("s0"), int_value(3), int_value(5), int_value(7)});
  int32_t x = b.input("x", nchw);
  int32_t e = b.op("e", "aten.exp.default", {x}, nchw);
  b.output({e});
  Graph g = import_group(b.g, GroupIO{{e}, {x}, {e}, {0}}, ImportOptions{}).value();
  EXPECT_TRUE(verify_graph(g).ok());
  ASSERT_EQ(g.inputs.size(), 1u);
  EXPECT_EQ(g.values[g.inputs[0]].name, "x");
  EXPECT_EQ(g.type_text(g.type(g.inputs[0])), "f32[s0, 5, 7, 3]");
  ASSERT_FALSE(g.nodes.empty());
  EXPECT_EQ(g.nodes[0].op, OpKind::kPermute);
  EXPECT_EQ(g.nodes[0].attrs_as<PermuteAttrs>().perm, (std::vector<int64_t>{0, 3, 1, 2}));
  EXPECT_EQ(g.type_text(g.type(g.outputs[0])), "f32[s0, 3, 5, 7]");
  // Only rank-4 inputs, and only positions that exist.
  Builder b2;
  int32_t y = b2.input("y", f32(2, 3));
  int32_t f = b2.op("f", "aten.exp.default", {y});
  b2.output({f});
  Expected<Graph> bad = import_group(b2.g, GroupIO{{f}, {y}, {f}, {0}}, ImportOptions{});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("rank 4"), std::string::npos) << bad.status().message();
  bad = import_group(b2.g, GroupIO{{f}, {y}, {f}, {1}}, ImportOptions{});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("channels-last input #1"), std::string::npos);
  bad = import_group(b.g, GroupIO{{e}, {x}, {e}, {0, 0}}, ImportOptions{});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("listed twice"), std::string::npos)
      << bad.status().message();
}

TEST(ImporterTest, LowersF32ComputeToF16InsideKeepingF32Edges) {
  Builder b;
  int32_t x = b.input("x", f32(2, 3));
  int32_t e = b.op("e", "aten.exp.default", {x});
  b.output({e});
  ImportOptions o;
  o.f32_compute = DType::kF16;
  Graph g = import_group(b.g, GroupIO{{e}, {x}, {e}, {}}, o).value();
  EXPECT_EQ(g.type(g.inputs[0]).dtype, DType::kF32);
  EXPECT_EQ(g.type(g.outputs[0]).dtype, DType::kF32);
  bool has_f16_exp = false;
  for (const Node& n : g.nodes) {
    if (n.op == OpKind::kExp) has_f16_exp = g.type(n.outputs[0]).dtype == DType::kF16;
  }
  EXPECT_TRUE(has_f16_exp) << print_graph(g);
}

TEST(ImporterTest, SymbolsComeFromInputsWithRangesAndLinearDimsAreSolved) {
  // x: [s0, 3], y: [2*s1 + 1, 3] with s1 bound nowhere else: s1 = (t - 1) // 2.
  Builder b;
  b.g.symbols = {{"s0", 1, 8, 4}, {"s1", 1, 10, 3}};
  int32_t x = b.input("x", tensor_meta("float32", {sym("s0"), int_value(3)}));
  TorchValue two_s1_plus_1 = sym("+", {sym("*", {int_value(2), sym("s1")}), int_value(1)});
  int32_t y = b.input("y", tensor_meta("float32", {two_s1_plus_1, int_value(3)}));
  int32_t e = b.op("e", "aten.exp.default", {x}, tensor_meta("float32", {sym("s0"), int_value(3)}));
  int32_t f = b.op("f", "aten.exp.default", {y}, tensor_meta("float32", {two_s1_plus_1, int_value(3)}));
  b.output({e, f});
  Graph g = import_group(b.g, GroupIO{{e, f}, {x, y}, {e, f}, {}}, ImportOptions{}).value();
  ASSERT_EQ(g.symbols.size(), 2u);
  EXPECT_EQ(g.symbols[0].name, "s0");
  EXPECT_EQ(g.symbols[0].min, 1);
  EXPECT_EQ(g.symbols[0].max, 8);
  EXPECT_EQ(g.symbols[0].opt, 4);
  EXPECT_EQ(g.symbols[1].min, 3);   // 2*1 + 1
  EXPECT_EQ(g.symbols[1].max, 21);  // 2*10 + 1
  EXPECT_EQ(g.symbols[1].opt, 7);
}

TEST(ImporterTest, WrongMetadataFailsTheImportNamingTheNode) {
  // torch says exp's output is [2, 4]; the converter (correctly) produces [2, 3].
  Builder b;
  int32_t x = b.input("x", f32(2, 3));
  int32_t e = b.op("e", "aten.exp.default", {x}, f32(2, 4));
  b.output({e});
  Expected<Graph> g = import_group(b.g, GroupIO{{e}, {x}, {e}, {}}, ImportOptions{});
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("node 'e' (aten.exp.default)"), std::string::npos)
      << g.status().message();
  EXPECT_NE(g.status().message().find("where torch has"), std::string::npos);
}

TEST(ImporterTest, MalformedGraphsAndGroupsAreErrorsNotCrashes) {
  Builder b;
  int32_t x = b.input("x");
  int32_t e = b.op("e", "aten.exp.default", {x});
  b.g.nodes[e].args[0].i = 7;  // a reference past the end
  Expected<Partition> p = partition_graph(b.g, opts());
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("not an earlier node"), std::string::npos);
  b.g.nodes[e].args[0].i = x;
  Expected<Graph> g = import_group(b.g, GroupIO{{e}, {x}, {42}, {}}, ImportOptions{});
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("node #42"), std::string::npos);
  EXPECT_EQ(import_support(b.g, 99, ImportOptions{}), "no such node");
}

TEST(ImporterTest, SupportChecksDtypesAndTargets) {
  Builder b;
  int32_t x = b.input("x", tensor_meta("float64", {int_value(2)}));
  int32_t e = b.op("e", "aten.exp.default", {x}, tensor_meta("float64", {int_value(2)}));
  int32_t z = b.op("z", "aten.not_an_op.default", {x}, tensor_meta("float64", {int_value(2)}));
  EXPECT_NE(import_support(b.g, e, ImportOptions{}).find("set truncate_double=True"),
            std::string::npos);
  ImportOptions truncate;
  truncate.truncate_double = true;
  EXPECT_EQ(import_support(b.g, e, truncate), "");
  EXPECT_NE(import_support(b.g, z, truncate).find("no converter"), std::string::npos);
}

}  // namespace
}  // namespace kiln
