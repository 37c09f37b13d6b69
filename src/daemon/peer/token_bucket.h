// TokenBucket: one rate cap shared by every connection of the peer server
// (peer_max_serve_bytes_per_s). A sender reserves the bytes it is about to send and waits
// the time returned; reservations may run the bucket into debt, so each waits its turn and
// the sum of all stays at the rate (plus one burst). Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>

namespace openbits::daemon {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  // `rate` bytes per second, 0: no cap (reserve always answers zero). `burst` bytes may go
  // at once after a quiet time.
  explicit TokenBucket(std::uint64_t rate, std::uint64_t burst = 64 * 1024);

  // Takes `bytes` tokens; how long to wait before sending them.
  std::chrono::nanoseconds reserve(std::uint64_t bytes, Clock::time_point now = Clock::now());
  std::uint64_t rate() const { return rate_; }

 private:
  const std::uint64_t rate_;
  const double burst_;
  std::mutex mutex_;
  double tokens_;  // may be negative: the debt of reservations not yet covered
  Clock::time_point last_{};
  bool started_ = false;
};

}  // namespace openbits::daemon
