// The converter table: every family's converters, looked up by ATen target. This list of families
// is the only place converters are registered.
#include <algorithm>
#include <map>

#include "converter.h"

namespace kiln::importer {
namespace {

const std::map<std::string_view, const Converter*>& table() {
  static const auto* t = [] {
    auto* m = new std::map<std::string_view, const Converter*>;
    for (auto family : {elementwise_converters, activation_converters, reduce_converters,
                        linalg_converters, conv_pool_converters, norm_converters,
                        shape_converters, indexing_converters, creation_converters}) {
      for (const Converter& c : family()) m->emplace(c.target, &c);
    }
    return m;
  }();
  return *t;
}

}  // namespace

const Converter* find_converter(std::string_view target) {
  auto it = table().find(target);
  return it == table().end() ? nullptr : it->second;
}

}  // namespace kiln::importer

namespace kiln {

std::vector<std::string> converter_targets() {
  std::vector<std::string> out;
  for (const auto& [target, c] : importer::table()) out.emplace_back(target);
  return out;
}

}  // namespace kiln
