// The shared serving rate cap; see token_bucket.h.
#include "src/daemon/peer/token_bucket.h"

#include <algorithm>

namespace openbits::daemon {

TokenBucket::TokenBucket(std::uint64_t rate, std::uint64_t burst)
    : rate_(rate), burst_(static_cast<double>(burst)), tokens_(static_cast<double>(burst)) {}

std::chrono::nanoseconds TokenBucket::reserve(std::uint64_t bytes, Clock::time_point now) {
  if (rate_ == 0) return {};
  std::lock_guard lock(mutex_);
  if (started_ && now > last_) {
    std::chrono::duration<double> elapsed = now - last_;
    tokens_ = std::min(burst_, tokens_ + elapsed.count() * static_cast<double>(rate_));
  }
  if (!started_ || now > last_) last_ = now;
  started_ = true;
  tokens_ -= static_cast<double>(bytes);
  if (tokens_ >= 0) return {};
  std::chrono::duration<double> wait(-tokens_ / static_cast<double>(rate_));
  return std::chrono::duration_cast<std::chrono::nanoseconds>(wait);
}

}  // namespace openbits::daemon
