// bitsd's upload client (bits-spec §6) against two servers it shares no code with: the
// independent Python reference server (tests/upload/reference_server.py, written from the
// spec, with fault injection) and bits-upload-server. Bytes on the server, states,
// HRESULTs and the packets the server saw are checked. Protocol faults are in
// upload_faults_test.cc, interoperability with bits-upload-server and other users in
// upload_interop_test.cc.
#include <algorithm>

#include "tests/integration/upload_fixture.h"

namespace openbits::itest {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

TEST_F(UploadClientTest, UploadArrivesByteIdenticalAndTheSessionIsClosed) {
  start_reference(false);
  Job job = upload(JobType::kUpload, "dump.bin", (5 << 20) + 123);
  ASSERT_EQ(wait_for_state(job, {JobState::kTransferred, JobState::kError}, seconds(60)),
            JobState::kTransferred);
  auto info = job.info();
  EXPECT_EQ(info->progress.bytes_transferred, (5u << 20) + 123);
  EXPECT_EQ(info->progress.bytes_total, (5u << 20) + 123);
  ASSERT_EQ(job.complete().code(), hr::S_OK);
  EXPECT_TRUE(files_equal(root + "/up/dump.bin", local + "/dump.bin")) << root + "/up/dump.bin";
  auto all = packets();
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(strcasecmp(all.front().value("packet", "").c_str(), "Ping"), 0);  // Ping comes first
  EXPECT_EQ(count("Ping"), 1);
  EXPECT_EQ(count("Create-Session"), 1);
  EXPECT_EQ(count("Fragment"), 6);  // 1 MiB fragments
  EXPECT_EQ(count("Close-Session"), 1);
  EXPECT_EQ(last_packet(), "close-session");
}

TEST_F(UploadClientTest, UploadReplyDeliversTheReplyAndClosesAfterIt) {
  start_reference(true);
  Job job = upload(JobType::kUploadReply, "form.bin", 300000);
  ASSERT_EQ(wait_for_state(job, {JobState::kTransferred, JobState::kError}, seconds(60)),
            JobState::kTransferred);
  auto info = job.info();
  std::string reply_name = local + "/form.bin.reply";
  EXPECT_EQ(info->reply_file_name, reply_name);
  auto data = job.reply_data();
  ASSERT_TRUE(data.ok()) << data.status().message();
  std::string text(data->begin(), data->end());
  EXPECT_EQ(text.rfind("REPLY ", 0), 0u) << text;
  EXPECT_NE(text.find(" 300000"), std::string::npos) << text;
  EXPECT_EQ(info->reply_bytes_total, data->size());
  EXPECT_EQ(info->reply_bytes_transferred, data->size());
  EXPECT_EQ(last_packet(), "close-session");  // after the reply
  ASSERT_EQ(job.complete().code(), hr::S_OK);
  EXPECT_EQ(read_bytes(reply_name), text);
  EXPECT_TRUE(files_equal(root + "/up/form.bin", local + "/form.bin")) << root + "/up/form.bin";
}

TEST_F(UploadClientTest, SetReplyFileNameIsUsedAndReplyDataNeedsTransferred) {
  start_reference(true, R"({"fail_packets": {"Fragment": [503, 1]}})");
  make_file(local + "/r.bin", 1000, 3);
  auto job = manager->create_job("r", JobType::kUploadReply);
  ASSERT_TRUE(job.ok());
  ASSERT_TRUE(job->add_file(url("/up/r.bin"), local + "/r.bin").ok());
  ASSERT_TRUE(job->set_reply_file_name(local + "/answer.txt").ok());
  EXPECT_EQ(job->reply_data().status().code(), hr::BG_E_INVALID_STATE);
  ASSERT_TRUE(job->set_minimum_retry_delay(5).ok());
  ASSERT_TRUE(job->resume().ok());
  ASSERT_EQ(wait_for_state(*job, {JobState::kTransferred, JobState::kError}, seconds(60)),
            JobState::kTransferred);
  ASSERT_EQ(job->complete().code(), hr::S_OK);
  EXPECT_TRUE(exists(local + "/answer.txt"));
  auto download = manager->create_job("d");
  ASSERT_TRUE(download.ok());
  EXPECT_EQ(download->set_reply_file_name(local + "/x").code(), hr::E_NOTIMPL);
}

TEST_F(UploadClientTest, TooLargeFragmentsAreShrunk) {
  start_reference(false, R"({"max_fragment": 300000})");
  Job job = upload(JobType::kUpload, "big.bin", 2 << 20);
  ASSERT_EQ(wait_for_state(job, {JobState::kTransferred, JobState::kError}, seconds(60)),
            JobState::kTransferred);
  EXPECT_TRUE(files_equal(root + "/up/big.bin", local + "/big.bin")) << root + "/up/big.bin";
  bool refused = false;
  for (const auto& p : packets()) refused |= p.value("fragment_too_large", false);
  EXPECT_TRUE(refused);
}

TEST_F(UploadClientTest, UploadOverTheServerLimitIsBgETooLarge) {
  start_reference(false, R"({"max_upload": 100000})");
  Job job = upload(JobType::kUpload, "huge.bin", 200000);
  ASSERT_EQ(wait_for_state(job, {JobState::kError, JobState::kTransferred}, seconds(30)),
            JobState::kError);
  auto error = job.error();
  ASSERT_TRUE(error.ok());
  EXPECT_EQ(error->code, hr::BG_E_TOO_LARGE);
  EXPECT_EQ(error->context, ErrorContext::kRemoteFile);
}

TEST_F(UploadClientTest, LostSessionStartsOverWithANewOne) {
  start_reference(false, R"({"lose_sessions": 1})");
  Job job = upload(JobType::kUpload, "lost.bin", 3 << 20);
  ASSERT_EQ(wait_for_state(job, {JobState::kTransferred, JobState::kError}, seconds(60)),
            JobState::kTransferred);
  EXPECT_TRUE(files_equal(root + "/up/lost.bin", local + "/lost.bin")) << root + "/up/lost.bin";
  EXPECT_EQ(count("Create-Session"), 2);
}

// BITS-Host-Id (web farms): every packet after Create-Session goes to that host name.
TEST_F(UploadClientTest, PacketsAfterCreateSessionGoToTheHostId) {
  start_reference(false, R"({"host_id": "localhost"})");
  Job job = upload(JobType::kUpload, "farm.bin", (2 << 20) + 5);
  ASSERT_EQ(wait_for_state(job, {JobState::kTransferred, JobState::kError}, seconds(60)),
            JobState::kTransferred);
  EXPECT_TRUE(files_equal(root + "/up/farm.bin", local + "/farm.bin")) << root + "/up/farm.bin";
  std::string port = ":" + std::to_string(server->port());
  int fragments = 0;
  for (const auto& p : packets()) {
    std::string packet = p.value("packet", "");
    std::string host = p.value("host", "");
    if (strcasecmp(packet.c_str(), "Ping") == 0 ||
        strcasecmp(packet.c_str(), "Create-Session") == 0) {
      EXPECT_EQ(host, "127.0.0.1" + port) << packet;
    } else {
      EXPECT_EQ(host, "localhost" + port) << packet;
      fragments += strcasecmp(packet.c_str(), "Fragment") == 0;
    }
  }
  EXPECT_EQ(fragments, 3);
}

// An unreachable host id is tried until BITS-Host-Id-Fallback-Timeout (here 0 s: at the first
// failure), then the upload starts over at the URL's own host with a new session.
TEST_F(UploadClientTest, UnreachableHostIdFallsBackToTheUrlsHost) {
  // Nothing listens on 127.0.0.9 (the server binds 127.0.0.1): connections are refused.
  start_reference(false, R"({"host_id": "127.0.0.9", "host_id_timeout": 0, "host_id_once": true})");
  Job job = upload(JobType::kUpload, "fallback.bin", (1 << 20) + 77);
  ASSERT_EQ(wait_for_state(job, {JobState::kTransferred, JobState::kError}, seconds(60)),
            JobState::kTransferred);
  EXPECT_TRUE(files_equal(root + "/up/fallback.bin", local + "/fallback.bin"))
      << root + "/up/fallback.bin";
  EXPECT_EQ(count("Create-Session"), 2);  // the second one at 127.0.0.1
  EXPECT_GE(job.info()->error_count, 1u);
}

TEST_F(UploadClientTest, LocalFileChangedDuringTheUploadIsAnError) {
  start_reference(false, R"({"fail_packets": {"Fragment": [503, 1]}})");
  Job job = upload(JobType::kUpload, "log.txt", 500000);
  ASSERT_EQ(wait_for_state(job, {JobState::kTransientError}), JobState::kTransientError);
  std::ofstream(local + "/log.txt", std::ios::app) << "one more line\n";
  ASSERT_EQ(wait_for_state(job, {JobState::kError, JobState::kTransferred}, seconds(30)),
            JobState::kError);
  auto error = job.error();
  ASSERT_TRUE(error.ok());
  EXPECT_EQ(error->code, hr::BG_E_LOCAL_FILE_CHANGED);
  EXPECT_EQ(error->context, ErrorContext::kLocalFile);
}

TEST_F(UploadClientTest, CancelSendsCancelSession) {
  start_reference(false, R"({"fail_packets": {"Fragment": [503, 5]}})");
  Job job = upload(JobType::kUpload, "c.bin", 100000);
  ASSERT_EQ(wait_for_state(job, {JobState::kTransientError}), JobState::kTransientError);
  ASSERT_EQ(job.cancel().code(), hr::S_OK);
  auto deadline = std::chrono::steady_clock::now() + seconds(10);
  while (count("Cancel-Session") == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(count("Cancel-Session"), 1);
  EXPECT_FALSE(exists(root + "/up/c.bin"));
}

// SIGKILL mid-upload, then the server too: the upload goes on in the recorded session and
// the server receives each byte about once (at most one fragment again per crash).
TEST_F(UploadClientTest, CrashesOfClientAndServerDoNotResendAcknowledgedBytes) {
  std::ofstream(dir.path() + "/bitsd.json") << R"({"upload_fragment_bytes": 65536})";
  bitsd.terminate();
  bitsd.start({"--config", dir.path() + "/bitsd.json"});
  manager.emplace(bitsd.connect());
  start_reference(false);
  constexpr std::uint64_t kSize = 24 << 20;
  Job job = upload(JobType::kUpload, "crash.bin", kSize);
  Guid id = job.id();
  auto progressed = [&](std::uint64_t at_least) {
    auto deadline = std::chrono::steady_clock::now() + seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      auto j = manager->get_job(id);
      if (j.ok() && j->info()->progress.bytes_transferred >= at_least) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  };
  ASSERT_TRUE(progressed(2 << 20));
  bitsd.kill9();
  bitsd.start({"--config", dir.path() + "/bitsd.json"});
  manager.emplace(bitsd.connect());
  ASSERT_TRUE(progressed(8 << 20));
  int port = server->port();
  server->kill(SIGKILL);  // the server restarts, on the same port, with its sessions on disk
  server.reset();
  start_reference(false, "{}", port);
  auto again = manager->get_job(id);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(wait_for_state(*again, {JobState::kTransferred, JobState::kError}, seconds(120)),
            JobState::kTransferred);
  EXPECT_TRUE(files_equal(root + "/up/crash.bin", local + "/crash.bin")) << root + "/up/crash.bin";
  std::uint64_t received = 0;
  for (const auto& p : packets()) {
    if (strcasecmp(p.value("packet", "").c_str(), "fragment") != 0 || !p.contains("range")) {
      continue;
    }
    received += p["range"][1].get<std::uint64_t>() - p["range"][0].get<std::uint64_t>() + 1;
  }
  EXPECT_EQ(count("Create-Session"), 1);   // one session through both crashes
  EXPECT_LE(received, kSize + 2 * 65536);  // at most a fragment again per crash
}

// Fragments follow the measured rate (docs/upload-client.md): the first is 1 MiB, later ones
// grow to what the last rate sends in about 2 s, never above upload_fragment_bytes. On
// loopback that is the configured largest.
TEST_F(UploadClientTest, FragmentsGrowWithTheRateUpToTheConfiguredLargest) {
  constexpr std::uint64_t kLargest = 4 << 20;
  std::ofstream(dir.path() + "/bitsd.json") << R"({"upload_fragment_bytes": )" << kLargest << "}";
  bitsd.terminate();
  bitsd.start({"--config", dir.path() + "/bitsd.json"});
  manager.emplace(bitsd.connect());
  start_reference(false);
  constexpr std::uint64_t kSize = (13 << 20) + 7;
  Job job = upload(JobType::kUpload, "grow.bin", kSize);
  ASSERT_EQ(wait_for_state(job, {JobState::kTransferred, JobState::kError}, seconds(60)),
            JobState::kTransferred);
  EXPECT_TRUE(files_equal(root + "/up/grow.bin", local + "/grow.bin")) << root + "/up/grow.bin";
  std::vector<std::uint64_t> lengths;
  for (const auto& p : packets()) {
    if (strcasecmp(p.value("packet", "").c_str(), "fragment") != 0 || !p.contains("range")) {
      continue;
    }
    lengths.push_back(p["range"][1].get<std::uint64_t>() - p["range"][0].get<std::uint64_t>() + 1);
  }
  ASSERT_GE(lengths.size(), 2u);
  EXPECT_EQ(lengths.front(), 1u << 20);
  std::uint64_t sum = 0;
  for (std::uint64_t n : lengths) {
    EXPECT_LE(n, kLargest);
    sum += n;
  }
  EXPECT_EQ(sum, kSize);  // each byte once
  EXPECT_EQ(*std::max_element(lengths.begin(), lengths.end()), kLargest);
}

// The reply of the bitsadmin test: 28 bytes, so the dump has a full line and a short one,
// with bytes outside printable ASCII.
constexpr const char* kReplyHex = "5265706f727420303034322061636365707465642e0d0a00017f80ff";

TEST_F(UploadClientTest, BitsadminUploadReplyCommands) {
  start_reference(true, std::string(R"({"reply_hex": ")") + kReplyHex + "\"}");
  make_file(local + "/crash.dmp", 70000, 5);
  CommandResult created = bitsadmin({"/rawreturn", "/create", "/upload-reply", "dump"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  std::string id = created.out;
  ASSERT_EQ(bitsadmin({"/addfile", id, url("/up/crash.dmp"), local + "/crash.dmp"}).exit_code, 0);
  CommandResult name = bitsadmin({"/rawreturn", "/getreplyfilename", id});
  EXPECT_EQ(name.out, local + "/crash.dmp.reply");
  ASSERT_EQ(bitsadmin({"/setreplyfilename", id, local + "/answer"}).exit_code, 0);
  ASSERT_EQ(bitsadmin({"/resume", id}).exit_code, 0);
  auto job = manager->get_job(*parse_guid(id));
  ASSERT_TRUE(job.ok());
  ASSERT_EQ(wait_for_state(*job, {JobState::kTransferred, JobState::kError}, seconds(60)),
            JobState::kTransferred);
  CommandResult dump = bitsadmin({"/getreplydata", id});
  ASSERT_EQ(dump.exit_code, 0) << dump.err;
  EXPECT_EQ(dump.out,
            std::string(kBitsadminBanner) +
                "00000000  52 65 70 6F 72 74 20 30 30 34 32 20 61 63 63 65  Report 0042 acce\n"
                "00000010  70 74 65 64 2E 0D 0A 00 01 7F 80 FF              pted........\n");
  CommandResult progress = bitsadmin({"/rawreturn", "/getreplyprogress", id});
  auto reply = job->reply_data();
  ASSERT_TRUE(reply.ok());
  ASSERT_EQ(reply->size(), 28u);
  EXPECT_EQ(progress.out, "28 / 28");
  EXPECT_NE(bitsadmin({"/setreplyfilename", id, local + "/late"}).exit_code, 0);  // too late
  ASSERT_EQ(bitsadmin({"/complete", id}).exit_code, 0);
  EXPECT_EQ(read_bytes(local + "/answer"), std::string(reply->begin(), reply->end()));
  // /TRANSFER /UPLOAD: one command, the file arrives, the job is completed.
  make_file(local + "/one.bin", 123456, 6);
  CommandResult transfer =
      bitsadmin({"/transfer", "one", "/upload", url("/up/one.bin"), local + "/one.bin"});
  EXPECT_EQ(transfer.exit_code, 0) << transfer.out << transfer.err;
  EXPECT_NE(transfer.out.find("Transfer complete."), std::string::npos) << transfer.out;
  EXPECT_TRUE(files_equal(root + "/up/one.bin", local + "/one.bin")) << root + "/up/one.bin";
}

// bits-spec §1.3: a reply over 1 MiB is BG_E_TOO_LARGE with the real size and no bytes; the
// reply file still gets all of it. Exactly 1 MiB is returned whole.
TEST_F(UploadClientTest, ReplyOverOneMibIsTooLargeForReplyDataButComplete) {
  constexpr std::uint64_t kBig = (1 << 20) + 1;
  start_reference(true, R"({"reply_size": 1048577})");
  Job job = upload(JobType::kUploadReply, "big.bin", 5000);
  ASSERT_EQ(wait_for_state(job, {JobState::kTransferred, JobState::kError}, seconds(60)),
            JobState::kTransferred);
  std::uint64_t size = 0;
  auto data = job.reply_data(&size);
  EXPECT_EQ(data.code(), hr::BG_E_TOO_LARGE);
  EXPECT_EQ(size, kBig);
  EXPECT_EQ(job.info()->reply_bytes_total, kBig);
  CommandResult dump = bitsadmin({"/getreplydata", to_string(job.id())});
  EXPECT_EQ(dump.exit_code, 1);
  EXPECT_EQ(dump.out, kBitsadminBanner);
  EXPECT_EQ(dump.err,
            "Unable to get reply data - 0x80200020. The reply is 1048577 bytes, more "
            "than /GETREPLYDATA shows (1 MiB). /COMPLETE delivers it to " +
                local + "/big.bin.reply.\n");
  ASSERT_EQ(job.complete().code(), hr::S_OK);
  std::string reply = read_bytes(local + "/big.bin.reply");
  EXPECT_EQ(reply.size(), kBig);
  EXPECT_EQ(reply.rfind("REPLY ", 0), 0u);
  size = 0;
  EXPECT_EQ(job.reply_data(&size).code(), hr::BG_E_TOO_LARGE);  // after Complete too
  EXPECT_EQ(size, kBig);

  control(R"({"reply_size": 1048576})");
  Job exact = upload(JobType::kUploadReply, "exact.bin", 5000);
  ASSERT_EQ(wait_for_state(exact, {JobState::kTransferred, JobState::kError}, seconds(60)),
            JobState::kTransferred);
  size = 0;
  auto whole = exact.reply_data(&size);
  ASSERT_TRUE(whole.ok()) << whole.status().message();
  EXPECT_EQ(size, 1u << 20);
  ASSERT_EQ(exact.complete().code(), hr::S_OK);
  reply = read_bytes(local + "/exact.bin.reply");
  ASSERT_EQ(reply.size(), 1u << 20);
  EXPECT_TRUE(std::equal(whole->begin(), whole->end(), reply.begin(),
                         [](std::uint8_t a, char b) { return a == static_cast<std::uint8_t>(b); }));
}

TEST_F(UploadClientTest, UploadToBitsUploadServer) {
  std::string out = dir.path() + "/cpp-server.out";
  fs::create_directories(dir.path() + "/cpp-root/up");
  server.emplace(std::vector<std::string>{OPENBITS_UPLOAD_SERVER_PATH, "--listen", "127.0.0.1:0",
                                          "--root", dir.path() + "/cpp-root"},
                 out);
  Job job = upload(JobType::kUpload, "to-cpp.bin", (3 << 20) + 7);
  ASSERT_EQ(wait_for_state(job, {JobState::kTransferred, JobState::kError}, seconds(60)),
            JobState::kTransferred);
  ASSERT_EQ(job.complete().code(), hr::S_OK);
  EXPECT_TRUE(files_equal(dir.path() + "/cpp-root/up/to-cpp.bin", local + "/to-cpp.bin"))
      << dir.path() + "/cpp-root/up/to-cpp.bin";
}

// A server that challenges upload packets (HTTP Basic): the job's SERVER credentials answer
// once; without them, or with wrong ones, ERROR 0x80190191 and nothing uploaded.
TEST_F(UploadClientTest, ServerChallengeIsAnsweredWithTheJobsCredentials) {
  start_reference(false, R"({"auth": "ann:ann-password"})");
  auto run = [&](const std::string& name, std::optional<AuthCredentials> credentials) {
    make_file(local + "/" + name, (2 << 20) + 7, 5);
    auto job = manager->create_job(name, JobType::kUpload);
    EXPECT_TRUE(job.ok());
    if (credentials) {
      EXPECT_TRUE(job->set_credentials(*credentials).ok());
    }
    EXPECT_TRUE(job->add_file(url("/up/" + name), local + "/" + name).ok());
    EXPECT_TRUE(job->resume().ok());
    return *job;
  };
  Job none = run("none.bin", std::nullopt);
  ASSERT_EQ(wait_for_state(none, {JobState::kTransferred, JobState::kError}, seconds(30)),
            JobState::kError);
  EXPECT_EQ(none.error()->code, 0x80190191u);
  Job wrong =
      run("wrong.bin", AuthCredentials{AuthTarget::kServer, AuthScheme::kBasic, "ann", "x"});
  ASSERT_EQ(wait_for_state(wrong, {JobState::kTransferred, JobState::kError}, seconds(30)),
            JobState::kError);
  EXPECT_EQ(wrong.error()->code, 0x80190191u);
  EXPECT_FALSE(fs::exists(root + "/up/wrong.bin"));
  Job good = run("good.bin",
                 AuthCredentials{AuthTarget::kServer, AuthScheme::kBasic, "ann", "ann-password"});
  ASSERT_EQ(wait_for_state(good, {JobState::kTransferred, JobState::kError}, seconds(60)),
            JobState::kTransferred);
  ASSERT_TRUE(good.complete().ok());
  EXPECT_TRUE(files_equal(root + "/up/good.bin", local + "/good.bin"));
}

}  // namespace
}  // namespace openbits::itest
