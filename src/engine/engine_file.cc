// SKELETON: owned by the engine-format task.
#include "kiln/engine/engine_file.h"

namespace kiln {
Expected<std::vector<uint8_t>> write_engine(const EngineContents& engine) {
  return unsupported("engine writer not written yet");
}
Expected<EngineContents> read_engine(std::shared_ptr<const std::vector<uint8_t>> owner) {
  return unsupported("engine reader not written yet");
}
Expected<std::vector<uint8_t>> read_file_bytes(const std::string& path) {
  return unsupported("not written yet");
}
Status write_file_bytes(const std::string& path, std::span<const uint8_t> bytes) {
  return unsupported("not written yet");
}
}  // namespace kiln
