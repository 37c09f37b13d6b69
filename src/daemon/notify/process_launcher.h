// ProcessLauncher: starts a program as another user and reports its exit on the event
// loop. The real implementation (ForkLauncher) refuses a program path that is not
// absolute (there is no PATH lookup and no working-directory-relative path), forks, and
// in the child only: starts a new session (so terminate() reaches the program's own
// children too), points stdin/stdout/stderr at /dev/null, closes every other descriptor
// (close_range, or one by one from /proc/self/fd on kernels without it; the child exits
// 126 rather than run with a descriptor of bitsd), sets the supplementary groups, gid and
// uid (in that order, failing closed), changes to the working directory and execve()s the
// program (a daemon that is not root runs programs only as its own uid) with exactly the
// given argv and environment. No shell. The exit is observed through a pidfd watched by
// Asio, so nothing blocks the event loop; a kernel without pidfd falls back to a 250 ms
// waitpid(WNOHANG) poll.
//
// Threading: launch(), terminate() and the exit callbacks run on the io_context's thread.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "openbits/status.h"
#include "src/common/asio.h"

namespace openbits::daemon {

struct LaunchRequest {
  std::string program;  // absolute path, passed to execve as is
  std::vector<std::string> argv;
  std::vector<std::string> env;  // "NAME=value"
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  std::string cwd = "/";
};

class ProcessLauncher {
 public:
  // The process's exit: the wait status as waitpid() returns it.
  using ExitHandler = std::function<void(int wait_status)>;
  virtual ~ProcessLauncher() = default;
  // Starts the program; `on_exit` runs once when it has exited (and was reaped).
  // E_INVALIDARG for a program path that is not absolute.
  virtual Result<pid_t> launch(const LaunchRequest& request, ExitHandler on_exit) = 0;
  // Kills a launched program that has not been reaped yet, with everything it started in
  // its session (SIGKILL); its exit handler runs as usual.
  virtual void terminate(pid_t pid) = 0;
};

class ForkLauncher final : public ProcessLauncher {
 public:
  explicit ForkLauncher(boost::asio::io_context& io) : io_(io) {}
  Result<pid_t> launch(const LaunchRequest& request, ExitHandler on_exit) override;
  void terminate(pid_t pid) override;

 private:
  void watch(pid_t pid, const ExitHandler& on_exit);
  void poll(pid_t pid, const ExitHandler& on_exit);
  boost::asio::io_context& io_;
};

}  // namespace openbits::daemon
