// Graph construction and editing helpers. Type inference is delegated to shape_inference.cc; this
// file only keeps the graph's bookkeeping (ids, symbols, uses) consistent.
#include "kiln/ir/graph.h"

#include <cstring>
#include <unordered_map>

#include "kiln/ir/shape_inference.h"

namespace kiln {

TensorData TensorData::copy_of(const void* src, size_t size) {
  std::shared_ptr<uint8_t> buf(new uint8_t[size == 0 ? 1 : size], std::default_delete<uint8_t[]>());
  if (size != 0) std::memcpy(buf.get(), src, size);
  return TensorData{std::move(buf), size};
}

std::string Graph::symbol_name(int32_t index) const {
  if (index >= 0 && static_cast<size_t>(index) < symbols.size()) return symbols[index].name;
  return str_cat("s", index);
}

std::string Graph::dim_text(const DimExpr& dim) const {
  return dim.to_string([this](int32_t i) { return symbol_name(i); });
}

std::string Graph::shape_text(const Shape& shape) const {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ", ";
    out += dim_text(shape[i]);
  }
  return out + "]";
}

std::string Graph::type_text(const TensorType& t) const {
  return str_cat(dtype_name(t.dtype), shape_text(t.shape));
}

Expected<DimExpr> graph_add_symbol(Graph& g, SymbolInfo symbol) {
  if (symbol.name.empty()) return invalid_argument("a shape symbol needs a name");
  if (graph_find_symbol(g, symbol.name) >= 0) {
    return invalid_argument("shape symbol '", symbol.name, "' is declared twice");
  }
  if (!(symbol.min >= 0 && symbol.min <= symbol.opt && symbol.opt <= symbol.max)) {
    return invalid_argument("shape symbol '", symbol.name, "' needs 0 <= min <= opt <= max, got min=",
                            symbol.min, " opt=", symbol.opt, " max=", symbol.max);
  }
  g.symbols.push_back(std::move(symbol));
  return DimExpr::symbol(static_cast<int32_t>(g.symbols.size() - 1));
}

int32_t graph_find_symbol(const Graph& g, std::string_view name) {
  for (size_t i = 0; i < g.symbols.size(); ++i) {
    if (g.symbols[i].name == name) return static_cast<int32_t>(i);
  }
  return -1;
}

ValueId graph_add_input(Graph& g, std::string name, TensorType type) {
  g.values.push_back(Value{std::move(name), std::move(type)});
  ValueId id = static_cast<ValueId>(g.values.size() - 1);
  g.inputs.push_back(id);
  return id;
}

Expected<std::vector<ValueId>> graph_add_node(Graph& g, OpKind op, std::vector<ValueId> inputs,
                                              Attrs attrs, std::string loc) {
  const OpInfo& info = op_info(op);
  if (!attrs_match_op(op, attrs)) {
    return internal_error(info.name, ": attributes of the wrong kind");
  }
  for (ValueId v : inputs) {
    if (v != kNoValue && (v < 0 || static_cast<size_t>(v) >= g.values.size())) {
      return invalid_argument(info.name, ": input value #", v, " does not exist");
    }
  }
  Node node{op, std::move(inputs), {}, std::move(attrs), std::move(loc)};
  KILN_ASSIGN_OR_RETURN(std::vector<TensorType> types, infer_node_types(g, node));
  for (TensorType& t : types) {
    g.values.push_back(Value{"", std::move(t)});
    node.outputs.push_back(static_cast<ValueId>(g.values.size() - 1));
  }
  std::vector<ValueId> outputs = node.outputs;
  g.nodes.push_back(std::move(node));
  return outputs;
}

Expected<ValueId> graph_add_node1(Graph& g, OpKind op, std::vector<ValueId> inputs, Attrs attrs,
                                  std::string loc) {
  KILN_ASSIGN_OR_RETURN(std::vector<ValueId> outs,
                        graph_add_node(g, op, std::move(inputs), std::move(attrs), std::move(loc)));
  if (outs.size() != 1) {
    return internal_error(op_name(op), " has ", outs.size(), " outputs, expected one");
  }
  return outs[0];
}

Expected<ValueId> graph_add_constant(Graph& g, TensorType type, const void* bytes, size_t size) {
  int64_t expected = dtype_size(type.dtype);
  for (const DimExpr& d : type.shape) {
    if (!d.is_constant() || d.constant_value() < 0) {
      return invalid_argument("a constant needs a static shape, got ", g.type_text(type));
    }
    expected *= d.constant_value();
  }
  if (static_cast<size_t>(expected) != size) {
    return invalid_argument("constant of type ", g.type_text(type), " needs ", expected,
                            " bytes, got ", size);
  }
  ConstantAttrs attrs;
  attrs.dtype = type.dtype;
  for (const DimExpr& d : type.shape) attrs.shape.push_back(d.constant_value());
  attrs.data = TensorData::copy_of(bytes, size);
  Node node{OpKind::kConstant, {}, {}, std::move(attrs), ""};
  g.values.push_back(Value{"", std::move(type)});
  node.outputs.push_back(static_cast<ValueId>(g.values.size() - 1));
  g.nodes.push_back(std::move(node));
  return g.nodes.back().outputs[0];
}

void graph_replace_uses(Graph& g, ValueId from, ValueId to) {
  for (Node& n : g.nodes) {
    for (ValueId& v : n.inputs) {
      if (v == from) v = to;
    }
  }
  for (ValueId& v : g.outputs) {
    if (v == from) v = to;
  }
}

std::vector<int32_t> graph_producers(const Graph& g) {
  std::vector<int32_t> producers(g.values.size(), -1);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (ValueId v : g.nodes[i].outputs) {
      if (v >= 0 && static_cast<size_t>(v) < producers.size()) producers[v] = static_cast<int32_t>(i);
    }
  }
  return producers;
}

std::vector<int32_t> graph_use_counts(const Graph& g) {
  std::vector<int32_t> uses(g.values.size(), 0);
  for (const Node& n : g.nodes) {
    for (ValueId v : n.inputs) {
      if (v >= 0 && static_cast<size_t>(v) < uses.size()) ++uses[v];
    }
  }
  for (ValueId v : g.outputs) {
    if (v >= 0 && static_cast<size_t>(v) < uses.size()) ++uses[v];
  }
  return uses;
}

void graph_compact(Graph& g) {
  std::vector<ValueId> remap(g.values.size(), kNoValue);
  std::vector<Value> values;
  auto keep = [&](ValueId v) {
    if (v < 0 || static_cast<size_t>(v) >= remap.size() || remap[v] != kNoValue) return;
    remap[v] = static_cast<ValueId>(values.size());
    values.push_back(std::move(g.values[v]));
  };
  for (ValueId v : g.inputs) keep(v);
  for (const Node& n : g.nodes) {
    for (ValueId v : n.outputs) keep(v);
  }
  auto map = [&](ValueId v) {
    return (v >= 0 && static_cast<size_t>(v) < remap.size()) ? remap[v] : kNoValue;
  };
  for (ValueId& v : g.inputs) v = map(v);
  for (Node& n : g.nodes) {
    for (ValueId& v : n.inputs) v = map(v);
    for (ValueId& v : n.outputs) v = map(v);
  }
  for (ValueId& v : g.outputs) v = map(v);
  g.values = std::move(values);
}

}  // namespace kiln
