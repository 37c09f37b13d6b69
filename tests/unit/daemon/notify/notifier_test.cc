// Notifier on a fake clock with a fake process launcher and fake connections: which
// callbacks and programs it starts, in which order, how often, and for whom.
#include "src/daemon/notify/notifier.h"

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "tests/unit/daemon/notify/notifier_fixture.h"

namespace openbits::daemon {
namespace {

using testing::NotifierTest;

TEST_F(NotifierTest, ProgramRunsAsTheRegistrantWithSplitArgumentsAndACleanEnvironment) {
  send(event(1, JobState::kTransferred));
  ASSERT_EQ(launcher.launched.size(), 1u);
  const LaunchRequest& r = launcher.launched[0];
  EXPECT_EQ(r.program, "/usr/bin/notify");
  EXPECT_EQ(r.argv, (std::vector<std::string>{"/usr/bin/notify", "a b", "c"}));
  EXPECT_EQ(r.uid, 1500u);
  EXPECT_EQ(r.gid, 1500u);
  EXPECT_EQ(r.env.size(), 5u);
  EXPECT_NE(std::find(r.env.begin(), r.env.end(), "OPENBITS_SOCKET=/run/test.sock"), r.env.end());
  EXPECT_NE(std::find(r.env.begin(), r.env.end(), "PATH=/usr/local/bin:/usr/bin:/bin"),
            r.env.end());
}

TEST_F(NotifierTest, NothingRunsOutsideTransferredAndErrorOrWhenNotFlagged) {
  send(event(1, JobState::kTransferring));
  send(event(2, JobState::kTransientError));
  JobEvent disabled = event(3, JobState::kTransferred);
  disabled.info.notify_flags = kNotifyJobTransferred | kNotifyDisable;
  send(disabled);
  JobEvent only_error = event(4, JobState::kTransferred);
  only_error.info.notify_flags = kNotifyJobError;
  send(only_error);
  EXPECT_TRUE(launcher.launched.empty());
  send(event(5, JobState::kError));
  EXPECT_EQ(launcher.launched.size(), 1u);
}

TEST_F(NotifierTest, SystemAccountsNeverRunPrograms) {
  send(event(1, JobState::kTransferred, 0));
  send(event(2, JobState::kTransferred, 999));
  JobEvent registered_by_root = event(3, JobState::kTransferred);
  registered_by_root.cmd_uid = 0;
  send(registered_by_root);
  send(event(4, JobState::kTransferred, 65534));  // nobody
  JobEvent registered_by_nobody = event(5, JobState::kTransferred);
  registered_by_nobody.cmd_uid = 65534;
  send(registered_by_nobody);
  EXPECT_TRUE(launcher.launched.empty());
  send(event(6, JobState::kTransferred, 65533));
  EXPECT_EQ(launcher.launched.size(), 1u);
}

class DefaultOptionsTest : public NotifierTest {
 protected:
  DefaultOptionsTest() : NotifierTest(defaults()) {}
  static Notifier::Options defaults() {
    Notifier::Options o;
    o.socket_path = "/run/test.sock";
    return o;
  }
};

TEST_F(DefaultOptionsTest, RootsAndNobodysProgramsRunAsThemByDefault) {
  send(event(1, JobState::kTransferred, 0));
  JobEvent nobody = event(2, JobState::kTransferred, 65534);
  nobody.cmd_uid = 65534;
  send(nobody);
  ASSERT_EQ(launcher.launched.size(), 2u);
  EXPECT_EQ(launcher.launched[1].uid, 65534u);
}

class NoExtraSystemUidsTest : public NotifierTest {
 protected:
  NoExtraSystemUidsTest() : NotifierTest(without_nobody()) {}
  static Notifier::Options without_nobody() {
    Notifier::Options o = options();
    o.system_uids.clear();
    return o;
  }
};

TEST_F(NoExtraSystemUidsTest, NobodyIsAnOrdinaryUserWhenConfiguredSo) {
  send(event(1, JobState::kTransferred, 65534));
  ASSERT_EQ(launcher.launched.size(), 1u);
  EXPECT_EQ(launcher.launched[0].uid, 65534u);
}

// Captures what the Notifier logs while it lives.
class LogCapture {
 public:
  LogCapture() : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(text_)) {
    spdlog::default_logger()->sinks().push_back(sink_);
  }
  ~LogCapture() { std::erase(spdlog::default_logger()->sinks(), sink_); }
  std::size_t count(const std::string& what) {
    std::string all = text_.str();
    std::size_t n = 0;
    for (auto at = all.find(what); at != std::string::npos; at = all.find(what, at + 1)) ++n;
    return n;
  }

