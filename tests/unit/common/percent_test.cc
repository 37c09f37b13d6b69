// Percent-decoding of URL paths (src/common/percent.cc).
#include "src/common/percent.h"

#include <gtest/gtest.h>

namespace openbits {
namespace {

TEST(PercentTest, DecodesEscapesOfEitherCase) {
  EXPECT_EQ(percent_decode("/a%20b%2fc%2Fd"), "/a b/c/d");
  EXPECT_EQ(percent_decode("%C3%A9"), "\xC3\xA9");
}

TEST(PercentTest, KeepsOtherCharactersIncludingPlus) {
  EXPECT_EQ(percent_decode("/plain+path?x"), "/plain+path?x");
  EXPECT_EQ(percent_decode(""), "");
}

TEST(PercentTest, RefusesMalformedEscapes) {
  EXPECT_FALSE(percent_decode("%"));
  EXPECT_FALSE(percent_decode("a%2"));
  EXPECT_FALSE(percent_decode("%zz"));
  EXPECT_FALSE(percent_decode("%2g"));
}

TEST(PercentTest, RefusesAnEncodedNulBecauseItWouldCutAPathShort) {
  EXPECT_FALSE(percent_decode("/etc/passwd%00.txt"));
  EXPECT_EQ(percent_decode("%01"), std::string("\x01"));
  EXPECT_EQ(percent_decode("%10"), std::string("\x10"));
}

}  // namespace
}  // namespace openbits
