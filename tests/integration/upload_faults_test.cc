// bitsd's upload client against the reference server's faults: each client rule of
// bits-spec §6.4 (error headers and contexts, 416, dropped connections, Close/Cancel-Session
// resends, servers that never advance, BITS-Host-Id fallback), checked by exact state,
// HRESULT, context, the packets the server saw and the bytes it stored.
#include "tests/integration/upload_fixture.h"

namespace openbits::itest {
namespace {

using std::chrono::seconds;

class UploadFaultsTest : public UploadClientTest {
 protected:
  // Waits for a final-ish state and returns the job's error (code 0 when there is none).
  ErrorInfo error_after(Job& job, JobState expected) {
    EXPECT_EQ(wait_for_state(job, {JobState::kTransferred, JobState::kError}, seconds(60)),
              expected);
    auto error = job.error();
    return error.ok() ? *error : ErrorInfo{};
  }
  // Counts `packet` until it reaches `expected`, then a second more: no further one may come
  // (resends of Close/Cancel-Session are immediate, with no retry delay).
  int settled_count(const std::string& packet, int expected) {
    wait_until([&] { return count(packet) >= expected; }, seconds(15));
    std::this_thread::sleep_for(seconds(1));
    return count(packet);
  }
  // A job in TRANSIENT_ERROR holding a session (its Fragments get 503), then cancelled.
  void cancel_with_session() {
    Job job = upload(JobType::kUpload, "c.bin", 100000);
    ASSERT_EQ(wait_for_state(job, {JobState::kTransientError}), JobState::kTransientError);
    ASSERT_EQ(count("Create-Session"), 1);
    ASSERT_EQ(job.cancel().code(), hr::S_OK);
  }
};

// [MC-BUP] names the error header BITS-Error: read, the 413 is BG_E_TOO_LARGE (an error of the
// job), not a request to shrink the fragment.
TEST_F(UploadFaultsTest, ErrorHeaderSpelledBitsErrorIsRead) {
  start_reference(false, R"({"error_header": "BITS-Error", "max_upload": 100000})");
  Job job = upload(JobType::kUpload, "huge.bin", 200000);
  ErrorInfo error = error_after(job, JobState::kError);
  EXPECT_EQ(error.code, hr::BG_E_TOO_LARGE);
  EXPECT_EQ(error.context, ErrorContext::kRemoteFile);
  EXPECT_EQ(count("Fragment"), 1);  // not shrunk and resent
}

TEST_F(UploadFaultsTest, ServerApplicationErrorHasTheRemoteApplicationContext) {
  start_reference(true, R"({"app_error": [400, "0x8007000D"]})");
  Job job = upload(JobType::kUploadReply, "form.bin", 300000);
  ErrorInfo error = error_after(job, JobState::kError);
  EXPECT_EQ(error.code, 0x8007000Du);
  EXPECT_EQ(error.context, ErrorContext::kRemoteApplication);
  EXPECT_EQ(fragments_with("app_error").size(), 1u);
}

// bits-spec §6.4: an upload-reply whose last Ack has no BITS-Reply-URL is an error.
TEST_F(UploadFaultsTest, UploadReplyWithoutReplyUrlIsAnError) {
  start_reference(true, R"({"no_reply_url": true})");
  Job job = upload(JobType::kUploadReply, "noreply.bin", 300000);
  ErrorInfo error = error_after(job, JobState::kError);
  EXPECT_EQ(error.code, hr::BG_E_INVALID_SERVER_RESPONSE);
  EXPECT_EQ(error.context, ErrorContext::kRemoteFile);
  EXPECT_EQ(job.info()->reply_bytes_total, kSizeUnknown);  // no reply was fetched
}

// The connection breaks 300,000 bytes into the third fragment: the client reconnects and
// goes on in the same session from what the server acknowledged. (Whether that takes a
// retry of the job depends on libcurl: a request on a reused connection that died before
// any answer is resent by libcurl itself on a new one.)
TEST_F(UploadFaultsTest, ConnectionDroppedMidFragmentContinuesInTheSameSession) {
  start_reference(false, R"({"drop_after": 300000, "drop_at": 2097152})");
  Job job = upload(JobType::kUpload, "drop.bin", (4 << 20) + 9);
  ASSERT_EQ(error_after(job, JobState::kTransferred).code, hr::S_OK);
  EXPECT_TRUE(files_equal(root + "/up/drop.bin", local + "/drop.bin"));
  EXPECT_EQ(fragments_with("dropped").size(), 1u);
  EXPECT_EQ(count("Create-Session"), 1);
  std::vector<std::uint64_t> starts;
  std::uint64_t written = 0;
  for (const auto& p : packets()) {
    if (!is(p, "Fragment")) continue;
    starts.push_back(p["range"][0].get<std::uint64_t>());
    written += p.value("written", std::uint64_t{0});
  }
  EXPECT_EQ(starts, (std::vector<std::uint64_t>{0, 1 << 20, 2 << 20, 2 << 20, 3 << 20, 4 << 20}));
  EXPECT_EQ(written, (4u << 20) + 9);  // every byte stored once
  EXPECT_LE(job.info()->error_count, 1u);
}

// A 416 (the server lost bytes past 1 MiB): the client continues from the server's
// BITS-Received-Content-Range, not from where it was; 416 is not a job error.
TEST_F(UploadFaultsTest, Status416ContinuesFromTheReceivedContentRange) {
  start_reference(false, R"({"rewind": 1048576})");
  Job job = upload(JobType::kUpload, "rewind.bin", (4 << 20) + 5);
  ASSERT_EQ(error_after(job, JobState::kTransferred).code, hr::S_OK);
  EXPECT_TRUE(files_equal(root + "/up/rewind.bin", local + "/rewind.bin"));
  std::vector<std::uint64_t> starts;
  for (const auto& p : packets()) {
    if (is(p, "Fragment")) starts.push_back(p["range"][0].get<std::uint64_t>());
  }
  // 0, 1 MiB, then 2 MiB answered 416 with 1048576, then 1 MiB again and on.
  EXPECT_EQ(starts,
            (std::vector<std::uint64_t>{0, 1 << 20, 2 << 20, 1 << 20, 2 << 20, 3 << 20, 4 << 20}));
  ASSERT_EQ(fragments_with("gap").size(), 1u);
  EXPECT_EQ(fragments_with("gap")[0]["range"][0], 2u << 20);
  EXPECT_EQ(count("Create-Session"), 1);
  EXPECT_EQ(job.info()->error_count, 0u);
}

// Close/Cancel-Session: resent on 5xx, never on 4xx (bits-spec §6.4).
TEST_F(UploadFaultsTest, CancelSessionIsResentAfter5xx) {
  start_reference(false,
                  R"({"fail_packets": {"Fragment": [503, 100], "Cancel-Session": [503, 2]}})");
  cancel_with_session();
  EXPECT_EQ(settled_count("Cancel-Session", 3), 3);
  EXPECT_EQ(server_sessions(), 0u);  // the third one reached the session
}

TEST_F(UploadFaultsTest, CancelSessionIsNotResentAfter4xx) {
  start_reference(false,
                  R"({"fail_packets": {"Fragment": [503, 100], "Cancel-Session": [404, 5]}})");
  cancel_with_session();
  EXPECT_EQ(settled_count("Cancel-Session", 1), 1);
  EXPECT_EQ(server_sessions(), 1u);  // never reached: the server keeps it until it expires
}

TEST_F(UploadFaultsTest, CloseSessionIsResentAfter5xx) {
  start_reference(false, R"({"fail_packets": {"Close-Session": [503, 2]}})");
  Job job = upload(JobType::kUpload, "close.bin", 300000);
  ASSERT_EQ(error_after(job, JobState::kTransferred).code, hr::S_OK);
  EXPECT_EQ(count("Close-Session"), 3);
  EXPECT_EQ(server_sessions(), 0u);
  EXPECT_TRUE(files_equal(root + "/up/close.bin", local + "/close.bin"));
}

TEST_F(UploadFaultsTest, CloseSessionIsNotResentAfter4xx) {
  start_reference(false, R"({"fail_packets": {"Close-Session": [400, 5]}})");
  Job job = upload(JobType::kUpload, "close.bin", 300000);
  ASSERT_EQ(error_after(job, JobState::kTransferred).code, hr::S_OK);
  EXPECT_EQ(count("Close-Session"), 1);
  EXPECT_TRUE(files_equal(root + "/up/close.bin", local + "/close.bin"));
}

// A server that answers `status` with BITS-Received-Content-Range at the fragment's start,
// storing nothing: the client gives up after 5 such Acks with a transient
// BG_E_INVALID_SERVER_RESPONSE (instead of resending forever), and the retry after the
// minimum retry delay finishes once the server behaves.
void expect_stalled_server_is_a_transient_error(Job& job) {
  ASSERT_EQ(wait_for_state(job, {JobState::kTransientError, JobState::kTransferred}),
            JobState::kTransientError);
  auto error = job.error();
  ASSERT_TRUE(error.ok());
  EXPECT_EQ(error->code, hr::BG_E_INVALID_SERVER_RESPONSE);
  EXPECT_EQ(error->context, ErrorContext::kRemoteFile);
}

TEST_F(UploadFaultsTest, ServerAcking200WithoutProgressEndsInATransientError) {
  start_reference(false, R"({"stall_acks": [200, 1000000]})");
  Job job = upload(JobType::kUpload, "stuck.bin", 300000);
  expect_stalled_server_is_a_transient_error(job);
  EXPECT_EQ(count("Fragment"), 5);
  control(R"({"stall_acks": null})");
  ASSERT_EQ(error_after(job, JobState::kTransferred).code, hr::S_OK);
  EXPECT_TRUE(files_equal(root + "/up/stuck.bin", local + "/stuck.bin"));
}

TEST_F(UploadFaultsTest, ServerAcking416WithoutProgressEndsInATransientError) {
  start_reference(false, R"({"stall_acks": [416, 5]})");
  Job job = upload(JobType::kUpload, "stuck.bin", 300000);
  expect_stalled_server_is_a_transient_error(job);
  EXPECT_EQ(fragments_with("stalled").size(), 5u);
  ASSERT_EQ(error_after(job, JobState::kTransferred).code, hr::S_OK);
  EXPECT_TRUE(files_equal(root + "/up/stuck.bin", local + "/stuck.bin"));
  EXPECT_EQ(count("Create-Session"), 1);  // the retry went on in the same session
}

// BITS-Host-Id-Fallback-Timeout 9 s, retries every 5 s: the timer starts at the first failure,
// so the third failure at the host id is the first that may fall back.
TEST_F(UploadFaultsTest, HostIdFallbackWaitsForItsTimeout) {
  start_reference(false, R"({"host_id": "127.0.0.9", "host_id_timeout": 9, "host_id_once": true})");
  Job job = upload(JobType::kUpload, "farm.bin", 300000);
  ASSERT_EQ(error_after(job, JobState::kTransferred).code, hr::S_OK);
  EXPECT_TRUE(files_equal(root + "/up/farm.bin", local + "/farm.bin"));
  EXPECT_EQ(count("Create-Session"), 2);
  EXPECT_GE(job.info()->error_count, 3u);
}

// Without BITS-Host-Id-Fallback-Timeout the client never falls back: it keeps retrying the
// host id and never makes a second session.
TEST_F(UploadFaultsTest, HostIdWithoutFallbackTimeoutIsNeverLeft) {
  start_reference(false, R"({"host_id": "127.0.0.9"})");
  Job job = upload(JobType::kUpload, "farm.bin", 300000);
  ASSERT_TRUE(wait_until([&] { return job.info()->error_count >= 3; }, seconds(40)));
  EXPECT_EQ(job.state().value(), JobState::kTransientError);
  EXPECT_EQ(job.error()->context, ErrorContext::kGeneralTransport);
  EXPECT_EQ(count("Create-Session"), 1);
  EXPECT_EQ(count("Fragment"), 0);
  EXPECT_EQ(bitsd.log().find("uploading to the original host again"), std::string::npos);
  ASSERT_EQ(job.cancel().code(), hr::S_OK);
}

}  // namespace
}  // namespace openbits::itest
