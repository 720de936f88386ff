// Text of TorchGraph values and node positions for messages. Nothing else about TorchGraph lives
// here: it is plain data filled by python/kiln/_interchange.py.
#include "kiln/importer/torch_graph.h"

#include "kiln/support/status.h"

namespace kiln {

std::string TorchValue::to_string() const {
  switch (kind) {
    case Kind::kNone: return "None";
    case Kind::kBool: return b ? "True" : "False";
    case Kind::kInt: return std::to_string(i);
    case Kind::kFloat: return str_cat(f);
    case Kind::kString: return str_cat("'", s, "'");
    case Kind::kDType: return str_cat("torch.", s);
    case Kind::kNode: return str_cat("%", i);
    case Kind::kOther: return s;
    case Kind::kList:
    case Kind::kTensor: {
      std::string out = kind == Kind::kTensor ? s + "[" : "[";
      for (size_t k = 0; k < items.size(); ++k) out += (k ? ", " : "") + items[k].to_string();
      return out + "]";
    }
    case Kind::kSymInt: {
      if (items.empty()) return s;
      if (items.size() == 2 && (s == "+" || s == "*" || s == "//" || s == "%")) {
        return str_cat("(", items[0].to_string(), " ", s, " ", items[1].to_string(), ")");
      }
      std::string out = s + "(";
      for (size_t k = 0; k < items.size(); ++k) out += (k ? ", " : "") + items[k].to_string();
      return out + ")";
    }
  }
  return "?";
}

std::string TorchGraph::node_context(int32_t index) const {
  if (index < 0 || static_cast<size_t>(index) >= nodes.size()) return str_cat("node #", index);
  const TorchNode& n = nodes[static_cast<size_t>(index)];
  std::string out = str_cat("node '", n.name, "' (", n.target.empty() ? n.op : n.target, ")");
  if (!n.source.empty()) {
    std::string first_line = n.source.substr(0, n.source.find('\n'));
    out += str_cat(" at ", first_line);
  }
  return out;
}

namespace {

Status validate_value(const TorchValue& v, size_t node, size_t count, int depth) {
  if (depth > 64) return invalid_argument("node #", node, ": a value is nested too deeply");
  if (v.kind == TorchValue::Kind::kNode && (v.i < 0 || static_cast<size_t>(v.i) >= node)) {
    return invalid_argument("node #", node, " refers to node #", v.i,
                            ", which is not an earlier node of the graph (", count, " nodes)");
  }
  for (const TorchValue& item : v.items) KILN_RETURN_IF_ERROR(validate_value(item, node, count, depth + 1));
  return ok_status();
}

}  // namespace

Status validate_torch_graph(const TorchGraph& tg) {
  for (size_t i = 0; i < tg.nodes.size(); ++i) {
    for (const TorchValue& a : tg.nodes[i].args) {
      KILN_RETURN_IF_ERROR(validate_value(a, i, tg.nodes.size(), 0));
    }
    KILN_RETURN_IF_ERROR(validate_value(tg.nodes[i].meta, i, tg.nodes.size(), 0));
  }
  return ok_status();
}

}  // namespace kiln
