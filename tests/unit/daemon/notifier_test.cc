// Notifier on a fake clock with a fake process launcher and fake connections: which
// callbacks and programs it starts, in which order, how often, and for whom.
#include "src/daemon/notifier.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "openbits/names.h"

namespace openbits::daemon {
namespace {

namespace asio = boost::asio;
using nlohmann::json;

class FakeLauncher final : public ProcessLauncher {
 public:
  Result<pid_t> launch(const LaunchRequest& request, ExitHandler on_exit) override {
    launched.push_back(request);
    exits.push_back(std::move(on_exit));
    return static_cast<pid_t>(1000 + launched.size());
  }
  void terminate(pid_t) override {}
  std::vector<LaunchRequest> launched;
  std::vector<ExitHandler> exits;
};

class NotifierTest : public ::testing::Test {
 protected:
  NotifierTest() : notifier(io, clock, launcher, options()) {}
  static Notifier::Options options() {
    Notifier::Options o;
    o.socket_path = "/run/test.sock";
    return o;
  }
  JobEvent event(int n, JobState state, uid_t owner = 1500) {
    JobEvent e;
    e.info.id.bytes[0] = static_cast<std::uint8_t>(n);
    e.info.state = state;
    e.info.owner_uid = owner;
    e.info.notify_flags = kDefaultNotifyFlags;
    e.info.minimum_retry_delay = 5;
    e.info.minimum_notification_interval_ms = 500;
    e.info.notify_cmd_program = "/usr/bin/notify";
    e.info.notify_cmd_parameters = "/usr/bin/notify \"a b\" c";
    e.cmd_uid = owner;
    e.cmd_gid = owner;
    return e;
  }
  void send(JobEvent e) {
    notifier.job_event(std::move(e));
    settle();
  }
  void settle() {
    io.restart();
    io.poll();
  }
  // A fake connection `id` recording what it is sent.
  void connect(std::uint64_t id, bool alive = true) {
    notifier.connection_opened(id, [this, id, alive](const std::string& line) {
      sent.emplace_back(id, json::parse(line));
      return alive;
    });
  }
  std::vector<std::string> methods() const {
    std::vector<std::string> out;
    for (const auto& [connection, message] : sent) out.push_back(message["method"]);
    return out;
  }

  asio::io_context io;
  FakeClock clock;
  FakeLauncher launcher;
  Notifier notifier;
  std::vector<std::pair<std::uint64_t, json>> sent;
};

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
  EXPECT_TRUE(launcher.launched.empty());
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
  JobEvent e = event(1, JobState::kTransferring);
  e.info.notify_flags = kNotifyJobTransferred | kNotifyFileTransferred;
  e.info.files.resize(2);
  e.info.files[1].index = 1;
  e.info.notify_cmd_program.reset();
  e.cmd_uid.reset();
  connect(7);
  notifier.subscribe(7, 1500, e.info.id);
  send(e);
  JobEvent file0 = e;
  file0.kind = JobEvent::Kind::kFileTransferred;
  file0.file_index = 0;
  JobEvent file1 = file0;
  file1.file_index = 1;
  send(file0);
  send(file1);
  JobEvent done = e;
  done.info.state = JobState::kTransferred;
  send(done);
  ASSERT_EQ(methods(), std::vector<std::string>{"file.transferred"});
  auto answer = [&](std::size_t i, HRESULT code) {
    auto delivery = sent[i].second["params"]["delivery"].get<std::uint64_t>();
    EXPECT_TRUE(notifier.acknowledge(7, delivery, code).ok());
    settle();
  };
  answer(0, hr::E_FAIL);  // fails: sent again after the retry delay, not before
  EXPECT_EQ(methods(), (std::vector<std::string>{"file.transferred", "job.transferred"}));
  answer(1, hr::S_OK);
  clock.advance_s(5);
  send(done);
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[2].second["params"]["file_index"], 0);
  answer(2, hr::S_OK);
  ASSERT_EQ(sent.size(), 4u);
  EXPECT_EQ(sent[3].second["params"]["file_index"], 1);
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

}  // namespace
}  // namespace openbits::daemon
