// The conformance assertions of bits-spec §7 (Wine's qmgr tests, which also pass on
// Windows) that apply to download jobs, run through libopenbits against a real bitsd.
#include "tests/integration/itest.h"

namespace openbits::itest {
namespace {

class ConformanceTest : public ServiceTest {
 protected:
  void local_copy(Job& job, const std::string& prefix) {  // items 16-17
    auto& t = *this;
    make_file(t.nginx.root() + "/one", 100000, 1);
    make_file(t.nginx.root() + "/two", 1, 2);
    ASSERT_TRUE(job.add_file(prefix + t.nginx.root() + "/one", t.out + "/one").ok());
    ASSERT_TRUE(job.add_file(prefix + t.nginx.root() + "/two", t.out + "/two").ok());
    ASSERT_TRUE(job.resume().ok());
    JobState state =
        wait_for_state(job, {JobState::kTransferred, JobState::kError}, std::chrono::seconds(30));
    ASSERT_EQ(state, JobState::kTransferred);
    EXPECT_EQ(job.complete().code(), hr::S_OK);
    EXPECT_EQ(*job.state(), JobState::kAcknowledged);
    EXPECT_TRUE(files_equal(t.nginx.root() + "/one", t.out + "/one"));
    EXPECT_TRUE(files_equal(t.nginx.root() + "/two", t.out + "/two"));
  }
};

TEST_F(ConformanceTest, NewJobHasBitsDefaults) {  // §7 items 1, 5-12
  Job job = create("Test");
  auto info = job.info();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->id, job.id());
  EXPECT_EQ(info->type, JobType::kDownload);
  EXPECT_EQ(info->display_name, "Test");
  EXPECT_EQ(info->state, JobState::kSuspended);
  EXPECT_EQ(info->progress.bytes_total, 0u);
  EXPECT_EQ(info->progress.bytes_transferred, 0u);
  EXPECT_EQ(info->progress.files_total, 0u);
  EXPECT_EQ(info->progress.files_transferred, 0u);
  EXPECT_EQ(info->notify_flags, 0x3u);
  EXPECT_FALSE(info->notify_interface_registered);
  EXPECT_EQ(info->minimum_retry_delay, 600u);
  EXPECT_EQ(info->minimum_notification_interval_ms, 500u);
  EXPECT_EQ(info->no_progress_timeout, 1209600u);
  EXPECT_EQ(info->maximum_download_time, 7776000u);
  EXPECT_EQ(info->priority, JobPriority::kNormal);
  EXPECT_EQ(job.resume().code(), hr::BG_E_EMPTY);  // item 10
  EXPECT_EQ(*job.state(), JobState::kSuspended);
  EXPECT_EQ(job.error().code(), hr::BG_E_ERROR_INFORMATION_UNAVAILABLE);
  EXPECT_FALSE(info->custom_headers.has_value());
}

TEST_F(ConformanceTest, JobsAreVisibleToOtherProcessesOfTheUser) {  // item 4
  auto before = manager->enum_jobs();
  Job job = create("from another process");
  Manager second = bitsd.connect();
  auto after = second.enum_jobs();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->size(), before->size() + 1);  // item 33: snapshots
  bool found = false;
  for (const auto& j : *after) found |= j.id == job.id();
  EXPECT_TRUE(found);
}

TEST_F(ConformanceTest, AddFileAndAddFileSetAndFileNames) {  // items 13-15, 21-25
  Job job = create();
  std::string url = "file://" + nginx.root() + "/a.bin";
  ASSERT_TRUE(job.add_file(url, out + "/a").ok());
  ASSERT_TRUE(job.add_file(nginx.url("/b.bin"), out + "/b").ok());
  ASSERT_TRUE(
      job.add_file_set({{nginx.url("/c"), out + "/c", {}}, {nginx.url("/d"), out + "/d", {}}})
          .ok());
  auto files = job.files();
  ASSERT_TRUE(files.ok());
  ASSERT_EQ(files->size(), 4u);
  auto first = (*files)[0].info();
  EXPECT_EQ(first->remote_name, url);
  EXPECT_EQ(first->local_name, out + "/a");
  EXPECT_EQ(first->progress.bytes_total, kSizeUnknown);
  EXPECT_EQ(first->progress.bytes_transferred, 0u);
  EXPECT_FALSE(first->progress.completed);
}

TEST_F(ConformanceTest, LocalCopyWithPlainPaths) {
  Job job = create();
  local_copy(job, "");
}

