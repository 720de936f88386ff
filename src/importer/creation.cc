// Converters for creation ATen ops.
#include "converter.h"

namespace kiln::importer {

std::span<const Converter> creation_converters() { return {}; }

}  // namespace kiln::importer
