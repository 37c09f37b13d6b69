// The tick's index (JobTable::timed(), idle_since()): which jobs the tick visits, kept as
// jobs change state and activity, with a fake clock; and the scheduling behaviours that
// depend on it seen through JobManager: a job becomes due, is suspended, cancelled, changes
// priority, stays idle among many suspended jobs.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "openbits/names.h"
#include "src/daemon/core/job_table.h"
#include "tests/support/daemon_fixture.h"

namespace openbits::daemon::testing {
namespace {

constexpr std::int64_t kDayS = 24 * 3600;

class JobTableIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = Store::open(dir.path() + "/jobs.db");
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    store = std::move(opened).value();
    table = std::make_unique<JobTable>(*store, clock);
  }
  // A job with the given id byte, created now (its last activity), in `state`.
  JobRecord& add(std::uint8_t id_byte, JobState state = JobState::kSuspended) {
    auto job = std::make_unique<JobRecord>();
    job->info.id.bytes[0] = id_byte;
    job->info.state = state;
    job->last_activity_ms = clock.wall_ms();
    job->creation_order = table->next_creation_order();
    JobRecord& record = *job;
    table->insert(std::move(job));
    return record;
  }
  bool timed(const JobRecord& job) const { return table->timed().count(job.info.id) == 1; }
  std::vector<std::uint8_t> idle_ids(std::int64_t wall_ms) const {
    std::vector<std::uint8_t> ids;
    for (const JobRecord* job : table->idle_since(wall_ms)) ids.push_back(job->info.id.bytes[0]);
    return ids;
  }

  TempDir dir;
  FakeClock clock;
  std::unique_ptr<Store> store;
  std::unique_ptr<JobTable> table;
};

TEST_F(JobTableIndexTest, ASuspendedJobHasNoTimerButInactivity) {
  JobRecord& job = add(1);
  EXPECT_FALSE(timed(job));
  EXPECT_TRUE(idle_ids(clock.wall_ms() - 1).empty());
  EXPECT_EQ(idle_ids(clock.wall_ms()), std::vector<std::uint8_t>{1});
}

TEST_F(JobTableIndexTest, StatesWithTimersAreTimed) {
  JobRecord& job = add(1);
  for (JobState state : {JobState::kQueued, JobState::kConnecting, JobState::kTransferring,
                         JobState::kTransientError}) {
    table->set_state(job, state);
    EXPECT_TRUE(timed(job)) << to_string(state);
  }
  for (JobState state : {JobState::kSuspended, JobState::kError, JobState::kTransferred}) {
    table->set_state(job, JobState::kQueued);
    table->set_state(job, state);
    EXPECT_FALSE(timed(job)) << to_string(state);
    EXPECT_EQ(idle_ids(clock.wall_ms()), std::vector<std::uint8_t>{1}) << to_string(state);
  }
}

TEST_F(JobTableIndexTest, AJobLoadedInATimedStateIsTimed) {
  JobRecord& job = add(1, JobState::kTransientError);
  EXPECT_TRUE(timed(job));
}

TEST_F(JobTableIndexTest, AFinalJobLeavesTheIndex) {
  JobRecord& cancelled = add(1, JobState::kQueued);
  JobRecord& acknowledged = add(2, JobState::kTransferred);
  table->set_state(cancelled, JobState::kCancelled);
  table->set_state(acknowledged, JobState::kAcknowledged);
  EXPECT_TRUE(table->timed().empty());
  EXPECT_TRUE(idle_ids(clock.wall_ms()).empty());
}

TEST_F(JobTableIndexTest, ActivityMovesTheJobInTheIdleIndex) {
  JobRecord& a = add(1);
  JobRecord& b = add(2);
  std::int64_t created = clock.wall_ms();
  clock.advance_s(kDayS);
  table->mark_active(a);
  EXPECT_EQ(a.last_activity_ms, clock.wall_ms());
  EXPECT_EQ(idle_ids(created), std::vector<std::uint8_t>{2});
  EXPECT_EQ(idle_ids(clock.wall_ms()), (std::vector<std::uint8_t>{1, 2}));
  (void)b;
}

TEST_F(JobTableIndexTest, IdleJobsComeInIdOrder) {
  add(3);
  clock.advance_s(1);
  add(1);
  clock.advance_s(1);
  add(2);
  EXPECT_EQ(idle_ids(clock.wall_ms()), (std::vector<std::uint8_t>{1, 2, 3}));
}

TEST_F(JobTableIndexTest, TimedJobsComeInIdOrder) {
  add(3, JobState::kQueued);
  add(1, JobState::kTransientError);
  add(2, JobState::kQueued);
  std::vector<std::uint8_t> ids;
  for (const auto& [id, job] : table->timed()) ids.push_back(id.bytes[0]);
  EXPECT_EQ(ids, (std::vector<std::uint8_t>{1, 2, 3}));
}

