// ScopedFsCredentials: while active, the calling thread (and only it) touches the file
// system as the given owner; on scope exit root's access comes back. Needs root (CI runs
// as root); skipped otherwise.
#include "src/daemon/security/fs_credentials.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/temp_dir.h"

namespace openbits::daemon {
namespace {

constexpr uid_t kNobody = 65534;

class FsCredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    dir_ = temp_.path();
    secret_ = dir_ + "/secret";
    int fd = ::open(secret_.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, "root only", 9), 9);
    ::close(fd);
  }
  static bool can_read(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    ::close(fd);
    return true;
  }
  test::TempDir temp_{"fscred"};  // 0777: the owner under test creates files in it
  std::string dir_;
  std::string secret_;
};

TEST_F(FsCredentialsTest, OwnerCannotReadRootOnlyFileAndCreatesFilesAsItself) {
  {
    ScopedFsCredentials as_nobody(Credentials{kNobody, kNobody, {}});
    ASSERT_TRUE(as_nobody.ok());
    errno = 0;
    EXPECT_FALSE(can_read(secret_));
    EXPECT_EQ(errno, EACCES);
    std::string mine = dir_ + "/mine";
    int fd = ::open(mine.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    struct stat st {};
    ASSERT_EQ(::fstat(fd, &st), 0);
    ::close(fd);
    EXPECT_EQ(st.st_uid, kNobody);
    EXPECT_EQ(st.st_gid, kNobody);
  }
  EXPECT_TRUE(can_read(secret_));
  EXPECT_EQ(::setfsuid(static_cast<uid_t>(-1)), 0);
  EXPECT_EQ(::setfsgid(static_cast<gid_t>(-1)), 0);
}

TEST_F(FsCredentialsTest, OtherThreadsKeepRootAccess) {
  // The other thread exists before the switch (a thread cloned during the scope would
  // inherit the calling thread's credentials, as clone(2) copies them).
  std::promise<void> switched;
  std::promise<bool> read_result;
  std::thread other([&] {
    switched.get_future().wait();
    read_result.set_value(can_read(secret_));
  });
  {
    ScopedFsCredentials as_nobody(Credentials{kNobody, kNobody, {}});
    ASSERT_TRUE(as_nobody.ok());
    EXPECT_FALSE(can_read(secret_));
    switched.set_value();
    EXPECT_TRUE(read_result.get_future().get());
  }
  other.join();
}

TEST_F(FsCredentialsTest, SupplementaryGroupsApplyToThisThreadOnly) {
  constexpr gid_t kGroup = 4242;
  ASSERT_EQ(::chown(secret_.c_str(), 0, kGroup), 0);
  ASSERT_EQ(::chmod(secret_.c_str(), 0640), 0);
  {
    ScopedFsCredentials member(Credentials{kNobody, kNobody, {kGroup}});
    ASSERT_TRUE(member.ok());
    EXPECT_TRUE(can_read(secret_));
  }
  {
    ScopedFsCredentials stranger(Credentials{kNobody, kNobody, {}});
    ASSERT_TRUE(stranger.ok());
    EXPECT_FALSE(can_read(secret_));
  }
  // The process's own group list is untouched.
  int n = ::getgroups(0, nullptr);
  std::vector<gid_t> groups(static_cast<std::size_t>(n));
  ASSERT_EQ(::getgroups(n, groups.data()), n);
  EXPECT_EQ(std::count(groups.begin(), groups.end(), kGroup), 0);
}

TEST_F(FsCredentialsTest, RootOwnerIsANoOp) {
  ScopedFsCredentials as_root(Credentials{0, 0, {}});
  EXPECT_TRUE(as_root.ok());
  EXPECT_TRUE(can_read(secret_));
}

TEST(CredentialsForTest, KnownUidGetsPasswdGroupAndGroupList) {
  Credentials root = credentials_for(0, 777);
  EXPECT_EQ(root.uid, 0u);
  EXPECT_EQ(root.gid, 0u);
  EXPECT_NE(std::find(root.groups.begin(), root.groups.end(), 0u), root.groups.end());
}

TEST(CredentialsForTest, UidWithoutPasswdEntryGetsFallbackGidAndNoGroups) {
  Credentials ghost = credentials_for(987654, 4321);
  EXPECT_EQ(ghost.uid, 987654u);
  EXPECT_EQ(ghost.gid, 4321u);
  EXPECT_TRUE(ghost.groups.empty());
}

}  // namespace
}  // namespace openbits::daemon
