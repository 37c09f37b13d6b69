// Clock seam for bitsd: a monotonic clock for timers (retry delay, no-progress timeout,
// download time, time slices) and a wall clock for the times jobs report. The real clock
// reads the system; tests use FakeClock (tests/support/fake_clock.h) and advance it by
// hand. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>

namespace openbits::daemon {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic milliseconds since an arbitrary origin.
  virtual std::int64_t monotonic_ms() const = 0;
  // Unix epoch milliseconds.
  virtual std::int64_t wall_ms() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::int64_t monotonic_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  std::int64_t wall_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace openbits::daemon
