// read_engine: engine file bytes -> EngineContents, format v1 (docs/engine_format.md §4 lists every
// check in order). All reads go through ByteReader (bounds-checked; counts validated against the
// bytes left before anything is allocated), dims nest at most 32 deep, and the reader itself keeps
// every id, symbol index and weight range in bounds before verify_graph judges the graph's meaning.
// Weights are never copied: constants alias the caller's buffer. This file does not write files
// and does not look kernels up in the registry (the runtime does).
#include <algorithm>
#include <bit>
#include <set>
#include <string>

#include "byte_io.h"
#include "format.h"
#include "kiln/engine/engine_file.h"
#include "kiln/ir/verifier.h"

namespace kiln {
namespace {

using engine_format::ByteReader;
using engine_format::FieldTag;
using engine_format::field_tag;

// Minimum encoded sizes, for validating counts before allocating.
constexpr size_t kMinStrBytes = 4;
constexpr size_t kMinSymbolBytes = kMinStrBytes + 3 * 8;
constexpr size_t kMinValueBytes = kMinStrBytes + 1 + 4;
constexpr size_t kMinNodeBytes = kMinStrBytes + 4 + 4 + 4 + kMinStrBytes;
constexpr size_t kMinTermBytes = 8 + 4;
constexpr size_t kMinAtomBytes = 1 + 4;
constexpr size_t kMinDimBytes = 4;

// Untrusted text for a message: printable ASCII, at most 64 characters.
std::string printable(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < 64; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (s.size() > 64) out += "...";
  return out;
}

std::string hex_bytes(std::span<const uint8_t> b) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < b.size(); ++i) {
    if (i) out += ' ';
    out += kHex[b[i] >> 4];
    out += kHex[b[i] & 15];
  }
  return out;
}

struct Section {
  std::string name;
  uint64_t offset = 0;
  uint64_t size = 0;
  uint32_t alignment = 1;
};

struct Layout {
  Section meta, graph, kernels, weights;
};

ByteReader reader_for(std::span<const uint8_t> file, const Section& s) {
  return ByteReader(file.subspan(s.offset, s.size), s.name, s.offset);
}