 private:
  std::ostringstream text_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
};

TEST_F(NotifierTest, ProgramNotRunIsLoggedOncePerStayInTransferredOrError) {
  LogCapture log;
  JobEvent e = event(1, JobState::kTransferred, 999);
  send(e);
  e.info.description = "changed";  // later changes while TRANSFERRED
  send(e);
  send(e);
  EXPECT_EQ(log.count("notification program not run"), 1u);
  e.info.state = JobState::kQueued;
  send(e);
  e.info.state = JobState::kError;
  send(e);
  send(e);
  EXPECT_EQ(log.count("notification program not run"), 2u);
  EXPECT_TRUE(launcher.launched.empty());
}

TEST_F(NotifierTest, ModificationsUseTheDefaultIntervalOf500Milliseconds) {
  JobEvent e = callback_only(event(1, JobState::kQueued));
  e.info.minimum_notification_interval_ms = JobInfo{}.minimum_notification_interval_ms;
  ASSERT_EQ(e.info.minimum_notification_interval_ms, 500u);
  e.info.notify_flags = kNotifyJobModification;
  connect(7);
  notifier.subscribe(7, 1500, e.info.id);
  send(e);
  ASSERT_EQ(sent.size(), 1u);
  clock.advance_ms(499);
  e.info.state = JobState::kTransferring;
  send(e);
  run_for_ms(20);
  EXPECT_EQ(sent.size(), 1u);  // coalesced until 500 ms after the first
  clock.advance_ms(1);
  run_for_ms(100);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1].second["params"]["job"]["state"], "TRANSFERRING");
  clock.advance_ms(500);
  e.info.progress.bytes_transferred = 10;
  send(e);  // 500 ms after the last one: at once
  EXPECT_EQ(sent.size(), 3u);
}

class ProgramTimeLimitTest : public NotifierTest {
 protected:
  ProgramTimeLimitTest() : NotifierTest(short_limit()) {}
  static Notifier::Options short_limit() {
    Notifier::Options o = options();
    o.program_timeout_ms = 30;
    return o;
  }
};

TEST_F(ProgramTimeLimitTest, ProgramStillRunningAtTheLimitIsKilledAndRunsAgainLater) {
  JobEvent e = event(1, JobState::kTransferred);
  send(e);
  ASSERT_EQ(launcher.launched.size(), 1u);
  run_for_ms(300);
  EXPECT_EQ(launcher.terminated, std::vector<pid_t>{1001});
  launcher.exits[0](SIGKILL);  // the wait status of a program killed by SIGKILL
  settle();
  clock.advance_s(5);
  send(e);
  ASSERT_EQ(launcher.launched.size(), 2u);
  launcher.exits[1](0);  // within the limit: not killed
  settle();
  run_for_ms(100);
  EXPECT_EQ(launcher.terminated.size(), 1u);
}

TEST_F(ProgramTimeLimitTest, KilledProgramFreesItsUsersSlot) {
  for (int n = 1; n <= 5; ++n) send(event(n, JobState::kTransferred));
  ASSERT_EQ(launcher.launched.size(), 4u);
  run_for_ms(300);
  ASSERT_EQ(launcher.terminated.size(), 4u);
  launcher.exits[0](SIGKILL);
  settle();
  EXPECT_EQ(launcher.launched.size(), 5u);
}

