// write_engine: EngineContents -> engine file bytes, format v1 (docs/engine_format.md). Output is
// deterministic: it depends only on the contents and KILN_VERSION. The writer refuses contents that
// the reader would refuse, so every file it writes reads back. It does not choose kernels, compress
// or deduplicate weights; it writes what it is given.
#include <algorithm>
#include <array>
#include <string>

#include "byte_io.h"
#include "format.h"
#include "kiln/engine/engine_file.h"
#include "kiln/ir/verifier.h"

namespace kiln {
namespace {

using engine_format::ByteWriter;
using engine_format::FieldTag;
using engine_format::field_tag;

// The weights section under construction: each tensor at the next multiple of 64.
class WeightsBuilder {
 public:
  uint64_t add(const TensorData& data) {
    out_.pad_to(engine_format::kWeightAlignment);
    uint64_t offset = out_.size();
    out_.bytes({data.data(), data.size});
    return offset;
  }
  std::vector<uint8_t>& bytes() { return out_.buffer(); }

 private:
  ByteWriter out_;
};

struct GraphWriter {
  const Graph& g;
  ByteWriter& w;
  WeightsBuilder& weights;

  Status dim(const DimExpr& d, std::string_view where) {
    if (d.depth() > engine_format::kMaxDimDepth) {
      return invalid_argument(where, ": dim ", g.dim_text(d), " nests ", d.depth(),
                              " levels deep; engine files allow ", engine_format::kMaxDimDepth);
    }
    return dim_terms(d, where);
  }

  Status dim_terms(const DimExpr& d, std::string_view where) {
    KILN_RETURN_IF_ERROR(w.count(d.terms().size(), "dim terms"));
    for (const DimTerm& t : d.terms()) {
      if (t.coeff == INT64_MIN) {
        return invalid_argument(where, ": dim ", g.dim_text(d), " has the coefficient INT64_MIN");
      }
      w.i64(t.coeff);
      KILN_RETURN_IF_ERROR(w.count(t.factors.size(), "dim factors"));
      for (const DimAtom& a : t.factors) {
        w.u8(static_cast<uint8_t>(a.kind));
        if (a.kind == DimAtom::Kind::kSymbol) {
          if (a.symbol < 0 || static_cast<size_t>(a.symbol) >= g.symbols.size()) {
            return invalid_argument(where, ": dim uses symbol #", a.symbol, " but the graph has ",
                                    g.symbols.size(), " symbols");
          }
          w.i32(a.symbol);
        } else {
          KILN_RETURN_IF_ERROR(dim_terms(*a.lhs, where));
          KILN_RETURN_IF_ERROR(dim_terms(*a.rhs, where));
        }
      }
    }
    return ok_status();
  }

  Status dtype(DType t, std::string_view where) {
    if (static_cast<int>(t) >= kNumDTypes) {
      return invalid_argument(where, ": dtype code ", static_cast<int>(t), " does not exist");
    }
    w.u8(static_cast<uint8_t>(t));
    return ok_status();
  }

  Status shape(const Shape& s, std::string_view where) {
    KILN_RETURN_IF_ERROR(w.count(s.size(), "shape dims"));
    for (const DimExpr& d : s) KILN_RETURN_IF_ERROR(dim(d, where));
    return ok_status();
  }

  Status ids(const std::vector<ValueId>& ids, std::string_view what) {
    KILN_RETURN_IF_ERROR(w.count(ids.size(), what));
    for (ValueId v : ids) w.i32(v);
    return ok_status();
  }