// Steps 1-3 of docs/engine_format.md §4: header, section table, bounds, checksum.
Expected<Layout> read_layout(std::span<const uint8_t> file) {
  using namespace engine_format;
  // 1. The header, field by field.
  if (file.size() < kHeaderSize) {
    return data_loss("engine file is truncated: the header needs ", kHeaderSize,
                     " bytes but the file has ", file.size(), " bytes");
  }
  ByteReader h(file.first(kHeaderSize), "header", 0);
  KILN_ASSIGN_OR_RETURN(std::span<const uint8_t> magic, h.bytes(sizeof(kMagic), "magic"));
  if (!std::equal(magic.begin(), magic.end(), std::begin(kMagic))) {
    return data_loss("not a kiln engine file (bad magic ", hex_bytes(magic), ", expected ",
                     hex_bytes(kMagic), ")");
  }
  KILN_ASSIGN_OR_RETURN(uint32_t version, h.u32());
  uint64_t endian_at = h.offset();
  KILN_ASSIGN_OR_RETURN(uint32_t endian, h.u32());
  if (endian != kEndianMarker) {
    if (endian == 0x04030201u) {
      return unsupported("engine file is big-endian; kiln reads little-endian engine files only");
    }
    return data_loss("engine file has a corrupt endianness marker (expected bytes 04 03 02 01, "
                     "found ", hex_bytes(file.subspan(endian_at, 4)), ")");
  }
  if (version > kEngineFormatVersion) {
    return unsupported("engine format version ", version, " is newer than this kiln (supports ",
                       kEngineFormatVersion, "); rebuild the engine or upgrade kiln");
  }
  if (version == 0) {
    return data_loss("engine format version 0 is invalid (this kiln reads version ",
                     kEngineFormatVersion, ")");
  }
  if (version != kEngineFormatVersion) {
    return unsupported("engine format version ", version, " is older than this kiln reads (",
                       kEngineFormatVersion, "); rebuild the engine with this kiln");
  }
  KILN_ASSIGN_OR_RETURN(uint32_t header_size, h.u32());
  if (header_size != kHeaderSize) {
    return data_loss("engine header size is ", header_size, ", expected ", kHeaderSize);
  }
  KILN_ASSIGN_OR_RETURN(uint32_t section_count, h.u32());
  if (section_count == 0 || section_count > kMaxSections) {
    return data_loss("engine file declares ", section_count, " sections, expected 1 to ",
                     kMaxSections);
  }
  KILN_ASSIGN_OR_RETURN(uint64_t file_size, h.u64());
  KILN_ASSIGN_OR_RETURN(uint64_t checksum, h.u64());
  KILN_ASSIGN_OR_RETURN(std::span<const uint8_t> reserved, h.bytes(h.remaining(), "reserved"));
  if (std::any_of(reserved.begin(), reserved.end(), [](uint8_t b) { return b != 0; })) {
    return data_loss("engine header has non-zero reserved bytes (", hex_bytes(reserved), ")");
  }

  // 2. The section table; each section inside the declared size and the actual bytes.
  const uint64_t table_end = kHeaderSize + uint64_t(section_count) * kSectionEntrySize;
  if (table_end > file.size()) {
    return data_loss("engine file is truncated: section table ends at ", table_end,
                     " but the file has ", file.size(), " bytes");
  }
  ByteReader t(file.subspan(kHeaderSize, table_end - kHeaderSize), "section table", kHeaderSize);
  std::vector<Section> sections;
  for (uint32_t i = 0; i < section_count; ++i) {
    uint64_t entry_at = t.offset();
    KILN_ASSIGN_OR_RETURN(std::span<const uint8_t> raw, t.bytes(kSectionNameSize, "name"));
    Section s;
    size_t len = 0;
    while (len < raw.size() && raw[len] != 0) ++len;
    bool valid = len > 0 && std::all_of(raw.begin(), raw.begin() + len,
                                        [](uint8_t c) { return c > 0x20 && c < 0x7f; }) &&
                 std::all_of(raw.begin() + len, raw.end(), [](uint8_t c) { return c == 0; });
    if (!valid) {
      return t.error_at(entry_at, StatusCode::kDataLoss, "section #", i,
                        " has an invalid name (bytes ", hex_bytes(raw), ")");
    }
    s.name.assign(reinterpret_cast<const char*>(raw.data()), len);
    KILN_ASSIGN_OR_RETURN(s.offset, t.u64());
    KILN_ASSIGN_OR_RETURN(s.size, t.u64());
    KILN_ASSIGN_OR_RETURN(s.alignment, t.u32());
    KILN_ASSIGN_OR_RETURN(uint32_t entry_reserved, t.u32());
    if (entry_reserved != 0) {
      return t.error_at(entry_at, StatusCode::kDataLoss, "section '", s.name,
                        "' has non-zero reserved bytes");
    }
    if (s.size > UINT64_MAX - s.offset || s.offset + s.size > file_size) {
      return data_loss("engine file is corrupt: section '", s.name, "' ends at ",
                       s.size > UINT64_MAX - s.offset ? UINT64_MAX : s.offset + s.size,
                       ", past the declared file size ", file_size);
    }
    if (s.offset + s.size > file.size()) {
      return data_loss("engine file is truncated: section '", s.name, "' ends at ",
                       s.offset + s.size, " but the file has ", file.size(), " bytes");
    }
    sections.push_back(std::move(s));
  }
  if (file.size() < file_size) {
    return data_loss("engine file is truncated: the header declares ", file_size,
                     " bytes but the file has ", file.size(), " bytes");
  }
  if (file.size() > file_size) {
    return data_loss("engine file has ", file.size() - file_size,
                     " unexpected bytes after its declared end at ", file_size);
  }

  // 3. Section placement rules, then the checksum over everything after the header.
  uint64_t previous_end = table_end;
  Layout layout;
  std::set<std::string> names;
  for (const Section& s : sections) {
    if (!names.insert(s.name).second) {
      return data_loss("engine file has two sections named '", s.name, "'");
    }
    if (s.alignment == 0 || !std::has_single_bit(s.alignment) ||
        s.alignment > kMaxSectionAlignment || s.offset % s.alignment != 0) {
      return data_loss("engine section '", s.name, "' has offset ", s.offset, " and alignment ",
                       s.alignment, "; expected a power-of-two alignment up to ",
                       kMaxSectionAlignment, " that divides the offset");
    }
    if (s.offset < previous_end) {
      return data_loss("engine section '", s.name, "' starts at ", s.offset,
                       ", inside the table or the previous section (which ends at ",
                       previous_end, ")");
    }
    previous_end = s.offset + s.size;
    if (s.name == kMetaSection) layout.meta = s;
    if (s.name == kGraphSection) layout.graph = s;
    if (s.name == kKernelsSection) layout.kernels = s;
    if (s.name == kWeightsSection) layout.weights = s;
  }
  for (std::string_view required : {kMetaSection, kGraphSection, kKernelsSection,
                                    kWeightsSection}) {
    if (!names.contains(std::string(required))) {
      return data_loss("engine file has no '", required, "' section");
    }
  }
  if (layout.weights.alignment < kWeightAlignment) {
    return data_loss("engine section 'weights' has alignment ", layout.weights.alignment,
                     ", expected at least ", kWeightAlignment);
  }
  if (file_checksum(file) != checksum) {
    return data_loss("engine file is corrupt (checksum mismatch)");
  }
  return layout;
}

