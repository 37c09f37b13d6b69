// bitsd's upload client in the situations of a real deployment: upload-reply jobs through
// bits-upload-server and its back-end application (notification types 1 and 2), Cancel
// between the last fragment and Close-Session, several jobs uploading at once, and upload
// files read with their owner's credentials.
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <set>

#include "tests/integration/upload_fixture.h"

namespace openbits::itest {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

constexpr uid_t kNobody = 65534;

std::string from_hex(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

class UploadInteropTest : public UploadClientTest {
 protected:
  // backend_app.py of notification type `type`, and bits-upload-server handing uploads to it.
  void start_server_with_backend(int type) {
    backend_log = dir.path() + "/backend.log";
    backend.emplace(std::vector<std::string>{"python3", OPENBITS_UPLOAD_BACKEND_APP_PATH, "--type",
                                             std::to_string(type), "--log", backend_log},
                    dir.path() + "/backend.out");
    std::string config = dir.path() + "/server.json";
    std::ofstream(config) << nlohmann::json{{"notification_type", type},
                                            {"notification_url", backend->url("/notify")}}
                                 .dump();
    fs::create_directories(root + "/inbox");
    server.emplace(std::vector<std::string>{OPENBITS_UPLOAD_SERVER_PATH, "--listen", "127.0.0.1:0",
                                            "--root", root, "--config", config},
                   dir.path() + "/cpp-server.out");
  }
  // The back end's log: one JSON object per POST.
  std::vector<nlohmann::json> backend_posts() const {
    std::vector<nlohmann::json> out;
    std::ifstream in(backend_log);
    std::string line;
    while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
    return out;
  }
  void check_reply_through_backend(int type) {
    start_server_with_backend(type);
    make_file(local + "/report.bin", (3 << 20) + 5, static_cast<std::uint32_t>(40 + type));
    auto job = manager->create_job("report", JobType::kUploadReply);
    ASSERT_TRUE(job.ok());
    ASSERT_TRUE(job->add_file(url("/inbox/report.bin?tx=7"), local + "/report.bin").ok());
    ASSERT_TRUE(job->resume().ok());
    ASSERT_EQ(wait_for_state(*job, {JobState::kTransferred, JobState::kError}, seconds(60)),
              JobState::kTransferred);
    auto posts = backend_posts();
    ASSERT_EQ(posts.size(), 1u);
    EXPECT_EQ(posts[0]["size"], (3 << 20) + 5);
    std::string written = from_hex(posts[0]["reply"].get<std::string>());
    auto data = job->reply_data();
    ASSERT_TRUE(data.ok()) << data.status().message();
    EXPECT_EQ(std::string(data->begin(), data->end()), written);
    ASSERT_EQ(job->complete().code(), hr::S_OK);
    EXPECT_EQ(read_bytes(local + "/report.bin.reply"), written);
    EXPECT_TRUE(fs::is_empty(root + "/inbox"));  // types 1 and 2 do not store the upload
    EXPECT_TRUE(fs::is_empty(root + "/.bits-upload-server/sessions"));  // Close-Session came
  }

  std::string backend_log;
  std::optional<ServerProcess> backend;
};

TEST_F(UploadInteropTest, UploadReplyThroughBitsUploadServerByReference) {
  check_reply_through_backend(1);
}

TEST_F(UploadInteropTest, UploadReplyThroughBitsUploadServerByValue) {
  check_reply_through_backend(2);
}

// bits-spec §6.4: Cancel-Session after the last fragment cancels only the reply. The reply's
// GET fails, so the job waits between its last Fragment and Close-Session.
TEST_F(UploadInteropTest, CancelAfterTheLastFragmentSendsCancelSession) {
  start_reference(true, R"({"fail_reply_gets": 1000})");
  Job job = upload(JobType::kUploadReply, "late.bin", 300000);
  ASSERT_EQ(wait_for_state(job, {JobState::kTransientError, JobState::kTransferred}),
            JobState::kTransientError);
  EXPECT_EQ(job.error()->code, 0x80190000u + 503);  // the reply's GET, after the upload
  EXPECT_EQ(job.info()->progress.bytes_transferred, 300000u);
  EXPECT_TRUE(files_equal(root + "/up/late.bin", local + "/late.bin"));  // committed
  EXPECT_EQ(server_sessions(), 1u);
  ASSERT_EQ(job.cancel().code(), hr::S_OK);
  ASSERT_TRUE(wait_until([&] { return count("Cancel-Session") == 1; }, seconds(15)));
  EXPECT_EQ(count("Close-Session"), 0);
  EXPECT_EQ(last_packet(), "cancel-session");
  EXPECT_TRUE(packets().back().value("found", false));
  EXPECT_EQ(server_sessions(), 0u);
  EXPECT_TRUE(files_equal(root + "/up/late.bin", local + "/late.bin"));  // the upload stays
  EXPECT_FALSE(exists(local + "/late.bin.reply"));
  EXPECT_TRUE(temp_files_in(local).empty());
}

// Foreground jobs run at once: their sessions overlap on the server, and every file arrives.
TEST_F(UploadInteropTest, SeveralJobsUploadAtOnce) {
  start_reference(false);
  constexpr std::uint64_t kJobs = 5;
  std::vector<Job> jobs;
  for (std::uint64_t i = 0; i < kJobs; ++i) {
    jobs.push_back(upload(JobType::kUpload, "c" + std::to_string(i) + ".bin", (4 << 20) + i,
                          JobPriority::kForeground));
  }
  for (Job& job : jobs) {
    ASSERT_EQ(wait_for_state(job, {JobState::kTransferred, JobState::kError}, seconds(120)),
              JobState::kTransferred);
  }
  for (std::uint64_t i = 0; i < kJobs; ++i) {
    std::string name = "c" + std::to_string(i) + ".bin";
    EXPECT_TRUE(files_equal(root + "/up/" + name, local + "/" + name)) << name;
  }
  std::set<std::string> open;
  std::size_t most_open = 0;
  for (const auto& p : packets()) {
    if (is(p, "Create-Session")) open.insert(p.value("session", ""));
    if (is(p, "Close-Session")) open.erase(p.value("session", ""));
    most_open = std::max(most_open, open.size());
  }
  EXPECT_GE(most_open, 2u);
  EXPECT_EQ(count("Close-Session"), static_cast<int>(kJobs));
  EXPECT_EQ(server_sessions(), 0u);
}

TEST_F(UploadInteropTest, SeveralJobsUploadAtOnceToBitsUploadServer) {
  fs::create_directories(root + "/up");
  server.emplace(std::vector<std::string>{OPENBITS_UPLOAD_SERVER_PATH, "--listen", "127.0.0.1:0",
                                          "--root", root},
                 dir.path() + "/cpp-server.out");
  std::vector<Job> jobs;
  for (std::uint64_t i = 0; i < 6; ++i) {
    jobs.push_back(upload(JobType::kUpload, "s" + std::to_string(i) + ".bin", (3 << 20) + i,
                          JobPriority::kForeground));
  }
  for (std::size_t i = 0; i < 6; ++i) {
    ASSERT_EQ(wait_for_state(jobs[i], {JobState::kTransferred, JobState::kError}, seconds(120)),
              JobState::kTransferred);
    std::string name = "s" + std::to_string(i) + ".bin";
    EXPECT_TRUE(files_equal(root + "/up/" + name, local + "/" + name)) << name;
  }
  EXPECT_TRUE(fs::is_empty(root + "/.bits-upload-server/sessions"));
}

// Issue 12 item 6: upload-reply to a bits-upload-server without a back end (notification
// type 0): the server commits the file and acknowledges every byte without a reply URL. The
// job is in ERROR 0x8020001B with a description that says why and what to configure, not
// "Resume the job, and then BITS will try again".
TEST_F(UploadInteropTest, UploadReplyToAServerWithoutABackEndSaysWhatToConfigure) {
  fs::create_directories(root + "/up");
  server.emplace(std::vector<std::string>{OPENBITS_UPLOAD_SERVER_PATH, "--listen", "127.0.0.1:0",
                                          "--root", root},
                 dir.path() + "/cpp-server.out");
  Job job = upload(JobType::kUploadReply, "noreply.bin", 200000);
  ASSERT_EQ(wait_for_state(job, {JobState::kTransferred, JobState::kError}), JobState::kError);
  auto error = job.error();
  ASSERT_TRUE(error.ok());
  EXPECT_EQ(error->code, hr::BG_E_INVALID_SERVER_RESPONSE);
  EXPECT_NE(error->description.find("no back-end application to answer upload-reply jobs"),
            std::string::npos)
      << error->description;
  EXPECT_NE(error->description.find("notification_type 1 or 2"), std::string::npos);
  EXPECT_EQ(error->description.find("will try again"), std::string::npos);
  EXPECT_EQ(job.info()->error->description, error->description);
  CommandResult shown = bitsadmin({"/geterror", to_string(job.id())});
  EXPECT_NE(shown.out.find("0x8020001b - The server received the whole upload but sent no "
                           "reply URL (BITS-Reply-URL)"),
            std::string::npos)
      << shown.out;
  // The same after a restart of bitsd (it is derived from what the job records).
  bitsd.kill9();
  bitsd.start({"--config", dir.path() + "/bitsd.json"});
  manager.emplace(bitsd.connect());
  auto again = manager->get_job(job.id());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->error()->description, error->description);
}

// The engine opens the upload file as the job's owner: root (bitsd) could read a file nobody
// cannot, but the job of nobody fails with E_ACCESSDENIED in LOCAL_FILE; nobody's own
// unreadable-to-others file uploads.
TEST_F(UploadInteropTest, UploadFileIsReadWithTheOwnersCredentials) {
  start_reference(false);
  std::string denied = local + "/root-only.bin";
  std::string mine = local + "/mine.bin";
  make_file(denied, 100000, 50);
  make_file(mine, 100000, 51);
  ASSERT_EQ(::chown(mine.c_str(), kNobody, kNobody), 0);
  ASSERT_EQ(::chmod(mine.c_str(), 0600), 0);
  auto create = [&](const std::string& name, const std::string& path) {
    CommandResult id = bitsadmin({"/rawreturn", "/create", "/upload", name}, kNobody);
    EXPECT_EQ(id.exit_code, 0) << id.err;
    CommandResult added = bitsadmin({"/addfile", id.out, url("/up/" + name), path}, kNobody);
    EXPECT_EQ(added.exit_code, 0) << added.err;
    return id.out;
  };
  std::string denied_id = create("root-only.bin", denied);  // readable by all when added
  std::string mine_id = create("mine.bin", mine);
  ASSERT_EQ(::chmod(denied.c_str(), 0600), 0);  // now only root can read it
  ASSERT_EQ(bitsadmin({"/resume", denied_id}, kNobody).exit_code, 0);
  ASSERT_EQ(bitsadmin({"/resume", mine_id}, kNobody).exit_code, 0);
  auto denied_job = manager->get_job(*parse_guid(denied_id));  // root may watch any job
  auto mine_job = manager->get_job(*parse_guid(mine_id));
  ASSERT_TRUE(denied_job.ok() && mine_job.ok());
  ASSERT_EQ(wait_for_state(*denied_job, {JobState::kError, JobState::kTransferred}),
            JobState::kError);
  auto error = denied_job->error();
  ASSERT_TRUE(error.ok());
  EXPECT_EQ(error->code, hr::E_ACCESSDENIED);
  EXPECT_EQ(error->context, ErrorContext::kLocalFile);
  ASSERT_EQ(wait_for_state(*mine_job, {JobState::kError, JobState::kTransferred}),
            JobState::kTransferred);
  EXPECT_TRUE(files_equal(root + "/up/mine.bin", mine));
  EXPECT_FALSE(exists(root + "/up/root-only.bin"));
  EXPECT_EQ(count("Create-Session"), 1);  // the refused file never reached the server
}

}  // namespace
}  // namespace openbits::itest
