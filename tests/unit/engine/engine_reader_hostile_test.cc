// The reader against hand-crafted hostile sections (valid checksum, so the parser sees them):
// huge counts, deep or non-canonical dims, out-of-range ids and symbols, bad tags, bad weight
// ranges, broken metadata and section tables. Each must give a DataLoss or Unsupported Status
// that names the problem; none may allocate wildly, recurse unboundedly or read out of bounds.
#include <gtest/gtest.h>

#include <functional>

#include "engine_test_util.h"
#include "kiln/engine/engine_file.h"
#include "sample_engine.h"

namespace kiln {
namespace {

using engine_format::ByteWriter;
using testing_engine::store;
using Writer = std::function<void(ByteWriter&)>;

void put_str(ByteWriter& w, std::string_view s) { (void)w.str(s, "test string"); }

// A dim: `coeff` times symbol `index`.
void put_symbol_dim(ByteWriter& w, int32_t index, int64_t coeff = 1) {
  w.u32(1);
  w.i64(coeff);
  w.u32(1);
  w.u8(0);
  w.i32(index);
}

// The parts of a small graph: x: f32[batch] -> relu -> y. Tests replace one part.
struct GraphParts {
  Writer symbols = [](ByteWriter& w) {
    w.u32(1);
    put_str(w, "batch");
    w.i64(1);
    w.i64(8);
    w.i64(2);
  };
  Writer values = [](ByteWriter& w) {
    w.u32(2);
    for (const char* name : {"x", "y"}) {
      put_str(w, name);
      w.u8(0);  // f32
      w.u32(1);
      put_symbol_dim(w, 0);
    }
  };
  Writer inputs = [](ByteWriter& w) {
    w.u32(1);
    w.i32(0);
  };
  Writer nodes = [](ByteWriter& w) {
    w.u32(1);
    put_str(w, "relu");
    w.u32(1);
    w.i32(0);
    w.u32(1);
    w.i32(1);
    w.u32(0);  // no attribute fields
    put_str(w, "");
  };
  Writer outputs = [](ByteWriter& w) {
    w.u32(1);
    w.i32(1);
  };
  int num_nodes = 1;

  std::vector<uint8_t> bytes() const {
    ByteWriter w;
    put_str(w, "crafted");
    symbols(w);
    values(w);
    inputs(w);
    nodes(w);
    outputs(w);
    return std::move(w.buffer());
  }
};

std::vector<uint8_t> kernels_section(int n) {
  ByteWriter w;
  w.u32(n);
  for (int i = 0; i < n; ++i) put_str(w, "ref.any");
  return std::move(w.buffer());
}

std::vector<uint8_t> sample_file() {
  Expected<std::vector<uint8_t>> f = write_engine(testing_engine::sample_engine());
  EXPECT_TRUE(f.ok()) << f.status().to_string();
  return f.ok() ? *f : std::vector<uint8_t>{};
}

std::vector<uint8_t> crafted_file(const GraphParts& parts, std::vector<uint8_t> weights = {}) {
  return testing_engine::with_sections(sample_file(),
                                       {{"graph", parts.bytes()},
                                        {"kernels", kernels_section(parts.num_nodes)},
                                        {"weights", std::move(weights)}});
}

Expected<EngineContents> read(std::vector<uint8_t> bytes) {
  return read_engine(std::make_shared<const std::vector<uint8_t>>(std::move(bytes)));
}

// Reads, expects failure with `code` and a message containing `text`.
void expect_refused(std::vector<uint8_t> bytes, StatusCode code, std::string_view text) {
  Expected<EngineContents> r = read(std::move(bytes));
  ASSERT_FALSE(r.ok()) << "accepted; expected: " << text;
  EXPECT_EQ(r.status().code(), code) << r.status().to_string();
  EXPECT_NE(r.status().message().find(text), std::string::npos) << r.status().message();
}

// A constant node f32[numel] whose data is (offset, size) in the weights section.
Writer constant_node(int64_t numel, uint64_t offset, uint64_t size) {
  return [=](ByteWriter& w) {
    w.u32(2);
    put_str(w, "constant");
    w.u32(0);
    w.u32(1);
    w.i32(1);
    w.u32(3);
    w.u8(4);  // dtype
    w.u8(0);
    w.u8(6);  // shape
    w.u32(1);
    w.i64(numel);
    w.u8(12);  // data
    w.u64(offset);
    w.u64(size);
    put_str(w, "");
    put_str(w, "add");
    w.u32(2);
    w.i32(0);
    w.i32(1);
    w.u32(1);
    w.i32(2);
    w.u32(0);
    put_str(w, "");
  };
}

Writer three_values(int64_t numel) {
  return [=](ByteWriter& w) {
    w.u32(3);
    put_str(w, "x");
    w.u8(0);
    w.u32(1);
    w.u32(1);
    w.i64(numel);
    w.u32(0);
    for (int i = 0; i < 2; ++i) {
      put_str(w, "");
      w.u8(0);
      w.u32(1);
      w.u32(1);
      w.i64(numel);
      w.u32(0);
    }
  };
}

TEST(EngineReaderHostileTest, TheCraftedBaselineIsAccepted) {
  Expected<EngineContents> r = read(crafted_file(GraphParts{}));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->graph.name, "crafted");
  EXPECT_EQ(r->graph.nodes.size(), 1u);

