// Converters for activation ATen ops.
#include "converter.h"

namespace kiln::importer {

std::span<const Converter> activation_converters() { return {}; }

}  // namespace kiln::importer
