// Downloads over HTTP from a real nginx: large and many small files byte-identical, 404,
// connection refused then recovery, Cancel and Complete on partial jobs.
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/integration/itest.h"

namespace openbits::itest {
namespace {

class HttpTest : public ServiceTest {};

TEST_F(HttpTest, LargeFileAndManySmallFilesArriveByteIdentical) {
  constexpr std::uint64_t kLarge = 256ull << 20;
  make_file(nginx.root() + "/large.bin", kLarge, 7);
  Job job = create("large and small");
  std::vector<FileSpec> files = {{nginx.url("/large.bin"), out + "/large.bin", {}}};
  for (int i = 0; i < 50; ++i) {
    std::string name = "/small" + std::to_string(i);
    make_file(nginx.root() + name, static_cast<std::uint64_t>(i) * 997,
              static_cast<std::uint32_t>(i));
    files.push_back({nginx.url(name), out + name, {}});
  }
  ASSERT_TRUE(job.add_file_set(files).ok());
  ASSERT_TRUE(job.set_priority(JobPriority::kForeground).ok());
  ASSERT_TRUE(job.resume().ok());
  ASSERT_EQ(
      wait_for_state(job, {JobState::kTransferred, JobState::kError}, std::chrono::seconds(240)),
      JobState::kTransferred);
  auto info = job.info();
  EXPECT_EQ(info->progress.files_transferred, 51u);
  ASSERT_EQ(job.complete().code(), hr::S_OK);
  EXPECT_TRUE(files_equal(nginx.root() + "/large.bin", out + "/large.bin"));
  for (int i = 0; i < 50; ++i) {
    std::string name = "/small" + std::to_string(i);
    EXPECT_TRUE(files_equal(nginx.root() + name, out + name)) << name;
  }
  EXPECT_TRUE(temp_files_in(out).empty());
  std::filesystem::remove(nginx.root() + "/large.bin");
  std::filesystem::remove(out + "/large.bin");
}

TEST_F(HttpTest, NotFoundIsAFatalErrorWithTheHttpCode) {
  Job job = create();
  ASSERT_TRUE(job.add_file(nginx.url("/missing"), out + "/missing").ok());
  ASSERT_TRUE(job.resume().ok());
  ASSERT_EQ(wait_for_state(job, {JobState::kError, JobState::kTransferred}), JobState::kError);
  auto error = job.error();
  ASSERT_TRUE(error.ok());
  EXPECT_EQ(error->code, 0x80190194u);
  EXPECT_EQ(error->context, ErrorContext::kRemoteFile);
  EXPECT_EQ(error->file_index, 0u);
  EXPECT_EQ(error->protocol, "http");
  EXPECT_FALSE(error->description.empty());
  EXPECT_EQ(job.info()->error_count, 1u);
}

TEST_F(HttpTest, ConnectionRefusedIsTransientThenSucceedsWhenTheServerAppears) {
  int port = free_port();
  Nginx late(dir.path() + "/late");
  make_file(late.root() + "/f", 4096, 9);
  Job job = create();
  ASSERT_TRUE(job.add_file("http://127.0.0.1:" + std::to_string(port) + "/f", out + "/f").ok());
  ASSERT_TRUE(job.set_minimum_retry_delay(5).ok());
  ASSERT_TRUE(job.resume().ok());
  ASSERT_EQ(wait_for_state(job, {JobState::kTransientError}), JobState::kTransientError);
  EXPECT_EQ(job.error()->code, hr::WINHTTP_CANNOT_CONNECT);
  late.start(port);
  ASSERT_EQ(wait_for_state(job, {JobState::kTransferred}, std::chrono::seconds(30)),
            JobState::kTransferred);  // retried by itself after the 5 s retry delay
  ASSERT_EQ(job.complete().code(), hr::S_OK);
  EXPECT_TRUE(files_equal(late.root() + "/f", out + "/f"));
}

TEST_F(HttpTest, ResumeFromTransientErrorRetriesNow) {
  int port = free_port();
  Nginx late(dir.path() + "/late");
  make_file(late.root() + "/f", 70000, 10);
  Job job = create();
  ASSERT_TRUE(job.add_file("http://127.0.0.1:" + std::to_string(port) + "/f", out + "/f").ok());
  ASSERT_TRUE(job.resume().ok());  // default retry delay: 600 s
  ASSERT_EQ(wait_for_state(job, {JobState::kTransientError}), JobState::kTransientError);
  late.start(port);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(*job.state(), JobState::kTransientError);  // waits for its retry delay...
  EXPECT_EQ(job.resume().code(), hr::S_OK);            // ...unless resumed
  ASSERT_EQ(
      wait_for_state(job, {JobState::kTransferred, JobState::kError}, std::chrono::seconds(30)),
      JobState::kTransferred);
  EXPECT_EQ(job.complete().code(), hr::S_OK);
  EXPECT_TRUE(files_equal(late.root() + "/f", out + "/f"));
}

TEST_F(HttpTest, CancelOfAPartialJobDeletesOnlyTheTempFile) {
  make_file(nginx.root() + "/slowfile", 8 << 20, 4);
  Job job = create();
  ASSERT_TRUE(job.add_file(nginx.url("/slow/slowfile?rate=256k"), out + "/slowfile").ok());
  ASSERT_TRUE(job.resume().ok());
  ASSERT_EQ(wait_for_state(job, {JobState::kTransferring}), JobState::kTransferring);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(temp_files_in(out).size(), 1u);
  EXPECT_EQ(job.cancel().code(), hr::S_OK);
  EXPECT_EQ(*job.state(), JobState::kCancelled);
  EXPECT_TRUE(temp_files_in(out).empty());
  EXPECT_FALSE(exists(out + "/slowfile"));
}

TEST_F(HttpTest, CompleteOfAPartialJobDeliversFinishedFilesOnly) {
  make_file(nginx.root() + "/done", 1000, 5);
  make_file(nginx.root() + "/slowfile", 8 << 20, 6);
  Job job = create();
  ASSERT_TRUE(job.add_file(nginx.url("/done"), out + "/done").ok());
  ASSERT_TRUE(job.add_file(nginx.url("/slow/slowfile?rate=256k"), out + "/slowfile").ok());
  ASSERT_TRUE(job.resume().ok());
  auto first_done = [&] {
    auto info = job.info();
    return info.ok() && info->progress.files_transferred == 1;
  };
  for (int i = 0; i < 300 && !first_done(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(first_done());
  EXPECT_EQ(job.complete().code(), hr::BG_S_PARTIAL_COMPLETE);
  EXPECT_EQ(*job.state(), JobState::kAcknowledged);
  EXPECT_TRUE(files_equal(nginx.root() + "/done", out + "/done"));
  EXPECT_FALSE(exists(out + "/slowfile"));
  EXPECT_TRUE(temp_files_in(out).empty());
}

TEST_F(HttpTest, RangesAreWrittenBackToBack) {
  make_file(nginx.root() + "/r", 10000, 8);
  Job job = create();
  ASSERT_TRUE(job.add_file_with_ranges(nginx.url("/r"), out + "/r",
                                       {{100, 100}, {900, 100}, {400, 100}, {9990, kLengthToEof}})
                  .ok());
  ASSERT_TRUE(job.resume().ok());
  ASSERT_EQ(wait_for_state(job, {JobState::kTransferred, JobState::kError}),
            JobState::kTransferred);
  EXPECT_EQ(job.info()->progress.bytes_total, 310u);
  ASSERT_EQ(job.complete().code(), hr::S_OK);
  std::ifstream src(nginx.root() + "/r", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(src)), std::istreambuf_iterator<char>());
  std::ifstream got(out + "/r", std::ios::binary);
  std::string result((std::istreambuf_iterator<char>(got)), std::istreambuf_iterator<char>());
  EXPECT_EQ(result,
            all.substr(100, 100) + all.substr(900, 100) + all.substr(400, 100) + all.substr(9990));
}

TEST_F(HttpTest, BadInputGetsTheBitsErrorAndChangesNothing) {
  Job job = create();
  EXPECT_EQ(job.add_file("ftp://x/y", out + "/y").code(), hr::E_INVALIDARG);
  EXPECT_EQ(job.add_file(nginx.url("/y"), "relative/y").code(), hr::E_INVALIDARG);
  EXPECT_EQ(job.add_file(nginx.url("/y"), out + "/no/such/dir/y").code(), hr::PATH_NOT_FOUND);
  EXPECT_EQ(job.set_display_name(std::string(257, 'n')).code(), hr::BG_E_STRING_TOO_LONG);
  EXPECT_EQ(job.set_description(std::string(1025, 'd')).code(), hr::BG_E_STRING_TOO_LONG);
  EXPECT_EQ(job.set_notify_flags(0x40).code(), hr::E_NOTIMPL);
  EXPECT_EQ(job.info()->files.size(), 0u);
  EXPECT_EQ(job.info()->display_name, "itest");
  Guid unknown = *parse_guid("{00000000-1111-2222-3333-444444444444}");
  EXPECT_EQ(manager->get_job(unknown).code(), hr::BG_E_NOT_FOUND);
}

}  // namespace
}  // namespace openbits::itest
