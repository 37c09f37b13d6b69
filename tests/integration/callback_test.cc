// Callbacks through libopenbits against a real bitsd: JobCallback events filtered by the
// notify flags, acknowledgement, delivery again after the subscriber went away, fallback
// to the command line when the callback fails, and the wait_callback example.
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "tests/integration/itest.h"

namespace openbits::itest {
namespace {

using Clock = std::chrono::steady_clock;

// Records every call as one line; transferred/error answer E_FAIL the first `failures`
// times, then `answer`.
class Recorder final : public JobCallback {
 public:
  explicit Recorder(Status answer = Status(), int failures = 0)
      : answer_(answer), failures_(failures) {}
  Status transferred(Job&) override {
    events.push_back("transferred");
    return reply();
  }
  Status error(Job&, const ErrorInfo& error) override {
    events.push_back("error " + hresult_hex(error.code));
    return reply();
  }
  void modification(Job&, const JobInfo& info) override {
    ++modifications;
    modification_times.push_back(Clock::now());
    if (info.state == JobState::kTransferred || info.state == JobState::kError) {
      events.push_back("modification in " + to_string(info.state));
    }
  }
  Status file_transferred(Job&, const FileInfo& file) override {
    events.push_back("file " + std::to_string(file.index));
    return Status();
  }
  void file_ranges_transferred(Job&, std::uint32_t, const std::vector<FileRange>& r) override {
    ranges.insert(ranges.end(), r.begin(), r.end());
  }
  bool saw(const std::string& event) const {
    return std::find(events.begin(), events.end(), event) != events.end();
  }
  std::vector<std::string> events;
  std::vector<Clock::time_point> times;  // of the transferred/error calls
  std::vector<Clock::time_point> modification_times;
  std::vector<FileRange> ranges;
  int modifications = 0;

