// Numeric tests of the elementwise reference kernels (unary, cast, binary, comparisons, logical,
// where). Expected values are literals or come from the op's textbook formula evaluated in double
// on the already-rounded inputs and rounded to the output dtype, then compared with a tolerance of
// about one output rounding.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <numbers>

#include "ref_test_util.h"

namespace kiln {
namespace {

using ref_test::expect_ints;
using ref_test::expect_values;
using ref_test::f32;
using ref_test::i64;
using ref_test::output;
using ref_test::rounded;
using ref_test::run_kernel;
using ref_test::Tensor;
using ref_test::tensor_of;

const double kNan = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

struct Tol {
  double rtol, atol;
};
// About one rounding of the output dtype, plus the f32 compute error of the kernels' formulas.
Tol tol_for(DType t) {
  switch (t) {
    case DType::kF16: return {1.0e-3, 1e-5};
    case DType::kBF16: return {8.0e-3, 1e-5};
    default: return {2e-6, 1e-6};
  }
}

const DType kFloatTypes[] = {DType::kF32, DType::kF16, DType::kBF16};

// ---- unary float ops against double formulas --------------------------------------------------

struct UnaryCase {
  OpKind op;
  Attrs attrs;
  std::function<double(double)> want;
};

double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }
double softplus(double x, double beta, double threshold) {
  return x * beta > threshold ? x : std::log(1 + std::exp(beta * x)) / beta;
}
double relu6(double x) { return std::isnan(x) ? x : std::min(std::max(x + 3, 0.0), 6.0); }

std::vector<UnaryCase> unary_cases() {
  const double k = std::sqrt(2 / std::numbers::pi);
  return {
      {OpKind::kExp, NoAttrs{}, [](double x) { return std::exp(x); }},
      {OpKind::kLog, NoAttrs{}, [](double x) { return std::log(x); }},
      {OpKind::kSqrt, NoAttrs{}, [](double x) { return std::sqrt(x); }},
      {OpKind::kRsqrt, NoAttrs{}, [](double x) { return 1 / std::sqrt(x); }},
      {OpKind::kReciprocal, NoAttrs{}, [](double x) { return 1 / x; }},
      {OpKind::kSin, NoAttrs{}, [](double x) { return std::sin(x); }},
      {OpKind::kCos, NoAttrs{}, [](double x) { return std::cos(x); }},
      {OpKind::kTanh, NoAttrs{}, [](double x) { return std::tanh(x); }},
      {OpKind::kErf, NoAttrs{}, [](double x) { return std::erf(x); }},
      {OpKind::kFloor, NoAttrs{}, [](double x) { return std::floor(x); }},
      {OpKind::kCeil, NoAttrs{}, [](double x) { return std::ceil(x); }},
      {OpKind::kSigmoid, NoAttrs{}, sigmoid},
      {OpKind::kGelu, GeluAttrs{GeluApprox::kNone},
       [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }},
      {OpKind::kGelu, GeluAttrs{GeluApprox::kTanh},
       [k](double x) { return 0.5 * x * (1 + std::tanh(k * (x + 0.044715 * x * x * x))); }},
      {OpKind::kSilu, NoAttrs{}, [](double x) { return x * sigmoid(x); }},
      {OpKind::kSoftplus, SoftplusAttrs{1, 20}, [](double x) { return softplus(x, 1, 20); }},
      {OpKind::kSoftplus, SoftplusAttrs{2, 5}, [](double x) { return softplus(x, 2, 5); }},
      {OpKind::kMish, NoAttrs{},
       [](double x) { return x * std::tanh(std::log(1 + std::exp(x))); }},
      {OpKind::kHardswish, NoAttrs{}, [](double x) { return x * relu6(x) / 6; }},
      {OpKind::kHardsigmoid, NoAttrs{}, [](double x) { return relu6(x) / 6; }},
      {OpKind::kLeakyRelu, LeakyReluAttrs{0.1}, [](double x) { return x > 0 ? x : 0.1 * x; }},
      {OpKind::kElu, EluAttrs{1.5},
       [](double x) { return x > 0 ? x : 1.5 * (std::exp(x) - 1); }},
      {OpKind::kRelu, NoAttrs{}, [](double x) { return std::isnan(x) ? x : std::max(x, 0.0); }},
      {OpKind::kNeg, NoAttrs{}, [](double x) { return -x; }},
      {OpKind::kAbs, NoAttrs{}, [](double x) { return std::fabs(x); }},
      // torch.sign(NaN) is 0: (0 < x) - (x < 0).
      {OpKind::kSign, NoAttrs{}, [](double x) { return double((0 < x) - (x < 0)); }},
  };
}

TEST(UnaryTest, FloatOpsMatchFormulas) {
  const std::vector<double> xs = {-4.2, -3.7, -1.0, -0.5, -0.0, 0.0, 0.25,
                                  0.5,  1.5,  2.5,  3.5,  4.0,  12.0, kNan};
  for (const UnaryCase& c : unary_cases()) {
    for (DType t : kFloatTypes) {
      const std::string what = std::string(op_name(c.op)) + " " + std::string(dtype_name(t));
      Tensor x = tensor_of(t, {2, 7}, xs);
      Tensor y = output(t, {2, 7});
      Status s = run_kernel(c.op, c.attrs, {&x}, {&y});
      ASSERT_TRUE(s.ok()) << what << ": " << s.to_string();
      std::vector<double> want;
      for (double v : x.values()) want.push_back(rounded(t, c.want(v)));
      const Tol tol = tol_for(t);
      expect_values(y, want, tol.rtol, tol.atol, what);
    }
  }
}

TEST(UnaryTest, LargeInputRunsOnEveryElement) {
  Tensor x(DType::kBF16, {5, 9001});
  for (int64_t i = 0; i < x.numel(); ++i) x.set(i, std::sin(0.001 * i) * 6);
  Tensor y = output(DType::kBF16, {5, 9001});
  ASSERT_TRUE(run_kernel(OpKind::kSigmoid, NoAttrs{}, {&x}, {&y}).ok());
  std::vector<double> want;
  for (double v : x.values()) want.push_back(sigmoid(v));
  expect_values(y, want, 8e-3, 1e-5);
}

TEST(UnaryTest, RoundHalfToEven) {
  for (DType t : kFloatTypes) {
    Tensor x = tensor_of(t, {8}, {0.5, 1.5, 2.5, -0.5, -1.5, 2.4, -2.6, kNan});
    Tensor y = output(t, {8});
    ASSERT_TRUE(run_kernel(OpKind::kRound, NoAttrs{}, {&x}, {&y}).ok());
    expect_values(y, {0, 2, 2, -0.0, -2, 2, -3, kNan});
    EXPECT_TRUE(std::signbit(y.get(3))) << "round(-0.5) is -0.0";
  }
}

TEST(UnaryTest, FloatOnlyOpsRejectIntegers) {
  Tensor x = i64({2}, {1, 2});
  Tensor y = output(DType::kI64, {2});
  Status s = run_kernel(OpKind::kExp, NoAttrs{}, {&x}, {&y});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("exp"), std::string::npos) << s.message();
}