  GraphParts p;
  p.num_nodes = 2;
  p.symbols = [](ByteWriter& w) { w.u32(0); };
  p.values = three_values(4);
  p.nodes = constant_node(4, 64, 16);
  p.outputs = [](ByteWriter& w) {
    w.u32(1);
    w.i32(2);
  };
  std::vector<uint8_t> weights(128, 7);
  r = read(crafted_file(p, weights));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
}

TEST(EngineReaderHostileTest, HugeCountsAreRefusedBeforeAllocating) {
  GraphParts p;
  p.values = [](ByteWriter& w) { w.u32(0xFFFFFFFFu); };
  expect_refused(crafted_file(p), StatusCode::kDataLoss, "values count 4294967295 needs at least");
  p = GraphParts{};
  p.symbols = [](ByteWriter& w) { w.u32(0x7FFFFFFFu); };
  expect_refused(crafted_file(p), StatusCode::kDataLoss, "symbols count 2147483647");
  p = GraphParts{};
  p.nodes = [](ByteWriter& w) { w.u32(100000000u); };
  expect_refused(crafted_file(p), StatusCode::kDataLoss, "nodes count 100000000");
  p = GraphParts{};
  p.values = [](ByteWriter& w) {
    w.u32(1);
    put_str(w, "x");
    w.u8(0);
    w.u32(1);
    w.u32(0xFFFFFFF0u);  // dim terms
  };
  expect_refused(crafted_file(p), StatusCode::kDataLoss, "dim terms count 4294967280");
  p = GraphParts{};
  p.values = [](ByteWriter& w) {
    w.u32(1);
    w.u32(0x7FFFFFFFu);  // a name's length
  };
  expect_refused(crafted_file(p), StatusCode::kDataLoss, "value name needs 2147483647 bytes");

  std::vector<uint8_t> f = sample_file();
  ByteWriter meta;
  meta.u32(0xFFFFFFFFu);
  expect_refused(testing_engine::with_sections(f, {{"meta", meta.buffer()}}), StatusCode::kDataLoss,
                 "engine section 'meta' at byte 224: metadata count 4294967295");
  expect_refused(testing_engine::with_sections(f, {{"kernels", {0xff, 0xff, 0xff, 0x0f}}}),
                 StatusCode::kDataLoss, "kernels count 268435455");
}

TEST(EngineReaderHostileTest, DimsNestAtMost32Deep) {
  auto nested = [](int depth) {
    return [=](ByteWriter& w) {
      w.u32(1);
      put_str(w, "x");
      w.u8(0);
      w.u32(1);
      // depth × (1 term, coeff 1, 1 factor, floordiv, lhs = ...), innermost symbol, rhs = 2
      for (int i = 0; i < depth; ++i) {
        w.u32(1);
        w.i64(1);
        w.u32(1);
        w.u8(1);
      }
      put_symbol_dim(w, 0);
      for (int i = 0; i < depth; ++i) {
        w.u32(1);  // rhs: the constant 2
        w.i64(2);
        w.u32(0);
      }
    };
  };
  GraphParts p;
  p.nodes = [](ByteWriter& w) { w.u32(0); };
  p.num_nodes = 0;
  p.outputs = [](ByteWriter& w) { w.u32(0); };
  p.values = nested(33);
  expect_refused(crafted_file(p), StatusCode::kDataLoss, "dim nests deeper than 32 levels");
  p.values = nested(5000);  // must not recurse 5000 deep
  expect_refused(crafted_file(p), StatusCode::kDataLoss, "dim nests deeper than 32 levels");
  p.values = nested(32);  // parses; then the verifier may judge the graph
  Expected<EngineContents> r = read(crafted_file(p));
  if (!r.ok()) {
    EXPECT_EQ(r.status().message().find("nests deeper"), std::string::npos) << r.status().message();
  }
}

TEST(EngineReaderHostileTest, DimSymbolsAndCoefficientsAreChecked) {
  GraphParts p;
  p.values = [](ByteWriter& w) {
    w.u32(1);
    put_str(w, "x");
    w.u8(0);
    w.u32(1);
    put_symbol_dim(w, 5);
  };
  expect_refused(crafted_file(p), StatusCode::kDataLoss, "dim uses symbol #5 but the graph has 1");
  p.values = [](ByteWriter& w) {
    w.u32(1);
    put_str(w, "x");
    w.u8(0);
    w.u32(1);
    put_symbol_dim(w, 0, INT64_MIN);
  };
  expect_refused(crafted_file(p), StatusCode::kDataLoss, "dim coefficient is INT64_MIN");
  p.values = [](ByteWriter& w) {  // INT64_MAX*batch + 1*batch wraps to INT64_MIN*batch
    w.u32(1);
    put_str(w, "x");
    w.u8(0);
    w.u32(1);
    w.u32(2);
    for (int64_t c : {INT64_MAX, int64_t{1}}) {
      w.i64(c);
      w.u32(1);
      w.u8(0);
      w.i32(0);
    }
  };
  expect_refused(crafted_file(p), StatusCode::kDataLoss, "dim coefficients sum to INT64_MIN");
  p.values = [](ByteWriter& w) {  // floordiv(batch, 1) is batch: not a canonical atom
    w.u32(1);
    put_str(w, "x");
    w.u8(0);
    w.u32(1);
    w.u32(1);
    w.i64(1);
    w.u32(1);
    w.u8(1);
    put_symbol_dim(w, 0);
    w.u32(1);
    w.i64(1);
    w.u32(0);
  };
  expect_refused(crafted_file(p), StatusCode::kDataLoss, "dim atom simplifies away");
  p.values = [](ByteWriter& w) {
    w.u32(1);
    put_str(w, "x");
    w.u8(0);
    w.u32(1);
    w.u32(1);
    w.i64(1);
    w.u32(1);
    w.u8(9);
  };
  expect_refused(crafted_file(p), StatusCode::kDataLoss, "unknown dim atom kind 9");
}

TEST(EngineReaderHostileTest, UnknownDTypeIsUnsupported) {
  GraphParts p;
  p.values = [](ByteWriter& w) {
    w.u32(1);
    put_str(w, "x");
    w.u8(200);
  };
  expect_refused(crafted_file(p), StatusCode::kUnsupported, "unknown dtype code 200");
}

TEST(EngineReaderHostileTest, ValueIdsMustBeInRange) {
  GraphParts p;
  p.outputs = [](ByteWriter& w) {
    w.u32(1);
    w.i32(7);
  };
  expect_refused(crafted_file(p), StatusCode::kDataLoss,
                 "graph outputs refer to value #7 but the graph has 2 values");
  p = GraphParts{};
  p.inputs = [](ByteWriter& w) {
    w.u32(1);
    w.i32(-1);  // absent is only for node inputs
  };
  expect_refused(crafted_file(p), StatusCode::kDataLoss, "graph inputs refer to value #-1");
}

TEST(EngineReaderHostileTest, AttributeFieldsAreCheckedByCountTagAndValue) {
  auto reduce_node = [](std::function<void(ByteWriter&)> attrs) {
    return [=](ByteWriter& w) {
      w.u32(1);
      put_str(w, "reduce_sum");
      w.u32(1);
      w.i32(0);
      w.u32(1);
      w.i32(1);
      attrs(w);
      put_str(w, "");
    };
  };
  GraphParts p;
  p.nodes = reduce_node([](ByteWriter& w) {
    w.u32(2);
    w.u8(6);
    w.u32(0);
    w.u8(3);
    w.u8(7);  // not a bool
  });
  expect_refused(crafted_file(p), StatusCode::kDataLoss, "expected a bool (0 or 1), found 7");
  p.nodes = reduce_node([](ByteWriter& w) { w.u32(5); });
  expect_refused(crafted_file(p), StatusCode::kDataLoss,
                 "node #0 (reduce_sum) has 5 attribute fields; this kiln's op has 2");
  p.nodes = reduce_node([](ByteWriter& w) {
    w.u32(2);
    w.u8(2);
  });
  expect_refused(crafted_file(p), StatusCode::kDataLoss,
                 "node #0 (reduce_sum), attribute 'axes': expected a i64 list field (tag 6), "
                 "found tag 2");
}

TEST(EngineReaderHostileTest, TensorDataMustBeAnAlignedRangeOfTheRightSize) {
  GraphParts p;
  p.num_nodes = 2;
  p.symbols = [](ByteWriter& w) { w.u32(0); };
  p.values = three_values(4);
  p.outputs = [](ByteWriter& w) {
    w.u32(1);
    w.i32(2);
  };
  std::vector<uint8_t> weights(128, 7);
  p.nodes = constant_node(4, 96, 16);
  expect_refused(crafted_file(p, weights), StatusCode::kDataLoss, "64-byte-aligned range");
  p.nodes = constant_node(4, 64, 80);
  expect_refused(crafted_file(p, weights), StatusCode::kDataLoss, "64-byte-aligned range");
  p.nodes = constant_node(4, UINT64_MAX - 63, 16);
  expect_refused(crafted_file(p, weights), StatusCode::kDataLoss, "64-byte-aligned range");
  p.nodes = constant_node(4, 0, 12);
  expect_refused(crafted_file(p, weights), StatusCode::kDataLoss,
                 "node #0 (constant) needs 16 bytes for its type but holds 12");
  p.nodes = constant_node(-4, 0, 16);
  expect_refused(crafted_file(p, weights), StatusCode::kDataLoss, "invalid shape dim -4");
  p.nodes = constant_node(INT64_MAX / 2, 0, 16);
  expect_refused(crafted_file(p, weights), StatusCode::kDataLoss, "invalid shape dim");
}

TEST(EngineReaderHostileTest, MetadataNeedsItsKeysOnceAndAKnownDevice) {
  std::vector<uint8_t> f = sample_file();
  auto meta = [](std::vector<std::pair<std::string, std::string>> pairs) {
    ByteWriter w;
    w.u32(static_cast<uint32_t>(pairs.size()));
    for (const auto& [k, v] : pairs) {
      put_str(w, k);
      put_str(w, v);
    }
    return std::move(w.buffer());
  };
  auto with_meta = [&](std::vector<std::pair<std::string, std::string>> pairs) {
    return testing_engine::with_sections(f, {{"meta", meta(std::move(pairs))}});
  };
  EXPECT_TRUE(read(with_meta({{"format_version", "2"}, {"kiln_version", "9"}, {"device", "cpu"}}))
                  .ok());
  expect_refused(with_meta({{"format_version", "2"}, {"kiln_version", "9"}, {"device", "tpu"}}),
                 StatusCode::kUnsupported, "unknown device 'tpu'");
  expect_refused(with_meta({{"format_version", "2"}, {"device", "cpu"}}), StatusCode::kDataLoss,
                 "metadata lacks 'kiln_version'");
  expect_refused(with_meta({{"format_version", "3"}, {"kiln_version", "9"}, {"device", "cpu"}}),
                 StatusCode::kDataLoss, "metadata says format version '3'");
  expect_refused(with_meta({{"format_version", "2"}, {"kiln_version", "9"}, {"device", "cpu"},
                            {"device", "cpu"}}),
                 StatusCode::kDataLoss, "metadata key 'device' appears twice");
  expect_refused(with_meta({{"format_version", "2"}, {"kiln_version", "9"}, {"device", "\x01\xff"}}),
                 StatusCode::kUnsupported, "unknown device '\\x01\\xff'");
}

TEST(EngineReaderHostileTest, SectionTableRules) {
  std::vector<uint8_t> f = sample_file();
  std::vector<uint8_t> g = f;
  std::memcpy(g.data() + 64 + 2 * 40, "meta\0\0\0", 8);  // kernels -> a second "meta"
  testing_engine::fix_checksum(g);
  expect_refused(g, StatusCode::kDataLoss, "two sections named 'meta'");
  g = f;
  std::memcpy(g.data() + 64 + 2 * 40, "kernelz", 7);
  testing_engine::fix_checksum(g);
  expect_refused(g, StatusCode::kDataLoss, "has no 'kernels' section");
  g = f;
  g[64 + 3 * 40] = 0x01;  // a non-printable name
  testing_engine::fix_checksum(g);
  expect_refused(g, StatusCode::kDataLoss, "section #3 has an invalid name");
  g = f;
  store<uint32_t>(g, 64 + 3 * 40 + 32, 8);  // weights aligned to 8 only
  testing_engine::fix_checksum(g);
  expect_refused(g, StatusCode::kDataLoss, "alignment 8, expected at least 64");
  g = f;
  store<uint32_t>(g, 64 + 3 * 40 + 32, 48);  // not a power of two
  testing_engine::fix_checksum(g);
  expect_refused(g, StatusCode::kDataLoss, "power-of-two alignment");
  g = f;
  uint64_t meta_offset = testing_engine::load<uint64_t>(g, 64 + 16);
  store<uint64_t>(g, 64 + 40 + 16, meta_offset);  // graph overlaps meta
  testing_engine::fix_checksum(g);
  expect_refused(g, StatusCode::kDataLoss, "inside the table or the previous section");
  g = f;
  store<uint64_t>(g, 64 + 40 + 24, UINT64_MAX);  // offset + size overflows
  expect_refused(g, StatusCode::kDataLoss, "section 'graph' ends at 18446744073709551615");
  g = f;
  store<uint32_t>(g, 20, 65);
  expect_refused(g, StatusCode::kDataLoss, "declares 65 sections");
}

TEST(EngineReaderHostileTest, UnknownSectionsAreSkippedButChecked) {
  std::vector<uint8_t> f = sample_file();
  std::vector<uint8_t> g = testing_engine::with_sections(f, {}, {{"future", 8, {1, 2, 3}}});
  Expected<EngineContents> r = read(g);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  g.pop_back();
  expect_refused(g, StatusCode::kDataLoss,
                 str_cat("engine file is truncated: section 'future' ends at ", g.size() + 1));
}

TEST(EngineReaderHostileTest, SectionsMustBeReadToTheEnd) {
  std::vector<uint8_t> f = sample_file();
  std::vector<uint8_t> k = testing_engine::section_bytes(f, "kernels");
  k.push_back(0);
  expect_refused(testing_engine::with_sections(f, {{"kernels", k}}), StatusCode::kDataLoss,
                 "1 unread bytes at the end of the section");
}

TEST(EngineReaderHostileTest, KernelCountMustMatchNodeCount) {
  std::vector<uint8_t> f = sample_file();
  expect_refused(testing_engine::with_sections(f, {{"kernels", kernels_section(2)}}),
                 StatusCode::kDataLoss, "engine file has 2 kernel names for 13 nodes");
}

TEST(EngineReaderHostileTest, GraphsThatFailVerificationAreDataLoss) {
  GraphParts p;
  p.inputs = [](ByteWriter& w) { w.u32(0); };  // x is used but never defined
  expect_refused(crafted_file(p), StatusCode::kDataLoss, "engine graph fails verification: ");
}

}  // namespace
}  // namespace kiln
