// SKELETON: owned by the shape-inference task.
#include "kiln/ir/verifier.h"

namespace kiln {
Status verify_graph(const Graph& g) { return ok_status(); }
}  // namespace kiln
