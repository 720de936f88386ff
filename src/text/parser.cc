// SKELETON: owned by the text-format task.
#include "kiln/text/parser.h"

namespace kiln {
Expected<Graph> parse_graph(std::string_view text, std::string_view filename) {
  return unsupported("parser not written yet");
}
}  // namespace kiln
