// Converters for indexing ATen ops.
#include "converter.h"

namespace kiln::importer {

std::span<const Converter> indexing_converters() { return {}; }

}  // namespace kiln::importer
