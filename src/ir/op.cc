// The op table derived from ops.def. Nothing here is written by hand per op.
#include "kiln/ir/op.h"

#include <array>

namespace kiln {
namespace {


const std::array<OpInfo, kNumOps>& op_table() {
  static const std::array<OpInfo, kNumOps> table = {{
#define KILN_OP(E, name, A, min_in, max_in, outs) \
  OpInfo{OpKind::k##E, name, #E, min_in, max_in, outs, Attrs(A{}).index()},
#include "kiln/ir/ops.def"
#undef KILN_OP
  }};
  return table;
}

}  // namespace

const OpInfo& op_info(OpKind kind) { return op_table()[static_cast<size_t>(kind)]; }

std::optional<OpKind> op_from_name(std::string_view name) {
  for (const OpInfo& info : op_table()) {
    if (info.name == name) return info.kind;
  }
  return std::nullopt;
}

Attrs default_attrs(OpKind kind) {
  switch (kind) {
#define KILN_OP(E, name, A, min_in, max_in, outs) \
  case OpKind::k##E: return A{};
#include "kiln/ir/ops.def"
#undef KILN_OP
  }
  return NoAttrs{};
}

bool attrs_match_op(OpKind kind, const Attrs& attrs) {
  return attrs.index() == op_info(kind).attrs_index;
}

}  // namespace kiln
