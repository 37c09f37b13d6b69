// Who is on the other end of an RPC connection, as the kernel says (SO_PEERCRED): the
// functions that read the socket's peer credentials and /proc and build a Caller
// (src/daemon/core/caller.h). Thread-safe.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>

#include "src/daemon/core/caller.h"

namespace openbits::daemon {

// The connecting process, as the kernel recorded it at connect(2).
struct PeerProcess {
  uid_t uid = 0;
  gid_t gid = 0;
  pid_t pid = 0;
  // SO_PEERPIDFD (Linux 6.5): a pidfd of that very process, or -1. With it, a /proc read
  // is trusted only if the process still holds `pid` after the read (no pid reuse).
  int pidfd = -1;
  bool pidfd_supported = false;  // the kernel knows SO_PEERPIDFD
};

// SO_PEERCRED (and SO_PEERPIDFD where the kernel has it) of a connected Unix socket;
// nullopt if the kernel gives no credentials. The caller closes `pidfd`.
std::optional<PeerProcess> peer_process(int socket_fd);

// Builds a Caller: admin from uid 0 or membership of admin_gid; elevation, "low"
// integrity (no_new_privs or seccomp) and the umask from /proc/<pid>/status. Fails
// closed: if that file cannot be read completely (the process exited or is a zombie),
// or the pidfd shows the process gone, the caller is LOW integrity, not elevated, with
// umask 077, and process_known is false.
Caller identify_caller(const PeerProcess& peer, std::optional<gid_t> admin_gid);

}  // namespace openbits::daemon
