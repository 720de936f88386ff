// Deterministic IR text printer. docs/ir.md defines the syntax; parser.h reads it back.
#pragma once

#include <cstddef>
#include <string>

#include "kiln/ir/graph.h"

namespace kiln {

struct PrintOptions {
  // Constants with more bytes than this print as `data=elided` (for dumps of real models). Elided
  // text does not parse back into a runnable graph. 0 prints everything.
  size_t elide_constants_over_bytes = 0;
};

// Unnamed values are renumbered %0, %1, ... in definition order; named values (graph inputs and
// any other value with a Value::name) print with their names, made into unique identifiers. The
// same graph always prints the same text; parse(print(g)) prints identically.
std::string print_graph(const Graph& g, const PrintOptions& options = {});

}  // namespace kiln
