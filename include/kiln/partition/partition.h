// The partitioner: splits a TorchGraph into engine groups and PyTorch nodes.
//
// Supported compute nodes (importer.h's import_support) form maximal acyclic groups; groups with
// fewer than min_block_size ops go back to PyTorch unless they cover the whole graph; ops named in
// torch_executed_ops stay in PyTorch; require_full_compilation turns any fallback into an error that
// lists each node with its op, reason and source line. Every node left to PyTorch keeps its reason.
#pragma once

#include <string>
#include <vector>

#include "kiln/importer/importer.h"
#include "kiln/kernels/kernel.h"

namespace kiln {

struct PartitionOptions {
  int64_t min_block_size = 5;
  // ATen overloads ("aten.add.Tensor") or packets ("aten.add") that must run in PyTorch.
  std::vector<std::string> torch_executed_ops;
  bool require_full_compilation = false;
  ImportOptions import;
  // The device the engines are built for: a node runs in an engine only if every IR op it converts
  // to has a kernel there that accepts it (the CPU reference runs every op).
  DeviceKind device = DeviceKind::kCpu;
};

struct NodeDecision {
  NodeClass cls = NodeClass::kStructural;
  int32_t group = -1;  // index into Partition::groups, or -1 (PyTorch)
  std::string reason;  // for compute nodes left to PyTorch: why
};

struct Partition {
  std::vector<NodeDecision> nodes;  // one per TorchGraph node
  std::vector<GroupIO> groups;      // in topological order of their first node
};

Expected<Partition> partition_graph(const TorchGraph& tg, const PartitionOptions& options);

// The dry-run report: total vs supported ops (coverage), each engine's inputs, outputs and op
// count, each PyTorch segment and why its ops fell back, with source lines.
std::string partition_report(const TorchGraph& tg, const Partition& partition);

}  // namespace kiln
