// bitsadmin /MONITOR against a real bitsd: redrawn in place on a terminal (tmux), one
// frame per refresh when stdout is not a terminal, JSON lines with --json; and the
// /TRANSFER progress bar on a terminal.
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "tests/integration/itest.h"

namespace openbits::itest {
namespace {

class MonitorTest : public ServiceTest {
 protected:
  std::string session = "openbits-monitor-" + std::to_string(::getpid());
  std::string screen() {
    return run_command({"/usr/bin/tmux", "capture-pane", "-p", "-t", session}).out;
  }
  // Polls the tmux screen until it contains `what` (up to 20 s); the last screen.
  std::string screen_with(const std::string& what) {
    std::string seen;
    for (int i = 0; i < 200; ++i) {
      seen = screen();
      if (seen.find(what) != std::string::npos) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return seen;
  }
  void start_tmux(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"/usr/bin/tmux",
                                     "new-session",
                                     "-d",
                                     "-s",
                                     session,
                                     "-x",
                                     "200",
                                     "-y",
                                     "30",
                                     "-e",
                                     "OPENBITS_SOCKET=" + bitsd.socket(),
                                     OPENBITS_BITSADMIN_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    auto started = run_command(argv, {"PATH=/usr/bin:/bin", "TERM=xterm"});
    ASSERT_EQ(started.exit_code, 0) << started.err;
    run_command({"/usr/bin/tmux", "set-option", "-t", session, "remain-on-exit", "on"});
  }
  // bitsadmin with SIGINT after `seconds` (like Ctrl+C), stdout captured (not a terminal).
  CommandResult interrupted_after(const std::string& seconds, std::vector<std::string> args,
                                  std::optional<uid_t> uid = {}) {
    std::vector<std::string> argv = {
        "/usr/bin/timeout", "--preserve-status", "-s", "INT", seconds, OPENBITS_BITSADMIN_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, {"OPENBITS_SOCKET=" + bitsd.socket()}, uid);
  }
  CommandResult bitsadmin_as(uid_t uid, std::vector<std::string> args) {
    args.insert(args.begin(), OPENBITS_BITSADMIN_PATH);
    return run_command(args, {"OPENBITS_SOCKET=" + bitsd.socket()}, uid);
  }
  void TearDown() override {
    run_command({"/usr/bin/tmux", "kill-session", "-t", session});
    ServiceTest::TearDown();
  }
};

TEST_F(MonitorTest, TerminalViewIsRedrawnInPlaceAndFollowsTheQueue) {
  Job first = create("first job");
  start_tmux({"/monitor", "/refresh", "1"});
  std::string seen = screen_with(to_string(first.id()));
  EXPECT_NE(seen.find("MONITORING BACKGROUND COPY MANAGER(1 second refresh)"), std::string::npos)
      << seen;
  EXPECT_NE(seen.find(to_string(first.id()) + " 'first job' SUSPENDED 0 / 0 0 / 0"),
            std::string::npos)
      << seen;
  Job second = create("second job");
  seen = screen_with(to_string(second.id()));
  EXPECT_NE(seen.find(to_string(second.id()) + " 'second job' SUSPENDED 0 / 0 0 / 0"),
            std::string::npos)
      << seen;
  ASSERT_TRUE(first.cancel().ok());
  for (int i = 0; i < 200 && screen().find(to_string(first.id())) != std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  seen = screen();
  EXPECT_EQ(seen.find(to_string(first.id())), std::string::npos) << seen;
  EXPECT_EQ(count(seen, "MONITORING BACKGROUND COPY MANAGER"), 1u) << seen;  // not scrolled
}

TEST_F(MonitorTest, WithoutATerminalEachRefreshIsOneFrame) {
  Job job = create("plain");
  auto r = interrupted_after("2.5", {"/monitor", "/refresh", "1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string frame = "MONITORING BACKGROUND COPY MANAGER(1 second refresh)\n" +
                      to_string(job.id()) + " 'plain' SUSPENDED 0 / 0 0 / 0\n\n";
  std::size_t frames = count(r.out, "MONITORING");
  EXPECT_GE(frames, 1u) << r.out;
  std::string expected;
  for (std::size_t i = 0; i < frames; ++i) expected += frame;
  EXPECT_NE(r.out.find(expected), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("\033"), std::string::npos);  // no terminal control sequences
  EXPECT_EQ(r.out.substr(r.out.size() - expected.size()), expected);
}

TEST_F(MonitorTest, AllUsersShowsOtherUsersJobsToAdministratorsOnly) {
  auto created = run_command({OPENBITS_BITSADMIN_PATH, "/create", "theirs"},
                             {"OPENBITS_SOCKET=" + bitsd.socket()}, 1234);
  ASSERT_EQ(created.exit_code, 0) << created.err;
  auto own = interrupted_after("1.5", {"/monitor", "/refresh", "1"});
  EXPECT_NE(own.out.find("MONITORING BACKGROUND COPY MANAGER"), std::string::npos) << own.out;
  EXPECT_EQ(own.out.find("'theirs'"), std::string::npos) << own.out;
  auto all = interrupted_after("1.5", {"/monitor", "/allusers", "/refresh", "1"});
  EXPECT_NE(all.out.find("'theirs' SUSPENDED 0 / 0 0 / 0"), std::string::npos) << all.out;
  auto refused = run_command({OPENBITS_BITSADMIN_PATH, "/monitor", "/allusers"},
                             {"OPENBITS_SOCKET=" + bitsd.socket()}, 1234);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(refused.err.rfind("Unable to monitor jobs - 0x80070005.", 0), 0u) << refused.err;
}

TEST_F(MonitorTest, JsonStreamsAddedChangedAndRemovedJobs) {
  Job job = create("scripted");
  std::string id = to_string(job.id());
  start_tmux({"/monitor", "--json", "/refresh", "1"});
  // The pane's whole history with wrapped lines joined: the JSON lines as written.
  auto lines = [&] {
    return run_command({"/usr/bin/tmux", "capture-pane", "-p", "-J", "-S", "-", "-t", session}).out;
  };
  auto wait_for = [&](const std::string& what) {
    for (int i = 0; i < 200 && lines().find(what) == std::string::npos; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  };
  wait_for(R"({"event":"added")");
  ASSERT_TRUE(job.set_description("changed").ok());
  wait_for(R"({"event":"changed")");
  ASSERT_TRUE(job.cancel().ok());
  wait_for(R"({"event":"removed")");
  std::regex line("\\{\"event\":\"(added|changed|removed)\",\"time\":[0-9]+,.*\\}");
  std::istringstream text(lines());
  std::vector<std::string> events;
  for (std::string l; std::getline(text, l);) {
    if (l.empty()) continue;
    EXPECT_TRUE(std::regex_match(l, line)) << l;
    EXPECT_NE(l.find(id), std::string::npos) << l;
    events.push_back(l.substr(10, l.find('"', 10) - 10));
  }
  EXPECT_EQ(events, (std::vector<std::string>{"added", "changed", "removed"})) << lines();
}

// The --json lines of one job: {event, state (or reason for "removed")}.
std::vector<std::pair<std::string, std::string>> job_events(const std::string& out,
                                                            const std::string& id) {
  std::vector<std::pair<std::string, std::string>> events;
  std::istringstream text(out);
  for (std::string l; std::getline(text, l);) {
    if (l.find(id) == std::string::npos) continue;
    auto j = nlohmann::json::parse(l, nullptr, false);
    if (!j.is_object()) {
      events.emplace_back("malformed", l);
    } else if (j["event"] == "removed") {
      events.emplace_back("removed", j.value("reason", ""));
    } else {
      events.emplace_back(j["event"].get<std::string>(), j["job"]["state"].get<std::string>());
    }
  }
  return events;
}

// Issue 12.7: --json polled every refresh interval, so a job created, resumed, transferred
// and completed between two refreshes never appeared. Now every state of it appears once,
// "removed" says completed or cancelled, and another user's job never appears.
TEST_F(MonitorTest, JsonMonitorShowsEveryStateOfAShortJobOnce) {
  make_file(nginx.root() + "/short.bin", 2000, 62);
  std::string done_id;
  std::string cancelled_id;
  std::string theirs_id;
  std::thread jobs([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // the monitor is watching
    Job done = create("short");
    done_id = to_string(done.id());
    EXPECT_TRUE(done.add_file(nginx.url("/short.bin"), out + "/short.bin").ok());
    EXPECT_TRUE(done.resume().ok());
    EXPECT_EQ(wait_for_state(done, {JobState::kTransferred, JobState::kError}),
              JobState::kTransferred);
    EXPECT_TRUE(done.complete().ok());
    Job cancelled = create("dropped");
    cancelled_id = to_string(cancelled.id());
    EXPECT_TRUE(cancelled.cancel().ok());
    auto theirs = bitsadmin_as(1234, {"/rawreturn", "/create", "theirs"});
    theirs_id = theirs.out.substr(0, theirs.out.find('\n'));
    EXPECT_EQ(bitsadmin_as(1234, {"/cancel", theirs_id}).exit_code, 0);
  });
  // One refresh at the start, the next long after the jobs are gone.
  auto r = interrupted_after("6", {"/monitor", "--json", "/refresh", "60"});
  jobs.join();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  using Events = std::vector<std::pair<std::string, std::string>>;
  Events events = job_events(r.out, done_id);
  // TRANSFERRING appears when a progress checkpoint came before the end (not for 2,000
  // bytes, usually): optional, but once at most.
  Events without_transferring;
  for (const auto& e : events) {
    if (e.second != "TRANSFERRING") without_transferring.push_back(e);
  }
  EXPECT_LE(events.size() - without_transferring.size(), 1u) << r.out;
  EXPECT_EQ(without_transferring, (Events{{"added", "SUSPENDED"},
                                          {"changed", "QUEUED"},
                                          {"changed", "CONNECTING"},
                                          {"changed", "TRANSFERRED"},
                                          {"removed", "completed"}}))
      << r.out;
  EXPECT_EQ(job_events(r.out, cancelled_id),
            (Events{{"added", "SUSPENDED"}, {"removed", "cancelled"}}))
      << r.out;
  ASSERT_FALSE(theirs_id.empty());
  EXPECT_EQ(r.out.find(theirs_id), std::string::npos) << r.out;
}

TEST_F(MonitorTest, JsonMonitorOfAUserNeverShowsAnotherUsersJobs) {
  std::string mine_id;
  std::string root_id;
  std::thread jobs([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    Job root_job = create("root's");
    root_id = to_string(root_job.id());
    EXPECT_TRUE(root_job.cancel().ok());
    auto mine = bitsadmin_as(1234, {"/rawreturn", "/create", "mine"});
    mine_id = mine.out.substr(0, mine.out.find('\n'));
    EXPECT_EQ(bitsadmin_as(1234, {"/cancel", mine_id}).exit_code, 0);
  });
  auto r = interrupted_after("5", {"/monitor", "--json", "/refresh", "60"}, 1234);
  jobs.join();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  using Events = std::vector<std::pair<std::string, std::string>>;
  ASSERT_FALSE(mine_id.empty());
  EXPECT_EQ(job_events(r.out, mine_id), (Events{{"added", "SUSPENDED"}, {"removed", "cancelled"}}))
      << r.out;
  EXPECT_EQ(r.out.find(root_id), std::string::npos) << r.out;
  auto refused = bitsadmin_as(1234, {"/monitor", "/allusers", "--json"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(refused.err.rfind("Unable to monitor jobs - 0x80070005.", 0), 0u) << refused.err;
}

// Issue 12.4: /TRANSFER on a terminal reports a job waiting in TRANSIENT_ERROR (state,
// error, next retry) and goes on drawing its progress below.
TEST_F(MonitorTest, TransferOnATerminalReportsTransientError) {
  int closed = free_port();  // nothing listens there: connection refused, transient
  start_tmux(
      {"/transfer", "stuck", "http://127.0.0.1:" + std::to_string(closed) + "/f", out + "/f"});
  std::string seen = screen_with("NEXT RETRY:");
  EXPECT_TRUE(std::regex_search(
      seen, std::regex("STATE: TRANSIENT_ERROR ERROR: 0x[0-9a-f]{8} - .+ NEXT RETRY: "
                       "\\d+/\\d+/\\d{4} \\d+:\\d\\d:\\d\\d [AP]M")))
      << seen;
  // The progress frame is drawn again below the report (at most 200 ms later).
  seen = screen_with("DISPLAY: 'stuck' TYPE: DOWNLOAD STATE: TRANSIENT_ERROR");
  EXPECT_NE(seen.find("DISPLAY: 'stuck' TYPE: DOWNLOAD STATE: TRANSIENT_ERROR"), std::string::npos)
      << seen;
  EXPECT_EQ(count(seen, "STATE: TRANSIENT_ERROR ERROR:"), 1u) << seen;
  EXPECT_LT(seen.find("NEXT RETRY:"), seen.find("DISPLAY: 'stuck'")) << seen;
}

TEST_F(MonitorTest, TransferDrawsAProgressBarOnATerminal) {
  make_file(nginx.root() + "/bar", 4 << 20, 61);
  start_tmux({"/transfer", "bar", nginx.url("/slow/bar?rate=1m"), out + "/bar"});
  std::string seen = screen_with("STATE: TRANSFERRING");
  EXPECT_TRUE(
      std::regex_search(seen, std::regex("\\(\\d+%\\) \\[[#.]{20}\\] [0-9.]+ [KMG]?B/s ETA")))
      << seen;
  seen = screen_with("Transfer complete.");
  EXPECT_NE(seen.find("Transfer complete."), std::string::npos) << seen;
  EXPECT_TRUE(files_equal(nginx.root() + "/bar", out + "/bar"));
}

}  // namespace
}  // namespace openbits::itest
