// Directory-relative file operations (owner_path.h): the creation mode comes from the given
// umask, never from the process's; symlinks as the leaf or as the directory are refused, and
// with no_symlinks anywhere in the directory's path; FIFOs and directories are not opened.
#include "src/daemon/security/owner_path.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

#include "tests/unit/daemon/daemon_fixture.h"

namespace openbits::daemon::testing {
namespace {

mode_t mode_of(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 ? st.st_mode & 07777 : 0;
}

// Opens for writing and closes; the errno on failure, 0 on success.
int open_error(const std::string& path, bool no_symlinks = false) {
  int fd = open_file_for_writing(path, 022, no_symlinks);
  if (fd < 0) return errno;
  ::close(fd);
  return 0;
}

TEST(OwnerPathTest, NewFilesTakeTheGivenUmaskNotTheProcesses) {
  TempDir dir;
  mode_t saved = ::umask(0777);
  int fd = open_file_for_writing(dir.path() + "/a", 027, false);
  ::umask(saved);
  ASSERT_GE(fd, 0);
  ::close(fd);
  EXPECT_EQ(mode_of(dir.path() + "/a"), 0640u);
  ::chmod((dir.path() + "/a").c_str(), 0600);
  fd = open_file_for_writing(dir.path() + "/a", 0, false);  // existing: mode kept
  ASSERT_GE(fd, 0);
  ::close(fd);
  EXPECT_EQ(mode_of(dir.path() + "/a"), 0600u);
}

TEST(OwnerPathTest, SymlinksFifosAndDirectoriesAreRefused) {
  TempDir dir;
  std::ofstream(dir.path() + "/target") << "keep";
  ::symlink((dir.path() + "/target").c_str(), (dir.path() + "/leaf").c_str());
  EXPECT_EQ(open_error(dir.path() + "/leaf"), ELOOP);
  ::symlink((dir.path() + "/nowhere").c_str(), (dir.path() + "/dangling").c_str());
  EXPECT_EQ(open_error(dir.path() + "/dangling"), ELOOP);
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/nowhere"));
  ::mkfifo((dir.path() + "/fifo").c_str(), 0600);
  EXPECT_NE(open_error(dir.path() + "/fifo"), 0);
  std::filesystem::create_directory(dir.path() + "/sub");
  EXPECT_NE(open_error(dir.path() + "/sub"), 0);
  std::filesystem::create_directory_symlink(dir.path() + "/sub", dir.path() + "/linkdir");
  EXPECT_EQ(open_error(dir.path() + "/linkdir/f"), ELOOP);
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/sub/f"));
  std::ifstream in(dir.path() + "/target");
  std::string content;
  in >> content;
  EXPECT_EQ(content, "keep");
}

TEST(OwnerPathTest, NoSymlinksRefusesALinkAnywhereInTheDirectorysPath) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() + "/real/inner");
  std::filesystem::create_directory_symlink(dir.path() + "/real", dir.path() + "/link");
  EXPECT_EQ(open_error(dir.path() + "/link/inner/f", false), 0);  // last component is real
  EXPECT_EQ(open_error(dir.path() + "/link/inner/g", true), ELOOP);
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/real/inner/g"));
  OwnerDir strict(dir.path() + "/real/inner/h", true);
  EXPECT_TRUE(strict.ok());
  OwnerDir missing(dir.path() + "/absent/h", false);
  EXPECT_FALSE(missing.ok());
  EXPECT_EQ(missing.error(), ENOENT);
  EXPECT_EQ(leaf_name("/a/b/c.tmp"), "c.tmp");
}

}  // namespace
}  // namespace openbits::daemon::testing
