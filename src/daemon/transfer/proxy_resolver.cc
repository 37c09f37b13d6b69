// Running bitsd-proxy-resolver as the job owner (root's jobs: its own account); see
// proxy_resolver.h.
#include "src/daemon/transfer/proxy_resolver.h"

#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "openbits/names.h"
#include "src/common/unique_fd.h"
#include "src/daemon/security/child_fds.h"

namespace openbits::daemon {
namespace {

constexpr std::size_t kMaxAnswer = 64 * 1024;
constexpr uid_t kNobody = 65534;

// In the child after fork(): only async-signal-safe calls.
[[noreturn]] void exec_as(const std::string& program, const std::string& url,
                          const Credentials& who, int out) {
  int null = ::open("/dev/null", O_RDWR);
  if (null < 0 || ::dup2(null, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(null, 2) < 0) _exit(126);
  // Nothing of bitsd (RPC sockets above all) reaches a process its user may trace.
  if (::setsid() < 0 || !close_descriptors_from(3)) _exit(126);
  restore_default_signals();
  if (::geteuid() == 0) {
    if (::syscall(SYS_setgroups, who.groups.size(), who.groups.data()) != 0 ||
        ::setresgid(who.gid, who.gid, who.gid) != 0 ||
        ::setresuid(who.uid, who.uid, who.uid) != 0) {
      _exit(126);
    }
  }
  const char* argv[] = {program.c_str(), url.c_str(), nullptr};
  // libproxy reads http_proxy: "wpad://" asks it to discover the PAC script (WPAD). The
  // PAC runner's JavaScript engine runs without its JIT (no writable+executable memory:
  // smaller attack surface, and bitsd.service's MemoryDenyWriteExecute applies here too).
  const char* envp[] = {"PATH=/usr/bin:/bin", "HOME=/nonexistent",
                        "http_proxy=wpad://", "PX_CONFIG_ORDER=config_envvar",
                        "JSC_useJIT=0",       nullptr};
  ::execve(program.c_str(), const_cast<char* const*>(argv), const_cast<char* const*>(envp));
  _exit(127);
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

}  // namespace

Result<Credentials> resolver_credentials(const Credentials& owner, const std::string& account) {
  if (::geteuid() != 0 || owner.uid != 0) return owner;
  struct passwd pw {};
  struct passwd* found = nullptr;
  std::vector<char> buffer(16384);
  if (getpwnam_r(account.c_str(), &pw, buffer.data(), buffer.size(), &found) != 0 || !found) {
    return Status(hr::E_ACCESSDENIED, "the resolver account '" + account +
                                          "' does not exist (scripts/setup.sh creates it)");
  }
  if (pw.pw_uid == 0 || pw.pw_uid == kNobody || pw.pw_gid == 0) {
    return Status(hr::E_ACCESSDENIED, "the resolver account '" + account +
                                          "' is root or nobody, not an account of its own");
  }
  return Credentials{pw.pw_uid, pw.pw_gid, {}};
}

std::vector<std::string> run_proxy_resolver(const std::string& program, const std::string& url,
                                            const Credentials& as,
                                            std::chrono::milliseconds timeout,
                                            const std::atomic<bool>& quit) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return {};
  UniqueFd read_end(pipe_fds[0]);
  UniqueFd write_end(pipe_fds[1]);
  pid_t pid = ::fork();
  if (pid == 0) exec_as(program, url, as, write_end.get());
  write_end.reset();  // the child's copy alone keeps it open: end of file when the child exits
  if (pid < 0) return {};
  std::string answer;
  bool complete = false;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!quit.load() && std::chrono::steady_clock::now() < deadline) {
    pollfd p{read_end.get(), POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buffer[4096];
    ssize_t n = ::read(read_end.get(), buffer, sizeof buffer);
    if (n <= 0) {
      complete = n == 0;
      break;
    }
    answer.append(buffer, static_cast<std::size_t>(n));
    if (answer.size() > kMaxAnswer) break;
  }
  read_end.reset();
  if (!complete) ::kill(-pid, SIGKILL);  // its session: whatever it started too
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!complete || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return {};
  return split_lines(answer);
}

std::vector<std::string> resolve_job_proxies(const std::string& program, const std::string& account,
                                             const std::string& url, const Credentials& owner,
                                             const Guid& job, std::chrono::milliseconds timeout,
                                             const std::atomic<bool>& quit) {
  auto as = resolver_credentials(owner, account);
  if (!as.ok()) {
    spdlog::error("job {}: AUTODETECT proxy not resolved (no helper run, the file goes direct): {}",
                  to_string(job), as.status().message());
    return {};
  }
  return run_proxy_resolver(program, url, *as, timeout, quit);
}

}  // namespace openbits::daemon
