// profile_report: the text `kiln run --profile` and kiln.runtime.profile print for
// ExecutionContext::profile() times, in one place: GPU ms per engine, per kernel over all engines,
// and the slowest nodes.
#include <algorithm>
#include <cstdio>
#include <map>

#include "kiln/runtime.h"

namespace kiln {
namespace {

std::string format(const char* fmt, auto... args) {
  std::string line(static_cast<size_t>(std::snprintf(nullptr, 0, fmt, args...)), '\0');
  std::snprintf(line.data(), line.size() + 1, fmt, args...);
  return line;
}

}  // namespace

std::string profile_report(std::span<const EngineProfile> runs, size_t top) {
  struct Row {
    double ms;
    size_t run, node;
  };
  std::map<std::string_view, std::pair<double, int>> by_kernel;
  std::vector<Row> rows;
  std::string out;
  for (size_t r = 0; r < runs.size(); ++r) {
    const Graph& g = runs[r].engine->graph();
    double total = 0;
    for (size_t i = 0; i < g.nodes.size() && i < runs[r].node_ms.size(); ++i) {
      if (g.nodes[i].op == OpKind::kConstant) continue;
      const double ms = runs[r].node_ms[i];
      auto& [kernel_ms, nodes] = by_kernel[runs[r].engine->kernels()[i]->name];
      kernel_ms += ms;
      ++nodes;
      total += ms;
      rows.push_back({ms, r, i});
    }
    out += format("engine %s: %.3f ms GPU over %zu nodes (plain launches, an event after each)\n",
                  runs[r].name.c_str(), total, g.nodes.size());
  }
  std::vector<std::pair<std::string_view, std::pair<double, int>>> kernels(by_kernel.begin(),
                                                                          by_kernel.end());
  std::stable_sort(kernels.begin(), kernels.end(),
                   [](const auto& a, const auto& b) { return a.second.first > b.second.first; });
  out += "per kernel (ms, nodes):\n";
  for (const auto& [name, stat] : kernels) {
    out += format("  %9.3f %5d  %s\n", stat.first, stat.second, std::string(name).c_str());
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const Row& a, const Row& b) { return a.ms > b.ms; });
  rows.resize(std::min(rows.size(), top));
  out += format("slowest %zu nodes:\n", rows.size());
  for (const Row& row : rows) {
    const Engine& e = *runs[row.run].engine;
    const Node& n = e.graph().nodes[row.node];
    const Graph& g = e.graph();
    const std::string type = n.outputs.empty() ? "" : g.type_text(g.type(n.outputs[0]));
    out += format("  %8.3f  %s #%-4zu %-16s %-22s %s  %s\n", row.ms, runs[row.run].name.c_str(),
                  row.node, std::string(op_name(n.op)).c_str(),
                  std::string(e.kernels()[row.node]->name).c_str(), type.c_str(), n.loc.c_str());
  }
  return out;
}

}  // namespace kiln