TEST(UnaryTest, IntegerNegAbsSignRelu) {
  const int64_t kMin64 = std::numeric_limits<int64_t>::min();
  Tensor x = i64({5}, {-5, 0, 7, kMin64, -1});
  Tensor y = output(DType::kI64, {5});
  ASSERT_TRUE(run_kernel(OpKind::kNeg, NoAttrs{}, {&x}, {&y}).ok());
  expect_ints(y, {5, 0, -7, kMin64, 1});  // -INT64_MIN wraps, as in torch
  ASSERT_TRUE(run_kernel(OpKind::kAbs, NoAttrs{}, {&x}, {&y}).ok());
  expect_ints(y, {5, 0, 7, kMin64, 1});
  ASSERT_TRUE(run_kernel(OpKind::kSign, NoAttrs{}, {&x}, {&y}).ok());
  expect_ints(y, {-1, 0, 1, -1, -1});
  ASSERT_TRUE(run_kernel(OpKind::kRelu, NoAttrs{}, {&x}, {&y}).ok());
  expect_ints(y, {0, 0, 7, 0, 0});

  Tensor b = tensor_of(DType::kI8, {3}, {-128, -3, 100});
  Tensor by = output(DType::kI8, {3});
  ASSERT_TRUE(run_kernel(OpKind::kAbs, NoAttrs{}, {&b}, {&by}).ok());
  expect_ints(by, {-128, 3, 100});
  Tensor u = tensor_of(DType::kU8, {2}, {200, 0});
  Tensor uy = output(DType::kU8, {2});
  ASSERT_TRUE(run_kernel(OpKind::kNeg, NoAttrs{}, {&u}, {&uy}).ok());
  expect_ints(uy, {56, 0});
  Tensor i32 = tensor_of(DType::kI32, {2}, {-2147483648.0, 3});
  Tensor i32y = output(DType::kI32, {2});
  ASSERT_TRUE(run_kernel(OpKind::kNeg, NoAttrs{}, {&i32}, {&i32y}).ok());
  expect_ints(i32y, {-2147483648LL, -3});
}

