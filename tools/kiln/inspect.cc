// `kiln inspect MODEL.kiln`: everything an engine file says about itself — header and metadata,
// inputs and outputs with their symbolic shapes and ranges, the symbol table, one row per node
// (op, kernel, output types, source location), the weight bytes, and the activation memory plan at
// the opt shapes and at the max shapes.
//
// With --ir, the engine's graph (after the passes it was built with) as IR text instead, which
// `kiln build` and `kiln-opt` read back.
//
// Deliberately not here: running anything (that is `kiln run`) or a machine-readable form of the
// tables.
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "cli.h"
#include "kiln/text/printer.h"

namespace kiln::cli {
namespace {

constexpr std::string_view kInspectHelp = R"(usage: kiln inspect MODEL.kiln [--ir]

Prints an engine file's header and metadata, inputs and outputs (dtypes, symbolic shapes, ranges),
symbols, nodes with their kernels and output types, weight bytes, and the planned activation memory
at the opt shapes and at the max shapes.

options:
  --ir         print the engine's graph (after the passes) as IR text instead; `kiln build` reads
               it back (a CUDA engine's graph builds for the CPU reference too)
  -h, --help   show this help
)";

// Rows of cells printed with each column padded to its widest cell.
void print_table(const std::vector<std::vector<std::string>>& rows, std::string_view indent) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    if (width.size() < row.size()) width.resize(row.size(), 0);
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  for (const auto& row : rows) {
    std::string line(indent);
    for (size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line += std::string(width[c] - row[c].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::printf("%s\n", line.c_str());
  }
}

std::string metadata_value(const EngineContents& c, std::string_view key) {
  for (const auto& [k, v] : c.metadata) {
    if (k == key) return v;
  }
  return "?";
}

// "memory plan at opt shapes (batch=8): peak 1.2 MiB, sum of buffers 4.8 MiB (25%)".
void print_memory_plan(const std::shared_ptr<const Engine>& engine, std::string_view label,
                       std::span<const int64_t> symbol_values) {
  const Graph& g = engine->graph();
  std::string where;
  for (size_t s = 0; s < g.symbols.size(); ++s) {
    where += str_cat(s ? ", " : " (", g.symbols[s].name, "=", symbol_values[s]);
  }
  if (!where.empty()) where += ")";
  std::string head = str_cat("memory plan at ", label, " shapes", where, ": ");
  Expected<std::vector<ConcreteShape>> shapes = input_shapes_at(g, symbol_values);
  if (!shapes.ok()) {
    std::printf("%sunavailable: %s\n", head.c_str(), shapes.status().message().c_str());
    return;
  }
  ExecutionContext context(engine);
  Expected<const ExecutionPlan*> plan = context.plan_for(*shapes);
  if (!plan.ok()) {
    std::printf("%sunavailable: %s\n", head.c_str(), plan.status().message().c_str());
    return;
  }
  const MemoryPlan& m = (*plan)->memory;
  std::string ratio = m.sum_bytes == 0
                          ? std::string("no intermediate buffers")
                          : str_cat(static_cast<int64_t>(std::lround(100.0 * m.arena_bytes /
                                                                     m.sum_bytes)),
                                    "%");
  std::printf("%speak %s, sum of buffers %s (%s)\n", head.c_str(),
              human_bytes(m.arena_bytes).c_str(), human_bytes(m.sum_bytes).c_str(),
              ratio.c_str());
}

void print_io(const std::vector<IOInfo>& infos) {
  std::vector<std::vector<std::string>> rows;
  for (const IOInfo& io : infos) {
    rows.push_back({io.name, std::string(dtype_name(io.dtype)), io.shape_text});
  }
  print_table(rows, "  ");
}

}  // namespace

int inspect_command(std::span<char* const> args) {
  constexpr OptionSpec kSpecs[] = {{"--ir", false}};
  Expected<ParsedArgs> parsed = parse_args(args, kSpecs);
  if (!parsed.ok()) return usage_error("inspect", parsed.status().message());
  if (parsed->help) {
    std::fputs(kInspectHelp.data(), stdout);
    return 0;
  }
  if (parsed->positional.size() != 1) {
    return usage_error("inspect",
                       str_cat("expected one engine file, got ", parsed->positional.size()));
  }
  const std::string& path = parsed->positional[0];
  Expected<std::shared_ptr<const Engine>> loaded = Engine::from_file(path);
  if (!loaded.ok()) return fail(loaded.status());
  const std::shared_ptr<const Engine>& engine = *loaded;
  const EngineContents& contents = engine->contents();
  const Graph& g = engine->graph();
  if (parsed->options.count("--ir") != 0) {
    std::fputs(print_graph(g).c_str(), stdout);
    return 0;
  }

  // 1. Header and metadata.
  std::error_code ec;
  const auto file_size = std::filesystem::file_size(path, ec);
  std::printf("%s: kiln engine '%s', %s\n", path.c_str(), g.name.c_str(),
              ec ? "size unknown" : human_bytes(static_cast<int64_t>(file_size)).c_str());
  std::vector<std::vector<std::string>> header = {
      {"format version", metadata_value(contents, "format_version")},
      {"kiln version", metadata_value(contents, "kiln_version")},
      {"device", std::string(device_name(engine->device()))},
  };
  for (const auto& [key, value] : contents.metadata) {
    if (key != "format_version" && key != "kiln_version" && key != "device") {
      header.push_back({key, value});
    }
  }
  print_table(header, "  ");

  // 2. Inputs, outputs, symbols.
  std::printf("inputs:\n");
  print_io(engine->inputs());
  std::printf("outputs:\n");
  print_io(engine->outputs());
  if (g.symbols.empty()) {
    std::printf("symbols: none (static shapes)\n");
  } else {
    std::printf("symbols:\n");
    std::vector<std::vector<std::string>> rows = {{"name", "min", "opt", "max"}};
    for (const SymbolInfo& s : g.symbols) {
      rows.push_back({s.name, std::to_string(s.min), std::to_string(s.opt), std::to_string(s.max)});
    }
    print_table(rows, "  ");
  }

  // 3. Nodes.
  std::printf("nodes: %zu\n", g.nodes.size());
  std::vector<std::vector<std::string>> rows = {{"#", "op", "kernel", "output", "loc"}};
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    std::string types;
    for (size_t k = 0; k < n.outputs.size(); ++k) {
      types += str_cat(k ? ", " : "", g.type_text(g.type(n.outputs[k])));
    }
    rows.push_back({std::to_string(i), std::string(op_name(n.op)),
                    std::string(engine->kernels()[i]->name), types, n.loc});
  }
  print_table(rows, "  ");

  // 4. Weights and memory.
  int64_t constants = std::count_if(g.nodes.begin(), g.nodes.end(),
                                    [](const Node& n) { return n.op == OpKind::kConstant; });
  std::printf("weights: %s in %lld constants (%lld bytes)\n",
              human_bytes(engine->weight_bytes()).c_str(), static_cast<long long>(constants),
              static_cast<long long>(engine->weight_bytes()));
  std::vector<int64_t> opt, max;
  for (const SymbolInfo& s : g.symbols) {
    opt.push_back(s.opt);
    max.push_back(s.max);
  }
  if (g.symbols.empty()) {
    print_memory_plan(engine, "static", opt);
  } else {
    print_memory_plan(engine, "opt", opt);
    print_memory_plan(engine, "max", max);
  }
  return 0;
}

}  // namespace kiln::cli
