// Helpers shared by the binding files: the one Status -> Python exception table, and check().
#pragma once

#include <nanobind/nanobind.h>

#include <stdexcept>

#include "kiln/ir/dim_expr.h"
#include "kiln/support/status.h"

namespace kiln {

namespace nb = nanobind;

struct KilnError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The one table from Status codes to Python exceptions.
[[noreturn]] inline void raise_status(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange:
      throw nb::value_error(s.message().c_str());
    case StatusCode::kUnsupported:
      PyErr_SetString(PyExc_NotImplementedError, s.message().c_str());
      throw nb::python_error();
    case StatusCode::kNotFound:
      throw nb::key_error(s.message().c_str());
    default:
      throw KilnError(s.to_string());
  }
}

inline void check(const Status& s) {
  if (!s.ok()) raise_status(s);
}
template <typename T>
T check(Expected<T> e) {
  if (!e.ok()) raise_status(e.status());
  return std::move(e).value();
}

// A DimExpr as Python data: a list of terms (coeff, [atom, ...]); an atom is ("s", index) or
// (kind, lhs, rhs) with kind in floordiv, mod, min, max. python/kiln/_shapes.py evaluates it.
inline nb::object dim_to_py(const DimExpr& e) {
  static const char* kKinds[] = {"s", "floordiv", "mod", "min", "max"};
  nb::list terms;
  for (const DimTerm& t : e.terms()) {
    nb::list atoms;
    for (const DimAtom& a : t.factors) {
      if (a.kind == DimAtom::Kind::kSymbol) {
        atoms.append(nb::make_tuple("s", a.symbol));
      } else {
        atoms.append(nb::make_tuple(kKinds[static_cast<int>(a.kind)], dim_to_py(*a.lhs),
                                    dim_to_py(*a.rhs)));
      }
    }
    terms.append(nb::make_tuple(t.coeff, atoms));
  }
  return terms;
}

// Defined in frontend_bindings.cc: the TorchGraph interchange, importer and partitioner.
void bind_frontend(nb::module_& m);

}  // namespace kiln
