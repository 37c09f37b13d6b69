// bitsadmin /transfer on a real terminal (tmux): the two status lines are redrawn in place
// with a rate, and the run ends with "Transfer complete.".
#include <regex>
#include <thread>

#include "tests/integration/itest.h"

namespace openbits::itest {
namespace {

class TerminalTest : public ServiceTest {
 protected:
  std::string session = "openbits-itest-" + std::to_string(::getpid());
  std::string screen() {
    auto r = run_command({"/usr/bin/tmux", "capture-pane", "-p", "-t", session});
    return r.out + r.err;
  }
  void TearDown() override {
    run_command({"/usr/bin/tmux", "kill-session", "-t", session});
    ServiceTest::TearDown();
  }
};

TEST_F(TerminalTest, TransferRedrawsProgressInPlace) {
  make_file(nginx.root() + "/live", 6 << 20, 41);
  auto started =
      run_command({"/usr/bin/tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "30",
                   "-e", "OPENBITS_SOCKET=" + bitsd.socket(), OPENBITS_BITSADMIN_PATH, "/transfer",
                   "live", nginx.url("/slow/live?rate=2m"), out + "/live"},
                  {"PATH=/usr/bin:/bin", "TERM=xterm"});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  // remain-on-exit keeps the final screen readable after bitsadmin ends.
  run_command({"/usr/bin/tmux", "set-option", "-t", session, "remain-on-exit", "on"});
  std::string seen;
  for (int i = 0; i < 100; ++i) {
    seen = screen();
    if (seen.find("STATE: TRANSFERRING") != std::string::npos &&
        seen.find("B/s ETA") != std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(seen.find("STATE: TRANSFERRING"), std::string::npos) << seen;
  EXPECT_TRUE(std::regex_search(seen, std::regex("[0-9.]+ [KMG]?B/s ETA"))) << seen;
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  EXPECT_EQ(count(screen(), "DISPLAY: 'live'"), 1u) << screen();  // redrawn, not scrolled
  for (int i = 0; i < 200 && screen().find("Transfer complete.") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::string last = screen();
  EXPECT_NE(last.find("STATE: TRANSFERRED"), std::string::npos) << last;
  EXPECT_NE(last.find("Transfer complete."), std::string::npos) << last;
  EXPECT_EQ(count(last, "DISPLAY: 'live'"), 1u) << last;
  EXPECT_TRUE(files_equal(nginx.root() + "/live", out + "/live"));
}

}  // namespace
}  // namespace openbits::itest
