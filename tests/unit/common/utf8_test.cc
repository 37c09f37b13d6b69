// UTF-8 text helpers (src/common/utf8.h, utf8.cc).
#include "src/common/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace openbits {
namespace {

TEST(Utf8Test, LengthCountsCodePoints) {
  EXPECT_EQ(utf8_length("abc"), 3u);
  EXPECT_EQ(utf8_length("\xC3\xA9t\xE2\x82\xAC\xF0\x9F\x98\x80"), 4u);
}

TEST(Utf8Test, SequenceGivesLengthAndCodePoint) {
  char32_t cp = 0;
  EXPECT_EQ(utf8_sequence("\xC3\xA9", cp), 2u);
  EXPECT_EQ(cp, U'\u00E9');
  EXPECT_EQ(utf8_sequence("\xE2\x82\xAC!", cp), 3u);
  EXPECT_EQ(cp, U'\u20AC');
  EXPECT_EQ(utf8_sequence("\xF4\x8F\xBF\xBF", cp), 4u);
  EXPECT_EQ(cp, U'\U0010FFFF');
}

TEST(Utf8Test, SequenceIsZeroForAsciiAndMalformedForms) {
  char32_t cp = 0;
  for (std::string bad : {"a", "", "\x80", "\xC3", "\xC0\xAF", "\xC1\xBF", "\xE0\x80\xAF",
                          "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xC3("}) {
    EXPECT_EQ(utf8_sequence(bad, cp), 0u) << testing::PrintToString(bad);
  }
}

TEST(Utf8Test, ValidUtf8AcceptsAsciiAndWellFormedText) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8(std::string("a\0b", 3)));
  EXPECT_TRUE(valid_utf8("caf\xC3\xA9 \xF0\x9F\x98\x80"));
}

TEST(Utf8Test, ValidUtf8RefusesOverlongSurrogateTruncatedAndStrayBytes) {
  EXPECT_FALSE(valid_utf8("a\xC0\xAF"));
  EXPECT_FALSE(valid_utf8("\xED\xB2\x80"));
  EXPECT_FALSE(valid_utf8("ok\xE2\x82"));
  EXPECT_FALSE(valid_utf8("\xBF"));
  EXPECT_FALSE(valid_utf8("\xFF"));
}

}  // namespace
}  // namespace openbits
