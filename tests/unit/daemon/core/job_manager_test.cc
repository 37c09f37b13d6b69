// JobManager behaviour outside the legality table: ownership, integrity levels, quotas,
// add-file rules, defaults, HIGH_PERFORMANCE.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/support/daemon_fixture.h"

namespace openbits::daemon::testing {
namespace {

TEST_F(DaemonTest, HighPerformanceJobsWriteStraightToTheDestination) {
  Caller me = user_caller();
  auto id = manager->create_job(me, "fast", JobType::kDownload);
  ASSERT_TRUE(manager->set_property(me, *id, "high_performance", true).ok());
  std::string local = dir.path() + "/direct.bin";
  ASSERT_TRUE(manager->add_files(me, *id, {{"http://127.0.0.1:1/x", local, {}}}).ok());
  EXPECT_EQ(manager->job_info(me, *id)->files[0].temporary_name, local);
  ASSERT_TRUE(manager->resume(me, *id).ok());
  EXPECT_EQ(backend.last_download().temp_name, local);
  finish_transfer(backend.last_token(), "abc");
  ASSERT_EQ(manager->complete(me, *id).code(), hr::S_OK);
  std::ifstream in(local);
  std::string content;
  in >> content;
  EXPECT_EQ(content, "abc");
}

TEST_F(DaemonTest, OnlyAdministratorsTakeOwnership) {
  Caller me = user_caller();
  Guid id = make_job(me);
  EXPECT_EQ(manager->take_ownership(me, id).code(), hr::E_ACCESSDENIED);
  Caller root = root_caller();
  ASSERT_TRUE(manager->set_property(me, id, "custom_headers", "X-Token: s\r\n").ok());
  ASSERT_TRUE(manager->take_ownership(root, id).ok());
  auto info = manager->job_info(root, id);
  EXPECT_EQ(info->owner_uid, 0u);
  EXPECT_EQ(info->owner, "S-1-22-1-0");
  EXPECT_FALSE(info->custom_headers.has_value());  // secrets are dropped
  EXPECT_EQ(manager->get_job(me, id).code(), hr::E_ACCESSDENIED);
}

TEST_F(DaemonTest, LowerIntegrityCallerCannotModifyJob) {
  Caller admin = user_caller(1000);
  admin.integrity_level = kIntegrityHigh;
  Guid id = make_job(admin);
  Caller same_user_low = user_caller(1000);
  same_user_low.integrity_level = kIntegrityLow;
  EXPECT_TRUE(manager->get_job(same_user_low, id).ok());  // reading is allowed
  EXPECT_EQ(manager->suspend(same_user_low, id).code(), hr::E_ACCESSDENIED);
  EXPECT_EQ(manager->cancel(same_user_low, id).code(), hr::E_ACCESSDENIED);
}

TEST_F(DaemonTest, JobQuotasApplyToOrdinaryUsersOnly) {
  config.max_jobs_per_user = 2;
  config.max_jobs_per_machine = 3;
  open_manager();
  EXPECT_TRUE(manager->create_job(user_caller(1), "a", JobType::kDownload).ok());
  EXPECT_TRUE(manager->create_job(user_caller(1), "b", JobType::kDownload).ok());
  EXPECT_EQ(manager->create_job(user_caller(1), "c", JobType::kDownload).code(),
            hr::BG_E_TOO_MANY_JOBS_PER_USER);
  EXPECT_TRUE(manager->create_job(user_caller(2), "d", JobType::kDownload).ok());
  EXPECT_EQ(manager->create_job(user_caller(3), "e", JobType::kDownload).code(),
            hr::BG_E_TOO_MANY_JOBS_PER_MACHINE);
  EXPECT_TRUE(manager->create_job(root_caller(), "f", JobType::kDownload).ok());
}

TEST_F(DaemonTest, AddFileRulesAreAllOrNothing) {
  Caller me = user_caller();
  Guid id = make_job(me, 0);
  std::vector<FileSpec> files = {{"http://h/a", dir.path() + "/a", {}},
                                 {"http://h/b", "relative/b", {}}};
  EXPECT_EQ(manager->add_files(me, id, files).code(), hr::E_INVALIDARG);
  EXPECT_TRUE(manager->job_info(me, id)->files.empty());
  EXPECT_EQ(manager
                ->add_files(
                    me, id,
                    {{"http://h/a", dir.path() + "/x", {}}, {"http://h/b", dir.path() + "/x", {}}})
                .code(),
            hr::E_INVALIDARG);  // duplicate local names
  EXPECT_EQ(manager->add_files(me, id, {{"http://h/a", dir.path() + "/missing/x", {}}}).code(),
            hr::PATH_NOT_FOUND);
  EXPECT_EQ(manager->add_files(me, id, {{"gopher://h/a", dir.path() + "/y", {}}}).code(),
            hr::E_INVALIDARG);
  auto upload = manager->create_job(me, "up", JobType::kUpload);
  EXPECT_EQ(manager
                ->add_files(
                    me, *upload,
                    {{"http://h/a", dir.path() + "/1", {}}, {"http://h/b", dir.path() + "/2", {}}})
                .code(),
            hr::BG_E_TOO_MANY_FILES);
}

TEST_F(DaemonTest, NewJobHasBitsDefaults) {
  Caller me = user_caller();
  auto id = manager->create_job(me, "Test", JobType::kDownload);
  auto info = manager->get_job(me, *id);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->state, JobState::kSuspended);
  EXPECT_EQ(info->priority, JobPriority::kNormal);
  EXPECT_EQ(info->notify_flags, 0x3u);
  EXPECT_EQ(info->minimum_retry_delay, 600u);
  EXPECT_EQ(info->no_progress_timeout, 1209600u);
  EXPECT_EQ(info->maximum_download_time, 7776000u);
  EXPECT_EQ(info->progress.bytes_total, 0u);
  EXPECT_EQ(info->progress.files_total, 0u);
  EXPECT_EQ(info->proxy.usage, ProxyUsage::kPreconfig);
  EXPECT_EQ(info->description, "");
  EXPECT_EQ(info->times.transfer_completion_time, 0);
  EXPECT_NE(info->times.creation_time, 0);
}

}  // namespace
}  // namespace openbits::daemon::testing
