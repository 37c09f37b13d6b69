// Status and Result<T> (include/openbits/status.h): the BITS error context and the context
// added while an error propagates.
#include "openbits/status.h"

#include <gtest/gtest.h>

#include <string>

namespace openbits {
namespace {

TEST(StatusTest, CodeAndMessageAloneLeaveTheContextUnset) {
  Status status(hr::E_FAIL, "broken");
  EXPECT_EQ(status.code(), hr::E_FAIL);
  EXPECT_EQ(status.context(), ErrorContext::kNone);
  EXPECT_EQ(status.message(), "broken");
  EXPECT_EQ(Status().context(), ErrorContext::kNone);
}

TEST(StatusTest, CarriesTheContextItWasMadeWith) {
  Status status(hr::E_ACCESSDENIED, ErrorContext::kLocalFile, "no write access");
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.context(), ErrorContext::kLocalFile);
  EXPECT_EQ(status.message(), "no write access");
}

TEST(StatusTest, WithContextPrefixesTheMessageAndSetsTheContext) {
  Status status = Status(hr::E_FAIL, "disk full")
                      .with_context(ErrorContext::kLocalFile, "writing the temp file");
  EXPECT_EQ(status.code(), hr::E_FAIL);
  EXPECT_EQ(status.context(), ErrorContext::kLocalFile);
  EXPECT_EQ(status.message(), "writing the temp file: disk full");
}

TEST(StatusTest, WithContextKeepsTheInnermostContext) {
  Status inner(hr::E_FAIL, ErrorContext::kRemoteFile, "404");
  Status outer = inner.with_context(ErrorContext::kGeneralTransport, "fetching the file");
  EXPECT_EQ(outer.context(), ErrorContext::kRemoteFile);
  EXPECT_EQ(outer.message(), "fetching the file: 404");
  EXPECT_EQ(inner.message(), "404");  // the lvalue overload copies
}

TEST(StatusTest, WithContextOnAnEmptyMessageUsesTheWhat) {
  Status status = Status(hr::E_FAIL).with_context(ErrorContext::kLocalFile, "renaming");
  EXPECT_EQ(status.message(), "renaming");
}

TEST(StatusTest, WithContextPassesASuccessThroughUnchanged) {
  Status status = Status::ok_status(hr::S_FALSE).with_context(ErrorContext::kLocalFile, "x");
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(status.code(), hr::S_FALSE);
  EXPECT_EQ(status.context(), ErrorContext::kNone);
  EXPECT_EQ(status.message(), "");
}

Result<int> parse_failure() { return Status(hr::E_INVALIDARG, "not a number"); }

TEST(ResultTest, WithContextWrapsAFailureAndKeepsAValue) {
  Result<int> failed = parse_failure().with_context(ErrorContext::kLocalFile, "reading x");
  EXPECT_EQ(failed.context(), ErrorContext::kLocalFile);
  EXPECT_EQ(failed.status().message(), "reading x: not a number");
  Result<int> value = Result<int>(7).with_context(ErrorContext::kLocalFile, "reading x");
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(*value, 7);
  EXPECT_EQ(value.context(), ErrorContext::kNone);
}

}  // namespace
}  // namespace openbits
