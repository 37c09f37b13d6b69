// TransferCoordinator's upload flow: upload and upload-reply jobs (bits-spec §6,
// IBackgroundCopyJob2) run the steps of upload_step.h, each one engine transfer.
// TRANSFERRED comes after the last step; Complete renames the reply onto its name
// (deliver_reply, job_files.cc); Cancel sends Cancel-Session. See transfer_coordinator.h.
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
  std::optional<UploadStep> step = next_upload_step(job);
  if (!step) return false;
  job.timers.upload_step = *step;
  AnyRequest request =
      std::visit([&](const auto& s) { return s.request(job, request_for(job), config_); }, *step);
  launch(job, std::move(request), 0);
  return true;
}

void TransferCoordinator::upload_validators(JobRecord& job, const RemoteValidators& v,
                                            bool restarted) {
  std::visit([&](const auto& step) { step.on_validators(job, v, restarted); },
             job.timers.upload_step);
  table_.touch(job);
  table_.save(job, "the upload's validators");
}

void TransferCoordinator::upload_progress(JobRecord& job, std::uint64_t bytes) {
  std::uint64_t& done =
      std::visit([&](const auto& step) -> std::uint64_t& { return step.progress(job); },
                 job.timers.upload_step);
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

void TransferCoordinator::upload_complete(JobRecord& job, std::uint64_t total_bytes) {
  table_.release_token(job.timers.transfer_token);
  job.timers.transfer_token = 0;
  job.timers.no_progress_since_ms = 0;
  bool file_done = std::visit(
      [&](const auto& step) {
        step.finish(job, total_bytes);
        return step.kTransfersTheFile;
      },
      job.timers.upload_step);
  if (file_done) table_.emit(job, JobEvent::Kind::kFileTransferred, 0);
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
