"""Evaluates engine shape expressions (kiln DimExpr as Python data) with ints or SymInts.

An expression is a list of terms ``(coeff, [atom, ...])``; an atom is ``("s", index)`` or
``(kind, lhs, rhs)`` with kind in floordiv, mod, min, max (see python/src/binding_util.h).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch


def evaluate(expr: list, symbols: Sequence[Any]) -> Any:
    total: Any = 0
    for coeff, atoms in expr:
        term: Any = coeff
        for atom in atoms:
            term = term * _atom(atom, symbols)
        total = total + term
    return total


def _atom(atom: tuple, symbols: Sequence[Any]) -> Any:
    kind = atom[0]
    if kind == "s":
        return symbols[atom[1]]
    a, b = evaluate(atom[1], symbols), evaluate(atom[2], symbols)
    if kind == "floordiv":
        return a // b
    if kind == "mod":
        return a % b
    if kind == "min":
        return torch.sym_min(a, b)
    return torch.sym_max(a, b)


def as_symbol(expr: list) -> int | None:
    """The symbol index if the expression is exactly one symbol."""
    if len(expr) == 1 and expr[0][0] == 1 and len(expr[0][1]) == 1 and expr[0][1][0][0] == "s":
        return expr[0][1][0][1]
    return None