Status read_meta(ByteReader r, EngineContents& out) {
  using namespace engine_format;
  KILN_ASSIGN_OR_RETURN(uint32_t n, r.count(2 * kMinStrBytes, "metadata"));
  std::set<std::string> keys;
  bool has_version = false, has_kiln_version = false, has_device = false;
  for (uint32_t i = 0; i < n; ++i) {
    uint64_t at = r.offset();
    KILN_ASSIGN_OR_RETURN(std::string key, r.str("metadata key"));
    KILN_ASSIGN_OR_RETURN(std::string value, r.str("metadata value"));
    if (!keys.insert(key).second) {
      return r.error_at(at, StatusCode::kDataLoss, "metadata key '", printable(key),
                        "' appears twice");
    }
    if (key == kFormatVersionKey) {
      has_version = true;
      if (value != std::to_string(kEngineFormatVersion)) {
        return r.error_at(at, StatusCode::kDataLoss, "metadata says format version '",
                          printable(value), "' but the header says ", kEngineFormatVersion);
      }
    } else if (key == kKilnVersionKey) {
      has_kiln_version = true;
    } else if (key == kDeviceKey) {
      has_device = true;
      bool known = false;
      for (DeviceKind d : {DeviceKind::kCpu, DeviceKind::kCuda}) {
        if (value == device_name(d)) {
          out.device = d;
          known = true;
        }
      }
      if (!known) {
        return r.error_at(at, StatusCode::kUnsupported, "unknown device '", printable(value),
                          "' (this kiln knows cpu and cuda)");
      }
      continue;  // kept in EngineContents::device, not in metadata
    }
    out.metadata.emplace_back(std::move(key), std::move(value));
  }
  if (!has_version || !has_kiln_version || !has_device) {
    return r.error(StatusCode::kDataLoss, "metadata lacks '",
                   !has_version ? kFormatVersionKey
                                : (!has_kiln_version ? kKilnVersionKey : kDeviceKey),
                   "'");
  }
  return r.expect_end();
}

// Parses the graph section. Keeps every index in range; leaves meaning to verify_graph.
class GraphReader {
 public:
  GraphReader(ByteReader r, const std::shared_ptr<const std::vector<uint8_t>>& owner,
              const Section& weights)
      : r_(r), owner_(owner), weights_(weights) {}

  Status read(Graph& g) {
    KILN_ASSIGN_OR_RETURN(g.name, r_.str("graph name"));
    KILN_RETURN_IF_ERROR(read_symbols(g));
    KILN_RETURN_IF_ERROR(read_values(g));
    KILN_RETURN_IF_ERROR(read_ids(g.inputs, "graph inputs", false));
    KILN_ASSIGN_OR_RETURN(uint32_t n_nodes, r_.count(kMinNodeBytes, "nodes"));
    for (uint32_t i = 0; i < n_nodes; ++i) {
      Node node;
      KILN_RETURN_IF_ERROR(read_node(i, node));
      g.nodes.push_back(std::move(node));
    }
    KILN_RETURN_IF_ERROR(read_ids(g.outputs, "graph outputs", false));
    return r_.expect_end();
  }

