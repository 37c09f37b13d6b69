// A user must not be able to kill bitsd through a terminal (issue 18 item 1,
// docs/security.md). The attack: open /dev/ptmx, hand the pty's slave /dev/pts/N to bitsd
// as an upload's local file or a file:// source, then type ^\ or hang the terminal up.
// Before the fix, bitsd (a session leader without a terminal, as systemd and setup.sh's
// setsid start it) opened the slave without O_NOCTTY, so it became bitsd's controlling
// terminal and SIGQUIT or SIGHUP killed the daemon. Each test starts bitsd as such a
// session leader. The attacker is uid 65534; the test opens the pty and gives its slave
// to them, which is what devpts does when they open /dev/ptmx themselves.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <thread>

#include "tests/integration/itest.h"

namespace openbits::itest {
namespace {

constexpr uid_t kAttacker = 65534;

class ControllingTerminalTest : public ServiceTest {
 protected:
  void SetUp() override {
    bitsd.lead_session();
    ServiceTest::SetUp();
  }
  void TearDown() override {
    if (master_ >= 0) ::close(master_);
    ServiceTest::TearDown();
  }
  CommandResult as_attacker(std::vector<std::string> args) {
    args.insert(args.begin(), OPENBITS_BITSADMIN_PATH);
    return run_command(args, {"OPENBITS_SOCKET=" + bitsd.socket()}, kAttacker,
                       std::chrono::seconds(120));
  }
  // A new pseudo-terminal whose slave belongs to the attacker; returns the slave's path.
  std::string attackers_terminal() {
    master_ = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master_ < 0 || ::grantpt(master_) != 0 || ::unlockpt(master_) != 0) return "";
    std::string slave = ::ptsname(master_);
    if (::chown(slave.c_str(), kAttacker, kAttacker) != 0) return "";
    return slave;
  }
  // What the attacker's terminal can send to the session it controls: ^\ (SIGQUIT to its
  // foreground process group), then a hang-up (SIGHUP to its session leader).
  void quit_and_hang_up() {
    ASSERT_EQ(::write(master_, "\x1c", 1), 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ::close(master_);
    master_ = -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  // bitsd's process is still there and a new connection is answered.
  bool bitsd_answers() {
    int status = 0;
    if (::waitpid(bitsd.pid(), &status, WNOHANG) != 0) return false;
    auto m = Manager::connect(bitsd.socket());
    return m.ok() && m->daemon_version().ok();
  }
  // The pid of bitsd's one child (the daemon under the supervisor), or -1.
  pid_t daemon_child() {
    std::string pid = std::to_string(bitsd.pid());
    std::ifstream children("/proc/" + pid + "/task/" + pid + "/children");
    pid_t child = -1;
    children >> child;
    return child;
  }

  int master_ = -1;
};

TEST_F(ControllingTerminalTest, TerminalAsUploadFileIsRefusedAndItsHangUpLeavesBitsdRunning) {
  std::string tty = attackers_terminal();
  ASSERT_FALSE(tty.empty());
  ASSERT_EQ(as_attacker({"/create", "/upload", "up"}).exit_code, 0);
  auto added = as_attacker({"/addfile", "up", nginx.url("/upload/f"), tty});
  EXPECT_NE(added.exit_code, 0);
  EXPECT_NE(added.err.find("0x80070057"), std::string::npos) << added.err;
  quit_and_hang_up();
  EXPECT_TRUE(bitsd_answers()) << bitsd.log();
  EXPECT_EQ(as_attacker({"/rawreturn", "/getstate", "up"}).out, "SUSPENDED");
}

TEST_F(ControllingTerminalTest, TerminalAsFileUrlSourceIsRefusedAndItsQuitLeavesBitsdRunning) {
  std::string tty = attackers_terminal();
  ASSERT_FALSE(tty.empty());
  auto r = as_attacker({"/transfer", "tty", "file://" + tty, out + "/tty"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("ERROR CODE:    0x80070057"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.out.find("ERROR CONTEXT: 0x00000005"), std::string::npos) << r.out;
  quit_and_hang_up();
  EXPECT_TRUE(bitsd_answers()) << bitsd.log();
  EXPECT_FALSE(exists(out + "/tty"));
}

TEST_F(ControllingTerminalTest, StartedAsSessionLeaderTheDaemonIsAChildThatLeadsNoSession) {
  pid_t daemon = daemon_child();
  ASSERT_GT(daemon, 0);
  EXPECT_EQ(::getsid(daemon), bitsd.pid());  // in the supervisor's session, not leading one
  EXPECT_NE(::getsid(daemon), daemon);
  // SIGTERM to the pid systemd and setup.sh know stops the daemon cleanly.
  bitsd.terminate();
  EXPECT_TRUE(eventually([daemon] { return ::kill(daemon, 0) != 0; }));
  EXPECT_NE(bitsd.log().find("shutting down"), std::string::npos) << bitsd.log();
}

TEST_F(ControllingTerminalTest, HangUpAndQuitSignalsDoNotStopTheDaemon) {
  pid_t daemon = daemon_child();
  ASSERT_GT(daemon, 0);
  for (pid_t pid : {bitsd.pid(), daemon}) {
    for (int signal : {SIGHUP, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU}) ::kill(pid, signal);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(bitsd_answers()) << bitsd.log();
}

}  // namespace
}  // namespace openbits::itest
