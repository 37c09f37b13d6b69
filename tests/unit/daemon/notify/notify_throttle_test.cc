// JobModification spacing (MINIMUM_NOTIFICATION_INTERVAL_MS) on a fake clock.
#include "src/daemon/notify/notify_throttle.h"

#include <gtest/gtest.h>

#include "tests/support/fake_clock.h"

namespace openbits::daemon {
namespace {

TEST(NotifyThrottle, FirstChangeIsSentAtOnce) {
  FakeClock clock;
  NotifyThrottle throttle;
  EXPECT_TRUE(throttle.change(clock.monotonic_ms(), 500));
  EXPECT_FALSE(throttle.due());
}

TEST(NotifyThrottle, ChangesWithinTheIntervalAreCoalescedIntoOneSendAtItsEnd) {
  FakeClock clock;
  NotifyThrottle throttle;
  std::int64_t start = clock.monotonic_ms();
  ASSERT_TRUE(throttle.change(start, 500));
  clock.advance_ms(100);
  EXPECT_FALSE(throttle.change(clock.monotonic_ms(), 500));
  clock.advance_ms(100);
  EXPECT_FALSE(throttle.change(clock.monotonic_ms(), 500));
  ASSERT_TRUE(throttle.due());
  EXPECT_EQ(*throttle.due(), start + 500);
  clock.advance_ms(299);
  EXPECT_FALSE(throttle.fire(clock.monotonic_ms()));  // early
  clock.advance_ms(1);
  EXPECT_TRUE(throttle.fire(clock.monotonic_ms()));
  EXPECT_FALSE(throttle.fire(clock.monotonic_ms()));  // only once
  EXPECT_FALSE(throttle.due());
  // The next change is again an interval after that send.
  clock.advance_ms(10);
  EXPECT_FALSE(throttle.change(clock.monotonic_ms(), 500));
  EXPECT_EQ(*throttle.due(), start + 1000);
}

TEST(NotifyThrottle, ChangeAfterTheIntervalIsSentAtOnce) {
  FakeClock clock;
  NotifyThrottle throttle;
  ASSERT_TRUE(throttle.change(clock.monotonic_ms(), 500));
  clock.advance_ms(500);
  EXPECT_TRUE(throttle.change(clock.monotonic_ms(), 500));
}

TEST(NotifyThrottle, ZeroIntervalSendsEveryChange) {
  FakeClock clock;
  NotifyThrottle throttle;
  EXPECT_TRUE(throttle.change(clock.monotonic_ms(), 0));
  EXPECT_TRUE(throttle.change(clock.monotonic_ms(), 0));
}

TEST(NotifyThrottle, DropCancelsThePendingSend) {
  FakeClock clock;
  NotifyThrottle throttle;
  ASSERT_TRUE(throttle.change(clock.monotonic_ms(), 500));
  EXPECT_FALSE(throttle.change(clock.monotonic_ms(), 500));
  throttle.drop();
  clock.advance_ms(600);
  EXPECT_FALSE(throttle.fire(clock.monotonic_ms()));
  EXPECT_TRUE(throttle.change(clock.monotonic_ms(), 500));
}

}  // namespace
}  // namespace openbits::daemon
