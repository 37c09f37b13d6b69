// The transfer engine's idle-bandwidth use: every kYieldSampleMs the engine thread reads
// the byte counters of the interfaces its background transfers (those in a rate pool) go
// through, hands them and the transfers' own byte counts to the YieldController, and sets
// each pool's pacer to the lower of the policy's rate and the controller's cap.
// Transfers over loopback (or to an address of this host) are not watched: loopback is no
// shared bottleneck.
#include <curl/curl.h>

#include <algorithm>

#include "src/daemon/transfer/transfer_engine.h"
#include "src/daemon/transfer/transfer_internal.h"

namespace openbits::daemon {

using transfer_detail::pacing_now_ms;

void TransferEngine::set_bandwidth_yield(bool on, std::unique_ptr<InterfaceCounters> counters) {
  yield_on_.store(on);
  if (counters) counters_ = std::move(counters);
}

int TransferEngine::sample_yield(int timeout_ms) {
  if (!yield_on_.load()) return timeout_ms;
  std::int64_t now = pacing_now_ms();
  if (now >= next_sample_ms_) {
    take_yield_sample(now);
    next_sample_ms_ = now + kYieldSampleMs;
  }
  return static_cast<int>(std::min<std::int64_t>(timeout_ms, next_sample_ms_ - now));
}

// The interface of the transfer's connection now; "" for loopback, this host's own
// addresses, or no connection yet.
void TransferEngine::locate(Transfer& t) {
  char* local = nullptr;
  char* peer = nullptr;
  if (!t.easy) return;
  curl_easy_getinfo(t.easy, CURLINFO_LOCAL_IP, &local);
  curl_easy_getinfo(t.easy, CURLINFO_PRIMARY_IP, &peer);
  if (!local || !*local) return;  // keeps what the last connection used
  t.yield_interface.clear();
  if (peer && std::string(local) == peer) return;
  std::optional<LocalInterface> found = counters_->interface_of(local);
  if (found && !found->loopback) t.yield_interface = found->name;
}

void TransferEngine::retire(Transfer& t) {
  if (t.pool == 0) return;
  if (t.yield_interface.empty()) locate(t);
  if (t.yield_interface.empty()) return;
  std::uint64_t delta = t.moved - t.moved_sampled;
  t.moved_sampled = t.moved;
  YieldController::Bytes& bytes = unsampled_[t.yield_interface];
  (t.is_upload() ? bytes.tx : bytes.rx) += delta;
}

void TransferEngine::take_yield_sample(std::int64_t now_ms) {
  std::map<std::string, YieldController::Bytes> moved = std::move(unsampled_);
  unsampled_.clear();
  std::set<std::uint64_t> pools;
  for (auto& [token, t] : transfers_) {
    if (t->pool == 0) continue;  // FOREGROUND: other traffic, as any program's
    locate(*t);
    std::uint64_t delta = t->moved - t->moved_sampled;
    t->moved_sampled = t->moved;
    if (t->yield_interface.empty()) continue;
    YieldController::Bytes& bytes = moved[t->yield_interface];
    (t->is_upload() ? bytes.tx : bytes.rx) += delta;
    pools.insert(t->pool);
  }
  std::map<std::string, InterfaceBytes> counters;
  for (const auto& [name, bytes] : moved) {
    if (std::optional<InterfaceBytes> now = counters_->read(name)) counters[name] = *now;
  }
  bool same_interfaces = !counters.empty() && counters.size() == watched_.size() &&
                         std::equal(counters.begin(), counters.end(), watched_.begin(),
                                    [](const auto& a, const auto& b) { return a.first == b.first; });
  if (counters.empty() || pools.empty()) {
    yield_.reset();
  } else if (same_interfaces) {
    YieldController::Bytes interfaces;
    YieldController::Bytes background;
    for (const auto& [name, now] : counters) {
      const InterfaceBytes& before = watched_[name];
      interfaces.rx += now.rx >= before.rx ? now.rx - before.rx : 0;
      interfaces.tx += now.tx >= before.tx ? now.tx - before.tx : 0;
      background.rx += moved[name].rx;
      background.tx += moved[name].tx;
    }
    yield_.observe(now_ms - last_sample_ms_, interfaces, background);
  }  // else: new interfaces; this sample is their baseline
  watched_ = std::move(counters);
  last_sample_ms_ = now_ms;
  yielding_pools_ = std::move(pools);
  apply_pool_rates();
}

void TransferEngine::apply_pool_rates() {
  std::uint64_t cap = yield_on_.load() ? yield_.cap() : 0;
  std::int64_t now = pacing_now_ms();
  for (auto& [id, pacer] : pools_) {
    std::uint64_t rate = pool_policy_[id];
    if (cap != 0 && yielding_pools_.count(id)) {
      std::uint64_t share = std::max<std::uint64_t>(1, cap / yielding_pools_.size());
      rate = rate == 0 ? share : std::min(rate, share);
    }
    if (pacer.rate() != rate) pacer.set_rate(rate, now);
  }
}

}  // namespace openbits::daemon
