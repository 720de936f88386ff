// Deterministic IR text printer (syntax in docs/ir.md). Prints any Graph, including invalid ones
// (a dump from the middle of a failing pass must still print): out-of-range value ids print as
// %<invalid:N>, which deliberately does not parse. Names that are not identifiers, or repeat, are
// made into unique identifiers so that the text always parses back to the same text. It does not
// check the graph (verifier.h does) and never calls shape inference.
#include "kiln/text/printer.h"

#include <unordered_set>

#include "constant_data.h"

namespace kiln {
namespace {

bool is_ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_ident_char(char c) { return is_ident_start(c) || (c >= '0' && c <= '9') || c == '.'; }

// Maps raw names to identifiers ([A-Za-z_][A-Za-z0-9_.]*) unique within one namespace.
class NameTable {
 public:
  std::string claim(std::string_view raw, std::string_view fallback) {
    std::string name;
    for (char c : raw) name.push_back(is_ident_char(c) ? c : '_');
    if (name.empty()) name = fallback;
    if (!is_ident_start(name[0])) name.insert(name.begin(), '_');
    if (used_.count(name)) {
      for (int i = 1;; ++i) {
        std::string candidate = str_cat(name, "_", i);
        if (!used_.count(candidate)) {
          name = std::move(candidate);
          break;
        }
      }
    }
    used_.insert(name);
    return name;
  }

