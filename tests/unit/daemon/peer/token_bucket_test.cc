// TokenBucket: the serving rate cap shared by all connections, on explicit times.
#include "src/daemon/peer/token_bucket.h"

#include <gtest/gtest.h>

namespace openbits::daemon {
namespace {

using std::chrono::milliseconds;

TEST(TokenBucketTest, NoRateMeansNoWait) {
  TokenBucket bucket(0);
  EXPECT_EQ(bucket.reserve(1ull << 40).count(), 0);
}

TEST(TokenBucketTest, ABurstGoesAtOnceAndMoreWaitsForTheRate) {
  TokenBucket bucket(1000, 100);
  auto t0 = TokenBucket::Clock::time_point() + std::chrono::hours(1);
  EXPECT_EQ(bucket.reserve(100, t0).count(), 0);
  EXPECT_EQ(std::chrono::duration_cast<milliseconds>(bucket.reserve(500, t0)), milliseconds(500));
  // A second sender after it waits behind the first: the rate is shared.
  EXPECT_EQ(std::chrono::duration_cast<milliseconds>(bucket.reserve(500, t0)), milliseconds(1000));
  // After 2 s the debt is paid and a burst is allowed again, no more.
  EXPECT_EQ(bucket.reserve(100, t0 + milliseconds(2000 + 100)).count(), 0);
  EXPECT_EQ(std::chrono::duration_cast<milliseconds>(bucket.reserve(100, t0 + milliseconds(2100))),
            milliseconds(100));
}

TEST(TokenBucketTest, AQuietTimeSavesNoMoreThanTheBurst) {
  TokenBucket bucket(1000, 100);
  auto t0 = TokenBucket::Clock::time_point() + std::chrono::hours(1);
  bucket.reserve(100, t0);
  auto later = t0 + std::chrono::hours(1);
  EXPECT_EQ(std::chrono::duration_cast<milliseconds>(bucket.reserve(1100, later)),
            milliseconds(1000));
}

}  // namespace
}  // namespace openbits::daemon
