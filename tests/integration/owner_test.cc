// File operations run with the job owner's identity: an unprivileged user's download is
// owned by them, a directory they cannot write is refused, and file:// cannot read what
// they could not read themselves.
#include <sys/stat.h>

#include <thread>

#include "tests/integration/itest.h"

namespace openbits::itest {
namespace {

constexpr uid_t kNobody = 65534;

class OwnerTest : public ServiceTest {
 protected:
  CommandResult as_nobody(std::vector<std::string> args) {
    args.insert(args.begin(), OPENBITS_BITSADMIN_PATH);
    return run_command(args, {"OPENBITS_SOCKET=" + bitsd.socket()}, kNobody);
  }
  std::string user_dir() {
    std::string path = dir.path() + "/nobody";
    std::filesystem::create_directories(path);
    ::chown(path.c_str(), kNobody, kNobody);
    ::chmod(path.c_str(), 0755);
    return path;
  }
};

TEST_F(OwnerTest, DownloadedFilesBelongToTheOwner) {
  make_file(nginx.root() + "/f", 4096, 31);
  std::string mine = user_dir();
  auto r = as_nobody({"/transfer", "mine", nginx.url("/f"), mine + "/f"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  struct stat st {};
  ASSERT_EQ(::stat((mine + "/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, kNobody);
  EXPECT_EQ(st.st_gid, kNobody);
  EXPECT_TRUE(files_equal(nginx.root() + "/f", mine + "/f"));
}

TEST_F(OwnerTest, DirectoryTheOwnerCannotWriteIsAccessDenied) {
  std::string root_only = dir.path() + "/root-only";
  std::filesystem::create_directories(root_only);
  ::chmod(root_only.c_str(), 0755);
  as_nobody({"/create", "denied"});
  auto r = as_nobody({"/addfile", "denied", nginx.url("/f"), root_only + "/f"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("Unable to add file to job - 0x80070005.", 0), 0u) << r.err;
  EXPECT_TRUE(std::filesystem::is_empty(root_only));
}

TEST_F(OwnerTest, FileUrlsCannotReadWhatTheOwnerCannot) {
  std::string secret = dir.path() + "/secret";
  make_file(secret, 100, 32);
  ::chmod(secret.c_str(), 0600);
  std::string mine = user_dir();
  auto r = as_nobody({"/transfer", "steal", "file://" + secret, mine + "/copy"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("ERROR CODE:    0x80070005"), std::string::npos) << r.out;
  EXPECT_FALSE(exists(mine + "/copy"));
  EXPECT_TRUE(temp_files_in(mine).empty());
}

}  // namespace
}  // namespace openbits::itest

namespace openbits::itest {
namespace {

TEST_F(OwnerTest, AclFlagsCopyOwnerGroupAndModeOfFileSources) {
  std::string source = dir.path() + "/source";
  make_file(source, 2048, 33);
  ::chown(source.c_str(), kNobody, kNobody);
  ::chmod(source.c_str(), 0640);
  auto job = manager->create_job("acl");
  ASSERT_TRUE(job->set_file_acl_flags(kCopyFileOwner | kCopyFileGroup | kCopyFileDacl).ok());
  ASSERT_TRUE(job->add_file("file://" + source, out + "/copy").ok());
  ASSERT_TRUE(job->resume().ok());
  ASSERT_EQ(
      wait_for_state(*job, {JobState::kTransferred, JobState::kError, JobState::kTransientError}),
      JobState::kTransferred);
  ASSERT_EQ(job->complete().code(), hr::S_OK);
  struct stat st {};
  ASSERT_EQ(::stat((out + "/copy").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, kNobody);
  EXPECT_EQ(st.st_gid, kNobody);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_TRUE(files_equal(source, out + "/copy"));
}

TEST_F(OwnerTest, AclOwnerFlagWithoutPrivilegeIsATransientAccessDenied) {
  std::string source = dir.path() + "/rootfile";
  make_file(source, 100, 34);
  std::string mine = user_dir();
  as_nobody({"/create", "acl-denied"});
  as_nobody({"/setaclflags", "acl-denied", "O"});
  as_nobody({"/addfile", "acl-denied", "file://" + source, mine + "/copy"});
  as_nobody({"/resume", "acl-denied"});
  std::string state;
  for (int i = 0; i < 100 && state != "TRANSIENT_ERROR"; ++i) {
    state = as_nobody({"/rawreturn", "/getstate", "acl-denied"}).out;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(state, "TRANSIENT_ERROR");
  auto error = as_nobody({"/geterror", "acl-denied"});
  EXPECT_NE(error.out.find("ERROR CODE:    0x80070005"), std::string::npos) << error.out;
  EXPECT_NE(error.out.find("ERROR CONTEXT: 0x00000004"), std::string::npos) << error.out;
  EXPECT_FALSE(exists(mine + "/copy"));
}

TEST_F(OwnerTest, UserInstanceServesOnlyItsOwnUser) {
  bitsd.terminate();
  bitsd.start({"--user"});  // run by root here: a private instance of uid 0
  auto mine =
      run_command({OPENBITS_BITSADMIN_PATH, "/list"}, {"OPENBITS_SOCKET=" + bitsd.socket()});
  EXPECT_EQ(mine.exit_code, 0) << mine.err;
  auto other = as_nobody({"/list"});
  EXPECT_NE(other.exit_code, 0);
  EXPECT_EQ(other.err.rfind("Unable to list jobs - ", 0), 0u) << other.err;
  struct stat st {};
  ASSERT_EQ(::stat(bitsd.socket().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

}  // namespace
}  // namespace openbits::itest