TEST(UnaryTest, ClampFloat) {
  for (DType t : kFloatTypes) {
    Tensor x = tensor_of(t, {6}, {-3, -0.5, 0.25, 2, 9, kNan});
    Tensor y = output(t, {6});
    ASSERT_TRUE(run_kernel(OpKind::kClamp, ClampAttrs{-1.0, 1.5}, {&x}, {&y}).ok());
    expect_values(y, {-1, -0.5, 0.25, 1.5, 1.5, kNan});
    ASSERT_TRUE(run_kernel(OpKind::kClamp, ClampAttrs{0.0, std::nullopt}, {&x}, {&y}).ok());
    expect_values(y, {0, 0, 0.25, 2, 9, kNan});
    ASSERT_TRUE(run_kernel(OpKind::kClamp, ClampAttrs{std::nullopt, 0.0}, {&x}, {&y}).ok());
    expect_values(y, {-3, -0.5, 0, 0, 0, kNan});
    // min > max: every element becomes max, as in torch.
    ASSERT_TRUE(run_kernel(OpKind::kClamp, ClampAttrs{2.0, 1.0}, {&x}, {&y}).ok());
    expect_values(y, {1, 1, 1, 1, 1, kNan});
  }
}

TEST(UnaryTest, ClampInteger) {
  Tensor x = i64({5}, {-5, -1, 0, 2, 3});
  Tensor y = output(DType::kI64, {5});
  ASSERT_TRUE(run_kernel(OpKind::kClamp, ClampAttrs{-1.5, 2.5}, {&x}, {&y}).ok());
  expect_ints(y, {-1, -1, 0, 2, 2});
  Tensor b = tensor_of(DType::kU8, {3}, {0, 10, 255});
  Tensor by = output(DType::kU8, {3});
  ASSERT_TRUE(run_kernel(OpKind::kClamp, ClampAttrs{5.0, 200.0}, {&b}, {&by}).ok());
  expect_ints(by, {5, 10, 200});
}

TEST(UnaryTest, IsNanAndLogicalNot) {
  Tensor h = tensor_of(DType::kF16, {4}, {kNan, 1, kInf, -0.0});
  Tensor out = output(DType::kBool, {4});
  ASSERT_TRUE(run_kernel(OpKind::kIsNan, NoAttrs{}, {&h}, {&out}).ok());
  expect_ints(out, {1, 0, 0, 0});
  Tensor i = tensor_of(DType::kI32, {4}, {0, 1, -1, 5});
  ASSERT_TRUE(run_kernel(OpKind::kIsNan, NoAttrs{}, {&i}, {&out}).ok());
  expect_ints(out, {0, 0, 0, 0});

  Tensor b = tensor_of(DType::kBool, {4}, {1, 0, 0, 1});
  ASSERT_TRUE(run_kernel(OpKind::kLogicalNot, NoAttrs{}, {&b}, {&out}).ok());
  expect_ints(out, {0, 1, 1, 0});
}

TEST(CastTest, FloatToIntTruncatesAndNanIsZero) {
  Tensor x = f32({6}, {-2.7, 2.7, kNan, -0.0, 100.9, -1.0});
  Tensor y = output(DType::kI32, {6});
  ASSERT_TRUE(run_kernel(OpKind::kCast, CastAttrs{DType::kI32}, {&x}, {&y}).ok());
  expect_ints(y, {-2, 2, 0, 0, 100, -1});
  Tensor u = output(DType::kU8, {6});
  ASSERT_TRUE(run_kernel(OpKind::kCast, CastAttrs{DType::kU8}, {&x}, {&u}).ok());
  expect_ints(u, {254, 2, 0, 0, 100, 255});  // truncate, then wrap
  Tensor l = output(DType::kI64, {6});
  ASSERT_TRUE(run_kernel(OpKind::kCast, CastAttrs{DType::kI64}, {&x}, {&l}).ok());
  expect_ints(l, {-2, 2, 0, 0, 100, -1});
}

