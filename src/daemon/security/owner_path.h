// OwnerPath: a file of a job's destination directory, reached without re-resolving its
// path: the directory is opened once (O_PATH | O_DIRECTORY | O_NOFOLLOW, as the caller's
// current file-system identity) and every later operation on the leaf name is relative to
// that descriptor (openat/renameat/unlinkat/fstatat/utimensat with O_NOFOLLOW or
// AT_SYMLINK_NOFOLLOW). Swapping the directory for a symlink after the open changes
// nothing for the operation in progress, and a directory that is itself a symlink is
// refused (ELOOP). Use it inside a ScopedFsCredentials scope so the kernel checks every
// step against the job owner. Jobs owned by root get no such confinement (root's fsuid
// passes every check), so for them `no_symlinks` refuses a symlink in ANY component of the
// directory's path (openat2 RESOLVE_NO_SYMLINKS; O_NOFOLLOW on the last component where
// openat2 is missing or refused by a seccomp filter, ENOSYS or EPERM): a user who owns a
// directory in root's destination path cannot redirect root's write. Not thread-safe;
// one operation at a time.
#pragma once

#include <sys/types.h>

#include <string>

#include "src/common/unique_fd.h"

namespace openbits::daemon {

class OwnerDir {
 public:
  // Opens the parent directory of `path` (an absolute path); ok() is false on failure and
  // error() holds the errno (ELOOP when the directory is a symlink).
  OwnerDir(const std::string& path, bool no_symlinks);
  OwnerDir(const OwnerDir&) = delete;
  OwnerDir& operator=(const OwnerDir&) = delete;

  bool ok() const { return fd_.valid(); }
  int error() const { return error_; }
  int fd() const { return fd_.get(); }

 private:
  UniqueFd fd_;
  int error_ = 0;
};

// Flushes the directory entries of `dir` to disk (renames and creations inside it).
void sync_directory(const OwnerDir& dir);

// The final component of an absolute path ("/a/b" -> "b").
std::string leaf_name(const std::string& path);

// Opens (creating if missing, with mode `0666 & ~creation_mask`) a regular file for writing in the
// directory of `path`; never follows a symlink in any step named above and refuses
// anything but a regular file (EACCES). The mode is set with fchmod on creation so the
// daemon's own umask plays no part. Returns the fd or -1 with errno set.
int open_file_for_writing(const std::string& path, mode_t creation_mask, bool no_symlinks);

}  // namespace openbits::daemon
