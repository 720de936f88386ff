// Converters for shape ATen ops.
#include "converter.h"

namespace kiln::importer {

std::span<const Converter> shape_converters() { return {}; }

}  // namespace kiln::importer
