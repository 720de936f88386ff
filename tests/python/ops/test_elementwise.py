"""Elementwise converters (src/importer/elementwise.cc) against eager, static and dynamic."""

import pytest
import torch

import kiln
from kiln_testing import check_converter


class Binary(torch.nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x, y):
        return self.fn(x, y)


BINARY = {
    "add": lambda x, y: x + y,
    "add_alpha": lambda x, y: torch.add(x, y, alpha=2),
    "add_scalar": lambda x, y: x + 3,
    "sub": lambda x, y: x - y,
    "sub_alpha": lambda x, y: torch.sub(x, y, alpha=0.5),
    "rsub": lambda x, y: 1 - x,
    "mul": lambda x, y: x * y,
    "mul_scalar": lambda x, y: x * 2.5,
    "div": lambda x, y: x / (y.abs() + 1),
    "div_floor": lambda x, y: torch.div(x, y.abs() + 1, rounding_mode="floor"),
    "div_trunc": lambda x, y: torch.div(x, y.abs() + 1, rounding_mode="trunc"),
    "pow": lambda x, y: x.abs() ** y,
    "pow_scalar": lambda x, y: x ** 2,
    "remainder": lambda x, y: torch.remainder(x, y.abs() + 1),
    "maximum": torch.maximum,
    "minimum": torch.minimum,
    "eq": lambda x, y: x == y,
    "ne": lambda x, y: x != y,
    "lt": lambda x, y: x < y,
    "le": lambda x, y: x <= 0.5,
    "gt": lambda x, y: x > y,
    "ge": lambda x, y: x >= y,
    "and": lambda x, y: (x > 0) & (y > 0),
    "or": lambda x, y: (x > 0) | (y > 0),
    "xor": lambda x, y: torch.logical_xor(x > 0, y > 0),
    "not": lambda x, y: ~(x > y),
    "where": lambda x, y: torch.where(x > y, x, y),
    "where_scalar": lambda x, y: torch.where(x > 0, x, 0.0),
    "masked_fill": lambda x, y: x.masked_fill(y > 0, -1.0),
}

UNARY = ["neg", "abs", "sign", "exp", "sin", "cos", "tanh", "erf", "floor", "ceil", "round",
         "isnan", "square", "trunc", "expm1"]
POSITIVE = ["log", "sqrt", "rsqrt", "reciprocal", "log1p", "log2", "log10"]


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary(name):
    x, y = torch.randn(4, 5), torch.randn(4, 5)
    check_converter(Binary(BINARY[name]), [x, y])


@pytest.mark.parametrize("name", ["add", "mul", "div", "where", "lt"])
def test_binary_dynamic(name):
    x, y = torch.randn(4, 5), torch.randn(4, 5)
    spec = kiln.Input(min_shape=(1, 5), opt_shape=(4, 5), max_shape=(9, 5), shared_dims={0: "n"})
    check_converter(Binary(BINARY[name]), [x, y], dynamic=[spec, spec])


def test_broadcast_and_promotion():
    x = torch.randn(4, 1, 5)
    y = torch.randint(0, 5, (3, 1), dtype=torch.int64)
    check_converter(Binary(lambda a, b: a * b + b), [x, y])


def test_int_arithmetic():
    x = torch.randint(-5, 5, (4, 5))
    y = torch.randint(1, 5, (4, 5))
    check_converter(Binary(lambda a, b: (a + b) * 3 - a // b), [x, y])


@pytest.mark.parametrize("name", UNARY + POSITIVE)
def test_unary(name):
    fn = getattr(torch, name)
    x = torch.randn(3, 7)
    if name in POSITIVE:
        x = x.abs() + 0.1
    check_converter(Binary(lambda a, b: fn(a)), [x, x])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_dtypes(dtype):
    x, y = torch.randn(4, 5, dtype=dtype), torch.randn(4, 5, dtype=dtype)
    check_converter(Binary(lambda a, b: (a * b + 1).exp() / 3), [x, y])


def test_casts():
    x = torch.randn(4, 5)
    check_converter(Binary(lambda a, b: (a * 10).to(torch.int32).to(torch.float16) + b.half()),
                    [x, x])
