// Hexadecimal text of bytes (src/common/hex.cc).
#include "src/common/hex.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

namespace openbits {
namespace {

TEST(HexTest, EncodesTwoDigitsPerByteHighNibbleFirst) {
  std::array<std::uint8_t, 4> bytes = {0x00, 0x0f, 0xa5, 0xff};
  EXPECT_EQ(hex_encode(bytes), "000fa5ff");
  EXPECT_EQ(hex_encode(bytes, HexCase::kUpper), "000FA5FF");
}

TEST(HexTest, EncodesTheBytesOfText) {
  EXPECT_EQ(hex_encode(std::string_view("\x01\x80z", 3)), "01807a");
  EXPECT_EQ(hex_encode(std::string_view()), "");
}

TEST(HexTest, AppendsOneByte) {
  std::string out = "x";
  append_hex(out, 0xab, HexCase::kUpper);
  append_hex(out, 0x0c);
  EXPECT_EQ(out, "xAB0c");
}

TEST(HexTest, DigitValueOfEitherCaseAndMinusOneForOthers) {
  EXPECT_EQ(hex_value('0'), 0);
  EXPECT_EQ(hex_value('9'), 9);
  EXPECT_EQ(hex_value('a'), 10);
  EXPECT_EQ(hex_value('F'), 15);
  for (char c : {'g', 'G', ' ', '/', ':', '@', '`', '\0'}) EXPECT_EQ(hex_value(c), -1) << c;
}

TEST(HexTest, DecodesWhatItEncodes) {
  std::vector<std::uint8_t> bytes = {0xde, 0xad, 0x00, 0x7f};
  EXPECT_EQ(hex_decode(hex_encode(bytes)), bytes);
  EXPECT_EQ(hex_decode("DEad007F"), bytes);
  EXPECT_EQ(hex_decode(""), std::vector<std::uint8_t>{});
}

TEST(HexTest, DecodeRefusesOddLengthAndNonDigits) {
  EXPECT_FALSE(hex_decode("abc"));
  EXPECT_FALSE(hex_decode("zz"));
  EXPECT_FALSE(hex_decode("0x12"));
}

}  // namespace
}  // namespace openbits
