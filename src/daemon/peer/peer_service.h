// PeerService: peer caching's network side in one object (docs/peer-caching.md part 2):
// the peer server on peer_listen (when set), multicast discovery (unless peer_discovery is
// "none") and the registry of known peers with the config's static list, all on one
// thread of its own (an io_context) plus the registry's probe thread.
//
// Wiring into bitsd (src/daemon/main.cc, run()): bitsd already links bitsd_peer. After
// `jobs.load()` succeeded (JobManager is the PeerContentSource) and before the
// TransferEngine and the Dispatcher are made; declared after `jobs`, so it is destroyed
// (stopped) before the JobManager, and before the engine, which takes peer_source() for
// its downloads from peers and stops first:
//
//   #include "src/daemon/peer/peer_service.h"
//   ...
//   std::unique_ptr<PeerService> peers;
//   if (PeerService::configured(config)) {
//     auto created = PeerService::create(config, jobs);
//     if (!created.ok()) {
//       spdlog::critical("{}", created.status().message());  // names the bad key
//       return 1;
//     }
//     peers = std::move(*created);
//     if (Status s = peers->start(); !s.ok()) {
//       spdlog::critical("{}", s.message());
//       return 1;
//     }
//   }
//   TransferEngine engine(jobs);
//   if (peers) engine.set_peer_source(peers->peer_source());
//   // and to the dispatcher (peer-admin's setter): peers ? &peers->directory() : nullptr
//
// Threading: create/start/stop from one thread; directory() is thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "openbits/status.h"
#include "src/common/asio.h"
#include "src/daemon/core/peer_content_source.h"
#include "src/daemon/core/peer_directory.h"
#include "src/daemon/peer/discovery.h"
#include "src/daemon/peer/peer_client.h"
#include "src/daemon/peer/peer_fetcher.h"
#include "src/daemon/peer/peer_registry.h"
#include "src/daemon/peer/peer_server.h"
#include "src/daemon/platform/config.h"

namespace openbits::daemon {

// Timings the tests shorten; bitsd uses the defaults.
struct PeerServiceTuning {
  std::chrono::milliseconds announce_interval{std::chrono::minutes(10)};
  std::chrono::milliseconds max_answer_delay{1000};
  std::chrono::milliseconds min_probe_interval{std::chrono::seconds(10)};
  std::chrono::milliseconds static_reprobe_interval{std::chrono::minutes(1)};
  std::chrono::milliseconds wait_for_turn{5000};
};

class PeerService {
 public:
  // Whether the config asks for any of it: a server, static peers, or discovery with the
  // TLS files to authenticate what it finds.
  static bool configured(const Config& config);
  // Checks the TLS files (E_INVALIDARG naming the key) and builds the parts; nothing
  // listens yet.
  static Result<std::unique_ptr<PeerService>> create(const Config& config,
                                                     PeerContentSource& source,
                                                     PeerServiceTuning tuning = {});
  PeerService(const PeerService&) = delete;
  PeerService& operator=(const PeerService&) = delete;
  ~PeerService();

  // Binds the server (an error names peer_listen) and the discovery sockets, then runs.
  [[nodiscard]] Status start();
  void stop();

  PeerDirectory& directory() { return *registry_; }
  PeerRegistry& registry() { return *registry_; }
  const PeerClient& client() const { return *client_; }
  // The transfer engine's source of peers (peer_fetcher.h); null before start().
  PeerSource* peer_source() { return fetcher_.get(); }
  PeerServer* server() { return server_.get(); }  // null when this host serves no one
  // The server's bound "ADDR:PORT"; "" when this host serves no one.
  std::string server_address() const;

 private:
  PeerService(const Config& config, PeerContentSource& source, PeerServiceTuning tuning);
  void schedule_reprobe();
  void start_discovery();

  // An io_context whose pending work (coroutines of connections, timers) stop() can
  // destroy while the parts they refer to still exist.
  struct Io : boost::asio::io_context {
    using boost::asio::execution_context::shutdown;
  };

  Config config_;
  PeerServiceTuning tuning_;
  Io io_;
  bool stopped_ = false;
  bool discovery_started_ = false;
  std::unique_ptr<boost::asio::ssl::context> tls_;
  std::unique_ptr<PeerClient> client_;
  std::unique_ptr<PeerServer> server_;
  std::unique_ptr<Discovery> discovery_;
  std::unique_ptr<PeerRegistry> registry_;
  std::unique_ptr<PeerFetcher> fetcher_;
  std::unique_ptr<boost::asio::steady_timer> reprobe_timer_;
  std::thread thread_;
  PeerContentSource& source_;
};

}  // namespace openbits::daemon
