// Engine file round trips, determinism, zero-copy weights and the reader's user-facing errors
// (docs/engine_format.md §4). Hostile section contents are in engine_reader_hostile_test.cc.
#include "kiln/engine/engine_file.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <set>
#include <string>

#include "engine_test_util.h"
#include "sample_engine.h"

namespace kiln {
namespace {

using testing_engine::load;
using testing_engine::sample_engine;
using testing_engine::section;
using testing_engine::store;

// Every field of an attribute struct as text; doubles by their bits, tensor data by its bytes.
struct FieldText {
  std::vector<std::string>& out;
  template <typename T>
  void operator()(std::string_view name, const T& f) {
    std::string text;
    auto dim = [](const DimExpr& d) { return d.to_string([](int32_t i) { return str_cat("s", i); }); };
    auto f64 = [](double v) { return str_cat(std::bit_cast<uint64_t>(v)); };
    if constexpr (std::is_same_v<T, int64_t> || std::is_same_v<T, bool>) {
      text = str_cat(f);
    } else if constexpr (std::is_same_v<T, double>) {
      text = f64(f);
    } else if constexpr (std::is_enum_v<T>) {
      text = str_cat(static_cast<int>(f));
    } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
      for (int64_t v : f) text += str_cat(v, ",");
    } else if constexpr (std::is_same_v<T, std::vector<double>>) {
      for (double v : f) text += f64(v) + ",";
    } else if constexpr (std::is_same_v<T, DimExpr>) {
      text = dim(f);
    } else if constexpr (std::is_same_v<T, Shape>) {
      for (const DimExpr& d : f) text += dim(d) + ",";
    } else if constexpr (std::is_same_v<T, std::optional<double>>) {
      text = f ? f64(*f) : "none";
    } else if constexpr (std::is_same_v<T, std::optional<int64_t>>) {
      text = f ? str_cat(*f) : "none";
    } else if constexpr (std::is_same_v<T, TensorData>) {
      text = std::string(reinterpret_cast<const char*>(f.data()), f.size);
    } else {
      static_assert(engine_format::kAlwaysFalse<T>);
    }
    out.push_back(str_cat(name, "=", text));
  }
};

std::vector<std::string> attr_fields(const Attrs& attrs) {
  std::vector<std::string> out;
  out.push_back(str_cat("index=", attrs.index()));
  std::visit([&](const auto& a) { a.visit(FieldText{out}); }, attrs);
  return out;
}

void expect_same_contents(const EngineContents& a, const EngineContents& b) {
  EXPECT_EQ(a.device, b.device);
  EXPECT_EQ(a.kernels, b.kernels);
  const Graph& g = a.graph;
  const Graph& h = b.graph;
  EXPECT_EQ(g.name, h.name);
  ASSERT_EQ(g.symbols.size(), h.symbols.size());
  for (size_t i = 0; i < g.symbols.size(); ++i) {
    EXPECT_EQ(g.symbols[i].name, h.symbols[i].name);
    EXPECT_EQ(g.symbols[i].min, h.symbols[i].min);
    EXPECT_EQ(g.symbols[i].max, h.symbols[i].max);
    EXPECT_EQ(g.symbols[i].opt, h.symbols[i].opt);
  }
  ASSERT_EQ(g.values.size(), h.values.size());
  for (size_t i = 0; i < g.values.size(); ++i) {
    EXPECT_EQ(g.values[i].name, h.values[i].name) << "value " << i;
    EXPECT_EQ(g.values[i].type, h.values[i].type) << "value " << i << ": " << g.type_text(g.values[i].type)
                                                  << " vs " << h.type_text(h.values[i].type);
  }
  EXPECT_EQ(g.inputs, h.inputs);
  EXPECT_EQ(g.outputs, h.outputs);
  ASSERT_EQ(g.nodes.size(), h.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    EXPECT_EQ(g.nodes[i].op, h.nodes[i].op) << "node " << i;
    EXPECT_EQ(g.nodes[i].inputs, h.nodes[i].inputs) << "node " << i;
    EXPECT_EQ(g.nodes[i].outputs, h.nodes[i].outputs) << "node " << i;
    EXPECT_EQ(g.nodes[i].loc, h.nodes[i].loc) << "node " << i;
    EXPECT_EQ(attr_fields(g.nodes[i].attrs), attr_fields(h.nodes[i].attrs)) << "node " << i;
  }
}

std::vector<uint8_t> sample_bytes() {
  Expected<std::vector<uint8_t>> bytes = write_engine(sample_engine());
  EXPECT_TRUE(bytes.ok()) << bytes.status().to_string();
  return bytes.ok() ? *bytes : std::vector<uint8_t>{};
}

Expected<EngineContents> read(std::vector<uint8_t> bytes) {
  return read_engine(std::make_shared<const std::vector<uint8_t>>(std::move(bytes)));
}

// The error of reading `bytes`; fails the test if reading succeeds.
Status read_error(std::vector<uint8_t> bytes) {
  Expected<EngineContents> r = read(std::move(bytes));
  EXPECT_FALSE(r.ok()) << "the reader accepted a damaged file";
  return r.status();
}

TEST(EngineFileTest, SampleUsesEveryAttributeFieldType) {
  std::set<engine_format::FieldTag> tags;
  for (const Node& n : sample_engine().graph.nodes) {
    std::visit([&](const auto& a) {
      a.visit([&](std::string_view, const auto& f) {
        tags.insert(engine_format::field_tag<std::decay_t<decltype(f)>>());
      });
    }, n.attrs);
  }
  EXPECT_EQ(tags.size(), 12u);
}

TEST(EngineFileTest, RoundTripKeepsEveryField) {
  EngineContents original = sample_engine();
  Expected<EngineContents> back = read(sample_bytes());
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  expect_same_contents(original, *back);
  std::vector<std::pair<std::string, std::string>> expected_meta = {
      {"format_version", "2"}, {"kiln_version", KILN_VERSION}, {"build", "unit-test"},
      {"opt_level", "2"}};
  EXPECT_EQ(back->metadata, expected_meta);
  // Spot checks that do not go through the generic comparison.
  const Graph& g = back->graph;
  EXPECT_EQ(g.dim_text(g.values[g.outputs[2]].type.shape[0]), "floordiv(batch - 1, 2) + 1");
  EXPECT_EQ(g.dim_text(g.nodes[9].attrs_as<ArangeAttrs>().length), "min(16, batch)");
  EXPECT_EQ(g.nodes[3].attrs_as<GeluAttrs>().approximate, GeluApprox::kTanh);
  EXPECT_EQ(g.nodes[4].attrs_as<PoolAttrs>().divisor_override, std::optional<int64_t>(3));
  EXPECT_EQ(g.nodes[2].attrs_as<ClampAttrs>().max, std::nullopt);
  EXPECT_EQ(g.nodes[2].attrs_as<ClampAttrs>().min, std::optional<double>(0.0));
  float c0[3];
  std::memcpy(c0, g.nodes[0].attrs_as<ConstantAttrs>().data.data(), 12);
  EXPECT_EQ(c0[1], -1.25f);
}

TEST(EngineFileTest, WriterIsDeterministicAndStableThroughARoundTrip) {
  std::vector<uint8_t> a = sample_bytes();
  std::vector<uint8_t> b = sample_bytes();
  EXPECT_EQ(a, b);
  Expected<EngineContents> back = read(a);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  Expected<std::vector<uint8_t>> again = write_engine(*back);
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(*again, a);
}

TEST(EngineFileTest, LayoutFollowsTheSpecification) {
  std::vector<uint8_t> f = sample_bytes();
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(f.data()), 8), std::string("KILNENG\0", 8));
  EXPECT_EQ(load<uint32_t>(f, 8), 2u);
  EXPECT_EQ(f[12], 0x04);
  EXPECT_EQ(f[15], 0x01);
  EXPECT_EQ(load<uint32_t>(f, 16), 64u);
  EXPECT_EQ(load<uint32_t>(f, 20), 4u);
  EXPECT_EQ(load<uint64_t>(f, 24), f.size());
  std::vector<testing_engine::SectionInfo> s = testing_engine::sections_of(f);
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[0].name, "meta");
  EXPECT_EQ(s[1].name, "graph");
  EXPECT_EQ(s[2].name, "kernels");
  EXPECT_EQ(s[3].name, "weights");
  EXPECT_EQ(s[0].offset, 64u + 4 * 40);
  EXPECT_EQ(s[3].alignment, 64u);
  EXPECT_EQ(s[3].offset % 64, 0u);
  EXPECT_EQ(s[3].offset + s[3].size, f.size());
  // Two constants: 12 bytes at 0, 12 bytes at 64.
  EXPECT_EQ(s[3].size, 64u + 12);
}

