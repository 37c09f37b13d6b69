// JobManager scheduling: which jobs transfer now, the automatic transitions of
// bits-spec §2.5, and the transfer engine's events. See job_manager.h.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <utility>

#include "openbits/names.h"
#include "src/daemon/core/job_manager.h"
#include "src/daemon/core/validation.h"
#include "src/daemon/security/fs_credentials.h"

namespace openbits::daemon {

JobRecord* JobManager::by_token(std::uint64_t token) {
  auto it = tokens_.find(token);
  if (it == tokens_.end()) return nullptr;
  auto job = jobs_.find(it->second);
  if (job == jobs_.end() || job->second->timers.transfer_token != token) return nullptr;
  return job->second.get();
}

void JobManager::account_download_time(JobRecord& job) {
  if (job.timers.active_since_ms != 0) {
    job.download_time_ms += clock_.monotonic_ms() - job.timers.active_since_ms;
    job.timers.active_since_ms = 0;
  }
}

void JobManager::stop_transfer(JobRecord& job) {
  account_download_time(job);
  if (job.timers.transfer_token == 0) return;
  tokens_.erase(job.timers.transfer_token);
  if (backend_) backend_->stop(job.timers.transfer_token);
  job.timers.transfer_token = 0;
}

TransferRequest JobManager::request_for(const JobRecord& job) const {
  TransferRequest request;
  request.job_id = job.info.id;
  request.owner = credentials_for(job.info.owner_uid, job.owner_gid);
  request.owner.creation_mask = job.owner_umask;
  request.custom_headers = job.info.custom_headers.value_or("");
  request.security_flags = job.info.security_flags;
  request.stall_timeout = std::chrono::seconds(config_.stall_timeout_s);
  for (const CredentialRecord& c : job.credentials) {
    request.credentials.push_back({c.target, c.scheme, c.user_name, c.password, c.ccache});
  }
  request.proxy.settings = job.info.proxy;
  request.proxy.owner_environment = job.owner_environment;
  request.proxy.system_proxy = config_.system_proxy;
  request.proxy.system_bypass = config_.system_proxy_bypass;
  request.proxy.resolver = config_.proxy_resolver;
  request.proxy.resolver_user = config_.proxy_resolver_user;
  request.tls_ca_file = config_.tls_ca_file;
  if (job.info.client_certificate) {
    const ClientCertificate& cert = *job.info.client_certificate;
    auto dir = cert_store_directory(config_.cert_stores, cert.location, cert.store_name,
                                    job.info.owner_uid);
    if (dir.ok()) request.client_certificate = ClientCertificateRef{*dir, cert};
  }
  return request;
}

void JobManager::start_job(JobRecord& job) {
  if (job.info.type != JobType::kDownload) {
    if (!start_upload_phase(job)) {
      set_state(job, JobState::kTransferred);
      (void)persist(job);
    }
    return;
  }
  auto index = job.next_pending_file();
  if (!index) {
    set_state(job, JobState::kTransferred);
    (void)persist(job);
    return;
  }
  FileRecord& file = job.files[*index];
  DownloadRequest request{request_for(job)};
  request.file_index = *index;
  request.remote_name = file.info.remote_name;
  request.temp_name = file.info.temporary_name;
  request.durable_offset = file.info.progress.bytes_transferred;
  request.validators.size = file.info.progress.bytes_total;
  request.validators.etag = file.etag;
  request.validators.last_modified = file.last_modified;
  request.ranges = file.info.ranges;
  if (!request.ranges.empty()) {
    // The recorded total is the sum of the ranges, not the remote size: only ETag and
    // Last-Modified can tell a changed remote file here.
    request.validators.size = kSizeUnknown;
  }
  request.dynamic_content = job.info.dynamic_content;
  request.http_method = job.info.http_method;
  request.restart_if_no_range_support = job.info.priority == JobPriority::kForeground;
  request.checkpoint_bytes = config_.checkpoint_bytes;
  request.checkpoint_interval = std::chrono::milliseconds(config_.checkpoint_interval_ms);
  if (job.info.state != JobState::kTransferring) set_state(job, JobState::kConnecting);
  if (job.timers.active_since_ms == 0) job.timers.active_since_ms = clock_.monotonic_ms();
  if (job.timers.slice_started_ms == 0) job.timers.slice_started_ms = clock_.monotonic_ms();
  std::uint64_t token = backend_ ? backend_->start(std::move(request)) : 0;
  job.timers.transfer_token = token;
  job.timers.transfer_file = *index;
  if (token != 0) tokens_[token] = job.info.id;
  (void)persist(job);
}

void JobManager::enter_error(JobRecord& job, const ErrorInfo& error, bool transient,
                             std::uint32_t retry_after_s) {
  // bits-spec §1.2 GetErrorCount: every transition of a running transfer to ERROR or
  // TRANSIENT_ERROR (a failed retry is one too), except a lost network.
  if (job.is_active() && error.code != hr::BG_E_NETWORK_DISCONNECTED) ++job.info.error_count;
  stop_transfer(job);
  job.info.error = error;
  job.error_reason = std::exchange(job.pending_error_reason, {});
  std::int64_t now = clock_.monotonic_ms();
  // A job with a custom HTTP verb never retries by itself (bits-spec §1.4).
  bool custom_verb = job.info.http_method != "GET";
  bool retry = transient && !custom_verb && job.info.no_progress_timeout != 0 &&
               job.info.minimum_retry_delay <= job.info.no_progress_timeout;
  if (retry) {
    if (job.timers.no_progress_since_ms == 0) job.timers.no_progress_since_ms = now;
    // The server's Retry-After can only lengthen the delay.
    std::int64_t delay_s = std::max<std::int64_t>(job.info.minimum_retry_delay, retry_after_s);
    job.timers.retry_at_ms = now + delay_s * 1000;
    job.timers.retry_at_wall_ms = clock_.wall_ms() + delay_s * 1000;
    job.timers.server_retry_at_ms = now + std::int64_t{retry_after_s} * 1000;
    if (error.code == hr::BG_E_NETWORK_DISCONNECTED && network_events_) {
      // bits-spec §2.5: not retried by the timer; the network coming back re-queues it.
      job.timers.retry_at_ms = std::numeric_limits<std::int64_t>::max();
    }
    set_state(job, JobState::kTransientError);
  } else {
    set_state(job, JobState::kError);
  }
  job.timers.slice_started_ms = 0;
  spdlog::warn("job {} {}: {} ({}){}", to_string(job.info.id), retry ? "transient error" : "error",
               hresult_hex(error.code), describe_hresult(error.code),
               error.file_index ? " file " + std::to_string(*error.file_index) : "");
  (void)persist(job);
}

bool JobManager::over_download_size(JobRecord& job) {
  if (job.info.max_download_size == kSizeUnknown) return false;
  std::uint64_t bytes = 0;
  for (const FileRecord& file : job.files) {
    std::uint64_t known = file.info.progress.bytes_total;
    bytes += known == kSizeUnknown ? file.info.progress.bytes_transferred : known;
  }
  if (bytes <= job.info.max_download_size) return false;
  ErrorInfo error;
  error.code = hr::BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED;
  error.context = ErrorContext::kRemoteFile;
  error.file_index = job.timers.transfer_file;
  enter_error(job, error, false);
  return true;
}

void JobManager::finish_file(JobRecord& job, std::uint32_t index) {
  FileRecord& file = job.files[index];
  file.transferred = true;
  file.info.progress.completed = true;
  if (file.info.progress.bytes_total == kSizeUnknown) {
    file.info.progress.bytes_total = file.info.progress.bytes_transferred;
  }
  emit(job, JobEvent::Kind::kFileTransferred, index);
  mark_active(job);
  tokens_.erase(job.timers.transfer_token);
  job.timers.transfer_token = 0;
  if (job.next_pending_file()) {
    start_job(job);
    return;
  }
  account_download_time(job);
  job.timers.slice_started_ms = 0;
  set_state(job, JobState::kTransferred);
  spdlog::info("job {} transferred", to_string(job.info.id));
  (void)persist(job);
}

std::int64_t JobManager::next_retry_time(const JobRecord& job) const {
  if (job.info.state != JobState::kTransientError ||
      job.timers.retry_at_ms == std::numeric_limits<std::int64_t>::max()) {
    return 0;  // not waiting, or waiting for the network rather than a timer
  }
  return job.timers.retry_at_wall_ms;
}

void JobManager::apply_timers(JobRecord& job) {
  std::int64_t now = clock_.monotonic_ms();
  if (job.info.state == JobState::kTransientError) {
    std::int64_t limit = std::int64_t{job.info.no_progress_timeout} * 1000;
    if (now - job.timers.no_progress_since_ms >= limit) {
      set_state(job, JobState::kError);
      spdlog::warn("job {}: no progress for {} s, giving up", to_string(job.info.id),
                   job.info.no_progress_timeout);
      (void)persist(job);
    } else if (now >= job.timers.retry_at_ms) {
      set_state(job, JobState::kQueued);
      queue_order_[job.info.id] = next_queue_order_++;
    }
  }
  if (job.is_active()) {
    std::int64_t used = job.download_time_ms + (now - job.timers.active_since_ms);
    if (used > std::int64_t{job.info.maximum_download_time} * 1000) {
      ErrorInfo error;
      error.code = hr::BG_E_MAXDOWNLOAD_TIMEOUT;
      error.context = ErrorContext::kGeneralQueueManager;
      enter_error(job, error, false);
    }
  }
  std::int64_t idle_ms = clock_.wall_ms() - job.last_activity_ms;
  if (!job.is_final() && idle_ms >= config_.job_inactivity_timeout_s * 1000) cancel_inactive(job);
}

void JobManager::cancel_inactive(JobRecord& job) {
  spdlog::warn("job {} cancelled after being inactive for more than {} days ({} s)",
               to_string(job.info.id), config_.job_inactivity_timeout_s / 86400,
               config_.job_inactivity_timeout_s);
  // As Cancel (bits-spec §3.3): every temp file deleted, an upload's session cancelled.
  stop_transfer(job);
  (void)delete_temp_files(job, false);
  if (job.info.type != JobType::kDownload) cancel_upload(job);
  set_state(job, JobState::kCancelled);
  (void)persist(job);
}

void JobManager::schedule() {
  if (!backend_) return;
  std::vector<JobRecord*> queued;
  std::vector<JobRecord*> running_background;
  for (auto& [id, job] : jobs_) {
    bool foreground = job->info.priority == JobPriority::kForeground;
    if (job->info.state == JobState::kQueued) {
      if (foreground) {
        start_job(*job);
      } else {
        queued.push_back(job.get());
      }
    } else if (job->is_active() && !foreground) {
      running_background.push_back(job.get());
    }
  }
  auto before = [this](const JobRecord* a, const JobRecord* b) {
    if (a->info.priority != b->info.priority) return a->info.priority < b->info.priority;
    return queue_order_[a->info.id] < queue_order_[b->info.id];
  };
  std::sort(queued.begin(), queued.end(), before);
  std::sort(running_background.begin(), running_background.end(), before);
  std::int64_t now = clock_.monotonic_ms();
  for (JobRecord* candidate : queued) {
    if (running_background.size() < config_.max_background_jobs) {
      start_job(*candidate);
      running_background.push_back(candidate);
      continue;
    }
    JobRecord* victim = running_background.back();
    bool higher = candidate->info.priority < victim->info.priority;
    bool slice_over = candidate->info.priority == victim->info.priority &&
                      now - victim->timers.slice_started_ms >= config_.time_slice_ms;
    if (!higher && !slice_over) break;
    stop_transfer(*victim);
    victim->timers.slice_started_ms = 0;
    set_state(*victim, JobState::kQueued);
    queue_order_[victim->info.id] = next_queue_order_++;
    (void)persist(*victim);
    running_background.pop_back();
    start_job(*candidate);
    running_background.push_back(candidate);
    std::sort(running_background.begin(), running_background.end(), before);
  }
}

void JobManager::forget_final_jobs() {
  std::int64_t now = clock_.monotonic_ms();
  for (auto it = finished_at_.begin(); it != finished_at_.end();) {
    if (now - it->second >= config_.finished_job_retention_ms) {
      jobs_.erase(it->first);
      queue_order_.erase(it->first);
      it = finished_at_.erase(it);
    } else {
      ++it;
    }
  }
}

void JobManager::tick() {
  std::lock_guard lock(mutex_);
  for (auto& [id, job] : jobs_) {
    if (!job->is_final()) apply_timers(*job);
  }
  schedule();
  forget_final_jobs();
}

void JobManager::stop_all() {
  std::lock_guard lock(mutex_);
  for (auto& [id, job] : jobs_) {
    if (job->timers.transfer_token != 0) {
      stop_transfer(*job);
      (void)store_.save_job(*job);
    }
  }
}

void JobManager::on_connected(std::uint64_t token) {
  std::lock_guard lock(mutex_);
  JobRecord* job = by_token(token);
  if (!job || job->info.state != JobState::kConnecting) return;
  set_state(*job, JobState::kTransferring);
  (void)persist(*job);
}

void JobManager::on_validators(std::uint64_t token, const RemoteValidators& validators,
                               bool restarted) {
  std::lock_guard lock(mutex_);
  JobRecord* job = by_token(token);
  if (!job) return;
  if (job->info.type != JobType::kDownload) {
    upload_validators(*job, validators, restarted);
    return;
  }
  FileRecord& file = job->files[job->timers.transfer_file];
  file.info.progress.bytes_total = validators.size;
  file.etag = validators.etag;
  file.last_modified = validators.last_modified;
  if (restarted) {
    file.info.progress.bytes_transferred = 0;
    spdlog::info("job {} file {}: the remote file changed, starting it again",
                 to_string(job->info.id), file.info.index);
  }
  touch(*job);
  (void)persist_progress(*job, file.info.index);
  (void)over_download_size(*job);
}

void JobManager::on_remote_name(std::uint64_t token, const std::string& url) {
  std::lock_guard lock(mutex_);
  JobRecord* job = by_token(token);
  // Redirect reports concern download files only (a reply's URL is the server's to name).
  if (!job || job->info.type != JobType::kDownload) return;
  FileRecord& file = job->files[job->timers.transfer_file];
  if (file.info.remote_name == url) return;
  spdlog::info("job {}: file {} was redirected to {}", to_string(job->info.id),
               job->timers.transfer_file, url);
  file.info.remote_name = url;
  touch(*job);
  (void)persist(*job);
}

void JobManager::on_progress(std::uint64_t token, std::uint64_t durable_bytes) {
  std::lock_guard lock(mutex_);
  JobRecord* job = by_token(token);
  if (!job) return;
  if (job->info.type != JobType::kDownload) {
    upload_progress(*job, durable_bytes);
    return;
  }
  FileRecord& file = job->files[job->timers.transfer_file];
  bool progress = durable_bytes > file.info.progress.bytes_transferred;
  if (progress) job->timers.no_progress_since_ms = 0;
  file.info.progress.bytes_transferred = durable_bytes;
  if (job->info.state == JobState::kConnecting) set_state(*job, JobState::kTransferring);
  if (progress) {
    mark_active(*job);
  } else {
    touch(*job);
  }
  (void)persist_progress(*job, file.info.index);
  (void)over_download_size(*job);
}

void JobManager::on_complete(std::uint64_t token, std::uint64_t total_bytes,
                             std::int64_t last_modified_ms) {
  std::lock_guard lock(mutex_);
  JobRecord* job = by_token(token);
  if (!job) return;
  if (job->info.type != JobType::kDownload) {
    upload_complete(*job, total_bytes);
    schedule();
    return;
  }
  FileRecord& file = job->files[job->timers.transfer_file];
  file.info.progress.bytes_transferred = total_bytes;
  file.info.progress.bytes_total = total_bytes;
  file.remote_mtime_ms = last_modified_ms;
  job->timers.no_progress_since_ms = 0;
  if (Status acl = apply_acl_flags(*job, file); !acl.ok()) {
    // BITS: missing privileges for the ACL flags leave the job in TRANSIENT_ERROR.
    spdlog::warn("job {} file {}: {}", to_string(job->info.id), file.info.index, acl.message());
    ErrorInfo error;
    error.code = acl.code();
    error.context = ErrorContext::kLocalFile;
    error.file_index = file.info.index;
    enter_error(*job, error, true);
    return;
  }
  finish_file(*job, file.info.index);
  schedule();
}

void JobManager::on_error(std::uint64_t token, HRESULT code, ErrorContext context, bool transient,
                          std::uint32_t retry_after_s, const std::string& detail) {
  std::lock_guard lock(mutex_);
  JobRecord* job = by_token(token);
  if (!job) return;
  ErrorInfo error;
  error.code = code;
  error.context = context;
  error.file_index = job->timers.transfer_file;
  const std::string& remote = job->files[job->timers.transfer_file].info.remote_name;
  auto kind = validate_remote_name(remote, std::numeric_limits<std::size_t>::max());
  error.protocol = kind.ok() && kind->kind == RemoteKind::kFile ? "file" : "http";
  JobRecord::Upload& upload = job->upload;
  if (!upload.host_id.empty() && upload.host_id_fallback_s != kNeverFallBack &&
      context == ErrorContext::kGeneralTransport) {
    // BITS-Host-Id unreachable: after the fallback timeout, start over at the URL's host.
    std::int64_t now = clock_.monotonic_ms();
    if (upload.host_id_failing_since_ms == 0) upload.host_id_failing_since_ms = now;
    if (now - upload.host_id_failing_since_ms >= std::int64_t{upload.host_id_fallback_s} * 1000) {
      spdlog::warn("job {}: host {} unreachable for {} s, uploading to the original host again",
                   to_string(job->info.id), upload.host_id, upload.host_id_fallback_s);
      upload.session_id.clear();
      upload.host_id.clear();
      upload.host_id_failing_since_ms = 0;
      job->files[0].info.progress.bytes_transferred = 0;
    }
  }
  if (!detail.empty()) spdlog::info("job {}: {}", to_string(job->info.id), detail);
  if (retry_after_s != 0) {
    spdlog::info("job {}: the server asks to retry after {} s", to_string(job->info.id),
                 retry_after_s);
  }
  enter_error(*job, error, transient, retry_after_s);
  schedule();
}

void JobManager::on_server_reason(std::uint64_t token, const std::string& reason) {
  std::lock_guard lock(mutex_);
  if (JobRecord* job = by_token(token)) job->pending_error_reason = reason;
}

void JobManager::set_network_events(bool available) {
  std::lock_guard lock(mutex_);
  network_events_ = available;
}

bool JobManager::network_retry_due(JobRecord& job, std::int64_t now) {
  // A job waiting for the network retries at every change: the engine checks the route
  // before it connects, so a retry that cannot work costs no request to the server.
  if (job.info.error && job.info.error->code == hr::BG_E_NETWORK_DISCONNECTED) return true;
  std::int64_t floor_ms =
      std::min<std::int64_t>(job.info.minimum_retry_delay, kMaxNetworkRetryFloorS) * 1000;
  std::optional<std::int64_t>& last = job.timers.network_retry_ms;
  if (last && now - *last < floor_ms) {
    // Too soon after the last one: the change is not lost, the retry waits for the floor.
    job.timers.retry_at_ms = std::min(job.timers.retry_at_ms, *last + floor_ms);
    return false;
  }
  last = now;
  return true;
}

void JobManager::on_network_change(bool connected) {
  std::lock_guard lock(mutex_);
  if (backend_) backend_->network_changed();
  if (!connected) return;
  // bits-spec §2.5: on reconnection *all* TRANSIENT_ERROR jobs go to QUEUED, whatever
  // their error, except that a server's Retry-After is still honoured. A job whose server
  // is still unreachable fails again at once (the engine checks the route before
  // connecting).
  int requeued = 0;
  std::int64_t now = clock_.monotonic_ms();
  for (auto& [id, job] : jobs_) {
    if (job->info.state != JobState::kTransientError) continue;
    if (now < job->timers.server_retry_at_ms) continue;
    if (!network_retry_due(*job, now)) continue;
    set_state(*job, JobState::kQueued);
    queue_order_[id] = next_queue_order_++;
    (void)persist(*job);
    ++requeued;
  }
  if (requeued > 0) spdlog::info("network changed: {} job(s) in TRANSIENT_ERROR queued", requeued);
  schedule();
}

}  // namespace openbits::daemon
