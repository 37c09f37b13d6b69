// Opening paths that a user named (job files, file:// sources, reply files, certificate
// stores). Every such open in bitsd goes through these functions, which always add
// O_NOCTTY and O_CLOEXEC: a terminal a user hands bitsd as a job file must never become
// the daemon's controlling terminal (its hang-up or ^\ would then kill bitsd), and no
// descriptor may leak into a program bitsd runs. Call them inside the owner's
// ScopedFsCredentials like any other file operation for a job. Thread-safe.
#pragma once

#include <sys/types.h>

#include <string>

namespace openbits::daemon {

// open/openat with O_NOCTTY | O_CLOEXEC added (O_NOCTTY is left out with O_PATH, which
// never opens a device and with which openat2-era kernels refuse other flags).
int open_user_path(const std::string& path, int flags, mode_t mode = 0);
int openat_user_path(int dir_fd, const std::string& path, int flags, mode_t mode = 0);

// The outcome of open_regular_file: fd >= 0, or the errno of the failed lookup, or
// `not_regular` when the path names a device, FIFO, socket or directory.
struct RegularFile {
  int fd = -1;
  int error = 0;
  bool not_regular = false;
};

// Opens `path` (relative to `dir_fd`, or AT_FDCWD) for reading only if it is a regular
// file. The path is first opened with O_PATH and checked with fstat, so a device or FIFO
// is refused before any driver's open runs (no side effect: no terminal attached, no tape
// rewound, no FIFO writer woken); the file is then opened for reading (O_NONBLOCK, then
// cleared) and must still be the same inode. `extra_flags` may add O_NOFOLLOW (a symlink
// is then ELOOP, as open(2) says).
RegularFile open_regular_file(int dir_fd, const std::string& path, int extra_flags = 0);

}  // namespace openbits::daemon
