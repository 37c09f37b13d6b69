// bitsadmin /MONITOR against a real bitsd: redrawn in place on a terminal (tmux), one
// frame per refresh when stdout is not a terminal, JSON lines with --json; and the
// /TRANSFER progress bar on a terminal.
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
  CommandResult interrupted_after(const std::string& seconds, std::vector<std::string> args) {
    std::vector<std::string> argv = {
        "/usr/bin/timeout", "--preserve-status", "-s", "INT", seconds, OPENBITS_BITSADMIN_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, {"OPENBITS_SOCKET=" + bitsd.socket()});
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
