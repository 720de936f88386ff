// The partitioner: supported compute nodes into acyclic engine groups, the rest to PyTorch.
//
// Grouping uses ranks: a supported node's rank is the highest rank among its producers, plus one
// where the producer runs in PyTorch; a PyTorch node takes the highest rank of its producers. Ranks
// never decrease along an edge and a path that leaves the supported nodes through PyTorch reaches a
// higher rank, so the supported nodes of one rank form an acyclic group (and stay so when a small
// group is sent back to PyTorch). Independent branches of one rank share an engine: one call. Shape nodes (sym_size and arithmetic
// on sizes) are not dependencies of engines: engines evaluate sizes from their own inputs.
#include "kiln/partition/partition.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

namespace kiln {
namespace {

using Kind = TorchValue::Kind;

void collect_nodes(const TorchValue& v, std::vector<int32_t>& out) {
  if (v.kind == Kind::kNode) out.push_back(static_cast<int32_t>(v.i));
  for (const TorchValue& item : v.items) {
    if (v.kind == Kind::kList) collect_nodes(item, out);
  }
}

std::vector<int32_t> producers(const TorchNode& n) {
  std::vector<int32_t> out;
  for (const TorchValue& a : n.args) collect_nodes(a, out);
  return out;
}

bool is_getitem(const TorchNode& n) { return n.target == "operator.getitem"; }

bool in_torch_executed_ops(const std::string& target, const std::vector<std::string>& ops) {
  for (const std::string& op : ops) {
    if (target == op || target.rfind(op + ".", 0) == 0) return true;
  }
  return false;
}

// Why `device` cannot run node i in an engine ("" if it can): the node is imported on its own and
// every IR op it becomes needs a kernel on the device that accepts it. Constants need none.
std::string device_reason(const TorchGraph& tg, int32_t i, const PartitionOptions& options) {
  if (options.device == DeviceKind::kCpu || is_getitem(tg.nodes[i])) return "";
  GroupIO io{{i}, {}, {i}};
  for (int32_t src : producers(tg.nodes[i])) {
    if (tg.nodes[src].meta.kind == Kind::kTensor &&
        std::find(io.inputs.begin(), io.inputs.end(), src) == io.inputs.end()) {
      io.inputs.push_back(src);
    }
  }
  Expected<Graph> g = import_group(tg, io, options.import);
  if (!g.ok()) return "";  // not a device question; the build reports it
  for (const Node& n : g->nodes) {
    if (n.op == OpKind::kConstant) continue;
    std::vector<TensorType> types;
    for (ValueId v : n.inputs) types.push_back(v == kNoValue ? TensorType{} : g->type(v));
    bool any = false;
    std::string why;
    for (const Kernel* k : kernels_for(n.op, options.device)) {
      if (k->accepts(n, types, &why)) {
        any = true;
        break;
      }
    }
    if (!any) {
      return why.empty() ? str_cat("no ", device_name(options.device), " kernel for ", op_name(n.op))
                         : str_cat("the ", device_name(options.device), " kernel for ",
                                   op_name(n.op), " does not take it: ", why);
    }
  }
  return "";
}

// "file.py:12 in forward: y = torch.foo(x)" from a node's two-line source text.
std::string source_text(const std::string& s) {
  size_t nl = s.find('\n');
  if (nl == std::string::npos) return s;
  size_t code = s.find_first_not_of(' ', nl + 1);
  return s.substr(0, nl) + (code == std::string::npos ? "" : ": " + s.substr(code));
}

}  // namespace

Expected<Partition> partition_graph(const TorchGraph& tg, const PartitionOptions& options) {
  KILN_RETURN_IF_ERROR(validate_torch_graph(tg));
  const int32_t count = static_cast<int32_t>(tg.nodes.size());
  Partition p;
  p.nodes.resize(count);
  std::vector<bool> supported(count, false);
  // 1. What each node is and whether an engine can take it.
  for (int32_t i = 0; i < count; ++i) {
    const TorchNode& n = tg.nodes[i];
    NodeDecision& d = p.nodes[i];
    d.cls = classify_node(tg, i);
    if (d.cls != NodeClass::kCompute) continue;
    if (in_torch_executed_ops(n.target, options.torch_executed_ops)) {
      d.reason = "listed in torch_executed_ops";
    } else {
      d.reason = import_support(tg, i, options.import);
    }
    if (d.reason.empty()) d.reason = device_reason(tg, i, options);
    if (d.reason.empty() && is_getitem(n)) {  // a tuple element lives where its tuple does
      std::vector<int32_t> src = producers(n);
      if (!src.empty() && !supported[src[0]]) d.reason = "it reads a tuple computed in PyTorch";
    }
    // Tensors arriving from PyTorch or the graph inputs become engine inputs: their sizes must be
    // expressions an engine can bind.
    for (int32_t src : d.reason.empty() ? producers(n) : std::vector<int32_t>{}) {
      if (supported[src] || p.nodes[src].cls == NodeClass::kShape) continue;
      const TorchValue& m = tg.nodes[src].meta;
      if (p.nodes[src].cls == NodeClass::kCompute && m.kind != Kind::kTensor &&
          m.kind != Kind::kList) {  // e.g. an unbacked size from .item()
        d.reason = str_cat("it takes the number '", tg.nodes[src].name,
                           "' computed in PyTorch; engine inputs are tensors");
        break;
      }
      std::string why = input_size_support(tg.nodes[src].meta);
      if (!why.empty()) {
        d.reason = str_cat("its input '", tg.nodes[src].name, "' has ", why);
        break;
      }
    }
    supported[i] = d.reason.empty();
  }
  // 2. require_full_compilation: every unsupported node, with its reason and source line.
  if (options.require_full_compilation) {
    std::string list;
    int64_t missing = 0;
    for (int32_t i = 0; i < count; ++i) {
      if (p.nodes[i].cls != NodeClass::kCompute || supported[i]) continue;
      ++missing;
      list += str_cat("\n  ", tg.node_context(i), ": ", p.nodes[i].reason);
    }
    if (missing > 0) {
      return unsupported("require_full_compilation=True but ", missing,
                         " op(s) cannot run in a kiln engine:", list);
    }
  }
  // 3. Ranks; the supported nodes of one rank are one group.
  std::vector<int64_t> rank(count, 0);
  for (int32_t i = 0; i < count; ++i) {
    if (p.nodes[i].cls != NodeClass::kCompute) continue;
    for (int32_t src : producers(tg.nodes[i])) {
      if (p.nodes[src].cls != NodeClass::kCompute) continue;
      bool crosses = supported[i] && !supported[src];
      rank[i] = std::max(rank[i], rank[src] + (crosses ? 1 : 0));
    }
  }
  std::map<int64_t, std::vector<int32_t>> components;  // rank -> nodes in order
  for (int32_t i = 0; i < count; ++i) {
    if (supported[i]) components[rank[i]].push_back(i);
  }
  // 4. min_block_size, unless one group holds every compute op of the graph.
  int64_t total_ops = 0;
  for (int32_t i = 0; i < count; ++i) {
    if (p.nodes[i].cls == NodeClass::kCompute && !is_getitem(tg.nodes[i])) ++total_ops;
  }
  std::vector<std::vector<int32_t>> groups;
  for (auto& [r, nodes] : components) {
    int64_t ops = std::count_if(nodes.begin(), nodes.end(),
                                [&](int32_t i) { return !is_getitem(tg.nodes[i]); });
    bool whole = ops == total_ops;
    if (ops < options.min_block_size && !whole && !options.require_full_compilation) {
      for (int32_t i : nodes) {
        p.nodes[i].reason = str_cat("its block has ", ops, " op(s), fewer than min_block_size=",
                                    options.min_block_size);
        supported[i] = false;
      }
      continue;
    }
    groups.push_back(std::move(nodes));
  }
  std::sort(groups.begin(), groups.end(),
            [](const auto& a, const auto& b) { return a.front() < b.front(); });
  // 5. Each group's inputs (values from outside, in first-use order; weights are imported as
  //    constants) and outputs (values read outside the group).
  for (size_t gi = 0; gi < groups.size(); ++gi) {
    for (int32_t i : groups[gi]) p.nodes[i].group = static_cast<int32_t>(gi);
  }
  for (size_t gi = 0; gi < groups.size(); ++gi) {
    GroupIO io;
    io.nodes = groups[gi];
    std::set<int32_t> seen_in;
    for (int32_t i : io.nodes) {
      for (int32_t src : producers(tg.nodes[i])) {
        const TorchNode& s = tg.nodes[src];
        if (p.nodes[src].group == static_cast<int32_t>(gi)) continue;
        if (p.nodes[src].cls == NodeClass::kShape) continue;  // sizes: evaluated inside
        if (s.op == "get_attr" && s.data != nullptr) continue;  // weights: constants
        if (seen_in.insert(src).second) io.inputs.push_back(src);
      }
    }
    std::set<int32_t> members(io.nodes.begin(), io.nodes.end());
    for (int32_t i : io.nodes) {
      if (tg.nodes[i].meta.kind != Kind::kTensor) continue;
      bool used_outside = false;
      for (int32_t j = i + 1; j < count && !used_outside; ++j) {
        if (members.count(j)) continue;
        std::vector<int32_t> src = producers(tg.nodes[j]);
        used_outside = std::find(src.begin(), src.end(), i) != src.end();
      }
      if (used_outside) io.outputs.push_back(i);
    }
    p.groups.push_back(std::move(io));
  }
  return p;
}

std::string partition_report(const TorchGraph& tg, const Partition& p) {
  const int32_t count = static_cast<int32_t>(tg.nodes.size());
  int64_t total = 0, in_engines = 0;
  for (int32_t i = 0; i < count; ++i) {
    if (p.nodes[i].cls != NodeClass::kCompute || is_getitem(tg.nodes[i])) continue;
    ++total;
    if (p.nodes[i].group >= 0) ++in_engines;
  }
  double pct = total ? 100.0 * static_cast<double>(in_engines) / static_cast<double>(total) : 100.0;
  char pct_text[32];
  std::snprintf(pct_text, sizeof(pct_text), "%.1f%%", pct);
  std::string out = str_cat("kiln partition: ", total, " ops, ", in_engines, " in ",
                            p.groups.size(), " engine(s) (coverage ", pct_text, "), ",
                            total - in_engines, " in PyTorch\n");
  auto value_text = [&](int32_t i) {
    return str_cat(tg.nodes[i].name, ": ", tg.nodes[i].meta.to_string());
  };
  // Segments in graph order: engines and runs of PyTorch ops between them.
  std::set<int32_t> reported;
  std::vector<int32_t> torch_run;
  auto flush_torch = [&] {
    if (torch_run.empty()) return;
    out += str_cat("PyTorch segment: ", torch_run.size(), " op(s)\n");
    for (int32_t i : torch_run) {
      out += str_cat("  ", tg.nodes[i].name, " (", tg.nodes[i].target, "): ", p.nodes[i].reason,
                     "\n");
      if (!tg.nodes[i].source.empty()) out += str_cat("      at ", source_text(tg.nodes[i].source), "\n");
    }
    torch_run.clear();
  };
  for (int32_t i = 0; i < count; ++i) {
    const NodeDecision& d = p.nodes[i];
    if (d.cls != NodeClass::kCompute) continue;
    if (d.group < 0) {
      if (!is_getitem(tg.nodes[i])) torch_run.push_back(i);
      continue;
    }
    if (!reported.insert(d.group).second) continue;
    flush_torch();
    const GroupIO& io = p.groups[static_cast<size_t>(d.group)];
    int64_t ops = std::count_if(io.nodes.begin(), io.nodes.end(),
                                [&](int32_t n) { return !is_getitem(tg.nodes[n]); });
    out += str_cat("Engine ", d.group, ": ", ops, " op(s)\n");
    for (int32_t in : io.inputs) out += str_cat("  input  ", value_text(in), "\n");
    for (int32_t o : io.outputs) out += str_cat("  output ", value_text(o), "\n");
  }
  flush_torch();
  // Fallback reasons, once per op kind.
  std::map<std::string, std::pair<int64_t, std::string>> by_op;
  for (int32_t i = 0; i < count; ++i) {
    if (p.nodes[i].cls != NodeClass::kCompute || p.nodes[i].group >= 0) continue;
    if (is_getitem(tg.nodes[i])) continue;
    auto& entry = by_op[tg.nodes[i].target];
    if (entry.first++ == 0) entry.second = p.nodes[i].reason;
  }
  if (!by_op.empty()) {
    out += "Ops left to PyTorch:\n";
    for (const auto& [target, entry] : by_op) {
      out += str_cat("  ", target, " x", entry.first, ": ", entry.second, "\n");
    }
  }
  return out;
}

}  // namespace kiln