TEST(CastTest, ToBoolIsNonZero) {
  Tensor x = tensor_of(DType::kBF16, {5}, {0, -0.0, 0.5, kNan, -3});
  Tensor y = output(DType::kBool, {5});
  ASSERT_TRUE(run_kernel(OpKind::kCast, CastAttrs{DType::kBool}, {&x}, {&y}).ok());
  expect_ints(y, {0, 0, 1, 1, 1});
  Tensor i = tensor_of(DType::kI8, {3}, {0, -1, 2});
  Tensor iy = output(DType::kBool, {3});
  ASSERT_TRUE(run_kernel(OpKind::kCast, CastAttrs{DType::kBool}, {&i}, {&iy}).ok());
  expect_ints(iy, {0, 1, 1});
}

TEST(CastTest, FloatRoundingAndIntegers) {
  // f32 -> f16: 1/3 rounds to 0.333251953125, 70000 overflows to inf, 65504 is the max.
  Tensor x = f32({4}, {1.0 / 3, 70000, 65504, kNan});
  Tensor h = output(DType::kF16, {4});
  ASSERT_TRUE(run_kernel(OpKind::kCast, CastAttrs{DType::kF16}, {&x}, {&h}).ok());
  expect_values(h, {0.333251953125, kInf, 65504, kNan});
  Tensor b = output(DType::kBF16, {4});
  ASSERT_TRUE(run_kernel(OpKind::kCast, CastAttrs{DType::kBF16}, {&x}, {&b}).ok());
  expect_values(b, {0.333984375, 70144, 65536, kNan});
  // bf16 -> f16 and back to f32 are exact here.
  Tensor hb = output(DType::kF16, {4});
  ASSERT_TRUE(run_kernel(OpKind::kCast, CastAttrs{DType::kF16}, {&b}, {&hb}).ok());
  expect_values(hb, {0.333984375, kInf, kInf, kNan});

  // i64 -> f16: 2049 is halfway between 2048 and 2050 and rounds to even.
  Tensor i = i64({3}, {2049, -7, 1 << 20});
  Tensor ih = output(DType::kF16, {3});
  ASSERT_TRUE(run_kernel(OpKind::kCast, CastAttrs{DType::kF16}, {&i}, {&ih}).ok());
  expect_values(ih, {2048, -7, kInf});
  // Narrowing integers wrap; widening and bool are exact.
  Tensor n = tensor_of(DType::kI32, {3}, {300, -129, 127});
  Tensor n8 = output(DType::kI8, {3});
  ASSERT_TRUE(run_kernel(OpKind::kCast, CastAttrs{DType::kI8}, {&n}, {&n8}).ok());
  expect_ints(n8, {44, 127, 127});
  Tensor t = tensor_of(DType::kBool, {2}, {1, 0});
  Tensor tf = output(DType::kF32, {2});
  ASSERT_TRUE(run_kernel(OpKind::kCast, CastAttrs{DType::kF32}, {&t}, {&tf}).ok());
  expect_values(tf, {1, 0});
  Tensor u = tensor_of(DType::kU8, {1}, {200});
  Tensor ul = output(DType::kI64, {1});
  ASSERT_TRUE(run_kernel(OpKind::kCast, CastAttrs{DType::kI64}, {&u}, {&ul}).ok());
  expect_ints(ul, {200});
}

TEST(CastTest, OutputDtypeMustMatchAttribute) {
  Tensor x = f32({1}, {1});
  Tensor y = output(DType::kF16, {1});
  EXPECT_EQ(run_kernel(OpKind::kCast, CastAttrs{DType::kI32}, {&x}, {&y}).code(),
            StatusCode::kInvalidArgument);
}

// ---- binary ------------------------------------------------------------------------------------

