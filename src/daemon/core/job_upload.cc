// TransferCoordinator's upload flow: upload and upload-reply jobs (bits-spec §6,
// IBackgroundCopyJob2) run the steps of UploadPhase (job_record.h), each one engine
// transfer. TRANSFERRED comes after the last step; Complete renames the reply onto its
// name (deliver_reply, job_files.cc); Cancel sends Cancel-Session. See
// transfer_coordinator.h.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <variant>

#include "openbits/names.h"
#include "src/daemon/core/job_files.h"
#include "src/daemon/core/transfer_coordinator.h"
#include "src/daemon/security/fs_credentials.h"
#include "src/daemon/security/owner_path.h"

namespace openbits::daemon {
bool TransferCoordinator::start_upload_phase(JobRecord& job) {
  if (job.files.empty()) return false;
  FileRecord& file = job.files[0];
  JobRecord::Upload& u = job.upload;
  bool reply = job.info.type == JobType::kUploadReply;
  AnyRequest request;
  UploadPhase phase = UploadPhase::kUpload;
  if (!u.sent) {
    UploadRequest& upload = request.emplace<UploadRequest>(UploadRequest{request_for(job)});
    upload.kind = UploadKind::kUpload;
    upload.remote_name = file.info.remote_name;
    upload.upload_file = file.info.local_name;
    upload.acknowledged_bytes = file.info.progress.bytes_transferred;
    upload.session_id = u.session_id;
    upload.host_id = u.host_id;
    upload.local_validators = u.local_validators;
    upload.want_reply = reply;
    upload.fragment_size = config_.upload_fragment_bytes;
  } else if (reply && !u.reply_done) {
    phase = UploadPhase::kReply;
    if (u.reply_temp_name.empty())
      u.reply_temp_name = reply_temp_name_for(job.info.reply_file_name);
    DownloadRequest& download = request.emplace<DownloadRequest>(DownloadRequest{request_for(job)});
    download.remote_name = u.reply_url;
    download.temp_name = u.reply_temp_name;
    // A reply is small and made by an application, which may not answer HEAD or Range:
    // fetched like dynamic content, with one GET from byte 0.
    download.dynamic_content = true;
    download.checkpoint_bytes = config_.checkpoint_bytes;
    download.checkpoint_interval = std::chrono::milliseconds(config_.checkpoint_interval_ms);
  } else if (reply && !u.closed) {
    phase = UploadPhase::kClose;
    UploadRequest& session_end = request.emplace<UploadRequest>(UploadRequest{request_for(job)});
    session_end.kind = UploadKind::kCloseSession;
    session_end.remote_name = file.info.remote_name;
    session_end.session_id = u.session_id;
    session_end.host_id = u.host_id;
  } else {
    return false;
  }
  job.timers.upload_phase = phase;
  launch(job, std::move(request), 0);
  return true;
}

void TransferCoordinator::upload_validators(JobRecord& job, const RemoteValidators& v,
                                            bool restarted) {
  if (job.timers.upload_phase == UploadPhase::kReply) {
    job.info.reply_bytes_total = v.size;
    if (restarted) job.info.reply_bytes_transferred = 0;
  } else if (job.timers.upload_phase == UploadPhase::kUpload) {
    job.files[0].info.progress.bytes_total = v.size;
  }
  table_.touch(job);
  table_.save(job, "the upload's validators");
}

void TransferCoordinator::upload_progress(JobRecord& job, std::uint64_t bytes) {
  std::uint64_t& done = job.timers.upload_phase == UploadPhase::kReply
                            ? job.info.reply_bytes_transferred
                            : job.files[0].info.progress.bytes_transferred;
  bool progress = bytes > done;
  if (progress) {
    job.timers.no_progress_since_ms = 0;
    job.upload.host_id_failing_since_ms = 0;
  }
  done = bytes;
  if (job.info.state == JobState::kConnecting) table_.set_state(job, JobState::kTransferring);
  if (progress) {
    table_.mark_active(job);
  } else {
    table_.touch(job);
  }
  table_.save(job, "the upload's progress");
}

void TransferCoordinator::on_upload_session(std::uint64_t token, const std::string& session_id,
                                            const std::string& host_id, std::uint32_t fallback_s,
                                            const std::string& local_validators) {
  JobRecord* job = table_.by_token(token);
  if (!job) return;
  JobRecord::Upload& u = job->upload;
  if (u.session_id != session_id) {
    spdlog::info("job {}: upload session {}{}", to_string(job->info.id), session_id,
                 host_id.empty() ? "" : " on host " + host_id);
    u.host_id = host_id;
    u.host_id_fallback_s = fallback_s;
  }
  u.session_id = session_id;
  u.local_validators = local_validators;
  table_.save(*job, "the upload session");
}

void TransferCoordinator::on_upload_sent(std::uint64_t token, const std::string& reply_url) {
  JobRecord* job = table_.by_token(token);
  if (!job) return;
  job->upload.sent = true;
  job->upload.reply_url = reply_url;
  FileRecord& file = job->files[0];
  file.info.progress.bytes_transferred = file.info.progress.bytes_total;
  table_.save(*job, "the upload sent");
}

namespace {

// The step that just ended is done: the record says so.
void finish_upload_phase(JobRecord& job, std::uint64_t total_bytes) {
  JobRecord::Upload& u = job.upload;
  switch (job.timers.upload_phase) {
    case UploadPhase::kUpload: {
      FileRecord& file = job.files[0];
      file.info.progress.bytes_transferred = total_bytes;
      file.info.progress.bytes_total = total_bytes;
      file.info.progress.completed = true;
      file.transferred = true;
      u.sent = true;
      if (job.info.type == JobType::kUpload) u.closed = true;  // the engine closed it
      break;
    }
    case UploadPhase::kReply:
      u.reply_done = true;
      job.info.reply_bytes_transferred = total_bytes;
      job.info.reply_bytes_total = total_bytes;
      break;
    case UploadPhase::kClose:
      u.closed = true;
      break;
  }
}

}  // namespace

void TransferCoordinator::upload_complete(JobRecord& job, std::uint64_t total_bytes) {
  table_.release_token(job.timers.transfer_token);
  job.timers.transfer_token = 0;
  job.timers.no_progress_since_ms = 0;
  finish_upload_phase(job, total_bytes);
  if (job.timers.upload_phase == UploadPhase::kUpload) {
    table_.emit(job, JobEvent::Kind::kFileTransferred, 0);
  }
  table_.mark_active(job);
  if (start_upload_phase(job)) return;
  enter_transferred(job);
}

void TransferCoordinator::cancel_upload(JobRecord& job) {
  JobRecord::Upload& u = job.upload;
  if (!u.session_id.empty() && !u.closed && !job.files.empty() && backend_) {
    // Fire and forget: the job is gone, the server frees the session (resent on 5xx).
    UploadRequest request{request_for(job)};
    request.kind = UploadKind::kCancelSession;
    request.remote_name = job.files[0].info.remote_name;
    request.session_id = u.session_id;
    request.host_id = u.host_id;
    (void)backend_->start(std::move(request));
    spdlog::info("job {}: Cancel-Session {}", to_string(job.info.id), u.session_id);
  }
  if (!u.reply_temp_name.empty()) {
    ScopedFsCredentials as_owner(credentials_for(job.info.owner_uid, job.owner_gid));
    OwnerDir dir(u.reply_temp_name, job.info.owner_uid == 0);
    if (as_owner.ok() && dir.ok())
      (void)::unlinkat(dir.fd(), leaf_name(u.reply_temp_name).c_str(), 0);
  }
}

}  // namespace openbits::daemon
