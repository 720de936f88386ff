// The builder: verifies the graph, runs the default pass pipeline, verifies again, and picks for
// every node the first kernel of the target device (in registry order) that accepts it. The result
// is an in-memory EngineContents; write_engine() serializes it.
//
// Deliberately not here (yet): timing candidate kernels, a timing cache, memory planning (the
// runtime plans per shape signature) and code generation. With one kernel per op and device today,
// "first that accepts" is the whole choice.
#include "kiln/build/builder.h"

#include <algorithm>

#include "kiln/ir/verifier.h"

namespace kiln {
namespace {

std::string node_context(const Graph& g, size_t i) {
  const Node& n = g.nodes[i];
  std::string out = str_cat("node ", i, " (", op_name(n.op));
  if (!n.loc.empty()) out += str_cat(", loc \"", n.loc, "\"");
  return out + ")";
}

Expected<const Kernel*> choose_kernel(const Graph& g, size_t i, DeviceKind device) {
  const Node& n = g.nodes[i];
  std::vector<const Kernel*> candidates = kernels_for(n.op, device);
  if (candidates.empty()) {
    return unsupported(node_context(g, i), ": no ", device_name(device), " kernel exists for ",
                       op_name(n.op));
  }
  std::vector<TensorType> input_types;
  for (ValueId v : n.inputs) input_types.push_back(v == kNoValue ? TensorType{} : g.type(v));
  std::string reasons;
  for (const Kernel* k : candidates) {
    std::string why;
    if (k->accepts(n, input_types, &why)) return k;
    if (!reasons.empty()) reasons += "; ";
    reasons += candidates.size() == 1 ? why : str_cat(k->name, ": ", why);
  }
  return unsupported(node_context(g, i), ": no ", device_name(device), " kernel accepts it: ",
                     reasons);
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += str_cat(i ? sep : "", items[i]);
  return out;
}

}  // namespace

Expected<EngineContents> build_engine(Graph graph, const BuildOptions& options) {
  // 1. The graph as given, then the pipeline, then the graph the passes left.
  KILN_RETURN_IF_ERROR(verify_graph(graph));
  const std::vector<std::string> pipeline = default_pipeline();
  PassManagerOptions passes = options.passes;
  passes.pass_options.device = options.device;
  KILN_RETURN_IF_ERROR(run_passes(graph, pipeline, passes));
  Status verified = verify_graph(graph);
  if (!verified.ok()) return verified.with_context("after the pass pipeline");

  // 2. One kernel per node.
  EngineContents engine;
  engine.device = options.device;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    KILN_ASSIGN_OR_RETURN(const Kernel* k, choose_kernel(graph, i, options.device));
    engine.kernels.emplace_back(k->name);
  }

  // 3. Metadata: what built it and how.
  std::vector<std::string> ran;
  for (const std::string& pass : pipeline) {
    const auto& disabled = options.passes.disabled;
    if (std::find(disabled.begin(), disabled.end(), pass) == disabled.end()) ran.push_back(pass);
  }
  engine.metadata = {
      {"kiln_version", KILN_VERSION},
      {"device", std::string(device_name(options.device))},
      {"format_version", std::to_string(kEngineFormatVersion)},
      {"pipeline", join(ran, ",")},
  };
  if (options.use_cuda_graphs && options.device == DeviceKind::kCuda) {
    engine.metadata.emplace_back("use_cuda_graphs", "1");
  }
  if (!options.passes.disabled.empty()) {
    engine.metadata.emplace_back("disabled_passes", join(options.passes.disabled, ","));
  }
  engine.graph = std::move(graph);
  return engine;
}

}  // namespace kiln
