// Numeric tests of the source reference kernels: constant, full, arange.
#include <gtest/gtest.h>

#include "ref_test_util.h"

namespace kiln {
namespace {

using ref_test::expect_ints;
using ref_test::expect_values;
using ref_test::output;
using ref_test::run_kernel;
using ref_test::Tensor;

TEST(SourcesTest, ConstantCopiesBytes) {
  const float data[] = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f, -0.5f};
  ConstantAttrs a{DType::kF32, {2, 3}, TensorData::copy_of(data, sizeof(data))};
  Tensor out = output(DType::kF32, {2, 3});
  ASSERT_TRUE(run_kernel(OpKind::kConstant, a, {}, {&out}).ok());
  expect_values(out, {1.5, -2.0, 3.25, 0.0, 7.0, -0.5});

  const int64_t ints[] = {-9, 1LL << 40};
  ConstantAttrs b{DType::kI64, {2}, TensorData::copy_of(ints, sizeof(ints))};
  Tensor iout = output(DType::kI64, {2});
  ASSERT_TRUE(run_kernel(OpKind::kConstant, b, {}, {&iout}).ok());
  expect_ints(iout, {-9, 1LL << 40});
}

TEST(SourcesTest, ConstantRejectsSizeMismatch) {
  const float data[] = {1.0f, 2.0f};
  ConstantAttrs a{DType::kF32, {2}, TensorData::copy_of(data, sizeof(data))};
  Tensor out = output(DType::kF32, {3});
  Status s = run_kernel(OpKind::kConstant, a, {}, {&out});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.to_string();
  EXPECT_NE(s.message().find("constant"), std::string::npos);
}

TEST(SourcesTest, FullEveryDtype) {
  Tensor f = output(DType::kF32, {2, 3});
  ASSERT_TRUE(run_kernel(OpKind::kFull, FullAttrs{{2, 3}, 2.5, DType::kF32}, {}, {&f}).ok());
  expect_values(f, {2.5, 2.5, 2.5, 2.5, 2.5, 2.5});

  // 1/3 rounded once to bf16 is 0.333984375 (0x3EAB); to f16 it is 0.333251953125 (0x3555).
  Tensor b = output(DType::kBF16, {3});
  ASSERT_TRUE(run_kernel(OpKind::kFull, FullAttrs{{3}, 1.0 / 3, DType::kBF16}, {}, {&b}).ok());
  expect_values(b, {0.333984375, 0.333984375, 0.333984375});
  Tensor h = output(DType::kF16, {1});
  ASSERT_TRUE(run_kernel(OpKind::kFull, FullAttrs{{1}, 1.0 / 3, DType::kF16}, {}, {&h}).ok());
  expect_values(h, {0.333251953125});

  Tensor i = output(DType::kI32, {2, 2});
  ASSERT_TRUE(run_kernel(OpKind::kFull, FullAttrs{{2, 2}, -7, DType::kI32}, {}, {&i}).ok());
  expect_ints(i, {-7, -7, -7, -7});
  Tensor i8 = output(DType::kI8, {3});
  ASSERT_TRUE(run_kernel(OpKind::kFull, FullAttrs{{3}, -1, DType::kI8}, {}, {&i8}).ok());
  expect_ints(i8, {-1, -1, -1});

  Tensor t = output(DType::kBool, {2});
  ASSERT_TRUE(run_kernel(OpKind::kFull, FullAttrs{{2}, 0.5, DType::kBool}, {}, {&t}).ok());
  expect_ints(t, {1, 1});

  Tensor nan = output(DType::kF32, {2});
  const FullAttrs nan_attrs{{2}, std::nan(""), DType::kF32};
  ASSERT_TRUE(run_kernel(OpKind::kFull, nan_attrs, {}, {&nan}).ok());
  expect_values(nan, {std::nan(""), std::nan("")});
}

TEST(SourcesTest, FullLargeAndEmpty) {
  // Large enough to run on several threads: every element must be written.
  Tensor big = output(DType::kF16, {300, 257});
  ASSERT_TRUE(run_kernel(OpKind::kFull, FullAttrs{{300, 257}, -3.0, DType::kF16}, {}, {&big}).ok());
  for (int64_t k = 0; k < big.numel(); ++k) ASSERT_EQ(big.get(k), -3.0) << k;

  Tensor empty = output(DType::kF32, {0, 4});
  EXPECT_TRUE(run_kernel(OpKind::kFull, FullAttrs{{0, 4}, 1.0, DType::kF32}, {}, {&empty}).ok());
}

TEST(SourcesTest, ArangeFloatAndInt) {
  Tensor f = output(DType::kF32, {5});
  ASSERT_TRUE(run_kernel(OpKind::kArange, ArangeAttrs{0.5, 0.25, 5, DType::kF32}, {}, {&f}).ok());
  expect_values(f, {0.5, 0.75, 1.0, 1.25, 1.5});

  Tensor i = output(DType::kI64, {4});
  ASSERT_TRUE(run_kernel(OpKind::kArange, ArangeAttrs{-3, 2, 4, DType::kI64}, {}, {&i}).ok());
  expect_ints(i, {-3, -1, 1, 3});

  Tensor i32 = output(DType::kI32, {3});
  ASSERT_TRUE(run_kernel(OpKind::kArange, ArangeAttrs{10, -4, 3, DType::kI32}, {}, {&i32}).ok());
  expect_ints(i32, {10, 6, 2});

  // f32 is computed in double and rounded once: 0.1 * 3 rounds to 0.3f exactly.
  Tensor tenth = output(DType::kF32, {4});
  ASSERT_TRUE(run_kernel(OpKind::kArange, ArangeAttrs{0, 0.1, 4, DType::kF32}, {}, {&tenth}).ok());
  expect_values(tenth, {0.0, double(0.1f), double(0.2f), double(0.3f)});

  // f16: start + i * step in float, then one rounding to f16.
  Tensor h = output(DType::kF16, {3});
  ASSERT_TRUE(run_kernel(OpKind::kArange, ArangeAttrs{1, 0.5, 3, DType::kF16}, {}, {&h}).ok());
  expect_values(h, {1.0, 1.5, 2.0});
}

TEST(SourcesTest, ArangeLongRunsInBlocks) {
  for (DType t : {DType::kF16, DType::kF32, DType::kI64}) {
    Tensor out = output(t, {2000});
    ASSERT_TRUE(run_kernel(OpKind::kArange, ArangeAttrs{-1000, 1, 2000, t}, {}, {&out}).ok());
    for (int64_t i = 0; i < 2000; ++i) ASSERT_EQ(out.get(i), i - 1000.0) << dtype_name(t) << i;
  }
}

TEST(SourcesTest, ArangeSymbolicLength) {
  ArangeAttrs a{2, 3, DimExpr::symbol(0) * 2, DType::kI64};
  Tensor out = output(DType::kI64, {6});
  ASSERT_TRUE(run_kernel(OpKind::kArange, a, {}, {&out}, {3}).ok());
  expect_ints(out, {2, 5, 8, 11, 14, 17});

  Tensor wrong = output(DType::kI64, {5});
  Status s = run_kernel(OpKind::kArange, a, {}, {&wrong}, {3});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.to_string();
}

}  // namespace
}  // namespace kiln