TEST(BinaryTest, AddBroadcastsEveryWay) {
  Tensor a = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor row = f32({3}, {10, 20, 30});
  Tensor out = output(DType::kF32, {2, 3});
  ASSERT_TRUE(run_kernel(OpKind::kAdd, NoAttrs{}, {&a, &row}, {&out}).ok());
  expect_values(out, {11, 22, 33, 14, 25, 36});

  Tensor col = f32({2, 1}, {100, 200});
  Tensor r13 = f32({1, 3}, {1, 2, 3});
  ASSERT_TRUE(run_kernel(OpKind::kAdd, NoAttrs{}, {&col, &r13}, {&out}).ok());
  expect_values(out, {101, 102, 103, 201, 202, 203});

  // The staged path (f16, bf16) broadcasts like the f32 one.
  for (DType t : {DType::kF16, DType::kBF16}) {
    Tensor ha = tensor_of(t, {2, 3}, {1, 2, 3, 4, 5, 6});
    Tensor hcol = tensor_of(t, {2, 1}, {-10, 10});
    Tensor hout = output(t, {2, 3});
    ASSERT_TRUE(run_kernel(OpKind::kAdd, NoAttrs{}, {&hcol, &ha}, {&hout}).ok());
    expect_values(hout, {-9, -8, -7, 14, 15, 16});
  }

  Tensor scalar = f32({}, {0.5});
  ASSERT_TRUE(run_kernel(OpKind::kSub, NoAttrs{}, {&scalar, &a}, {&out}).ok());
  expect_values(out, {-0.5, -1.5, -2.5, -3.5, -4.5, -5.5});

  Tensor s_out = output(DType::kF32, {});
  ASSERT_TRUE(run_kernel(OpKind::kMul, NoAttrs{}, {&scalar, &scalar}, {&s_out}).ok());
  expect_values(s_out, {0.25});
}

TEST(BinaryTest, LargeBroadcastMatchesLoop) {
  // [3, 700, 17] * [700, 1]: runs cross chunk boundaries mid-row.
  Tensor a(DType::kF32, {3, 700, 17});
  Tensor b(DType::kF32, {700, 1});
  for (int64_t i = 0; i < a.numel(); ++i) a.set(i, (i % 97) * 0.25 - 7);
  for (int64_t i = 0; i < b.numel(); ++i) b.set(i, (i % 13) - 6);
  Tensor out = output(DType::kF32, {3, 700, 17});
  ASSERT_TRUE(run_kernel(OpKind::kMul, NoAttrs{}, {&a, &b}, {&out}).ok());
  std::vector<double> want(static_cast<size_t>(out.numel()));
  for (int64_t n = 0; n < 3; ++n) {
    for (int64_t h = 0; h < 700; ++h) {
      for (int64_t w = 0; w < 17; ++w) {
        const int64_t i = (n * 700 + h) * 17 + w;
        want[static_cast<size_t>(i)] = a.get(i) * b.get(h);
      }
    }
  }
  expect_values(out, want);
}

TEST(BinaryTest, HalfPrecisionRoundsOnce) {
  // 1 + 2^-11 is exact in f32 and a tie in f16 (rounds to even: 1). 1 + 3 * 2^-11 rounds up.
  Tensor a = tensor_of(DType::kF16, {2}, {1, 1});
  Tensor b = tensor_of(DType::kF16, {2}, {std::ldexp(1.0, -11), 3 * std::ldexp(1.0, -11)});
  Tensor out = output(DType::kF16, {2});
  ASSERT_TRUE(run_kernel(OpKind::kAdd, NoAttrs{}, {&a, &b}, {&out}).ok());
  expect_values(out, {1, 1 + std::ldexp(1.0, -9)});
  Tensor c = tensor_of(DType::kBF16, {2}, {3, 1.0 / 3});
  Tensor d = tensor_of(DType::kBF16, {2}, {7, 3});
  Tensor q = output(DType::kBF16, {2});
  ASSERT_TRUE(run_kernel(OpKind::kMul, NoAttrs{}, {&c, &d}, {&q}).ok());
  expect_values(q, {21, 1.0});  // 0.333984375 * 3 = 1.001953125 -> bf16 1.0
}

TEST(BinaryTest, IntegerArithmeticWraps) {
  Tensor a = tensor_of(DType::kI32, {3}, {2147483647, -2147483648.0, 5});
  Tensor b = tensor_of(DType::kI32, {3}, {1, 1, -7});
  Tensor out = output(DType::kI32, {3});
  ASSERT_TRUE(run_kernel(OpKind::kAdd, NoAttrs{}, {&a, &b}, {&out}).ok());
  expect_ints(out, {-2147483648LL, -2147483647, -2});
  ASSERT_TRUE(run_kernel(OpKind::kSub, NoAttrs{}, {&a, &b}, {&out}).ok());
  expect_ints(out, {2147483646, 2147483647, 12});
  Tensor c = tensor_of(DType::kI8, {2}, {100, -7});
  Tensor d = tensor_of(DType::kI8, {2}, {3, 3});
  Tensor o8 = output(DType::kI8, {2});
  ASSERT_TRUE(run_kernel(OpKind::kMul, NoAttrs{}, {&c, &d}, {&o8}).ok());
  expect_ints(o8, {44, -21});
}

