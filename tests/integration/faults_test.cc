// Servers, disks and networks that misbehave, for real: a fault-injecting origin
// (tests/faultserver/fault_server.py), a tmpfs that fills up, a destination that goes away,
// and a server in another network namespace whose link is pulled. Each case ends in the
// state and HRESULT bits-spec gives, and where BITS retries, in a later success with the
// right bytes.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/integration/fault_fixture.h"
#include "tests/integration/itest.h"

namespace openbits::itest {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

constexpr std::uint32_t kRetryDelay = 5;  // the shortest retry delay bitsd accepts

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Waits until some bytes of the job are durable (it is really transferring).
bool wait_until_progress(const Job& job) {
  auto deadline = std::chrono::steady_clock::now() + seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    auto info = job.info();
    if (info.ok() && info->progress.bytes_transferred > 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

class FaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    out = dir.path() + "/out";
    fs::create_directories(out);
    fs::permissions(out, fs::perms::all);
    std::ofstream(dir.path() + "/bitsd.json") << config;
    bitsd.start({"--config", dir.path() + "/bitsd.json"});
    manager.emplace(bitsd.connect());
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << "--- bitsd log ---\n" << bitsd.log();
  }

  // A job for `url` into out/<name>, retrying after kRetryDelay, resumed.
  Job start(const std::string& url, const std::string& name,
            JobPriority priority = JobPriority::kNormal, bool dynamic = false) {
    auto job = manager->create_job(name);
    EXPECT_TRUE(job.ok());
    EXPECT_TRUE(job->set_minimum_retry_delay(kRetryDelay).ok());
    EXPECT_TRUE(job->set_priority(priority).ok());
    if (dynamic) {
      EXPECT_TRUE(job->set_dynamic_content(true).ok());
    }
    EXPECT_TRUE(job->add_file(url, out + "/" + name).ok());
    EXPECT_TRUE(job->resume().ok());
    return *job;
  }
  // Serves `size` random bytes as <name> (and a different <name>.v2 of `v2_size`).
  std::string serve(const std::string& name, std::uint64_t size, std::uint64_t v2_size = 0) {
    make_file(fault.root() + "/" + name, size, 7);
    if (v2_size != 0) {
      make_file(fault.root() + "/" + name + ".v2", v2_size, 8);
      // An older mtime than "now" would do too: it only has to differ from v1's.
      struct timespec times[2] = {{1700000000, 0}, {1700000000, 0}};
      ::utimensat(AT_FDCWD, (fault.root() + "/" + name + ".v2").c_str(), times, 0);
    }
    return fault.root() + "/" + name;
  }
  static ErrorInfo error_of(const Job& job) {
    auto error = job.error();
    EXPECT_TRUE(error.ok()) << error.status().message();
    return error.ok() ? *error : ErrorInfo{};
  }
  // Waits for TRANSFERRED, completes, and checks the delivered bytes.
  void expect_delivered(Job& job, const std::string& origin, const std::string& name) {
    ASSERT_EQ(wait_for_state(job, {JobState::kTransferred, JobState::kError}, seconds(90)),
              JobState::kTransferred);
    ASSERT_EQ(job.complete().code(), hr::S_OK);
    EXPECT_TRUE(files_equal(origin, out + "/" + name));
    EXPECT_TRUE(temp_files_in(out).empty());
  }

  std::string config = R"({"stall_timeout_s": 2})";  // bitsd's, written by SetUp
  TempDir dir;
  FaultServer fault{dir.path()};
  Bitsd bitsd{dir.path()};
  std::optional<Manager> manager;
  std::string out;
};

class LocalFaultTest : public FaultTest {
 protected:
  void SetUp() override {
    fault.start();
    FaultTest::SetUp();
  }
};

TEST_F(LocalFaultTest, ConnectionDroppedMidBodyResumesWhereTheBytesStopped) {
  std::string origin = serve("f", 3 << 20);
  Job job = start(fault.url("drop", "f", "drop=1000000&times=1"), "f");
  ASSERT_EQ(wait_for_state(job, {JobState::kTransientError}), JobState::kTransientError);
  ErrorInfo error = error_of(job);
  EXPECT_EQ(error.code, hr::BG_E_CONNECTION_CLOSED);
  EXPECT_EQ(error.context, ErrorContext::kRemoteFile);
  EXPECT_EQ(job.info()->error_count, 1u);
  EXPECT_EQ(job.info()->progress.bytes_transferred, 1000000u);  // durable before the retry
  expect_delivered(job, origin, "f");
  auto log = fault.requests("drop");
  // GET (dropped; a fresh file needs no HEAD first), HEAD, GET from 1000000, HEAD
  ASSERT_GE(log.size(), 4u);
  EXPECT_EQ(log[0].method, "GET");
  EXPECT_EQ(log[0].sent, 1000000u);
  EXPECT_EQ(log[1].method, "HEAD");  // resuming: the validators are checked first
  EXPECT_EQ(log[2].range, "bytes=1000000-");
  EXPECT_EQ(fault.bytes_sent("drop"), std::uint64_t{3} << 20);  // nothing sent twice
}

TEST_F(LocalFaultTest, HeadersWithoutBodyIsConnectionClosedThenSuccess) {
  std::string origin = serve("f", 200000);
  Job job = start(fault.url("nobody", "f", "drop=0&times=1"), "f");
  ASSERT_EQ(wait_for_state(job, {JobState::kTransientError}), JobState::kTransientError);
  EXPECT_EQ(error_of(job).code, hr::BG_E_CONNECTION_CLOSED);
  expect_delivered(job, origin, "f");
}

TEST_F(LocalFaultTest, StalledResponseTimesOutAndTheRetrySucceeds) {
  std::string origin = serve("f", 2 << 20);
  Job job = start(fault.url("stall", "f", "stall=60&after=500000"), "f");
  ASSERT_EQ(wait_for_state(job, {JobState::kTransientError}), JobState::kTransientError);
  ErrorInfo error = error_of(job);
  EXPECT_EQ(error.code, hr::WINHTTP_TIMEOUT);
  EXPECT_EQ(error.context, ErrorContext::kGeneralTransport);
  EXPECT_EQ(job.info()->progress.bytes_transferred, 500000u);
  expect_delivered(job, origin, "f");
  bool resumed = false;  // (the stalled GET is logged last, when the server gives up)
  for (const auto& r : fault.requests("stall")) resumed |= r.range == "bytes=500000-";
  EXPECT_TRUE(resumed);
}

struct StatusCase {
  int status;
  int retry_after;  // 0: no Retry-After header
};

void PrintTo(const StatusCase& c, std::ostream* os) {
  *os << c.status << (c.retry_after != 0 ? " with Retry-After" : "");
}

class RetryableStatusTest : public LocalFaultTest,
                            public ::testing::WithParamInterface<StatusCase> {};

TEST_P(RetryableStatusTest, TransientErrorThenSuccessNoSoonerThanRetryAfter) {
  auto [status, retry_after] = GetParam();
  std::string scenario = "s" + std::to_string(status);
  std::string query = "status=" + std::to_string(status) + "&times=1";
  if (retry_after != 0) query += "&retry_after=" + std::to_string(retry_after);
  std::string origin = serve("f", 300000);
  Job job = start(fault.url(scenario, "f", query), "f");
  ASSERT_EQ(wait_for_state(job, {JobState::kTransientError, JobState::kError}),
            JobState::kTransientError);
  ErrorInfo error = error_of(job);
  EXPECT_EQ(error.code, http_error(status));
  EXPECT_EQ(error.context, ErrorContext::kRemoteFile);
  expect_delivered(job, origin, "f");
  auto log = fault.requests(scenario);
  ASSERT_GE(log.size(), 2u);
  EXPECT_EQ(log[0].status, status);
  // The retry waits for the job's retry delay or the server's Retry-After, the longer.
  double waited = log[1].time - log[0].time;
  EXPECT_GE(waited, std::max<int>(kRetryDelay, retry_after) - 0.1) << waited;
}

INSTANTIATE_TEST_SUITE_P(Statuses, RetryableStatusTest,
                         ::testing::Values(StatusCase{408, 0}, StatusCase{429, 8},
                                           StatusCase{500, 0}, StatusCase{503, 8}),
                         [](const auto& param) { return std::to_string(param.param.status); });

TEST_F(LocalFaultTest, IgnoredRangeIsFatalForABackgroundJob) {
  serve("f", 2 << 20);
  Job job = start(fault.url("norange", "f", "norange=1&drop=700000&times=1"), "f");
  ASSERT_EQ(wait_for_state(job, {JobState::kError}, seconds(60)), JobState::kError);
  ErrorInfo error = error_of(job);
  EXPECT_EQ(error.code, hr::BG_E_INSUFFICIENT_RANGE_SUPPORT);
  EXPECT_EQ(error.context, ErrorContext::kRemoteFile);
  EXPECT_EQ(job.info()->progress.bytes_transferred, 700000u);  // nothing mixed in
}

TEST_F(LocalFaultTest, IgnoredRangeRestartsAForegroundJobFromZero) {
  std::string origin = serve("f", 2 << 20);
  Job job = start(fault.url("fgnorange", "f", "norange=1&drop=700000&times=1"), "f",
                  JobPriority::kForeground);
  expect_delivered(job, origin, "f");
  auto log = fault.requests("fgnorange");
  ASSERT_GE(log.size(), 3u);                 // GET (dropped), HEAD, GET from 700000
  EXPECT_EQ(log[2].range, "bytes=700000-");  // asked to resume...
  EXPECT_EQ(log[2].status, 200);             // ...got the whole file, and took it from 0
}

TEST_F(LocalFaultTest, DynamicContentSucceedsWithoutRangesOrSize) {
  std::string origin = serve("f", 1 << 20);
  Job job = start(fault.url("dyn", "f", "norange=1&nosize=1"), "f", JobPriority::kNormal,
                  /*dynamic=*/true);
  expect_delivered(job, origin, "f");
  for (const auto& r : fault.requests("dyn")) EXPECT_EQ(r.method, "GET");  // no HEAD
}

TEST_F(LocalFaultTest, MissingSizeIsFatal) {
  serve("f", 100000);
  Job job = start(fault.url("nosize", "f", "nosize=1"), "f");
  ASSERT_EQ(wait_for_state(job, {JobState::kError}), JobState::kError);
  ErrorInfo error = error_of(job);
  EXPECT_EQ(error.code, hr::BG_E_MISSING_FILE_SIZE);
  EXPECT_EQ(error.context, ErrorContext::kRemoteFile);
}

TEST_F(LocalFaultTest, WrongContentRangeIsAnInvalidServerResponseUntilTheServerIsFixed) {
  std::string origin = serve("f", 2 << 20);
  // GET 1 is cut after 500000 bytes; GETs 2 and 3 resume with Range and get a
  // Content-Range that starts one byte late; from GET 4 on the server is fixed.
  Job job = start(fault.url("badrange", "f", "badrange=1&drop=500000&times=3"), "f");
  ASSERT_EQ(wait_for_state(job, {JobState::kError}, seconds(60)), JobState::kError);
  ErrorInfo error = error_of(job);
  EXPECT_EQ(error.code, hr::BG_E_INVALID_SERVER_RESPONSE);
  EXPECT_EQ(error.context, ErrorContext::kRemoteFile);
  EXPECT_EQ(job.info()->progress.bytes_transferred, 500000u);
  // Resume retries (bits-spec §9): the server still lies, so the same error again.
  ASSERT_TRUE(job.resume().ok());
  ASSERT_EQ(wait_for_state(job, {JobState::kError}, seconds(30)), JobState::kError);
  EXPECT_EQ(error_of(job).code, hr::BG_E_INVALID_SERVER_RESPONSE);
  EXPECT_EQ(job.info()->progress.bytes_transferred, 500000u);  // nothing of it taken
  // The server fixed, Resume delivers the file from the 500000 durable bytes.
  ASSERT_TRUE(job.resume().ok());
  expect_delivered(job, origin, "f");
  std::vector<std::string> gets;
  for (const auto& r : fault.requests("badrange")) {
    if (r.method == "GET") gets.push_back(r.range + " " + std::to_string(r.status));
  }
  EXPECT_EQ(gets, (std::vector<std::string>{" 200", "bytes=500000- 206", "bytes=500000- 206",
                                            "bytes=500000- 206"}));
}

TEST_F(LocalFaultTest, PartialContentNotAskedForIsRefusedBeforeAByteIsWritten) {
  std::string origin = serve("f", 2 << 20);
  // The first GET asks for the whole file (no Range) and gets 206 with the bytes from
  // 100000 on, labelled "bytes 100000-2097151/2097152": written from offset 0 they would
  // make a wrong file.
  Job job = start(fault.url("shift", "f", "shift=100000&times=1"), "f");
  ASSERT_EQ(wait_for_state(job, {JobState::kError, JobState::kTransferred}, seconds(60)),
            JobState::kError);
  ErrorInfo error = error_of(job);
  EXPECT_EQ(error.code, hr::BG_E_INVALID_SERVER_RESPONSE);
  EXPECT_EQ(error.context, ErrorContext::kRemoteFile);
  auto info = job.info();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->progress.bytes_transferred, 0u);
  // Nothing on disk either: the temp file of a fresh file is made once its GET's response
  // is accepted, and this one was refused.
  EXPECT_FALSE(fs::exists(info->files[0].temporary_name));
  // The server logs the GET once it stops sending, which may be after bitsd gave up on it.
  auto log = fault.requests("shift");
  for (int i = 0; i < 200 && log.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    log = fault.requests("shift");
  }
  ASSERT_GE(log.size(), 1u);
  EXPECT_EQ(log[0].method, "GET");  // the first request: a fresh file needs no HEAD
  EXPECT_EQ(log[0].range, "");
  EXPECT_EQ(log[0].status, 206);
  // The server fixed, Resume delivers the right bytes.
  ASSERT_TRUE(job.resume().ok());
  expect_delivered(job, origin, "f");
}

