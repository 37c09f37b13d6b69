// The known peers and their authentication; see peer_registry.h.
#include "src/daemon/peer/peer_registry.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace openbits::daemon {
namespace {

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool proves_tls(const PeerAnswer& answer) {
  // Any HTTP answer means both sides accepted each other's certificate.
  return answer.status != 0;
}

}  // namespace

PeerRegistry::PeerRegistry(PeerRegistryOptions options, Probe probe, Query query)
    : options_(std::move(options)), probe_(std::move(probe)), query_(std::move(query)) {
  for (const std::string& address : options_.static_peers) {
    Entry& entry = entries_[address];
    entry.info.name = address;
    entry.info.address = address;
    entry.info.from_config = true;
  }
}

PeerRegistry::~PeerRegistry() { stop(); }

void PeerRegistry::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
  for (auto& [address, entry] : entries_) enqueue_locked(entry, true);
}

void PeerRegistry::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    queue_.clear();
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::vector<PeerInfo> PeerRegistry::peers() {
  std::lock_guard lock(mutex_);
  std::vector<PeerInfo> out;
  out.reserve(entries_.size());
  for (const auto& [address, entry] : entries_) out.push_back(entry.info);
  return out;
}

Status PeerRegistry::discover() {
  if (query_) query_();
  std::lock_guard lock(mutex_);
  queried_ = true;
  last_query_ = std::chrono::steady_clock::now();
  for (auto& [address, entry] : entries_) {
    if (!(entry.info.authenticated && entry.info.available)) enqueue_locked(entry, true);
  }
  changed_.notify_all();
  return Status();
}

Status PeerRegistry::clear() {
  std::lock_guard lock(mutex_);
  std::erase_if(entries_, [](const auto& item) { return !item.second.info.from_config; });
  std::erase_if(queue_, [this](const std::string& a) { return entries_.count(a) == 0; });
  for (auto& [address, entry] : entries_) {
    std::string name = entry.info.address;
    entry.info = PeerInfo{name, name, false, false, true, 0};
    entry.failures = 0;
    entry.probed = false;
    enqueue_locked(entry, true);
  }
  changed_.notify_all();
  return Status();
}

void PeerRegistry::on_announce(const std::string& address) {
  std::lock_guard lock(mutex_);
  if (address == options_.own_address) return;
  auto it = entries_.find(address);
  if (it == entries_.end()) {
    std::size_t discovered =
        static_cast<std::size_t>(std::count_if(entries_.begin(), entries_.end(), [](const auto& e) {
          return !e.second.info.from_config;
        }));
    if (discovered >= options_.max_discovered) return;
    it = entries_.emplace(address, Entry{}).first;
    it->second.info.name = address;
    it->second.info.address = address;
    spdlog::debug("peer {}: announced", address);
  }
  it->second.info.last_seen_unix = unix_now();
  if (!(it->second.info.authenticated && it->second.info.available)) {
    enqueue_locked(it->second, false);
    changed_.notify_all();
  }
}

std::vector<std::string> PeerRegistry::usable_peers() {
  std::vector<std::string> out;
  bool ask = false;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [address, entry] : entries_) {
      if (entry.info.authenticated && entry.info.available) out.push_back(address);
    }
    auto now = std::chrono::steady_clock::now();
    if (out.empty() && (!queried_ || now - last_query_ >= options_.min_query_interval)) {
      ask = true;
      queried_ = true;
      last_query_ = now;
    }
  }
  if (ask && query_) query_();
  return out;
}

void PeerRegistry::report(const std::string& address, const PeerAnswer& answer) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(address);
  if (it != entries_.end()) apply_locked(it->second, answer);
}

void PeerRegistry::probe_unusable() {
  std::lock_guard lock(mutex_);
  for (auto& [address, entry] : entries_) {
    if (entry.info.from_config && !(entry.info.authenticated && entry.info.available)) {
      enqueue_locked(entry, false);
    }
  }
  changed_.notify_all();
}

void PeerRegistry::wait_idle() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] { return (queue_.empty() && !probing_) || stopping_; });
}

void PeerRegistry::enqueue_locked(Entry& entry, bool force) {
  if (entry.queued || stopping_) return;
  auto now = std::chrono::steady_clock::now();
  if (!force && entry.probed && now - entry.last_probe < options_.min_probe_interval) return;
  entry.queued = true;
  queue_.push_back(entry.info.address);
}

void PeerRegistry::apply_locked(Entry& entry, const PeerAnswer& answer) {
  PeerInfo& info = entry.info;
  if (proves_tls(answer)) {
    if (!info.authenticated) {
      spdlog::info("peer {}: authenticated as {}", info.address, answer.subject);
    }
    info.authenticated = true;
    if (!answer.subject.empty()) info.name = answer.subject;
    info.last_seen_unix = unix_now();
  }
  bool failed = answer.outcome == PeerAnswer::Outcome::kError && answer.error != PeerError::kBusy;
  if (!failed) {
    entry.failures = 0;
    info.available = true;
    return;
  }
  ++entry.failures;
  bool refused = answer.error == PeerError::kTls || answer.error == PeerError::kBadCertificate ||
                 answer.error == PeerError::kWrongContent;
  if (!refused && entry.failures < options_.failures_to_drop) return;
  if (info.available || info.authenticated) {
    spdlog::warn("peer {}: dropped: {} ({})", info.address, to_string(answer.error), answer.detail);
  }
  info.available = false;
  if (refused) {
    info.authenticated = false;
    info.name = info.address;
  }
}

void PeerRegistry::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    std::string address = queue_.front();
    queue_.pop_front();
    auto it = entries_.find(address);
    if (it == entries_.end()) continue;
    it->second.queued = false;
    probing_ = true;
    lock.unlock();
    PeerAnswer answer = probe_(address);
    lock.lock();
    probing_ = false;
    it = entries_.find(address);  // clear() may have removed it meanwhile
    if (it != entries_.end()) {
      it->second.probed = true;
      it->second.last_probe = std::chrono::steady_clock::now();
      apply_locked(it->second, answer);
    }
    changed_.notify_all();
  }
}

}  // namespace openbits::daemon
