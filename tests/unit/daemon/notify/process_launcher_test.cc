// ForkLauncher with real children: launch_probe reports what it was started with (its
// environment, arguments, working directory, ids, and every open descriptor), so these
// tests check what a notification program really gets, and that it gets nothing of
// bitsd's.
#include "src/daemon/notify/process_launcher.h"

#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/daemon_fixture.h"
#include "tests/support/files.h"

namespace openbits::daemon {
namespace {

namespace asio = boost::asio;

using test::read_text;

// The value of the probe's line `key=...`, or "(missing)".
std::string probe_value(const std::string& report, const std::string& key) {
  std::istringstream lines(report);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(key + "=", 0) == 0) return line.substr(key.size() + 1);
  }
  return "(missing)";
}

std::vector<std::string> probe_values(const std::string& report, const std::string& key) {
  std::vector<std::string> out;
  std::istringstream lines(report);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(key + "=", 0) == 0) out.push_back(line.substr(key.size() + 1));
  }
  return out;
}

// Launches and runs the event loop until the exit is reported (up to 20 s); the wait
// status, or nullopt when the launch failed or no exit came.
std::optional<int> run_to_exit(asio::io_context& io, ProcessLauncher& launcher,
                               const LaunchRequest& request, Status* launch_status = nullptr) {
  std::optional<int> status;
  auto pid = launcher.launch(request, [&status](int s) { status = s; });
  if (launch_status != nullptr) *launch_status = pid.status();
  if (!pid.ok()) return std::nullopt;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!status && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(std::chrono::milliseconds(100));
  }
  return status;
}

class ProcessLauncherTest : public ::testing::Test {
 protected:
  LaunchRequest probe_request() {
    LaunchRequest r;
    r.program = OPENBITS_LAUNCH_PROBE_PATH;
    r.argv = {r.program, report_path};
    r.env = {"A=1", "B=two words", "PATH=/nonexistent"};
    r.uid = ::geteuid();
    r.gid = ::getegid();
    r.cwd = dir.path();
    return r;
  }
  std::string report() { return read_text(report_path); }

  testing::TempDir dir;
  std::string report_path = dir.path() + "/report";
  asio::io_context io;
  ForkLauncher launcher{io};
};

TEST_F(ProcessLauncherTest, ChildGetsExactlyTheGivenEnvironmentArgumentsAndDirectory) {
  LaunchRequest r = probe_request();
  r.argv.push_back("with space");
  r.argv.push_back("\"quoted\" $HOME");
  auto status = run_to_exit(io, launcher, r);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
  std::string text = report();
  EXPECT_EQ(probe_values(text, "env"),
            (std::vector<std::string>{"A=1", "B=two words", "PATH=/nonexistent"}));
  EXPECT_EQ(probe_values(text, "argv"),
            (std::vector<std::string>{"with space", "\"quoted\" $HOME"}));
  EXPECT_EQ(probe_value(text, "cwd"), dir.path());
}

TEST_F(ProcessLauncherTest, StandardDescriptorsAreDevNullAndNoOtherDescriptorLeaks) {
  // Descriptors bitsd holds without O_CLOEXEC must not reach the program.
  int file = ::open(report_path.c_str(), O_WRONLY | O_CREAT, 0600);
  int pipe_fds[2];
  ASSERT_GE(file, 3);
  ASSERT_EQ(::pipe(pipe_fds), 0);
  auto status = run_to_exit(io, launcher, probe_request());
  ::close(file);
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
  ASSERT_TRUE(status.has_value());
  std::string text = report();
  EXPECT_EQ(probe_value(text, "fd0"), "/dev/null");
  EXPECT_EQ(probe_value(text, "fd1"), "/dev/null");
  EXPECT_EQ(probe_value(text, "fd2"), "/dev/null");
  EXPECT_EQ(probe_value(text, "fds"), "0,1,2") << text;
}

// Makes close_range fail with ENOSYS in this process and its children, as on a kernel
// older than 5.9.
bool deny_close_range() {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_close_range, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog program{static_cast<unsigned short>(std::size(filter)), filter};
  return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
         ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) == 0;
}