TEST_F(LocalFaultTest, RedirectLoopIsFatal) {
  serve("f", 1000);
  Job job = start(fault.url("loop", "f", "loop=1"), "f");
  ASSERT_EQ(wait_for_state(job, {JobState::kError}), JobState::kError);
  ErrorInfo error = error_of(job);
  EXPECT_EQ(error.code, hr::WINHTTP_REDIRECT_FAILED);
  EXPECT_EQ(error.context, ErrorContext::kRemoteFile);
}

TEST_F(LocalFaultTest, RemoteFileChangedBetweenAttemptsStartsAgainFromZero) {
  serve("f", 3 << 20, 2 << 20);
  // v1 is cut after 1.5 MB; from then on the server has v2 (other size, ETag, date).
  Job job = start(fault.url("change", "f", "change=1500000&drop=1500000&times=1"), "f");
  expect_delivered(job, fault.root() + "/f.v2", "f");
  auto log = fault.requests("change");
  ASSERT_GE(log.size(), 3u);  // GET (v1, cut), HEAD (v2), GET
  EXPECT_EQ(log[1].method, "HEAD");
  EXPECT_EQ(log[2].method, "GET");
  EXPECT_EQ(log[2].range, "");  // from byte 0, not from 1500000
}

TEST_F(LocalFaultTest, FileOverwrittenWhileServedIsNeverDeliveredMixed) {
  serve("f", 2 << 20, 2 << 20);  // same size: only the date tells the versions apart
  Job job = start(fault.url("swap", "f", "midswap=1000000"), "f");
  expect_delivered(job, fault.root() + "/f.v2", "f");
  auto log = fault.requests("swap");
  ASSERT_GE(log.size(), 4u);  // GET (mixed), HEAD (caught it), HEAD, GET v2
  EXPECT_EQ(log[0].method, "GET");
  EXPECT_EQ(log[0].sent, std::uint64_t{2} << 20);
  EXPECT_EQ(log[1].method, "HEAD");
}

