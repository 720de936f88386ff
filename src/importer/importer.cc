// import_support and import_group: the generic part of the importer around the converter table.
// Generic checks (tensor outputs, dtypes engines hold) come before each converter's own check;
// after each conversion the IR types are compared with torch's metadata, so a converter that
// computes a wrong shape fails the import instead of producing a wrong engine.
#include <algorithm>
#include <vector>

#include "converter.h"

namespace kiln {
namespace {

using importer::ImportContext;
using Kind = TorchValue::Kind;

bool is_scalar_meta(const TorchValue& m) {
  return m.kind == Kind::kSymInt || m.kind == Kind::kInt || m.kind == Kind::kFloat ||
         m.kind == Kind::kBool;
}

bool is_assert_target(std::string_view t) {
  return t.find("assert") != std::string_view::npos ||
         t.find("sym_constrain_range") != std::string_view::npos ||
         t.find("_check") != std::string_view::npos;
}

// The tensor metadata values a node produces (one, or one per tuple element).
std::vector<const TorchValue*> output_metas(const TorchNode& n) {
  if (n.meta.kind == Kind::kTensor) return {&n.meta};
  std::vector<const TorchValue*> out;
  if (n.meta.kind == Kind::kList) {
    for (const TorchValue& item : n.meta.items) out.push_back(&item);
  }
  return out;
}

// A size expression the importer can read: ints and symbols under + * // % min max.
bool readable_dim(const TorchValue& d) {
  if (d.kind == Kind::kInt) return true;
  if (d.kind != Kind::kSymInt) return false;
  static const char* kOps[] = {"+", "*", "//", "%", "min", "max"};
  if (!d.items.empty() && std::find(std::begin(kOps), std::end(kOps), d.s) == std::end(kOps)) {
    return false;
  }
  return std::all_of(d.items.begin(), d.items.end(), readable_dim);
}

std::string dtype_reason(const ImportContext& ctx, const TorchValue& m) {
  if (m.kind != Kind::kTensor || ctx.engine_dtype(m.s)) return "";
  if (m.s == "float64") return "float64 tensors are not supported (set truncate_double=True)";
  return str_cat("tensors of dtype ", m.s, " are not supported");
}

// Every tensor argument's dtype, recursively through lists.
std::string args_reason(const ImportContext& ctx, const TorchGraph& tg, const TorchValue& a) {
  if (a.kind == Kind::kList) {
    for (const TorchValue& item : a.items) {
      std::string r = args_reason(ctx, tg, item);
      if (!r.empty()) return r;
    }
    return "";
  }
  if (a.kind != Kind::kNode) return "";
  const TorchNode& src = tg.nodes[static_cast<size_t>(a.i)];
  if (src.meta.kind == Kind::kList) return "";  // tuples are read through getitem
  return dtype_reason(ctx, src.meta);
}

// Checks the converted values of node `index` against its torch metadata.
Status check_types(const ImportContext& ctx, const Graph& g, const TorchGraph& tg, int32_t index) {
  const TorchNode& n = tg.nodes[static_cast<size_t>(index)];
  const std::vector<ValueId>* values = ctx.outputs_of(index);
  if (values == nullptr) return internal_error("the converter set no output");
  std::vector<const TorchValue*> metas = output_metas(n);
  if (metas.size() != values->size()) {
    return internal_error("the converter produced ", values->size(), " values; torch has ",
                          metas.size());
  }
  std::vector<int64_t> opt;
  for (const SymbolInfo& s : g.symbols) opt.push_back(s.opt);
  for (size_t k = 0; k < metas.size(); ++k) {
    const TensorType& t = g.type((*values)[k]);
    Expected<DType> want = ctx.dtype_of(*metas[k]);
    KILN_RETURN_IF_ERROR(want);
    if (t.dtype != *want || t.rank() != static_cast<int64_t>(metas[k]->items.size())) {
      return internal_error("the converter produced ", g.type_text(t), " where torch has ",
                            metas[k]->to_string());
    }
    for (size_t d = 0; d < t.shape.size(); ++d) {
      Expected<int64_t> ours = t.shape[d].evaluate(opt);
      const TorchValue& theirs = metas[k]->items[d];
      if (theirs.kind == Kind::kInt && ours.ok() && *ours != theirs.i) {
        return internal_error("the converter produced ", g.type_text(t), " where torch has ",
                              metas[k]->to_string());
      }
    }
  }
  return ok_status();
}

}  // namespace

std::string input_size_support(const TorchValue& meta) {
  if (meta.kind != Kind::kTensor) return "";
  for (const TorchValue& d : meta.items) {
    if (!readable_dim(d)) return str_cat("a size kiln cannot express (", d.to_string(), ")");
  }
  return "";
}

NodeClass classify_node(const TorchGraph& tg, int32_t index) {
  const TorchNode& n = tg.nodes[static_cast<size_t>(index)];
  // A size passed in as a graph input (torch.compile with dynamic shapes): engines read it from
  // their tensor inputs' shapes, as they do sym_size.
  if (n.op == "placeholder" && n.meta.kind == Kind::kSymInt) return NodeClass::kShape;
  if (n.op != "call_function") return NodeClass::kStructural;
  if (is_scalar_meta(n.meta)) {
    // Sizes and arithmetic on them; a tensor op that yields a Python scalar (item) reads data.
    bool reads_data = n.target.rfind("aten.", 0) == 0 && n.target.find("sym_") == std::string::npos;
    return reads_data ? NodeClass::kCompute : NodeClass::kShape;
  }
  if (n.meta.kind == Kind::kNone && is_assert_target(n.target)) return NodeClass::kIgnored;
  return NodeClass::kCompute;
}

std::string import_support(const TorchGraph& tg, int32_t index, const ImportOptions& options) {
  if (index < 0 || static_cast<size_t>(index) >= tg.nodes.size()) return "no such node";
  if (classify_node(tg, index) != NodeClass::kCompute) return "";
  const TorchNode& n = tg.nodes[static_cast<size_t>(index)];
  const importer::Converter* c = importer::find_converter(n.target);
  if (c == nullptr) return str_cat("kiln has no converter for ", n.target);
  ImportContext ctx(tg, options, nullptr);
  std::vector<const TorchValue*> outs = output_metas(n);
  if (outs.empty() || (n.meta.kind == Kind::kList && outs.size() != n.meta.items.size())) {
    return str_cat("it produces ", n.meta.to_string(), ", not tensors");
  }
  for (const TorchValue* m : outs) {
    if (m->kind != Kind::kTensor) return str_cat("it produces ", m->to_string(), ", not tensors");
    std::string r = dtype_reason(ctx, *m);
    if (!r.empty()) return r;
  }
  for (const TorchValue& a : n.args) {
    std::string r = args_reason(ctx, tg, a);
    if (!r.empty()) return r;
  }
  return c->check ? c->check(ctx, n) : "";
}

namespace {

// Input `v` ([N, C, H, W]) becomes an [N, H, W, C] input, with the same name, and a permute at the
// front of the graph gives its old value to the nodes that read it.
Status take_channels_last(Graph& g, ValueId v) {
  const TensorType t = g.type(v);
  if (t.shape.size() != 4) {
    return invalid_argument("a channels-last input must have rank 4, got ", g.type_text(t));
  }
  TensorType nhwc = t;
  nhwc.shape = {t.shape[0], t.shape[2], t.shape[3], t.shape[1]};
  g.values.push_back(Value{g.values[static_cast<size_t>(v)].name, nhwc});
  const ValueId in = static_cast<ValueId>(g.values.size() - 1);
  KILN_ASSIGN_OR_RETURN(ValueId nchw, graph_add_node1(g, OpKind::kPermute, {in},
                                                      PermuteAttrs{{0, 3, 1, 2}}));
  graph_replace_uses(g, v, nchw);
  std::rotate(g.nodes.begin(), g.nodes.end() - 1, g.nodes.end());  // the permute goes first
  std::replace(g.inputs.begin(), g.inputs.end(), v, in);
  g.values[static_cast<size_t>(v)].name.clear();
  graph_compact(g);
  return ok_status();
}

}  // namespace

Expected<Graph> import_group(const TorchGraph& tg, const GroupIO& group,
                             const ImportOptions& options) {
  KILN_RETURN_IF_ERROR(validate_torch_graph(tg));
  for (const std::vector<int32_t>* list : {&group.nodes, &group.inputs, &group.outputs}) {
    for (int32_t i : *list) {
      if (i < 0 || static_cast<size_t>(i) >= tg.nodes.size()) {
        return invalid_argument("the group names node #", i, "; the graph has ", tg.nodes.size());
      }
    }
  }
  Graph g;
  ImportContext ctx(tg, options, &g);
  // 1. Symbols and inputs.
  KILN_RETURN_IF_ERROR(ctx.map_symbols(group.inputs));
  for (int32_t in : group.inputs) {
    Status s = ctx.bind_input(in);
    if (!s.ok()) return s.with_context(tg.node_context(in));
  }
  // 2. One converter per node, each checked against torch's metadata.
  for (int32_t index : group.nodes) {
    const TorchNode& n = tg.nodes[static_cast<size_t>(index)];
    const importer::Converter* c = importer::find_converter(n.target);
    if (c == nullptr) return unsupported(tg.node_context(index), ": no converter");
    ctx.begin_node(index);
    Status s = c->convert(ctx, n);
    if (s.ok()) s = check_types(ctx, g, tg, index);
    if (!s.ok()) return s.with_context(str_cat("converting ", tg.node_context(index)));
  }
  // 3. Outputs, in the dtypes torch expects.
  for (int32_t out : group.outputs) {
    const std::vector<ValueId>* values = ctx.outputs_of(out);
    if (values == nullptr || values->size() != 1) {
      return internal_error(tg.node_context(out), " is not a tensor of this engine");
    }
    const TorchValue& m = tg.nodes[static_cast<size_t>(out)].meta;
    std::optional<DType> boundary = ImportContext::boundary_dtype(m.s);
    if (!boundary) return unsupported(tg.node_context(out), ": engine outputs cannot be ", m.s);
    ctx.begin_node(out);
    KILN_ASSIGN_OR_RETURN(ValueId v, ctx.cast((*values)[0], *boundary));
    if (g.values[static_cast<size_t>(v)].name.empty()) {
      g.values[static_cast<size_t>(v)].name = tg.nodes[static_cast<size_t>(out)].name;
    }
    g.outputs.push_back(v);
  }
  // 4. Channels-last inputs (each once: a second permute would silently transpose it again).
  std::vector<bool> taken(group.inputs.size(), false);
  for (int32_t k : group.channels_last_inputs) {
    if (k < 0 || static_cast<size_t>(k) >= group.inputs.size()) {
      return invalid_argument("channels-last input #", k, " of ", group.inputs.size(), " inputs");
    }
    if (taken[static_cast<size_t>(k)]) {
      return invalid_argument("channels-last input #", k, " is listed twice");
    }
    taken[static_cast<size_t>(k)] = true;
    Status s = take_channels_last(g, g.inputs[static_cast<size_t>(k)]);
    if (!s.ok()) return s.with_context(tg.node_context(group.inputs[static_cast<size_t>(k)]));
  }
  return g;
}

}  // namespace kiln
