// OpKind and per-op static facts, all derived from ops.def.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "kiln/ir/attrs.h"

namespace kiln {

enum class OpKind : uint16_t {
#define KILN_OP(E, name, A, min_in, max_in, outs) k##E,
#include "kiln/ir/ops.def"
#undef KILN_OP
};

inline constexpr int kNumOps = 0
#define KILN_OP(E, name, A, min_in, max_in, outs) +1
#include "kiln/ir/ops.def"
#undef KILN_OP
    ;

struct OpInfo {
  OpKind kind;
  std::string_view name;      // text name: "conv", "reduce_sum"
  std::string_view enum_name; // "Conv", "ReduceSum"
  int min_inputs;
  int max_inputs;   // -1: variadic
  int num_outputs;  // -1: from the attributes
  size_t attrs_index;  // index of the op's attribute type in the Attrs variant
};

const OpInfo& op_info(OpKind kind);
inline std::string_view op_name(OpKind kind) { return op_info(kind).name; }
std::optional<OpKind> op_from_name(std::string_view name);
// A default-constructed attribute struct of the op's type.
Attrs default_attrs(OpKind kind);
// True if `attrs` holds the attribute type that `kind` takes.
bool attrs_match_op(OpKind kind, const Attrs& attrs);

// The attribute struct type of each op, for code that wants it at compile time:
// OpAttrs<OpKind::kConv> is ConvAttrs.
template <OpKind K>
struct OpAttrsOf;
#define KILN_OP(E, name, A, min_in, max_in, outs) \
  template <>                                     \
  struct OpAttrsOf<OpKind::k##E> {                \
    using type = A;                               \
  };
#include "kiln/ir/ops.def"
#undef KILN_OP
template <OpKind K>
using OpAttrs = typename OpAttrsOf<K>::type;

}  // namespace kiln
