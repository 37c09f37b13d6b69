// The method-legality table of bits-spec §2.4, cell by cell, for download jobs: each
// method is called on a job brought to each state by real transfer events.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "openbits/names.h"
#include "tests/support/daemon_fixture.h"

namespace openbits::daemon::testing {
namespace {

constexpr JobState kAllStates[] = {
    JobState::kSuspended,    JobState::kQueued,         JobState::kConnecting,
    JobState::kTransferring, JobState::kTransientError, JobState::kError,
    JobState::kTransferred,  JobState::kAcknowledged,   JobState::kCancelled};

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
  HRESULT expected = GetParam() == JobState::kTransferred ? hr::S_OK : hr::BG_S_PARTIAL_COMPLETE;
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
  EXPECT_EQ(manager->get_job(me, id).code(), is_final(GetParam()) ? hr::BG_E_NOT_FOUND : hr::S_OK);
}

TEST_P(LegalityTest, DynamicContentFrozenAfterFirstResume) {
  Guid id = job_in_state(GetParam(), me);
  HRESULT expected = is_final(GetParam()) ? hr::BG_E_INVALID_STATE
                     : GetParam() == JobState::kSuspended
                         ? hr::S_OK
                         : hr::BG_E_READ_ONLY_PROPERTY_AFTER_RESUME;
  EXPECT_EQ(manager->set_property(me, id, "dynamic_content", true).code(), expected);
  EXPECT_EQ(
      manager->set_property(me, id, "high_performance", true).code(),
      is_final(GetParam()) ? hr::BG_E_INVALID_STATE : hr::BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE);
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
