// Converters for norm ATen ops.
#include "converter.h"

namespace kiln::importer {

std::span<const Converter> norm_converters() { return {}; }

}  // namespace kiln::importer
