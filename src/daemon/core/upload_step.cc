// The upload steps' behaviour (upload_step.h): requests, counters and what "done" means.
#include "src/daemon/core/upload_step.h"

#include "src/daemon/core/job_files.h"
#include "src/daemon/core/job_record.h"
#include "src/daemon/platform/config.h"

namespace openbits::daemon {

AnyRequest SendFileStep::request(JobRecord& job, TransferRequest common,
                                 const Config& config) const {
  const FileRecord& file = job.files[0];
  const JobRecord::Upload& u = job.upload;
  UploadRequest upload{std::move(common)};
  upload.kind = UploadKind::kUpload;
  upload.remote_name = file.info.remote_name;
  upload.upload_file = file.info.local_name;
  upload.acknowledged_bytes = file.info.progress.bytes_transferred;
  upload.session_id = u.session_id;
  upload.host_id = u.host_id;
  upload.local_validators = u.local_validators;
  upload.want_reply = job.info.type == JobType::kUploadReply;
  upload.fragment_size = config.upload_fragment_bytes;
  return upload;
}

void SendFileStep::on_validators(JobRecord& job, const RemoteValidators& v, bool) const {
  job.files[0].info.progress.bytes_total = v.size;
}

std::uint64_t& SendFileStep::progress(JobRecord& job) const {
  return job.files[0].info.progress.bytes_transferred;
}

void SendFileStep::finish(JobRecord& job, std::uint64_t total_bytes) const {
  FileRecord& file = job.files[0];
  file.info.progress.bytes_transferred = total_bytes;
  file.info.progress.bytes_total = total_bytes;
  file.info.progress.completed = true;
  file.transferred = true;
  job.upload.sent = true;
  if (job.info.type == JobType::kUpload) job.upload.closed = true;  // the engine closed it
}

AnyRequest FetchReplyStep::request(JobRecord& job, TransferRequest common,
                                   const Config& config) const {
  JobRecord::Upload& u = job.upload;
  if (u.reply_temp_name.empty()) u.reply_temp_name = reply_temp_name_for(job.info.reply_file_name);
  DownloadRequest download{std::move(common)};
  download.remote_name = u.reply_url;
  download.temp_name = u.reply_temp_name;
  // A reply is small and made by an application, which may not answer HEAD or Range:
  // fetched like dynamic content, with one GET from byte 0.
  download.dynamic_content = true;
  download.checkpoint_bytes = config.checkpoint_bytes;
  download.checkpoint_interval = std::chrono::milliseconds(config.checkpoint_interval_ms);
  return download;
}

void FetchReplyStep::on_validators(JobRecord& job, const RemoteValidators& v,
                                   bool restarted) const {
  job.info.reply_bytes_total = v.size;
  if (restarted) job.info.reply_bytes_transferred = 0;
}

std::uint64_t& FetchReplyStep::progress(JobRecord& job) const {
  return job.info.reply_bytes_transferred;
}

void FetchReplyStep::finish(JobRecord& job, std::uint64_t total_bytes) const {
  job.upload.reply_done = true;
  job.info.reply_bytes_transferred = total_bytes;
  job.info.reply_bytes_total = total_bytes;
}

AnyRequest CloseSessionStep::request(JobRecord& job, TransferRequest common, const Config&) const {
  UploadRequest session_end{std::move(common)};
  session_end.kind = UploadKind::kCloseSession;
  session_end.remote_name = job.files[0].info.remote_name;
  session_end.session_id = job.upload.session_id;
  session_end.host_id = job.upload.host_id;
  return session_end;
}

std::uint64_t& CloseSessionStep::progress(JobRecord& job) const {
  // Close-Session moves no bytes; were the engine to report any, they are the file's.
  return job.files[0].info.progress.bytes_transferred;
}

void CloseSessionStep::finish(JobRecord& job, std::uint64_t) const { job.upload.closed = true; }

std::optional<UploadStep> next_upload_step(const JobRecord& job) {
  if (job.files.empty()) return std::nullopt;
  const JobRecord::Upload& u = job.upload;
  bool reply = job.info.type == JobType::kUploadReply;
  if (!u.sent) return SendFileStep{};
  if (reply && !u.reply_done) return FetchReplyStep{};
  if (reply && !u.closed) return CloseSessionStep{};
  return std::nullopt;
}

}  // namespace openbits::daemon
