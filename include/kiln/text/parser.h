// IR text parser. Any input, however malformed, gives a Graph or a Status naming the file, line and
// column, what was expected and what was found: never a crash.
#pragma once

#include <string_view>

#include "kiln/ir/graph.h"

namespace kiln {

// Parses one graph. Output types written in the text are checked against shape inference. The
// result is verified (verifier.h) before it is returned.
Expected<Graph> parse_graph(std::string_view text, std::string_view filename = "<input>");

}  // namespace kiln
