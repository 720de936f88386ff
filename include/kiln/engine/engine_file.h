// Engine file format v1 (docs/engine_format.md is the specification; this is its code). An engine
// is a graph, one kernel choice per node, metadata and the weights, in checksummed named sections.
// The reader is bounds-checked everywhere: any byte string gives EngineContents or a DataLoss /
// Unsupported Status, never a crash, a hang or an out-of-bounds read.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "kiln/ir/graph.h"
#include "kiln/kernels/kernel.h"

namespace kiln {

inline constexpr uint32_t kEngineFormatVersion = 2;

struct EngineContents {
  DeviceKind device = DeviceKind::kCpu;
  Graph graph;
  std::vector<std::string> kernels;  // kernels[i] runs graph.nodes[i]
  std::vector<std::pair<std::string, std::string>> metadata;  // kiln_version, build options, ...
};

// Serializes. Deterministic: the same contents give the same bytes.
Expected<std::vector<uint8_t>> write_engine(const EngineContents& engine);

// Parses and validates `bytes`. Constant data in the result points into `bytes`, which the returned
// contents keep alive through `owner` (pass the shared_ptr that owns the buffer).
Expected<EngineContents> read_engine(std::shared_ptr<const std::vector<uint8_t>> owner);

Expected<std::vector<uint8_t>> read_file_bytes(const std::string& path);
Status write_file_bytes(const std::string& path, std::span<const uint8_t> bytes);

}  // namespace kiln
