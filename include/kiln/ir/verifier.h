// The IR verifier: checks every structural and typing invariant of a Graph. Run after parsing, after
// every pass in tests and debug builds, and before an engine is written or run.
#pragma once

#include "kiln/ir/graph.h"

namespace kiln {

// Checks: value ids in range; each value defined exactly once (input or one node output) and before
// use; operand counts per ops.def; attribute kinds; output types equal to what shape inference
// gives; every symbol used by a graph input's shape bound by a bare-symbol dim of some input; no
// f64 anywhere; constants whose byte size matches their type; outputs defined; input names unique
// and non-empty. The first failure is returned, naming the node (index, op, loc) and the problem.
Status verify_graph(const Graph& g);

}  // namespace kiln
