// Caller identification (peer_identity.h) against real processes: a live process's umask,
// capabilities and no_new_privs are read from /proc; a process that has exited, a zombie,
// or a pid whose pidfd shows its process gone is rated LOW, not elevated, umask 077 (fail
// closed); peer_process takes the credentials of a real socket's peer.
#include "src/daemon/rpc/peer_identity.h"

#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace openbits::daemon {
namespace {

constexpr uid_t kOrdinaryUid = 4321;

// A child that sets its umask (and optionally no_new_privs), then waits until killed.
class Child {
 public:
  explicit Child(mode_t mask, bool no_new_privs = false) {
    int ready[2];
    if (::pipe(ready) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::umask(mask);
      if (no_new_privs) ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
      (void)!::write(ready[1], "r", 1);
      ::pause();
      _exit(0);
    }
    char byte = 0;
    (void)!::read(ready[0], &byte, 1);
    ::close(ready[0]);
    ::close(ready[1]);
  }
  ~Child() { reap(); }
  pid_t pid() const { return pid_; }
  // Exits; with `wait`, also reaped (its pid and /proc entry gone), else left a zombie.
  void end(bool wait) {
    ::kill(pid_, SIGKILL);
    siginfo_t info{};
    ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | (wait ? 0 : WNOWAIT));
    if (wait) pid_ = -1;
  }
  void reap() {
    if (pid_ > 0) end(true);
  }

 private:
  pid_t pid_ = -1;
};

PeerProcess peer(pid_t pid, uid_t uid = kOrdinaryUid, int pidfd = -1, bool with_pidfd = false) {
  return PeerProcess{uid, uid, pid, pidfd, with_pidfd};
}

void expect_fail_closed(const Caller& caller) {
  EXPECT_FALSE(caller.process_known);
  EXPECT_EQ(caller.integrity_level, kIntegrityLow);
  EXPECT_FALSE(caller.elevated);
  EXPECT_EQ(caller.umask, 077u);
}

TEST(CallerTest, LiveProcessGivesItsUmaskAndMediumIntegrity) {
  Child child(027);
  Caller caller = identify_caller(peer(child.pid()), std::nullopt);
  EXPECT_TRUE(caller.process_known);
  EXPECT_EQ(caller.integrity_level, kIntegrityMedium);
  EXPECT_EQ(caller.umask, 027u);
  EXPECT_TRUE(caller.elevated);  // a child of this test (root) has effective capabilities
  EXPECT_FALSE(caller.admin);
}

TEST(CallerTest, NoNewPrivsProcessIsLowButKnown) {
  Child child(022, true);
  Caller caller = identify_caller(peer(child.pid()), std::nullopt);
  EXPECT_TRUE(caller.process_known);
  EXPECT_EQ(caller.integrity_level, kIntegrityLow);
}

TEST(CallerTest, RootIsSystemAndAdmin) {
  Child child(022);
  Caller caller = identify_caller(peer(child.pid(), 0), std::nullopt);
  EXPECT_EQ(caller.integrity_level, kIntegritySystem);
  EXPECT_TRUE(caller.admin);
  EXPECT_TRUE(caller.elevated);
}

TEST(CallerTest, ProcessThatExitedIsLowNotElevatedWithUmask077) {
  Child child(0);
  pid_t pid = child.pid();
  child.end(true);
  expect_fail_closed(identify_caller(peer(pid), std::nullopt));
  expect_fail_closed(identify_caller(peer(pid, 0), std::nullopt));  // even for uid 0
  expect_fail_closed(identify_caller(peer(0), std::nullopt));       // pid outside our namespace
}

TEST(CallerTest, ZombieIsLowNotElevatedWithUmask077) {
  Child child(0);
  child.end(false);  // /proc/<pid>/status still exists, without its Umask line
  expect_fail_closed(identify_caller(peer(child.pid()), std::nullopt));
}

TEST(CallerTest, PidNowHeldByAnotherProcessIsNotTrusted) {
  // The pidfd names a process that is gone; the pid names a live process (this one), as
  // after pid reuse.
  Child child(0);
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, child.pid(), 0));
  ASSERT_GE(pidfd, 0);
  child.end(true);
  expect_fail_closed(identify_caller(peer(::getpid(), kOrdinaryUid, pidfd, true), std::nullopt));
  ::close(pidfd);
  // A kernel that has SO_PEERPIDFD but gave none: the peer was gone before accept.
  expect_fail_closed(identify_caller(peer(::getpid(), kOrdinaryUid, -1, true), std::nullopt));
}

TEST(CallerTest, LivePidfdConfirmsTheProcess) {
  Child child(007);
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, child.pid(), 0));
  ASSERT_GE(pidfd, 0);
  Caller caller = identify_caller(peer(child.pid(), kOrdinaryUid, pidfd, true), std::nullopt);
  EXPECT_TRUE(caller.process_known);
  EXPECT_EQ(caller.umask, 007u);
  ::close(pidfd);
}

TEST(CallerTest, PeerProcessIsTheSocketsPeer) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  auto found = peer_process(pair[0]);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->pid, ::getpid());
  EXPECT_EQ(found->uid, ::getuid());
  if (found->pidfd_supported) {
    EXPECT_GE(found->pidfd, 0);
    EXPECT_TRUE(identify_caller(*found, std::nullopt).process_known);
  }
  if (found->pidfd >= 0) ::close(found->pidfd);
  ::close(pair[0]);
  ::close(pair[1]);
}

}  // namespace
}  // namespace openbits::daemon
