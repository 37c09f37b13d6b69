#include "src/upload_server/root_dir.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "tests/support/temp_dir.h"

namespace openbits::upload {
namespace {

TEST(ParseUrlPath, SplitsAndDecodesComponents) {
  auto url = parse_url_path("/up/my%20file.bin?tx=1&a=b");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->components, (std::vector<std::string>{"up", "my file.bin"}));
  EXPECT_EQ(url->query, "tx=1&a=b");
  EXPECT_EQ(url->joined(), "/up/my file.bin");
}

TEST(ParseUrlPath, AcceptsAbsoluteFormAndCollapsesDoubleSlashes) {
  auto url = parse_url_path("http://host:8080//a//b.bin");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->joined(), "/a/b.bin");
}

TEST(ParseUrlPath, RefusesEscapesAndHiddenNames) {
  for (const char* target :
       {"/../x", "/a/../../x", "/%2e%2e/x", "/%2E%2E/x", "/a%2f..%2fx", "/a%5c..%5cx", "/.x",
        "/.bits-upload-server/sessions/x", "/x%00y", "/x%0a", "/%zz", "/%2", "/a/", "/", "", "x",
        "http://h/../x", "/a#frag", "/a/./b"}) {
    EXPECT_FALSE(parse_url_path(target)) << target;
  }
}

// Found by upload_server_fuzz: a name that is not UTF-8 could not be written into the
// session's state.json, and the request got no answer and left a half-made session behind.
TEST(ParseUrlPath, RefusesNamesThatAreNotUtf8) {
  for (const char* target :
       {"/up/a%FFb",
        "/up/a\xff"
        "b",
        "/up/%C0%AF", "/up/%ED%A0%80", "/up/%E2%82", "/up/%F4%90%80%80", "/up/%80"}) {
    EXPECT_FALSE(parse_url_path(target)) << target;
  }
  for (const char* target : {"/up/%C3%A9t%C3%A9.bin", "/up/%E2%82%AC", "/up/%F0%9F%93%A6"}) {
    EXPECT_TRUE(parse_url_path(target)) << target;
  }
}

TEST(ParseUrlPath, DecodesOnlyOnce) {
  auto url = parse_url_path("/%252e%252e");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->components, (std::vector<std::string>{"%2e%2e"}));
}

class RootDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = temp_.path();
    std::filesystem::create_directories(dir_ + "/root/sub");
    std::filesystem::create_directories(dir_ + "/outside");
    std::filesystem::create_directory_symlink(dir_ + "/outside", dir_ + "/root/link");
  }
  test::TempDir temp_{"rootdir-test"};
  std::string dir_;
};

TEST_F(RootDirTest, CreatesAPrivateStateDirectory) {
  auto root = RootDir::open(dir_ + "/root");
  ASSERT_TRUE(root.ok()) << root.status().message();
  struct stat st {};
  ASSERT_EQ(::stat((dir_ + "/root/.bits-upload-server").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(RootDirTest, OpensParentsWithoutFollowingSymlinks) {
  auto root = RootDir::open(dir_ + "/root");
  ASSERT_TRUE(root.ok()) << root.status().message();
  EXPECT_TRUE(root->open_parent(*parse_url_path("/sub/f.bin")).valid());
  EXPECT_TRUE(root->open_parent(*parse_url_path("/f.bin")).valid());
  EXPECT_FALSE(root->open_parent(*parse_url_path("/link/f.bin")).valid());
  EXPECT_TRUE(errno == ELOOP || errno == ENOTDIR) << errno;  // a symlink, never followed
  EXPECT_FALSE(root->open_parent(*parse_url_path("/missing/f.bin")).valid());
  EXPECT_EQ(errno, ENOENT);
}

TEST_F(RootDirTest, RefusesAMissingRoot) {
  auto root = RootDir::open(dir_ + "/nope");
  EXPECT_FALSE(root.ok());
  EXPECT_NE(root.status().message().find("nope"), std::string::npos);
}

}  // namespace
}  // namespace openbits::upload
