// BITS's per-user and per-machine limits with their exact errors, at the defaults and as
// configured in the config file; administrators (uid 0, admin group) are exempt.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "src/daemon/platform/config.h"
#include "tests/support/daemon_fixture.h"

namespace openbits::daemon::testing {
namespace {

class LimitsTest : public DaemonTest {
 protected:
  std::vector<FileSpec> files(int count, const std::string& prefix) {
    std::vector<FileSpec> specs;
    for (int i = 0; i < count; ++i) {
      specs.push_back({"http://127.0.0.1:1/f" + std::to_string(i),
                       dir.path() + "/" + prefix + std::to_string(i),
                       {}});
    }
    return specs;
  }
  static std::vector<FileRange> ranges(std::size_t count) {
    std::vector<FileRange> list(count);
    for (std::size_t i = 0; i < count; ++i) list[i] = {i * 10, 5};
    return list;
  }
  Caller group_admin() {
    Caller c = user_caller(2000);
    c.admin = true;
    c.integrity_level = kIntegrityHigh;
    return c;
  }
};

TEST_F(LimitsTest, DefaultsAreBitsOwn) {
  Config defaults;
  EXPECT_EQ(defaults.max_jobs_per_user, 60u);
  EXPECT_EQ(defaults.max_jobs_per_machine, 300u);
  EXPECT_EQ(defaults.max_files_per_job, 200u);
  EXPECT_EQ(defaults.max_ranges_per_file, 500u);
  EXPECT_EQ(defaults.max_ranges_per_job, 10'000u);  // openbits's own (BITS has none)
}

TEST_F(LimitsTest, SixtyFirstJobOfAUserAndThreeHundredFirstOfTheMachineAreRefused) {
  for (uid_t uid = 1; uid <= 5; ++uid) {
    for (int i = 0; i < 60; ++i) {
      ASSERT_TRUE(manager->create_job(user_caller(uid), "j", JobType::kDownload).ok());
    }
  }
  EXPECT_EQ(manager->create_job(user_caller(1), "j", JobType::kDownload).code(),
            hr::BG_E_TOO_MANY_JOBS_PER_USER);
  EXPECT_EQ(manager->create_job(user_caller(6), "j", JobType::kDownload).code(),
            hr::BG_E_TOO_MANY_JOBS_PER_MACHINE);
  // A cancelled job no longer counts.
  auto mine = manager->enum_jobs(user_caller(1), false);
  ASSERT_TRUE(manager->cancel(user_caller(1), mine->front().id).ok());
  EXPECT_TRUE(manager->create_job(user_caller(1), "j", JobType::kDownload).ok());
  // Administrators are not limited.
  EXPECT_TRUE(manager->create_job(root_caller(), "j", JobType::kDownload).ok());
  EXPECT_TRUE(manager->create_job(group_admin(), "j", JobType::kDownload).ok());
}

TEST_F(LimitsTest, TwoHundredFirstFileIsTooManyFilesInJobExceptForAdministrators) {
  Caller me = user_caller();
  Guid id = make_job(me, 0);
  ASSERT_TRUE(manager->add_files(me, id, files(200, "a")).ok());
  EXPECT_EQ(manager->add_files(me, id, files(1, "b")).code(), hr::BG_E_TOO_MANY_FILES_IN_JOB);
  EXPECT_EQ(manager->job_info(me, id)->files.size(), 200u);
  Guid admins = make_job(group_admin(), 0);
  EXPECT_TRUE(manager->add_files(group_admin(), admins, files(201, "c")).ok());
}

TEST_F(LimitsTest, FiveHundredFirstRangeIsTooManyRangesExceptForAdministrators) {
  Caller me = user_caller();
  Guid id = make_job(me, 0);
  std::string local = dir.path() + "/ranged";
  EXPECT_EQ(manager->add_files(me, id, {{"http://127.0.0.1:1/r", local, ranges(501)}}).code(),
            hr::BG_E_TOO_MANY_RANGES_IN_FILE);
  EXPECT_TRUE(manager->add_files(me, id, {{"http://127.0.0.1:1/r", local, ranges(500)}}).ok());
  Guid admins = make_job(root_caller(), 0);
  EXPECT_TRUE(
      manager->add_files(root_caller(), admins, {{"http://127.0.0.1:1/r", local, ranges(501)}})
          .ok());
}

TEST_F(LimitsTest, RangesBeyondTheJobTotalAreTooManyRangesExceptForAdministrators) {
  config.max_ranges_per_job = 12;
  open_manager();
  Caller me = user_caller();
  Guid id = make_job(me, 0);
  std::string local = dir.path() + "/ranged";
  ASSERT_TRUE(manager->add_files(me, id, {{"http://127.0.0.1:1/r", local + "1", ranges(5)}}).ok());
  EXPECT_TRUE(manager->add_files(me, id, files(3, "plain")).ok());  // no ranges: none counted
  EXPECT_EQ(manager->add_files(me, id, {{"http://127.0.0.1:1/r", local + "2", ranges(8)}}).code(),
            hr::BG_E_TOO_MANY_RANGES_IN_FILE);
  EXPECT_TRUE(manager->add_files(me, id, {{"http://127.0.0.1:1/r", local + "2", ranges(7)}}).ok());
  Guid admins = make_job(root_caller(), 0);
  EXPECT_TRUE(
      manager->add_files(root_caller(), admins, {{"http://127.0.0.1:1/r", local, ranges(13)}})
          .ok());
}

TEST_F(LimitsTest, LimitsComeFromTheConfigFile) {
  std::string path = dir.path() + "/bitsd.json";
  std::ofstream(path) << R"({"max_jobs_per_user": 1, "max_jobs_per_machine": 2,)"
                      << R"( "max_files_per_job": 2, "max_ranges_per_file": 1,)"
                      << R"( "max_ranges_per_job": 3, "max_reply_bytes_per_connection": 4096,)"
                      << R"( "max_reply_bytes_per_uid": 8192})";
  auto loaded = load_config(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->max_ranges_per_job, 3u);
  EXPECT_EQ(loaded->max_reply_bytes_per_connection, 4096u);
  EXPECT_EQ(loaded->max_reply_bytes_per_uid, 8192u);
  config = *loaded;
  open_manager();
  Caller me = user_caller();
  auto id = manager->create_job(me, "one", JobType::kDownload);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(manager->create_job(me, "two", JobType::kDownload).code(),
            hr::BG_E_TOO_MANY_JOBS_PER_USER);
  ASSERT_TRUE(manager->create_job(user_caller(2), "other", JobType::kDownload).ok());
  EXPECT_EQ(manager->create_job(user_caller(3), "third", JobType::kDownload).code(),
            hr::BG_E_TOO_MANY_JOBS_PER_MACHINE);
  EXPECT_EQ(manager->add_files(me, *id, files(3, "f")).code(), hr::BG_E_TOO_MANY_FILES_IN_JOB);
  EXPECT_EQ(
      manager->add_files(me, *id, {{"http://127.0.0.1:1/r", dir.path() + "/r", ranges(2)}}).code(),
      hr::BG_E_TOO_MANY_RANGES_IN_FILE);
  EXPECT_TRUE(manager->add_files(me, *id, files(2, "g")).ok());
}

TEST_F(LimitsTest, ConfigFileWithAWrongTypeUnknownKeyOrNegativeLimitIsRefused) {
  std::string path = dir.path() + "/bad.json";
  std::ofstream(path) << R"({"max_files_per_job": "many"})";
  EXPECT_EQ(load_config(path).code(), hr::E_INVALIDARG);
  std::ofstream(path, std::ios::trunc) << R"({"max_jobs_per_usr": 1})";
  EXPECT_EQ(load_config(path).code(), hr::E_INVALIDARG);
  std::ofstream(path, std::ios::trunc) << R"({"max_jobs_per_user": -1})";
  EXPECT_EQ(load_config(path).code(), hr::E_INVALIDARG);
}

TEST_F(LimitsTest, StringLengthLimitsAreBitsOwn) {
  Caller me = user_caller();
  EXPECT_TRUE(manager->create_job(me, std::string(256, 'n'), JobType::kDownload).ok());
  EXPECT_EQ(manager->create_job(me, std::string(257, 'n'), JobType::kDownload).code(),
            hr::BG_E_STRING_TOO_LONG);
  Guid id = make_job(me, 0);
  EXPECT_TRUE(manager->set_property(me, id, "description", std::string(1024, 'd')).ok());
  EXPECT_EQ(manager->set_property(me, id, "description", std::string(1025, 'd')).code(),
            hr::BG_E_STRING_TOO_LONG);
  EXPECT_EQ(manager->set_property(me, id, "display_name", std::string(257, 'n')).code(),
            hr::BG_E_STRING_TOO_LONG);
  std::string long_local = dir.path() + "/" + std::string(261, 'l');
  EXPECT_EQ(manager->add_files(me, id, {{"http://127.0.0.1:1/x", long_local, {}}}).code(),
            hr::E_INVALIDARG);
  std::string long_url = "http://127.0.0.1:1/" + std::string(2200, 'u');
  EXPECT_EQ(manager->add_files(me, id, {{long_url, dir.path() + "/u", {}}}).code(),
            hr::E_INVALIDARG);
}

}  // namespace
}  // namespace openbits::daemon::testing