 private:
  Status reply() {
    times.push_back(Clock::now());
    return static_cast<int>(times.size()) <= failures_ ? Status(hr::E_FAIL) : answer_;
  }
  Status answer_;
  int failures_;
};

class CallbackTest : public ServiceTest {
 protected:
  // Processes events until `done` holds (up to a minute).
  void pump(Manager& m, const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      ASSERT_TRUE(m.process_events(std::chrono::milliseconds(200)).ok());
    }
  }
  // Everything bitsd sent before a round trip made now has been handled afterwards.
  void drain(Manager& m) {
    ASSERT_TRUE(m.daemon_version().ok());
    ASSERT_TRUE(m.process_events(std::chrono::milliseconds(0)).ok());
  }
  // Starts nginx and a bitsd reading `config_json` (a config file); SetUp of fixtures
  // that need settings other than the defaults.
  void start_with_config(const std::string& config_json) {
    nginx.start(free_port());
    std::string config = dir.path() + "/bitsd.json";
    std::ofstream(config) << config_json;
    bitsd.start({"--config", config});
    manager.emplace(bitsd.connect());
    out = dir.path() + "/out";
    std::filesystem::create_directories(out);
  }
  // A notification program that records its first argument, then completes that job.
  std::string completing_program(const std::string& record) {
    std::string program = dir.path() + "/notify.sh";
    std::ofstream(program) << "#!/bin/sh\necho \"ran $1\" >> " << record << "\nexec "
                           << OPENBITS_BITSADMIN_PATH << " /complete \"$1\"\n";
    ::chmod(program.c_str(), 0755);
    return program;
  }
  Job job_with(const std::vector<std::string>& names) {
    Job job = create("callback");
    for (const std::string& name : names) {
      make_file(nginx.root() + "/" + name, 200000, 51);
      EXPECT_TRUE(job.add_file(nginx.url("/" + name), out + "/" + name).ok());
    }
    return job;
  }
};

TEST_F(CallbackTest, TransferredCallbackIsDeliveredAndAcknowledged) {
  Job job = job_with({"a.bin"});
  auto recorder = std::make_shared<Recorder>();
  ASSERT_TRUE(job.set_callback(recorder).ok());
  EXPECT_TRUE(job.info()->notify_interface_registered);
  ASSERT_TRUE(job.resume().ok());
  pump(*manager, [&] { return recorder->saw("transferred"); });
  EXPECT_EQ(recorder->events, std::vector<std::string>{"transferred"});
  ASSERT_TRUE(job.complete().ok());
  EXPECT_TRUE(files_equal(nginx.root() + "/a.bin", out + "/a.bin"));
  EXPECT_NE(bitsd.log().find("callback acknowledged by uid 0"), std::string::npos);
}

TEST_F(CallbackTest, ErrorCallbackCarriesTheError) {
  Job job = create("missing");
  ASSERT_TRUE(job.add_file(nginx.url("/missing"), out + "/missing").ok());
  auto recorder = std::make_shared<Recorder>();
  ASSERT_TRUE(job.set_callback(recorder).ok());
  ASSERT_TRUE(job.resume().ok());
  pump(*manager, [&] { return !recorder->events.empty(); });
  EXPECT_EQ(recorder->events, std::vector<std::string>{"error 0x80190194"});
}

TEST_F(CallbackTest, FlagsSelectExactlyTheEvents) {
  Job job = job_with({"a.bin", "b.bin"});
  auto recorder = std::make_shared<Recorder>();
  ASSERT_TRUE(job.set_notify_flags(kNotifyFileTransferred | kNotifyJobTransferred).ok());
  ASSERT_TRUE(job.set_callback(recorder).ok());
  ASSERT_TRUE(job.resume().ok());
  pump(*manager, [&] { return recorder->saw("transferred"); });
  drain(*manager);
  EXPECT_EQ(recorder->events, (std::vector<std::string>{"file 0", "file 1", "transferred"}));
  EXPECT_EQ(recorder->modifications, 0);
}

TEST_F(CallbackTest, ModificationOnlyNeverReportsTheChangeToTransferred) {
  Job job = job_with({"a.bin"});
  ASSERT_TRUE(job.set_notify_flags(kNotifyJobModification).ok());
  ASSERT_TRUE(job.set_minimum_notification_interval(0).ok());
  auto recorder = std::make_shared<Recorder>();
  ASSERT_TRUE(job.set_callback(recorder).ok());
  ASSERT_TRUE(job.resume().ok());
  ASSERT_EQ(wait_for_state(job, {JobState::kTransferred}), JobState::kTransferred);
  drain(*manager);
  EXPECT_GT(recorder->modifications, 0);  // QUEUED, CONNECTING, progress...
  EXPECT_TRUE(recorder->events.empty()) << recorder->events.front();
}

TEST_F(CallbackTest, ModificationOnlyNeverReportsTheChangeToError) {
  Job job = create("missing");
  ASSERT_TRUE(job.add_file(nginx.url("/missing"), out + "/missing").ok());
  ASSERT_TRUE(job.set_notify_flags(kNotifyJobModification).ok());
  ASSERT_TRUE(job.set_minimum_notification_interval(0).ok());
  auto recorder = std::make_shared<Recorder>();
  ASSERT_TRUE(job.set_callback(recorder).ok());
  ASSERT_TRUE(job.resume().ok());
  ASSERT_EQ(wait_for_state(job, {JobState::kError}), JobState::kError);
  drain(*manager);
  EXPECT_GT(recorder->modifications, 0);  // QUEUED, CONNECTING...
  EXPECT_TRUE(recorder->events.empty()) << recorder->events.front();
  // A change made while in ERROR is a modification again.
  int before = recorder->modifications;
  ASSERT_TRUE(job.set_description("seen").ok());
  pump(*manager, [&] { return recorder->modifications > before; });
  EXPECT_EQ(recorder->events, std::vector<std::string>{"modification in ERROR"});
}

TEST_F(CallbackTest, ModificationsComeAtMostEvery500MillisecondsByDefault) {
  make_file(nginx.root() + "/slow.bin", 3 << 20, 54);
  Job job = create("slow");
  ASSERT_TRUE(job.add_file(nginx.url("/slow/slow.bin?rate=1m"), out + "/slow.bin").ok());
  EXPECT_EQ(job.info()->minimum_notification_interval_ms, 500u);
  ASSERT_TRUE(job.set_notify_flags(kNotifyJobModification | kNotifyJobTransferred).ok());
  auto recorder = std::make_shared<Recorder>();
  ASSERT_TRUE(job.set_callback(recorder).ok());
  ASSERT_TRUE(job.resume().ok());
  pump(*manager, [&] { return recorder->saw("transferred"); });
  const auto& times = recorder->modification_times;
  ASSERT_GE(times.size(), 3u);  // about 3 s of progress
  for (std::size_t i = 1; i < times.size(); ++i) {
    // 500 ms apart when bitsd sent them; a little less at worst after the socket.
    EXPECT_GE(times[i] - times[i - 1], std::chrono::milliseconds(400)) << "modification " << i;
  }
}

TEST_F(CallbackTest, DisableSuppressesEverything) {
  Job job = job_with({"a.bin"});
  ASSERT_TRUE(job.set_notify_flags(0x3F).ok());
  auto recorder = std::make_shared<Recorder>();
  ASSERT_TRUE(job.set_callback(recorder).ok());
  ASSERT_TRUE(job.resume().ok());
  ASSERT_EQ(wait_for_state(job, {JobState::kTransferred}), JobState::kTransferred);
  drain(*manager);
  EXPECT_TRUE(recorder->events.empty());
  EXPECT_EQ(recorder->modifications, 0);
}

TEST_F(CallbackTest, UnknownFlagBitsAreNotImplemented) {
  Job job = create();
  EXPECT_EQ(job.set_notify_flags(0x40).code(), hr::E_NOTIMPL);
  EXPECT_EQ(job.info().value().notify_flags, 3u);
}

TEST_F(CallbackTest, FileRangesArriveAsTheyComplete) {
  make_file(nginx.root() + "/r.bin", 100000, 52);
  Job job = create("ranges");
  std::vector<FileRange> wanted = {{0, 1000}, {5000, 2000}, {90000, 10000}};
  ASSERT_TRUE(job.add_file_with_ranges(nginx.url("/r.bin"), out + "/r.bin", wanted).ok());
  ASSERT_TRUE(job.set_notify_flags(kNotifyFileRangesTransferred | kNotifyJobTransferred).ok());
  ASSERT_TRUE(job.set_minimum_notification_interval(0).ok());
  auto recorder = std::make_shared<Recorder>();
  ASSERT_TRUE(job.set_callback(recorder).ok());
  ASSERT_TRUE(job.resume().ok());
  pump(*manager, [&] { return recorder->saw("transferred"); });
  drain(*manager);
  EXPECT_EQ(recorder->ranges, wanted);
}

TEST_F(CallbackTest, EventIsDeliveredAgainToTheNextSubscriberAfterTheFirstWentAway) {
  Job job = job_with({"a.bin"});
  {
    Manager first = bitsd.connect();
    auto job_there = first.get_job(job.id());
    ASSERT_TRUE(job_there.ok());
    ASSERT_TRUE(job_there->set_callback(std::make_shared<Recorder>()).ok());
    ASSERT_TRUE(job.resume().ok());
    ASSERT_EQ(wait_for_state(job, {JobState::kTransferred}), JobState::kTransferred);
  }  // never processed its events: the connection closes unanswered
  auto recorder = std::make_shared<Recorder>();
  ASSERT_TRUE(job.set_callback(recorder).ok());
  pump(*manager, [&] { return recorder->saw("transferred"); });
  EXPECT_EQ(recorder->events, std::vector<std::string>{"transferred"});
}

TEST_F(CallbackTest, RegistrationAfterTheEventStillDelivers) {
  Job job = job_with({"a.bin"});
  ASSERT_TRUE(job.resume().ok());
  ASSERT_EQ(wait_for_state(job, {JobState::kTransferred}), JobState::kTransferred);
  auto recorder = std::make_shared<Recorder>();
  ASSERT_TRUE(job.set_callback(recorder).ok());
  pump(*manager, [&] { return recorder->saw("transferred"); });
  EXPECT_EQ(recorder->events, std::vector<std::string>{"transferred"});
}

TEST_F(CallbackTest, UnregisteredJobShowsUnregisteredAndFinalJobsRefuse) {
  Job job = job_with({"a.bin"});
  ASSERT_TRUE(job.set_callback(std::make_shared<Recorder>()).ok());
  ASSERT_TRUE(job.set_callback(nullptr).ok());
  EXPECT_FALSE(job.info()->notify_interface_registered);
  ASSERT_TRUE(job.cancel().ok());
  EXPECT_EQ(job.set_callback(std::make_shared<Recorder>()).code(), hr::BG_E_INVALID_STATE);
}

TEST_F(CallbackTest, BitsadminShowsTheInterfaceAndRefusesUnknownFlags) {
  Job job = create("shown");
  auto admin = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv = {OPENBITS_BITSADMIN_PATH, "/rawreturn"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, {"OPENBITS_SOCKET=" + bitsd.socket()});
  };
  std::string id = to_string(job.id());
  EXPECT_EQ(admin({"/getnotifyinterface", id}).out, "UNREGISTERED");
  ASSERT_TRUE(job.set_callback(std::make_shared<Recorder>()).ok());
  EXPECT_EQ(admin({"/getnotifyinterface", id}).out, "REGISTERED");
  EXPECT_EQ(admin({"/setnotifyflags", id, "0x18"}).exit_code, 0);
  EXPECT_EQ(admin({"/getnotifyflags", id}).out, "24");
  auto refused = admin({"/setnotifyflags", id, "0x40"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("0x80004001"), std::string::npos) << refused.err;
  EXPECT_EQ(admin({"/getnotifyflags", id}).out, "24");
}

class CallbackFallbackTest : public CallbackTest {
 protected:
  void SetUp() override { start_with_config(R"({"notify_system_uids": true})"); }
};

TEST_F(CallbackFallbackTest, FailedCallbackFallsBackToTheCommandLine) {
  Job job = job_with({"a.bin"});
  std::string record = dir.path() + "/record";
  std::string program = completing_program(record);
  std::string id = to_string(job.id());
  ASSERT_TRUE(job.set_notify_cmd_line(program, program + " " + id).ok());
  auto recorder = std::make_shared<Recorder>(Status(hr::E_FAIL));
  ASSERT_TRUE(job.set_callback(recorder).ok());
  ASSERT_TRUE(job.resume().ok());
  pump(*manager, [&] { return recorder->saw("transferred"); });
  EXPECT_EQ(wait_for_state(job, {JobState::kAcknowledged}), JobState::kAcknowledged) << bitsd.log();
  std::ifstream in(record);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "ran " + id + "\n");
  EXPECT_EQ(recorder->events, std::vector<std::string>{"transferred"});  // not called again
}

