// Attacks a hostile local user would try on the system bitsd (docs/security.md): writing
// where they cannot, reading what they cannot, swapping their destination directory for a
// symlink into a root-only directory before the transfer and before Complete, and the
// mode of what they download. The attacker is uid 65534 driving bitsadmin; the swaps are
// made by the test between the attacker's steps, exactly as the attacker could (the
// directory being swapped is theirs).
#include <sys/stat.h>

#include <thread>

#include "tests/integration/itest.h"

namespace openbits::itest {
namespace {

constexpr uid_t kAttacker = 65534;

class SecurityTest : public ServiceTest {
 protected:
  CommandResult as_attacker(std::vector<std::string> args) {
    args.insert(args.begin(), OPENBITS_BITSADMIN_PATH);
    return run_command(args, {"OPENBITS_SOCKET=" + bitsd.socket()}, kAttacker);
  }
  // A directory owned by the attacker (under a root-owned 0755 parent).
  std::string attacker_dir(const std::string& name) {
    std::string path = dir.path() + "/" + name;
    std::filesystem::create_directories(path);
    ::chown(path.c_str(), kAttacker, kAttacker);
    ::chmod(path.c_str(), 0755);
    return path;
  }
  // A directory only root may write (and, with 0700, even enter).
  std::string root_dir(const std::string& name, mode_t mode) {
    std::string path = dir.path() + "/" + name;
    std::filesystem::create_directories(path);
    ::chmod(path.c_str(), mode);
    return path;
  }
  std::string wait_for_attacker_state(const std::string& job, const std::string& wanted) {
    std::string state;
    for (int i = 0; i < 600 && state != wanted && state != "ERROR"; ++i) {
      state = as_attacker({"/rawreturn", "/getstate", job}).out;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return state;
  }
  // The job's error as "0x<code> 0x<context>" from /geterror.
  std::string attacker_error(const std::string& job) {
    std::string text = as_attacker({"/geterror", job}).out;
    auto field = [&text](const std::string& label) {
      std::size_t at = text.find(label);
      return at == std::string::npos ? std::string("?") : text.substr(at + label.size(), 10);
    };
    return field("ERROR CODE:    ") + " " + field("ERROR CONTEXT: ");
  }
  // The attacker's job for `url` -> `local`, files added, still SUSPENDED.
  void attacker_job(const std::string& name, const std::string& url, const std::string& local) {
    ASSERT_EQ(as_attacker({"/create", name}).exit_code, 0);
    auto added = as_attacker({"/addfile", name, url, local});
    ASSERT_EQ(added.exit_code, 0) << added.err;
  }
  // Moves `path` aside and puts a symlink to `target` in its place.
  static void swap_for_symlink(const std::string& path, const std::string& target) {
    std::filesystem::rename(path, path + ".moved");
    std::filesystem::create_directory_symlink(target, path);
  }
};

TEST_F(SecurityTest, DownloadIntoDirectoryTheOwnerCannotWriteIsAccessDeniedLocalFile) {
  make_file(nginx.root() + "/f", 4096, 41);
  std::string mine = attacker_dir("mine");
  attacker_job("unwritable", nginx.url("/f"), mine + "/f");
  ::chown(mine.c_str(), 0, 0);  // no longer theirs once the transfer starts
  ASSERT_EQ(as_attacker({"/resume", "unwritable"}).exit_code, 0);
  EXPECT_EQ(wait_for_attacker_state("unwritable", "ERROR"), "ERROR");
  EXPECT_EQ(attacker_error("unwritable"), "0x80070005 0x00000004");
  EXPECT_TRUE(std::filesystem::is_empty(mine));
}

TEST_F(SecurityTest, FileUrlOfEtcShadowIsAccessDeniedForAnOrdinaryUser) {
  std::string mine = attacker_dir("mine");
  auto r = as_attacker({"/transfer", "shadow", "file:///etc/shadow", mine + "/shadow"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("ERROR CODE:    0x80070005"), std::string::npos) << r.out;
  EXPECT_FALSE(exists(mine + "/shadow"));
  EXPECT_TRUE(temp_files_in(mine).empty());
}

TEST_F(SecurityTest, DirectorySwappedForSymlinkBeforeTheTransferIsNeverWritten) {
  make_file(nginx.root() + "/payload", 4096, 42);
  std::string mine = attacker_dir("mine");
  std::string sub = mine + "/sub";
  std::filesystem::create_directory(sub);
  ::chown(sub.c_str(), kAttacker, kAttacker);
  for (mode_t mode : {mode_t{0700}, mode_t{0755}}) {
    std::string victim = root_dir("victim" + std::to_string(mode), mode);
    std::string job = "swap-before-" + std::to_string(mode);
    attacker_job(job, nginx.url("/payload"), sub + "/evil.so");
    swap_for_symlink(sub, victim);
    ASSERT_EQ(as_attacker({"/resume", job}).exit_code, 0);
    EXPECT_EQ(wait_for_attacker_state(job, "ERROR"), "ERROR");
    EXPECT_EQ(attacker_error(job), "0x80070005 0x00000004");
    as_attacker({"/complete", job});
    EXPECT_TRUE(std::filesystem::is_empty(victim)) << victim;
    std::filesystem::remove(sub);
    std::filesystem::rename(sub + ".moved", sub);
  }
}

TEST_F(SecurityTest, DirectorySwappedForSymlinkBeforeCompleteIsNeverWritten) {
  make_file(nginx.root() + "/payload", 4096, 43);
  std::string mine = attacker_dir("mine");
  std::string sub = mine + "/sub";
  std::filesystem::create_directory(sub);
  ::chown(sub.c_str(), kAttacker, kAttacker);
  std::string victim = root_dir("victim", 0755);
  attacker_job("swap-complete", nginx.url("/payload"), sub + "/evil.so");
  ASSERT_EQ(as_attacker({"/resume", "swap-complete"}).exit_code, 0);
  ASSERT_EQ(wait_for_attacker_state("swap-complete", "TRANSFERRED"), "TRANSFERRED");
  swap_for_symlink(sub, victim);
  auto completed = as_attacker({"/complete", "swap-complete"});
  EXPECT_NE(completed.exit_code, 0);
  EXPECT_EQ(completed.err.rfind("Unable to complete job - 0x80070005.", 0), 0u) << completed.err;
  EXPECT_TRUE(std::filesystem::is_empty(victim));
  EXPECT_EQ(temp_files_in(sub + ".moved").size(), 1u);  // the download stayed where it was
  EXPECT_EQ(as_attacker({"/rawreturn", "/getstate", "swap-complete"}).out, "TRANSFERRED");
}

TEST_F(SecurityTest, DownloadsTakeTheOwnerAndTheUmaskOfTheCreator) {
  make_file(nginx.root() + "/f", 1000, 44);
  std::string mine = attacker_dir("mine");
  for (mode_t mask : {mode_t{027}, mode_t{077}, mode_t{002}}) {
    std::string local = mine + "/f" + std::to_string(mask);
    mode_t saved = ::umask(mask);  // inherited by the forked bitsadmin
    auto r = as_attacker({"/transfer", "umask" + std::to_string(mask), nginx.url("/f"), local});
    ::umask(saved);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    struct stat st {};
    ASSERT_EQ(::stat(local.c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, kAttacker);
    EXPECT_EQ(st.st_gid, kAttacker);
    EXPECT_EQ(st.st_mode & 0777u, 0666u & ~mask) << "umask " << std::oct << mask;
  }
}

TEST_F(SecurityTest, SymlinkedDestinationDirectoryIsRefusedAtAddFile) {
  std::string mine = attacker_dir("mine");
  std::string real = attacker_dir("real");  // even one they may write: the rule is the link
  std::filesystem::create_directory_symlink(real, mine + "/link");
  ASSERT_EQ(as_attacker({"/create", "link"}).exit_code, 0);
  auto r = as_attacker({"/addfile", "link", nginx.url("/f"), mine + "/link/f"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("Unable to add file to job - 0x80070005.", 0), 0u) << r.err;
}

// Root's own jobs run with root's file access, so the credentials confine nothing: a user
// who owns a directory anywhere in the path of root's destination must not be able to
// redirect root's write by swapping any component for a symlink (CVE-2020-0787's shape).
TEST_F(SecurityTest, RootsJobNeverFollowsASymlinkPlantedInItsPath) {
  make_file(nginx.root() + "/payload", 4096, 45);
  std::string mine = attacker_dir("mine");
  std::string deep = mine + "/a/b";
  std::filesystem::create_directories(deep);
  std::string victim = root_dir("victim", 0700);
  // Swapped before the transfer: an intermediate component ("a") becomes a symlink.
  Job before = create("root-before");
  ASSERT_TRUE(before.add_file(nginx.url("/payload"), deep + "/evil.so").ok());
  std::filesystem::create_directories(victim + "/b");  // the last component stays real
  std::filesystem::rename(mine + "/a", mine + "/a.moved");
  std::filesystem::create_directory_symlink(victim, mine + "/a");
  ASSERT_TRUE(before.resume().ok());
  EXPECT_EQ(wait_for_state(before, {JobState::kError, JobState::kTransferred}), JobState::kError);
  auto error = before.error();
  ASSERT_TRUE(error.ok());
  EXPECT_EQ(error->code, hr::E_ACCESSDENIED);
  EXPECT_EQ(error->context, ErrorContext::kLocalFile);
  EXPECT_TRUE(std::filesystem::is_empty(victim + "/b"));
  std::filesystem::remove(mine + "/a");
  std::filesystem::rename(mine + "/a.moved", mine + "/a");
  // Swapped after the transfer, before Complete.
  Job after = create("root-after");
  ASSERT_TRUE(after.add_file(nginx.url("/payload"), deep + "/evil.so").ok());
  ASSERT_TRUE(after.resume().ok());
  ASSERT_EQ(wait_for_state(after, {JobState::kError, JobState::kTransferred}),
            JobState::kTransferred);
  std::filesystem::rename(mine + "/a", mine + "/a.moved");
  std::filesystem::create_directory_symlink(victim, mine + "/a");
  EXPECT_EQ(after.complete().code(), hr::E_ACCESSDENIED);
  EXPECT_TRUE(std::filesystem::is_empty(victim + "/b"));
  EXPECT_EQ(temp_files_in(mine + "/a.moved/b").size(), 1u);
  // And a path through a symlink is refused for root at AddFile.
  Job direct = create("root-direct");
  EXPECT_EQ(direct.add_file(nginx.url("/payload"), deep + "/evil.so").code(), hr::E_ACCESSDENIED);
}

}  // namespace
}  // namespace openbits::itest
