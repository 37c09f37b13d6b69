// Notifier: what happens to a job.transferred, job.error or file.transferred callback that
// fails, is not answered in time or waits for a free slot (bits-spec §1.7): sent again
// after the minimum retry delay, or handed to the command line, in the spec's order; and
// at most four callbacks awaiting an answer per user.
#include "src/daemon/notify/notifier.h"
#include "tests/unit/daemon/notify/notifier_fixture.h"

namespace openbits::daemon {
namespace {

using testing::NotifierTest;

class RedeliveryTest : public NotifierTest {
 protected:
  explicit RedeliveryTest(Notifier::Options o = options()) : NotifierTest(std::move(o)) {}
  // A subscribed job without a command line in `state` (retry delay 5 s); one callback sent.
  JobEvent subscribed_job(JobState state) {
    JobEvent e = callback_only(event(1, state));
    if (state == JobState::kError) {
      e.info.error = ErrorInfo{};
      e.info.error->code = hr::E_FAIL;
    }
    connect(7);
    notifier.subscribe(7, 1500, e.info.id);
    send(e);
    return e;
  }
  // After the first callback of `e` failed: nothing until the retry delay has passed
  // (any later change of the job re-evaluates), then the same event with a new delivery.
  void expect_sent_again_after_the_retry_delay(const JobEvent& e, const std::string& method) {
    clock.advance_ms(4999);
    send(e);
    ASSERT_EQ(sent.size(), 1u);
    clock.advance_ms(1);
    send(e);
    ASSERT_EQ(methods(), (std::vector<std::string>{method, method}));
    EXPECT_NE(delivery(1), delivery(0));
    EXPECT_TRUE(launcher.launched.empty());
    answer(1, hr::S_OK);
    clock.advance_s(3600);
    send(e);
    EXPECT_EQ(sent.size(), 2u);  // acknowledged: done
  }
};

TEST_F(RedeliveryTest, FailedTransferredCallbackIsSentAgainAfterTheRetryDelay) {
  JobEvent e = subscribed_job(JobState::kTransferred);
  ASSERT_EQ(methods(), std::vector<std::string>{"job.transferred"});
  answer(0, hr::BG_E_NOT_FOUND);
  expect_sent_again_after_the_retry_delay(e, "job.transferred");
}

TEST_F(RedeliveryTest, FailedErrorCallbackIsSentAgainAfterTheRetryDelay) {
  JobEvent e = subscribed_job(JobState::kError);
  ASSERT_EQ(methods(), std::vector<std::string>{"job.error"});
  answer(0, hr::E_ACCESSDENIED);
  expect_sent_again_after_the_retry_delay(e, "job.error");
}

// callback_timeout_ms of 30 ms: an unanswered callback counts as failed after it.
class CallbackTimeoutTest : public RedeliveryTest {
 protected:
  CallbackTimeoutTest() : RedeliveryTest(short_timeout()) {}
  static Notifier::Options short_timeout() {
    Notifier::Options o = options();
    o.callback_timeout_ms = 30;
    return o;
  }
};

TEST_F(CallbackTimeoutTest, UnansweredTransferredCallbackTimesOutAndIsSentAgain) {
  JobEvent e = subscribed_job(JobState::kTransferred);
  ASSERT_EQ(sent.size(), 1u);
  run_for_ms(300);
  EXPECT_EQ(sent.size(), 1u);  // timed out: waits for the retry delay
  // The late answer finds nothing to answer.
  EXPECT_EQ(notifier.acknowledge(7, delivery(0), hr::S_OK).code(), hr::BG_E_NOT_FOUND);
  expect_sent_again_after_the_retry_delay(e, "job.transferred");
}

TEST_F(CallbackTimeoutTest, UnansweredErrorCallbackTimesOutAndIsSentAgain) {
  JobEvent e = subscribed_job(JobState::kError);
  run_for_ms(300);
  expect_sent_again_after_the_retry_delay(e, "job.error");
}

TEST_F(CallbackTimeoutTest, UnansweredCallbackFallsBackToTheCommandLineWhichIsRetried) {
  connect(7);
  JobEvent e = event(1, JobState::kTransferred);
  notifier.subscribe(7, 1500, e.info.id);
  send(e);
  ASSERT_EQ(methods(), std::vector<std::string>{"job.transferred"});
  EXPECT_TRUE(launcher.launched.empty());  // the callback comes first
  run_for_ms(300);
  ASSERT_EQ(launcher.launched.size(), 1u);  // then the command line
  launcher.exits[0](1 << 8);
  settle();
  clock.advance_s(5);
  send(e);
  // Both failed: the notification is retried, through the command line only.
  EXPECT_EQ(launcher.launched.size(), 2u);
  EXPECT_EQ(sent.size(), 1u);
}

TEST_F(CallbackTimeoutTest, UnansweredFileCallbackHandsTheJobToTheCommandLine) {
  connect(7);
  JobEvent e = event(1, JobState::kTransferring);
  e.info.notify_flags = kNotifyJobTransferred | kNotifyFileTransferred;
  e.info.files.resize(2);
  e.info.files[1].index = 1;
  notifier.subscribe(7, 1500, e.info.id);
  send(e);
  send(file_event(e, 0));
  run_for_ms(300);  // file 0 is not answered
  send(file_event(e, 1));
  JobEvent done = e;
  done.info.state = JobState::kTransferred;
  send(done);
  // No more file callbacks, no job.transferred: the command line instead.
  EXPECT_EQ(methods(), std::vector<std::string>{"file.transferred"});
  EXPECT_EQ(launcher.launched.size(), 1u);
}

TEST_F(RedeliveryTest, FailingFileCallbackWithACommandLineStopsAndTheProgramRuns) {
  connect(7);
  JobEvent e = event(1, JobState::kTransferring);
  e.info.notify_flags = kNotifyJobTransferred | kNotifyFileTransferred;
  e.info.files.resize(2);
  e.info.files[1].index = 1;
  notifier.subscribe(7, 1500, e.info.id);
  send(e);
  send(file_event(e, 0));
  send(file_event(e, 1));
  answer(0, hr::E_FAIL);
  EXPECT_TRUE(launcher.launched.empty());  // only at TRANSFERRED
  JobEvent done = e;
  done.info.state = JobState::kTransferred;
  clock.advance_s(60);
  send(done);
  EXPECT_EQ(methods(), std::vector<std::string>{"file.transferred"});
  ASSERT_EQ(launcher.launched.size(), 1u);
  // A new subscriber gets callbacks again: the next episode's event goes to it.
  launcher.exits[0](0);
  connect(9);
  notifier.subscribe(9, 1500, e.info.id);
  settle();
  send(file_event(e, 1));
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1].first, 9u);
  EXPECT_EQ(sent[1].second["method"], "file.transferred");
}

