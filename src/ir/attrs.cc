// Structural equality and hashing of attribute structs, by walking each struct's KILN_FIELDS list.
// Doubles compare by bit pattern (so NaN equals itself and -0.0 differs from 0.0, which is what CSE
// needs); TensorData compares by content. The hash is consistent with that equality and reads at
// most the first 4 KiB of a tensor's bytes.
//
// Deliberately not here: printing, parsing and serializing attributes (src/text, src/engine).
#include <bit>
#include <cstring>
#include <string_view>
#include <type_traits>

#include "kiln/ir/attrs.h"

namespace kiln {
namespace {

constexpr size_t kHashedTensorBytes = 4096;

uint64_t double_bits(double d) { return std::bit_cast<uint64_t>(d); }

template <typename T>
bool field_equal(const T& a, const T& b) {
  return a == b;
}
bool field_equal(const double& a, const double& b) { return double_bits(a) == double_bits(b); }
bool field_equal(const std::optional<double>& a, const std::optional<double>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || field_equal(*a, *b);
}
bool field_equal(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!field_equal(a[i], b[i])) return false;
  }
  return true;
}
bool field_equal(const TensorData& a, const TensorData& b) {
  if (a.size != b.size) return false;
  if (a.size == 0 || a.data() == b.data()) return true;
  if (!a.data() || !b.data()) return false;
  return std::memcmp(a.data(), b.data(), a.size) == 0;
}

struct Hasher {
  size_t h = 0xcbf29ce484222325ull;

  void mix(uint64_t v) { h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2); }

  void add(int64_t v) { mix(static_cast<uint64_t>(v)); }
  void add(bool v) { mix(v ? 1 : 2); }
  void add(double v) { mix(double_bits(v)); }
  void add(DType v) { mix(static_cast<uint64_t>(v)); }
  void add(const DimExpr& d) { mix(d.hash()); }
  void add(const TensorData& t) {
    mix(t.size);
    if (t.size == 0 || !t.data()) return;
    const size_t n = std::min(t.size, kHashedTensorBytes);
    mix(std::hash<std::string_view>{}(
        std::string_view(reinterpret_cast<const char*>(t.data()), n)));
  }
  template <typename T>
  void add(const std::optional<T>& v) {
    mix(v.has_value() ? 3 : 4);
    if (v) add(*v);
  }
  template <typename T>
  void add(const std::vector<T>& v) {
    mix(v.size());
    for (const T& e : v) add(e);
  }
  template <typename E>
    requires std::is_enum_v<E>
  void add(E v) {
    mix(static_cast<uint64_t>(v));
  }
};

template <typename A>
bool struct_equal(const A& a, const A& b) {
  // Both are the same struct type, so their fields come in the same order with the same types.
  std::vector<const void*> fields;
  b.visit([&](const char*, const auto& f) { fields.push_back(&f); });
  size_t i = 0;
  bool equal = true;
  a.visit([&](const char*, const auto& f) {
    using T = std::decay_t<decltype(f)>;
    equal = equal && field_equal(f, *static_cast<const T*>(fields[i]));
    ++i;
  });
  return equal;
}

}  // namespace

bool attrs_equal(const Attrs& a, const Attrs& b) {
  if (a.index() != b.index()) return false;
  return std::visit(
      [&](const auto& av) {
        using A = std::decay_t<decltype(av)>;
        return struct_equal(av, *std::get_if<A>(&b));
      },
      a);
}

size_t attrs_hash(const Attrs& a) {
  Hasher hasher;
  hasher.mix(a.index());
  std::visit([&](const auto& av) { av.visit([&](const char*, const auto& f) { hasher.add(f); }); },
             a);
  return hasher.h;
}

}  // namespace kiln
