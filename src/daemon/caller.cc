// Caller identification from peer credentials; see caller.h.
#include "src/daemon/caller.h"

#include <grp.h>
#include <pwd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace openbits::daemon {
namespace {

struct ProcStatus {
  bool caps = false;
  bool no_new_privs = false;
  bool seccomp = false;
  mode_t umask = 022;
};

ProcStatus read_proc_status(pid_t pid) {
  ProcStatus status;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    auto value = [&line](std::size_t prefix) { return line.substr(prefix); };
    if (line.rfind("CapEff:", 0) == 0) {
      status.caps = value(7).find_first_not_of("0\t ") != std::string::npos;
    } else if (line.rfind("NoNewPrivs:", 0) == 0) {
      status.no_new_privs = value(11).find('1') != std::string::npos;
    } else if (line.rfind("Umask:", 0) == 0) {
      status.umask = static_cast<mode_t>(std::strtoul(value(6).c_str(), nullptr, 8) & 0777);
    } else if (line.rfind("Seccomp:", 0) == 0) {
      status.seccomp = value(8).find_first_of("12") != std::string::npos;
    }
  }
  return status;
}

bool in_group(uid_t uid, gid_t gid, gid_t wanted) {
  if (gid == wanted) return true;
  struct passwd pw {};
  struct passwd* found = nullptr;
  std::vector<char> buffer(16384);
  if (getpwuid_r(uid, &pw, buffer.data(), buffer.size(), &found) != 0 || found == nullptr) {
    return false;
  }
  int count = 64;
  std::vector<gid_t> groups(static_cast<std::size_t>(count));
  if (getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &count) < 0) {
    groups.resize(static_cast<std::size_t>(count));
    if (getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &count) < 0) return false;
  }
  groups.resize(static_cast<std::size_t>(count));
  for (gid_t g : groups) {
    if (g == wanted) return true;
  }
  return false;
}

}  // namespace

Caller identify_caller(uid_t uid, gid_t gid, pid_t pid, std::optional<gid_t> admin_gid) {
  Caller caller{uid, gid, pid};
  ProcStatus status = read_proc_status(pid);
  caller.admin = uid == 0 || (admin_gid && in_group(uid, gid, *admin_gid));
  caller.elevated = uid == 0 || status.caps;
  caller.umask = status.umask;
  if (uid == 0) {
    caller.integrity_level = kIntegritySystem;
  } else if (caller.admin) {
    caller.integrity_level = kIntegrityHigh;
  } else {
    caller.integrity_level = kIntegrityMedium;
  }
  if (status.no_new_privs || status.seccomp) caller.integrity_level = kIntegrityLow;
  return caller;
}

}  // namespace openbits::daemon
