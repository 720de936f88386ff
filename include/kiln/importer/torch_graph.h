// TorchGraph: an FX graph of ATen ops as plain data, the interchange between kiln's Python layer and
// the C++ importer and partitioner.
//
// python/kiln/_interchange.py fills it from a torch.fx.GraphModule (the only place Python walks a
// graph); nothing here knows torch. Arguments of ATen overloads arrive normalized: every schema
// argument positionally, defaults filled in. Weights arrive by pointer; the caller keeps them alive
// while the importer runs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kiln/support/status.h"

namespace kiln {

// One argument or metadata value: a small tree.
struct TorchValue {
  enum class Kind : uint8_t {
    kNone,
    kBool,    // b
    kInt,     // i
    kFloat,   // f
    kString,  // s
    kDType,   // s: torch dtype name without "torch." ("float32", "int64", ...)
    kNode,    // i: index of the node whose value this is
    kList,    // items (lists and tuples)
    kTensor,  // metadata of a tensor: s = dtype name, items = dims (kInt or kSymInt)
    kSymInt,  // a symbolic integer: s = symbol name (leaf) or one of "+ * // % min max" over items
    kOther,   // anything else (device, layout, memory format, ...): s = its repr
  };
  Kind kind = Kind::kNone;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;
  std::vector<TorchValue> items;

  bool is_none() const { return kind == Kind::kNone; }
  bool is_node() const { return kind == Kind::kNode; }
  // Human-readable text ("%conv1", "[1, 2]", "f32[s0, 3]") for messages.
  std::string to_string() const;
};

struct TorchNode {
  std::string name;    // the FX node name
  std::string op;      // placeholder, get_attr, call_function, output
  std::string target;  // "aten.convolution.default", "operator.getitem", "sym_size.int", ...
  std::vector<TorchValue> args;
  TorchValue meta;     // meta["val"]: kTensor, kList of them, kSymInt, kInt, ... or kNone
  std::string source;  // "model.py:42 in forward\n    x = self.conv(x)" or ""
  // get_attr of a tensor: its bytes (contiguous, row-major, dtype and shape as in meta).
  const void* data = nullptr;
  size_t nbytes = 0;
};

// A shape symbol of the graph, with its range and the size to optimise for.
struct TorchSymbol {
  std::string name;
  int64_t min = 1;
  int64_t max = 0;
  int64_t opt = 1;
};

struct TorchGraph {
  std::vector<TorchNode> nodes;  // topological order; the last is "output"
  std::vector<TorchSymbol> symbols;
  // Where the node is, for messages: "node 'conv1' (aten.convolution.default) at model.py:42".
  std::string node_context(int32_t index) const;
};

// Checks what the importer and partitioner rely on: every node reference points at an earlier
// node, and list/tensor/SymInt nesting is bounded. The binding calls it on graphs from Python.
Status validate_torch_graph(const TorchGraph& tg);

}  // namespace kiln
