// bitsd without a controlling terminal; see daemon_session.h.
#include "src/daemon/platform/daemon_session.h"

#include <pthread.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <initializer_list>

namespace openbits::daemon {
namespace {

pid_t supervisor_pid = 0;  // the supervising parent, when bitsd has one

int exit_code_of(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  return 128 + (WIFSIGNALED(wait_status) ? WTERMSIG(wait_status) : 0);
}

// The parent after the fork: waits for the daemon's signals and its exit, nothing else.
[[noreturn]] void supervise(pid_t daemon, const sigset_t& waited) {
  for (;;) {
    siginfo_t info{};
    int signal = ::sigwaitinfo(&waited, &info);
    if (signal == SIGUSR1 && info.si_pid == daemon) {
      sd_notify(0, "READY=1");
    } else if (signal == SIGUSR2 && info.si_pid == daemon) {
      sd_notify(0, "STOPPING=1");
    } else if (signal == SIGTERM || signal == SIGINT) {
      ::kill(daemon, signal);
    } else if (signal == SIGCHLD) {
      int status = 0;
      if (::waitpid(daemon, &status, WNOHANG) == daemon) ::_exit(exit_code_of(status));
    }
  }
}

}  // namespace

void ignore_terminal_signals() {
  for (int signal : {SIGHUP, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU}) std::signal(signal, SIG_IGN);
}

void leave_session_leadership() {
  if (::getsid(0) != ::getpid()) return;
  std::signal(SIGCHLD, SIG_DFL);  // an inherited SIG_IGN would reap the daemon unseen
  sigset_t waited;
  sigset_t previous;
  sigemptyset(&waited);
  for (int signal : {SIGTERM, SIGINT, SIGCHLD, SIGUSR1, SIGUSR2}) sigaddset(&waited, signal);
  ::pthread_sigmask(SIG_BLOCK, &waited, &previous);
  pid_t parent = ::getpid();
  pid_t daemon = ::fork();
  if (daemon < 0) {  // carry on as the leader: O_NOCTTY and the ignored signals remain
    ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    return;
  }
  if (daemon > 0) supervise(daemon, waited);
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) ::_exit(1);
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  // systemd hears from the supervisor only; no thread runs yet.
  ::unsetenv("NOTIFY_SOCKET");  // NOLINT(concurrency-mt-unsafe)
  supervisor_pid = parent;
}

void notify_ready() {
  if (supervisor_pid != 0) {
    ::kill(supervisor_pid, SIGUSR1);
  } else {
    sd_notify(0, "READY=1");
  }
}

void notify_stopping() {
  if (supervisor_pid != 0) {
    ::kill(supervisor_pid, SIGUSR2);
  } else {
    sd_notify(0, "STOPPING=1");
  }
}

}  // namespace openbits::daemon
