// libFuzzer target for the engine reader: any byte string must give contents or an error Status,
// never a crash, a hang or an out-of-bounds read (ASan+UBSan are on). Accepted contents must
// survive write -> read -> write unchanged; a broken invariant traps so the fuzzer keeps the input.
//
// The harness rewrites the header's file size and checksum to match each input before reading it:
// otherwise almost every mutation dies at the checksum and the section parsers are never reached.
// The checksum and size checks themselves are covered by tests/unit/engine and the mutation test.
// Seeds: fuzz/corpus (written by kiln_engine_mutation_test --write-seeds DIR).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "../src/engine/format.h"
#include "kiln/engine/engine_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using Bytes = std::vector<uint8_t>;
  namespace fmt = kiln::engine_format;
  auto input = std::make_shared<Bytes>(data, data + size);
  if (size >= fmt::kHeaderSize) {
    uint64_t file_size = size;
    std::memcpy(input->data() + fmt::kFileSizeOffset, &file_size, 8);
    uint64_t checksum = fmt::file_checksum(*input);
    std::memcpy(input->data() + fmt::kChecksumOffset, &checksum, 8);
  }
  kiln::Expected<kiln::EngineContents> r = kiln::read_engine(input);
  if (!r.ok()) {
    kiln::StatusCode c = r.status().code();
    if (c != kiln::StatusCode::kDataLoss && c != kiln::StatusCode::kUnsupported) __builtin_trap();
    return 0;
  }
  if (r->kernels.size() != r->graph.nodes.size()) __builtin_trap();
  kiln::Expected<Bytes> once = kiln::write_engine(*r);
  if (!once.ok()) __builtin_trap();
  kiln::Expected<kiln::EngineContents> back = kiln::read_engine(std::make_shared<const Bytes>(*once));
  if (!back.ok()) __builtin_trap();
  kiln::Expected<Bytes> twice = kiln::write_engine(*back);
  if (!twice.ok() || *twice != *once) __builtin_trap();
  return 0;
}
