// JobManager for upload and upload-reply jobs (bits-spec §6, IBackgroundCopyJob2). An
// upload job runs in up to three phases, each one engine transfer:
//   0  upload: Create-Session (or the recorded session), Fragments; a plain upload closes
//      its session here too;
//   1  reply (upload-reply): the reply named by BITS-Reply-URL, downloaded with download
//      rules into a temp file next to the reply file;
//   2  close (upload-reply): Close-Session, only after the reply is on disk.
// TRANSFERRED comes after the last phase; Complete renames the reply onto its name; Cancel
// sends Cancel-Session. See job_manager.h.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <variant>

#include "openbits/names.h"
#include "src/daemon/core/job_manager.h"
#include "src/daemon/security/fs_credentials.h"
#include "src/daemon/security/owner_path.h"
#include "src/daemon/security/user_open.h"

namespace openbits::daemon {
namespace {

enum Phase : int { kUploadPhase = 0, kReplyPhase = 1, kClosePhase = 2 };

// Up to `length` bytes of the reply file from `offset`; `reply_size` receives its size. A
// reply over JobManager::kMaxReplyData is BG_E_TOO_LARGE: no bytes, only the size.
Result<std::string> read_reply(const std::string& path, std::uint64_t offset, std::uint64_t length,
                               std::uint64_t& reply_size) {
  RegularFile file = open_regular_file(AT_FDCWD, path, O_NOFOLLOW);
  if (file.not_regular) {
    return Status(hr::E_ACCESSDENIED, "the reply " + path + " is not a regular file");
  }
  if (file.fd < 0) return Status(hresult_from_errno(file.error), "cannot read the reply " + path);
  int fd = file.fd;
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return Status(hr::E_ACCESSDENIED, "the reply " + path + " is not a regular file");
  }
  reply_size = static_cast<std::uint64_t>(st.st_size);
  if (reply_size > JobManager::kMaxReplyData) {
    ::close(fd);
    return Status(hr::BG_E_TOO_LARGE, "the reply is " + std::to_string(reply_size) +
                                          " bytes, more than GetReplyData returns (1 MiB)");
  }
  length = offset >= reply_size ? 0 : std::min(length, reply_size - offset);
  std::string data(length, '\0');
  ssize_t got = ::pread(fd, data.data(), length, static_cast<off_t>(offset));
  int err = errno;
  ::close(fd);
  if (got < 0) return Status(hresult_from_errno(err), "cannot read the reply " + path);
  data.resize(static_cast<std::size_t>(got));
  return data;
}

}  // namespace

bool JobManager::start_upload_phase(JobRecord& job) {
  if (job.files.empty()) return false;
  FileRecord& file = job.files[0];
  JobRecord::Upload& u = job.upload;
  bool reply = job.info.type == JobType::kUploadReply;
  std::variant<DownloadRequest, UploadRequest> request;
  int phase = kUploadPhase;
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
    phase = kReplyPhase;
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
    phase = kClosePhase;
    UploadRequest& session_end = request.emplace<UploadRequest>(UploadRequest{request_for(job)});
    session_end.kind = UploadKind::kCloseSession;
    session_end.remote_name = file.info.remote_name;
    session_end.session_id = u.session_id;
    session_end.host_id = u.host_id;
  } else {
    return false;
  }
  if (job.info.state != JobState::kTransferring) set_state(job, JobState::kConnecting);
  if (job.timers.active_since_ms == 0) job.timers.active_since_ms = clock_.monotonic_ms();
  if (job.timers.slice_started_ms == 0) job.timers.slice_started_ms = clock_.monotonic_ms();
  auto start_transfer = [this](auto& r) { return backend_->start(std::move(r)); };
  std::uint64_t token = backend_ ? std::visit(start_transfer, request) : 0;
  job.timers.transfer_token = token;
  job.timers.transfer_file = 0;
  job.timers.upload_phase = phase;
  if (token != 0) tokens_[token] = job.info.id;
  (void)persist(job);
  return true;
}

void JobManager::upload_validators(JobRecord& job, const RemoteValidators& v, bool restarted) {
  if (job.timers.upload_phase == kReplyPhase) {
    job.info.reply_bytes_total = v.size;
    if (restarted) job.info.reply_bytes_transferred = 0;
  } else if (job.timers.upload_phase == kUploadPhase) {
    job.files[0].info.progress.bytes_total = v.size;
  }
  touch(job);
  (void)persist(job);
}

void JobManager::upload_progress(JobRecord& job, std::uint64_t bytes) {
  std::uint64_t& done = job.timers.upload_phase == kReplyPhase
                            ? job.info.reply_bytes_transferred
                            : job.files[0].info.progress.bytes_transferred;
  bool progress = bytes > done;
  if (progress) {
    job.timers.no_progress_since_ms = 0;
    job.upload.host_id_failing_since_ms = 0;
  }
  done = bytes;
  if (job.info.state == JobState::kConnecting) set_state(job, JobState::kTransferring);
  if (progress) {
    mark_active(job);
  } else {
    touch(job);
  }
  (void)persist(job);
}