TEST_F(LocalFaultTest, NoProgressTimeoutTurnsTransientErrorsIntoErrorWhenItExpires) {
  // Retries come about 5 and 10 s after the first error; the timeout ends before a third.
  constexpr std::uint32_t kNoProgress = 13;
  serve("f", 1000);
  auto job = manager->create_job("f");
  ASSERT_TRUE(job.ok());
  ASSERT_TRUE(job->set_minimum_retry_delay(kRetryDelay).ok());
  ASSERT_TRUE(job->set_no_progress_timeout(kNoProgress).ok());
  ASSERT_TRUE(job->add_file(fault.url("always503", "f", "status=503"), out + "/f").ok());
  ASSERT_TRUE(job->resume().ok());
  ASSERT_EQ(wait_for_state(*job, {JobState::kTransientError, JobState::kError}),
            JobState::kTransientError);
  auto log = fault.requests("always503");
  ASSERT_FALSE(log.empty());
  const double first_error = log[0].time;  // the timer starts at the first transient error
  std::this_thread::sleep_for(
      std::chrono::duration<double>(first_error + kNoProgress - 1.5 - unix_now()));
  EXPECT_EQ(job->info()->state, JobState::kTransientError);  // shortly before: still retrying
  ASSERT_EQ(wait_for_state(*job, {JobState::kError}, seconds(30)), JobState::kError);
  EXPECT_GE(unix_now(), first_error + kNoProgress - 0.5);  // not before it expired
  ErrorInfo error = error_of(*job);
  EXPECT_EQ(error.code, http_error(503));  // the last error stays the job's error
  EXPECT_EQ(error.context, ErrorContext::kRemoteFile);
  std::this_thread::sleep_for(seconds(kRetryDelay + 1));  // ERROR: nothing retried any more
  std::size_t attempts = fault.requests("always503").size();
  EXPECT_EQ(attempts, 3u);  // the first try and two retries
  EXPECT_EQ(job->info()->error_count, attempts);
}