TEST(EngineFileTest, WeightsAliasTheBufferAt64ByteAlignedOffsets) {
  auto owner = std::make_shared<const std::vector<uint8_t>>(sample_bytes());
  const uint8_t* base = owner->data();
  size_t size = owner->size();
  Expected<EngineContents> e = read_engine(owner);
  ASSERT_TRUE(e.ok()) << e.status().to_string();
  std::weak_ptr<const std::vector<uint8_t>> weak = owner;
  owner.reset();
  EXPECT_FALSE(weak.expired()) << "the contents must keep the buffer alive";
  int constants = 0;
  for (const Node& n : e->graph.nodes) {
    if (n.op != OpKind::kConstant) continue;
    const TensorData& d = n.attrs_as<ConstantAttrs>().data;
    ++constants;
    ASSERT_GE(d.data(), base);
    ASSERT_LE(d.data() + d.size, base + size);
    EXPECT_EQ((d.data() - base) % 64, 0);
  }
  EXPECT_EQ(constants, 2);
  e = Status(StatusCode::kInternal, "dropped");
  EXPECT_TRUE(weak.expired()) << "dropping the contents must free the buffer";
}

TEST(EngineFileTest, BadMagicIsNotAnEngineFile) {
  std::vector<uint8_t> f = sample_bytes();
  f[0] = 'X';
  Status s = read_error(f);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("not a kiln engine file"), std::string::npos) << s.message();
  std::vector<uint8_t> text = {'h', 'e', 'l', 'l', 'o'};
  text.resize(200, ' ');
  EXPECT_NE(read_error(text).message().find("not a kiln engine file"), std::string::npos);
}

