// kiln-opt: reads IR text, runs the named passes, prints the result. The driver of the golden IR
// tests (tests/ir). It holds no compiler logic: parsing, passes and printing are library calls.
// It reads no configuration of its own from the environment; pass_manager_options_from_env() adds
// the library's debug switches (KILN_DUMP_DIR, KILN_VERIFY_EACH, KILN_DISABLE_PASSES).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "kiln/passes/pass_manager.h"
#include "kiln/text/parser.h"
#include "kiln/text/printer.h"

namespace kiln {
namespace {

constexpr std::string_view kSeparator = "// -----";

constexpr const char* kUsage =
    "usage: kiln-opt [options] FILE|-\n"
    "\n"
    "Parses kiln IR text (docs/ir.md), runs passes over it and prints the result to stdout.\n"
    "\n"
    "options:\n"
    "  --passes=a,b,...      run these passes in order (see --list-passes)\n"
    "  --verify-each         verify the graph after every pass\n"
    "  --device=cpu|cuda     the target device the passes see (default cpu); target-specific\n"
    "                        passes such as layout do nothing on cpu\n"
    "  --split-input-file    split the input on lines '// -----' and process each chunk on its\n"
    "                        own; outputs are separated by '// -----', errors go to stderr and\n"
    "                        processing continues (exit status 1 if any chunk failed)\n"
    "  --elide-constants=N   print constants larger than N bytes as data=elided\n"
    "  --list-passes         print the names of all passes and exit\n"
    "  --help                print this help and exit\n"
    "\n"
    "Debug switches from the environment: KILN_DUMP_DIR, KILN_VERIFY_EACH=1,\n"
    "KILN_DISABLE_PASSES=a,b.\n";

struct Options {
  std::vector<std::string> passes;
  bool verify_each = false;
  DeviceKind device = DeviceKind::kCpu;
  bool split_input = false;
  size_t elide_constants = 0;
  std::string file;
};

void print_error(std::string_view message) {
  std::string line(message);
  for (char& c : line) {
    if (c == '\n') c = ' ';
  }
  std::fflush(stdout);
  std::fprintf(stderr, "kiln-opt: error: %s\n", line.c_str());
  std::fflush(stderr);
}

std::vector<std::string> split_commas(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string_view::npos) comma = s.size();
    if (comma > start) out.emplace_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

// Returns 0 to go on, or the exit status (+1) if the arguments ask to stop.
Expected<int> parse_args(int argc, char** argv, Options* options) {
  bool have_file = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 1;
    }
    if (arg == "--list-passes") {
      for (const PassInfo& p : all_passes()) {
        std::printf("%.*s\n", static_cast<int>(p.name.size()), p.name.data());
      }
      return 1;
    }
    if (arg.starts_with("--passes=")) {
      options->passes = split_commas(arg.substr(9));
    } else if (arg == "--verify-each") {
      options->verify_each = true;
    } else if (arg == "--device" || arg.starts_with("--device=")) {
      std::string_view name;
      if (arg == "--device") {
        if (i + 1 >= argc) return invalid_argument("--device needs a value: cpu or cuda");
        name = argv[++i];
      } else {
        name = arg.substr(9);
      }
      if (name == "cpu") {
        options->device = DeviceKind::kCpu;
      } else if (name == "cuda") {
        options->device = DeviceKind::kCuda;
      } else {
        return invalid_argument("--device must be cpu or cuda, got '", name, "'");
      }
    } else if (arg == "--split-input-file") {
      options->split_input = true;
    } else if (arg.starts_with("--elide-constants=")) {
      std::string_view n = arg.substr(18);
      size_t value = 0;
      bool ok = !n.empty();
      for (char c : n) {
        if (c < '0' || c > '9' || value > (SIZE_MAX - 9) / 10) ok = false;
        if (ok) value = value * 10 + size_t(c - '0');
      }
      if (!ok) return invalid_argument("--elide-constants needs a byte count, got '", n, "'");
      options->elide_constants = value;
    } else if (arg == "-" || !arg.starts_with("-")) {
      if (have_file) return invalid_argument("more than one input file given ('", arg, "')");
      options->file = std::string(arg);
      have_file = true;
    } else {
      return invalid_argument("unknown option '", arg, "' (see --help)");
    }
  }
  if (!have_file) {
    return invalid_argument("no input file (give a path, or - for stdin; see --help)");
  }
  return 0;
}

Expected<std::string> read_input(const std::string& path) {
  if (path == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return io_error("'", path, "' is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error("cannot open '", path, "'");
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return io_error("cannot read '", path, "'");
  return buf.str();
}

// Parses, transforms and prints one graph.
Expected<std::string> process(std::string_view text, std::string_view filename,
                              const Options& options) {
  KILN_ASSIGN_OR_RETURN(Graph g, parse_graph(text, filename));
  PassManagerOptions pm = pass_manager_options_from_env();
  if (options.verify_each) pm.verify_each = true;
  pm.pass_options.device = options.device;
  KILN_RETURN_IF_ERROR(run_passes(g, options.passes, pm));
  PrintOptions print;
  print.elide_constants_over_bytes = options.elide_constants;
  return print_graph(g, print);
}

struct Chunk {
  std::string text;  // padded with newlines so that line numbers are those of the whole file
  int first_line;
};

// Splits on lines whose first non-blank characters are "// -----".
std::vector<Chunk> split_chunks(std::string_view text) {
  std::vector<Chunk> chunks;
  Chunk current{"", 1};
  int line = 1;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    size_t next = end == std::string_view::npos ? text.size() : end + 1;
    std::string_view content = text.substr(pos, next - pos);
    size_t first = content.find_first_not_of(" \t");
    if (first != std::string_view::npos && content.substr(first).starts_with(kSeparator)) {
      chunks.push_back(std::move(current));
      current = Chunk{std::string(static_cast<size_t>(line), '\n'), line + 1};
    } else {
      current.text.append(content);
    }
    ++line;
    pos = next;
  }
  chunks.push_back(std::move(current));
  return chunks;
}

int run(int argc, char** argv) {
  Options options;
  Expected<int> stop = parse_args(argc, argv, &options);
  if (!stop.ok()) {
    print_error(stop.status().message());
    return 1;
  }
  if (*stop != 0) return *stop - 1;
  Expected<std::string> input = read_input(options.file);
  if (!input.ok()) {
    print_error(input.status().message());
    return 1;
  }
  const std::string filename = options.file == "-" ? "<stdin>" : options.file;
  if (!options.split_input) {
    Expected<std::string> out = process(*input, filename, options);
    if (!out.ok()) {
      print_error(out.status().message());
      return 1;
    }
    std::fwrite(out->data(), 1, out->size(), stdout);
    return std::fflush(stdout) == 0 ? 0 : 1;
  }
  bool failed = false;
  std::vector<Chunk> chunks = split_chunks(*input);
  for (size_t i = 0; i < chunks.size(); ++i) {
    if (i) std::printf("%.*s\n", int(kSeparator.size()), kSeparator.data());
    Expected<std::string> out = process(chunks[i].text, filename, options);
    if (out.ok()) {
      std::fwrite(out->data(), 1, out->size(), stdout);
      std::fflush(stdout);
    } else {
      failed = true;
      print_error(str_cat("in the chunk starting at line ", chunks[i].first_line, ": ",
                          out.status().message()));
    }
  }
  if (std::fflush(stdout) != 0) return 1;
  return failed ? 1 : 0;
}

}  // namespace
}  // namespace kiln

int main(int argc, char** argv) { return kiln::run(argc, argv); }
