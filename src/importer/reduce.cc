// Converters for reduce ATen ops.
#include "converter.h"

namespace kiln::importer {

std::span<const Converter> reduce_converters() { return {}; }

}  // namespace kiln::importer