 private:
  Status read_symbols(Graph& g) {
    KILN_ASSIGN_OR_RETURN(uint32_t n, r_.count(kMinSymbolBytes, "symbols"));
    for (uint32_t i = 0; i < n; ++i) {
      uint64_t at = r_.offset();
      SymbolInfo s;
      KILN_ASSIGN_OR_RETURN(s.name, r_.str("symbol name"));
      KILN_ASSIGN_OR_RETURN(s.min, r_.i64());
      KILN_ASSIGN_OR_RETURN(s.max, r_.i64());
      KILN_ASSIGN_OR_RETURN(s.opt, r_.i64());
      if (!(s.min >= 0 && s.min <= s.opt && s.opt <= s.max)) {
        return r_.error_at(at, StatusCode::kDataLoss, "symbol '", printable(s.name),
                           "' needs 0 <= min <= opt <= max, found min=", s.min, " opt=", s.opt,
                           " max=", s.max);
      }
      g.symbols.push_back(std::move(s));
    }
    num_symbols_ = n;
    return ok_status();
  }

  Status read_values(Graph& g) {
    KILN_ASSIGN_OR_RETURN(uint32_t n, r_.count(kMinValueBytes, "values"));
    if (n > static_cast<uint32_t>(INT32_MAX)) {
      return r_.error(StatusCode::kDataLoss, n, " values, at most ", INT32_MAX, " allowed");
    }
    for (uint32_t i = 0; i < n; ++i) {
      Value v;
      KILN_ASSIGN_OR_RETURN(v.name, r_.str("value name"));
      KILN_ASSIGN_OR_RETURN(v.type.dtype, read_dtype());
      KILN_ASSIGN_OR_RETURN(v.type.shape, read_shape());
      g.values.push_back(std::move(v));
    }
    num_values_ = n;
    return ok_status();
  }

  Status read_ids(std::vector<ValueId>& ids, std::string_view what, bool allow_absent) {
    KILN_ASSIGN_OR_RETURN(uint32_t n, r_.count(4, what));
    ids.reserve(n);
    for (uint32_t i = 0; i < n; ++i) {
      uint64_t at = r_.offset();
      KILN_ASSIGN_OR_RETURN(int32_t v, r_.i32());
      bool absent = allow_absent && v == kNoValue;
      if (!absent && (v < 0 || static_cast<uint32_t>(v) >= num_values_)) {
        return r_.error_at(at, StatusCode::kDataLoss, what, " refer to value #", v,
                           " but the graph has ", num_values_, " values");
      }
      ids.push_back(v);
    }
    return ok_status();
  }

  Status read_node(uint32_t index, Node& node) {
    uint64_t at = r_.offset();
    KILN_ASSIGN_OR_RETURN(std::string op_text, r_.str("op name"));
    std::optional<OpKind> op = op_from_name(op_text);
    if (!op) {
      return r_.error_at(at, StatusCode::kUnsupported, "node #", index, " has unknown op '",
                         printable(op_text), "'; the engine needs a kiln that has this op");
    }
    node.op = *op;
    std::string where = str_cat("node #", index, " (", op_name(node.op), ")");
    KILN_RETURN_IF_ERROR(read_ids(node.inputs, str_cat(where, " inputs"), true));
    KILN_RETURN_IF_ERROR(read_ids(node.outputs, str_cat(where, " outputs"), false));
    node.attrs = default_attrs(node.op);
    KILN_RETURN_IF_ERROR(read_attrs(node.attrs, where));
    KILN_ASSIGN_OR_RETURN(node.loc, r_.str("node loc"));
    if (node.op == OpKind::kConstant) return check_constant(node, at, where);
    return ok_status();
  }

