// The Notifier does not keep jobs that have nothing pending (notifier.h, Memory): what a
// subscriber or a command line hears of such a job is the same as if it had been kept.
#include <gtest/gtest.h>

#include "tests/unit/daemon/notify/notifier_fixture.h"

namespace openbits::daemon::testing {
namespace {

TEST_F(NotifierTest, ASubscriberOfAnIdleJobHearsNoModificationForTheChangeToError) {
  JobEvent e = callback_only(event(1, JobState::kTransientError));
  e.info.notify_flags = kNotifyJobModification | kNotifyJobError;
  send(e);  // nobody listens: nothing kept of the job
  connect(7);
  notifier.subscribe(7, 1500, e.info.id);
  EXPECT_TRUE(sent.empty());
  e.info.state = JobState::kError;
  send(e);
  EXPECT_EQ(methods(), std::vector<std::string>{"job.error"});
}

TEST_F(NotifierTest, ASubscriberOfAnIdleJobHearsItsNextModification) {
  JobEvent e = callback_only(event(1, JobState::kSuspended));
  e.info.notify_flags = kNotifyJobModification;
  send(e);
  connect(7);
  notifier.subscribe(7, 1500, e.info.id);
  EXPECT_TRUE(notifier.subscribed(e.info.id));
  e.info.state = JobState::kQueued;
  send(e);
  ASSERT_EQ(methods(), std::vector<std::string>{"job.modification"});
  EXPECT_EQ(sent[0].second["params"]["job"]["state"], "QUEUED");
}

TEST_F(NotifierTest, TheCommandLineOfAnIdleJobRunsWhenItIsTransferred) {
  JobEvent e = event(1, JobState::kTransferring);
  send(e);
  EXPECT_FALSE(notifier.subscribed(e.info.id));
  e.info.state = JobState::kTransferred;
  send(e);
  ASSERT_EQ(launcher.launched.size(), 1u);
  EXPECT_EQ(launcher.launched[0].program, "/usr/bin/notify");
}

TEST_F(NotifierTest, FileEventsOfAnUnsubscribedJobWaitForASubscriber) {
  JobEvent e = callback_only(event(1, JobState::kTransferring));
  e.info.notify_flags = kNotifyFileTransferred;
  e.info.files.resize(1);
  send(file_event(e, 0));
  send(e);  // a later event does not lose the pending file event
  connect(7);
  notifier.subscribe(7, 1500, e.info.id);
  EXPECT_EQ(methods(), std::vector<std::string>{"file.transferred"});
}

}  // namespace
}  // namespace openbits::daemon::testing
