// SKELETON: owned by the shape-inference task.
#include "kiln/ir/shape_inference.h"

namespace kiln {

Expected<std::vector<TensorType>> infer_output_types(OpKind op, const Attrs& attrs,
                                                     std::span<const TensorType* const> inputs,
                                                     const std::vector<int64_t>* symbol_values) {
  return unsupported(op_name(op), ": shape inference not written yet");
}

Expected<std::vector<TensorType>> infer_node_types(const Graph& g, const Node& n) {
  std::vector<const TensorType*> in;
  for (ValueId v : n.inputs) in.push_back(v == kNoValue ? nullptr : &g.type(v));
  return infer_output_types(n.op, n.attrs, in, nullptr);
}

}  // namespace kiln
