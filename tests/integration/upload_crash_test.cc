// bitsd uploading to bits-upload-server when either side is SIGKILLed mid-upload: the
// upload goes on in the same session, the file on the server equals the source, and the
// server receives at most one fragment again per crash (it logs each Fragment's bytes at
// --log-level debug; the reference-server variant is in upload_client_test.cc).
#include <regex>

#include "tests/integration/upload_fixture.h"

namespace openbits::itest {
namespace {

using std::chrono::seconds;

constexpr std::uint64_t kFragment = 64 * 1024;
// Small fragments make the upload take long enough (each one waits for its Ack) for the
// test to see it under way and kill a process before it ends.
constexpr std::uint64_t kSize = 48 << 20;

class UploadCrashTest : public UploadClientTest {
 protected:
  void SetUp() override {
    UploadClientTest::SetUp();
    std::ofstream(dir.path() + "/bitsd.json")
        << R"({"upload_fragment_bytes": )" << kFragment << "}";
    restart_bitsd(false);
    std::filesystem::create_directories(root + "/up");
  }
  void restart_bitsd(bool kill) {
    if (kill) {
      bitsd.kill9();
    } else {
      bitsd.terminate();
    }
    bitsd.start({"--config", dir.path() + "/bitsd.json"});
    manager.emplace(bitsd.connect());
  }
  // bits-upload-server on `port` (0: any), logging every Fragment to its own log file.
  void start_server(int port = 0) {
    std::string log = dir.path() + "/cpp-server-" + std::to_string(server_logs.size()) + ".out";
    server_logs.push_back(log);
    server.emplace(std::vector<std::string>{OPENBITS_UPLOAD_SERVER_PATH, "--listen",
                                            "127.0.0.1:" + std::to_string(port), "--root", root,
                                            "--log-level", "debug"},
                   log);
  }
  // Waits until the job has at least `bytes` acknowledged; false if it ended first.
  bool progressed(const Guid& id, std::uint64_t bytes) {
    return wait_until([&] {
      auto job = manager->get_job(id);
      if (!job.ok()) return false;
      auto info = job->info();
      return info.ok() && info->progress.bytes_transferred >= bytes &&
             info->progress.bytes_transferred < kSize;
    });
  }
  // Fragment body bytes every server process logged.
  std::uint64_t bytes_received() const {
    static const std::regex kLine(R"(Fragment \{[0-9A-F-]+\} from \S+: (\d+) bytes at)");
    std::uint64_t total = 0;
    for (const auto& log : server_logs) {
      std::string text = read_bytes(log);
      for (std::sregex_iterator it(text.begin(), text.end(), kLine), end; it != end; ++it) {
        total += std::stoull((*it)[1].str());
      }
    }
    return total;
  }
  void expect_uploaded_once_more_at_most(const Guid& id, int crashes) {
    auto job = manager->get_job(id);
    ASSERT_TRUE(job.ok());
    ASSERT_EQ(wait_for_state(*job, {JobState::kTransferred, JobState::kError}, seconds(120)),
              JobState::kTransferred);
    EXPECT_TRUE(files_equal(root + "/up/crash.bin", local + "/crash.bin"));
    std::uint64_t received = bytes_received();
    EXPECT_GE(received, kSize);
    EXPECT_LE(received, kSize + static_cast<std::uint64_t>(crashes) * kFragment);
  }

  std::vector<std::string> server_logs;
};

TEST_F(UploadCrashTest, SigkillOfBitsUploadServerMidUploadResendsAtMostOneFragment) {
  start_server();
  Job job = upload(JobType::kUpload, "crash.bin", kSize);
  ASSERT_TRUE(progressed(job.id(), 4 << 20));
  int port = server->port();
  server->kill(SIGKILL);  // restarted on the same port, with its sessions on disk
  server.reset();
  start_server(port);
  expect_uploaded_once_more_at_most(job.id(), 1);
}

TEST_F(UploadCrashTest, SigkillOfBitsdMidUploadToBitsUploadServerResendsAtMostOneFragment) {
  start_server();
  Job job = upload(JobType::kUpload, "crash.bin", kSize);
  ASSERT_TRUE(progressed(job.id(), 4 << 20));
  restart_bitsd(true);
  expect_uploaded_once_more_at_most(job.id(), 1);
}

}  // namespace
}  // namespace openbits::itest
