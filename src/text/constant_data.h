// Constant tensor data in the IR text (internal to src/text): the parser's decoded forms
// ([numbers], splat(x), random(seed=N, scale=S)), their conversion to bytes of a dtype, and the
// printer's inverse (bytes to a list of numbers that parse back to the same bytes). Also the
// shortest round-trip formatting of doubles and floats that every printed number uses.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "kiln/ir/attrs.h"
#include "kiln/support/status.h"

namespace kiln {

// A number as written: integers stay exact (so i64 data round-trips), others are doubles.
struct DataNumber {
  bool is_int = false;
  int64_t i = 0;
  double d = 0;
  size_t offset = 0;  // where it was written, for messages
};

struct DataSpec {
  enum class Kind { kList, kSplat, kRandom };
  Kind kind = Kind::kList;
  std::vector<DataNumber> numbers;  // the list, or the one splat value
  uint64_t seed = 0;                // random: splitmix64 seed
  double scale = 1;                 // random: uniform in [-scale, scale)
  size_t offset = 0;
};

// Turns a source offset into "file:line:col" for messages.
using WhereFn = std::function<std::string(size_t offset)>;

// Sets attrs.data from `spec`, converting every number to attrs.dtype (float dtypes round to
// nearest; integer dtypes round to nearest and must fit; bool is "not zero"). Fails if the element
// count does not match attrs.shape or if there is no data for a non-empty tensor.
// Generated data (splat, random) is limited to 1 GiB.
Status resolve_constant_data(ConstantAttrs& attrs, const std::optional<DataSpec>& spec,
                             const WhereFn& where, size_t op_offset);

// Appends "[e0, e1, ...]": the elements of `data` read as `dtype`, each printed so that it parses
// back to the same bytes (f16/bf16 through their float value, bool as 0/1, NaN as nan).
void append_data_text(DType dtype, const TensorData& data, std::string* out);

// Shortest text that parses back to the same value: "0.1", "1e-05", "-0", "inf", "-inf", "nan".
std::string format_double(double v);
std::string format_float(float v);

}  // namespace kiln
