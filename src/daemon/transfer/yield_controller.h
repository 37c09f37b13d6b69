// YieldController: decides how fast background transfers may go so that they use only
// bandwidth nobody else wants, as BITS does, from the byte counters of the network
// interfaces they use. Each sample gives what the interfaces moved in an interval and what
// the background transfers moved (payload); the difference, less header overhead, is other
// traffic (FOREGROUND jobs included: they compete like any program). While other traffic is
// present the background cap drops to a trickle (never zero); once it is gone the cap
// grows multiplicatively from a share of the link rate seen and is lifted when it passes it.
//
// Pure arithmetic over the samples it is fed (the interval's length is given), so it is
// tested without a clock; not thread-safe (the engine thread owns it).
#pragma once

#include <cstdint>

namespace openbits::daemon {

struct YieldParams {
  std::uint64_t trickle = 16 * 1024;  // bytes/s while others use the link
  // Other traffic counts as present above max(min_other, other_fraction * link rate seen)
  // in either direction.
  std::uint64_t min_other = 32 * 1024;  // bytes/s
  double other_fraction = 0.05;
  // Interface bytes per payload byte in the same direction: at most `overhead` (Ethernet,
  // IP and TCP headers of 1448-byte segments are ~4.6 %; a veth with GRO counts ~0.2 %),
  // learnt while not yielding from samples where the background moved at least
  // `calibrate_share` of the link rate seen: a lower ratio (not below min_overhead) moves
  // the estimate `calibrate_step` of the way to it, and the estimate creeps back up by
  // `overhead_drift` per sample so that it follows a change of link. And per payload byte
  // of the other direction (ACKs, ~2-3 %): ack_overhead.
  double overhead = 1.06;
  double min_overhead = 1.0;
  double calibrate_share = 0.25;
  double calibrate_step = 0.1;
  double overhead_drift = 0.0005;
  double ack_overhead = 0.05;
  int detect_samples = 2;     // samples in a row above the threshold before yielding...
  double strong_other = 2;    // ...or one, above this many times the threshold
  int quiet_samples = 2;      // samples in a row below it before the cap grows again
  double ramp_start = 0.125;  // of the link rate seen, where growing starts
  double ramp_factor = 2;     // per sample while growing
  double lift_at = 1.5;       // the cap is lifted once above this many link rates
  double link_decay = 0.999;  // per sample: the link rate seen forgets slowly
};

class YieldController {
 public:
  struct Bytes {
    std::uint64_t rx = 0;
    std::uint64_t tx = 0;
  };
  enum class State { kFree, kYielding, kGrowing };

  explicit YieldController(YieldParams params = {}) : params_(params) {}

  // One interval of `interval_ms`: bytes the watched interfaces received and sent, and
  // the payload the background transfers received (downloads) and sent (uploads) through
  // them.
  void observe(std::int64_t interval_ms, Bytes interfaces, Bytes background);
  // No background transfer runs: forget the state (the link rates seen stay).
  void reset();

  // The background cap in bytes per second; 0: none.
  std::uint64_t cap() const { return cap_; }
  State state() const { return state_; }
  // Other traffic in the last interval, bytes per second (the larger direction's share of
  // its threshold decides; these are for logs and tests).
  Bytes other_rate() const { return other_; }
  Bytes link_rate() const { return link_; }
  double overhead_rx() const { return overhead_.rx; }

 private:
  // How many thresholds the other traffic of the last interval is (the larger direction).
  double other_level(std::int64_t interval_ms, Bytes interfaces, Bytes background);
  bool other_present(double level);
  void grow();

  YieldParams params_;
  State state_ = State::kFree;
  std::uint64_t cap_ = 0;
  int busy_ = 0;   // samples in a row above the threshold
  int quiet_ = 0;  // samples in a row below it
  // Interface bytes per background payload byte, same direction (see YieldParams).
  struct Overhead {
    double rx;
    double tx;
  };
  void calibrate(std::int64_t interval_ms, Bytes interfaces, Bytes background);

  Bytes other_;
  Bytes link_;
  Overhead overhead_{params_.overhead, params_.overhead};
};

}  // namespace openbits::daemon
