// Converters for linalg ATen ops.
#include "converter.h"

namespace kiln::importer {

std::span<const Converter> linalg_converters() { return {}; }

}  // namespace kiln::importer
