// The bandwidth policy in scheduling: the Scheduler alone (rate pools per priority, blocks
// and unblocks at a given local week time), then through JobManager with a fake clock and
// backend (a limit of 0 puts a job in TRANSIENT_ERROR with BG_E_BLOCKED_BY_POLICY until
// the window ends, then it is QUEUED and runs on; every background transfer is in its
// priority's pool).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "src/daemon/core/scheduler.h"
#include "tests/support/daemon_fixture.h"

namespace openbits::daemon::testing {
namespace {

using Action = ScheduleDecision::Action;

Guid id_of(std::uint8_t n) {
  Guid id;
  id.bytes[15] = n;
  return id;
}

ScheduleEntry entry(std::uint8_t n, JobPriority priority, bool queued, bool blocked = false) {
  return {id_of(n), priority, queued, !queued && !blocked, n, 0, blocked};
}

std::vector<std::pair<Action, int>> steps_of(const ScheduleDecision& decision) {
  std::vector<std::pair<Action, int>> steps;
  for (const auto& step : decision.steps) steps.emplace_back(step.action, step.id.bytes[15]);
  return steps;
}

constexpr int kMon = 1;
constexpr int kTue = 2;

class SchedulerBandwidthTest : public ::testing::Test {
 protected:
  ScheduleDecision decide(const std::vector<ScheduleEntry>& jobs, WeekTime now) {
    SchedulePolicy policy{1, 1000, &bandwidth, now};
    return Scheduler().decide(jobs, 5000, policy);
  }
  BandwidthPolicy bandwidth;
};

TEST_F(SchedulerBandwidthTest, EachBackgroundPriorityHasOnePoolForegroundNone) {
  bandwidth.outside.normal = 100'000;
  ScheduleDecision d =
      decide({entry(1, JobPriority::kForeground, true), entry(2, JobPriority::kNormal, true)},
             {kMon, 3600});
  ASSERT_EQ(d.steps.size(), 2u);
  EXPECT_EQ(d.steps[0].rate, RateBudget{});  // foreground: no pool, unlimited
  EXPECT_EQ(d.steps[1].rate, (RateBudget{rate_pool(JobPriority::kNormal), 100'000}));
  ASSERT_EQ(d.pools.size(), 3u);
  EXPECT_EQ(d.pools[0], (RateBudget{rate_pool(JobPriority::kHigh), std::nullopt}));
  EXPECT_EQ(d.pools[1], (RateBudget{rate_pool(JobPriority::kNormal), 100'000}));
  EXPECT_EQ(d.pools[2], (RateBudget{rate_pool(JobPriority::kLow), std::nullopt}));
  EXPECT_NE(rate_pool(JobPriority::kHigh), rate_pool(JobPriority::kLow));
}

// Monday 22:00 to Tuesday 02:00 blocks LOW: a queued and a running LOW job are blocked,
// NORMAL runs; after 02:00 they are unblocked.
TEST_F(SchedulerBandwidthTest, AZeroLimitBlocksItsPriorityUntilTheWindowEnds) {
  bandwidth.windows.push_back({1u << kMon, 22 * 3600, 2 * 3600, {std::nullopt, std::nullopt, 0}});
  std::vector<ScheduleEntry> jobs = {entry(1, JobPriority::kLow, false),
                                     entry(2, JobPriority::kLow, true),
                                     entry(3, JobPriority::kNormal, true)};
  ScheduleDecision inside = decide(jobs, {kTue, 3600});
  EXPECT_EQ(steps_of(inside), (std::vector<std::pair<Action, int>>{
                                  {Action::kBlock, 1}, {Action::kBlock, 2}, {Action::kStart, 3}}));
  EXPECT_EQ(inside.pools[2].bytes_per_second, std::optional<std::uint64_t>(0));
  std::vector<ScheduleEntry> blocked = {entry(1, JobPriority::kLow, false, true),
                                        entry(2, JobPriority::kLow, false, true)};
  EXPECT_TRUE(decide(blocked, {kTue, 2 * 3600 - 1}).steps.empty());
  EXPECT_EQ(steps_of(decide(blocked, {kTue, 2 * 3600})),
            (std::vector<std::pair<Action, int>>{{Action::kUnblock, 1}, {Action::kUnblock, 2}}));
  EXPECT_TRUE(decide({entry(4, JobPriority::kForeground, true)}, {kTue, 3600}).steps.size() == 1);
}

TEST_F(SchedulerBandwidthTest, TheMaintenanceWindowOverridesTheOthers) {
  bandwidth.outside.normal = 0;
  bandwidth.maintenance = BandwidthWindow{1u << kMon, 0, 6 * 3600, {std::nullopt, 5000, 0}};
  ScheduleDecision d = decide({entry(1, JobPriority::kNormal, true)}, {kMon, 3600});
  EXPECT_EQ(steps_of(d), (std::vector<std::pair<Action, int>>{{Action::kStart, 1}}));
  EXPECT_EQ(d.steps[0].rate.bytes_per_second, std::optional<std::uint64_t>(5000));
  EXPECT_EQ(steps_of(decide({entry(1, JobPriority::kNormal, true)}, {kMon, 7 * 3600})),
            (std::vector<std::pair<Action, int>>{{Action::kBlock, 1}}));
}

// Through JobManager: the job's window is the current local minute and the next one, so the
// fake clock crosses its end.
class BandwidthPolicyManagerTest : public DaemonTest {
 protected:
  void SetUp() override {}
  void open_with(const PriorityLimits& inside, std::int32_t window_length_s) {
    WeekTime now = local_week_time(clock.wall_ms());
    BandwidthWindow w;
    w.days = static_cast<std::uint8_t>(1u << now.weekday);
    w.from_s = now.second;
    w.to_s = (now.second + window_length_s) % (24 * 3600);
    w.limits = inside;
    config.bandwidth.windows = {w};
    open_manager();
  }
  Caller me = user_caller();
};

TEST_F(BandwidthPolicyManagerTest, ZeroLimitBlocksUntilTheWindowEndsThenTheJobRunsOn) {
  open_with({std::nullopt, 0, std::nullopt}, 60);
  Guid id = make_job(me);
  ASSERT_TRUE(manager->resume(me, id).ok());
  manager->tick();
  EXPECT_EQ(state_of(id), JobState::kTransientError);
  auto info = manager->job_info(me, id);
  EXPECT_EQ(info->error->code, hr::BG_E_BLOCKED_BY_POLICY);
  EXPECT_TRUE(backend.running.empty());
  clock.advance_s(30);
  manager->tick();
  EXPECT_EQ(state_of(id), JobState::kTransientError);
  clock.advance_s(31);
  manager->tick();  // unblocked: QUEUED
  manager->tick();  // started
  EXPECT_EQ(state_of(id), JobState::kConnecting);
  EXPECT_EQ(backend.pool_of.at(backend.last_token()), rate_pool(JobPriority::kNormal));
  finish_transfer(backend.last_token());
  EXPECT_EQ(state_of(id), JobState::kTransferred);
}

TEST_F(BandwidthPolicyManagerTest, ARunningJobIsBlockedWhenItsLimitBecomesZero) {
  WeekTime now = local_week_time(clock.wall_ms());
  BandwidthWindow w;
  w.days = static_cast<std::uint8_t>(1u << now.weekday);
  w.from_s = (now.second + 10) % (24 * 3600);
  w.to_s = (now.second + 20) % (24 * 3600);
  w.limits.normal = 0;
  config.bandwidth.windows = {w};
  config.bandwidth.outside.normal = 123'456;
  open_manager();
  Guid id = make_job(me);
  ASSERT_TRUE(manager->resume(me, id).ok());
  manager->on_connected(backend.last_token());
  manager->tick();
  EXPECT_EQ(backend.pool_rates.at(rate_pool(JobPriority::kNormal)), 123'456u);
  std::uint64_t first = backend.last_token();
  clock.advance_s(10);
  manager->tick();
  EXPECT_EQ(state_of(id), JobState::kTransientError);
  EXPECT_EQ(manager->job_info(me, id)->error->code, hr::BG_E_BLOCKED_BY_POLICY);
  EXPECT_EQ(backend.stopped, std::vector<std::uint64_t>{first});
  clock.advance_s(10);
  manager->tick();
  manager->tick();
  EXPECT_EQ(state_of(id), JobState::kConnecting);
  EXPECT_GT(backend.last_token(), first);
}

// Regression: a job whose priority changed while it ran stayed in its old pool until its
// next file, so a job made FOREGROUND went on yielding and obeying background limits.
TEST_F(BandwidthPolicyManagerTest, APriorityChangeMovesTheRunningTransferToItsNewPool) {
  open_manager();
  Guid id = make_job(me);
  ASSERT_TRUE(manager->resume(me, id).ok());
  manager->tick();
  std::uint64_t token = backend.last_token();
  ASSERT_NE(token, 0u);
  EXPECT_EQ(backend.pool_of.at(token), rate_pool(JobPriority::kNormal));
  ASSERT_TRUE(manager->set_property(me, id, "priority", nlohmann::json("FOREGROUND")).ok());
  EXPECT_EQ(backend.last_token(), token);    // the same transfer runs on
  EXPECT_EQ(backend.pool_of.at(token), 0u);  // out of every pool
  ASSERT_TRUE(manager->set_property(me, id, "priority", nlohmann::json("HIGH")).ok());
  EXPECT_EQ(backend.pool_of.at(token), rate_pool(JobPriority::kHigh));
}

}  // namespace
}  // namespace openbits::daemon::testing
