// PeerFetcher; see peer_fetcher.h.
#include "src/daemon/peer/peer_fetcher.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

#include "src/daemon/core/peer_cache.h"

namespace openbits::daemon {

PeerSource::Holders PeerFetcher::holders(const std::string& url,
                                         const RemoteValidators& validators) {
  Holders holders;
  holders.key =
      PeerCache::content_key(url, validators.size, validators.last_modified, validators.etag);
  std::vector<std::string> peers = registry_.usable_peers();
  std::shuffle(peers.begin(), peers.end(), std::mt19937(std::random_device{}()));
  if (peers.size() > kMaxAsked) peers.resize(kMaxAsked);
  for (const std::string& peer : peers) {
    PeerAnswer answer = client_.head(peer, holders.key);
    registry_.report(peer, answer);
    if (answer.outcome == PeerAnswer::Outcome::kHit && answer.size == validators.size) {
      holders.peers.push_back(peer);
    } else if (answer.outcome == PeerAnswer::Outcome::kError) {
      spdlog::debug("peer {}: {} ({})", peer, to_string(answer.error), answer.detail);
    }
  }
  spdlog::debug("content {}: {} of {} peer(s) hold it", holders.key.substr(0, 12),
                holders.peers.size(), peers.size());
  return holders;
}

std::optional<std::string> PeerFetcher::get_range(const std::string& peer, const std::string& key,
                                                  std::uint64_t first, std::uint64_t length) {
  PeerAnswer answer = client_.get_range(peer, key, first, length);
  registry_.report(peer, answer);
  if (answer.outcome != PeerAnswer::Outcome::kHit || answer.bytes.size() != length) {
    spdlog::info("peer {}: bytes {}-{} of {}: {} ({})", peer, first, first + length - 1,
                 key.substr(0, 12),
                 answer.outcome == PeerAnswer::Outcome::kMiss ? "miss" : to_string(answer.error),
                 answer.detail);
    return std::nullopt;
  }
  return std::move(answer.bytes);
}

void PeerFetcher::distrust(const std::string& peer) {
  PeerAnswer answer;
  answer.error = PeerError::kWrongContent;
  answer.detail = "its bytes failed the origin's digest";
  registry_.report(peer, answer);
}

}  // namespace openbits::daemon
