// Idle-bandwidth use (docs/bandwidth.md "Yielding to other traffic") on a real bitsd: it
// runs in a network namespace joined to nginx's by a veth pair shaped with tc tbf (40 Mbit/s
// and 150 ms of queue toward bitsd). A NORMAL job moves far less while a curl download
// shares the link, and takes the link again after it; a FOREGROUND job does not give way.
// Rates are compared with each other by large factors, never against times.
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <iostream>
#include <optional>
#include <thread>

#include "tests/integration/fault_fixture.h"
#include "tests/integration/itest.h"
#include "tests/integration/server_process.h"

namespace openbits::itest {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr std::uint64_t kJobSize = 400ull << 20;  // outlasts the test at the link's rate
constexpr std::uint64_t kCurlSize = 40ull << 20;  // ~8 s at the link's rate

class YieldTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string there = name + "b";
    ASSERT_EQ(
        run_checked({"ip", "netns", "exec", hosts.server(), "tc", "qdisc", "add", "dev", there,
                     "root", "tbf", "rate", "40mbit", "burst", "64kb", "latency", "150ms"}),
        0);
    start_nginx();
    socket = dir.path() + "/bitsd.sock";
    daemon = hosts.spawn_in_client(
        {OPENBITS_BITSD_PATH, "--state-dir", dir.path() + "/state", "--socket", socket}, log());
    manager = connect_when_ready(socket);
    ASSERT_TRUE(manager.has_value()) << read_text(log());
    out = dir.path() + "/out";
    fs::create_directories(out);
  }
  void TearDown() override {
    manager.reset();
    stop_process(curl, SIGKILL);
    stop_process(daemon, SIGTERM);
    stop_process(nginx, SIGTERM);
    if (HasFailure()) std::cerr << "--- bitsd log ---\n" << read_text(log());
  }
  void start_nginx() {
    std::string d = dir.path() + "/nginx";
    fs::create_directories(d + "/www");
    make_file(d + "/www/job.bin", kJobSize, 11);
    make_file(d + "/www/other.bin", kCurlSize, 12);
    save_text(d + "/nginx.conf",
              "worker_processes 1; daemon off; master_process off; user root;\n"
              "pid " +
                  d + "/nginx.pid; error_log " + d +
                  "/error.log;\n"
                  "events { worker_connections 64; }\n"
                  "http { access_log off; sendfile on; client_body_temp_path " +
                  d + "; proxy_temp_path " + d + "; fastcgi_temp_path " + d + "; uwsgi_temp_path " +
                  d + "; scgi_temp_path " + d + ";\n  server { listen " + hosts.server_ip() +
                  ":8080; root " + d + "/www; } }\n");
    nginx = spawn_process(
        {"ip", "netns", "exec", hosts.server(), "nginx", "-c", d + "/nginx.conf", "-p", d},
        d + "/nginx.out");
    // Listening once a client in bitsd's namespace gets an answer.
    for (int i = 0; i < 150; ++i) {
      if (run_checked({"ip", "netns", "exec", hosts.client(), "curl", "-sfI", "-o", "/dev/null",
                       url("other.bin")}) == 0) {
        return;
      }
      std::this_thread::sleep_for(milliseconds(100));
    }
    FAIL() << "nginx did not start: " << read_text(d + "/error.log");
  }
  std::string url(const std::string& file) const {
    return "http://" + hosts.server_ip() + ":8080/" + file;
  }
  std::string log() const { return dir.path() + "/bitsd.log"; }
  // Bytes in the job's temp file (every byte received, before it is durable).
  std::uint64_t received() const {
    for (const auto& entry : fs::directory_iterator(out)) {
      if (entry.path().filename().string().rfind(".BIT", 0) == 0) return entry.file_size();
    }
    return 0;
  }
  // Bytes per second the job received over `window`.
  std::uint64_t job_rate(milliseconds window) const {
    std::uint64_t before = received();
    std::this_thread::sleep_for(window);
    return (received() - before) * 1000 / static_cast<std::uint64_t>(window.count());
  }
  Job start_job(JobPriority priority) {
    auto job = manager->create_job("yield");
    EXPECT_TRUE(job.ok());
    EXPECT_TRUE(job->set_priority(priority).ok());
    EXPECT_TRUE(job->add_file(url("job.bin"), out + "/job.bin").ok());
    EXPECT_TRUE(job->resume().ok());
    EXPECT_EQ(wait_for_state(*job, {JobState::kTransferring}), JobState::kTransferring);
    for (int i = 0; i < 100 && received() == 0; ++i) std::this_thread::sleep_for(milliseconds(50));
    return *job;
  }
  void start_curl() {
    curl = hosts.spawn_in_client({"curl", "-sf", "-o", dir.path() + "/other.bin", url("other.bin")},
                                 dir.path() + "/curl.log");
  }
  // Waits for curl to end; whether it downloaded the whole file intact.
  bool curl_done() {
    int status = 0;
    ::waitpid(curl, &status, 0);
    curl = -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
           files_equal(dir.path() + "/nginx/www/other.bin", dir.path() + "/other.bin");
  }

  TempDir dir;
  std::string name = "oby" + std::to_string(::getpid() % 100000);
  NetNs hosts{name, 20 + (::getpid() + 97) % 200};
  std::string socket;
  std::string out;
  pid_t daemon = -1;
  pid_t nginx = -1;
  pid_t curl = -1;
  std::optional<Manager> manager;
};

TEST_F(YieldTest, NormalJobGivesWayToADownloadAndTakesTheLinkAgainAfter) {
  Job job = start_job(JobPriority::kNormal);
  std::this_thread::sleep_for(seconds(1));
  std::uint64_t alone = job_rate(seconds(3));
  ASSERT_GT(alone, 1'000'000u) << "the job alone should fill most of the 5 MB/s link";
  start_curl();
  std::this_thread::sleep_for(seconds(2));
  std::uint64_t beside = job_rate(seconds(3));
  EXPECT_LT(beside, alone / 8) << alone << " B/s alone";
  ASSERT_TRUE(curl_done());
  std::this_thread::sleep_for(seconds(3));
  std::uint64_t after = job_rate(seconds(3));
  EXPECT_GT(after, alone / 2) << alone << " B/s alone, " << beside << " beside curl";
  EXPECT_GT(beside, 0u) << "a trickle, never nothing";
  ASSERT_TRUE(job.cancel().ok());
}

TEST_F(YieldTest, ForegroundJobSharesTheLinkWithADownload) {
  Job job = start_job(JobPriority::kForeground);
  std::this_thread::sleep_for(seconds(1));
  std::uint64_t alone = job_rate(seconds(3));
  ASSERT_GT(alone, 1'000'000u);
  start_curl();
  std::this_thread::sleep_for(seconds(2));
  std::uint64_t beside = job_rate(seconds(3));
  EXPECT_GT(beside, alone / 8) << alone << " B/s alone";
  ASSERT_TRUE(curl_done());
  ASSERT_TRUE(job.cancel().ok());
}

}  // namespace
}  // namespace openbits::itest
