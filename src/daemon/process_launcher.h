// ProcessLauncher: starts a program as another user and reports its exit on the event
// loop. The real implementation (ForkLauncher) forks, and in the child only: points
// stdin/stdout/stderr at /dev/null, closes every other descriptor, sets the supplementary
// groups, gid and uid (in that order, failing closed), changes to the working directory
// and execve()s the absolute program path (a daemon that is not root runs programs only
// as its own uid) with the given argv and environment. No shell,
// no PATH lookup. The exit is observed through a pidfd watched by Asio, so nothing blocks
// the event loop; a kernel without pidfd falls back to a 250 ms waitpid(WNOHANG) poll.
//
// Threading: launch() and the exit callbacks run on the io_context's thread.
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
  virtual Result<pid_t> launch(const LaunchRequest& request, ExitHandler on_exit) = 0;
};

class ForkLauncher final : public ProcessLauncher {
 public:
  explicit ForkLauncher(boost::asio::io_context& io) : io_(io) {}
  Result<pid_t> launch(const LaunchRequest& request, ExitHandler on_exit) override;

 private:
  void watch(pid_t pid, const ExitHandler& on_exit);
  void poll(pid_t pid, const ExitHandler& on_exit);
  boost::asio::io_context& io_;
};

}  // namespace openbits::daemon
