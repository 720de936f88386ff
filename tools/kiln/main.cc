// `kiln`: build, inspect and run engine files from the command line. This file holds the command
// dispatch, the shared helpers declared in cli.h and the `build` command; `inspect` and `run` live
// in inspect.cc and run.cc.
//
// Deliberately not here: anything a library user would also need (that belongs in libkiln) and
// configuration through environment variables (only kiln's debug switches, read by the passes).
#include <cmath>
#include <cstdio>
#include <cstring>

#if KILN_HAVE_CUDA
#include <cuda_runtime.h>
#endif

#include "cli.h"
#include "kiln/build/builder.h"
#include "kiln/text/parser.h"

namespace kiln::cli {

constexpr std::string_view kMainHelp = R"(usage: kiln <command> [options]

Build, inspect and run kiln engine files.

commands:
  build    compile IR text into an engine file
  inspect  print an engine file's inputs, outputs, nodes, kernels and memory plan
  run      run an engine on random inputs and report latency and output summaries

options:
  -h, --help     show this help (or `kiln <command> --help`)
  --version      print kiln's version
)";

constexpr std::string_view kBuildHelp = R"(usage:
  kiln build GRAPH.ir -o MODEL.kiln [--device cpu|cuda]

Parses IR text, runs the default pass pipeline, chooses a kernel for every node and writes the
engine file. The debug switches KILN_DUMP_DIR, KILN_VERIFY_EACH and KILN_DISABLE_PASSES apply.

options:
  -o, --output PATH   the engine file to write (required)
  --device DEVICE     cpu (default) or cuda
  -h, --help          show this help
)";

Expected<ParsedArgs> parse_args(std::span<char* const> args, std::span<const OptionSpec> specs) {
  ParsedArgs out;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view word = args[i];
    if (word == "--help" || word == "-h") {
      out.help = true;
      continue;
    }
    if (word.size() < 2 || word[0] != '-') {
      out.positional.emplace_back(word);
      continue;
    }
    std::string_view name = word;
    std::optional<std::string> value;
    if (size_t eq = word.find('='); eq != std::string_view::npos && word.starts_with("--")) {
      name = word.substr(0, eq);
      value = std::string(word.substr(eq + 1));
    }
    const OptionSpec* spec = nullptr;
    for (const OptionSpec& s : specs) {
      if (s.name == name) spec = &s;
    }
    if (spec == nullptr) return invalid_argument("unknown option '", name, "'");
    if (spec->takes_value && !value) {
      if (i + 1 >= args.size()) return invalid_argument("option '", name, "' needs a value");
      value = args[++i];
    }
    if (!spec->takes_value && value) {
      return invalid_argument("option '", name, "' takes no value");
    }
    out.options[std::string(name)] = value.value_or("");
  }
  return out;
}

namespace {

// One line, whatever the message holds.
std::string one_line(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return out;
}

}  // namespace

int fail(const Status& status) {
  std::fprintf(stderr, "kiln: error: %s\n", one_line(status.message()).c_str());
  return kExitFailure;
}

int usage_error(std::string_view command, std::string_view message) {
  std::string see = command.empty() ? "kiln --help" : str_cat("kiln ", command, " --help");
  std::fprintf(stderr, "kiln: error: %s (see '%s')\n", one_line(message).c_str(), see.c_str());
  return kExitUsage;
}

std::string human_bytes(int64_t bytes) {
  constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return str_cat(bytes, " B");
  double v = static_cast<double>(bytes);
  int unit = -1;
  while (v >= 1024 && unit < 3) {
    v /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[unit]);
  return buf;
}

std::string concrete_shape_text(std::span<const int64_t> shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += str_cat(i ? ", " : "", shape[i]);
  return out + "]";
}

Expected<std::vector<ConcreteShape>> input_shapes_at(const Graph& g,
                                                     std::span<const int64_t> symbol_values) {
  std::vector<ConcreteShape> out;
  for (ValueId v : g.inputs) {
    ConcreteShape shape;
    for (const DimExpr& d : g.type(v).shape) {
      Expected<int64_t> value = d.evaluate(symbol_values);
      if (!value.ok()) {
        return value.status().with_context(str_cat("input '", g.values[v].name, "'"));
      }
      shape.push_back(*value);
    }
    out.push_back(std::move(shape));
  }
  return out;
}