 private:
  std::unordered_set<std::string> used_;
};

std::string escape_string(std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

class Printer {
 public:
  Printer(const Graph& g, const PrintOptions& options) : g_(g), options_(options) {
    NameTable symbol_table;
    for (const SymbolInfo& s : g_.symbols) symbol_names_.push_back(symbol_table.claim(s.name, "s"));
    value_names_.resize(g_.values.size());
    for (ValueId v : g_.inputs) name_value(v);
    for (const Node& n : g_.nodes) {
      for (ValueId v : n.outputs) name_value(v);
    }
  }

  std::string print() {
    out_ = str_cat("graph @", NameTable().claim(g_.name, "main"), " {\n");
    for (size_t i = 0; i < g_.symbols.size(); ++i) {
      const SymbolInfo& s = g_.symbols[i];
      out_ += str_cat("  symbol ", symbol_names_[i], " in [", s.min, ", ", s.max, "] opt ", s.opt,
                      "\n");
    }
    for (ValueId v : g_.inputs) {
      out_ += str_cat("  input ", value_text(v), " : ");
      append_value_type(v);
      out_ += "\n";
    }
    for (const Node& n : g_.nodes) print_node(n);
    out_ += "  return";
    for (size_t i = 0; i < g_.outputs.size(); ++i) {
      out_ += str_cat(i ? ", " : " ", value_text(g_.outputs[i]));
    }
    out_ += "\n}\n";
    return std::move(out_);
  }

 private:
  bool valid(ValueId v) const { return v >= 0 && static_cast<size_t>(v) < g_.values.size(); }

  // Gives a value its printed name the first time it is defined (or used, in an invalid graph).
  void name_value(ValueId v) {
    if (!valid(v) || !value_names_[v].empty()) return;
    const std::string& raw = g_.values[v].name;
    value_names_[v] = raw.empty() ? str_cat("%", next_number_++)
                                  : "%" + value_table_.claim(raw, "v");
  }

  std::string value_text(ValueId v) {
    if (v == kNoValue) return "_";
    if (!valid(v)) return str_cat("%<invalid:", v, ">");
    name_value(v);
    return value_names_[v];
  }

  std::string dim_text(const DimExpr& d) const {
    return d.to_string([this](int32_t i) {
      if (i >= 0 && static_cast<size_t>(i) < symbol_names_.size()) return symbol_names_[i];
      return str_cat("<invalid symbol ", i, ">");
    });
  }

  std::string shape_text(const Shape& shape) const {
    std::string out = "[";
    for (size_t i = 0; i < shape.size(); ++i) out += str_cat(i ? ", " : "", dim_text(shape[i]));
    return out + "]";
  }

  void append_value_type(ValueId v) {
    if (!valid(v)) {
      out_ += "<invalid value>";
      return;
    }
    const TensorType& t = g_.type(v);
    out_ += str_cat(dtype_name(t.dtype), shape_text(t.shape));
  }

  void print_node(const Node& n) {
    out_ += "  ";
    for (size_t i = 0; i < n.outputs.size(); ++i) {
      out_ += str_cat(i ? ", " : "", value_text(n.outputs[i]));
    }
    if (!n.outputs.empty()) out_ += " = ";
    if (static_cast<size_t>(n.op) < static_cast<size_t>(kNumOps)) {
      out_ += op_name(n.op);
    } else {
      out_ += str_cat("<invalid op ", static_cast<int>(n.op), ">");
    }
    if (!n.inputs.empty()) {  // source ops print without parentheses: "constant {...}"
      out_ += "(";
      for (size_t i = 0; i < n.inputs.size(); ++i) {
        out_ += str_cat(i ? ", " : "", value_text(n.inputs[i]));
      }
      out_ += ")";
    }
    std::visit([&](const auto& a) { print_attrs(a); }, n.attrs);
    for (size_t i = 0; i < n.outputs.size(); ++i) {
      out_ += i ? ", " : " : ";
      append_value_type(n.outputs[i]);
    }
    if (!n.loc.empty()) out_ += str_cat(" loc(", escape_string(n.loc), ")");
    out_ += "\n";
  }

  template <typename A>
  void print_attrs(const A& attrs) {
    if constexpr (!std::is_same_v<A, NoAttrs>) {
      // Constant data is read with the constant's dtype; no other struct has a TensorData field.
      DType data_dtype = DType::kU8;
      if constexpr (std::is_same_v<A, ConstantAttrs>) data_dtype = attrs.dtype;
      out_ += " {";
      bool first = true;
      attrs.visit([&](std::string_view name, const auto& field) {
        out_ += str_cat(first ? "" : ", ", name, "=");
        first = false;
        append_field(field, data_dtype);
      });
      out_ += "}";
    }
  }

  // ---- attribute values, by field type -------------------------------------------------------
  void append_field(int64_t v, DType) { out_ += std::to_string(v); }
  void append_field(double v, DType) { out_ += format_double(v); }
  void append_field(bool v, DType) { out_ += v ? "true" : "false"; }
  void append_field(DType v, DType) { out_ += dtype_name(v); }
  template <typename E>
    requires requires { EnumNames<E>::kNames; }
  void append_field(E v, DType) {
    size_t i = static_cast<size_t>(v);
    constexpr size_t n = std::size(EnumNames<E>::kNames);
    out_ += i < n ? std::string(EnumNames<E>::kNames[i]) : str_cat("<invalid ", i, ">");
  }
  void append_field(const DimExpr& v, DType) { out_ += dim_text(v); }
  template <typename T>
  void append_field(const std::vector<T>& v, DType dtype) {
    out_ += "[";
    for (size_t i = 0; i < v.size(); ++i) {
      if (i) out_ += ", ";
      append_field(v[i], dtype);
    }
    out_ += "]";
  }
  template <typename T>
  void append_field(const std::optional<T>& v, DType dtype) {
    if (v) {
      append_field(*v, dtype);
    } else {
      out_ += "none";
    }
  }
  void append_field(const TensorData& data, DType dtype) {
    const size_t limit = options_.elide_constants_over_bytes;
    if (limit != 0 && data.size > limit) {
      out_ += "elided";
      return;
    }
    append_data_text(dtype, data, &out_);
  }

  const Graph& g_;
  const PrintOptions& options_;
  std::vector<std::string> symbol_names_;
  std::vector<std::string> value_names_;  // "%x" or "%3"; empty until named
  NameTable value_table_;
  int64_t next_number_ = 0;
  std::string out_;
};

}  // namespace

std::string print_graph(const Graph& g, const PrintOptions& options) {
  return Printer(g, options).print();
}

}  // namespace kiln
