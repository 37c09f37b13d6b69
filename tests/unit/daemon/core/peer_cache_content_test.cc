// The peer cache's content files: SHA-256, and a copy that holds exactly the bytes asked
// for, hashed as the copy holds them.
#include "src/daemon/core/peer_cache_content.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <fstream>

#include "src/common/unique_fd.h"
#include "tests/support/files.h"
#include "tests/support/temp_dir.h"

namespace openbits::daemon {
namespace {

class PeerCacheContentTest : public ::testing::Test {
 protected:
  UniqueFd source_of(const std::string& bytes) {
    std::ofstream(dir.path() + "/source", std::ios::binary) << bytes;
    return UniqueFd(::open((dir.path() + "/source").c_str(), O_RDONLY | O_CLOEXEC));
  }
  UniqueFd target() {
    return UniqueFd(::open(target_path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  }
  test::TempDir dir;
  std::string target_path = dir.path() + "/target";
};

TEST_F(PeerCacheContentTest, Sha256MatchesTheStandardVector) {
  Sha256 hash;
  hash.update("a");
  hash.update("bc");
  EXPECT_EQ(hash.hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_F(PeerCacheContentTest, ACopyOfSeveralChunksHoldsTheSameBytesAndItsHash) {
  std::string bytes;
  for (int i = 0; i < (3 << 20) + 17; ++i) bytes.push_back(static_cast<char>(i * 7 % 251));
  UniqueFd source = source_of(bytes);
  UniqueFd copy = target();
  auto sha = copy_with_sha256(source.get(), copy.get(), bytes.size());
  ASSERT_TRUE(sha.ok()) << sha.status().message();
  EXPECT_EQ(test::read_text(target_path), bytes);
  Sha256 expected;
  expected.update(bytes);
  EXPECT_EQ(*sha, expected.hex());
  EXPECT_EQ(*sha256_of_file(copy.get()), *sha);
}

TEST_F(PeerCacheContentTest, ASourceOfAnotherSizeIsRefused) {
  UniqueFd source = source_of("hello");
  UniqueFd copy = target();
  EXPECT_EQ(copy_with_sha256(source.get(), copy.get(), 4).code(), hr::E_INVALIDARG);
  EXPECT_EQ(copy_with_sha256(source.get(), copy.get(), 6).code(), hr::E_INVALIDARG);
  EXPECT_EQ(test::read_text(target_path), "");
}

}  // namespace
}  // namespace openbits::daemon
