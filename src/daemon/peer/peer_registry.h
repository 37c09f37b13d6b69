// PeerRegistry: the peers this machine knows (PeerDirectory for the RPC edge): the
// config's static list and the peers discovery heard, each authenticated only by a
// successful mutual-TLS exchange (a probe: HEAD of a random key, where 404 proves the
// handshake passed both ways). A peer is dropped (available = false, not authenticated)
// after a failed handshake or a bad certificate, and after `failures_to_drop` failed
// exchanges in a row (unreachable, timeout, protocol errors); a later success brings it
// back. Probes run on the registry's own thread, one at a time, at most one per peer per
// min_probe_interval. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "src/daemon/core/peer_directory.h"
#include "src/daemon/peer/peer_client.h"

namespace openbits::daemon {

struct PeerRegistryOptions {
  std::vector<std::string> static_peers;  // the config's `peers`
  std::string own_address;           // this host's peer server as discovery would name it ("" none)
  std::size_t max_discovered = 256;  // further announces of unknown peers are ignored
  int failures_to_drop = 3;
  std::chrono::milliseconds min_probe_interval{std::chrono::seconds(10)};
  std::chrono::milliseconds min_query_interval{std::chrono::seconds(10)};
};

class PeerRegistry final : public PeerDirectory {
 public:
  // `probe` does one exchange with a peer (PeerClient::head of a random key); `query` sends
  // a discovery query (nothing when discovery is off).
  using Probe = std::function<PeerAnswer(const std::string& address)>;
  using Query = std::function<void()>;
  PeerRegistry(PeerRegistryOptions options, Probe probe, Query query);
  PeerRegistry(const PeerRegistry&) = delete;
  PeerRegistry& operator=(const PeerRegistry&) = delete;
  ~PeerRegistry() override;

  void start();  // the probe thread; probes the static peers
  void stop();   // waits for a probe in progress

  // PeerDirectory.
  std::vector<PeerInfo> peers() override;
  Status discover() override;  // a query, and a probe of every peer not usable now
  Status clear() override;

  // Discovery heard `address` ("ADDR:PORT") announce itself.
  void on_announce(const std::string& address);
  // The peers to ask for a content (part 3): authenticated and available; sends a query
  // when none is known (at most once per min_query_interval).
  std::vector<std::string> usable_peers();
  // The outcome of an exchange with `address` outside the probes (part 3's requests).
  void report(const std::string& address, const PeerAnswer& answer);
  // Probes the static peers that are not usable now (the service calls it periodically).
  void probe_unusable();

  // Tests: waits until no probe is queued or running.
  void wait_idle();

 private:
  struct Entry {
    PeerInfo info;
    int failures = 0;
    bool queued = false;
    std::chrono::steady_clock::time_point last_probe{};
    bool probed = false;
  };
  void enqueue_locked(Entry& entry, bool force);
  void apply_locked(Entry& entry, const PeerAnswer& answer);
  void run();

  PeerRegistryOptions options_;
  Probe probe_;
  Query query_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, Entry> entries_;  // by address
  std::deque<std::string> queue_;
  bool probing_ = false;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point last_query_{};
  bool queried_ = false;
  std::thread thread_;
};

}  // namespace openbits::daemon
