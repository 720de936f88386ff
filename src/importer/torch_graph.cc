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

}  // namespace kiln