  // A constant's bytes must be exactly its type's size: kernels read that many.
  Status check_constant(const Node& node, uint64_t at, std::string_view where) {
    const auto& c = node.attrs_as<ConstantAttrs>();
    int64_t bytes = dtype_size(c.dtype);
    for (int64_t d : c.shape) {
      if (d < 0 || __builtin_mul_overflow(bytes, d, &bytes)) {
        return r_.error_at(at, StatusCode::kDataLoss, where, " has an invalid shape dim ", d);
      }
    }
    if (static_cast<uint64_t>(bytes) != c.data.size) {
      return r_.error_at(at, StatusCode::kDataLoss, where, " needs ", bytes,
                         " bytes for its type but holds ", c.data.size);
    }
    return ok_status();
  }

  // Reads each field of an attribute struct in declaration order; stops at the first error.
  struct FieldReader {
    GraphReader* self;
    std::string_view where;
    Status status;
    template <typename A>
    void operator()(A& attrs) {
      attrs.visit(*this);
    }
    template <typename T>
    void operator()(std::string_view name, T& field) {
      if (status.ok()) status = self->read_field(field, where, name);
    }
  };

  Status read_attrs(Attrs& attrs, std::string_view where) {
    uint64_t at = r_.offset();
    KILN_ASSIGN_OR_RETURN(uint32_t n, r_.u32());
    engine_format::FieldCounter expected;
    std::visit(expected, attrs);
    if (n != expected.n) {
      return r_.error_at(at, StatusCode::kDataLoss, where, " has ", n,
                         " attribute fields; this kiln's op has ", expected.n);
    }
    FieldReader reader{this, where, ok_status()};
    std::visit(reader, attrs);
    return reader.status;
  }

  template <typename T>
  Status read_field(T& f, std::string_view where, std::string_view name) {
    constexpr FieldTag tag = field_tag<T>();
    uint64_t at = r_.offset();
    KILN_ASSIGN_OR_RETURN(uint8_t found, r_.u8());
    if (found != static_cast<uint8_t>(tag)) {
      return r_.error_at(at, StatusCode::kDataLoss, where, ", attribute '", name,
                         "': expected a ", field_tag_name(tag), " field (tag ", int(tag),
                         "), found tag ", int(found));
    }
    if constexpr (tag == FieldTag::kI64) {
      KILN_ASSIGN_OR_RETURN(f, r_.i64());
    } else if constexpr (tag == FieldTag::kF64) {
      KILN_ASSIGN_OR_RETURN(f, r_.f64());
    } else if constexpr (tag == FieldTag::kBool) {
      KILN_ASSIGN_OR_RETURN(f, r_.boolean());
    } else if constexpr (tag == FieldTag::kDType) {
      KILN_ASSIGN_OR_RETURN(f, read_dtype());
    } else if constexpr (tag == FieldTag::kEnum) {
      uint64_t name_at = r_.offset();
      KILN_ASSIGN_OR_RETURN(std::string text, r_.str("enum name"));
      const auto& names = EnumNames<T>::kNames;
      auto it = std::find(std::begin(names), std::end(names), text);
      if (it == std::end(names)) {
        return r_.error_at(name_at, StatusCode::kUnsupported, where, ", attribute '", name,
                           "': unknown value '", printable(text), "'");
      }
      f = static_cast<T>(it - std::begin(names));
    } else if constexpr (tag == FieldTag::kI64List) {
      KILN_ASSIGN_OR_RETURN(uint32_t n, r_.count(8, "i64 list"));
      f.resize(n);
      for (int64_t& v : f) {
        KILN_ASSIGN_OR_RETURN(v, r_.i64());
      }
    } else if constexpr (tag == FieldTag::kF64List) {
      KILN_ASSIGN_OR_RETURN(uint32_t n, r_.count(8, "f64 list"));
      f.resize(n);
      for (double& v : f) {
        KILN_ASSIGN_OR_RETURN(v, r_.f64());
      }
    } else if constexpr (tag == FieldTag::kDim) {
      KILN_ASSIGN_OR_RETURN(f, read_dim(0));
    } else if constexpr (tag == FieldTag::kShape) {
      KILN_ASSIGN_OR_RETURN(f, read_shape());
    } else if constexpr (tag == FieldTag::kOptionalF64) {
      KILN_ASSIGN_OR_RETURN(bool present, r_.boolean());
      if (present) {
        KILN_ASSIGN_OR_RETURN(f, r_.f64());
      }
    } else if constexpr (tag == FieldTag::kOptionalI64) {
      KILN_ASSIGN_OR_RETURN(bool present, r_.boolean());
      if (present) {
        KILN_ASSIGN_OR_RETURN(f, r_.i64());
      }
    } else if constexpr (tag == FieldTag::kTensorData) {
      KILN_ASSIGN_OR_RETURN(f, read_tensor_data());
    }
    return ok_status();
  }