TEST(BinaryTest, FloatDivisionRoundings) {
  for (DType t : kFloatTypes) {
    Tensor a = tensor_of(t, {6}, {7, -7, 1, 0, 0, 5});
    Tensor b = tensor_of(t, {6}, {2, 2, 0, 0, -3, 0.5});
    Tensor out = output(t, {6});
    ASSERT_TRUE(run_kernel(OpKind::kDiv, DivAttrs{DivRounding::kNone}, {&a, &b}, {&out}).ok());
    expect_values(out, {3.5, -3.5, kInf, kNan, -0.0, 10});
    ASSERT_TRUE(run_kernel(OpKind::kDiv, DivAttrs{DivRounding::kTrunc}, {&a, &b}, {&out}).ok());
    expect_values(out, {3, -3, kInf, kNan, -0.0, 10});
    ASSERT_TRUE(run_kernel(OpKind::kDiv, DivAttrs{DivRounding::kFloor}, {&a, &b}, {&out}).ok());
    expect_values(out, {3, -4, kInf, kNan, -0.0, 10});
    EXPECT_TRUE(std::signbit(out.get(4))) << "floor(0 / -3) is -0.0";
  }
  // Python's 5.0 // 0.1 is 49 (0.1 is slightly above a tenth); so is torch's floor division. For
  // -10 // 0.1f, (a - fmod(a, b)) / b is -100.00001 in f32 and torch nudges it back to -100.
  Tensor a = f32({2}, {5, -10});
  Tensor b = f32({2}, {0.1, 0.1});
  Tensor out = output(DType::kF32, {2});
  ASSERT_TRUE(run_kernel(OpKind::kDiv, DivAttrs{DivRounding::kFloor}, {&a, &b}, {&out}).ok());
  expect_values(out, {49, -100});
}

TEST(BinaryTest, IntegerDivision) {
  const int64_t kMin64 = std::numeric_limits<int64_t>::min();
  Tensor a = i64({5}, {7, -7, 7, -7, kMin64});
  Tensor b = i64({5}, {2, 2, -2, -2, -1});
  Tensor out = output(DType::kI64, {5});
  ASSERT_TRUE(run_kernel(OpKind::kDiv, DivAttrs{DivRounding::kFloor}, {&a, &b}, {&out}).ok());
  expect_ints(out, {3, -4, -4, 3, kMin64});
  ASSERT_TRUE(run_kernel(OpKind::kDiv, DivAttrs{DivRounding::kTrunc}, {&a, &b}, {&out}).ok());
  expect_ints(out, {3, -3, -3, 3, kMin64});

  Tensor zero = i64({5}, {1, 1, 0, 1, 1});
  Status s = run_kernel(OpKind::kDiv, DivAttrs{DivRounding::kFloor}, {&a, &zero}, {&out});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("division by zero"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("element 2"), std::string::npos) << s.message();
  s = run_kernel(OpKind::kDiv, DivAttrs{DivRounding::kNone}, {&a, &b}, {&out});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << "integer true division";
}

TEST(BinaryTest, RemainderTakesSignOfDivisor) {
  for (DType t : kFloatTypes) {
    Tensor a = tensor_of(t, {5}, {5.5, -5.5, 5.5, -5.5, 3});
    Tensor b = tensor_of(t, {5}, {2, 2, -2, -2, 0});
    Tensor out = output(t, {5});
    ASSERT_TRUE(run_kernel(OpKind::kRemainder, NoAttrs{}, {&a, &b}, {&out}).ok());
    expect_values(out, {1.5, 0.5, -0.5, -1.5, kNan});
  }
  const int64_t kMin64 = std::numeric_limits<int64_t>::min();
  Tensor a = i64({5}, {7, -7, 7, -7, kMin64});
  Tensor b = i64({5}, {3, 3, -3, -3, -1});
  Tensor out = output(DType::kI64, {5});
  ASSERT_TRUE(run_kernel(OpKind::kRemainder, NoAttrs{}, {&a, &b}, {&out}).ok());
  expect_ints(out, {1, 2, -2, -1, 0});
  Tensor c = tensor_of(DType::kI32, {2}, {-7, 9});
  Tensor d = tensor_of(DType::kI32, {1}, {0});
  Tensor o = output(DType::kI32, {2});
  EXPECT_EQ(run_kernel(OpKind::kRemainder, NoAttrs{}, {&c, &d}, {&o}).code(),
            StatusCode::kInvalidArgument);
}

