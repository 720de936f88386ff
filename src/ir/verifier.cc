// The IR verifier: walks a Graph once, in node order, and returns the first broken invariant.
// Typing is delegated to shape inference (infer_node_types), so an op's rules live in one place;
// this file checks the structure around them (ids, definitions, counts, symbols, names, f64).
//
// Deliberately not here: anything that needs symbol values or kernels (whether a node can run on a
// device is the kernel registry's question), and no attempt to report more than one problem.
#include "kiln/ir/verifier.h"

#include <set>

#include "kiln/ir/shape_inference.h"

namespace kiln {
namespace {

// Input names follow the text format's identifiers: [A-Za-z_][A-Za-z0-9_.]*.
bool is_identifier(std::string_view s) {
  auto start = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (s.empty() || !start(s[0])) return false;
  for (char c : s.substr(1)) {
    if (!start(c) && !(c >= '0' && c <= '9') && c != '.') return false;
  }
  return true;
}

// Collects the symbols of every DimExpr field of an attribute struct.
struct CollectSymbols {
  std::set<int32_t>* out;
  void operator()(const char*, const DimExpr& d) {
    for (int32_t s : d.symbols()) out->insert(s);
  }
  void operator()(const char* name, const std::vector<DimExpr>& dims) {
    for (const DimExpr& d : dims) (*this)(name, d);
  }
  template <typename T>
  void operator()(const char*, const T&) {}
};

void collect_symbols(const Shape& shape, std::set<int32_t>& out) {
  for (const DimExpr& d : shape) {
    for (int32_t s : d.symbols()) out.insert(s);
  }
}

class Verifier {
 public:
  explicit Verifier(const Graph& g) : g_(g), defined_(g.values.size(), false) {}

  Status run() {
    KILN_RETURN_IF_ERROR(check_inputs());
    for (size_t i = 0; i < g_.nodes.size(); ++i) KILN_RETURN_IF_ERROR(check_node(i));
    KILN_RETURN_IF_ERROR(check_outputs());
    return check_symbols();
  }

 private:
  bool in_range(ValueId v) const { return v >= 0 && static_cast<size_t>(v) < g_.values.size(); }

  Status check_value_type(ValueId v, std::string_view where) {
    const TensorType& t = g_.type(v);
    if (t.dtype == DType::kF64) {
      return invalid_argument(where, ": value %", v, " has type ", g_.type_text(t),
                              "; f64 is not allowed in a kiln graph (cast to f32)");
    }
    collect_symbols(t.shape, used_symbols_);
    return ok_status();
  }

  Status check_inputs() {
    std::set<std::string> names;
    for (size_t i = 0; i < g_.inputs.size(); ++i) {
      const ValueId v = g_.inputs[i];
      if (!in_range(v)) {
        return invalid_argument("graph input ", i, " refers to value %", v,
                                ", which does not exist (", g_.values.size(), " values)");
      }
      const std::string& name = g_.values[v].name;
      if (!is_identifier(name)) {
        return invalid_argument("graph input ", i, " needs a name that is an identifier, got '",
                                name, "'");
      }
      if (!names.insert(name).second) {
        return invalid_argument("graph input name '", name, "' is used twice");
      }
      if (defined_[v]) {
        return invalid_argument("graph input ", i, " (value %", v, ") is listed twice");
      }
      defined_[v] = true;
      KILN_RETURN_IF_ERROR(check_value_type(v, str_cat("graph input '", name, "'")));
      for (const DimExpr& d : g_.type(v).shape) {
        if (std::optional<int32_t> s = d.as_symbol()) bound_symbols_.insert(*s);
      }
    }
    return ok_status();
  }

