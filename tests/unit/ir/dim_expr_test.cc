#include "kiln/ir/dim_expr.h"

#include <gtest/gtest.h>

namespace kiln {
namespace {

std::string text(const DimExpr& e) {
  return e.to_string([](int32_t i) { return std::string(1, char('a' + i)); });
}

TEST(DimExprTest, CanonicalFormMakesEqualExpressionsEqual) {
  DimExpr a = DimExpr::symbol(0), b = DimExpr::symbol(1);
  EXPECT_EQ(a + a, a * 2);
  EXPECT_EQ(a * b, b * a);
  EXPECT_EQ((a + 1) * (a - 1), a * a - 1);
  EXPECT_EQ(text(a * 2 + 1), "2*a + 1");
  EXPECT_EQ(text(b - a), "-a + b");
  EXPECT_EQ(text(DimExpr(0)), "0");
}

TEST(DimExprTest, FloorDivAndModSimplifyWhenExact) {
  DimExpr a = DimExpr::symbol(0);
  EXPECT_EQ(floordiv(a * 4 + 8, 4), a + 2);
  EXPECT_EQ(mod(a * 6, 3), DimExpr(0));
  EXPECT_EQ(text(floordiv(a - 1, 2) + 1), "floordiv(a - 1, 2) + 1");
  EXPECT_EQ(floordiv(DimExpr(-7), DimExpr(2)).constant_value(), -4);
  EXPECT_EQ(mod(DimExpr(-7), DimExpr(2)).constant_value(), 1);
}

TEST(DimExprTest, DivisionByMinusOneNeverTraps) {
  DimExpr a = DimExpr::symbol(0);
  DimExpr huge = a * DimExpr(INT64_MIN);
  EXPECT_EQ(floordiv(a * 3, -1), a * -3);
  EXPECT_EQ(mod(huge, -1), DimExpr(0));
  (void)floordiv(huge, -1);  // wraps; must not raise SIGFPE
  (void)floordiv(DimExpr(INT64_MIN), DimExpr(-1));
}

TEST(DimExprTest, EvaluateChecksErrors) {
  DimExpr a = DimExpr::symbol(0), b = DimExpr::symbol(1);
  std::vector<int64_t> values = {7, 2};
  EXPECT_EQ(*(floordiv(a, b) * 3 + mod(a, b)).evaluate(values), 10);
  EXPECT_EQ(*min(a, b).evaluate(values), 2);
  EXPECT_EQ(*max(a, b).evaluate(values), 7);
  std::vector<int64_t> zero = {7, 0};
  EXPECT_FALSE(floordiv(a, b).evaluate(zero).ok());
  std::vector<int64_t> one = {7};
  EXPECT_FALSE((a + b).evaluate(one).ok());
  std::vector<int64_t> huge = {INT64_MAX, 2};
  EXPECT_EQ((a * b).evaluate(huge).status().code(), StatusCode::kOutOfRange);
}

TEST(DimExprTest, MinMaxAreCommutative) {
  DimExpr a = DimExpr::symbol(0), b = DimExpr::symbol(1);
  EXPECT_EQ(min(a, b), min(b, a));
  EXPECT_EQ(max(a, 3), max(DimExpr(3), a));
  EXPECT_EQ(min(a, a), a);
  EXPECT_EQ(a.as_symbol(), 0);
  EXPECT_FALSE((a * 2).as_symbol().has_value());
  EXPECT_EQ((a * b + min(b, 4)).symbols(), (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(floordiv(min(a, b), 3).depth(), 2);
}

}  // namespace
}  // namespace kiln