TEST(BinaryTest, Pow) {
  for (DType t : kFloatTypes) {
    Tensor a = tensor_of(t, {5}, {2, 4, -8, 0, 3});
    Tensor b = tensor_of(t, {5}, {3, 0.5, 0.5, 0, -2});
    Tensor out = output(t, {5});
    ASSERT_TRUE(run_kernel(OpKind::kPow, NoAttrs{}, {&a, &b}, {&out}).ok());
    const Tol tol = tol_for(t);
    expect_values(out, {8, 2, kNan, 1, 1.0 / 9}, tol.rtol, tol.atol);
  }
  Tensor i = i64({1}, {2});
  Tensor o = output(DType::kI64, {1});
  EXPECT_EQ(run_kernel(OpKind::kPow, NoAttrs{}, {&i, &i}, {&o}).code(),
            StatusCode::kInvalidArgument);
}

TEST(BinaryTest, MaximumMinimumPropagateNan) {
  for (DType t : kFloatTypes) {
    Tensor a = tensor_of(t, {4}, {1, kNan, 3, -0.5});
    Tensor b = tensor_of(t, {4}, {2, 5, kNan, -1});
    Tensor out = output(t, {4});
    ASSERT_TRUE(run_kernel(OpKind::kMaximum, NoAttrs{}, {&a, &b}, {&out}).ok());
    expect_values(out, {2, kNan, kNan, -0.5});
    ASSERT_TRUE(run_kernel(OpKind::kMinimum, NoAttrs{}, {&a, &b}, {&out}).ok());
    expect_values(out, {1, kNan, kNan, -1});
  }
  Tensor a = tensor_of(DType::kU8, {2, 2}, {0, 255, 7, 8});
  Tensor b = tensor_of(DType::kU8, {2}, {9, 100});
  Tensor out = output(DType::kU8, {2, 2});
  ASSERT_TRUE(run_kernel(OpKind::kMaximum, NoAttrs{}, {&a, &b}, {&out}).ok());
  expect_ints(out, {9, 255, 9, 100});
  ASSERT_TRUE(run_kernel(OpKind::kMinimum, NoAttrs{}, {&a, &b}, {&out}).ok());
  expect_ints(out, {0, 100, 7, 8});
}

TEST(BinaryTest, ComparisonsGiveBool) {
  Tensor a = tensor_of(DType::kF16, {2, 1}, {1, kNan});
  Tensor b = tensor_of(DType::kF16, {3}, {0, 1, kNan});
  Tensor out = output(DType::kBool, {2, 3});
  struct Case {
    OpKind op;
    std::vector<int64_t> want;
  };
  const Case cases[] = {
      {OpKind::kEqual, {0, 1, 0, 0, 0, 0}},       {OpKind::kNotEqual, {1, 0, 1, 1, 1, 1}},
      {OpKind::kLess, {0, 0, 0, 0, 0, 0}},        {OpKind::kLessEqual, {0, 1, 0, 0, 0, 0}},
      {OpKind::kGreater, {1, 0, 0, 0, 0, 0}},     {OpKind::kGreaterEqual, {1, 1, 0, 0, 0, 0}},
  };
  for (const Case& c : cases) {
    ASSERT_TRUE(run_kernel(c.op, NoAttrs{}, {&a, &b}, {&out}).ok());
    expect_ints(out, c.want, std::string(op_name(c.op)));
  }
  // int64 compares exactly (2^53 + 1 is not 2^53, as it would be in double).
  Tensor x = i64({2}, {(1LL << 53) + 1, -3});
  Tensor y = i64({2}, {1LL << 53, -3});
  Tensor o2 = output(DType::kBool, {2});
  ASSERT_TRUE(run_kernel(OpKind::kGreater, NoAttrs{}, {&x, &y}, {&o2}).ok());
  expect_ints(o2, {1, 0});
  ASSERT_TRUE(run_kernel(OpKind::kEqual, NoAttrs{}, {&x, &y}, {&o2}).ok());
  expect_ints(o2, {0, 1});
  Tensor p = tensor_of(DType::kBool, {2}, {1, 0});
  Tensor q = tensor_of(DType::kBool, {2}, {1, 1});
  ASSERT_TRUE(run_kernel(OpKind::kNotEqual, NoAttrs{}, {&p, &q}, {&o2}).ok());
  expect_ints(o2, {0, 1});
}