TEST_F(LocalFaultTest, RemoteFileThatKeepsChangingIsAnErrorUntilResumed) {
  std::string origin = serve("f", 1 << 20);
  // The first 8 requests each show a new ETag: the first GET's check (HEAD) finds the file
  // changed, then each GET finds it changed since its HEAD and starts it again from zero;
  // the fourth time the engine gives up.
  Job job = start(fault.url("flux", "f", "changing=1&times=8"), "f");
  ASSERT_EQ(wait_for_state(job, {JobState::kError, JobState::kTransferred}, seconds(60)),
            JobState::kError);
  ErrorInfo error = error_of(job);
  EXPECT_EQ(error.code, hr::BG_E_REMOTE_FILE_CHANGED);
  EXPECT_EQ(error.context, ErrorContext::kRemoteFile);
  EXPECT_EQ(job.info()->progress.bytes_transferred, 0u);
  // bits-spec §2.5: it waits for Resume; the retry timer does not touch it.
  std::this_thread::sleep_for(seconds(kRetryDelay + 1));
  EXPECT_EQ(job.info()->state, JobState::kError);
  EXPECT_EQ(fault.requests("flux").size(), 8u);  // GET and HEAD, then HEAD and GET three times
  ASSERT_TRUE(job.resume().ok());                // the file holds still from now on
  expect_delivered(job, origin, "f");
}

