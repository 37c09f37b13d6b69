// A Clock that stands still until a test advances it, so retry delays, timeouts and expiry
// are tested in milliseconds instead of by sleeping. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>

#include "src/daemon/platform/clock.h"

namespace openbits::daemon {

class FakeClock final : public Clock {
 public:
  std::int64_t monotonic_ms() const override { return now_ms_.load(); }
  std::int64_t wall_ms() const override { return kWallOrigin + now_ms_.load(); }
  void advance_ms(std::int64_t ms) { now_ms_ += ms; }
  void advance_s(std::int64_t s) { now_ms_ += s * 1000; }

 private:
  static constexpr std::int64_t kWallOrigin = 1'800'000'000'000;
  std::atomic<std::int64_t> now_ms_{1'000'000};
};

}  // namespace openbits::daemon
