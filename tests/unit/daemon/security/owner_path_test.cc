// Directory-relative file operations (owner_path.h): the creation mode comes from the given
// umask, never from the process's; symlinks as the leaf or as the directory are refused, and
// with no_symlinks anywhere in the directory's path (falling back to the last component
// when a seccomp filter refuses openat2); FIFOs and directories are not opened.
#include "src/daemon/security/owner_path.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "tests/support/daemon_fixture.h"

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

// In a child whose seccomp filter answers openat2 with EPERM (as systemd's
// SystemCallFilter= does for a syscall it does not list, with SystemCallErrorNumber=EPERM):
// 0 if a root job's directory still opens and a symlinked directory is still refused.
int strict_open_under_seccomp_eperm(const std::string& real, const std::string& link) {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog program{static_cast<unsigned short>(std::size(filter)), filter};
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) {
      _exit(10);
    }
    open_how how{};
    how.flags = O_PATH | O_DIRECTORY;
    if (::syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof(how)) >= 0 || errno != EPERM) {
      _exit(11);  // the filter is not in force
    }
    OwnerDir strict(real + "/f", true);
    if (!strict.ok()) _exit(12);
    OwnerDir through_link(link + "/f", true);
    _exit(!through_link.ok() && through_link.error() == ELOOP ? 0 : 13);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(OwnerPathTest, OpenAt2RefusedBySeccompFallsBackToNoFollow) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() + "/real");
  std::filesystem::create_directory_symlink(dir.path() + "/real", dir.path() + "/link");
  EXPECT_EQ(strict_open_under_seccomp_eperm(dir.path() + "/real", dir.path() + "/link"), 0);
}

}  // namespace
}  // namespace openbits::daemon::testing
