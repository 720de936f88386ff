// The pass registry and the pass manager: resolves pass names, runs passes in order, skips disabled
// ones, verifies between passes on request, dumps the IR after each pass and times each pass.
// It does not decide which passes run (pipeline.cc does) and holds no pass logic itself.
#include "kiln/passes/pass_manager.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "kiln/ir/verifier.h"
#include "kiln/support/debug_env.h"
#include "kiln/text/printer.h"

namespace kiln {
namespace {

// Every pass, once. Its name is how the command line, dumps and disable lists refer to it.
constexpr PassInfo kPasses[] = {
    {"dce", eliminate_dead_code},
    {"fold-constants", fold_constants},
    {"cse", eliminate_common_subexpressions},
    {"canonicalize", canonicalize},
    {"fold-batch-norm", fold_batch_norm},
    {"layout", layout},
    {"fold-attention-permutes", fold_attention_permutes},
    {"raise-composites", raise_composites},
    {"fold-views", fold_views},
    {"fuse-epilogues", fuse_epilogues},
};

// Dumps print constants up to this size; larger ones print as `data=elided`.
constexpr size_t kDumpElideConstantsOverBytes = 1024;

std::string known_pass_names() {
  std::string names;
  for (const PassInfo& p : kPasses) {
    if (!names.empty()) names += ", ";
    names += p.name;
  }
  return names;
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> items;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = std::min(text.find(',', pos), text.size());
    std::string_view item = text.substr(pos, end - pos);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) items.emplace_back(item);
    pos = end + 1;
  }
  return items;
}

Status write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return io_error("cannot write pass dump '", path.string(), "'");
  return ok_status();
}

Status dump_graph(const Graph& g, const std::string& dir, size_t index, std::string_view stage) {
  char prefix[16];
  std::snprintf(prefix, sizeof(prefix), "%02zu-", index);
  PrintOptions print_options;
  print_options.elide_constants_over_bytes = kDumpElideConstantsOverBytes;
  return write_file(std::filesystem::path(dir) / str_cat(prefix, stage, ".ir"),
                    print_graph(g, print_options));
}

Status write_timings(const std::string& dir, const std::vector<PassRun>& runs) {
  std::string text = "# pass, seconds, result (in order)\n";
  for (size_t i = 0; i < runs.size(); ++i) {
    char line[160];
    const PassRun& r = runs[i];
    std::string name(r.name);
    if (r.skipped) {
      std::snprintf(line, sizeof(line), "%02zu %-20s %10s  disabled\n", i + 1, name.c_str(), "-");
    } else {
      std::snprintf(line, sizeof(line), "%02zu %-20s %10.6f  %s\n", i + 1, name.c_str(), r.seconds,
                    r.changed ? "changed" : "unchanged");
    }
    text += line;
  }
  return write_file(std::filesystem::path(dir) / "timings.txt", text);
}

// Steps 1-3 of run_pass_list; `runs` receives what happened even when a step fails.
Status run_pass_list_steps(Graph& g, std::span<const PassInfo> passes,
                           const PassManagerOptions& options, std::vector<PassRun>& runs) {
  // 1. Dump and verify the input, so that a failure after a pass is the pass's fault.
  const bool dumping = !options.dump_dir.empty();
  if (dumping) {
    std::error_code ec;
    std::filesystem::create_directories(options.dump_dir, ec);
    if (ec) {
      return io_error("cannot create the pass dump directory '", options.dump_dir,
                      "': ", ec.message());
    }
    KILN_RETURN_IF_ERROR(dump_graph(g, options.dump_dir, 0, "input"));
  }
  if (options.verify_each) {
    KILN_RETURN_IF_ERROR(verify_graph(g).with_context("before the first pass"));
  }
  // 2. Run each pass that is not disabled, timing the pass alone.
  for (size_t i = 0; i < passes.size(); ++i) {
    const PassInfo& pass = passes[i];
    PassRun& run = runs.emplace_back();
    run.name = pass.name;
    run.skipped = std::find(options.disabled.begin(), options.disabled.end(), pass.name) !=
                  options.disabled.end();
    if (run.skipped) continue;
    auto start = std::chrono::steady_clock::now();
    Expected<bool> changed = pass.run(g, options.pass_options);
    run.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!changed.ok()) return changed.status().with_context(str_cat("pass '", pass.name, "'"));
    run.changed = *changed;
    // 3. Dump and verify what the pass produced.
    if (dumping) KILN_RETURN_IF_ERROR(dump_graph(g, options.dump_dir, i + 1, pass.name));
    if (options.verify_each) {
      KILN_RETURN_IF_ERROR(verify_graph(g).with_context(str_cat("after pass '", pass.name, "'")));
    }
  }
  return ok_status();
}

}  // namespace

std::span<const PassInfo> all_passes() { return kPasses; }

const PassInfo* find_pass(std::string_view name) {
  for (const PassInfo& p : kPasses) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

PassManagerOptions pass_manager_options_from_env() {
  PassManagerOptions options;
  options.dump_dir = debug_env(DebugEnv::kDumpDir);
  options.verify_each = debug_env(DebugEnv::kVerifyEach) == "1";
  options.disabled = split_list(debug_env(DebugEnv::kDisablePasses));
  return options;
}

Status run_pass_list(Graph& g, std::span<const PassInfo> passes,
                     const PassManagerOptions& options) {
  std::vector<PassRun> runs;
  Status status = run_pass_list_steps(g, passes, options, runs);
  if (!options.dump_dir.empty() && !runs.empty()) {
    Status written = write_timings(options.dump_dir, runs);
    if (status.ok()) status = written;
  }
  if (options.report != nullptr) {
    options.report->insert(options.report->end(), runs.begin(), runs.end());
  }
  return status;
}

Status run_passes(Graph& g, std::span<const std::string> names,
                  const PassManagerOptions& options) {
  std::vector<PassInfo> passes;
  for (const std::string& name : names) {
    const PassInfo* pass = find_pass(name);
    if (pass == nullptr) {
      return not_found("unknown pass '", name, "'; known passes: ", known_pass_names());
    }
    passes.push_back(*pass);
  }
  for (const std::string& name : options.disabled) {
    if (find_pass(name) == nullptr) {
      return not_found("cannot disable unknown pass '", name,
                       "'; known passes: ", known_pass_names());
    }
  }
  return run_pass_list(g, passes, options);
}

}  // namespace kiln
