// Directory-relative file operations; see owner_path.h.
#include "src/daemon/security/owner_path.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <system_error>

#include "src/daemon/security/user_open.h"

namespace openbits::daemon {
namespace {

std::string parent_of(const std::string& path) {
  std::size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// openat2 with RESOLVE_NO_SYMLINKS: -1 with ELOOP if any component is a symlink; ENOSYS
// on kernels before 5.6, EPERM where a seccomp filter does not know it (systemd's
// @system-service before v247 with SystemCallErrorNumber=EPERM, older container runtimes).
// (O_PATH never runs a device's open, so no O_NOCTTY is needed; openat2 would refuse it.)
int open_without_symlinks(const std::string& dir) {
  open_how how{};
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_NO_SYMLINKS;
  return static_cast<int>(::syscall(SYS_openat2, AT_FDCWD, dir.c_str(), &how, sizeof(how)));
}

// True (and logged once per process) when openat2 itself is unavailable, so the caller
// falls back to O_NOFOLLOW on the last component.
bool openat2_unavailable(int err) {
  if (err != ENOSYS && err != EPERM) return false;
  static std::atomic<bool> logged{false};
  if (!logged.exchange(true)) {
    spdlog::warn(
        "openat2 is unavailable ({}): root's jobs refuse a symlink only as the last "
        "component of their destination directory",
        std::error_code(err, std::generic_category()).message());
  }
  return true;
}

}  // namespace

void sync_directory(const OwnerDir& dir) {
  if (!dir.ok()) return;
  // An O_PATH descriptor cannot be fsync'ed; "." opened through it is the same directory.
  UniqueFd fd(openat_user_path(dir.fd(), ".", O_RDONLY | O_DIRECTORY));
  if (fd.valid()) (void)::fsync(fd.get());
}

std::string leaf_name(const std::string& path) {
  std::size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

OwnerDir::OwnerDir(const std::string& path, bool no_symlinks) {
  std::string dir = parent_of(path);
  if (no_symlinks) fd_.reset(open_without_symlinks(dir));
  if (!no_symlinks || (!fd_.valid() && openat2_unavailable(errno))) {
    fd_.reset(open_user_path(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW));
  }
  if (fd_.valid()) return;
  error_ = errno;
  // O_PATH | O_NOFOLLOW | O_DIRECTORY on a symlink fails with ENOTDIR: say ELOOP instead,
  // so the caller reports a refused symlink and not a missing directory.
  struct stat st {};
  if (error_ == ENOTDIR && ::fstatat(AT_FDCWD, dir.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
      S_ISLNK(st.st_mode)) {
    error_ = ELOOP;
  }
}

int open_file_for_writing(const std::string& path, mode_t creation_mask, bool no_symlinks) {
  OwnerDir dir(path, no_symlinks);
  if (!dir.ok()) {
    errno = dir.error();
    return -1;
  }
  std::string leaf = leaf_name(path);
  // O_NONBLOCK: a FIFO planted in place of the file must not hang the calling thread.
  constexpr int kFlags = O_WRONLY | O_NOFOLLOW | O_NONBLOCK;
  bool created = true;
  UniqueFd fd(openat_user_path(dir.fd(), leaf, kFlags | O_CREAT | O_EXCL, 0600));
  if (!fd.valid() && errno == EEXIST) {
    created = false;
    fd.reset(openat_user_path(dir.fd(), leaf, kFlags));
  }
  if (!fd.valid()) return -1;
  // The explicit resets close before errno is set: a close could change errno.
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    fd.reset();
    errno = EACCES;
    return -1;
  }
  if (created && ::fchmod(fd.get(), 0666 & ~creation_mask & 0777) != 0) {
    int err = errno;
    fd.reset();
    errno = err;
    return -1;
  }
  return fd.release();
}

}  // namespace openbits::daemon