TEST_F(CallbackTest, FailedTransferredCallbackIsDeliveredAgainAfterTheRetryDelay) {
  Job job = job_with({"a.bin"});
  ASSERT_TRUE(job.set_minimum_retry_delay(5).ok());
  auto recorder = std::make_shared<Recorder>(Status(), /*failures=*/1);
  ASSERT_TRUE(job.set_callback(recorder).ok());
  ASSERT_TRUE(job.resume().ok());
  pump(*manager, [&] { return recorder->events.size() >= 2; });
  ASSERT_EQ(recorder->events, (std::vector<std::string>{"transferred", "transferred"}));
  EXPECT_GE(recorder->times[1] - recorder->times[0], std::chrono::seconds(5));
  std::string log = bitsd.log();
  EXPECT_NE(log.find("callback of uid 0 failed (0x80004005)"), std::string::npos) << log;
  EXPECT_NE(log.find("callback acknowledged by uid 0"), std::string::npos) << log;
  EXPECT_EQ(*job.state(), JobState::kTransferred);  // callbacks never change the job
}

TEST_F(CallbackTest, FailedErrorCallbackIsDeliveredAgainAfterTheRetryDelay) {
  Job job = create("missing");
  ASSERT_TRUE(job.add_file(nginx.url("/missing"), out + "/missing").ok());
  ASSERT_TRUE(job.set_minimum_retry_delay(5).ok());
  auto recorder = std::make_shared<Recorder>(Status(), /*failures=*/1);
  ASSERT_TRUE(job.set_callback(recorder).ok());
  ASSERT_TRUE(job.resume().ok());
  pump(*manager, [&] { return recorder->events.size() >= 2; });
  EXPECT_EQ(recorder->events, (std::vector<std::string>{"error 0x80190194", "error 0x80190194"}));
  ASSERT_EQ(recorder->times.size(), 2u);
  EXPECT_GE(recorder->times[1] - recorder->times[0], std::chrono::seconds(5));
}

