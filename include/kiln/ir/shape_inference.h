// Output types of every op, from input types and attributes: the single definition of each op's
// typing rules (dtypes accepted, broadcasting, output shapes as DimExprs).
//
// The same functions serve the builder (symbolic shapes) and the runtime (concrete shapes): when
// `symbol_values` is given, DimExprs in attributes (reshape's shape, slice bounds, ...) are
// evaluated first, so with concrete input shapes every output shape comes out concrete and every
// runtime check (broadcast compatibility, reshape element counts) is made on real sizes.
#pragma once

#include <span>
#include <vector>

#include "kiln/ir/graph.h"

namespace kiln {

// `inputs[i]` is null for an absent optional input. `symbol_values` is null when building
// (symbolic), or the value of every graph symbol at run time. Errors name the op and what was
// expected, e.g. "conv: weight must have rank 4 like the input, got f32[16, 3]".
Expected<std::vector<TensorType>> infer_output_types(
    OpKind op, const Attrs& attrs, std::span<const TensorType* const> inputs,
    const std::vector<int64_t>* symbol_values = nullptr);

// The output types of node `n` of `g`, computed from the current types of its inputs.
Expected<std::vector<TensorType>> infer_node_types(const Graph& g, const Node& n);

}  // namespace kiln
