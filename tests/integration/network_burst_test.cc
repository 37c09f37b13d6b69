// Retry storms (issue 12, item 5): other programs creating and removing network interfaces
// must not restart a waiting job at every change. bitsd runs in a network namespace of its
// own (NetNs, so the changes are seen by this daemon only) with a job in TRANSIENT_ERROR
// against an origin that refuses connections, and BITS's default retry delay of 600 s;
// the test makes bursts of real interface changes there (veth pairs created, brought up
// and deleted) and counts the job's retries with its error count (every failed attempt is
// one, bits-spec §1.2).
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <iostream>
#include <optional>
#include <thread>

#include "tests/integration/fault_fixture.h"
#include "tests/integration/itest.h"

namespace openbits::itest {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class NetworkBurstTest : public ::testing::Test {
 protected:
  void SetUp() override {
    socket = dir.path() + "/bitsd.sock";
    daemon = hosts.spawn_in_client(
        {OPENBITS_BITSD_PATH, "--state-dir", dir.path() + "/state", "--socket", socket}, log());
    manager = connect_when_ready(socket);
    ASSERT_TRUE(manager.has_value()) << read_text(log());
  }
  void TearDown() override {
    manager.reset();
    ::kill(daemon, SIGTERM);
    int status = 0;
    ::waitpid(daemon, &status, 0);
    if (HasFailure()) std::cerr << "--- bitsd log ---\n" << read_text(log());
  }
  std::string log() const { return dir.path() + "/bitsd.log"; }
  // `changes` interface changes in bitsd's namespace, `gap` apart: each one a veth pair
  // that appears, comes up (carrier: "something came up") and goes away again.
  void burst(int changes, milliseconds gap) {
    std::string a = "obnb" + std::to_string(::getpid() % 100000) + "x";
    std::string b = "obnb" + std::to_string(::getpid() % 100000) + "y";
    auto in_client = [&](std::vector<std::string> argv) {
      argv.insert(argv.begin(), {"ip", "netns", "exec", hosts.client()});
      return run_checked(argv);
    };
    for (int i = 0; i < changes; ++i) {
      ASSERT_EQ(in_client({"ip", "link", "add", a, "type", "veth", "peer", "name", b}), 0);
      ASSERT_EQ(in_client({"ip", "link", "set", a, "up"}), 0);
      ASSERT_EQ(in_client({"ip", "link", "set", b, "up"}), 0);
      std::this_thread::sleep_for(gap / 2);
      ASSERT_EQ(in_client({"ip", "link", "del", a}), 0);  // and its peer
      std::this_thread::sleep_for(gap / 2);
    }
  }

  TempDir dir;
  NetNs hosts{"obn" + std::to_string(::getpid() % 100000), 20 + ::getpid() % 200};
  std::string socket;
  pid_t daemon = -1;
  std::optional<Manager> manager;
};

TEST_F(NetworkBurstTest, BurstsOfInterfaceChangesRetryAWaitingJobOnce) {
  auto job = manager->create_job("storm");
  ASSERT_TRUE(job.ok());
  // Nothing listens on the origin's port: every attempt is refused, a transient error.
  ASSERT_TRUE(job->add_file("http://" + hosts.server_ip() + ":9/f", dir.path() + "/f").ok());
  ASSERT_TRUE(job->resume().ok());
  ASSERT_EQ(wait_for_state(*job, {JobState::kTransientError}), JobState::kTransientError);
  ASSERT_EQ(job->info()->error_count, 1u);
  ASSERT_EQ(job->info()->minimum_retry_delay, 600u);
  // 20 changes 600 ms apart (300 ms between an interface's coming up and its going away,
  // longer than the 200 ms bitsd used to wait for quiet), in two bursts 3 s apart: the
  // first burst's end (2 s of quiet)
  // retries the job once; the second comes within the floor (min(600 s, 60 s)) of that
  // retry and only moves the next one to the floor's end, a minute later.
  burst(10, milliseconds(600));
  std::this_thread::sleep_for(seconds(3));
  burst(10, milliseconds(600));
  std::this_thread::sleep_for(seconds(4));
  auto info = job->info();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->error_count, 2u);  // one retry; 21 before the fix
  EXPECT_EQ(info->state, JobState::kTransientError);
  EXPECT_EQ(count(read_text(log()), "network changed: 1 job(s) in TRANSIENT_ERROR queued"), 1u);
}

}  // namespace
}  // namespace openbits::itest
