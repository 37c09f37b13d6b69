// The transfer engine's idle-bandwidth use: every kYieldSampleMs the engine thread reads
// the byte counters of the interfaces its background transfers (those in a rate pool) go
// through, hands them and the transfers' own byte counts to the YieldController, and sets
// each pool's pacer to the lower of the policy's rate and the controller's cap.
// Transfers over loopback (or to an address of this host) are not watched: loopback is no
// shared bottleneck.
#include <curl/curl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

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
  clamp_window(t, false);
  if (t.pool == 0) return;
  if (t.yield_interface.empty()) locate(t);
  if (t.yield_interface.empty()) return;
  std::uint64_t delta = t.moved - t.moved_sampled;
  t.moved_sampled = t.moved;
  YieldController::Bytes& bytes = unsampled_[t.yield_interface];
  (t.is_upload() ? bytes.tx : bytes.rx) += delta;
}

// While the cap is a trickle, a download's receive window is clamped too: the sender
// stops at the window already offered instead of filling the socket's whole receive
// buffer (megabytes, autotuned) while the pacer no longer reads it. Lifted with the trickle.
void TransferEngine::clamp_window(Transfer& t, bool clamp) {
  curl_socket_t socket = CURL_SOCKET_BAD;
  if (clamp && t.easy && !t.is_upload()) {
    curl_easy_getinfo(t.easy, CURLINFO_ACTIVESOCKET, &socket);
  }
  if (t.clamped_socket >= 0 && t.clamped_socket != socket) {
    // Given back its clamp: a connection libcurl keeps may carry another transfer later.
    ::setsockopt(t.clamped_socket, IPPROTO_TCP, TCP_WINDOW_CLAMP, &t.window_clamp_before,
                 sizeof t.window_clamp_before);
    t.clamped_socket = -1;
  }
  if (socket == CURL_SOCKET_BAD || t.clamped_socket == socket) return;
  socklen_t length = sizeof t.window_clamp_before;
  if (::getsockopt(socket, IPPROTO_TCP, TCP_WINDOW_CLAMP, &t.window_clamp_before, &length) != 0) {
    return;
  }
  int clamp_to = kClampedWindow;
  if (::setsockopt(socket, IPPROTO_TCP, TCP_WINDOW_CLAMP, &clamp_to, sizeof clamp_to) == 0) {
    t.clamped_socket = socket;
  }
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
  bool same_interfaces =
      !counters.empty() && counters.size() == watched_.size() &&
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
    YieldController::State was = yield_.state();
    yield_.observe(now_ms - last_sample_ms_, interfaces, background);
    if (yield_.state() != was) log_yield();
    spdlog::trace("yield sample: interfaces {} / {}, background {} / {} bytes in {} ms",
                  interfaces.rx, interfaces.tx, background.rx, background.tx,
                  now_ms - last_sample_ms_);
  }  // else: new interfaces; this sample is their baseline
  watched_ = std::move(counters);
  last_sample_ms_ = now_ms;
  yielding_pools_ = std::move(pools);
  apply_pool_rates();
  bool trickle = yield_.state() == YieldController::State::kYielding;
  for (auto& [token, t] : transfers_) {
    clamp_window(*t, trickle && yielding_pools_.count(t->pool) && !t->yield_interface.empty());
  }
}

void TransferEngine::log_yield() const {
  static constexpr const char* kNames[] = {"free", "yielding", "growing"};
  spdlog::debug("yield: {} (cap {} B/s; other traffic {} B/s in, {} B/s out; link {} / {} B/s)",
                kNames[static_cast<int>(yield_.state())], yield_.cap(), yield_.other_rate().rx,
                yield_.other_rate().tx, yield_.link_rate().rx, yield_.link_rate().tx);
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
