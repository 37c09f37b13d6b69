// bitsd killed with SIGKILL mid-transfer and restarted: the job comes back, continues from
// its durable byte count and the origin sends little more than one copy. SIGTERM keeps a
// suspended job and its properties.
#include <fstream>
#include <iterator>
#include <random>
#include <thread>

#include "tests/integration/itest.h"

namespace openbits::itest {
namespace {

class CrashTest : public ServiceTest {};

TEST_F(CrashTest, SigkillDuringTransferResumesFromDurableBytes) {
  constexpr std::uint64_t kSize = 32ull << 20;
  make_file(nginx.root() + "/big", kSize, 11);
  Guid id;
  {
    Job job = create("crash");
    id = job.id();
    ASSERT_TRUE(job.add_file(nginx.url("/slow/big?rate=4m"), out + "/big").ok());
    ASSERT_TRUE(job.resume().ok());
    ASSERT_EQ(wait_for_state(job, {JobState::kTransferring}), JobState::kTransferring);
    std::this_thread::sleep_for(std::chrono::milliseconds(3000));
  }
  bitsd.kill9();
  bitsd.start();
  manager.emplace(bitsd.connect());
  auto job = manager->get_job(id);
  ASSERT_TRUE(job.ok());
  auto info = job->info();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->display_name, "crash");
  EXPECT_TRUE(info->state == JobState::kQueued || info->state == JobState::kConnecting ||
              info->state == JobState::kTransferring)
      << to_string(info->state);  // still active: the daemon picks it up again by itself
  EXPECT_GT(info->progress.bytes_transferred, 0u);  // not from zero
  EXPECT_LT(info->progress.bytes_transferred, kSize);
  ASSERT_EQ(
      wait_for_state(*job, {JobState::kTransferred, JobState::kError}, std::chrono::seconds(60)),
      JobState::kTransferred);
  ASSERT_EQ(job->complete().code(), hr::S_OK);
  EXPECT_TRUE(files_equal(nginx.root() + "/big", out + "/big"));
  // One copy plus at most one checkpoint window (8 MiB or 1 s at 4 MiB/s) re-sent.
  EXPECT_LE(nginx.bytes_sent(), kSize + (8ull << 20));
  EXPECT_TRUE(temp_files_in(out).empty());
}

// The first `n` bytes of two files are equal.
bool same_prefix(const std::string& a, const std::string& b, std::uint64_t n) {
  std::ifstream fa(a, std::ios::binary);
  std::ifstream fb(b, std::ios::binary);
  std::vector<char> x(64 * 1024);
  std::vector<char> y(64 * 1024);
  while (n > 0) {
    auto chunk = static_cast<std::streamsize>(std::min<std::uint64_t>(n, x.size()));
    if (!fa.read(x.data(), chunk) || !fb.read(y.data(), chunk)) return false;
    if (!std::equal(x.begin(), x.begin() + chunk, y.begin())) return false;
    n -= static_cast<std::uint64_t>(chunk);
  }
  return true;
}

// bits-spec's promise under repeated crashes: a multi-file job (32 MiB in four files at
// 2 MiB/s) and a second job, while bitsd is SIGKILLed at 24 random moments (seeded, so a
// failure can be replayed) and restarted. After every restart: the same two jobs with the
// same files, and every byte the daemon calls durable is on disk and correct. At the end:
// byte-identical files, no temp file after Complete or Cancel, and the origin sent at most
// one copy plus one checkpoint window (1 s of transfer = 2 MiB) per crash.
TEST_F(CrashTest, TwentyFourSigkillsLoseNothing) {
  constexpr int kCrashes = 24;
  constexpr std::uint64_t kFileSize = 8ull << 20;
  constexpr std::uint64_t kRate = 2ull << 20;  // bytes per second, per connection
  constexpr int kFiles = 4;
  std::string complete_dir = out + "/complete";
  std::string cancel_dir = out + "/cancel";
  std::filesystem::create_directories(complete_dir);
  std::filesystem::create_directories(cancel_dir);
  for (int i = 0; i < kFiles; ++i) {
    make_file(nginx.root() + "/f" + std::to_string(i), kFileSize, 40u + static_cast<unsigned>(i));
  }
  make_file(nginx.root() + "/c0", 3 << 20, 60);

  Job kept = create("kept");
  Job dropped = create("dropped");
  std::vector<FileSpec> specs;
  for (int i = 0; i < kFiles; ++i) {
    std::string name = "f" + std::to_string(i);
    FileSpec spec;
    spec.remote_name = nginx.url("/slow/" + name + "?rate=2m");
    spec.local_name = complete_dir + "/" + name;
    specs.push_back(spec);
  }
  ASSERT_TRUE(kept.add_file_set(specs).ok());
  ASSERT_TRUE(dropped.add_file(nginx.url("/slow/c0?rate=2m"), cancel_dir + "/c0").ok());
  ASSERT_TRUE(dropped.set_priority(JobPriority::kForeground).ok());  // runs alongside
  ASSERT_TRUE(kept.resume().ok());
  ASSERT_TRUE(dropped.resume().ok());
  const Guid kept_id = kept.id();
  const Guid dropped_id = dropped.id();

  std::mt19937 rng(20261123);
  std::uniform_int_distribution<int> pause_ms(300, 2500);
  bool cancelled = false;
  int crashes = 0;
  for (; crashes < kCrashes; ++crashes) {
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(rng)));
    bitsd.kill9();
    bitsd.start();
    manager.emplace(bitsd.connect());
    auto jobs = manager->enum_jobs();
    ASSERT_TRUE(jobs.ok());
    std::size_t expected_jobs = cancelled ? 1 : 2;
    ASSERT_EQ(jobs->size(), expected_jobs) << "after crash " << crashes + 1;
    for (const JobInfo& info : *jobs) {
      ASSERT_TRUE(info.id == kept_id || info.id == dropped_id);
      ASSERT_EQ(info.files.size(), info.id == kept_id ? std::size_t{kFiles} : 1u);
      for (const FileInfo& f : info.files) {
        std::string origin = nginx.root() + "/" + f.local_name.substr(f.local_name.rfind('/') + 1);
        std::uint64_t durable = f.progress.bytes_transferred;
        if (durable == 0 || f.progress.completed || f.temporary_name.empty()) continue;
        EXPECT_TRUE(same_prefix(origin, f.temporary_name, durable))
            << "crash " << crashes + 1 << ": " << f.temporary_name << " up to " << durable;
      }
    }
    if (crashes == kCrashes / 2) {  // cancel the second job between two crashes
      auto job = manager->get_job(dropped_id);
      ASSERT_TRUE(job.ok());
      ASSERT_EQ(job->cancel().code(), hr::S_OK);
      cancelled = true;
    }
  }
  EXPECT_EQ(crashes, kCrashes);
  auto job = manager->get_job(kept_id);
  ASSERT_TRUE(job.ok());
  ASSERT_EQ(
      wait_for_state(*job, {JobState::kTransferred, JobState::kError}, std::chrono::seconds(120)),
      JobState::kTransferred);
  ASSERT_EQ(job->complete().code(), hr::S_OK);
  for (int i = 0; i < kFiles; ++i) {
    std::string name = "f" + std::to_string(i);
    EXPECT_TRUE(files_equal(nginx.root() + "/" + name, complete_dir + "/" + name)) << name;
  }
  EXPECT_TRUE(temp_files_in(complete_dir).empty());
  EXPECT_TRUE(temp_files_in(cancel_dir).empty());
  EXPECT_FALSE(exists(cancel_dir + "/c0"));
  EXPECT_TRUE(manager->enum_jobs()->empty());

  // Re-sent bytes: the dropped job's bytes count as sent once at most per attempt too.
  std::uint64_t sent = nginx.bytes_sent();
  std::uint64_t dropped_bytes = 0;  // what went to the cancelled job is not "re-sent"
  {
    std::ifstream log(nginx.log_path());
    std::string uri;
    int status = 0;
    std::uint64_t bytes = 0;
    while (log >> uri >> status >> bytes) {
      if (uri.rfind("/slow/c0", 0) == 0) dropped_bytes += bytes;
    }
  }
  std::uint64_t one_copy = kFiles * kFileSize;
  std::uint64_t window = kRate;  // 1 s of transfer, less than 8 MiB
  std::uint64_t kept_sent = sent - dropped_bytes;
  std::cout << "[ crash test ] " << kCrashes << " SIGKILLs; origin sent " << kept_sent
            << " bytes for a " << one_copy
            << "-byte job: " << (kept_sent - std::min(kept_sent, one_copy)) / kCrashes
            << " bytes re-sent per crash on average (bound " << window << ")\n";
  EXPECT_LE(kept_sent, one_copy + kCrashes * window);
}

TEST_F(CrashTest, SigtermRestartKeepsStateAndProperties) {
  Job job = create("kept");
  ASSERT_TRUE(job.add_file(nginx.url("/x"), out + "/x").ok());
  ASSERT_TRUE(job.set_description("survives restarts").ok());
  ASSERT_TRUE(job.set_priority(JobPriority::kLow).ok());
  ASSERT_TRUE(job.set_minimum_retry_delay(77).ok());
  bitsd.terminate();
  bitsd.start();
  manager.emplace(bitsd.connect());
  auto again = manager->get_job(job.id());
  ASSERT_TRUE(again.ok());
  auto info = again->info();
  EXPECT_EQ(info->state, JobState::kSuspended);
  EXPECT_EQ(info->description, "survives restarts");
  EXPECT_EQ(info->priority, JobPriority::kLow);
  EXPECT_EQ(info->minimum_retry_delay, 77u);
  EXPECT_EQ(info->files.size(), 1u);
}

}  // namespace
}  // namespace openbits::itest