  Status check_node(size_t index) {
    const Node& n = g_.nodes[index];
    const OpInfo& info = op_info(n.op);
    const std::string where =
        str_cat("node ", index, " (", info.name, n.loc.empty() ? "" : " at ", n.loc, ")");
    auto error = [&](const auto&... args) { return invalid_argument(where, ": ", args...); };

    // 1. Attributes and operand counts.
    if (!attrs_match_op(n.op, n.attrs)) return error("attributes of the wrong kind for the op");
    const int num_in = static_cast<int>(n.inputs.size());
    if (num_in < info.min_inputs || (info.max_inputs >= 0 && num_in > info.max_inputs)) {
      std::string range;
      if (info.max_inputs < 0) {
        range = " or more";
      } else if (info.max_inputs != info.min_inputs) {
        range = str_cat(" to ", info.max_inputs);
      }
      return error("has ", num_in, " inputs, expected ", info.min_inputs, range);
    }
    // 2. Inputs: defined earlier, absent only in optional positions.
    for (int i = 0; i < num_in; ++i) {
      const ValueId v = n.inputs[i];
      if (v == kNoValue) {
        if (i < info.min_inputs || info.max_inputs < 0) return error("input ", i, " is required");
        continue;
      }
      if (!in_range(v)) return error("input ", i, " is value %", v, ", which does not exist");
      if (!defined_[v]) {
        return error("input ", i, " uses value %", v, " before it is defined");
      }
    }
    std::visit([&](const auto& a) { a.visit(CollectSymbols{&used_symbols_}); }, n.attrs);
    // 3. Outputs: the right number, each a fresh value.
    size_t expected_outputs = static_cast<size_t>(info.num_outputs);
    if (info.num_outputs < 0) {
      const SplitAttrs* split = std::get_if<SplitAttrs>(&n.attrs);
      expected_outputs = split ? split->sizes.size() : 0;
    }
    if (n.outputs.size() != expected_outputs) {
      return error("has ", n.outputs.size(), " outputs, expected ", expected_outputs);
    }
    for (size_t i = 0; i < n.outputs.size(); ++i) {
      const ValueId v = n.outputs[i];
      if (!in_range(v)) return error("output ", i, " is value %", v, ", which does not exist");
      if (defined_[v]) return error("output ", i, " redefines value %", v);
      defined_[v] = true;
      KILN_RETURN_IF_ERROR(check_value_type(v, where));
    }
    // 4. Output types agree with shape inference.
    // (infer_output_types rather than infer_node_types: `where` already names the location.)
    std::vector<const TensorType*> in_types;
    for (ValueId v : n.inputs) in_types.push_back(v == kNoValue ? nullptr : &g_.type(v));
    Expected<std::vector<TensorType>> types = infer_output_types(n.op, n.attrs, in_types);
    if (!types.ok()) return types.status().with_context(where);
    if (types->size() != n.outputs.size()) {
      return error("shape inference gives ", types->size(), " outputs, the node has ",
                   n.outputs.size());
    }
    for (size_t i = 0; i < n.outputs.size(); ++i) {
      const TensorType& have = g_.type(n.outputs[i]);
      if (have != (*types)[i]) {
        return error("output ", i, " (value %", n.outputs[i], ") has type ", g_.type_text(have),
                     " but shape inference gives ", g_.type_text((*types)[i]));
      }
    }
    return ok_status();
  }

  Status check_outputs() {
    if (g_.outputs.empty()) return invalid_argument("the graph has no outputs");
    for (size_t i = 0; i < g_.outputs.size(); ++i) {
      const ValueId v = g_.outputs[i];
      if (!in_range(v)) {
        return invalid_argument("graph output ", i, " refers to value %", v,
                                ", which does not exist");
      }
      if (!defined_[v]) {
        return invalid_argument("graph output ", i, " (value %", v, ") is never defined");
      }
    }
    return ok_status();
  }

  Status check_symbols() {
    for (int32_t s : used_symbols_) {
      if (s < 0 || static_cast<size_t>(s) >= g_.symbols.size()) {
        return invalid_argument("shape symbol #", s, " is used but the graph declares only ",
                                g_.symbols.size(), " symbols");
      }
      if (!bound_symbols_.count(s)) {
        return invalid_argument("shape symbol '", g_.symbol_name(s),
                                "' is used but no graph input has a dim that is exactly '",
                                g_.symbol_name(s), "', so its value cannot be known at run time");
      }
    }
    return ok_status();
  }

  const Graph& g_;
  std::vector<bool> defined_;
  std::set<int32_t> used_symbols_;
  std::set<int32_t> bound_symbols_;
};

}  // namespace

Status verify_graph(const Graph& g) { return Verifier(g).run(); }

}  // namespace kiln
