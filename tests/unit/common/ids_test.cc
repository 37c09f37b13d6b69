// Random bytes and ids (src/common/ids.cc).
#include "src/common/ids.h"

#include <gtest/gtest.h>

#include <array>
#include <set>

namespace openbits {
namespace {

TEST(IdsTest, RandomBytesDifferBetweenCalls) {
  std::array<std::uint8_t, 16> a{};
  std::array<std::uint8_t, 16> b{};
  random_bytes(a);
  random_bytes(b);
  EXPECT_NE(a, b);
}

TEST(IdsTest, RandomHexIdHasTwoDigitsPerByteInTheAskedCase) {
  std::string upper = random_hex_id(8);
  ASSERT_EQ(upper.size(), 16u);
  EXPECT_EQ(upper.find_first_not_of("0123456789ABCDEF"), std::string::npos) << upper;
  std::string lower = random_hex_id(5, HexCase::kLower);
  ASSERT_EQ(lower.size(), 10u);
  EXPECT_EQ(lower.find_first_not_of("0123456789abcdef"), std::string::npos) << lower;
}

TEST(IdsTest, RandomGuidIsVersionFourRfc4122AndUnique) {
  std::set<Guid> seen;
  for (int i = 0; i < 100; ++i) {
    Guid guid = random_guid();
    EXPECT_EQ(guid.bytes[6] & 0xF0, 0x40);
    EXPECT_EQ(guid.bytes[8] & 0xC0, 0x80);
    EXPECT_TRUE(seen.insert(guid).second);
  }
}

}  // namespace
}  // namespace openbits
