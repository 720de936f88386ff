// libFuzzer target for the engine reader: any byte string must give contents or an error Status,
// never a crash, a hang or an out-of-bounds read (ASan+UBSan are on). Accepted contents must
// survive write -> read -> write unchanged; a broken invariant traps so the fuzzer keeps the input.
// Seeds: kiln_engine_mutation_test --write-seeds DIR.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "kiln/engine/engine_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using Bytes = std::vector<uint8_t>;
  auto owner = std::make_shared<const Bytes>(data, data + size);
  kiln::Expected<kiln::EngineContents> r = kiln::read_engine(owner);
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
