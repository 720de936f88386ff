// The importer: TorchGraph nodes to kiln IR, one converter per ATen overload.
//
// The converter table (src/importer/registry.cc lists the families) is kiln's only answer to "is
// this ATen op supported": the partitioner, the dry-run report and the docs' op list all read it
// through import_support() and converter_targets(). Each converter has a capability check beside it
// that says in words why it refuses a node.
#pragma once

#include <string>
#include <vector>

#include "kiln/importer/torch_graph.h"
#include "kiln/ir/graph.h"
#include "kiln/support/status.h"

namespace kiln {

struct ImportOptions {
  // enabled_precisions={torch.half} (or bfloat16): f32 compute inside engines runs in this dtype
  // (engine inputs and outputs keep their f32 types; the engine casts at its edges).
  DType f32_compute = DType::kF32;
  // truncate_double: f64 tensors are imported as f32.
  bool truncate_double = false;
};

// How the partitioner must treat a node before asking the converters.
enum class NodeClass {
  kStructural,  // placeholder, output, get_attr: never in a group, never counted
  kShape,       // produces a symbolic int (sym_size, operator.mul on sizes, ...): evaluated from
                // its metadata wherever an engine needs it; stays in the torch graph, not counted
  kIgnored,     // runtime assertions and other no-value nodes: stay in torch, not counted
  kCompute,     // a tensor op: goes to an engine if supported
};
NodeClass classify_node(const TorchGraph& tg, int32_t index);

// Why node `index` cannot become part of an engine, or "" if it can.
std::string import_support(const TorchGraph& tg, int32_t index, const ImportOptions& options);

// Why a tensor with this metadata cannot be an engine input ("" if it can): engines bind their
// symbols from input sizes, which must be ints or symbols under + * // % min max.
std::string input_size_support(const TorchValue& meta);

// Every ATen target with a converter, sorted ("aten.add.Tensor", ...).
std::vector<std::string> converter_targets();

// A set of nodes to become one engine: compute nodes in topological order, the values entering it
// (engine inputs: tensor-valued node indices, in order) and the values leaving it (engine outputs).
struct GroupIO {
  std::vector<int32_t> nodes;
  std::vector<int32_t> inputs;
  std::vector<int32_t> outputs;
  // Positions in `inputs` of rank-4 tensors that arrive channels-last (torch.channels_last): the
  // engine takes their memory as it is, an [N, H, W, C] input, and permutes it to [N, C, H, W]
  // first (a permute the CUDA layout pass cancels against its own). The caller passes
  // x.permute(0, 2, 3, 1), a view of such a tensor.
  std::vector<int32_t> channels_last_inputs;
};

// Builds the kiln IR graph of one group. Engine inputs are named after the FX nodes; symbols take
// their ranges from tg.symbols. Fails (naming the FX node) if a converter fails.
Expected<Graph> import_group(const TorchGraph& tg, const GroupIO& group,
                             const ImportOptions& options);

}  // namespace kiln