TEST_F(JobTableIndexTest, ForgottenJobsLeaveEveryIndex) {
  JobRecord& old_job = add(1);
  table->set_state(old_job, JobState::kCancelled);
  clock.advance_ms(1000);
  JobRecord& recent = add(2);
  table->set_state(recent, JobState::kCancelled);
  table->forget_final_jobs(1000);  // the first one was final 1000 ms ago, the second 0 ms
  EXPECT_EQ(table->records().size(), 1u);
  EXPECT_EQ(table->records().count(recent.info.id), 1u);
  EXPECT_EQ(table->by_creation().size(), 1u);
  clock.advance_ms(1000);
  table->forget_final_jobs(1000);
  EXPECT_TRUE(table->records().empty());
  EXPECT_TRUE(table->by_creation().empty());
}

// Through JobManager: the behaviours the index must keep.
class TickIndexTest : public DaemonTest {
 protected:
  Caller me = user_caller();

  Guid transient_job(std::uint32_t retry_delay) {
    Guid id = make_job(me);
    EXPECT_TRUE(manager->set_property(me, id, "minimum_retry_delay", retry_delay).ok());
    EXPECT_TRUE(manager->resume(me, id).ok());
    manager->on_error(backend.last_token(), hr::WINHTTP_CANNOT_CONNECT,
                      ErrorContext::kGeneralTransport, true, 0, "refused");
    return id;
  }
};

TEST_F(TickIndexTest, AJobBecomesDueAmongManySuspendedOnes) {
  for (int i = 0; i < 50; ++i) make_job(me);
  Guid id = transient_job(60);
  clock.advance_s(59);
  manager->tick();
  EXPECT_EQ(state_of(id), JobState::kTransientError);
  clock.advance_s(1);
  manager->tick();
  EXPECT_EQ(state_of(id), JobState::kConnecting);
  EXPECT_EQ(backend.started.size(), 2u);
}

TEST_F(TickIndexTest, ASuspendedRetryIsNotDueUntilResumed) {
  Guid id = transient_job(60);
  ASSERT_TRUE(manager->suspend(me, id).ok());
  clock.advance_s(120);
  manager->tick();
  EXPECT_EQ(state_of(id), JobState::kSuspended);
  EXPECT_EQ(backend.started.size(), 1u);
  ASSERT_TRUE(manager->resume(me, id).ok());
  manager->tick();
  EXPECT_EQ(state_of(id), JobState::kConnecting);
  EXPECT_EQ(backend.started.size(), 2u);
}

TEST_F(TickIndexTest, ACancelledRetryIsNeverDue) {
  Guid id = transient_job(60);
  ASSERT_TRUE(manager->cancel(me, id).ok());
  clock.advance_s(120);
  manager->tick();
  EXPECT_EQ(state_of(id), JobState::kCancelled);
  EXPECT_EQ(backend.started.size(), 1u);
}

TEST_F(TickIndexTest, APriorityChangeIsSeenByTheNextDecision) {
  Guid running = make_job(me);
  ASSERT_TRUE(manager->resume(me, running).ok());
  Guid waiting = make_job(me);
  ASSERT_TRUE(manager->resume(me, waiting).ok());
  ASSERT_EQ(state_of(waiting), JobState::kQueued);
  ASSERT_TRUE(manager->set_property(me, waiting, "priority", "HIGH").ok());
  manager->tick();
  EXPECT_EQ(state_of(waiting), JobState::kConnecting);
  EXPECT_EQ(state_of(running), JobState::kQueued);
}

TEST_F(TickIndexTest, ActivityPostponesTheInactivityCancel) {
  Guid idle = make_job(me);
  Guid renewed = make_job(me);
  clock.advance_s(45 * kDayS);
  ASSERT_TRUE(manager->set_property(me, renewed, "description", "still wanted").ok());
  clock.advance_s(45 * kDayS);
  manager->tick();
  EXPECT_EQ(state_of(idle), JobState::kCancelled);
  EXPECT_EQ(state_of(renewed), JobState::kSuspended);
  clock.advance_s(45 * kDayS);
  manager->tick();
  EXPECT_EQ(state_of(renewed), JobState::kCancelled);
}

TEST_F(TickIndexTest, AnErrorJobIsCancelledWhenInactive) {
  Guid id = make_job(me);
  ASSERT_TRUE(manager->resume(me, id).ok());
  manager->on_error(backend.last_token(), http_error(404), ErrorContext::kRemoteFile, false, 0, "");
  ASSERT_EQ(state_of(id), JobState::kError);
  clock.advance_s(90 * kDayS);
  manager->tick();
  EXPECT_EQ(state_of(id), JobState::kCancelled);
}

}  // namespace
}  // namespace openbits::daemon::testing
