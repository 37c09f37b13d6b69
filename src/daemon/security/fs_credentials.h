// Owner credentials for file-system work done on a job owner's behalf.
//
// ScopedFsCredentials switches the filesystem identity of the CALLING THREAD ONLY (Linux
// fsuid/fsgid and supplementary groups, set with raw syscalls: glibc's setgroups() would
// broadcast to every thread). While it is active the kernel checks every path lookup,
// open, rename and unlink against the owner, not root: per capabilities(7), moving the
// fsuid from 0 to another uid clears CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER,
// CAP_CHOWN and CAP_FSETID from the effective set; they return when the fsuid goes back to
// 0. Other threads are unaffected, so this is race-free within the daemon. (A thread
// created while the guard is active inherits the owner's identity, as clone(2) copies the
// creating thread's credentials: do not start threads inside the scope.)
// When the process is not root (a --user instance) every job belongs to that user and the
// guard does nothing.
#pragma once

#include <sys/types.h>

#include <vector>

namespace openbits::daemon {

struct Credentials {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  mode_t creation_mask = 022;  // the owner's umask, applied to files created for the job
};

// The credentials a login of `uid` would have: passwd gid and getgrouplist(). A uid without
// a passwd entry gets `fallback_gid` (its peer gid) and no supplementary groups.
Credentials credentials_for(uid_t uid, gid_t fallback_gid);

class ScopedFsCredentials {
 public:
  explicit ScopedFsCredentials(const Credentials& who);
  ~ScopedFsCredentials();
  ScopedFsCredentials(const ScopedFsCredentials&) = delete;
  ScopedFsCredentials& operator=(const ScopedFsCredentials&) = delete;

  // False if the switch could not be made; callers must then not touch the file system.
  bool ok() const { return ok_; }

 private:
  bool active_ = false;
  bool ok_ = true;
  gid_t saved_gid_ = 0;
  std::vector<gid_t> saved_groups_;
};

}  // namespace openbits::daemon
