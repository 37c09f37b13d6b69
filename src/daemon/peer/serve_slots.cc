// Turns of the peer server's bodies; see serve_slots.h.
#include "src/daemon/peer/serve_slots.h"

#include <algorithm>

namespace openbits::daemon {

namespace asio = boost::asio;

asio::awaitable<std::unique_ptr<ServeSlots::Slot>> ServeSlots::acquire(
    std::chrono::milliseconds patience) {
  std::shared_ptr<Waiter> waiter;
  {
    std::lock_guard lock(mutex_);
    if (free_ > 0 && waiters_.empty()) {
      --free_;
      ++held_;
      co_return std::make_unique<Slot>(this);
    }
    waiter = std::make_shared<Waiter>(co_await asio::this_coro::executor);
    waiter->timer.expires_after(patience);
    waiters_.push_back(waiter);
  }
  boost::system::error_code ec;
  co_await waiter->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  std::lock_guard lock(mutex_);
  if (waiter->granted) co_return std::make_unique<Slot>(this);  // release() counted it held
  waiters_.erase(std::remove(waiters_.begin(), waiters_.end(), waiter), waiters_.end());
  co_return nullptr;
}

void ServeSlots::release() {
  std::lock_guard lock(mutex_);
  if (waiters_.empty()) {
    ++free_;
    --held_;
    return;
  }
  std::shared_ptr<Waiter> next = waiters_.front();
  waiters_.pop_front();
  next->granted = true;  // the slot passes to it: held_ stays
  // The timer is only touched on its own executor (the waiter's strand).
  asio::post(next->timer.get_executor(), [next] { next->timer.cancel(); });
}

std::size_t ServeSlots::busy() const {
  std::lock_guard lock(mutex_);
  return held_;
}

std::size_t ServeSlots::waiting() const {
  std::lock_guard lock(mutex_);
  return waiters_.size();
}

}  // namespace openbits::daemon
