// escape_log_text: one log record stays one line whatever a user put into it.
#include "src/common/log_text.h"

#include <gtest/gtest.h>

namespace openbits {
namespace {

TEST(LogTextTest, PlainAndUtf8TextIsUnchanged) {
  EXPECT_EQ(escape_log_text("job 'nightly build' /home/u/f.bin"),
            "job 'nightly build' /home/u/f.bin");
  EXPECT_EQ(escape_log_text("r\xc3\xa9sum\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa6"),
            "r\xc3\xa9sum\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa6");
}

TEST(LogTextTest, NewlinesAndOtherControlCharactersAreEscaped) {
  EXPECT_EQ(escape_log_text("a\nuid 0 takes ownership"), "a\\nuid 0 takes ownership");
  EXPECT_EQ(escape_log_text("\r\t\x1b[2J\x7f"), "\\r\\t\\x1b[2J\\x7f");
  EXPECT_EQ(escape_log_text(std::string_view("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(escape_log_text("back\\slash"), "back\\\\slash");
}

TEST(LogTextTest, InvalidUtf8IsEscapedBytewise) {
  EXPECT_EQ(escape_log_text("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(escape_log_text("\xc3"), "\\xc3");                             // truncated
  EXPECT_EQ(escape_log_text("\xc0\x8a"), "\\xc0\\x8a");                    // overlong newline
  EXPECT_EQ(escape_log_text("\xed\xa0\x80"), "\\xed\\xa0\\x80");           // surrogate
  EXPECT_EQ(escape_log_text("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // > U+10FFFF
  EXPECT_EQ(escape_log_text("\x80x"), "\\x80x");                           // stray continuation
}

TEST(LogTextTest, C1ControlsAndLineSeparatorsAreEscaped) {
  EXPECT_EQ(escape_log_text("\xc2\x9b"
                            "2J"),
            "\\u009b2J");
  EXPECT_EQ(escape_log_text("\xc2\x85"), "\\u0085");
  EXPECT_EQ(escape_log_text("a\xe2\x80\xa8z"), "a\\u2028z");
}

}  // namespace
}  // namespace openbits