TEST(EngineFileTest, NewerFormatVersionAsksForARebuildOrUpgrade) {
  std::vector<uint8_t> f = sample_bytes();
  store<uint32_t>(f, 8, 7);
  Status s = read_error(f);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_EQ(s.message(), "engine format version 7 is newer than this kiln (supports 2); rebuild "
                         "the engine or upgrade kiln");
  store<uint32_t>(f, 8, 0);
  EXPECT_EQ(read_error(f).code(), StatusCode::kDataLoss);
  store<uint32_t>(f, 8, 1);  // an engine from before the fused conv/linear attributes
  s = read_error(f);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_EQ(s.message(), "engine format version 1 is older than this kiln reads (2); rebuild the "
                         "engine with this kiln");
}

TEST(EngineFileTest, BigEndianFilesAreRefusedClearly) {
  std::vector<uint8_t> f = sample_bytes();
  f[12] = 0x01;
  f[13] = 0x02;
  f[14] = 0x03;
  f[15] = 0x04;
  Status s = read_error(f);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_EQ(s.message(), "engine file is big-endian; kiln reads little-endian engine files only");
  f[12] = 0x99;
  s = read_error(f);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("endianness marker"), std::string::npos) << s.message();
}

TEST(EngineFileTest, ChecksumMismatchIsCorruption) {
  std::vector<uint8_t> f = sample_bytes();
  f[section(f, "weights").offset + 5] ^= 0x10;
  Status s = read_error(f);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_EQ(s.message(), "engine file is corrupt (checksum mismatch)");
}

TEST(EngineFileTest, TruncationNamesTheSectionAndSizes) {
  std::vector<uint8_t> f = sample_bytes();
  testing_engine::SectionInfo graph = section(f, "graph");
  std::vector<uint8_t> cut(f.begin(), f.begin() + graph.offset + graph.size / 2);
  Status s = read_error(cut);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_EQ(s.message(), str_cat("engine file is truncated: section 'graph' ends at ",
                                 graph.offset + graph.size, " but the file has ", cut.size(),
                                 " bytes"));
  EXPECT_EQ(read_error({f.begin(), f.begin() + 10}).message(),
            "engine file is truncated: the header needs 64 bytes but the file has 10 bytes");
  EXPECT_EQ(read_error({f.begin(), f.begin() + 100}).message(),
            "engine file is truncated: section table ends at 224 but the file has 100 bytes");
  EXPECT_EQ(read_error({}).code(), StatusCode::kDataLoss);
  // Every prefix is refused, none crashes.
  for (size_t n = 0; n < f.size(); ++n) {
    EXPECT_FALSE(read({f.begin(), f.begin() + n}).ok()) << "prefix of " << n << " bytes";
  }
}

TEST(EngineFileTest, TrailingBytesAreRefused) {
  std::vector<uint8_t> f = sample_bytes();
  f.push_back(0);
  Status s = read_error(f);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("1 unexpected bytes"), std::string::npos) << s.message();
}

TEST(EngineFileTest, ReservedHeaderBytesMustBeZero) {
  std::vector<uint8_t> f = sample_bytes();
  f[50] = 1;
  EXPECT_NE(read_error(f).message().find("reserved"), std::string::npos);
}

TEST(EngineFileTest, UnknownOpNamesTheSectionAndOffset) {
  std::vector<uint8_t> f = sample_bytes();
  testing_engine::SectionInfo graph = section(f, "graph");
  std::string needle = std::string("\x04\0\0\0gelu", 8);
  auto begin = f.begin() + graph.offset;
  auto it = std::search(begin, begin + graph.size, needle.begin(), needle.end());
  ASSERT_NE(it, begin + graph.size);
  it[7] = 'x';
  testing_engine::fix_checksum(f);
  Status s = read_error(f);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_EQ(s.message(), str_cat("engine section 'graph' at byte ", it - f.begin(),
                                 ": node #3 has unknown op 'gelx'; the engine needs a kiln that "
                                 "has this op"));
}

