// Opens of user-named paths; see user_open.h.
#include "src/daemon/security/user_open.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "src/common/unique_fd.h"

namespace openbits::daemon {
namespace {

int safe_flags(int flags) { return flags | O_CLOEXEC | ((flags & O_PATH) != 0 ? 0 : O_NOCTTY); }

bool same_inode(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

RegularFile failed(int err) { return RegularFile{-1, err, false}; }

}  // namespace

int open_user_path(const std::string& path, int flags, mode_t mode) {
  return ::open(path.c_str(), safe_flags(flags), mode);
}

int openat_user_path(int dir_fd, const std::string& path, int flags, mode_t mode) {
  return ::openat(dir_fd, path.c_str(), safe_flags(flags), mode);
}

RegularFile open_regular_file(int dir_fd, const std::string& path, int extra_flags) {
  UniqueFd probe(openat_user_path(dir_fd, path, O_PATH | (extra_flags & O_NOFOLLOW)));
  if (!probe.valid()) return failed(errno);
  struct stat before {};
  bool known = ::fstat(probe.get(), &before) == 0;
  probe.reset();
  if (known && S_ISLNK(before.st_mode)) return failed(ELOOP);  // O_NOFOLLOW, as open says it
  if (!known || !S_ISREG(before.st_mode)) return RegularFile{-1, 0, true};
  UniqueFd fd(openat_user_path(dir_fd, path, O_RDONLY | O_NONBLOCK | extra_flags));
  if (!fd.valid()) return failed(errno);
  struct stat after {};
  if (::fstat(fd.get(), &after) != 0 || !S_ISREG(after.st_mode) || !same_inode(before, after)) {
    return RegularFile{-1, 0, true};  // swapped between the two opens
  }
  int status = ::fcntl(fd.get(), F_GETFL);
  if (status >= 0) (void)::fcntl(fd.get(), F_SETFL, status & ~O_NONBLOCK);
  return RegularFile{fd.release(), 0, false};
}

}  // namespace openbits::daemon
