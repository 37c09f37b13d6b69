// NotifyThrottle: the spacing of JobModification and FileRangesTransferred callbacks
// (BITS_JOB_PROPERTY_MINIMUM_NOTIFICATION_INTERVAL_MS). A change is sent at once when
// the previous send is at least the interval ago; otherwise changes are coalesced into
// one send when the interval has passed. Pure logic on millisecond timestamps (the
// caller's clock); not thread-safe.
#pragma once

#include <cstdint>
#include <optional>

namespace openbits::daemon {

class NotifyThrottle {
 public:
  // A change happened at `now_ms`. Returns true when it is to be sent now (the send is
  // recorded); false when it was folded into a pending send, whose time due() tells.
  bool change(std::int64_t now_ms, std::uint32_t interval_ms) {
    if (pending_) return false;
    if (!sent_once_ || now_ms - last_sent_ms_ >= std::int64_t{interval_ms}) {
      record(now_ms);
      return true;
    }
    pending_ = true;
    due_ms_ = last_sent_ms_ + std::int64_t{interval_ms};
    return false;
  }
  // When the pending send is due, if there is one.
  std::optional<std::int64_t> due() const {
    if (!pending_) return std::nullopt;
    return due_ms_;
  }
  // The timer for the pending send fired at `now_ms`: true when it is to be sent now.
  bool fire(std::int64_t now_ms) {
    if (!pending_ || now_ms < due_ms_) return false;
    pending_ = false;
    record(now_ms);
    return true;
  }
  // Drops a pending send (the job reached ERROR/TRANSFERRED, or nobody listens).
  void drop() { pending_ = false; }

 private:
  void record(std::int64_t now_ms) {
    sent_once_ = true;
    last_sent_ms_ = now_ms;
  }
  bool sent_once_ = false;
  bool pending_ = false;
  std::int64_t last_sent_ms_ = 0;
  std::int64_t due_ms_ = 0;
};

}  // namespace openbits::daemon
