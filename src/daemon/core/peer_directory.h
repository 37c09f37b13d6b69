// PeerDirectory: the peers this machine knows (docs/peer-caching.md part 2), as the RPC edge
// and the coordinator see them, without knowing how they were found. Implemented in
// src/daemon/peer (multicast discovery plus the config's static list); thread-safe.
// Without a peer service (no config for it) the dispatcher has none and answers an empty
// list.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "openbits/status.h"

namespace openbits::daemon {

struct PeerInfo {
  std::string name;     // the subject of its certificate once authenticated, else its address
  std::string address;  // "host:port" of its peer server
  bool authenticated = false;       // a mutual-TLS exchange with it succeeded
  bool available = false;           // not dropped: reachable, certificate good
  bool from_config = false;         // the config's `peers` list, not discovery
  std::int64_t last_seen_unix = 0;  // last announce or successful exchange, 0 never
};

class PeerDirectory {
 public:
  virtual ~PeerDirectory() = default;
  virtual std::vector<PeerInfo> peers() = 0;
  // Sends a discovery query now (BITS /peers /discover); S_OK also when discovery is off.
  virtual Status discover() = 0;
  // Forgets every discovered peer (the config's list stays, unauthenticated again).
  virtual Status clear() = 0;
};

}  // namespace openbits::daemon
