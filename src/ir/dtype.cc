// DType names and sizes, derived from KILN_DTYPE_LIST.
#include "kiln/ir/dtype.h"

namespace kiln {

std::string_view dtype_name(DType t) {
  switch (t) {
#define KILN_DTYPE_NAME_(e, n, s) \
  case DType::e: return n;
    KILN_DTYPE_LIST(KILN_DTYPE_NAME_)
#undef KILN_DTYPE_NAME_
  }
  return "?";
}

std::optional<DType> dtype_from_name(std::string_view name) {
#define KILN_DTYPE_PARSE_(e, n, s) \
  if (name == n) return DType::e;
  KILN_DTYPE_LIST(KILN_DTYPE_PARSE_)
#undef KILN_DTYPE_PARSE_
  return std::nullopt;
}

int64_t dtype_size(DType t) {
  switch (t) {
#define KILN_DTYPE_SIZE_(e, n, s) \
  case DType::e: return s;
    KILN_DTYPE_LIST(KILN_DTYPE_SIZE_)
#undef KILN_DTYPE_SIZE_
  }
  return 0;
}

}  // namespace kiln