TEST_F(ConformanceTest, LocalCopyWithFileUrls) {
  Job job = create();
  local_copy(job, "file://");
}

TEST_F(ConformanceTest, CancelTwiceIsInvalidState) {  // item 18
  Job job = create();
  EXPECT_NE(*job.state(), JobState::kCancelled);
  EXPECT_EQ(job.cancel().code(), hr::S_OK);
  EXPECT_EQ(*job.state(), JobState::kCancelled);
  EXPECT_EQ(job.cancel().code(), hr::BG_E_INVALID_STATE);
}

TEST_F(ConformanceTest, HttpDownloadThenCompleteTwice) {  // item 20
  make_file(nginx.root() + "/f.bin", 12345, 3);
  Job job = create();
  ASSERT_TRUE(job.set_notify_flags(0x1F).ok());
  ASSERT_TRUE(job.add_file(nginx.url("/f.bin"), out + "/f.bin").ok());
  ASSERT_TRUE(job.resume().ok());
  ASSERT_EQ(
      wait_for_state(job, {JobState::kTransferred, JobState::kError}, std::chrono::seconds(30)),
      JobState::kTransferred);
  EXPECT_EQ(job.error().code(), hr::BG_E_ERROR_INFORMATION_UNAVAILABLE);
  EXPECT_EQ(job.info()->security_flags, 0u);
  ASSERT_TRUE(job.set_security_flags(0).ok());
  EXPECT_EQ(job.complete().code(), hr::S_OK);
  EXPECT_EQ(*job.state(), JobState::kAcknowledged);
  EXPECT_EQ(job.complete().code(), hr::BG_E_INVALID_STATE);
  EXPECT_TRUE(files_equal(nginx.root() + "/f.bin", out + "/f.bin"));
  EXPECT_EQ(manager->get_job(job.id()).code(), hr::BG_E_NOT_FOUND);
}

TEST_F(ConformanceTest, CustomHeadersSetAndClear) {  // item 19
  Job job = create();
  ASSERT_TRUE(job.set_custom_headers(std::string("Wine: test\r\n")).ok());
  EXPECT_EQ(job.info()->custom_headers.value_or(""), "Wine: test\r\n");
  ASSERT_TRUE(job.set_custom_headers(std::nullopt).ok());
  EXPECT_FALSE(job.info()->custom_headers.has_value());
}

TEST_F(ConformanceTest, FileEnumeratorFollowsBitsCursorRules) {  // items 25-32
  Job job = create();
  ASSERT_TRUE(job.add_file(nginx.url("/1"), out + "/1").ok());
  ASSERT_TRUE(job.add_file(nginx.url("/2"), out + "/2").ok());
  auto files = job.enum_files();
  ASSERT_TRUE(files.ok());
  EXPECT_EQ(files->count(), 2u);
  std::vector<File> got;
  EXPECT_EQ(files->next(1, got).code(), hr::S_OK);
  EXPECT_EQ(files->next(1, got).code(), hr::S_OK);
  EXPECT_EQ(files->next(1, got).code(), hr::S_FALSE);
  EXPECT_EQ(got.size(), 2u);
  files->reset();
  got.clear();
  EXPECT_EQ(files->next(2, got).code(), hr::S_OK);
  EXPECT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].info()->local_name, out + "/2");
  files->reset();
  EXPECT_EQ(files->skip(1).code(), hr::S_OK);
  EXPECT_EQ(files->skip(1).code(), hr::S_OK);
  EXPECT_EQ(files->skip(1).code(), hr::S_FALSE);
  files->reset();
  EXPECT_EQ(files->skip(3).code(), hr::S_FALSE);
  files->reset();
  EXPECT_EQ(files->skip(2).code(), hr::S_OK);
  files->reset();
  EXPECT_EQ(files->skip(2).code(), hr::S_OK);
}

TEST_F(ConformanceTest, JobEnumeratorsAreSnapshots) {  // items 33-34
  Job a = create("A");
  auto first = manager->enum_job_handles();
  Job b = create("B");
  auto second = manager->enum_job_handles();
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(second->count(), first->count() + 1);
  auto copy = second->clone();
  std::vector<Job> got;
  EXPECT_EQ(second->next(second->count(), got).code(), hr::S_OK);
  EXPECT_EQ(second->next(1, got).code(), hr::S_FALSE);
  EXPECT_EQ(copy.next(1, got).code(), hr::S_OK);  // the clone kept its own position
  EXPECT_EQ(second->skip(1).code(), hr::S_FALSE);
}

}  // namespace
}  // namespace openbits::itest
