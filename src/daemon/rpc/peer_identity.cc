// Caller identification from peer credentials; see peer_identity.h.
#include "src/daemon/rpc/peer_identity.h"

#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

// SO_PEERPIDFD (Linux 6.5) is missing from older headers; 77 is its number on the
// architectures that use asm-generic/socket.h. Elsewhere bitsd does without it.
#if !defined(SO_PEERPIDFD) && (defined(__x86_64__) || defined(__i386__) || defined(__aarch64__) || \
                               defined(__arm__) || defined(__riscv))
#define SO_PEERPIDFD 77
#endif

namespace openbits::daemon {
namespace {

struct ProcStatus {
  bool caps = false;
  bool no_new_privs = false;
  bool seccomp = false;
  mode_t umask = 022;
};

bool starts_with(const std::string& line, const char* prefix) { return line.rfind(prefix, 0) == 0; }

// /proc/<pid>/status, or nullopt unless all four facts were there: a process that has
// exited has no file, and a zombie has no "Umask:" line (its fs_struct is gone).
std::optional<ProcStatus> read_proc_status(pid_t pid) {
  if (pid <= 0) return std::nullopt;  // SO_PEERCRED gives 0 for a pid outside our namespace
  ProcStatus status;
  int seen = 0;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    auto value = [&line](std::size_t prefix) { return line.substr(prefix); };
    if (starts_with(line, "CapEff:")) {
      status.caps = value(7).find_first_not_of("0\t ") != std::string::npos;
      seen |= 1;
    } else if (starts_with(line, "NoNewPrivs:")) {
      status.no_new_privs = value(11).find('1') != std::string::npos;
      seen |= 2;
    } else if (starts_with(line, "Umask:")) {
      status.umask = static_cast<mode_t>(std::strtoul(value(6).c_str(), nullptr, 8) & 0777);
      seen |= 4;
    } else if (starts_with(line, "Seccomp:")) {
      status.seccomp = value(8).find_first_of("12") != std::string::npos;
      seen |= 8;
    }
  }
  if (seen != 15) return std::nullopt;
  return status;
}

// The pid a pidfd's process has now ("Pid:" of /proc/self/fdinfo), -1 once it exited.
pid_t pidfd_pid(int pidfd) {
  std::ifstream in("/proc/self/fdinfo/" + std::to_string(pidfd));
  std::string line;
  while (std::getline(in, line)) {
    if (starts_with(line, "Pid:")) {
      return static_cast<pid_t>(std::strtol(line.c_str() + 4, nullptr, 10));
    }
  }
  return -1;
}

// The status of the peer's process, if it can be trusted to be that process's.
std::optional<ProcStatus> peer_status(const PeerProcess& peer) {
  if (peer.pidfd_supported && peer.pidfd < 0) return std::nullopt;  // gone before accept
  std::optional<ProcStatus> status = read_proc_status(peer.pid);
  // Read first, check after: if the process still holds the pid now, it held it during
  // the read (a pid is reused only once its process has been reaped).
  if (status && peer.pidfd >= 0 && pidfd_pid(peer.pidfd) != peer.pid) return std::nullopt;
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

std::optional<PeerProcess> peer_process(int socket_fd) {
  struct ucred cred {};
  socklen_t len = sizeof(cred);
  if (::getsockopt(socket_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return std::nullopt;
  PeerProcess peer{cred.uid, cred.gid, cred.pid};
#ifdef SO_PEERPIDFD
  int pidfd = -1;
  len = sizeof(pidfd);
  if (::getsockopt(socket_fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) == 0) {
    peer.pidfd = pidfd;
    peer.pidfd_supported = true;
  } else {
    peer.pidfd_supported = errno != ENOPROTOOPT;  // other errors: the peer is gone
  }
#endif
  return peer;
}

Caller identify_caller(const PeerProcess& peer, std::optional<gid_t> admin_gid) {
  Caller caller{peer.uid, peer.gid, peer.pid};
  caller.admin = peer.uid == 0 || (admin_gid && in_group(peer.uid, peer.gid, *admin_gid));
  std::optional<ProcStatus> status = peer_status(peer);
  if (!status) {
    caller.process_known = false;
    caller.elevated = false;
    caller.integrity_level = kIntegrityLow;
    caller.umask = kUnknownCallerUmask;
    return caller;
  }
  caller.elevated = peer.uid == 0 || status->caps;
  caller.umask = status->umask;
  if (peer.uid == 0) {
    caller.integrity_level = kIntegritySystem;
  } else if (caller.admin) {
    caller.integrity_level = kIntegrityHigh;
  } else {
    caller.integrity_level = kIntegrityMedium;
  }
  if (status->no_new_privs || status->seccomp) caller.integrity_level = kIntegrityLow;
  return caller;
}

}  // namespace openbits::daemon
