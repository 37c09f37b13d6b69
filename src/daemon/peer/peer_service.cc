// The peer server, discovery and the registry together; see peer_service.h.
#include "src/daemon/peer/peer_service.h"

#include <spdlog/spdlog.h>

#include <boost/asio/ssl.hpp>

#include "src/common/hex.h"
#include "src/common/ids.h"

namespace openbits::daemon {

namespace asio = boost::asio;

namespace {

// The host part of "ADDR:PORT" when it is a specific IPv4 address (the interface to use
// for multicast), else "".
std::string multicast_interface(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos || listen.front() == '[') return {};
  std::string host = listen.substr(0, colon);
  return host == "0.0.0.0" ? std::string() : host;
}

std::string random_key() { return random_hex_id(32, HexCase::kLower); }

}  // namespace

bool PeerService::configured(const Config& config) {
  bool have_tls = !config.peer_ca_file.empty() && !config.peer_cert_file.empty() &&
                  !config.peer_key_file.empty();
  return !config.peer_listen.empty() || !config.peers.empty() ||
         (config.peer_discovery && have_tls);
}

Result<std::unique_ptr<PeerService>> PeerService::create(const Config& config,
                                                         PeerContentSource& source,
                                                         PeerServiceTuning tuning) {
  PeerTlsFiles files = PeerTlsFiles::from(config);
  std::unique_ptr<PeerService> service(new PeerService(config, source, tuning));
  auto tls = make_peer_server_tls(files);
  if (!tls.ok()) return tls.status();
  service->tls_ = std::move(*tls);
  service->client_ = std::make_unique<PeerClient>(PeerClientOptions{files});
  return service;
}

PeerService::PeerService(const Config& config, PeerContentSource& source, PeerServiceTuning tuning)
    : config_(config), tuning_(tuning), source_(source) {}

PeerService::~PeerService() { stop(); }

Status PeerService::start() {
  if (!config_.peer_listen.empty()) {
    server_ = std::make_unique<PeerServer>(
        io_, *tls_, source_,
        PeerServerOptions{.max_clients = config_.peer_max_clients,
                          .max_bytes_per_s = config_.peer_max_serve_bytes_per_s,
                          .wait_for_turn = tuning_.wait_for_turn});
    if (Status s = server_->listen(config_.peer_listen); !s.ok()) {
      return Status(hr::E_INVALIDARG, "peer_listen " + config_.peer_listen + ": " + s.message());
    }
    server_->start();
  }
  std::string own = server_ ? server_->local_address() : std::string();
  if (config_.peer_discovery) {
    unsigned port = 0;
    if (!own.empty()) port = static_cast<unsigned>(std::stoul(own.substr(own.rfind(':') + 1)));
    discovery_ = std::make_unique<Discovery>(
        io_,
        DiscoveryOptions{config_.peer_multicast_group, multicast_interface(config_.peer_listen),
                         port, tuning_.announce_interval, tuning_.max_answer_delay},
        [this](const std::string& address) { registry_->on_announce(address); });
  }
  const PeerClient& client = *client_;
  Discovery* discovery = discovery_.get();
  registry_ = std::make_unique<PeerRegistry>(
      PeerRegistryOptions{.static_peers = config_.peers,
                          .own_address = own,
                          .min_probe_interval = tuning_.min_probe_interval},
      [&client](const std::string& address) { return client.head(address, random_key()); },
      [discovery] {
        if (discovery != nullptr) discovery->query();
      });
  fetcher_ = std::make_unique<PeerFetcher>(*registry_, *client_);
  if (discovery_) start_discovery();
  registry_->start();
  reprobe_timer_ = std::make_unique<asio::steady_timer>(io_);
  schedule_reprobe();
  thread_ = std::thread([this] { io_.run(); });
  spdlog::info("peer caching: {}, discovery {}, {} static peer(s)",
               own.empty() ? std::string("serving no one") : "serving on " + own,
               config_.peer_discovery ? "on " + config_.peer_multicast_group : "off",
               config_.peers.size());
  return Status();
}

void PeerService::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (registry_) registry_->stop();
  io_.stop();
  if (thread_.joinable()) thread_.join();
  // Destroys the connections' coroutines now: bodies in progress end their leases and free
  // their turns while the server still exists. Then the listening and discovery sockets
  // close: peers see this host gone (connections refused), not a silent port.
  io_.shutdown();
  reprobe_timer_.reset();
  server_.reset();
  if (discovery_) discovery_->stop();  // kept: the registry's query may still call it
}

std::string PeerService::server_address() const {
  return server_ ? server_->local_address() : std::string();
}

// A network that is not there yet (no interface for the group at boot) must not keep
// bitsd from starting: discovery is tried again with each reprobe until it starts.
void PeerService::start_discovery() {
  Status started = discovery_->start();
  discovery_started_ = started.ok();
  if (!started.ok()) {
    spdlog::warn(
        "{}; static peers only until it can start (tried again every {} s)", started.message(),
        std::chrono::duration_cast<std::chrono::seconds>(tuning_.static_reprobe_interval).count());
  }
}

void PeerService::schedule_reprobe() {
  reprobe_timer_->expires_after(tuning_.static_reprobe_interval);
  reprobe_timer_->async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    if (discovery_ && !discovery_started_) start_discovery();
    registry_->probe_unusable();
    schedule_reprobe();
  });
}

}  // namespace openbits::daemon