TEST_F(LocalFaultTest, MaximumDownloadTimeEndsInError) {
  serve("f", 4 << 20);
  auto job = manager->create_job("slow");
  ASSERT_TRUE(job.ok());
  ASSERT_TRUE(job->set_maximum_download_time(2).ok());
  ASSERT_TRUE(job->add_file(fault.url("slow", "f", "rate=200000"), out + "/f").ok());
  ASSERT_TRUE(job->resume().ok());
  ASSERT_EQ(wait_for_state(*job, {JobState::kError, JobState::kTransferred}, seconds(60)),
            JobState::kError);
  ErrorInfo error = error_of(*job);
  EXPECT_EQ(error.code, hr::BG_E_MAXDOWNLOAD_TIMEOUT);
  EXPECT_EQ(error.context, ErrorContext::kGeneralQueueManager);
  EXPECT_EQ(job->info()->error_count, 1u);  // a transition to ERROR
}

TEST_F(LocalFaultTest, DiskFullIsTransientAndTheJobCompletesOnceSpaceIsFreed) {
  SmallDisk disk(dir.path() + "/small", 4);
  out = disk.path();
  std::string origin = serve("f", 10 << 20);
  Job job = start(fault.url("full", "f"), "f");
  ASSERT_EQ(wait_for_state(job, {JobState::kTransientError, JobState::kError}),
            JobState::kTransientError);
  ErrorInfo error = error_of(job);
  EXPECT_EQ(error.code, hr::DISK_FULL);
  EXPECT_EQ(error.context, ErrorContext::kLocalFile);
  disk.resize(32);
  expect_delivered(job, origin, "f");
}

