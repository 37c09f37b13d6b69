// Closing a forked child's inherited descriptors; see child_fds.h.
#include "src/daemon/security/child_fds.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <initializer_list>

#include "src/common/unique_fd.h"

namespace openbits::daemon {
namespace {

// The descriptor number a /proc/self/fd entry names; -1 for "." and "..".
int fd_of(const char* name) {
  if (*name == '\0') return -1;
  int fd = 0;
  for (; *name != '\0'; ++name) {
    if (*name < '0' || *name > '9' || fd > (1 << 24)) return -1;
    fd = fd * 10 + (*name - '0');
  }
  return fd;
}

// Closes every descriptor >= `lowest` that /proc/self/fd lists: the fallback for kernels
// without close_range. Raw system calls only (async-signal-safe). False when the list
// cannot be read.
bool close_listed_fds(int lowest) {
  UniqueFd dir(::open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return false;
  alignas(struct dirent64) char buffer[4096];
  for (;;) {
    long n = ::syscall(SYS_getdents64, dir.get(), buffer, sizeof(buffer));
    if (n <= 0) return n == 0;
    bool closed = false;
    for (long at = 0; at < n;) {
      const auto* entry = reinterpret_cast<const struct dirent64*>(buffer + at);
      at += entry->d_reclen;
      int fd = fd_of(entry->d_name);
      if (fd < lowest || fd == dir.get()) continue;
      ::close(fd);
      closed = true;
    }
    // Closing changed the listing: read it again from the start.
    if (closed && ::lseek(dir.get(), 0, SEEK_SET) < 0) return false;
  }
}

}  // namespace

bool close_descriptors_from(int lowest) {
  return ::close_range(static_cast<unsigned>(lowest), ~0U, 0) == 0 || close_listed_fds(lowest);
}

void restore_default_signals() {
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  for (int signal : {SIGHUP, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU}) {
    ::sigaction(signal, &default_action, nullptr);
  }
}

}  // namespace openbits::daemon
