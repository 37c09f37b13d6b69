// RatePacer alone: the token bucket the engine paces transfers with, on a hand-driven
// millisecond clock.
#include "src/daemon/transfer/rate_pacer.h"

#include <gtest/gtest.h>

namespace openbits::daemon {
namespace {

// Takes what the bucket allows every `step_ms` (up to `chunk` at once, whole chunks as
// libcurl hands them over) for `duration_ms`; the bytes taken.
std::uint64_t drain(RatePacer& pacer, std::int64_t start_ms, std::int64_t duration_ms,
                    std::int64_t step_ms, std::uint64_t chunk) {
  std::uint64_t taken = 0;
  for (std::int64_t now = start_ms; now < start_ms + duration_ms; now += step_ms) {
    while (pacer.allowance(now) > 0) {
      pacer.consume(chunk, now);
      taken += chunk;
    }
  }
  return taken;
}

TEST(RatePacerTest, UnlimitedAllowsEverythingAndNeverWaits) {
  RatePacer pacer;
  EXPECT_FALSE(pacer.limited());
  EXPECT_EQ(pacer.allowance(0), RatePacer::kUnlimited);
  pacer.consume(1u << 30, 0);
  EXPECT_EQ(pacer.allowance(0), RatePacer::kUnlimited);
  EXPECT_EQ(pacer.wait_ms(0), 0);
}

TEST(RatePacerTest, AverageHoldsOverTenSecondsWithChunksLargerThanTheAllowance) {
  RatePacer pacer;
  pacer.set_rate(100'000, 0);
  // 64 KiB chunks against 100 kB/s: each chunk leaves the bucket in debt.
  std::uint64_t taken = drain(pacer, 0, 10'000, 5, 64 * 1024);
  EXPECT_GE(taken, 1'000'000u - 64 * 1024);
  EXPECT_LE(taken, 1'000'000u + 64 * 1024 + pacer.burst());
}

TEST(RatePacerTest, DebtMakesItWaitForTheTimeTheExcessTakes) {
  RatePacer pacer;
  pacer.set_rate(1000, 0);  // burst 4 KiB
  ASSERT_GT(pacer.allowance(0), 0u);
  pacer.consume(4096 + 2000, 0);  // 2,000 bytes of debt: 2 s at 1,000 B/s
  EXPECT_EQ(pacer.allowance(0), 0u);
  EXPECT_GE(pacer.wait_ms(0), 2000);
  EXPECT_LE(pacer.wait_ms(0), 2002);
  EXPECT_EQ(pacer.allowance(1999), 0u);
  EXPECT_GT(pacer.allowance(2002), 0u);
}

TEST(RatePacerTest, IdleTimeSavesNoMoreThanOneBurst) {
  RatePacer pacer;
  pacer.set_rate(1'000'000, 0);
  EXPECT_LE(pacer.allowance(60'000), pacer.burst());
}

TEST(RatePacerTest, RateChangeAppliesAtOnce) {
  RatePacer pacer;
  pacer.set_rate(1'000'000, 0);
  std::uint64_t fast = drain(pacer, 0, 2'000, 5, 16 * 1024);
  pacer.set_rate(100'000, 2'000);
  std::uint64_t slow = drain(pacer, 2'000, 2'000, 5, 16 * 1024);
  EXPECT_GT(fast, 1'900'000u);
  EXPECT_LT(slow, 260'000u);  // 200,000 plus one burst and one chunk
  pacer.set_rate(0, 4'000);
  EXPECT_EQ(pacer.allowance(4'000), RatePacer::kUnlimited);
}

TEST(RatePacerTest, TwoTakersOfOneBucketShareItsRate) {
  RatePacer pacer;
  pacer.set_rate(200'000, 0);
  std::uint64_t a = 0;
  std::uint64_t b = 0;
  for (std::int64_t now = 0; now < 10'000; now += 5) {
    if (pacer.allowance(now) > 0) {
      pacer.consume(8192, now);
      a += 8192;
    }
    if (pacer.allowance(now) > 0) {
      pacer.consume(8192, now);
      b += 8192;
    }
  }
  EXPECT_LE(a + b, 2'000'000u + 2 * 8192 + pacer.burst());
  EXPECT_GE(a + b, 2'000'000u - 2 * 8192);
}

}  // namespace
}  // namespace openbits::daemon