TEST_F(NotifierTest, FailingProgramRunsAgainOnlyAfterTheRetryDelay) {
  send(event(1, JobState::kTransferred));
  ASSERT_EQ(launcher.launched.size(), 1u);
  launcher.exits[0](3 << 8);  // exit status 3
  settle();
  send(event(1, JobState::kTransferred));  // any later change re-evaluates
  EXPECT_EQ(launcher.launched.size(), 1u);
  clock.advance_ms(4999);
  send(event(1, JobState::kTransferred));
  EXPECT_EQ(launcher.launched.size(), 1u);
  clock.advance_ms(1);
  send(event(1, JobState::kTransferred));
  EXPECT_EQ(launcher.launched.size(), 2u);
  launcher.exits[1](0);
  settle();
  clock.advance_s(60);
  send(event(1, JobState::kTransferred));
  EXPECT_EQ(launcher.launched.size(), 2u);  // exit 0: done
}

TEST_F(NotifierTest, ProgramOfACompletedJobIsNotRunAgain) {
  send(event(1, JobState::kTransferred));
  send(event(1, JobState::kAcknowledged));
  launcher.exits[0](1 << 8);
  settle();
  clock.advance_s(10);
  send(event(2, JobState::kQueued));
  EXPECT_EQ(launcher.launched.size(), 1u);
}

TEST_F(NotifierTest, AtMostFourAtOncePerUser) {
  for (int n = 1; n <= 5; ++n) send(event(n, JobState::kTransferred));
  send(event(6, JobState::kTransferred, 2000));  // another user is not held up
  ASSERT_EQ(launcher.launched.size(), 5u);
  EXPECT_EQ(launcher.launched[4].uid, 2000u);
  launcher.exits[0](0);
  settle();
  ASSERT_EQ(launcher.launched.size(), 6u);
  EXPECT_EQ(launcher.launched[5].uid, 1500u);
}

TEST_F(NotifierTest, CallbackIsPreferredAndAcknowledgementEndsIt) {
  JobEvent e = event(1, JobState::kTransferring);
  connect(7);
  send(e);
  notifier.subscribe(7, 1500, e.info.id);
  send(event(1, JobState::kTransferred));
  ASSERT_EQ(methods(), std::vector<std::string>{"job.transferred"});
  EXPECT_TRUE(launcher.launched.empty());
  auto delivery = sent[0].second["params"]["delivery"].get<std::uint64_t>();
  EXPECT_EQ(notifier.acknowledge(8, delivery, hr::S_OK).code(), hr::BG_E_NOT_FOUND);
  EXPECT_TRUE(notifier.acknowledge(7, delivery, hr::S_OK).ok());
  settle();
  clock.advance_s(3600);
  send(event(1, JobState::kTransferred));
  EXPECT_EQ(sent.size(), 1u);
  EXPECT_TRUE(launcher.launched.empty());
}

TEST_F(NotifierTest, FailedCallbackFallsBackToTheCommandLine) {
  connect(7);
  JobEvent e = event(1, JobState::kError);
  e.info.error = ErrorInfo{};
  e.info.error->code = hr::E_FAIL;
  notifier.subscribe(7, 1500, e.info.id);
  send(e);
  ASSERT_EQ(methods(), std::vector<std::string>{"job.error"});
  EXPECT_EQ(sent[0].second["params"]["error"]["code"], hr::E_FAIL);
  auto delivery = sent[0].second["params"]["delivery"].get<std::uint64_t>();
  EXPECT_TRUE(notifier.acknowledge(7, delivery, hr::E_FAIL).ok());
  settle();
  EXPECT_EQ(launcher.launched.size(), 1u);
}

TEST_F(NotifierTest, CallbackLostWithItsConnectionIsDeliveredToTheNextSubscriber) {
  JobEvent e = event(1, JobState::kTransferred);
  e.info.notify_cmd_program.reset();
  e.cmd_uid.reset();
  connect(7);
  notifier.subscribe(7, 1500, e.info.id);
  send(e);
  ASSERT_EQ(sent.size(), 1u);
  notifier.connection_closed(7);
  settle();
  EXPECT_FALSE(notifier.subscribed(e.info.id));
  connect(9);
  notifier.subscribe(9, 1500, e.info.id);
  settle();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1].first, 9u);
  EXPECT_EQ(sent[1].second["method"], "job.transferred");
}

