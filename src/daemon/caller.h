// Caller: who is on the other end of an RPC connection, as the kernel says (SO_PEERCRED),
// with the privilege facts BITS needs: administrator, elevation, integrity level.
// Pure data plus a function that reads /proc; thread-safe.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace openbits::daemon {

inline constexpr std::uint32_t kIntegrityLow = 0x1000;
inline constexpr std::uint32_t kIntegrityMedium = 0x2000;
inline constexpr std::uint32_t kIntegrityHigh = 0x3000;
inline constexpr std::uint32_t kIntegritySystem = 0x4000;

struct Caller {
  uid_t uid = 0;
  gid_t gid = 0;
  pid_t pid = 0;
  bool admin = false;     // uid 0 or member of the admin group
  bool elevated = false;  // uid 0 or non-empty effective capabilities
  std::uint32_t integrity_level = kIntegrityMedium;
  std::uint64_t connection = 0;  // the RPC connection (callbacks go back on it); 0 = none
  mode_t umask = 022;            // the calling process's umask (/proc/<pid>/status), 022 if unknown
};

// Builds a Caller from peer credentials: admin from uid 0 or membership of admin_gid;
// elevation, "low" integrity (no_new_privs or seccomp) and the umask from /proc/<pid>/status.
Caller identify_caller(uid_t uid, gid_t gid, pid_t pid, std::optional<gid_t> admin_gid);

}  // namespace openbits::daemon