  template <typename T>
  Status field(const T& f, std::string_view where) {
    constexpr FieldTag tag = field_tag<T>();
    w.u8(static_cast<uint8_t>(tag));
    if constexpr (tag == FieldTag::kI64) {
      w.i64(f);
    } else if constexpr (tag == FieldTag::kF64) {
      w.f64(f);
    } else if constexpr (tag == FieldTag::kBool) {
      w.boolean(f);
    } else if constexpr (tag == FieldTag::kDType) {
      return dtype(f, where);
    } else if constexpr (tag == FieldTag::kEnum) {
      const auto& names = EnumNames<T>::kNames;
      size_t index = static_cast<size_t>(f);
      if (index >= std::size(names)) {
        return invalid_argument(where, ": enum value ", index, " has no name");
      }
      return w.str(names[index], "enum name");
    } else if constexpr (tag == FieldTag::kI64List) {
      KILN_RETURN_IF_ERROR(w.count(f.size(), "i64 list"));
      for (int64_t v : f) w.i64(v);
    } else if constexpr (tag == FieldTag::kF64List) {
      KILN_RETURN_IF_ERROR(w.count(f.size(), "f64 list"));
      for (double v : f) w.f64(v);
    } else if constexpr (tag == FieldTag::kDim) {
      return dim(f, where);
    } else if constexpr (tag == FieldTag::kShape) {
      return shape(f, where);
    } else if constexpr (tag == FieldTag::kOptionalF64) {
      w.boolean(f.has_value());
      if (f) w.f64(*f);
    } else if constexpr (tag == FieldTag::kOptionalI64) {
      w.boolean(f.has_value());
      if (f) w.i64(*f);
    } else if constexpr (tag == FieldTag::kTensorData) {
      if (f.size != 0 && f.data() == nullptr) {
        return invalid_argument(where, ": tensor data of ", f.size, " bytes has no buffer");
      }
      w.u64(weights.add(f));
      w.u64(f.size);
    }
    return ok_status();
  }

  // Writes each field of an attribute struct in declaration order; stops at the first error.
  struct FieldWriter {
    GraphWriter* self;
    std::string_view where;
    Status status;
    template <typename A>
    void operator()(const A& attrs) {
      attrs.visit(*this);
    }
    template <typename T>
    void operator()(std::string_view name, const T& f) {
      if (status.ok()) status = self->field(f, str_cat(where, ", attribute '", name, "'"));
    }
  };

  Status attrs(const Attrs& attrs, std::string_view where) {
    engine_format::FieldCounter count;
    std::visit(count, attrs);
    KILN_RETURN_IF_ERROR(w.count(count.n, "attribute fields"));
    FieldWriter writer{this, where, ok_status()};
    std::visit(writer, attrs);
    return writer.status;
  }