Expected<DeviceKind> parse_device(std::string_view text) {
  if (text == "cpu") return DeviceKind::kCpu;
  if (text == "cuda") return DeviceKind::kCuda;
  return invalid_argument("unknown device '", text, "' (expected cpu or cuda)");
}

Status check_device_available(DeviceKind device) {
  if (device != DeviceKind::kCuda) return ok_status();
#if KILN_HAVE_CUDA
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count == 0) {
    cudaGetLastError();
    return unsupported("no CUDA device is available",
                       e != cudaSuccess ? str_cat(" (", cudaGetErrorString(e), ")") : "");
  }
  return ok_status();
#else
  return unsupported("kiln was built without the CUDA backend");
#endif
}

int build_command(std::span<char* const> args) {
  constexpr OptionSpec kSpecs[] = {{"-o", true}, {"--output", true}, {"--device", true}};
  Expected<ParsedArgs> parsed = parse_args(args, kSpecs);
  if (!parsed.ok()) return usage_error("build", parsed.status().message());
  if (parsed->help) {
    std::fputs(kBuildHelp.data(), stdout);
    return 0;
  }
  if (parsed->positional.size() != 1) {
    return usage_error("build", str_cat("expected one IR file, got ", parsed->positional.size()));
  }
  std::string output;
  if (auto it = parsed->options.find("-o"); it != parsed->options.end()) output = it->second;
  if (auto it = parsed->options.find("--output"); it != parsed->options.end()) output = it->second;
  if (output.empty()) return usage_error("build", "missing -o MODEL.kiln");
  BuildOptions options;
  options.passes = pass_manager_options_from_env();
  if (auto it = parsed->options.find("--device"); it != parsed->options.end()) {
    Expected<DeviceKind> device = parse_device(it->second);
    if (!device.ok()) return usage_error("build", device.status().message());
    options.device = *device;
  }
  // Building for CUDA needs the CUDA kernels in the registry, which only a CUDA build has.
  if (options.device == DeviceKind::kCuda && !KILN_HAVE_CUDA) {
    return fail(unsupported("kiln was built without the CUDA backend"));
  }

  const std::string& input = parsed->positional[0];
  Expected<std::vector<uint8_t>> text = read_file_bytes(input);
  if (!text.ok()) return fail(text.status());
  Expected<Graph> graph = parse_graph(
      std::string_view(reinterpret_cast<const char*>(text->data()), text->size()), input);
  if (!graph.ok()) return fail(graph.status());
  Expected<EngineContents> engine = build_engine(std::move(graph).value(), options);
  if (!engine.ok()) return fail(engine.status().with_context(input));
  Expected<std::vector<uint8_t>> bytes = write_engine(*engine);
  if (!bytes.ok()) return fail(bytes.status().with_context(output));
  if (Status s = write_file_bytes(output, *bytes); !s.ok()) return fail(s);

  int64_t weights = 0;
  for (const Node& n : engine->graph.nodes) {
    if (n.op == OpKind::kConstant) weights += n.attrs_as<ConstantAttrs>().data.size;
  }
  std::printf("kiln: built %s: %zu nodes, %s of weights, %s engine, %s\n", output.c_str(),
              engine->graph.nodes.size(), human_bytes(weights).c_str(),
              std::string(device_name(engine->device)).c_str(), human_bytes(bytes->size()).c_str());
  return 0;
}

}  // namespace kiln::cli

int main(int argc, char** argv) {
  using namespace kiln::cli;
  using kiln::str_cat;
  if (argc < 2) {
    std::fputs(kMainHelp.data(), stderr);
    return kExitUsage;
  }
  std::string_view command = argv[1];
  std::span<char* const> rest(argv + 2, static_cast<size_t>(argc - 2));
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(kMainHelp.data(), stdout);
    return 0;
  }
  if (command == "--version") {
    std::printf("kiln %s (CUDA backend: %s)\n", KILN_VERSION, KILN_HAVE_CUDA ? "yes" : "no");
    return 0;
  }
  if (command == "build") return build_command(rest);
  if (command == "inspect") return inspect_command(rest);
  if (command == "run") return run_command(rest);
  if (command.starts_with("-")) return usage_error("", str_cat("unknown option '", command, "'"));
  return usage_error("", str_cat("unknown command '", command, "'"));
}