TEST(EngineFileTest, UnknownEnumNameIsUnsupported) {
  std::vector<uint8_t> f = sample_bytes();
  testing_engine::SectionInfo graph = section(f, "graph");
  std::string needle = "bilinear";
  auto begin = f.begin() + graph.offset;
  auto it = std::search(begin, begin + graph.size, needle.begin(), needle.end());
  ASSERT_NE(it, begin + graph.size);
  it[0] = 'X';
  testing_engine::fix_checksum(f);
  Status s = read_error(f);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("node #5 (resize), attribute 'mode': unknown value 'Xilinear'"),
            std::string::npos)
      << s.message();
}

TEST(EngineFileTest, WriterRefusesWhatTheReaderWouldRefuse) {
  EngineContents e = sample_engine();
  e.kernels.pop_back();
  Expected<std::vector<uint8_t>> r = write_engine(e);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("12 kernel names for 13 nodes"), std::string::npos)
      << r.status().message();

  e = sample_engine();
  e.graph.nodes[3].attrs = ClampAttrs{};
  r = write_engine(e);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);

  e = sample_engine();
  e.metadata.push_back({"build", "again"});
  r = write_engine(e);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("metadata key 'build' appears twice"), std::string::npos);

  e = sample_engine();
  e.graph.values[0].type.dtype = static_cast<DType>(200);
  r = write_engine(e);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST(EngineFileTest, WriterOwnsTheReservedMetadataKeys) {
  EngineContents e = sample_engine();
  e.device = DeviceKind::kCuda;
  e.metadata.insert(e.metadata.begin(), {"kiln_version", "0.0.0-old"});
  e.metadata.push_back({"device", "tpu"});
  Expected<std::vector<uint8_t>> bytes = write_engine(e);
  ASSERT_TRUE(bytes.ok()) << bytes.status().to_string();
  Expected<EngineContents> back = read(*bytes);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back->device, DeviceKind::kCuda);
  std::vector<std::pair<std::string, std::string>> expected_meta = {
      {"format_version", "2"}, {"kiln_version", KILN_VERSION}, {"build", "unit-test"},
      {"opt_level", "2"}};
  EXPECT_EQ(back->metadata, expected_meta);
}

TEST(EngineFileTest, DimNestingIsLimitedTo32) {
  auto nested = [](int depth) {
    DimExpr d = DimExpr::symbol(0);
    for (int i = 0; i < depth; ++i) d = floordiv(d + 1, 2);
    return d;
  };
  ASSERT_EQ(nested(32).depth(), 32);
  EngineContents e = sample_engine();
  ValueId y = testing_engine::add_value(e.graph, {DType::kF32, {DimExpr::symbol(0), nested(32)}},
                                        "deep");
  e.graph.inputs.push_back(y);
  Expected<std::vector<uint8_t>> bytes = write_engine(e);
  ASSERT_TRUE(bytes.ok()) << bytes.status().to_string();
  Expected<EngineContents> back = read(*bytes);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back->graph.values[y].type.shape[1], nested(32));

  e.graph.values[y].type.shape[1] = nested(33);
  Expected<std::vector<uint8_t>> refused = write_engine(e);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("nests 33 levels deep"), std::string::npos)
      << refused.status().message();
}

TEST(EngineFileTest, FilesRoundTripThroughDisk) {
  std::string path = ::testing::TempDir() + "/kiln_engine_file_test.kiln";
  std::vector<uint8_t> f = sample_bytes();
  ASSERT_TRUE(write_file_bytes(path, f).ok());
  Expected<std::vector<uint8_t>> back = read_file_bytes(path);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(*back, f);
  std::remove(path.c_str());
}

TEST(EngineFileTest, FileErrorsNameThePathAndTheReason) {
  Expected<std::vector<uint8_t>> r = read_file_bytes("/nonexistent/dir/model.kiln");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIoError);
  EXPECT_NE(r.status().message().find("'/nonexistent/dir/model.kiln'"), std::string::npos);
  EXPECT_NE(r.status().message().find("No such file or directory"), std::string::npos)
      << r.status().message();
  Status w = write_file_bytes("/nonexistent/dir/model.kiln", std::vector<uint8_t>{1, 2, 3});
  EXPECT_EQ(w.code(), StatusCode::kIoError);
  EXPECT_NE(w.message().find("/nonexistent/dir/model.kiln"), std::string::npos) << w.message();
  EXPECT_NE(w.message().find("No such file or directory"), std::string::npos) << w.message();
  r = read_file_bytes(::testing::TempDir());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not a regular file"), std::string::npos);
}

}  // namespace
}  // namespace kiln
