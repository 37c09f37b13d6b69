// fork/exec of notification programs; see process_launcher.h.
#include "src/daemon/notify/process_launcher.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <memory>

#include "src/daemon/security/child_fds.h"

namespace openbits::daemon {
namespace {

namespace asio = boost::asio;

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// The child side of fork(): async-signal-safe calls only. Any failure exits 126 before
// the program runs.
[[noreturn]] void exec_child(const LaunchRequest& r, char* const* argv, char* const* envp) {
  if (::setsid() < 0) ::_exit(126);
  int null_fd = ::open("/dev/null", O_RDWR);
  if (null_fd < 0) ::_exit(126);
  for (int fd = 0; fd < 3; ++fd) {
    if (::dup2(null_fd, fd) < 0) ::_exit(126);
  }
  if (!close_descriptors_from(3)) ::_exit(126);
  restore_default_signals();
  if (::geteuid() != 0) {
    if (r.uid != ::geteuid()) ::_exit(126);  // a --user daemon runs programs only as itself
  } else {
    if (::setgroups(r.groups.size(), r.groups.data()) != 0) ::_exit(126);
    if (::setgid(r.gid) != 0 || ::setuid(r.uid) != 0) ::_exit(126);
    if (r.uid != 0 && ::setuid(0) == 0) ::_exit(126);  // the drop must be irreversible
  }
  if (::chdir(r.cwd.c_str()) != 0 && ::chdir("/") != 0) ::_exit(126);
  ::execve(r.program.c_str(), argv, envp);
  ::_exit(127);
}

}  // namespace

Result<pid_t> ForkLauncher::launch(const LaunchRequest& request, ExitHandler on_exit) {
  if (request.program.empty() || request.program.front() != '/') {
    return Status(hr::E_INVALIDARG, "the program is not an absolute path: " + request.program);
  }
  std::vector<std::string> args = request.argv;
  std::vector<std::string> env = request.env;
  std::vector<char*> argv = c_strings(args);
  std::vector<char*> envp = c_strings(env);
  pid_t pid = ::fork();
  if (pid < 0) return Status(hr::E_FAIL, "fork failed");
  if (pid == 0) exec_child(request, argv.data(), envp.data());
  watch(pid, on_exit);
  return pid;
}

void ForkLauncher::terminate(pid_t pid) {
  // The program leads its own session and process group; a zombie not yet reaped keeps
  // the pid from being reused.
  if (::kill(-pid, SIGKILL) != 0) ::kill(pid, SIGKILL);
}

void ForkLauncher::watch(pid_t pid, const ExitHandler& on_exit) {
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) {
    poll(pid, on_exit);
    return;
  }
  auto descriptor = std::make_shared<asio::posix::stream_descriptor>(io_, fd);
  descriptor->async_wait(asio::posix::stream_descriptor::wait_read,
                         [descriptor, pid, on_exit](boost::system::error_code ec) {
                           int status = 0;
                           int options = ec ? WNOHANG : 0;  // readable means exited
                           while (::waitpid(pid, &status, options) < 0 && errno == EINTR) {
                           }
                           on_exit(status);
                         });
}

void ForkLauncher::poll(pid_t pid, const ExitHandler& on_exit) {
  int status = 0;
  if (::waitpid(pid, &status, WNOHANG) == pid) {
    on_exit(status);
    return;
  }
  auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(250));
  timer->async_wait([this, timer, pid, on_exit](boost::system::error_code ec) {
    if (!ec) poll(pid, on_exit);
  });
}

}  // namespace openbits::daemon
