// bitsd killed with SIGKILL mid-transfer and restarted: the job comes back, continues from
// its durable byte count and the origin sends little more than one copy. SIGTERM keeps a
// suspended job and its properties.
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