  Status graph() {
    KILN_RETURN_IF_ERROR(w.str(g.name, "graph name"));
    KILN_RETURN_IF_ERROR(w.count(g.symbols.size(), "symbols"));
    for (const SymbolInfo& s : g.symbols) {
      KILN_RETURN_IF_ERROR(w.str(s.name, "symbol name"));
      w.i64(s.min);
      w.i64(s.max);
      w.i64(s.opt);
    }
    if (g.values.size() > static_cast<size_t>(INT32_MAX)) {
      return invalid_argument("graph has ", g.values.size(), " values, at most ", INT32_MAX, " fit");
    }
    KILN_RETURN_IF_ERROR(w.count(g.values.size(), "values"));
    for (size_t i = 0; i < g.values.size(); ++i) {
      const Value& v = g.values[i];
      KILN_RETURN_IF_ERROR(w.str(v.name, "value name"));
      KILN_RETURN_IF_ERROR(dtype(v.type.dtype, str_cat("value #", i)));
      KILN_RETURN_IF_ERROR(shape(v.type.shape, str_cat("value #", i)));
    }
    KILN_RETURN_IF_ERROR(ids(g.inputs, "graph inputs"));
    KILN_RETURN_IF_ERROR(w.count(g.nodes.size(), "nodes"));
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const Node& n = g.nodes[i];
      std::string where = str_cat("node #", i, " (", op_name(n.op), ")");
      if (!attrs_match_op(n.op, n.attrs)) {
        return invalid_argument(where, ": attributes of the wrong kind for the op");
      }
      KILN_RETURN_IF_ERROR(w.str(op_name(n.op), "op name"));
      KILN_RETURN_IF_ERROR(ids(n.inputs, "node inputs"));
      KILN_RETURN_IF_ERROR(ids(n.outputs, "node outputs"));
      KILN_RETURN_IF_ERROR(attrs(n.attrs, where));
      KILN_RETURN_IF_ERROR(w.str(n.loc, "node loc"));
    }
    return ids(g.outputs, "graph outputs");
  }
};

Expected<std::vector<uint8_t>> meta_section(const EngineContents& engine) {
  std::vector<std::pair<std::string_view, std::string_view>> pairs;
  std::string version = std::to_string(kEngineFormatVersion);
  pairs.emplace_back(engine_format::kFormatVersionKey, version);
  pairs.emplace_back(engine_format::kKilnVersionKey, KILN_VERSION);
  pairs.emplace_back(engine_format::kDeviceKey, device_name(engine.device));
  for (const auto& [key, value] : engine.metadata) {
    if (key == engine_format::kFormatVersionKey || key == engine_format::kKilnVersionKey ||
        key == engine_format::kDeviceKey) {
      continue;  // written above from this writer's own values
    }
    for (const auto& [seen, unused] : pairs) {
      if (seen == key) return invalid_argument("metadata key '", key, "' appears twice");
    }
    pairs.emplace_back(key, value);
  }
  ByteWriter w;
  KILN_RETURN_IF_ERROR(w.count(pairs.size(), "metadata"));
  for (const auto& [key, value] : pairs) {
    KILN_RETURN_IF_ERROR(w.str(key, "metadata key"));
    KILN_RETURN_IF_ERROR(w.str(value, "metadata value"));
  }
  return std::move(w.buffer());
}

struct SectionBytes {
  std::string_view name;
  uint32_t alignment;
  std::vector<uint8_t> bytes;
};

// Header, table, then each section at its alignment (docs/engine_format.md §2).
std::vector<uint8_t> assemble(std::vector<SectionBytes>& sections) {
  using namespace engine_format;
  ByteWriter out;
  out.bytes(kMagic);
  out.u32(kEngineFormatVersion);
  out.u32(kEndianMarker);
  out.u32(kHeaderSize);
  out.u32(static_cast<uint32_t>(sections.size()));
  out.u64(0);  // file size, patched below
  out.u64(0);  // checksum, patched below
  out.zeros(kHeaderSize - kReservedOffset);

  uint64_t cursor = kHeaderSize + uint64_t(kSectionEntrySize) * sections.size();
  for (const SectionBytes& s : sections) {
    cursor = (cursor + s.alignment - 1) / s.alignment * s.alignment;
    std::array<uint8_t, kSectionNameSize> name{};
    std::copy(s.name.begin(), s.name.end(), name.begin());
    out.bytes(name);
    out.u64(cursor);
    out.u64(s.bytes.size());
    out.u32(s.alignment);
    out.u32(0);
    cursor += s.bytes.size();
  }
  for (const SectionBytes& s : sections) {
    out.pad_to(s.alignment);
    out.bytes(s.bytes);
  }
  out.patch_u64(kFileSizeOffset, out.size());
  out.patch_u64(kChecksumOffset, file_checksum(out.buffer()));
  return std::move(out.buffer());
}

Expected<std::vector<uint8_t>> write_engine_impl(const EngineContents& engine) {
  const Graph& g = engine.graph;
  if (engine.kernels.size() != g.nodes.size()) {
    return invalid_argument("engine has ", engine.kernels.size(), " kernel names for ",
                            g.nodes.size(), " nodes");
  }
  if (Status s = verify_graph(g); !s.ok()) {
    return invalid_argument("graph fails verification: ", s.message());
  }

  std::vector<SectionBytes> sections;
  KILN_ASSIGN_OR_RETURN(std::vector<uint8_t> meta, meta_section(engine));
  sections.push_back({engine_format::kMetaSection, engine_format::kMetadataAlignment,
                      std::move(meta)});

  ByteWriter graph_bytes;
  WeightsBuilder weights;
  KILN_RETURN_IF_ERROR((GraphWriter{g, graph_bytes, weights}.graph()));
  sections.push_back({engine_format::kGraphSection, engine_format::kMetadataAlignment,
                      std::move(graph_bytes.buffer())});

  ByteWriter kernels;
  KILN_RETURN_IF_ERROR(kernels.count(engine.kernels.size(), "kernels"));
  for (const std::string& k : engine.kernels) {
    KILN_RETURN_IF_ERROR(kernels.str(k, "kernel name"));
  }
  sections.push_back({engine_format::kKernelsSection, engine_format::kMetadataAlignment,
                      std::move(kernels.buffer())});
  sections.push_back({engine_format::kWeightsSection, engine_format::kWeightAlignment,
                      std::move(weights.bytes())});
  return assemble(sections);
}

}  // namespace

Expected<std::vector<uint8_t>> write_engine(const EngineContents& engine) {
  Expected<std::vector<uint8_t>> bytes = write_engine_impl(engine);
  if (!bytes.ok()) return bytes.status().with_context("write_engine");
  return bytes;
}

}  // namespace kiln
