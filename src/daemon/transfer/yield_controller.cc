// Idle-bandwidth use of background transfers; see yield_controller.h.
#include "src/daemon/transfer/yield_controller.h"

#include <algorithm>

namespace openbits::daemon {
namespace {

std::uint64_t per_second(double bytes, std::int64_t interval_ms) {
  if (!(bytes > 0) || interval_ms <= 0) return 0;  // also NaN
  return static_cast<std::uint64_t>(bytes * 1000.0 / static_cast<double>(interval_ms));
}

}  // namespace

void YieldController::calibrate(std::int64_t interval_ms, Bytes interfaces, Bytes background) {
  auto learn = [&](double& estimate, std::uint64_t seen, std::uint64_t moved, std::uint64_t link) {
    estimate = std::min(params_.overhead, estimate + params_.overhead_drift);
    if (moved == 0 ||
        per_second(static_cast<double>(moved), interval_ms) <
            static_cast<std::uint64_t>(params_.calibrate_share * static_cast<double>(link))) {
      return;  // too little background traffic to tell its overhead
    }
    double ratio = static_cast<double>(seen) / static_cast<double>(moved);
    // Below min_overhead: the transfers read bytes the socket had buffered earlier.
    if (ratio < params_.min_overhead || ratio >= estimate) return;
    estimate += params_.calibrate_step * (ratio - estimate);  // one odd sample moves it little
  };
  if (state_ != State::kFree) return;
  learn(overhead_.rx, interfaces.rx, background.rx, link_.rx);
  learn(overhead_.tx, interfaces.tx, background.tx, link_.tx);
}

double YieldController::other_level(std::int64_t interval_ms, Bytes interfaces, Bytes background) {
  auto bytes = [](std::uint64_t v) { return static_cast<double>(v); };
  calibrate(interval_ms, interfaces, background);
  double other_rx = bytes(interfaces.rx) - overhead_.rx * bytes(background.rx) -
                    params_.ack_overhead * bytes(background.tx);
  double other_tx = bytes(interfaces.tx) - overhead_.tx * bytes(background.tx) -
                    params_.ack_overhead * bytes(background.rx);
  other_ = {per_second(other_rx, interval_ms), per_second(other_tx, interval_ms)};
  auto decayed = [&](std::uint64_t seen, std::uint64_t now) {
    return std::max(now,
                    static_cast<std::uint64_t>(static_cast<double>(seen) * params_.link_decay));
  };
  link_ = {decayed(link_.rx, per_second(bytes(interfaces.rx), interval_ms)),
           decayed(link_.tx, per_second(bytes(interfaces.tx), interval_ms))};
  auto level = [&](std::uint64_t other, std::uint64_t link) {
    double threshold = std::max(static_cast<double>(params_.min_other),
                                params_.other_fraction * static_cast<double>(link));
    return static_cast<double>(other) / threshold;
  };
  return std::max(level(other_.rx, link_.rx), level(other_.tx, link_.tx));
}

bool YieldController::other_present(double level) {
  if (level <= 1) {
    busy_ = 0;
    ++quiet_;
    return false;
  }
  quiet_ = 0;
  ++busy_;
  return busy_ >= params_.detect_samples || level >= params_.strong_other;
}

void YieldController::grow() {
  double link = static_cast<double>(std::max(link_.rx, link_.tx));
  double next = static_cast<double>(cap_) * params_.ramp_factor;
  if (next >= params_.lift_at * link) {
    state_ = State::kFree;
    cap_ = 0;
    return;
  }
  cap_ = static_cast<std::uint64_t>(next);
}

void YieldController::observe(std::int64_t interval_ms, Bytes interfaces, Bytes background) {
  if (interval_ms <= 0) return;
  double level = other_level(interval_ms, interfaces, background);
  bool present = other_present(level);
  if (present) {
    state_ = State::kYielding;
    cap_ = params_.trickle;
    return;
  }
  if (state_ == State::kYielding && quiet_ >= params_.quiet_samples) {
    state_ = State::kGrowing;
    double link = static_cast<double>(std::max(link_.rx, link_.tx));
    cap_ = std::max(params_.trickle, static_cast<std::uint64_t>(params_.ramp_start * link));
  } else if (state_ == State::kGrowing && level <= 1) {
    grow();
  }
}

void YieldController::reset() {
  state_ = State::kFree;
  cap_ = 0;
  busy_ = 0;
  quiet_ = 0;
  other_ = {};
}

}  // namespace openbits::daemon
