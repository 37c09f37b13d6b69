// RatePacer: a token bucket that paces the bytes of one or more transfers to a rate in
// bytes per second. The engine asks allowance() before it takes bytes from libcurl (a body
// chunk, an upload read), consume()s what it took and pauses the transfer while the bucket
// is empty; wait_ms() says when to look again. A chunk larger than the allowance is taken
// whole and leaves the bucket in debt, so the average holds although libcurl hands over up
// to its buffer at once. The rate can change at any time, also while transfers run under it.
//
// Pure arithmetic over the monotonic time it is given (milliseconds); not thread-safe (the
// engine thread owns every pacer).
#pragma once

#include <cstdint>
#include <limits>

namespace openbits::daemon {

class RatePacer {
 public:
  static constexpr std::uint64_t kUnlimited = std::numeric_limits<std::uint64_t>::max();

  // 0: unlimited. The bucket keeps what it holds, capped to the new burst.
  void set_rate(std::uint64_t bytes_per_s, std::int64_t now_ms);
  std::uint64_t rate() const { return rate_; }
  bool limited() const { return rate_ != 0; }
  // Bytes that may be taken now: kUnlimited without a limit, 0 while in debt.
  std::uint64_t allowance(std::int64_t now_ms);
  void consume(std::uint64_t bytes, std::int64_t now_ms);
  // Milliseconds until allowance() is positive again (0: now), at least 1 while in debt.
  std::int64_t wait_ms(std::int64_t now_ms);
  // What the bucket may hold at most: 50 ms of the rate, at least 4 KiB.
  std::uint64_t burst() const;

 private:
  void refill(std::int64_t now_ms);

  std::uint64_t rate_ = 0;
  double tokens_ = 0;  // bytes; negative: debt
  std::int64_t updated_ms_ = 0;
  bool started_ = false;
};

}  // namespace openbits::daemon
