// Sealing of secrets at rest: round trip, binding to the slot, and the key file's rules.
#include "src/daemon/security/secret_box.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "tests/support/daemon_fixture.h"

namespace openbits::daemon::testing {
namespace {

TEST(SecretBoxTest, SealedSecretsOpenOnlyWithTheirKeyAndContext) {
  TempDir dir;
  auto box = SecretBox::load_or_create(dir.path() + "/secrets.key");
  ASSERT_TRUE(box.ok()) << box.status().message();
  std::string sealed = box->seal("hunter2", "credentials:{job}:1:1");
  ASSERT_FALSE(sealed.empty());
  EXPECT_EQ(sealed.find("hunter2"), std::string::npos);
  auto opened = box->open(sealed, "credentials:{job}:1:1");
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(*opened, "hunter2");
  EXPECT_FALSE(box->open(sealed, "credentials:{other}:1:1").ok());
  std::string tampered = sealed;
  tampered[tampered.size() / 2] ^= 1;
  EXPECT_FALSE(box->open(tampered, "credentials:{job}:1:1").ok());
  EXPECT_NE(box->seal("hunter2", "c"), box->seal("hunter2", "c"));  // fresh nonce each time
  std::array<std::uint8_t, 32> other_key{};
  EXPECT_FALSE(SecretBox(other_key).open(sealed, "credentials:{job}:1:1").ok());
}

TEST(SecretBoxTest, KeyFileIsCreatedPrivateAndReadBack) {
  TempDir dir;
  std::string path = dir.path() + "/secrets.key";
  auto first = SecretBox::load_or_create(path);
  ASSERT_TRUE(first.ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 32);
  auto second = SecretBox::load_or_create(path);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second->open(first->seal("x", "c"), "c"), "x");
}

TEST(SecretBoxTest, AKeyFileOfTheWrongSizeIsRefusedNamingIt) {
  TempDir dir;
  std::string path = dir.path() + "/secrets.key";
  std::ofstream(path) << "short";
  auto box = SecretBox::load_or_create(path);
  ASSERT_FALSE(box.ok());
  EXPECT_NE(box.status().message().find(path), std::string::npos);
}

TEST(SecretBoxTest, WipeClearsTheString) {
  std::string secret = "hunter2";
  wipe(secret);
  EXPECT_TRUE(secret.empty());
}

}  // namespace
}  // namespace openbits::daemon::testing
