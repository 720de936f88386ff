// The kiln IR graph: symbols, values and nodes in topological order.
//
// A Graph is plain data. Values are numbered (ValueId) and typed (dtype + symbolic shape); each node
// reads values and defines new ones. Graph inputs and outputs are values; weights are `constant`
// nodes. Node order is a valid topological order at all times. Passes edit a Graph in place and may
// leave unused values behind; graph_compact() renumbers. This file does not print, parse, verify or
// infer shapes: those live in printer.h, parser.h, verifier.h and shape_inference.h.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "kiln/ir/attrs.h"
#include "kiln/ir/dim_expr.h"
#include "kiln/ir/op.h"
#include "kiln/support/status.h"

namespace kiln {

using ValueId = int32_t;
inline constexpr ValueId kNoValue = -1;  // an absent optional input

// A shape symbol: a dynamic dim with its allowed range and the size kernels are tuned for.
struct SymbolInfo {
  std::string name;
  int64_t min = 1;
  int64_t max = std::numeric_limits<int32_t>::max();
  int64_t opt = 1;
};

struct TensorType {
  DType dtype = DType::kF32;
  Shape shape;
  int64_t rank() const { return static_cast<int64_t>(shape.size()); }
  bool operator==(const TensorType& other) const = default;
};

struct Value {
  std::string name;  // graph inputs and outputs have names; others may be empty
  TensorType type;
};

struct Node {
  OpKind op = OpKind::kConstant;
  std::vector<ValueId> inputs;   // kNoValue for an absent optional input
  std::vector<ValueId> outputs;
  Attrs attrs;
  std::string loc;  // where it came from (FX node and source line); may be empty

  template <typename A>
  const A& attrs_as() const {
    return std::get<A>(attrs);
  }
  template <typename A>
  A& attrs_as() {
    return std::get<A>(attrs);
  }
};

struct Graph {
  std::string name = "main";
  std::vector<SymbolInfo> symbols;
  std::vector<Value> values;
  std::vector<ValueId> inputs;
  std::vector<Node> nodes;  // topological order
  std::vector<ValueId> outputs;

  const TensorType& type(ValueId v) const { return values[static_cast<size_t>(v)].type; }
  // Name of a symbol for printing and messages ("s3" if the index is out of range).
  std::string symbol_name(int32_t index) const;
  // Text of a dim or shape with this graph's symbol names: "batch*4", "[batch, 3, 224, 224]".
  std::string dim_text(const DimExpr& dim) const;
  std::string shape_text(const Shape& shape) const;
  std::string type_text(const TensorType& type) const;  // "f32[batch, 3]"
};

// Adds a symbol and returns a dim that refers to it. Fails if the name exists or min > opt > max.
Expected<DimExpr> graph_add_symbol(Graph& g, SymbolInfo symbol);
// Index of the symbol with this name, or -1.
int32_t graph_find_symbol(const Graph& g, std::string_view name);
// Adds a graph input.
ValueId graph_add_input(Graph& g, std::string name, TensorType type);
// Appends a node after inferring its output types from its inputs (shape_inference.h). Returns the
// new output values. Fails, changing nothing, if the inputs or attributes are invalid for the op.
Expected<std::vector<ValueId>> graph_add_node(Graph& g, OpKind op, std::vector<ValueId> inputs,
                                              Attrs attrs, std::string loc = "");
// Convenience for single-output ops.
Expected<ValueId> graph_add_node1(Graph& g, OpKind op, std::vector<ValueId> inputs, Attrs attrs,
                                  std::string loc = "");
// Adds a `constant` node holding a copy of `bytes` (which must match the type's size).
Expected<ValueId> graph_add_constant(Graph& g, TensorType type, const void* bytes, size_t size);
// Replaces every use of `from` (node inputs and graph outputs) with `to`.
void graph_replace_uses(Graph& g, ValueId from, ValueId to);
// For each value, the index of the node that defines it, or -1 (graph inputs, unused ids).
std::vector<int32_t> graph_producers(const Graph& g);
// For each value, how many node inputs and graph outputs read it.
std::vector<int32_t> graph_use_counts(const Graph& g);
// Drops values no node or input defines and renumbers the rest in definition order.
void graph_compact(Graph& g);

}  // namespace kiln
