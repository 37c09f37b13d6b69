// Upload steps (upload_step.h): which step a record needs next, what each asks the engine
// for, which counter its progress moves and what the record says once it is done. Pure
// logic: no store, no engine.
#include "src/daemon/core/upload_step.h"

#include <gtest/gtest.h>

#include "src/daemon/core/job_record.h"
#include "src/daemon/platform/config.h"

namespace openbits::daemon::testing {
namespace {

JobRecord upload_job(JobType type) {
  JobRecord job;
  job.info.type = type;
  job.info.reply_file_name = "/tmp/reply.bin";
  FileRecord file;
  file.info.remote_name = "http://server/upload/file.bin";
  file.info.local_name = "/tmp/file.bin";
  file.info.progress.bytes_transferred = 4096;
  job.files.push_back(file);
  job.upload.session_id = "{session}";
  job.upload.host_id = "host-2";
  return job;
}

template <typename Step>
bool next_is(const JobRecord& job) {
  std::optional<UploadStep> step = next_upload_step(job);
  return step && std::holds_alternative<Step>(*step);
}

// Runs the step the record needs next and marks it done with `bytes`.
void finish_next(JobRecord& job, std::uint64_t bytes) {
  std::visit([&](const auto& step) { step.finish(job, bytes); }, *next_upload_step(job));
}

TEST(UploadStepTest, AnUploadSendsItsFileAndIsDone) {
  JobRecord job = upload_job(JobType::kUpload);
  ASSERT_TRUE(next_is<SendFileStep>(job));
  finish_next(job, 10000);
  EXPECT_TRUE(job.upload.sent);
  EXPECT_TRUE(job.upload.closed);  // the engine closed the session with the last fragment
  EXPECT_TRUE(job.files[0].transferred);
  EXPECT_EQ(job.files[0].info.progress.bytes_total, 10000u);
  EXPECT_FALSE(next_upload_step(job).has_value());
}

TEST(UploadStepTest, AnUploadReplySendsFetchesTheReplyThenClosesTheSession) {
  JobRecord job = upload_job(JobType::kUploadReply);
  ASSERT_TRUE(next_is<SendFileStep>(job));
  finish_next(job, 10000);
  EXPECT_FALSE(job.upload.closed);
  ASSERT_TRUE(next_is<FetchReplyStep>(job));
  finish_next(job, 77);
  EXPECT_TRUE(job.upload.reply_done);
  EXPECT_EQ(job.info.reply_bytes_total, 77u);
  ASSERT_TRUE(next_is<CloseSessionStep>(job));
  finish_next(job, 0);
  EXPECT_TRUE(job.upload.closed);
  EXPECT_FALSE(next_upload_step(job).has_value());
}

TEST(UploadStepTest, ARestartedDaemonResumesAtTheStepTheRecordNeeds) {
  JobRecord job = upload_job(JobType::kUploadReply);
  job.upload.sent = true;
  EXPECT_TRUE(next_is<FetchReplyStep>(job));
  job.upload.reply_done = true;
  EXPECT_TRUE(next_is<CloseSessionStep>(job));
  job.files.clear();
  EXPECT_FALSE(next_upload_step(job).has_value());
}

TEST(UploadStepTest, SendFileResumesTheSessionFromTheAcknowledgedBytes) {
  JobRecord job = upload_job(JobType::kUploadReply);
  Config config;
  config.upload_fragment_bytes = 1 << 20;
  AnyRequest any = SendFileStep{}.request(job, TransferRequest{}, config);
  const auto& r = std::get<UploadRequest>(any);
  EXPECT_EQ(r.kind, UploadKind::kUpload);
  EXPECT_EQ(r.acknowledged_bytes, 4096u);
  EXPECT_EQ(r.session_id, "{session}");
  EXPECT_EQ(r.host_id, "host-2");
  EXPECT_TRUE(r.want_reply);
  EXPECT_EQ(r.fragment_size, 1u << 20);
  EXPECT_EQ(&SendFileStep{}.progress(job), &job.files[0].info.progress.bytes_transferred);
}

TEST(UploadStepTest, FetchReplyDownloadsLikeDynamicContentIntoATempFileOfItsOwn) {
  JobRecord job = upload_job(JobType::kUploadReply);
  job.upload.reply_url = "http://server/reply/1";
  AnyRequest any = FetchReplyStep{}.request(job, TransferRequest{}, Config{});
  const auto& r = std::get<DownloadRequest>(any);
  EXPECT_EQ(r.remote_name, "http://server/reply/1");
  EXPECT_TRUE(r.dynamic_content);
  EXPECT_FALSE(job.upload.reply_temp_name.empty());
  EXPECT_EQ(r.temp_name, job.upload.reply_temp_name);
  EXPECT_EQ(job.upload.reply_temp_name.rfind("/tmp/", 0), 0u);  // next to the reply file
  std::string first = job.upload.reply_temp_name;
  (void)FetchReplyStep{}.request(job, TransferRequest{}, Config{});
  EXPECT_EQ(job.upload.reply_temp_name, first);  // a retry keeps the same temp file

  job.info.reply_bytes_transferred = 50;
  RemoteValidators reply;
  reply.size = 80;
  FetchReplyStep{}.on_validators(job, reply, /*restarted=*/true);
  EXPECT_EQ(job.info.reply_bytes_total, 80u);
  EXPECT_EQ(job.info.reply_bytes_transferred, 0u);
  EXPECT_EQ(&FetchReplyStep{}.progress(job), &job.info.reply_bytes_transferred);
}

TEST(UploadStepTest, CloseSessionNamesTheSessionAndItsHost) {
  JobRecord job = upload_job(JobType::kUploadReply);
  AnyRequest any = CloseSessionStep{}.request(job, TransferRequest{}, Config{});
  const auto& r = std::get<UploadRequest>(any);
  EXPECT_EQ(r.kind, UploadKind::kCloseSession);
  EXPECT_EQ(r.remote_name, "http://server/upload/file.bin");
  EXPECT_EQ(r.session_id, "{session}");
  EXPECT_EQ(r.host_id, "host-2");
}

}  // namespace
}  // namespace openbits::daemon::testing