  Expected<TensorData> read_tensor_data() {
    uint64_t at = r_.offset();
    KILN_ASSIGN_OR_RETURN(uint64_t offset, r_.u64());
    KILN_ASSIGN_OR_RETURN(uint64_t size, r_.u64());
    if (offset % engine_format::kWeightAlignment != 0 || offset > weights_.size ||
        size > weights_.size - offset) {
      return r_.error_at(at, StatusCode::kDataLoss, "tensor data at weights offset ", offset,
                         " with ", size, " bytes is not a 64-byte-aligned range inside the ",
                         weights_.size, "-byte weights section");
    }
    const uint8_t* p = owner_->data() + weights_.offset + offset;
    return TensorData{std::shared_ptr<const uint8_t>(owner_, p), static_cast<size_t>(size)};
  }

  Expected<DType> read_dtype() {
    uint64_t at = r_.offset();
    KILN_ASSIGN_OR_RETURN(uint8_t code, r_.u8());
    if (code >= kNumDTypes) {
      return r_.error_at(at, StatusCode::kUnsupported, "unknown dtype code ", int(code),
                         " (this kiln knows ", kNumDTypes, ")");
    }
    return static_cast<DType>(code);
  }

  Expected<Shape> read_shape() {
    KILN_ASSIGN_OR_RETURN(uint32_t n, r_.count(kMinDimBytes, "shape dims"));
    Shape s;
    s.reserve(n);
    for (uint32_t i = 0; i < n; ++i) {
      KILN_ASSIGN_OR_RETURN(DimExpr d, read_dim(0));
      s.push_back(std::move(d));
    }
    return s;
  }

  // Combines xs pairwise (a balanced tree), so n operands cost O(n log n), not O(n^2).
  template <typename Op>
  static DimExpr reduce(std::vector<DimExpr> xs, DimExpr identity, Op op) {
    if (xs.empty()) return identity;
    while (xs.size() > 1) {
      std::vector<DimExpr> next;
      for (size_t i = 0; i + 1 < xs.size(); i += 2) next.push_back(op(xs[i], xs[i + 1]));
      if (xs.size() % 2 == 1) next.push_back(std::move(xs.back()));
      xs = std::move(next);
    }
    return std::move(xs[0]);
  }

  // A dim whose atoms sit `depth` atoms deep, rebuilt by DimExpr arithmetic (canonical result).
  Expected<DimExpr> read_dim(int depth) {
    uint64_t at = r_.offset();
    KILN_ASSIGN_OR_RETURN(uint32_t n_terms, r_.count(kMinTermBytes, "dim terms"));
    std::vector<DimExpr> terms;
    terms.reserve(n_terms);
    for (uint32_t i = 0; i < n_terms; ++i) {
      uint64_t term_at = r_.offset();
      KILN_ASSIGN_OR_RETURN(int64_t coeff, r_.i64());
      if (coeff == INT64_MIN) {
        return r_.error_at(term_at, StatusCode::kDataLoss, "dim coefficient is INT64_MIN");
      }
      KILN_ASSIGN_OR_RETURN(uint32_t n_factors, r_.count(kMinAtomBytes, "dim factors"));
      std::vector<DimExpr> factors;
      factors.reserve(n_factors + 1);
      factors.emplace_back(coeff);
      for (uint32_t j = 0; j < n_factors; ++j) {
        KILN_ASSIGN_OR_RETURN(DimExpr atom, read_atom(depth));
        factors.push_back(std::move(atom));
      }
      terms.push_back(reduce(std::move(factors), DimExpr(1), [](const DimExpr& a, const DimExpr& b) {
        return a * b;
      }));
    }
    DimExpr sum = reduce(std::move(terms), DimExpr(0),
                         [](const DimExpr& a, const DimExpr& b) { return a + b; });
    for (const DimTerm& t : sum.terms()) {
      if (t.coeff == INT64_MIN) {
        return r_.error_at(at, StatusCode::kDataLoss, "dim coefficients sum to INT64_MIN");
      }
    }
    return sum;
  }

