// ServeSlots: at most N responses with bodies at once (peer_max_clients). Others wait their
// turn, first come first served, for a bounded time (BITS: wait, then try another peer or
// the origin). Acquire on any strand or thread; a turn is handed from the releasing
// response to the longest-waiting one. Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>

#include "src/common/asio.h"

namespace openbits::daemon {

class ServeSlots {
 public:
  explicit ServeSlots(std::size_t slots) : free_(slots) {}

  // Holding one slot; releases it (to the next waiter, if any) when destroyed.
  class Slot {
   public:
    explicit Slot(ServeSlots* owner) : owner_(owner) {}
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot() { owner_->release(); }

   private:
    ServeSlots* owner_;
  };

  // A slot, at once or after waiting up to `patience`; null when none came in time. The
  // ServeSlots must outlive the slots and the waits.
  boost::asio::awaitable<std::unique_ptr<Slot>> acquire(std::chrono::milliseconds patience);

  std::size_t busy() const;     // slots held
  std::size_t waiting() const;  // acquires waiting

 private:
  struct Waiter {
    explicit Waiter(const boost::asio::any_io_executor& executor) : timer(executor) {}
    boost::asio::steady_timer timer;
    bool granted = false;
  };
  void release();

  mutable std::mutex mutex_;
  std::size_t free_;
  std::size_t held_ = 0;
  std::deque<std::shared_ptr<Waiter>> waiters_;
};

}  // namespace openbits::daemon
