// A job of many small files, bitsd SIGKILLed in the middle: every file the daemon had
// reported transferred is still transferred after the restart (its fdatasync, done in
// batches off the transfer path, came before the count), and the job ends with every
// file equal to its source.
#include <fstream>
#include <random>
#include <thread>

#include "tests/integration/itest.h"

namespace openbits::itest {
namespace {

constexpr int kFiles = 300;

class SmallFilesCrashTest : public ServiceTest {
 protected:
  void SetUp() override {
    ServiceTest::SetUp();
    config_ = dir.path() + "/bitsd.json";
    std::ofstream(config_) << R"({"max_files_per_job": )" << kFiles + 100 << "}";
    restart_with_config(false);
  }
  void restart_with_config(bool kill) {
    if (kill) {
      bitsd.kill9();
    } else {
      bitsd.terminate();
    }
    bitsd.start({"--config", config_});
    manager.emplace(bitsd.connect());
  }
  std::string config_;
};

TEST_F(SmallFilesCrashTest, FilesReportedTransferredSurviveSigkill) {
  std::mt19937 sizes(16);
  std::vector<FileSpec> specs;
  for (int i = 0; i < kFiles; ++i) {
    std::string name = "s" + std::to_string(i);
    // The middle file is 2 MiB at 512 KiB/s (nginx sends the first second's worth at once,
    // so small files cannot be slowed): the job spends ~3 s on it, and the kill, after 30
    // files, comes with half the job still to do however fast the small files go.
    bool slow = i == kFiles / 2;
    make_file(nginx.root() + "/" + name, slow ? 2u << 20 : 1024 + sizes() % (31 * 1024),
              100u + static_cast<unsigned>(i));
    specs.push_back(
        {nginx.url(slow ? "/slow/" + name + "?rate=512k" : "/" + name), out + "/" + name, {}});
  }
  Guid id;
  std::uint32_t reported = 0;
  {
    Job job = create("small files");
    id = job.id();
    ASSERT_TRUE(job.add_file_set(specs).ok());
    ASSERT_TRUE(job.resume().ok());
    ASSERT_TRUE(eventually([&] {
      auto info = job.info();
      reported = info.ok() ? info->progress.files_transferred : 0;
      return reported >= 30;
    }));
  }
  restart_with_config(true);
  auto job = manager->get_job(id);
  ASSERT_TRUE(job.ok());
  auto info = job->info();
  ASSERT_TRUE(info.ok());
  EXPECT_GE(info->progress.files_transferred, reported);
  EXPECT_LT(info->progress.files_transferred, static_cast<std::uint32_t>(kFiles));
  ASSERT_EQ(
      wait_for_state(*job, {JobState::kTransferred, JobState::kError}, std::chrono::seconds(90)),
      JobState::kTransferred)
      << bitsd.log();
  ASSERT_EQ(job->complete().code(), hr::S_OK);
  for (int i = 0; i < kFiles; ++i) {
    std::string name = "s" + std::to_string(i);
    EXPECT_TRUE(files_equal(nginx.root() + "/" + name, out + "/" + name)) << name;
  }
  EXPECT_TRUE(temp_files_in(out).empty());
}

}  // namespace
}  // namespace openbits::itest
