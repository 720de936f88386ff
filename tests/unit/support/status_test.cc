#include "kiln/support/status.h"

#include <gtest/gtest.h>

namespace kiln {
namespace {

Expected<int> parse_positive(int v) {
  if (v <= 0) return invalid_argument("expected a positive number, got ", v);
  return v;
}

Expected<int> doubled(int v) {
  KILN_ASSIGN_OR_RETURN(int x, parse_positive(v));
  return 2 * x;
}

Status check_both(int a, int b) {
  KILN_RETURN_IF_ERROR(parse_positive(a));
  KILN_RETURN_IF_ERROR(parse_positive(b).status());  // a temporary's status must not dangle
  return ok_status();
}

TEST(StatusTest, MacrosPropagateTheFirstError) {
  EXPECT_EQ(*doubled(4), 8);
  Expected<int> bad = doubled(-3);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "expected a positive number, got -3");
  EXPECT_TRUE(check_both(1, 2).ok());
  EXPECT_EQ(check_both(1, -7).message(), "expected a positive number, got -7");
}

TEST(StatusTest, ToStringAndContext) {
  Status s = data_loss("file is truncated");
  EXPECT_EQ(s.to_string(), "DataLoss: file is truncated");
  EXPECT_EQ(s.with_context("model.kiln").message(), "model.kiln: file is truncated");
  EXPECT_EQ(ok_status().to_string(), "OK");
  EXPECT_TRUE(ok_status().with_context("ignored").ok());
}

}  // namespace
}  // namespace kiln
