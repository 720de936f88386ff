// Runs named passes over a graph: verifies between passes (when asked), dumps IR after each pass to
// KILN_DUMP_DIR, skips disabled passes and times each one. The default pipeline is one list in
// src/passes/pipeline.cc.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/passes/passes.h"

namespace kiln {

using PassFn = Expected<bool> (*)(Graph&, const PassOptions&);

struct PassInfo {
  std::string_view name;  // "fold-constants"
  PassFn run;
};

// All passes, in no particular order.
std::span<const PassInfo> all_passes();
const PassInfo* find_pass(std::string_view name);

// What the pass manager did with one pass of the list.
struct PassRun {
  std::string name;
  bool skipped = false;  // named in `disabled`
  bool changed = false;  // what the pass returned
  double seconds = 0;    // wall time of the pass alone (not verification or dumping)
};

struct PassManagerOptions {
  bool verify_each = false;           // run verify_graph after every pass
  std::string dump_dir;               // if set, write <dir>/<NN>-<pass>.ir after every pass
  std::vector<std::string> disabled;  // pass names to skip
  PassOptions pass_options;
  std::vector<PassRun>* report = nullptr;  // if set, receives one entry per pass, in order
};

// Options from the environment's debug switches: KILN_DUMP_DIR, KILN_VERIFY_EACH=1,
// KILN_DISABLE_PASSES=a,b (the only environment variables kiln reads; support/debug_env.h).
PassManagerOptions pass_manager_options_from_env();

// Runs the named passes in order. Unknown names give NotFound listing the known ones.
Status run_passes(Graph& g, std::span<const std::string> names, const PassManagerOptions& options);

// Runs already-resolved passes in order, with the same verification, dumps, disabling and timing
// as run_passes (which resolves names and calls this). Tests use it to run passes of their own.
Status run_pass_list(Graph& g, std::span<const PassInfo> passes, const PassManagerOptions& options);

// The default compilation pipeline, in order (src/passes/pipeline.cc).
std::vector<std::string> default_pipeline();

}  // namespace kiln
