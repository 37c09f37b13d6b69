// Uploading onto a file bits-upload-server already has (overwrites off, issue 12.4): the
// job waits in TRANSIENT_ERROR (409 is transient in BITS) with the server's own reason in
// its error description and its next retry time in JobInfo, and bitsadmin /TRANSFER says
// so once instead of waiting silently.
#include <chrono>
#include <regex>

#include "tests/integration/upload_fixture.h"

namespace openbits::itest {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

constexpr const char* kConflict =
    "Access is denied. (server: HTTP 409, BITS-Error-Code 0x80070005, BITS-Error-Context 0x5: "
    "the file already exists on the server and this server does not overwrite files)";

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class UploadConflictTest : public UploadClientTest {
 protected:
  // bits-upload-server (allow_overwrites off by default) already holding /up/taken.bin.
  void start_server_with_taken_file() {
    fs::create_directories(root + "/up");
    make_file(root + "/up/taken.bin", 1000, 3);
    server.emplace(std::vector<std::string>{OPENBITS_UPLOAD_SERVER_PATH, "--listen", "127.0.0.1:0",
                                            "--root", root},
                   dir.path() + "/cpp-server.out");
  }
};

TEST_F(UploadConflictTest, ConflictingUploadErrorCarriesTheServersReason) {
  start_server_with_taken_file();
  Job job = upload(JobType::kUpload, "taken.bin", 5000);  // minimum retry delay 5 s
  ASSERT_EQ(wait_for_state(job, {JobState::kTransientError, JobState::kError}, seconds(30)),
            JobState::kTransientError);
  std::int64_t seen_at = now_ms();
  auto info = job.info();
  ASSERT_TRUE(info.ok());
  ASSERT_TRUE(info->error.has_value());
  EXPECT_EQ(info->error->code, hr::E_ACCESSDENIED);
  EXPECT_EQ(info->error->description, kConflict);
  auto error = job.error();
  ASSERT_TRUE(error.ok());
  EXPECT_EQ(error->description, kConflict);
  // The retry comes after the job's 5 s delay (wide margins: the test may be slow).
  EXPECT_GT(info->next_retry_time, seen_at - 5000);
  EXPECT_LT(info->next_retry_time, seen_at + 5000 + 30000);
  EXPECT_EQ(read_bytes(root + "/up/taken.bin").size(), 1000u);  // not overwritten
  ASSERT_TRUE(job.cancel().ok());
}

// A server's text is bounded (256 bytes) and shown as one line of printable ASCII: line
// breaks, tabs, escape sequences and other bytes become single spaces.
TEST_F(UploadConflictTest, ServersReasonIsBoundedAndFreeOfControlCharacters) {
  nlohmann::json faults = {
      {"fail_packets", {{"Create-Session", {503, 100}}}},
      {"error_body", "line one\r\nline\ttwo\x1b[31m\xc3\xbf" + std::string(400, 'x')}};
  start_reference(false, faults.dump());
  Job job = upload(JobType::kUpload, "noisy.bin", 5000);
  ASSERT_EQ(wait_for_state(job, {JobState::kTransientError, JobState::kError}, seconds(30)),
            JobState::kTransientError);
  auto info = job.info();
  ASSERT_TRUE(info.ok());
  ASSERT_TRUE(info->error.has_value());
  EXPECT_EQ(info->error->code, 0x801901F7u);
  std::string prefix = "(server: HTTP 503, BITS-Error-Code 0x801901F7, BITS-Error-Context 0x5: ";
  const std::string& description = info->error->description;
  std::size_t at = description.find("(server: ");
  ASSERT_NE(at, std::string::npos) << description;
  EXPECT_EQ(description.substr(at),
            prefix + "line one line two [31m " + std::string(232, 'x') + ")");
  ASSERT_TRUE(job.cancel().ok());
}

TEST_F(UploadConflictTest, TransferReportsAJobWaitingInTransientErrorOnce) {
  start_server_with_taken_file();
  make_file(local + "/taken.bin", 5000, 4);
  // Not a terminal (stdout captured); Ctrl+C after 6 s, since BITS keeps waiting.
  CommandResult r = run_command(
      {"/usr/bin/timeout", "--preserve-status", "-s", "INT", "6", OPENBITS_BITSADMIN_PATH,
       "/transfer", "conflict", "/upload", url("/up/taken.bin"), local + "/taken.bin"},
      {"OPENBITS_SOCKET=" + bitsd.socket()});
  EXPECT_EQ(r.exit_code, 130) << r.out << r.err;
  std::string line =
      std::string("STATE: TRANSIENT_ERROR ERROR: 0x80070005 - ") + kConflict + " NEXT RETRY: ";
  EXPECT_EQ(itest::count(r.out, "STATE: TRANSIENT_ERROR ERROR:"), 1u) << r.out;  // once, no loop
  std::size_t at = r.out.find(line);
  ASSERT_NE(at, std::string::npos) << r.out;
  std::string retry = r.out.substr(at + line.size(), r.out.find('\n', at) - at - line.size());
  EXPECT_TRUE(std::regex_match(retry, std::regex("\\d+/\\d+/\\d{4} \\d+:\\d\\d:\\d\\d [AP]M")))
      << retry;
  EXPECT_NE(r.err.find("Transfer canceled."), std::string::npos) << r.err;
  EXPECT_EQ(read_bytes(root + "/up/taken.bin").size(), 1000u);
}

}  // namespace
}  // namespace openbits::itest