TEST_F(NotifierTest, ModificationsAreSpacedByTheIntervalAndNotSentForTheFinalChange) {
  JobEvent e = event(1, JobState::kQueued);
  e.info.notify_flags = kNotifyJobModification;
  connect(7);
  send(e);
  notifier.subscribe(7, 1500, e.info.id);
  send(e);  // first change: sent at once
  EXPECT_EQ(methods(), std::vector<std::string>{"job.modification"});
  e.info.state = JobState::kTransferring;
  send(e);  // within 500 ms: coalesced
  send(e);
  EXPECT_EQ(sent.size(), 1u);
  e.info.state = JobState::kTransferred;  // the change to TRANSFERRED drops the pending one
  send(e);
  clock.advance_ms(1000);
  io.restart();
  io.run_for(std::chrono::milliseconds(700));
  EXPECT_EQ(sent.size(), 1u);
}

TEST_F(NotifierTest, CoalescedModificationIsSentWhenTheIntervalEnds) {
  JobEvent e = event(1, JobState::kQueued);
  e.info.notify_flags = kNotifyJobModification;
  e.info.minimum_notification_interval_ms = 50;
  connect(7);
  send(e);
  notifier.subscribe(7, 1500, e.info.id);
  send(e);
  e.info.state = JobState::kTransferring;
  send(e);
  EXPECT_EQ(sent.size(), 1u);
  clock.advance_ms(50);
  io.restart();
  io.run_for(std::chrono::milliseconds(500));
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1].second["params"]["job"]["state"], "TRANSFERRING");
}

}  // namespace
}  // namespace openbits::daemon

namespace openbits::daemon {
namespace {

TEST_F(NotifierTest, NewSubscriberGetsTheEventWhenTheOldOneFailsAfterItSubscribed) {
  JobEvent e = event(1, JobState::kTransferred);
  e.info.notify_cmd_program.reset();
  e.cmd_uid.reset();
  connect(7);
  connect(9);
  notifier.subscribe(7, 1500, e.info.id);
  send(e);
  ASSERT_EQ(sent.size(), 1u);
  notifier.subscribe(9, 1500, e.info.id);  // before the first connection is seen to close
  settle();
  EXPECT_EQ(sent.size(), 1u);  // one delivery at a time
  notifier.connection_closed(7);
  settle();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1].first, 9u);
  EXPECT_EQ(sent[1].second["method"], "job.transferred");
}

}  // namespace
}  // namespace openbits::daemon

namespace openbits::daemon {
namespace {

TEST_F(NotifierTest, ClosingConnectionFallsBackToTheCommandLine) {
  connect(7, /*alive=*/false);
  JobEvent e = event(1, JobState::kTransferred);
  notifier.subscribe(7, 1500, e.info.id);
  send(e);
  settle();
  EXPECT_EQ(sent.size(), 1u);  // tried once, not in a loop
  EXPECT_FALSE(notifier.subscribed(e.info.id));
  EXPECT_EQ(launcher.launched.size(), 1u);
}

}  // namespace
}  // namespace openbits::daemon

namespace openbits::daemon {
namespace {

TEST_F(NotifierTest, FileEventsGoOneAtATimeBeforeTheTransferredCallback) {
  JobEvent e = callback_only(event(1, JobState::kTransferring));
  e.info.notify_flags = kNotifyJobTransferred | kNotifyFileTransferred;
  e.info.files.resize(2);
  e.info.files[1].index = 1;
  connect(7);
  notifier.subscribe(7, 1500, e.info.id);
  send(e);
  send(file_event(e, 0));
  send(file_event(e, 1));
  JobEvent done = e;
  done.info.state = JobState::kTransferred;
  send(done);
  ASSERT_EQ(methods(), std::vector<std::string>{"file.transferred"});
  // File 0 fails: it is sent again after the retry delay, not before, and job.transferred
  // keeps waiting for it (bits-spec §1.7: FileTransferred before JobTransferred).
  answer(0, hr::E_FAIL);
  clock.advance_ms(4999);
  send(done);
  EXPECT_EQ(methods(), std::vector<std::string>{"file.transferred"});
  clock.advance_ms(1);
  send(done);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1].second["params"]["file_index"], 0);
  answer(1, hr::S_OK);
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[2].second["params"]["file_index"], 1);
  answer(2, hr::S_OK);
  EXPECT_EQ(methods(), (std::vector<std::string>{"file.transferred", "file.transferred",
                                                 "file.transferred", "job.transferred"}));
}