// Runs in a death-test child: exit 0 when the probe saw only 0, 1 and 2 although
// close_range was unavailable and a descriptor without O_CLOEXEC was open.
[[noreturn]] void launch_without_close_range(const LaunchRequest& request) {
  int leaked = ::open("/dev/null", O_RDONLY);
  if (leaked < 3 || !deny_close_range()) ::_exit(3);
  if (::syscall(SYS_close_range, 1000U, 1000U, 0U) == 0 || errno != ENOSYS) ::_exit(4);
  asio::io_context io;
  ForkLauncher launcher(io);
  if (!run_to_exit(io, launcher, request)) ::_exit(5);
  ::_exit(probe_value(read_text(request.argv[1]), "fds") == "0,1,2" ? 0 : 1);
}

TEST_F(ProcessLauncherTest, NoDescriptorLeaksWhenCloseRangeIsUnavailable) {
  // The default ("fast") style forks without exec: the child writes into this fixture's
  // directory.
  LaunchRequest r = probe_request();
  EXPECT_EXIT(launch_without_close_range(r), ::testing::ExitedWithCode(0), "");
  EXPECT_EQ(probe_value(report(), "fd0"), "/dev/null");
}

TEST_F(ProcessLauncherTest, RelativePathsAndBareNamesAreRefusedWithoutAPathLookup) {
  std::string probe = OPENBITS_LAUNCH_PROBE_PATH;
  std::string probe_dir = probe.substr(0, probe.rfind('/'));
  std::string name = probe.substr(probe.rfind('/') + 1);
  for (const std::string& program : {name, "./" + name, "bin/../" + name}) {
    LaunchRequest r = probe_request();
    r.program = program;
    r.env = {"PATH=" + probe_dir};
    r.cwd = probe_dir;  // where a relative path or a PATH lookup would find it
    Status launched;
    EXPECT_FALSE(run_to_exit(io, launcher, r, &launched).has_value()) << program;
    EXPECT_EQ(launched.code(), hr::E_INVALIDARG) << program;
  }
  EXPECT_FALSE(std::filesystem::exists(report_path));
}

TEST_F(ProcessLauncherTest, MissingProgramExits127) {
  LaunchRequest r = probe_request();
  r.program = dir.path() + "/no-such-program";
  auto status = run_to_exit(io, launcher, r);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 127);
}

TEST_F(ProcessLauncherTest, RunsAsTheGivenUserGroupAndSupplementaryGroups) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to switch users";
  LaunchRequest r = probe_request();
  r.uid = 65534;
  r.gid = 65534;
  r.groups = {1234, 4321};
  auto status = run_to_exit(io, launcher, r);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
  std::string text = report();
  EXPECT_EQ(probe_value(text, "uid"), "65534/65534");
  EXPECT_EQ(probe_value(text, "gid"), "65534/65534");
  EXPECT_EQ(probe_value(text, "groups"), "1234,4321");
  struct stat st {};
  ASSERT_EQ(::stat(report_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 65534u);
}

// The state letter of /proc/<pid>/stat, or '-' when the process is gone.
char process_state(pid_t pid) {
  std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  return close == std::string::npos || close + 2 >= stat.size() ? '-' : stat[close + 2];
}

TEST_F(ProcessLauncherTest, TerminateKillsTheProgramAndWhatItStarted) {
  LaunchRequest r;
  r.program = "/bin/sh";
  r.argv = {"sh", "-c", "/bin/sleep 3600 & echo $! > " + report_path + "; wait"};
  r.uid = ::geteuid();
  r.gid = ::getegid();
  std::optional<int> status;
  auto pid = launcher.launch(r, [&status](int s) { status = s; });
  ASSERT_TRUE(pid.ok());
  pid_t sleeper = 0;
  for (int i = 0; i < 200 && sleeper == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    std::string text = read_text(report_path);
    if (!text.empty() && text.back() == '\n') sleeper = std::stoi(text);
  }
  ASSERT_GT(sleeper, 0);
  launcher.terminate(*pid);
  for (int i = 0; i < 200 && !status; ++i) {
    io.restart();
    io.run_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFSIGNALED(*status));
  EXPECT_EQ(WTERMSIG(*status), SIGKILL);
  char state = 'S';
  for (int i = 0; i < 100 && state != '-' && state != 'Z'; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    state = process_state(sleeper);
  }
  EXPECT_TRUE(state == '-' || state == 'Z') << state;  // dead (perhaps not yet reaped by init)
}

}  // namespace
}  // namespace openbits::daemon