TEST_F(LocalFaultTest, DestinationDirectoryRemovedDuringTheTransferIsAnError) {
  serve("f", 4 << 20);
  std::string target = out + "/sub";
  fs::create_directories(target);
  auto job = manager->create_job("gone");
  ASSERT_TRUE(job.ok());
  ASSERT_TRUE(job->add_file(fault.url("gone", "f", "rate=1000000"), target + "/f").ok());
  ASSERT_TRUE(job->resume().ok());
  ASSERT_TRUE(wait_until_progress(*job));
  fs::remove_all(target);
  ASSERT_EQ(wait_for_state(*job, {JobState::kError, JobState::kTransferred}, seconds(30)),
            JobState::kError);
  ErrorInfo error = error_of(*job);
  EXPECT_EQ(error.code, hr::PATH_NOT_FOUND);
  EXPECT_EQ(error.context, ErrorContext::kLocalFile);
}

TEST_F(LocalFaultTest, DestinationMadeUnwritableIsAnError) {
  serve("f", 4 << 20);
  std::string target = out + "/sub";
  fs::create_directories(target);
  constexpr uid_t kUser = 4711;
  ASSERT_EQ(::chown(target.c_str(), kUser, kUser), 0);
  std::string url = fault.url("ro", "f", "rate=1000000");
  std::string socket = bitsd.socket();
  std::string id = run_as(kUser, [&] {
    auto m = Manager::connect(socket);
    if (!m.ok()) return std::string("connect");
    auto job = m->create_job("ro");
    if (!job.ok() || !job->add_file(url, target + "/f").ok() || !job->resume().ok()) {
      return std::string("setup");
    }
    return to_string(job->id());
  });
  auto guid = parse_guid(id);
  ASSERT_TRUE(guid.has_value()) << id;
  auto job = manager->get_job(*guid);  // root sees every user's job
  ASSERT_TRUE(job.ok());
  ASSERT_TRUE(wait_until_progress(*job));
  ASSERT_EQ(::chmod(target.c_str(), 0555), 0);
  ASSERT_EQ(wait_for_state(*job, {JobState::kError, JobState::kTransferred}, seconds(30)),
            JobState::kError);
  ErrorInfo error = error_of(*job);
  EXPECT_EQ(error.code, hr::E_ACCESSDENIED);
  EXPECT_EQ(error.context, ErrorContext::kLocalFile);
}

// bitsd with a JobInactivityTimeout of 8 s instead of 90 days.
class InactivityFaultTest : public LocalFaultTest {
 protected:
  void SetUp() override {
    config = R"({"stall_timeout_s": 2, "job_inactivity_timeout_s": 8})";
    LocalFaultTest::SetUp();
  }
};