TEST(BinaryTest, LogicalAndOr) {
  Tensor a = tensor_of(DType::kBool, {2, 1}, {1, 0});
  Tensor b = tensor_of(DType::kBool, {2}, {1, 0});
  Tensor out = output(DType::kBool, {2, 2});
  ASSERT_TRUE(run_kernel(OpKind::kLogicalAnd, NoAttrs{}, {&a, &b}, {&out}).ok());
  expect_ints(out, {1, 0, 0, 0});
  ASSERT_TRUE(run_kernel(OpKind::kLogicalOr, NoAttrs{}, {&a, &b}, {&out}).ok());
  expect_ints(out, {1, 1, 1, 0});
}

TEST(BinaryTest, RejectsBadShapesAndDtypes) {
  Tensor a = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor b = f32({2}, {1, 2});
  Tensor out = output(DType::kF32, {2, 3});
  Status s = run_kernel(OpKind::kAdd, NoAttrs{}, {&a, &b}, {&out});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("broadcast"), std::string::npos) << s.message();
  Tensor h = tensor_of(DType::kF16, {3}, {1, 2, 3});
  EXPECT_EQ(run_kernel(OpKind::kAdd, NoAttrs{}, {&a, &h}, {&out}).code(),
            StatusCode::kInvalidArgument);
  Tensor t = tensor_of(DType::kBool, {3}, {1, 0, 1});
  Tensor to = output(DType::kBool, {3});
  EXPECT_EQ(run_kernel(OpKind::kAdd, NoAttrs{}, {&t, &t}, {&to}).code(),
            StatusCode::kInvalidArgument);
}

TEST(BinaryTest, EmptyTensors) {
  Tensor a(DType::kF32, {0, 3});
  Tensor b = f32({3}, {1, 2, 3});
  Tensor out(DType::kF32, {0, 3});
  EXPECT_TRUE(run_kernel(OpKind::kAdd, NoAttrs{}, {&a, &b}, {&out}).ok());
  Tensor ia(DType::kI64, {0});
  Tensor io(DType::kI64, {0});
  EXPECT_TRUE(run_kernel(OpKind::kDiv, DivAttrs{DivRounding::kFloor}, {&ia, &ia}, {&io}).ok());
}

TEST(WhereTest, BroadcastsEveryDtype) {
  Tensor c = tensor_of(DType::kBool, {2, 1}, {1, 0});
  Tensor a = f32({3}, {1, 2, 3});
  Tensor b = f32({}, {-1});
  Tensor out = output(DType::kF32, {2, 3});
  ASSERT_TRUE(run_kernel(OpKind::kWhere, NoAttrs{}, {&c, &a, &b}, {&out}).ok());
  expect_values(out, {1, 2, 3, -1, -1, -1});

  Tensor c2 = tensor_of(DType::kBool, {4}, {1, 0, 0, 1});
  Tensor h1 = tensor_of(DType::kF16, {4}, {kNan, 1, 2, -0.0});
  Tensor h2 = tensor_of(DType::kF16, {1}, {5});
  Tensor ho = output(DType::kF16, {4});
  ASSERT_TRUE(run_kernel(OpKind::kWhere, NoAttrs{}, {&c2, &h1, &h2}, {&ho}).ok());
  expect_values(ho, {kNan, 5, 5, -0.0});
  EXPECT_TRUE(std::signbit(ho.get(3)));

  Tensor l1 = i64({4}, {1LL << 60, 2, 3, 4});
  Tensor l2 = i64({4}, {-1, -2, -3, -4});
  Tensor lo = output(DType::kI64, {4});
  ASSERT_TRUE(run_kernel(OpKind::kWhere, NoAttrs{}, {&c2, &l1, &l2}, {&lo}).ok());
  expect_ints(lo, {1LL << 60, -2, -3, 4});

  Tensor t1 = tensor_of(DType::kBool, {4}, {1, 1, 1, 1});
  Tensor t2 = tensor_of(DType::kBool, {4}, {0, 0, 0, 0});
  Tensor to = output(DType::kBool, {4});
  ASSERT_TRUE(run_kernel(OpKind::kWhere, NoAttrs{}, {&c2, &t1, &t2}, {&to}).ok());
  expect_ints(to, {1, 0, 0, 1});
}

TEST(WhereTest, RejectsNonBoolCondition) {
  Tensor c = f32({2}, {1, 0});
  Tensor a = f32({2}, {1, 2});
  Tensor out = output(DType::kF32, {2});
  EXPECT_EQ(run_kernel(OpKind::kWhere, NoAttrs{}, {&c, &a, &a}, {&out}).code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kiln
