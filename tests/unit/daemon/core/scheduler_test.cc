// Automatic transitions (bits-spec §2.5) and scheduling, driven by a fake clock and a fake
// transfer backend: retry delay, no-progress timeout, maximum download time, inactivity
// cancel, priorities, round robin and restarts from the store.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/support/daemon_fixture.h"

namespace openbits::daemon::testing {
namespace {

class SchedulerTest : public DaemonTest {
 protected:
  Caller me = user_caller();

  Guid transient_job(std::uint32_t retry_delay, std::uint32_t no_progress) {
    Guid id = make_job(me);
    EXPECT_TRUE(manager->set_property(me, id, "minimum_retry_delay", retry_delay).ok());
    EXPECT_TRUE(manager->set_property(me, id, "no_progress_timeout", no_progress).ok());
    EXPECT_TRUE(manager->resume(me, id).ok());
    manager->on_error(backend.last_token(), hr::WINHTTP_CANNOT_CONNECT,
                      ErrorContext::kGeneralTransport, true, 0, "refused");
    return id;
  }
};

TEST_F(SchedulerTest, TransientErrorRetriesAfterMinimumRetryDelay) {
  Guid id = transient_job(60, 3600);
  EXPECT_EQ(state_of(id), JobState::kTransientError);
  clock.advance_s(59);
  manager->tick();
  EXPECT_EQ(state_of(id), JobState::kTransientError);
  clock.advance_s(1);
  manager->tick();
  EXPECT_EQ(state_of(id), JobState::kConnecting);
  EXPECT_EQ(backend.started.size(), 2u);
  EXPECT_EQ(manager->job_info(me, id)->error_count, 1u);
}

TEST_F(SchedulerTest, RetryAfterLongerThanTheRetryDelayIsHonoured) {
  Guid id = make_job(me);
  ASSERT_TRUE(manager->set_property(me, id, "minimum_retry_delay", 60).ok());
  ASSERT_TRUE(manager->resume(me, id).ok());
  manager->on_error(backend.last_token(), http_error(503), ErrorContext::kRemoteFile, true, 300,
                    "");
  clock.advance_s(299);
  manager->tick();
  EXPECT_EQ(state_of(id), JobState::kTransientError);
  manager->on_network_change(true);  // a link coming up does not override the server
  EXPECT_EQ(state_of(id), JobState::kTransientError);
  clock.advance_s(1);
  manager->tick();
  EXPECT_EQ(state_of(id), JobState::kConnecting);
}

TEST_F(SchedulerTest, RetryAfterShorterThanTheRetryDelayChangesNothing) {
  Guid id = make_job(me);
  ASSERT_TRUE(manager->set_property(me, id, "minimum_retry_delay", 60).ok());
  ASSERT_TRUE(manager->resume(me, id).ok());
  manager->on_error(backend.last_token(), http_error(429), ErrorContext::kRemoteFile, true, 10, "");
  clock.advance_s(59);
  manager->tick();
  EXPECT_EQ(state_of(id), JobState::kTransientError);
  clock.advance_s(1);
  manager->tick();
  EXPECT_EQ(state_of(id), JobState::kConnecting);
}

TEST_F(SchedulerTest, DisconnectedJobsWaitForTheNetworkNotTheTimer) {
  manager->set_network_events(true);
  Guid id = make_job(me);
  ASSERT_TRUE(manager->set_property(me, id, "minimum_retry_delay", 60).ok());
  ASSERT_TRUE(manager->resume(me, id).ok());
  manager->on_error(backend.last_token(), hr::BG_E_NETWORK_DISCONNECTED,
                    ErrorContext::kGeneralTransport, true, 0, "");
  EXPECT_EQ(manager->job_info(me, id)->error_count, 0u);  // not counted as an error
  clock.advance_s(3600);
  manager->tick();
  EXPECT_EQ(state_of(id), JobState::kTransientError);
  manager->on_network_change(false);  // something else went down: still waiting
  EXPECT_EQ(state_of(id), JobState::kTransientError);
  manager->on_network_change(true);
  EXPECT_EQ(state_of(id), JobState::kConnecting);
}

TEST_F(SchedulerTest, NetworkComingBackQueuesEveryTransientJob) {
  Guid a = transient_job(600, 3600);  // refused connection, 10 minutes to wait
  EXPECT_EQ(state_of(a), JobState::kTransientError);
  manager->on_network_change(true);
  EXPECT_EQ(state_of(a), JobState::kConnecting);
}

// Issue 12 item 5: network changes retry a waiting job at most once per
// min(retry delay, 60 s); a change within that floor moves the retry to its end.
TEST_F(SchedulerTest, NetworkChangesRetryAJobAtMostOncePerFloor) {
  Guid id = transient_job(600, 3600);
  manager->on_network_change(true);
  ASSERT_EQ(state_of(id), JobState::kConnecting);
  manager->on_error(backend.last_token(), hr::WINHTTP_CANNOT_CONNECT,
                    ErrorContext::kGeneralTransport, true, 0, "refused");
  clock.advance_s(30);
  manager->on_network_change(true);  // 30 s after the last one: within the 60 s floor
  EXPECT_EQ(state_of(id), JobState::kTransientError);
  EXPECT_EQ(backend.started.size(), 2u);
  clock.advance_s(29);
  manager->tick();
  EXPECT_EQ(state_of(id), JobState::kTransientError);
  clock.advance_s(1);  // the floor's end, long before the 600 s retry delay
  manager->tick();
  EXPECT_EQ(state_of(id), JobState::kConnecting);
  manager->on_error(backend.last_token(), hr::WINHTTP_CANNOT_CONNECT,
                    ErrorContext::kGeneralTransport, true, 0, "refused");
  manager->on_network_change(true);  // 60 s after the last network retry: due again
  EXPECT_EQ(state_of(id), JobState::kConnecting);
  EXPECT_EQ(backend.started.size(), 4u);
}

TEST_F(SchedulerTest, NetworkRetryFloorIsTheRetryDelayWhenShorter) {
  Guid id = transient_job(10, 3600);
  manager->on_network_change(true);
  manager->on_error(backend.last_token(), hr::WINHTTP_CANNOT_CONNECT,
                    ErrorContext::kGeneralTransport, true, 0, "refused");
  clock.advance_s(9);
  manager->on_network_change(true);
  EXPECT_EQ(state_of(id), JobState::kTransientError);
  clock.advance_s(1);
  manager->on_network_change(true);
  EXPECT_EQ(state_of(id), JobState::kConnecting);
}

TEST_F(SchedulerTest, RetryDelayBelowFiveSecondsIsRaisedToFive) {
  Guid id = make_job(me);
  ASSERT_TRUE(manager->set_property(me, id, "minimum_retry_delay", 1).ok());
  EXPECT_EQ(manager->job_info(me, id)->minimum_retry_delay, 5u);
}

TEST_F(SchedulerTest, NoProgressTimeoutTurnsTransientIntoError) {
  Guid id = transient_job(60, 150);
  for (int i = 0; i < 2; ++i) {  // two failed retries without progress
    clock.advance_s(60);
    manager->tick();
    manager->on_error(backend.last_token(), hr::WINHTTP_CANNOT_CONNECT,
                      ErrorContext::kGeneralTransport, true, 0, "refused");
  }
  EXPECT_EQ(state_of(id), JobState::kTransientError);
  clock.advance_s(30);  // 150 s since the first transient error
  manager->tick();
  EXPECT_EQ(state_of(id), JobState::kError);
  EXPECT_EQ(manager->get_error(me, id)->code, hr::WINHTTP_CANNOT_CONNECT);
  EXPECT_EQ(manager->job_info(me, id)->error_count, 3u);
}

TEST_F(SchedulerTest, ProgressResetsTheNoProgressTimer) {
  Guid id = transient_job(60, 100);
  clock.advance_s(60);
  manager->tick();  // retry
  manager->on_connected(backend.last_token());
  manager->on_progress(backend.last_token(), 4096);
  manager->on_error(backend.last_token(), http_error(503), ErrorContext::kRemoteFile, true, 0, "");
  clock.advance_s(90);  // 150 s after the first error, 90 s after progress
  manager->tick();
  EXPECT_NE(state_of(id), JobState::kError);
}

TEST_F(SchedulerTest, ZeroNoProgressTimeoutMakesEveryErrorFatal) {
  Guid id = transient_job(60, 0);
  EXPECT_EQ(state_of(id), JobState::kError);
}

TEST_F(SchedulerTest, RetryDelayLongerThanNoProgressTimeoutIsFatal) {
  Guid id = transient_job(600, 300);
  EXPECT_EQ(state_of(id), JobState::kError);
}

TEST_F(SchedulerTest, FatalHttpErrorGoesToErrorWithRemoteFileContext) {
  Guid id = make_job(me);
  ASSERT_TRUE(manager->resume(me, id).ok());
  manager->on_error(backend.last_token(), http_error(404), ErrorContext::kRemoteFile, false, 0, "");
  EXPECT_EQ(state_of(id), JobState::kError);
  auto error = manager->get_error(me, id);
  ASSERT_TRUE(error.ok());
  EXPECT_EQ(error->code, 0x80190194u);
  EXPECT_EQ(error->protocol, "http");
  clock.advance_s(100000);
  manager->tick();
  EXPECT_EQ(state_of(id), JobState::kError);  // never retried by itself
}

TEST_F(SchedulerTest, MaximumDownloadTimeEndsInError) {
  Guid id = make_job(me);
  ASSERT_TRUE(manager->set_property(me, id, "maximum_download_time", 30).ok());
  ASSERT_TRUE(manager->resume(me, id).ok());
  manager->on_connected(backend.last_token());
  clock.advance_s(31);
  manager->tick();
  EXPECT_EQ(state_of(id), JobState::kError);
  EXPECT_EQ(manager->get_error(me, id)->code, hr::BG_E_MAXDOWNLOAD_TIMEOUT);
  EXPECT_EQ(manager->get_error(me, id)->context, ErrorContext::kGeneralQueueManager);
  EXPECT_EQ(manager->job_info(me, id)->error_count, 1u);  // a transition to ERROR
  EXPECT_TRUE(backend.running.empty());
}

TEST_F(SchedulerTest, TimeInTransientErrorDoesNotCountAsDownloadTime) {
  Guid id = transient_job(60, 100000);
  ASSERT_TRUE(manager->set_property(me, id, "maximum_download_time", 30).ok());
  clock.advance_s(59);
  manager->tick();
  EXPECT_EQ(state_of(id), JobState::kTransientError);
}

TEST_F(SchedulerTest, InactiveJobIsCancelledAfterNinetyDays) {
  Guid id = make_job(me);
  clock.advance_s(90LL * 24 * 3600 + 1);
  manager->tick();
  EXPECT_EQ(state_of(id), JobState::kCancelled);
}

constexpr std::uint32_t kDay = 24 * 3600;

// A job that retries once a day for ever (its no-progress timeout is 200 days), with a
// partial temp file on disk.
class InactivityTest : public SchedulerTest {
 protected:
  void SetUp() override {
    SchedulerTest::SetUp();
    id = transient_job(kDay, 200 * kDay);
    temp = backend.last_download().temp_name;
    std::ofstream(temp) << "partial";
  }
  // The retry delay passes; the retry fails again, after `durable` bytes if not 0.
  void retry_and_fail(std::uint64_t durable = 0) {
    clock.advance_s(kDay);
    manager->tick();
    ASSERT_EQ(state_of(id), JobState::kConnecting);
    if (durable != 0) {
      manager->on_connected(backend.last_token());
      manager->on_progress(backend.last_token(), durable);
    }
    manager->on_error(backend.last_token(), hr::WINHTTP_CANNOT_CONNECT,
                      ErrorContext::kGeneralTransport, true, 0, "refused");
    ASSERT_EQ(state_of(id), JobState::kTransientError);
  }
  // Days of failed retries without progress.
  void fail_for_days(int days) {
    for (int i = 0; i < days && !HasFatalFailure(); ++i) retry_and_fail();
  }
  bool temp_exists() const { return std::filesystem::exists(temp); }

