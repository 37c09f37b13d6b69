// The method-legality table of bits-spec §2.4, cell by cell, for download jobs: each
// method is called on a job brought to each state by real transfer events.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "openbits/names.h"
#include "tests/unit/daemon/daemon_fixture.h"

namespace openbits::daemon::testing {
namespace {

constexpr JobState kAllStates[] = {
    JobState::kSuspended,     JobState::kQueued, JobState::kConnecting,
    JobState::kTransferring,  JobState::kTransientError, JobState::kError,
    JobState::kTransferred,   JobState::kAcknowledged,   JobState::kCancelled};

bool is_final(JobState s) { return s == JobState::kAcknowledged || s == JobState::kCancelled; }

class LegalityTest : public DaemonTest, public ::testing::WithParamInterface<JobState> {
 protected:
  Caller me = user_caller();
};

TEST_P(LegalityTest, ResumeQueuesOrKeepsActiveJobs) {
  Guid id = job_in_state(GetParam(), me);
  Status s = manager->resume(me, id);
  if (is_final(GetParam())) {
    EXPECT_EQ(s.code(), hr::BG_E_INVALID_STATE);
    return;
  }
  EXPECT_EQ(s.code(), hr::S_OK);
  JobState after = state_of(id);
  switch (GetParam()) {
    case JobState::kTransferred:
      EXPECT_EQ(after, JobState::kTransferred);  // nothing pending: unchanged
      break;
    case JobState::kTransferring:
      EXPECT_EQ(after, JobState::kTransferring);
      break;
    default:  // queued, and the fake backend lets it start at once
      EXPECT_EQ(after, JobState::kConnecting);
  }
}

TEST_P(LegalityTest, SuspendStopsAnyNonFinalJob) {
  Guid id = job_in_state(GetParam(), me);
  Status s = manager->suspend(me, id);
  if (is_final(GetParam())) {
    EXPECT_EQ(s.code(), hr::BG_E_INVALID_STATE);
    return;
  }
  EXPECT_EQ(s.code(), hr::S_OK);
  EXPECT_EQ(state_of(id), JobState::kSuspended);
  EXPECT_TRUE(backend.running.empty());
}

TEST_P(LegalityTest, CancelEndsAnyNonFinalJob) {
  Guid id = job_in_state(GetParam(), me);
  Status s = manager->cancel(me, id);
  if (is_final(GetParam())) {
    EXPECT_EQ(s.code(), hr::BG_E_INVALID_STATE);
    EXPECT_EQ(state_of(id), GetParam());
    return;
  }
  EXPECT_EQ(s.code(), hr::S_OK);
  EXPECT_EQ(state_of(id), JobState::kCancelled);
  EXPECT_EQ(manager->get_job(me, id).code(), hr::BG_E_NOT_FOUND);
}

TEST_P(LegalityTest, CompleteAcknowledgesDownloadsInAnyNonFinalState) {
  Guid id = job_in_state(GetParam(), me);
  Status s = manager->complete(me, id);
  if (is_final(GetParam())) {
    EXPECT_EQ(s.code(), hr::BG_E_INVALID_STATE);
    EXPECT_EQ(state_of(id), GetParam());
    return;
  }
  HRESULT expected =
      GetParam() == JobState::kTransferred ? hr::S_OK : hr::BG_S_PARTIAL_COMPLETE;
  EXPECT_EQ(s.code(), expected);
  EXPECT_EQ(state_of(id), JobState::kAcknowledged);
}

TEST_P(LegalityTest, AddFileAllowedUntilFinal) {
  Guid id = job_in_state(GetParam(), me);
  Status s = manager->add_files(me, id, {{"http://127.0.0.1:1/extra", dir.path() + "/extra", {}}});
  EXPECT_EQ(s.code(), is_final(GetParam()) ? hr::BG_E_INVALID_STATE : hr::S_OK);
  if (GetParam() == JobState::kTransferred) {
    EXPECT_EQ(state_of(id), JobState::kTransferred);
  }
}

TEST_P(LegalityTest, SettersAllowedUntilFinal) {
  Guid id = job_in_state(GetParam(), me);
  HRESULT expected = is_final(GetParam()) ? hr::BG_E_INVALID_STATE : hr::S_OK;
  EXPECT_EQ(manager->set_property(me, id, "display_name", "renamed").code(), expected);
  EXPECT_EQ(manager->set_property(me, id, "description", "text").code(), expected);
  EXPECT_EQ(manager->set_property(me, id, "priority", "HIGH").code(), expected);
  EXPECT_EQ(manager->set_property(me, id, "notify_flags", 0x0B).code(), expected);
  EXPECT_EQ(manager->set_property(me, id, "minimum_retry_delay", 60).code(), expected);
  EXPECT_EQ(manager->set_property(me, id, "no_progress_timeout", 600).code(), expected);
  EXPECT_EQ(manager->set_property(me, id, "custom_headers", "X-A: b\r\n").code(), expected);
}

TEST_P(LegalityTest, FileAclFlagsRefusedOnceTransferred) {
  Guid id = job_in_state(GetParam(), me);
  HRESULT expected = (is_final(GetParam()) || GetParam() == JobState::kTransferred)
                         ? hr::BG_E_INVALID_STATE
                         : hr::S_OK;
  EXPECT_EQ(manager->set_property(me, id, "file_acl_flags", kCopyFileDacl).code(), expected);
}

TEST_P(LegalityTest, TakeOwnershipAllowedUntilFinal) {
  Guid id = job_in_state(GetParam(), me);
  Status s = manager->take_ownership(root_caller(), id);
  EXPECT_EQ(s.code(), is_final(GetParam()) ? hr::BG_E_INVALID_STATE : hr::S_OK);
}

TEST_P(LegalityTest, ErrorObjectOnlyInErrorStates) {
  Guid id = job_in_state(GetParam(), me);
  auto error = manager->get_error(me, id);
  bool in_error = GetParam() == JobState::kError || GetParam() == JobState::kTransientError;
  if (!in_error) {
    EXPECT_EQ(error.code(), hr::BG_E_ERROR_INFORMATION_UNAVAILABLE);
    return;
  }
  ASSERT_TRUE(error.ok());
  EXPECT_EQ(error->context, ErrorContext::kRemoteFile);
  EXPECT_EQ(error->file_index, 0u);
  EXPECT_EQ(error->code, GetParam() == JobState::kError ? 0x80190194u : 0x801901F7u);
}

TEST_P(LegalityTest, GettersWorkInEveryState) {
  Guid id = job_in_state(GetParam(), me);
  auto info = manager->job_info(me, id);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->state, GetParam());
  EXPECT_EQ(manager->get_job(me, id).code(),
            is_final(GetParam()) ? hr::BG_E_NOT_FOUND : hr::S_OK);
}

TEST_P(LegalityTest, DynamicContentFrozenAfterFirstResume) {
  Guid id = job_in_state(GetParam(), me);
  HRESULT expected = is_final(GetParam())                ? hr::BG_E_INVALID_STATE
                     : GetParam() == JobState::kSuspended ? hr::S_OK
                                                          : hr::BG_E_READ_ONLY_PROPERTY_AFTER_RESUME;
  EXPECT_EQ(manager->set_property(me, id, "dynamic_content", true).code(), expected);
  EXPECT_EQ(manager->set_property(me, id, "high_performance", true).code(),
            is_final(GetParam()) ? hr::BG_E_INVALID_STATE
                                 : hr::BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE);
}

INSTANTIATE_TEST_SUITE_P(AllStates, LegalityTest, ::testing::ValuesIn(kAllStates),
                         [](const ::testing::TestParamInfo<JobState>& param) {
                           std::string name = to_string(param.param);
                           std::erase(name, '_');
                           return name;
                         });

TEST_F(DaemonTest, ResumeWithoutFilesIsEmptyAndStaysSuspended) {
  Caller me = user_caller();
  Guid id = make_job(me, 0);
  EXPECT_EQ(manager->resume(me, id).code(), hr::BG_E_EMPTY);
  EXPECT_EQ(state_of(id), JobState::kSuspended);
}

TEST_F(DaemonTest, SuspendedTransferredJobReturnsToTransferredOnResume) {
  Caller me = user_caller();
  Guid id = job_in_state(JobState::kTransferred, me);
  ASSERT_TRUE(manager->suspend(me, id).ok());
  EXPECT_EQ(state_of(id), JobState::kSuspended);
  ASSERT_TRUE(manager->resume(me, id).ok());
  EXPECT_EQ(state_of(id), JobState::kTransferred);
}

TEST_F(DaemonTest, UploadJobsCompleteOnlyWhenTransferred) {
  Caller me = user_caller();
  auto id = manager->create_job(me, "up", JobType::kUpload);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(manager->complete(me, *id).code(), hr::BG_E_INVALID_STATE);
}

}  // namespace
}  // namespace openbits::daemon::testing

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
  EXPECT_EQ(backend.started.back().temp_name, local);
  finish_transfer(backend.last_token(), "abc");
  ASSERT_EQ(manager->complete(me, *id).code(), hr::S_OK);
  std::ifstream in(local);
  std::string content;
  in >> content;
  EXPECT_EQ(content, "abc");
}

}  // namespace
}  // namespace openbits::daemon::testing

namespace openbits::daemon::testing {
namespace {

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
  EXPECT_EQ(manager->add_files(me, id, {{"http://h/a", dir.path() + "/x", {}},
                                        {"http://h/b", dir.path() + "/x", {}}})
                .code(),
            hr::E_INVALIDARG);  // duplicate local names
  EXPECT_EQ(manager->add_files(me, id, {{"http://h/a", dir.path() + "/missing/x", {}}}).code(),
            hr::PATH_NOT_FOUND);
  EXPECT_EQ(manager->add_files(me, id, {{"gopher://h/a", dir.path() + "/y", {}}}).code(),
            hr::E_INVALIDARG);
  auto upload = manager->create_job(me, "up", JobType::kUpload);
  EXPECT_EQ(manager->add_files(me, *upload, {{"http://h/a", dir.path() + "/1", {}},
                                             {"http://h/b", dir.path() + "/2", {}}})
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
