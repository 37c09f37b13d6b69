// PeerContentSource: what the peer server (src/daemon/peer, docs/peer-caching.md part 2)
// serves from, without knowing the queue. JobManager implements it over its PeerCache,
// under its own mutex; the server calls it from its network threads and reads the leased
// descriptor outside any lock.
#pragma once

#include <string>

#include "openbits/status.h"
#include "openbits/types.h"
#include "src/daemon/core/peer_cache.h"

namespace openbits::daemon {

class PeerContentSource {
 public:
  virtual ~PeerContentSource() = default;
  // Whether this machine serves peers now: the server bit (0x2) of the machine's flags in
  // force (policy or saved). Checked at each request, so turning it off stops serving.
  virtual bool serving_enabled() = 0;
  // A validated, verified content by its wire key, its descriptor opened read-only, counted
  // busy until end_serve; BG_E_NOT_FOUND when there is none (or serving is off).
  virtual Result<PeerCache::Lease> begin_serve(const std::string& key) = 0;
  virtual void end_serve(const Guid& id) = 0;
};

}  // namespace openbits::daemon