TEST_F(RedeliveryTest, AtMostFourCallbacksAwaitAnAnswerPerUserFileCallbacksIncluded) {
  connect(7);
  connect(8);
  std::vector<JobEvent> jobs;
  for (int n = 1; n <= 5; ++n) jobs.push_back(callback_only(event(n, JobState::kTransferred)));
  // Job 4 is still transferring and has two file events.
  jobs[3].info.state = JobState::kTransferring;
  jobs[3].info.notify_flags = kNotifyJobTransferred | kNotifyFileTransferred;
  jobs[3].info.files.resize(2);
  jobs[3].info.files[1].index = 1;
  for (const JobEvent& job : jobs) notifier.subscribe(7, 1500, job.info.id);
  for (std::size_t n = 0; n < 3; ++n) send(jobs[n]);
  send(jobs[3]);
  send(file_event(jobs[3], 0));
  send(jobs[4]);
  ASSERT_EQ(methods(), (std::vector<std::string>{"job.transferred", "job.transferred",
                                                 "job.transferred", "file.transferred"}));
  // Another user is not held up.
  JobEvent other = callback_only(event(6, JobState::kTransferred, 2000));
  notifier.subscribe(8, 2000, other.info.id);
  send(other);
  ASSERT_EQ(sent.size(), 5u);
  EXPECT_EQ(sent[4].first, 8u);
  // The file's answer frees a slot for job 5; job 4's next file then waits for one.
  answer(3, hr::S_OK);
  ASSERT_EQ(sent.size(), 6u);
  EXPECT_EQ(sent[5].second["params"]["job_id"], to_string(jobs[4].info.id));
  EXPECT_EQ(sent[5].second["method"], "job.transferred");
  send(file_event(jobs[3], 1));
  EXPECT_EQ(sent.size(), 6u);
  answer(0, hr::S_OK);
  ASSERT_EQ(sent.size(), 7u);
  EXPECT_EQ(sent[6].second["method"], "file.transferred");
  EXPECT_EQ(sent[6].second["params"]["file_index"], 1);
}

}  // namespace
}  // namespace openbits::daemon
