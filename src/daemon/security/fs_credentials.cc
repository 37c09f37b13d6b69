// Per-thread owner credentials; see fs_credentials.h.
#include "src/daemon/security/fs_credentials.h"

#include <grp.h>
#include <pwd.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace openbits::daemon {
namespace {

int set_thread_groups(const std::vector<gid_t>& groups) {
  return static_cast<int>(::syscall(SYS_setgroups, groups.size(), groups.data()));
}

uid_t current_fsuid() { return static_cast<uid_t>(::setfsuid(static_cast<uid_t>(-1))); }
gid_t current_fsgid() { return static_cast<gid_t>(::setfsgid(static_cast<gid_t>(-1))); }

}  // namespace

Credentials credentials_for(uid_t uid, gid_t fallback_gid) {
  Credentials creds{uid, fallback_gid, {}};
  struct passwd pw {};
  struct passwd* found = nullptr;
  std::vector<char> buffer(16384);
  if (getpwuid_r(uid, &pw, buffer.data(), buffer.size(), &found) != 0 || found == nullptr) {
    return creds;
  }
  creds.gid = pw.pw_gid;
  int count = 32;
  creds.groups.resize(static_cast<std::size_t>(count));
  if (getgrouplist(pw.pw_name, pw.pw_gid, creds.groups.data(), &count) < 0) {
    creds.groups.resize(static_cast<std::size_t>(count));
    if (getgrouplist(pw.pw_name, pw.pw_gid, creds.groups.data(), &count) < 0) count = 0;
  }
  creds.groups.resize(static_cast<std::size_t>(count));
  return creds;
}

ScopedFsCredentials::ScopedFsCredentials(const Credentials& who) {
  if (::geteuid() != 0 || who.uid == 0) return;
  int n = ::getgroups(0, nullptr);
  saved_groups_.resize(static_cast<std::size_t>(n > 0 ? n : 0));
  if (n > 0 && ::getgroups(n, saved_groups_.data()) != n) {
    ok_ = false;
    return;
  }
  saved_gid_ = current_fsgid();
  active_ = true;
  if (set_thread_groups(who.groups) != 0) {
    ok_ = false;
    return;
  }
  ::setfsgid(who.gid);
  ::setfsuid(who.uid);
  ok_ = current_fsuid() == who.uid && current_fsgid() == who.gid;
}

ScopedFsCredentials::~ScopedFsCredentials() {
  if (!active_) return;
  ::setfsuid(0);
  ::setfsgid(saved_gid_);
  (void)set_thread_groups(saved_groups_);
}

}  // namespace openbits::daemon
