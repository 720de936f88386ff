// Deterministic mutation test of the engine reader. Builds a small valid engine, makes >10,000
// damaged copies (every truncation, bit flips, byte overwrites, duplicated and removed ranges, and
// mutations made after re-fixing the size and checksum so they reach the section parsers) and reads
// each one. The only allowed outcomes are a DataLoss/Unsupported Status, or contents that the
// writer can write back and that then round-trip byte for byte. Crashes and out-of-bounds reads are
// caught by the ASan+UBSan build scripts/test runs this in. No gtest: a plain program, exit 0 = pass.
//
//   kiln_engine_mutation_test                    run the test
//   kiln_engine_mutation_test --write-seeds DIR  write the fuzzer's seed corpus to DIR and exit
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "../unit/engine/engine_test_util.h"
#include "../unit/engine/sample_engine.h"
#include "kiln/engine/engine_file.h"

namespace kiln {
namespace {

using Bytes = std::vector<uint8_t>;

struct Rng {  // splitmix64: small, fast, the same everywhere
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  size_t below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(next() % n); }
};

struct Tally {
  int files = 0, rejected = 0, accepted = 0, failed = 0;
};

// Makes the header's size and checksum agree with the bytes, so the mutation reaches the parser.
void refix(Bytes& f) {
  if (f.size() < engine_format::kHeaderSize) return;
  testing_engine::store<uint64_t>(f, engine_format::kFileSizeOffset, f.size());
  testing_engine::fix_checksum(f);
}

void check(const Bytes& f, const std::string& what, Tally& t) {
  ++t.files;
  Expected<EngineContents> r = read_engine(std::make_shared<const Bytes>(f));
  if (!r.ok()) {
    StatusCode c = r.status().code();
    if ((c == StatusCode::kDataLoss || c == StatusCode::kUnsupported) &&
        !r.status().message().empty()) {
      ++t.rejected;
      return;
    }
    ++t.failed;
    std::printf("FAIL %s: unexpected status %s\n", what.c_str(), r.status().to_string().c_str());
    return;
  }
  ++t.accepted;
  // Whatever the reader accepts, the writer must write, and that must be a fixed point.
  Expected<Bytes> once = write_engine(*r);
  Expected<EngineContents> back =
      once.ok() ? read_engine(std::make_shared<const Bytes>(*once)) : Expected<EngineContents>(once.status());
  Expected<Bytes> twice = back.ok() ? write_engine(*back) : Expected<Bytes>(back.status());
  if (r->kernels.size() != r->graph.nodes.size() || !twice.ok() || *twice != *once) {
    ++t.failed;
    std::printf("FAIL %s: accepted contents do not round-trip (%s)\n", what.c_str(),
                twice.ok() ? "bytes differ" : twice.status().to_string().c_str());
  }
}

uint8_t interesting_byte(Rng& rng) {
  static constexpr uint8_t kBytes[] = {0x00, 0x01, 0x02, 0x04, 0x10, 0x20, 0x3f, 0x40,
                                       0x7f, 0x80, 0xc0, 0xfe, 0xff};
  return rng.below(2) ? kBytes[rng.below(sizeof(kBytes))] : static_cast<uint8_t>(rng.next());
}

uint32_t interesting_u32(Rng& rng) {
  static constexpr uint32_t kValues[] = {0,          1,          2,          3,         7,
                                         8,          63,         64,         255,       256,
                                         0x7fff,     0xffff,     0x10000,    0x7fffffff, 0x80000000,
                                         0xfffffffe, 0xffffffff, 0x40000000, 1000000};
  return kValues[rng.below(std::size(kValues))];
}

// A random offset, half the time inside the graph section (where most of the structure is).
size_t pick_offset(const Bytes& f, const testing_engine::SectionInfo& graph, Rng& rng) {
  if (rng.below(2) && graph.size > 0) return graph.offset + rng.below(graph.size);
  return rng.below(f.size());
}

int run() {
  Expected<Bytes> written = write_engine(testing_engine::sample_engine());
  if (!written.ok()) {
    std::printf("FAIL: cannot write the sample engine: %s\n", written.status().to_string().c_str());
    return 1;
  }
  const Bytes base = *written;
  const testing_engine::SectionInfo graph = testing_engine::section(base, "graph");
  Tally t;
  check(base, "the unmodified engine", t);
  if (t.accepted != 1) {
    std::printf("FAIL: the unmodified engine must be accepted\n");
    return 1;
  }
  Rng rng{0x6b696c6e};  // "kiln"

  // 1. Every truncation, raw and with the header re-fixed.
  for (size_t n = 0; n < base.size(); ++n) {
    Bytes f(base.begin(), base.begin() + n);
    check(f, str_cat("truncated to ", n), t);
    refix(f);
    check(f, str_cat("truncated to ", n, " and re-fixed"), t);
  }
  // 2. Single bit flips everywhere (header fields, table, sections; the checksum catches most).
  for (int i = 0; i < 2000; ++i) {
    Bytes f = base;
    size_t at = rng.below(f.size());
    f[at] ^= static_cast<uint8_t>(1u << rng.below(8));
    check(f, str_cat("bit flip at ", at), t);
  }
  // 3. Random byte overwrites.
  for (int i = 0; i < 1000; ++i) {
    Bytes f = base;
    size_t at = rng.below(f.size());
    size_t n = 1 + rng.below(8);
    for (size_t j = at; j < f.size() && j < at + n; ++j) f[j] = interesting_byte(rng);
    check(f, str_cat("overwrite at ", at), t);
  }
  // 4. Duplicated and removed ranges, raw and re-fixed.
  for (int i = 0; i < 1000; ++i) {
    Bytes f = base;
    size_t at = pick_offset(f, graph, rng);
    size_t n = 1 + rng.below(32);
    n = std::min(n, f.size() - at);
    if (rng.below(2)) {
      Bytes range(f.begin() + at, f.begin() + at + n);
      f.insert(f.begin() + at, range.begin(), range.end());
    } else {
      f.erase(f.begin() + at, f.begin() + at + n);
    }
    check(f, str_cat("range edit at ", at), t);
    refix(f);
    check(f, str_cat("range edit at ", at, " re-fixed"), t);
  }
  // 5. Mutations after re-fixing the checksum: they reach the parsers.
  for (int i = 0; i < 3000; ++i) {
    Bytes f = base;
    size_t at = pick_offset(f, graph, rng);
    f[at] ^= static_cast<uint8_t>(1u << rng.below(8));
    refix(f);
    check(f, str_cat("re-fixed bit flip at ", at), t);
  }
  for (int i = 0; i < 2000; ++i) {
    Bytes f = base;
    size_t at = pick_offset(f, graph, rng);
    size_t n = 1 + rng.below(8);
    for (size_t j = at; j < f.size() && j < at + n; ++j) f[j] = interesting_byte(rng);
    refix(f);
    check(f, str_cat("re-fixed overwrite at ", at), t);
  }
  for (int i = 0; i < 1500; ++i) {  // counts, lengths, ids and offsets set to edge values
    Bytes f = base;
    size_t at = pick_offset(f, graph, rng);
    if (at + 4 > f.size()) at = f.size() - 4;
    testing_engine::store<uint32_t>(f, at, interesting_u32(rng));
    refix(f);
    check(f, str_cat("re-fixed u32 at ", at), t);
  }

  std::printf("engine mutation: %d files, %d rejected, %d accepted\n", t.files, t.rejected,
              t.accepted);
  if (t.files < 10000) {
    std::printf("FAIL: only %d files\n", t.files);
    ++t.failed;
  }
  std::printf("%d passed, %d failed\n", t.files - t.failed, t.failed);
  return t.failed == 0 ? 0 : 1;
}

int write_seeds(const std::string& dir) {
  Expected<Bytes> base = write_engine(testing_engine::sample_engine());
  if (!base.ok()) {
    std::printf("cannot write the sample engine: %s\n", base.status().to_string().c_str());
    return 1;
  }
  EngineContents small;  // x: f32[4] -> relu -> y
  ValueId x = testing_engine::add_value(small.graph, {DType::kF32, {4}}, "x");
  small.graph.inputs = {x};
  small.graph.outputs = {
      testing_engine::add_node(small.graph, OpKind::kRelu, {x}, NoAttrs{}, {DType::kF32, {4}})};
  small.graph.values[small.graph.outputs[0]].name = "y";
  small.kernels = {"ref.relu"};
  Expected<Bytes> tiny = write_engine(small);
  if (!tiny.ok()) {
    std::printf("cannot write the small engine: %s\n", tiny.status().to_string().c_str());
    return 1;
  }
  for (const auto& [name, bytes] : {std::pair{"sample.kiln", *base}, std::pair{"relu.kiln", *tiny}}) {
    Status s = write_file_bytes(dir + "/" + name, bytes);
    if (!s.ok()) {
      std::printf("%s\n", s.to_string().c_str());
      return 1;
    }
  }
  std::printf("wrote 2 seeds to %s\n", dir.c_str());
  return 0;
}

}  // namespace
}  // namespace kiln

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--write-seeds") == 0) return kiln::write_seeds(argv[2]);
  if (argc != 1) {
    std::printf("usage: %s [--write-seeds DIR]\n", argv[0]);
    return 2;
  }
  return kiln::run();
}
