// PeerFetcher: the transfer engine's PeerSource (transfer.h) over the known peers and the
// peer client (docs/peer-caching.md "Fetching"): who holds a content (a HEAD of its key to
// each authenticated, available peer, at most kMaxAsked of them in random order; a hit of
// another size is a miss), and ranges of it. Every exchange's outcome goes to the registry,
// which drops peers that fail. Blocking; thread-safe (the client and registry are).
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "src/daemon/peer/peer_client.h"
#include "src/daemon/peer/peer_registry.h"
#include "src/daemon/transfer/transfer.h"

namespace openbits::daemon {

class PeerFetcher final : public PeerSource {
 public:
  static constexpr std::size_t kMaxAsked = 8;
  PeerFetcher(PeerRegistry& registry, const PeerClient& client)
      : registry_(registry), client_(client) {}

  Holders holders(const std::string& url, const RemoteValidators& validators) override;
  std::optional<std::string> get_range(const std::string& peer, const std::string& key,
                                       std::uint64_t first, std::uint64_t length) override;
  // Drops the peer at once (as a bad certificate does) until a probe succeeds again.
  void distrust(const std::string& peer) override;

 private:
  PeerRegistry& registry_;
  const PeerClient& client_;
};

}  // namespace openbits::daemon
