// Converters for conv_pool ATen ops.
#include "converter.h"

namespace kiln::importer {

std::span<const Converter> conv_pool_converters() { return {}; }

}  // namespace kiln::importer
