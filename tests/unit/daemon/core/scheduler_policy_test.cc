// Scheduler alone: the choice of which jobs start and stop, from plain entries, a time and
// a policy, with no store, engine or JobManager (scheduler.h).
#include <gtest/gtest.h>

#include <vector>

#include "src/daemon/core/scheduler.h"

namespace openbits::daemon {
namespace {

using Action = ScheduleDecision::Action;

Guid id_of(std::uint8_t n) {
  Guid id;
  id.bytes[15] = n;
  return id;
}

ScheduleEntry queued(std::uint8_t n, JobPriority priority, std::uint64_t order) {
  return {id_of(n), priority, true, false, order, 0};
}

ScheduleEntry running(std::uint8_t n, JobPriority priority, std::uint64_t order,
                      std::int64_t slice_started_ms) {
  return {id_of(n), priority, false, true, order, slice_started_ms};
}

// The steps as (action, job number) pairs, for readable expectations.
std::vector<std::pair<Action, int>> steps_of(const ScheduleDecision& decision) {
  std::vector<std::pair<Action, int>> steps;
  for (const auto& step : decision.steps) steps.emplace_back(step.action, step.id.bytes[15]);
  return steps;
}

class SchedulerPolicyTest : public ::testing::Test {
 protected:
  Scheduler scheduler;
  SchedulePolicy policy{1, 1000};

  std::vector<std::pair<Action, int>> decide(const std::vector<ScheduleEntry>& jobs,
                                             std::int64_t now_ms = 10'000) {
    return steps_of(scheduler.decide(jobs, now_ms, policy));
  }
};

TEST_F(SchedulerPolicyTest, NothingQueuedStartsNothing) {
  EXPECT_TRUE(decide({running(1, JobPriority::kNormal, 1, 0)}).empty());
}

TEST_F(SchedulerPolicyTest, ForegroundJobsStartAtOnceBesideTheBackgroundLimit) {
  auto steps =
      decide({running(1, JobPriority::kNormal, 1, 9'900), queued(2, JobPriority::kForeground, 2),
              queued(3, JobPriority::kForeground, 3)});
  EXPECT_EQ(steps, (std::vector<std::pair<Action, int>>{{Action::kStart, 2}, {Action::kStart, 3}}));
}

TEST_F(SchedulerPolicyTest, BackgroundJobsStartByPriorityUpToTheLimit) {
  policy.max_background_jobs = 2;
  auto steps = decide({queued(1, JobPriority::kLow, 1), queued(2, JobPriority::kNormal, 2),
                       queued(3, JobPriority::kHigh, 3)});
  EXPECT_EQ(steps, (std::vector<std::pair<Action, int>>{{Action::kStart, 3}, {Action::kStart, 2}}));
}

TEST_F(SchedulerPolicyTest, EqualPriorityStartsInQueueOrder) {
  auto steps = decide({queued(1, JobPriority::kNormal, 7), queued(2, JobPriority::kNormal, 3)});
  EXPECT_EQ(steps, (std::vector<std::pair<Action, int>>{{Action::kStart, 2}}));
}

TEST_F(SchedulerPolicyTest, HigherPriorityStopsTheRunningJob) {
  auto steps = decide({running(1, JobPriority::kLow, 1, 9'999), queued(2, JobPriority::kHigh, 2)});
  EXPECT_EQ(steps, (std::vector<std::pair<Action, int>>{{Action::kStop, 1}, {Action::kStart, 2}}));
}

TEST_F(SchedulerPolicyTest, LowerPriorityWaitsWhateverTheSlice) {
  auto steps = decide({running(1, JobPriority::kHigh, 1, 0), queued(2, JobPriority::kLow, 2)});
  EXPECT_TRUE(steps.empty());
}

TEST_F(SchedulerPolicyTest, EqualPriorityWaitsUntilTheTimeSliceIsOver) {
  std::vector<ScheduleEntry> jobs{running(1, JobPriority::kNormal, 1, 9'000),
                                  queued(2, JobPriority::kNormal, 2)};
  EXPECT_TRUE(decide(jobs, 9'999).empty());
  EXPECT_EQ(decide(jobs, 10'000),
            (std::vector<std::pair<Action, int>>{{Action::kStop, 1}, {Action::kStart, 2}}));
}

TEST_F(SchedulerPolicyTest, AJobStartedNowIsNotPreemptedInTheSameDecision) {
  // 2 takes 1's place; 3, of the same priority, must wait for 2's slice.
  auto steps = decide({running(1, JobPriority::kNormal, 1, 0), queued(2, JobPriority::kNormal, 2),
                       queued(3, JobPriority::kNormal, 3)});
  EXPECT_EQ(steps, (std::vector<std::pair<Action, int>>{{Action::kStop, 1}, {Action::kStart, 2}}));
}

TEST_F(SchedulerPolicyTest, ForegroundRunningJobsDoNotCountAgainstTheLimit) {
  auto steps =
      decide({running(1, JobPriority::kForeground, 1, 0), queued(2, JobPriority::kLow, 2)});
  EXPECT_EQ(steps, (std::vector<std::pair<Action, int>>{{Action::kStart, 2}}));
}

TEST_F(SchedulerPolicyTest, NoBackgroundPlacesStartsOnlyForeground) {
  policy.max_background_jobs = 0;
  auto steps = decide({queued(1, JobPriority::kHigh, 1), queued(2, JobPriority::kForeground, 2)});
  EXPECT_EQ(steps, (std::vector<std::pair<Action, int>>{{Action::kStart, 2}}));
}

// Bandwidth limits: scheduler_bandwidth_test.cc.
TEST_F(SchedulerPolicyTest, WithoutABandwidthPolicyEveryStartIsUnlimitedInItsPool) {
  ScheduleDecision decision = scheduler.decide({queued(1, JobPriority::kNormal, 1)}, 0, policy);
  ASSERT_EQ(decision.steps.size(), 1u);
  EXPECT_EQ(decision.steps[0].rate, (RateBudget{rate_pool(JobPriority::kNormal), std::nullopt}));
  EXPECT_FALSE(decision.steps[0].rate.bytes_per_second.has_value());
}

}  // namespace
}  // namespace openbits::daemon
