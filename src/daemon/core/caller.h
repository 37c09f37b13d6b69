// Caller: who is on the other end of an RPC call, with the privilege facts BITS needs:
// administrator, elevation, integrity level. Pure data: the core decides with it, the RPC
// edge builds it from the socket's peer credentials (src/daemon/rpc/peer_identity.h).
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace openbits::daemon {

inline constexpr std::uint32_t kIntegrityLow = 0x1000;
inline constexpr std::uint32_t kIntegrityMedium = 0x2000;
inline constexpr std::uint32_t kIntegrityHigh = 0x3000;
inline constexpr std::uint32_t kIntegritySystem = 0x4000;

// The umask given to a caller whose process could not be read: nothing for group or others.
inline constexpr mode_t kUnknownCallerUmask = 077;

struct Caller {
  uid_t uid = 0;
  gid_t gid = 0;
  pid_t pid = 0;
  bool admin = false;     // uid 0 or member of the admin group
  bool elevated = false;  // uid 0 or non-empty effective capabilities
  std::uint32_t integrity_level = kIntegrityMedium;
  std::uint64_t connection = 0;  // the RPC connection (callbacks go back on it); 0 = none
  mode_t umask = 022;            // the calling process's umask (/proc/<pid>/status)
  bool process_known = true;     // false: /proc/<pid>/status could not be trusted
};

}  // namespace openbits::daemon
