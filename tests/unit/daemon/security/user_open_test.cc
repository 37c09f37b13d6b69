// Opens of user-named paths (security/user_open.h): a terminal opened by a session leader
// without a terminal never becomes its controlling terminal; only regular files are opened
// for reading, and devices and FIFOs are refused without being opened.
#include "src/daemon/security/user_open.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

#include "tests/support/daemon_fixture.h"

namespace openbits::daemon::testing {
namespace {

// In a child that leads a new session without a terminal: opens `slave` with
// open_user_path and reports whether the session then has a controlling terminal.
bool session_leader_gets_a_terminal(const std::string& slave) {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::setsid() < 0) ::_exit(2);
    int fd = open_user_path(slave, O_RDWR);
    if (fd < 0) ::_exit(3);
    int tty = ::open("/dev/tty", O_RDWR | O_NOCTTY);  // ENXIO without a controlling terminal
    ::_exit(tty >= 0 ? 1 : 0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) <= 1) << status;
  return WIFEXITED(status) && WEXITSTATUS(status) == 1;
}

TEST(UserOpenTest, TerminalOpenedByASessionLeaderNeverBecomesItsControllingTerminal) {
  int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  ASSERT_GE(master, 0);
  ASSERT_EQ(::unlockpt(master), 0);
  EXPECT_FALSE(session_leader_gets_a_terminal(::ptsname(master)));
  ::close(master);
}

TEST(UserOpenTest, RegularFileOpensForBlockingReadsAndCloseOnExec) {
  TempDir dir;
  std::string path = dir.path() + "/f";
  std::ofstream(path) << "data";
  RegularFile file = open_regular_file(AT_FDCWD, path);
  ASSERT_GE(file.fd, 0);
  EXPECT_FALSE(file.not_regular);
  int status = ::fcntl(file.fd, F_GETFL);
  EXPECT_EQ(status & O_NONBLOCK, 0);
  EXPECT_EQ(status & O_ACCMODE, O_RDONLY);
  EXPECT_NE(::fcntl(file.fd, F_GETFD) & FD_CLOEXEC, 0);
  ::close(file.fd);
}

TEST(UserOpenTest, DevicesFifosAndDirectoriesAreRefusedWithoutOpeningThem) {
  TempDir dir;
  std::string fifo = dir.path() + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const std::string& path :
       {std::string("/dev/null"), std::string("/dev/ptmx"), fifo, dir.path()}) {
    RegularFile file = open_regular_file(AT_FDCWD, path);
    EXPECT_EQ(file.fd, -1) << path;
    EXPECT_TRUE(file.not_regular) << path;
  }
}

TEST(UserOpenTest, MissingFilesAndRefusedSymlinksSayWhy) {
  TempDir dir;
  std::string target = dir.path() + "/target";
  std::ofstream(target) << "x";
  std::string link = dir.path() + "/link";
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  EXPECT_EQ(open_regular_file(AT_FDCWD, dir.path() + "/missing").error, ENOENT);
  EXPECT_EQ(open_regular_file(AT_FDCWD, link, O_NOFOLLOW).error, ELOOP);
  RegularFile followed = open_regular_file(AT_FDCWD, link);
  EXPECT_GE(followed.fd, 0);
  ::close(followed.fd);
}

}  // namespace
}  // namespace openbits::daemon::testing