void JobManager::on_upload_session(std::uint64_t token, const std::string& session_id,
                                   const std::string& host_id, std::uint32_t fallback_s,
                                   const std::string& local_validators) {
  std::lock_guard lock(mutex_);
  JobRecord* job = by_token(token);
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
  (void)persist(*job);
}

void JobManager::on_upload_sent(std::uint64_t token, const std::string& reply_url) {
  std::lock_guard lock(mutex_);
  JobRecord* job = by_token(token);
  if (!job) return;
  job->upload.sent = true;
  job->upload.reply_url = reply_url;
  FileRecord& file = job->files[0];
  file.info.progress.bytes_transferred = file.info.progress.bytes_total;
  (void)persist(*job);
}

void JobManager::upload_complete(JobRecord& job, std::uint64_t total_bytes) {
  tokens_.erase(job.timers.transfer_token);
  job.timers.transfer_token = 0;
  job.timers.no_progress_since_ms = 0;
  JobRecord::Upload& u = job.upload;
  switch (job.timers.upload_phase) {
    case kUploadPhase: {
      FileRecord& file = job.files[0];
      file.info.progress.bytes_transferred = total_bytes;
      file.info.progress.bytes_total = total_bytes;
      file.info.progress.completed = true;
      file.transferred = true;
      u.sent = true;
      if (job.info.type == JobType::kUpload) u.closed = true;  // the engine closed it
      emit(job, JobEvent::Kind::kFileTransferred, 0);
      break;
    }
    case kReplyPhase:
      u.reply_done = true;
      job.info.reply_bytes_transferred = total_bytes;
      job.info.reply_bytes_total = total_bytes;
      break;
    default:
      u.closed = true;
      break;
  }
  mark_active(job);
  if (start_upload_phase(job)) return;
  account_download_time(job);
  job.timers.slice_started_ms = 0;
  set_state(job, JobState::kTransferred);
  spdlog::info("job {} transferred", to_string(job.info.id));
  (void)persist(job);
}

void JobManager::cancel_upload(JobRecord& job) {
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

Status JobManager::deliver_reply(JobRecord& job) {
  const JobRecord::Upload& u = job.upload;
  if (!u.reply_done) return Status(hr::BG_E_INVALID_STATE, "the reply has not arrived");
  ScopedFsCredentials as_owner(credentials_for(job.info.owner_uid, job.owner_gid));
  if (!as_owner.ok()) return Status(hr::E_ACCESSDENIED, "cannot assume the owner's identity");
  const std::string& target = job.info.reply_file_name;
  // Both directories are opened once as the owner and every step is relative to them, so a
  // directory swapped for a symlink cannot redirect the rename (docs/security.md).
  bool no_symlinks = job.info.owner_uid == 0;
  OwnerDir from(u.reply_temp_name, no_symlinks);
  OwnerDir to(target, no_symlinks);
  if (!from.ok() || !to.ok()) {
    int err = from.ok() ? to.error() : from.error();
    return Status(hresult_from_errno(err), "cannot deliver " + target + ": " + std::strerror(err));
  }
  std::string temp_leaf = leaf_name(u.reply_temp_name);
  std::string target_leaf = leaf_name(target);
  struct stat st {};
  if (::fstatat(from.fd(), temp_leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT &&
      ::fstatat(to.fd(), target_leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    return Status();  // delivered by an earlier Complete that did not finish
  }
  if (::renameat(from.fd(), temp_leaf.c_str(), to.fd(), target_leaf.c_str()) != 0) {
    int err = errno;
    return Status(hresult_from_errno(err), "cannot deliver " + target + ": " + std::strerror(err));
  }
  sync_directory(to);
  return Status();
}

Result<std::string> JobManager::get_reply_data(const Caller& caller, const Guid& id,
                                               std::uint64_t offset, std::uint64_t length,
                                               std::uint64_t& reply_size) {
  std::lock_guard lock(mutex_);
  auto found = find(caller, id, Access::kRead);
  if (!found.ok()) return found.status();
  JobRecord& job = **found;
  if (job.info.type != JobType::kUploadReply) return Status(hr::E_NOTIMPL);
  bool delivered = job.info.state == JobState::kAcknowledged;
  if (job.info.state != JobState::kTransferred && !delivered) {
    return Status(hr::BG_E_INVALID_STATE);
  }
  const std::string& path = delivered ? job.info.reply_file_name : job.upload.reply_temp_name;
  ScopedFsCredentials as_owner(credentials_for(job.info.owner_uid, job.owner_gid));
  if (!as_owner.ok()) return Status(hr::E_ACCESSDENIED, "cannot assume the owner's identity");
  return read_reply(path, offset, length, reply_size);
}

}  // namespace openbits::daemon
