// DimExpr: a tensor dimension as an integer expression over the graph's shape symbols.
//
// A dim is a constant (3), a symbol (batch), or arithmetic on them (batch*12, floordiv(h - 1, 2) + 1,
// min(seq, 512)). Expressions are kept in one canonical form — a sum of terms, each an integer
// coefficient times a sorted product of atoms (symbols, or floordiv / mod / min / max nodes) — so that
// structurally equal dims compare equal (2*s0 == s0 + s0). This file does not know symbol names:
// symbols are indices into the owning Graph's symbol table, and printing takes the names.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "kiln/support/status.h"

namespace kiln {

class DimExpr;

// One factor of a term. kSymbol uses `symbol`; the others use `lhs` and `rhs`.
struct DimAtom {
  enum class Kind : uint8_t { kSymbol = 0, kFloorDiv = 1, kMod = 2, kMin = 3, kMax = 4 };
  Kind kind = Kind::kSymbol;
  int32_t symbol = -1;
  std::shared_ptr<const DimExpr> lhs, rhs;
};

struct DimTerm {
  int64_t coeff = 0;
  std::vector<DimAtom> factors;  // sorted; empty for the constant term
};

class DimExpr {
 public:
  DimExpr() = default;                     // the constant 0
  DimExpr(int64_t value);                  // NOLINT: constants convert implicitly
  static DimExpr symbol(int32_t index);

  bool is_constant() const;
  // The value of a constant expression (0 if there are no terms).
  int64_t constant_value() const;
  // The symbol index if this expression is exactly one symbol.
  std::optional<int32_t> as_symbol() const;
  // Every symbol index the expression mentions, sorted, unique.
  std::vector<int32_t> symbols() const;
  // Nesting depth of floordiv/mod/min/max nodes (0 for a polynomial). Used by readers to refuse
  // hostile inputs before recursing.
  int depth() const;
  const std::vector<DimTerm>& terms() const { return terms_; }

  // Evaluates with the given symbol values. Fails on a division by zero, an out-of-range symbol
  // index or an int64 overflow.
  Expected<int64_t> evaluate(std::span<const int64_t> symbol_values) const;

  // Canonical text: "2*batch + 1", "floordiv(h - 1, 2) + 1", "min(seq, 512)".
  std::string to_string(const std::function<std::string(int32_t)>& symbol_name) const;

  friend DimExpr operator+(const DimExpr& a, const DimExpr& b);
  friend DimExpr operator-(const DimExpr& a, const DimExpr& b);
  friend DimExpr operator-(const DimExpr& a);
  friend DimExpr operator*(const DimExpr& a, const DimExpr& b);
  friend DimExpr floordiv(const DimExpr& a, const DimExpr& b);  // Python // semantics
  friend DimExpr mod(const DimExpr& a, const DimExpr& b);       // Python % semantics
  friend DimExpr min(const DimExpr& a, const DimExpr& b);
  friend DimExpr max(const DimExpr& a, const DimExpr& b);
  friend bool operator==(const DimExpr& a, const DimExpr& b);
  friend bool operator!=(const DimExpr& a, const DimExpr& b) { return !(a == b); }

  // Total order used to keep the canonical form sorted (and usable as a map key).
  static int compare(const DimExpr& a, const DimExpr& b);
  size_t hash() const;

 private:
  static DimExpr from_atom(DimAtom atom);
  static DimExpr from_terms(std::vector<DimTerm> terms);  // sorts and merges
  std::vector<DimTerm> terms_;                            // sorted by factors, no zero coeffs
};

using Shape = std::vector<DimExpr>;

// Concrete shapes used at run time.
using ConcreteShape = std::vector<int64_t>;

// Product of the dims (the element count of a tensor of this shape).
DimExpr shape_numel(const Shape& shape);
int64_t concrete_numel(std::span<const int64_t> shape);

}  // namespace kiln