TEST_F(NotifierTest, TransferredWaitsForTheFileEvents) {
  JobEvent e = event(1, JobState::kTransferring);
  e.info.notify_flags = kNotifyJobTransferred | kNotifyFileTransferred;
  e.info.files.resize(1);
  connect(7);
  notifier.subscribe(7, 1500, e.info.id);
  send(e);
  JobEvent file0 = e;
  file0.kind = JobEvent::Kind::kFileTransferred;
  send(file0);
  JobEvent done = e;
  done.info.state = JobState::kTransferred;
  send(done);
  ASSERT_EQ(methods(), std::vector<std::string>{"file.transferred"});
  EXPECT_TRUE(launcher.launched.empty());
  auto delivery = sent[0].second["params"]["delivery"].get<std::uint64_t>();
  EXPECT_TRUE(notifier.acknowledge(7, delivery, hr::S_OK).ok());
  settle();
  EXPECT_EQ(methods(), (std::vector<std::string>{"file.transferred", "job.transferred"}));
}

// Issue 18 item 5: after TakeOwnership the former owner's subscription ends, with the
// delivery it had not answered; an administrator's subscription stays.
TEST_F(NotifierTest, SubscriberLosesTheJobOnceItBelongsToSomeoneElse) {
  JobEvent e = callback_only(event(1, JobState::kTransferred));
  e.info.notify_flags = kNotifyJobTransferred;
  connect(7);
  notifier.subscribe(7, 1500, e.info.id);
  send(e);
  ASSERT_EQ(methods(), std::vector<std::string>{"job.transferred"});
  e.info.owner_uid = 0;  // root took ownership
  send(e);
  EXPECT_FALSE(notifier.subscribed(e.info.id));
  EXPECT_EQ(notifier.acknowledge(7, delivery(0), hr::S_OK).code(), hr::BG_E_NOT_FOUND);
  e.info.state = JobState::kQueued;
  send(e);
  e.info.state = JobState::kTransferred;
  send(e);
  EXPECT_EQ(sent.size(), 1u);
  connect(8);
  notifier.subscribe(8, 4242, e.info.id, true);  // an administrator: the event at once
  settle();
  e.info.owner_uid = 1600;
  send(e);
  EXPECT_TRUE(notifier.subscribed(e.info.id));
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1].first, 8u);
  EXPECT_TRUE(notifier.acknowledge(8, delivery(1), hr::S_OK).ok());
}

TEST_F(NotifierTest, EventsCarryNoCustomHeadersOrCommandLine) {
  JobEvent e = event(1, JobState::kQueued);
  e.info.notify_flags = kNotifyJobTransferred | kNotifyJobModification;
  e.info.custom_headers = "X-Secret: s3cr3t";
  connect(7);
  notifier.subscribe(7, 1500, e.info.id);
  send(e);
  e.info.state = JobState::kTransferred;
  send(e);
  ASSERT_EQ(methods(), (std::vector<std::string>{"job.modification", "job.transferred"}));
  for (const auto& [connection, message] : sent) {
    const nlohmann::json& job = message["params"]["job"];
    for (const char* key : {"custom_headers", "notify_cmd_program", "notify_cmd_parameters"}) {
      EXPECT_TRUE(job.value(key, nlohmann::json()).is_null()) << key << ": " << message.dump();
    }
    EXPECT_EQ(message.dump().find("s3cr3t"), std::string::npos);
  }
}

}  // namespace
}  // namespace openbits::daemon
