// Converters for shape and layout ATen ops (view, reshape, permute, transpose, expand, squeeze,
// unsqueeze, flatten, ...) and operator.getitem on tuple-valued nodes.
#include "converter.h"

namespace kiln::importer {
namespace {

// operator.getitem(tuple_node, k): the k-th value of a multi-output node converted earlier.
Status convert_getitem(ImportContext& ctx, const TorchNode& n) {
  const TorchValue& src = arg(n, 0);
  std::optional<int64_t> k = ImportContext::static_int(arg(n, 1));
  const std::vector<ValueId>* values = src.is_node() ? ctx.outputs_of(static_cast<int32_t>(src.i))
                                                     : nullptr;
  if (values == nullptr || !k || *k < 0 || *k >= static_cast<int64_t>(values->size())) {
    return invalid_argument("getitem reads a value this engine does not have");
  }
  ctx.set_output((*values)[static_cast<size_t>(*k)]);
  return ok_status();
}

std::string check_getitem(const ImportContext& ctx, const TorchNode& n) {
  if (ctx.meta(arg(n, 0)).kind != TorchValue::Kind::kList) return "getitem of a non-tuple value";
  if (!ImportContext::static_int(arg(n, 1))) return "getitem with a non-constant index";
  return "";
}

const Converter kConverters[] = {
    {"operator.getitem", convert_getitem, check_getitem},
};

}  // namespace

std::span<const Converter> shape_converters() { return kConverters; }

}  // namespace kiln::importer