// An unanswered callback counts as failed after 500 ms; programs of root may run.
class CallbackTimeoutTest : public CallbackTest {
 protected:
  void SetUp() override {
    start_with_config(R"({"notify_system_uids": true, "callback_timeout_ms": 500})");
  }
  // A second connection that subscribes to `job` and then never reads what it is sent.
  Manager silent_subscriber(const Job& job) {
    Manager silent = bitsd.connect();
    auto there = silent.get_job(job.id());
    EXPECT_TRUE(there.ok());
    EXPECT_TRUE(there->set_callback(std::make_shared<Recorder>()).ok());
    return silent;
  }
};

TEST_F(CallbackTimeoutTest, UnansweredCallbackIsSentAgainAndThenToANewSubscriber) {
  Job job = job_with({"a.bin"});
  ASSERT_TRUE(job.set_minimum_retry_delay(5).ok());
  Manager silent = silent_subscriber(job);
  ASSERT_TRUE(job.resume().ok());
  auto sent_count = [&] { return count(bitsd.log(), "transferred callback sent to uid 0"); };
  ASSERT_TRUE(eventually([&] { return sent_count() >= 2; })) << bitsd.log();
  std::string log = bitsd.log();
  EXPECT_GE(count(log, "the callback did not answer within 500 ms"), 1u) << log;
  EXPECT_NE(log.find("notification retried in 5 s"), std::string::npos) << log;
  // A subscriber that answers gets it once the silent one's delivery timed out.
  auto recorder = std::make_shared<Recorder>();
  ASSERT_TRUE(job.set_callback(recorder).ok());
  pump(*manager, [&] { return recorder->saw("transferred"); });
  EXPECT_EQ(recorder->events, std::vector<std::string>{"transferred"});
  EXPECT_TRUE(eventually(
      [&] { return bitsd.log().find("callback acknowledged by uid 0") != std::string::npos; }));
}

