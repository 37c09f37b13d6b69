// Token bucket of the transfer engine; see rate_pacer.h.
#include "src/daemon/transfer/rate_pacer.h"

#include <algorithm>
#include <cmath>

namespace openbits::daemon {
namespace {

constexpr std::uint64_t kMinBurst = 4096;
constexpr std::uint64_t kBurstMs = 50;

}  // namespace

std::uint64_t RatePacer::burst() const { return std::max(kMinBurst, rate_ * kBurstMs / 1000); }

void RatePacer::refill(std::int64_t now_ms) {
  if (!started_) {
    started_ = true;
    updated_ms_ = now_ms;
    tokens_ = static_cast<double>(burst());
    return;
  }
  if (now_ms <= updated_ms_) return;
  double gained = static_cast<double>(rate_) * static_cast<double>(now_ms - updated_ms_) / 1000.0;
  tokens_ = std::min(tokens_ + gained, static_cast<double>(burst()));
  updated_ms_ = now_ms;
}

void RatePacer::set_rate(std::uint64_t bytes_per_s, std::int64_t now_ms) {
  if (limited()) refill(now_ms);  // what the old rate earned until now
  rate_ = bytes_per_s;
  if (!limited()) {
    started_ = false;  // a later limit starts with a full bucket
    return;
  }
  if (!started_) {
    refill(now_ms);
  } else {
    tokens_ = std::min(tokens_, static_cast<double>(burst()));
    updated_ms_ = now_ms;
  }
}

std::uint64_t RatePacer::allowance(std::int64_t now_ms) {
  if (!limited()) return kUnlimited;
  refill(now_ms);
  return tokens_ > 0 ? static_cast<std::uint64_t>(std::ceil(tokens_)) : 0;
}

void RatePacer::consume(std::uint64_t bytes, std::int64_t now_ms) {
  if (!limited()) return;
  refill(now_ms);
  tokens_ -= static_cast<double>(bytes);
}

std::int64_t RatePacer::wait_ms(std::int64_t now_ms) {
  if (!limited()) return 0;
  refill(now_ms);
  if (tokens_ > 0) return 0;
  double ms = (1.0 - tokens_) * 1000.0 / static_cast<double>(rate_);
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(ms)));
}

}  // namespace openbits::daemon
