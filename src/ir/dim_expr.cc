// DimExpr canonical form, arithmetic, evaluation and printing. Parsing lives in src/text (the IR
// parser) and in src/engine (the binary reader); this file only builds and reads expressions.
// Construction arithmetic wraps on int64 overflow (no UB); evaluate() reports overflow as an error.
#include "kiln/ir/dim_expr.h"

#include <algorithm>

namespace kiln {
namespace {

int64_t wrap_add(int64_t a, int64_t b) { return int64_t(uint64_t(a) + uint64_t(b)); }
int64_t wrap_mul(int64_t a, int64_t b) { return int64_t(uint64_t(a) * uint64_t(b)); }

int compare_atoms(const DimAtom& a, const DimAtom& b) {
  if (a.kind != b.kind) return a.kind < b.kind ? -1 : 1;
  if (a.kind == DimAtom::Kind::kSymbol) {
    return a.symbol == b.symbol ? 0 : (a.symbol < b.symbol ? -1 : 1);
  }
  int c = DimExpr::compare(*a.lhs, *b.lhs);
  if (c != 0) return c;
  return DimExpr::compare(*a.rhs, *b.rhs);
}

int compare_factors(const std::vector<DimAtom>& a, const std::vector<DimAtom>& b) {
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    int c = compare_atoms(a[i], b[i]);
    if (c != 0) return c;
  }
  if (a.size() == b.size()) return 0;
  return a.size() < b.size() ? -1 : 1;
}

std::optional<int64_t> floordiv_checked(int64_t a, int64_t b) {
  if (b == 0) return std::nullopt;
  if (a == INT64_MIN && b == -1) return std::nullopt;
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

std::optional<int64_t> mod_checked(int64_t a, int64_t b) {
  if (b == 0) return std::nullopt;
  if (b == -1) return 0;
  int64_t r = a % b;
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}

bool all_coeffs_divisible(const DimExpr& e, int64_t c) {
  if (c == 0 || c == INT64_MIN) return false;
  if (c == 1 || c == -1) return true;  // and INT64_MIN % -1 would trap
  for (const DimTerm& t : e.terms()) {
    if (t.coeff % c != 0) return false;
  }
  return true;
}

}  // namespace

DimExpr::DimExpr(int64_t value) {
  if (value != 0) terms_.push_back(DimTerm{value, {}});
}

DimExpr DimExpr::symbol(int32_t index) {
  DimAtom atom;
  atom.kind = DimAtom::Kind::kSymbol;
  atom.symbol = index;
  return from_atom(std::move(atom));
}

DimExpr DimExpr::from_atom(DimAtom atom) {
  DimExpr e;
  e.terms_.push_back(DimTerm{1, {std::move(atom)}});
  return e;
}

DimExpr DimExpr::from_terms(std::vector<DimTerm> terms) {
  std::stable_sort(terms.begin(), terms.end(), [](const DimTerm& a, const DimTerm& b) {
    return compare_factors(a.factors, b.factors) < 0;
  });
  DimExpr e;
  for (DimTerm& t : terms) {
    if (!e.terms_.empty() && compare_factors(e.terms_.back().factors, t.factors) == 0) {
      e.terms_.back().coeff = wrap_add(e.terms_.back().coeff, t.coeff);
    } else {
      e.terms_.push_back(std::move(t));
    }
  }
  std::erase_if(e.terms_, [](const DimTerm& t) { return t.coeff == 0; });
  return e;
}

bool DimExpr::is_constant() const {
  return terms_.empty() || (terms_.size() == 1 && terms_[0].factors.empty());
}

int64_t DimExpr::constant_value() const {
  for (const DimTerm& t : terms_) {
    if (t.factors.empty()) return t.coeff;
  }
  return 0;
}

std::optional<int32_t> DimExpr::as_symbol() const {
  if (terms_.size() == 1 && terms_[0].coeff == 1 && terms_[0].factors.size() == 1 &&
      terms_[0].factors[0].kind == DimAtom::Kind::kSymbol) {
    return terms_[0].factors[0].symbol;
  }
  return std::nullopt;
}

std::vector<int32_t> DimExpr::symbols() const {
  std::vector<int32_t> out;
  for (const DimTerm& t : terms_) {
    for (const DimAtom& a : t.factors) {
      if (a.kind == DimAtom::Kind::kSymbol) {
        out.push_back(a.symbol);
      } else {
        for (int32_t s : a.lhs->symbols()) out.push_back(s);
        for (int32_t s : a.rhs->symbols()) out.push_back(s);
      }
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

int DimExpr::depth() const {
  int d = 0;
  for (const DimTerm& t : terms_) {
    for (const DimAtom& a : t.factors) {
      if (a.kind != DimAtom::Kind::kSymbol) {
        d = std::max(d, 1 + std::max(a.lhs->depth(), a.rhs->depth()));
      }
    }
  }
  return d;
}

Expected<int64_t> DimExpr::evaluate(std::span<const int64_t> symbol_values) const {
  int64_t total = 0;
  for (const DimTerm& t : terms_) {
    int64_t value = t.coeff;
    for (const DimAtom& a : t.factors) {
      int64_t f = 0;
      if (a.kind == DimAtom::Kind::kSymbol) {
        if (a.symbol < 0 || size_t(a.symbol) >= symbol_values.size()) {
          return invalid_argument("dim expression uses symbol #", a.symbol, " but only ",
                                  symbol_values.size(), " symbols are bound");
        }
        f = symbol_values[a.symbol];
      } else {
        KILN_ASSIGN_OR_RETURN(int64_t l, a.lhs->evaluate(symbol_values));
        KILN_ASSIGN_OR_RETURN(int64_t r, a.rhs->evaluate(symbol_values));
        std::optional<int64_t> v;
        switch (a.kind) {
          case DimAtom::Kind::kFloorDiv: v = floordiv_checked(l, r); break;
          case DimAtom::Kind::kMod: v = mod_checked(l, r); break;
          case DimAtom::Kind::kMin: v = std::min(l, r); break;
          case DimAtom::Kind::kMax: v = std::max(l, r); break;
          case DimAtom::Kind::kSymbol: break;
        }
        if (!v) return invalid_argument("division by zero in a dim expression (", l, ", ", r, ")");
        f = *v;
      }
      if (__builtin_mul_overflow(value, f, &value)) {
        return out_of_range("int64 overflow evaluating a dim expression");
      }
    }
    if (__builtin_add_overflow(total, value, &total)) {
      return out_of_range("int64 overflow evaluating a dim expression");
    }
  }
  return total;
}

std::string DimExpr::to_string(const std::function<std::string(int32_t)>& symbol_name) const {
  if (terms_.empty()) return "0";
  auto atom_text = [&](const DimAtom& a) -> std::string {
    switch (a.kind) {
      case DimAtom::Kind::kSymbol: return symbol_name(a.symbol);
      case DimAtom::Kind::kFloorDiv:
        return str_cat("floordiv(", a.lhs->to_string(symbol_name), ", ", a.rhs->to_string(symbol_name), ")");
      case DimAtom::Kind::kMod:
        return str_cat("mod(", a.lhs->to_string(symbol_name), ", ", a.rhs->to_string(symbol_name), ")");
      case DimAtom::Kind::kMin:
        return str_cat("min(", a.lhs->to_string(symbol_name), ", ", a.rhs->to_string(symbol_name), ")");
      case DimAtom::Kind::kMax:
        return str_cat("max(", a.lhs->to_string(symbol_name), ", ", a.rhs->to_string(symbol_name), ")");
    }
    return "?";
  };
  // Non-constant terms first (in canonical order), the constant last: "2*n + 1".
  std::vector<const DimTerm*> order;
  for (const DimTerm& t : terms_) {
    if (!t.factors.empty()) order.push_back(&t);
  }
  for (const DimTerm& t : terms_) {
    if (t.factors.empty()) order.push_back(&t);
  }
  std::string out;
  for (size_t i = 0; i < order.size(); ++i) {
    const DimTerm& t = *order[i];
    bool negative = t.coeff < 0 && t.coeff != INT64_MIN;
    int64_t magnitude = negative ? -t.coeff : t.coeff;
    if (i == 0) {
      if (negative) out += "-";
    } else {
      out += negative ? " - " : " + ";
    }
    std::string body;
    if (t.factors.empty() || magnitude != 1) body = std::to_string(magnitude);
    for (const DimAtom& a : t.factors) {
      if (!body.empty()) body += "*";
      body += atom_text(a);
    }
    out += body;
  }
  return out;
}

DimExpr operator+(const DimExpr& a, const DimExpr& b) {
  std::vector<DimTerm> terms = a.terms_;
  terms.insert(terms.end(), b.terms_.begin(), b.terms_.end());
  return DimExpr::from_terms(std::move(terms));
}

DimExpr operator-(const DimExpr& a) {
  std::vector<DimTerm> terms = a.terms_;
  for (DimTerm& t : terms) t.coeff = wrap_mul(t.coeff, -1);
  return DimExpr::from_terms(std::move(terms));
}

DimExpr operator-(const DimExpr& a, const DimExpr& b) { return a + (-b); }

DimExpr operator*(const DimExpr& a, const DimExpr& b) {
  std::vector<DimTerm> terms;
  for (const DimTerm& ta : a.terms_) {
    for (const DimTerm& tb : b.terms_) {
      DimTerm t;
      t.coeff = wrap_mul(ta.coeff, tb.coeff);
      t.factors.reserve(ta.factors.size() + tb.factors.size());
      std::merge(ta.factors.begin(), ta.factors.end(), tb.factors.begin(), tb.factors.end(),
                 std::back_inserter(t.factors),
                 [](const DimAtom& x, const DimAtom& y) { return compare_atoms(x, y) < 0; });
      terms.push_back(std::move(t));
    }
  }
  return DimExpr::from_terms(std::move(terms));
}

DimExpr floordiv(const DimExpr& a, const DimExpr& b) {
  if (b.is_constant()) {
    int64_t c = b.constant_value();
    if (c == 1) return a;
    if (c == -1) return -a;  // wraps like the rest of construction arithmetic
    if (c != 0 && a.is_constant()) {
      if (auto q = floordiv_checked(a.constant_value(), c)) return DimExpr(*q);
    }
    if (all_coeffs_divisible(a, c)) {
      std::vector<DimTerm> terms = a.terms_;
      for (DimTerm& t : terms) t.coeff /= c;
      return DimExpr::from_terms(std::move(terms));
    }
  }
  DimAtom atom{DimAtom::Kind::kFloorDiv, -1, std::make_shared<const DimExpr>(a),
               std::make_shared<const DimExpr>(b)};
  return DimExpr::from_atom(std::move(atom));
}

DimExpr mod(const DimExpr& a, const DimExpr& b) {
  if (b.is_constant()) {
    int64_t c = b.constant_value();
    if (c == 1 || c == -1) return DimExpr(0);
    if (c != 0 && a.is_constant()) {
      if (auto r = mod_checked(a.constant_value(), c)) return DimExpr(*r);
    }
    if (all_coeffs_divisible(a, c)) return DimExpr(0);
  }
  DimAtom atom{DimAtom::Kind::kMod, -1, std::make_shared<const DimExpr>(a),
               std::make_shared<const DimExpr>(b)};
  return DimExpr::from_atom(std::move(atom));
}

DimExpr min(const DimExpr& a, const DimExpr& b) {
  if (a.is_constant() && b.is_constant()) return DimExpr(std::min(a.constant_value(), b.constant_value()));
  if (a == b) return a;
  const bool a_first = DimExpr::compare(a, b) < 0;
  DimAtom atom{DimAtom::Kind::kMin, -1, std::make_shared<const DimExpr>(a_first ? a : b),
               std::make_shared<const DimExpr>(a_first ? b : a)};
  return DimExpr::from_atom(std::move(atom));
}

DimExpr max(const DimExpr& a, const DimExpr& b) {
  if (a.is_constant() && b.is_constant()) return DimExpr(std::max(a.constant_value(), b.constant_value()));
  if (a == b) return a;
  const bool a_first = DimExpr::compare(a, b) < 0;
  DimAtom atom{DimAtom::Kind::kMax, -1, std::make_shared<const DimExpr>(a_first ? a : b),
               std::make_shared<const DimExpr>(a_first ? b : a)};
  return DimExpr::from_atom(std::move(atom));
}

bool operator==(const DimExpr& a, const DimExpr& b) { return DimExpr::compare(a, b) == 0; }

int DimExpr::compare(const DimExpr& a, const DimExpr& b) {
  size_t n = std::min(a.terms_.size(), b.terms_.size());
  for (size_t i = 0; i < n; ++i) {
    int c = compare_factors(a.terms_[i].factors, b.terms_[i].factors);
    if (c != 0) return c;
    if (a.terms_[i].coeff != b.terms_[i].coeff) return a.terms_[i].coeff < b.terms_[i].coeff ? -1 : 1;
  }
  if (a.terms_.size() == b.terms_.size()) return 0;
  return a.terms_.size() < b.terms_.size() ? -1 : 1;
}

size_t DimExpr::hash() const {
  size_t h = 0x9e3779b97f4a7c15ull;
  auto mix = [&](uint64_t v) { h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2); };
  for (const DimTerm& t : terms_) {
    mix(uint64_t(t.coeff));
    for (const DimAtom& a : t.factors) {
      mix(uint64_t(a.kind));
      if (a.kind == DimAtom::Kind::kSymbol) {
        mix(uint64_t(a.symbol));
      } else {
        mix(a.lhs->hash());
        mix(a.rhs->hash());
      }
    }
  }
  return h;
}

DimExpr shape_numel(const Shape& shape) {
  DimExpr n(1);
  for (const DimExpr& d : shape) n = n * d;
  return n;
}

int64_t concrete_numel(std::span<const int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

}  // namespace kiln