  Guid id;
  std::string temp;
};

TEST_F(InactivityTest, RetriesWithoutProgressAreNotActivity) {
  fail_for_days(89);
  EXPECT_EQ(state_of(id), JobState::kTransientError);  // 89 days: still there
  EXPECT_TRUE(temp_exists());
  clock.advance_s(kDay);  // 90 days since the owner's last call
  manager->tick();
  EXPECT_EQ(state_of(id), JobState::kCancelled);
  EXPECT_FALSE(temp_exists());  // as Cancel: the partial temp file is deleted
  EXPECT_TRUE(manager->enum_jobs(me, false)->empty());
}

TEST_F(InactivityTest, ProgressRestartsTheInactivityTimer) {
  fail_for_days(59);
  retry_and_fail(4096);  // day 60: some bytes, then the error again
  fail_for_days(89);     // day 149: 89 days after the progress
  EXPECT_EQ(state_of(id), JobState::kTransientError);
  clock.advance_s(kDay);
  manager->tick();
  EXPECT_EQ(state_of(id), JobState::kCancelled);
  EXPECT_FALSE(temp_exists());
}

TEST_F(InactivityTest, PropertyChangeRestartsTheInactivityTimer) {
  fail_for_days(60);
  ASSERT_TRUE(manager->set_property(me, id, "description", "still wanted").ok());
  fail_for_days(89);
  EXPECT_EQ(state_of(id), JobState::kTransientError);
  clock.advance_s(kDay);
  manager->tick();
  EXPECT_EQ(state_of(id), JobState::kCancelled);
}

TEST_F(SchedulerTest, InactiveUploadJobIsCancelledWithItsServerSession) {
  std::string local = dir.path() + "/up.bin";
  std::ofstream(local) << "data";
  auto id = manager->create_job(me, "up", JobType::kUpload);
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(manager->add_files(me, *id, {{"http://127.0.0.1:1/up", local, {}}}).ok());
  ASSERT_TRUE(manager->resume(me, *id).ok());
  manager->on_upload_session(backend.last_token(), "{5E55}", "", kNeverFallBack, "4:0.0");
  manager->on_error(backend.last_token(), http_error(503), ErrorContext::kRemoteFile, true, 0, "");
  clock.advance_s(90LL * 24 * 3600);
  manager->tick();
  EXPECT_EQ(state_of(*id), JobState::kCancelled);
  // As Cancel: the server is asked to drop the partial upload.
  EXPECT_EQ(backend.last_upload().kind, UploadKind::kCancelSession);
  EXPECT_EQ(backend.last_upload().session_id, "{5E55}");
}

TEST_F(SchedulerTest, FilesTransferOneAfterAnotherThenTransferred) {
  Guid id = make_job(me, 3);
  ASSERT_TRUE(manager->resume(me, id).ok());
  for (std::uint32_t i = 0; i < 3; ++i) {
    ASSERT_EQ(backend.running.size(), 1u);
    EXPECT_EQ(backend.last().file_index, i);
    finish_transfer(backend.last_token());
  }
  EXPECT_EQ(state_of(id), JobState::kTransferred);
  auto info = manager->job_info(me, id);
  EXPECT_EQ(info->progress.files_transferred, 3u);
  EXPECT_EQ(info->progress.bytes_total, 30u);
  EXPECT_NE(info->times.transfer_completion_time, 0);
}

TEST_F(SchedulerTest, ForegroundJobsRunTogetherWithOneBackgroundJob) {
  std::vector<Guid> jobs;
  for (int i = 0; i < 3; ++i) {
    jobs.push_back(make_job(me));
    ASSERT_TRUE(manager->set_property(me, jobs.back(), "priority", "FOREGROUND").ok());
  }
  Guid bg1 = make_job(me);
  Guid bg2 = make_job(me);
  for (Guid id : jobs) ASSERT_TRUE(manager->resume(me, id).ok());
  ASSERT_TRUE(manager->resume(me, bg1).ok());
  ASSERT_TRUE(manager->resume(me, bg2).ok());
  EXPECT_EQ(backend.running.size(), 4u);
  EXPECT_EQ(state_of(bg1), JobState::kConnecting);
  EXPECT_EQ(state_of(bg2), JobState::kQueued);
}

TEST_F(SchedulerTest, HigherPriorityPreemptsLowerBackgroundJob) {
  Guid low = make_job(me);
  ASSERT_TRUE(manager->set_property(me, low, "priority", "LOW").ok());
  ASSERT_TRUE(manager->resume(me, low).ok());
  Guid high = make_job(me);
  ASSERT_TRUE(manager->set_property(me, high, "priority", "HIGH").ok());
  ASSERT_TRUE(manager->resume(me, high).ok());
  EXPECT_EQ(state_of(high), JobState::kConnecting);
  EXPECT_EQ(state_of(low), JobState::kQueued);
}

TEST_F(SchedulerTest, EqualPriorityJobsShareTimeRoundRobin) {
  Guid a = make_job(me);
  Guid b = make_job(me);
  ASSERT_TRUE(manager->resume(me, a).ok());
  ASSERT_TRUE(manager->resume(me, b).ok());
  EXPECT_EQ(state_of(a), JobState::kConnecting);
  EXPECT_EQ(state_of(b), JobState::kQueued);
  clock.advance_ms(config.time_slice_ms);
  manager->tick();
  EXPECT_EQ(state_of(a), JobState::kQueued);
  EXPECT_EQ(state_of(b), JobState::kConnecting);
  clock.advance_ms(config.time_slice_ms);
  manager->tick();
  EXPECT_EQ(state_of(a), JobState::kConnecting);
  EXPECT_EQ(state_of(b), JobState::kQueued);
}

TEST_F(SchedulerTest, StaleEventsOfAStoppedTransferAreIgnored) {
  Guid id = make_job(me);
  ASSERT_TRUE(manager->resume(me, id).ok());
  std::uint64_t old = backend.last_token();
  ASSERT_TRUE(manager->suspend(me, id).ok());
  manager->on_complete(old, 10, 0);
  EXPECT_EQ(state_of(id), JobState::kSuspended);
}

TEST_F(SchedulerTest, RestartResumesActiveJobsFromRecordedBytes) {
  Guid id = make_job(me);
  ASSERT_TRUE(manager->resume(me, id).ok());
  manager->on_connected(backend.last_token());
  manager->on_validators(backend.last_token(), {1000, "\"etag\"", "Mon", true}, false);
  manager->on_progress(backend.last_token(), 600);
  open_manager();  // as after SIGKILL: a new manager over the same store
  manager->tick();
  EXPECT_EQ(state_of(id), JobState::kConnecting);
  const DownloadRequest& request = backend.last_download();
  EXPECT_EQ(request.durable_offset, 600u);
  EXPECT_EQ(request.validators.size, 1000u);
  EXPECT_EQ(request.validators.etag, "\"etag\"");
}

TEST_F(SchedulerTest, RemoteFileChangeRestartsFromZero) {
  Guid id = make_job(me);
  ASSERT_TRUE(manager->resume(me, id).ok());
  manager->on_progress(backend.last_token(), 600);
  manager->on_validators(backend.last_token(), {2000, "\"new\"", "Tue", true}, true);
  EXPECT_EQ(manager->job_info(me, id)->files[0].progress.bytes_transferred, 0u);
}

}  // namespace
}  // namespace openbits::daemon::testing

