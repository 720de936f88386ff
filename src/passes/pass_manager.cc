// SKELETON: owned by the passes task.
#include "kiln/passes/pass_manager.h"

namespace kiln {
std::span<const PassInfo> all_passes() { return {}; }
const PassInfo* find_pass(std::string_view name) { return nullptr; }
PassManagerOptions pass_manager_options_from_env() { return {}; }
Status run_passes(Graph& g, std::span<const std::string> names, const PassManagerOptions& options) {
  return ok_status();
}
std::vector<std::string> default_pipeline() { return {}; }
}  // namespace kiln