TEST_F(InactivityFaultTest, JobWithoutProgressOrOwnerIsCancelledWithItsTempFile) {
  serve("f", 4 << 20);
  Job job = start(fault.url("idle", "f", "rate=300000"), "f");
  ASSERT_TRUE(wait_until_progress(job));
  std::string temp = job.info()->files[0].temporary_name;
  fault.stop();  // the server goes away: every retry (each 5 s) fails
  ASSERT_EQ(wait_for_state(job, {JobState::kTransientError}), JobState::kTransientError);
  std::error_code ec;
  EXPECT_GT(fs::file_size(temp, ec), 0u);
  // Failed retries are not activity: 8 s after the last progress the job is cancelled.
  ASSERT_EQ(wait_for_state(job, {JobState::kCancelled}, seconds(30)), JobState::kCancelled);
  EXPECT_GE(job.info()->error_count, 2u);  // it went through a retry first
  EXPECT_TRUE(manager->enum_jobs()->empty());
  EXPECT_FALSE(exists(temp));  // as Cancel: the partial file is deleted
  EXPECT_FALSE(exists(out + "/f"));
}

// The origin lives in another network namespace; pulling its link parks the job with
// BG_E_NETWORK_DISCONNECTED, and plugging it back resumes the job at once, although its
// retry delay is BITS's default of 10 minutes. bitsd runs in a namespace of its own, so the
// link changes are seen by this daemon only.
TEST(NetworkLossTest, ParksTheJobAndTheLinkComingBackResumesIt) {
  TempDir dir;
  std::string name = "obt" + std::to_string(::getpid() % 100000);
  NetNs hosts(name, 20 + ::getpid() % 200);
  FaultServer fault(dir.path());
  fault.start(hosts.server_ip(), hosts.server());
  std::string out = dir.path() + "/out";
  fs::create_directories(out);
  make_file(fault.root() + "/f", 6 << 20, 9);
  std::string socket = dir.path() + "/bitsd.sock";
  pid_t daemon = hosts.spawn_in_client(
      {OPENBITS_BITSD_PATH, "--state-dir", dir.path() + "/state", "--socket", socket},
      dir.path() + "/bitsd.log");
  std::optional<Manager> manager = connect_when_ready(socket);
  ASSERT_TRUE(manager.has_value());
  auto job = manager->create_job("net");
  ASSERT_TRUE(job.ok());
  ASSERT_TRUE(job->add_file(fault.url("net", "f", "rate=1000000"), out + "/f").ok());
  ASSERT_TRUE(job->resume().ok());
  ASSERT_TRUE(wait_until_progress(*job));
  hosts.set_link(false);
  ASSERT_EQ(wait_for_state(*job, {JobState::kTransientError}, seconds(30)),
            JobState::kTransientError);
  auto error = job->error();
  ASSERT_TRUE(error.ok());
  EXPECT_EQ(error->code, hr::BG_E_NETWORK_DISCONNECTED);
  EXPECT_EQ(error->context, ErrorContext::kGeneralTransport);
  std::this_thread::sleep_for(seconds(1));
  EXPECT_EQ(job->info()->state, JobState::kTransientError);  // waits for the network
  EXPECT_EQ(job->info()->error_count, 0u);  // a lost network is not the job's error
  hosts.set_link(true);
  EXPECT_EQ(wait_for_state(*job, {JobState::kTransferred, JobState::kError}, seconds(60)),
            JobState::kTransferred);  // far sooner than the 600 s retry delay
  EXPECT_EQ(job->complete().code(), hr::S_OK);
  EXPECT_TRUE(files_equal(fault.root() + "/f", out + "/f"));
  bool resumed_with_range = false;
  for (const auto& r : fault.requests("net")) resumed_with_range |= r.range.rfind("bytes=", 0) == 0;
  EXPECT_TRUE(resumed_with_range);
  ::kill(daemon, SIGTERM);
  int status = 0;
  ::waitpid(daemon, &status, 0);
  if (HasFailure()) {
    std::ifstream log(dir.path() + "/bitsd.log");
    std::cerr << log.rdbuf();
  }
}

}  // namespace
}  // namespace openbits::itest