TEST_F(CallbackTimeoutTest, UnansweredCallbackFallsBackToTheCommandLine) {
  Job job = job_with({"a.bin"});
  std::string record = dir.path() + "/record";
  std::string id = to_string(job.id());
  std::string program = completing_program(record);
  ASSERT_TRUE(job.set_notify_cmd_line(program, program + " " + id).ok());
  Manager silent = silent_subscriber(job);
  ASSERT_TRUE(job.resume().ok());
  EXPECT_EQ(wait_for_state(job, {JobState::kAcknowledged}), JobState::kAcknowledged) << bitsd.log();
  std::string log = bitsd.log();
  auto timed_out = log.find("the callback did not answer within 500 ms");
  auto started = log.find("notification program " + program + " started");
  ASSERT_NE(timed_out, std::string::npos) << log;
  ASSERT_NE(started, std::string::npos) << log;
  EXPECT_LT(timed_out, started);  // the callback first, then the command line
  EXPECT_EQ(count(log, "transferred callback sent to uid 0"), 1u) << log;
  EXPECT_EQ(read_text(record), "ran " + id + "\n");
}

TEST_F(CallbackTest, ExampleWaitsForItsCallback) {
  make_file(nginx.root() + "/example.bin", 1 << 20, 53);
  auto r = run_command(
      {OPENBITS_EXAMPLE_WAIT_CALLBACK_PATH, nginx.url("/example.bin"), out + "/example.bin"},
      {"OPENBITS_SOCKET=" + bitsd.socket()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("transferred: completed\ndelivered " + out + "/example.bin"),
            std::string::npos)
      << r.out;
  EXPECT_TRUE(files_equal(nginx.root() + "/example.bin", out + "/example.bin"));
  EXPECT_TRUE(manager->enum_jobs()->empty());
}

}  // namespace
}  // namespace openbits::itest