  // One factor: a symbol, or floordiv/mod/min/max of two dims one level deeper. The result must
  // stay a single atom (as the writer's canonical dims do); this also keeps products linear.
  Expected<DimExpr> read_atom(int depth) {
    uint64_t at = r_.offset();
    KILN_ASSIGN_OR_RETURN(uint8_t kind, r_.u8());
    if (kind == static_cast<uint8_t>(DimAtom::Kind::kSymbol)) {
      KILN_ASSIGN_OR_RETURN(int32_t index, r_.i32());
      if (index < 0 || static_cast<uint32_t>(index) >= num_symbols_) {
        return r_.error_at(at, StatusCode::kDataLoss, "dim uses symbol #", index,
                           " but the graph has ", num_symbols_, " symbols");
      }
      return DimExpr::symbol(index);
    }
    if (kind > engine_format::kMaxAtomKind) {
      return r_.error_at(at, StatusCode::kDataLoss, "unknown dim atom kind ", int(kind));
    }
    if (depth >= engine_format::kMaxDimDepth) {
      return r_.error_at(at, StatusCode::kDataLoss, "dim nests deeper than ",
                         engine_format::kMaxDimDepth, " levels");
    }
    KILN_ASSIGN_OR_RETURN(DimExpr lhs, read_dim(depth + 1));
    KILN_ASSIGN_OR_RETURN(DimExpr rhs, read_dim(depth + 1));
    DimExpr e;
    switch (static_cast<DimAtom::Kind>(kind)) {
      case DimAtom::Kind::kFloorDiv: e = floordiv(lhs, rhs); break;
      case DimAtom::Kind::kMod: e = mod(lhs, rhs); break;
      case DimAtom::Kind::kMin: e = min(lhs, rhs); break;
      case DimAtom::Kind::kMax: e = max(lhs, rhs); break;
      case DimAtom::Kind::kSymbol: break;
    }
    const auto& terms = e.terms();
    if (terms.size() != 1 || terms[0].coeff != 1 || terms[0].factors.size() != 1 ||
        static_cast<uint8_t>(terms[0].factors[0].kind) != kind) {
      return r_.error_at(at, StatusCode::kDataLoss,
                         "dim atom simplifies away (the file's dims are not canonical)");
    }
    return e;
  }

  ByteReader r_;
  const std::shared_ptr<const std::vector<uint8_t>>& owner_;
  const Section& weights_;
  uint32_t num_symbols_ = 0;
  uint32_t num_values_ = 0;
};

Status read_kernels(ByteReader r, std::vector<std::string>& kernels) {
  KILN_ASSIGN_OR_RETURN(uint32_t n, r.count(kMinStrBytes, "kernels"));
  kernels.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    KILN_ASSIGN_OR_RETURN(std::string k, r.str("kernel name"));
    kernels.push_back(std::move(k));
  }
  return r.expect_end();
}

}  // namespace

Expected<EngineContents> read_engine(std::shared_ptr<const std::vector<uint8_t>> owner) {
  if (owner == nullptr) return invalid_argument("read_engine: no buffer given");
  std::span<const uint8_t> file(*owner);
  KILN_ASSIGN_OR_RETURN(Layout layout, read_layout(file));
  EngineContents out;
  KILN_RETURN_IF_ERROR(read_meta(reader_for(file, layout.meta), out));
  KILN_RETURN_IF_ERROR(
      GraphReader(reader_for(file, layout.graph), owner, layout.weights).read(out.graph));
  KILN_RETURN_IF_ERROR(read_kernels(reader_for(file, layout.kernels), out.kernels));
  if (out.kernels.size() != out.graph.nodes.size()) {
    return data_loss("engine file has ", out.kernels.size(), " kernel names for ",
                     out.graph.nodes.size(), " nodes");
  }
  if (Status s = verify_graph(out.graph); !s.ok()) {
    return data_loss("engine graph fails verification: ", s.message());
  }
  return out;
}

}  // namespace kiln
