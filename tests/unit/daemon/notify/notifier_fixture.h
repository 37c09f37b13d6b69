// Shared fixture for the Notifier tests: a fake clock, a fake process launcher and fake
// connections that record what they are sent. Timers (callback timeouts, program time
// limits, throttled sends) are real Asio timers on `io`, run with io.run_for().
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "openbits/names.h"
#include "src/daemon/notify/notifier.h"
#include "tests/support/fake_clock.h"

namespace openbits::daemon::testing {

namespace asio = boost::asio;
using nlohmann::json;

// Records launches (pids 1001, 1002, ...) and kills; tests call `exits[i]` to end one.
class FakeLauncher final : public ProcessLauncher {
 public:
  Result<pid_t> launch(const LaunchRequest& request, ExitHandler on_exit) override {
    launched.push_back(request);
    exits.push_back(std::move(on_exit));
    return static_cast<pid_t>(1000 + launched.size());
  }
  void terminate(pid_t pid) override { terminated.push_back(pid); }
  std::vector<LaunchRequest> launched;
  std::vector<ExitHandler> exits;
  std::vector<pid_t> terminated;
};

class NotifierTest : public ::testing::Test {
 protected:
  explicit NotifierTest(Notifier::Options o = options()) : notifier(io, clock, launcher, o) {}
  // System accounts' programs forbidden (notify_system_uids false), so that the system
  // account cases see the policy; every other case uses ordinary uids.
  static Notifier::Options options() {
    Notifier::Options o;
    o.socket_path = "/run/test.sock";
    o.allow_system_uids = false;
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
  // The same job without a notification command line.
  JobEvent callback_only(JobEvent e) {
    e.info.notify_cmd_program.reset();
    e.info.notify_cmd_parameters.reset();
    e.cmd_uid.reset();
    return e;
  }
  // A file.transferred event of `e`'s job.
  static JobEvent file_event(JobEvent e, std::uint32_t index) {
    e.kind = JobEvent::Kind::kFileTransferred;
    e.file_index = index;
    return e;
  }
  std::uint64_t delivery(std::size_t i) const {
    return sent.at(i).second["params"]["delivery"].get<std::uint64_t>();
  }
  // Answers the i-th message sent (on the connection it went to) and runs what follows.
  void answer(std::size_t i, HRESULT code) {
    EXPECT_TRUE(notifier.acknowledge(sent.at(i).first, delivery(i), code).ok());
    settle();
  }
  // Runs the event loop for `ms` of real time (the Asio timers).
  void run_for_ms(int ms) {
    io.restart();
    io.run_for(std::chrono::milliseconds(ms));
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

}  // namespace openbits::daemon::testing