namespace openbits::daemon::testing {
namespace {

class SchedulerLimitsTest : public DaemonTest {
 protected:
  Caller me = user_caller();
};

TEST_F(SchedulerLimitsTest, MaxDownloadSizeStopsTheJob) {
  Guid id = make_job(me);
  ASSERT_TRUE(manager->set_property(me, id, "max_download_size", 1000).ok());
  ASSERT_TRUE(manager->resume(me, id).ok());
  EXPECT_EQ(manager->set_property(me, id, "max_download_size", 5).code(),
            hr::BG_E_READ_ONLY_PROPERTY_AFTER_RESUME);
  manager->on_validators(backend.last_token(), {5000, "", "", true}, false);
  EXPECT_EQ(state_of(id), JobState::kError);
  EXPECT_EQ(manager->get_error(me, id)->code, hr::BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED);
  EXPECT_EQ(manager->set_property(me, id, "max_download_size", 0).code(),
            hr::BG_E_MAX_DOWNLOAD_SIZE_INVALID_VALUE);
}

TEST_F(SchedulerLimitsTest, CustomVerbJobsNeverRetryAndRestartFromZero) {
  Guid id = make_job(me);
  ASSERT_TRUE(manager->set_property(me, id, "http_method", "POST").ok());
  EXPECT_EQ(manager->job_info(me, id)->priority, JobPriority::kForeground);
  EXPECT_EQ(manager->set_property(me, id, "priority", "LOW").code(),
            hr::BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD);
  ASSERT_TRUE(manager->resume(me, id).ok());
  manager->on_progress(backend.last_token(), 500);
  manager->on_error(backend.last_token(), http_error(503), ErrorContext::kRemoteFile, true, 0, "");
  EXPECT_EQ(state_of(id), JobState::kError);
  ASSERT_TRUE(manager->resume(me, id).ok());
  EXPECT_EQ(backend.last_download().durable_offset, 0u);
}

}  // namespace
}  // namespace openbits::daemon::testing
