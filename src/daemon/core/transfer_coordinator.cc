// TransferCoordinator: scheduling applied, the download flow, the automatic transitions
// of bits-spec §2.5 and the engine's events. See transfer_coordinator.h.
#include "src/daemon/core/transfer_coordinator.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <utility>
#include <variant>
#include <vector>

#include "openbits/names.h"
#include "src/daemon/core/job_files.h"
#include "src/daemon/core/peer_policy.h"
#include "src/daemon/core/validation.h"
#include "src/daemon/security/fs_credentials.h"

namespace openbits::daemon {

TransferCoordinator::TransferCoordinator(JobTable& table, Clock& clock, const Config& config)
    : table_(table), clock_(clock), config_(config) {}

void TransferCoordinator::account_download_time(JobRecord& job) {
  if (job.timers.active_since_ms != 0) {
    job.download_time_ms += clock_.monotonic_ms() - job.timers.active_since_ms;
    job.timers.active_since_ms = 0;
  }
}

void TransferCoordinator::stop_transfer(JobRecord& job) {
  account_download_time(job);
  job.timers.owner_credentials.reset();
  // Files still syncing are not transferred: they start again from their durable bytes.
  for (const auto& [token, index] : job.timers.syncing_files) {
    table_.release_token(token);
    if (backend_) backend_->stop(token);
  }
  job.timers.syncing_files.clear();
  if (job.timers.transfer_token == 0) return;
  table_.release_token(job.timers.transfer_token);
  if (backend_) backend_->stop(job.timers.transfer_token);
  job.timers.transfer_token = 0;
}

const Credentials& TransferCoordinator::owner_credentials(JobRecord& job) {
  std::optional<CachedCredentials>& cached = job.timers.owner_credentials;
  if (!cached || cached->uid != job.info.owner_uid || cached->fallback_gid != job.owner_gid) {
    cached = CachedCredentials{job.info.owner_uid, job.owner_gid,
                               credentials_for(job.info.owner_uid, job.owner_gid)};
  }
  return cached->credentials;
}

TransferRequest TransferCoordinator::request_for(JobRecord& job) const {
  TransferRequest request;
  request.job_id = job.info.id;
  request.owner = owner_credentials(job);
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

std::uint32_t TransferCoordinator::peer_roles(const JobRecord& job) const {
  std::uint32_t machine = machine_peer_flags_ ? machine_peer_flags_() : 0;
  return job.info.peer_caching_flags & machine & 0x3;
}

void TransferCoordinator::start_job(JobRecord& job) {
  if (job.info.type != JobType::kDownload) {
    if (!start_upload_phase(job)) {
      table_.set_state(job, JobState::kTransferred);
      table_.save(job, "nothing left to upload");
    }
    return;
  }
  auto index = next_file_to_start(job);
  if (!index) {
    if (!job.timers.syncing_files.empty()) return;  // TRANSFERRED when the last sync ends
    table_.set_state(job, JobState::kTransferred);
    table_.save(job, "nothing left to download");
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
  std::uint32_t roles = plain_origin_download(job, file) ? peer_roles(job) : 0;
  // From peers too, unless its content from peers failed validation. The body's SHA-256
  // for the peer cache (server role) and for the origin's digest (bytes from peers).
  request.from_peers = (roles & 0x1) != 0 && !file.origin_only;
  request.hash_body = (roles & 0x2) != 0 || request.from_peers;
  file.received_sha256.clear();
  launch(job, std::move(request), *index);
}

void TransferCoordinator::launch(JobRecord& job, AnyRequest request, std::uint32_t file_index) {
  JobState before = job.info.state;
  if (job.info.state != JobState::kTransferring) table_.set_state(job, JobState::kConnecting);
  if (job.timers.active_since_ms == 0) job.timers.active_since_ms = clock_.monotonic_ms();
  if (job.timers.slice_started_ms == 0) job.timers.slice_started_ms = clock_.monotonic_ms();
  auto start = [this](auto& r) { return backend_->start(std::move(r)); };
  std::uint64_t token = backend_ ? std::visit(start, request) : 0;
  job.timers.transfer_token = token;
  job.timers.transfer_file = file_index;
  table_.bind_token(job, token);
  // Every background transfer runs in its priority's pool, limited or not, so a limit
  // set later applies to it at once.
  if (token != 0 && job.info.priority != JobPriority::kForeground) {
    backend_->join_rate_pool(token, rate_pool(job.info.priority));
  }
  // A download's file rows are saved as they change (save_progress); rewriting all of
  // them at every file's start made a job of n files cost n^2 row writes. The next file of
  // a TRANSFERRING job changes nothing in the job row: it is written when the state changes.
  if (job.info.type == JobType::kDownload) {
    if (job.info.state != before) (void)table_.persist_job_row(job, "the transfer started");
  } else {
    table_.save(job, "the transfer started");
  }
}

void TransferCoordinator::enter_error(JobRecord& job, const ErrorInfo& error, bool transient,
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
    table_.set_state(job, JobState::kTransientError);
  } else {
    table_.set_state(job, JobState::kError);
  }
  job.timers.slice_started_ms = 0;
  spdlog::warn("job {} {}: {} ({}){}", to_string(job.info.id), retry ? "transient error" : "error",
               hresult_hex(error.code), describe_hresult(error.code),
               error.file_index ? " file " + std::to_string(*error.file_index) : "");
  table_.save(job, "the error");
}

bool TransferCoordinator::over_download_size(JobRecord& job) {
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

std::optional<std::uint32_t> TransferCoordinator::next_file_to_start(JobRecord& job) {
  std::uint32_t& first = job.timers.first_pending_file;
  while (first < job.files.size() && job.files[first].transferred) ++first;
  // The files still syncing, in index order: one pass over them, not one per candidate
  // (with k files syncing, that was k^2 map steps per file).
  std::vector<std::uint32_t> syncing;
  syncing.reserve(job.timers.syncing_files.size());
  for (const auto& entry : job.timers.syncing_files) syncing.push_back(entry.second);
  std::sort(syncing.begin(), syncing.end());
  for (std::uint32_t i = first; i < job.files.size(); ++i) {
    if (job.files[i].transferred) continue;
    if (!std::binary_search(syncing.begin(), syncing.end(), i)) return i;
  }
  return std::nullopt;
}

void TransferCoordinator::finish_file(JobRecord& job, std::uint32_t index, std::uint64_t token) {
  FileRecord& file = job.files[index];
  file.transferred = true;
  file.info.progress.completed = true;
  if (file.info.progress.bytes_total == kSizeUnknown) {
    file.info.progress.bytes_total = file.info.progress.bytes_transferred;
  }
  // Committed before any listener hears of it (a file reported transferred stays so).
  table_.save_progress(job, index);
  table_.mark_active(job);
  table_.emit(job, JobEvent::Kind::kFileTransferred, index);
  table_.release_token(token);
  if (job.timers.syncing_files.erase(token) == 0) job.timers.transfer_token = 0;
  if (job.timers.transfer_token != 0) return;  // the next file is on its way
  if (next_file_to_start(job)) {
    start_job(job);
    return;
  }
  if (job.timers.syncing_files.empty()) enter_transferred(job);
}

void TransferCoordinator::enter_transferred(JobRecord& job) {
  account_download_time(job);
  job.timers.owner_credentials.reset();
  job.timers.slice_started_ms = 0;
  table_.set_state(job, JobState::kTransferred);
  spdlog::info("job {} transferred", to_string(job.info.id));
  table_.save(job, "TRANSFERRED");
}

void TransferCoordinator::apply_retry_timers(JobRecord& job, std::int64_t now) {
  // Blocked by the bandwidth policy: neither retried nor timed out; schedule() queues it
  // when the limit is lifted.
  if (job.info.error && job.info.error->code == hr::BG_E_BLOCKED_BY_POLICY) return;
  std::int64_t limit = std::int64_t{job.info.no_progress_timeout} * 1000;
  if (now - job.timers.no_progress_since_ms >= limit) {
    table_.set_state(job, JobState::kError);
    spdlog::warn("job {}: no progress for {} s, giving up", to_string(job.info.id),
                 job.info.no_progress_timeout);
    table_.save(job, "ERROR after the no-progress timeout");
  } else if (now >= job.timers.retry_at_ms) {
    table_.set_state(job, JobState::kQueued);
    table_.enqueue(job.info.id);
  }
}

void TransferCoordinator::apply_timers(JobRecord& job) {
  std::int64_t now = clock_.monotonic_ms();
  if (job.info.state == JobState::kTransientError) apply_retry_timers(job, now);
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

void TransferCoordinator::cancel_inactive(JobRecord& job) {
  spdlog::warn("job {} cancelled after being inactive for more than {} days ({} s)",
               to_string(job.info.id), config_.job_inactivity_timeout_s / 86400,
               config_.job_inactivity_timeout_s);
  // As Cancel (bits-spec §3.3): every temp file deleted, an upload's session cancelled.
  stop_transfer(job);
  (void)delete_temp_files(job, false);
  if (job.info.type != JobType::kDownload) cancel_upload(job);
  table_.set_state(job, JobState::kCancelled);
  table_.save(job, "CANCELLED after inactivity");
}

std::vector<ScheduleEntry> TransferCoordinator::schedule_entries() const {
  std::vector<ScheduleEntry> entries;
  for (const auto& [id, job] : table_.timed()) {
    bool queued = job->info.state == JobState::kQueued;
    bool blocked = job->info.state == JobState::kTransientError && job->info.error &&
                   job->info.error->code == hr::BG_E_BLOCKED_BY_POLICY;
    if (!queued && !blocked && !job->is_active()) continue;
    entries.push_back({id, job->info.priority, queued, job->is_active(), table_.queue_order(id),
                       job->timers.slice_started_ms, blocked});
  }
  return entries;
}

void TransferCoordinator::preempt(JobRecord& job) {
  stop_transfer(job);
  job.timers.slice_started_ms = 0;
  table_.set_state(job, JobState::kQueued);
  table_.enqueue(job.info.id);
  table_.save(job, "QUEUED after its time slice");
}

void TransferCoordinator::apply_pool_rates(const std::vector<RateBudget>& pools) {
  if (pools == applied_pools_) return;
  for (const RateBudget& pool : pools)
    backend_->set_pool_rate(pool.pool, pool.bytes_per_second.value_or(0));
  applied_pools_ = pools;
}

void TransferCoordinator::block_by_policy(JobRecord& job) {
  stop_transfer(job);
  ErrorInfo error;
  error.code = hr::BG_E_BLOCKED_BY_POLICY;
  error.context = ErrorContext::kGeneralQueueManager;
  job.info.error = error;
  job.error_reason.clear();
  job.timers.slice_started_ms = 0;
  table_.set_state(job, JobState::kTransientError);
  spdlog::info("job {}: blocked by the bandwidth policy until its limit is lifted",
               to_string(job.info.id));
  table_.save(job, "TRANSIENT_ERROR blocked by policy");
}

void TransferCoordinator::unblock(JobRecord& job) {
  table_.set_state(job, JobState::kQueued);
  table_.enqueue(job.info.id);
  spdlog::info("job {}: the bandwidth policy no longer blocks it", to_string(job.info.id));
  table_.save(job, "QUEUED after the policy block");
}

void TransferCoordinator::schedule() {
  if (!backend_) return;
  SchedulePolicy policy{config_.max_background_jobs, config_.time_slice_ms, &config_.bandwidth,
                        local_week_time(clock_.wall_ms())};
  ScheduleDecision decision = scheduler_.decide(schedule_entries(), clock_.monotonic_ms(), policy);
  apply_pool_rates(decision.pools);
  for (const ScheduleDecision::Step& step : decision.steps) {
    JobRecord& job = *table_.records().at(step.id);
    switch (step.action) {
      case ScheduleDecision::Action::kStart:
        start_job(job);  // launch() puts it in its pool (step.rate)
        break;
      case ScheduleDecision::Action::kStop:
        preempt(job);
        break;
      case ScheduleDecision::Action::kBlock:
        block_by_policy(job);
        break;
      case ScheduleDecision::Action::kUnblock:
        unblock(job);
        break;
    }
  }
}

std::vector<JobRecord*> TransferCoordinator::jobs_with_timers() const {
  std::int64_t idle_before = clock_.wall_ms() - config_.job_inactivity_timeout_s * 1000;
  std::vector<JobRecord*> idle = table_.idle_since(idle_before);
  std::vector<JobRecord*> due;  // timed() then idle, merged in id order
  due.reserve(table_.timed().size() + idle.size());
  for (const auto& [id, job] : table_.timed()) due.push_back(job);
  auto by_id = [](const JobRecord* a, const JobRecord* b) { return a->info.id < b->info.id; };
  auto middle = due.insert(due.end(), idle.begin(), idle.end());
  std::inplace_merge(due.begin(), middle, due.end(), by_id);
  due.erase(std::unique(due.begin(), due.end()), due.end());  // timed and idle: once
  return due;
}

void TransferCoordinator::tick() {
  for (JobRecord* job : jobs_with_timers()) apply_timers(*job);
  schedule();
  table_.forget_final_jobs(config_.finished_job_retention_ms);
}

void TransferCoordinator::stop_all() {
  for (auto& [id, job] : table_.records()) {
    if (job->timers.transfer_token != 0) {
      stop_transfer(*job);
      table_.save(*job, "at shutdown");
    }
  }
}

bool TransferCoordinator::restart_transfer(JobRecord& job) {
  if (!job.is_active()) return false;
  stop_transfer(job);
  table_.set_state(job, JobState::kQueued);
  return true;
}

void TransferCoordinator::priority_changed(JobRecord& job) {
  if (backend_ && job.timers.transfer_token != 0) {
    backend_->join_rate_pool(job.timers.transfer_token, rate_pool(job.info.priority));
  }
}

void TransferCoordinator::on_connected(std::uint64_t token) {
  JobRecord* job = table_.by_token(token);
  if (!job || job->info.state != JobState::kConnecting) return;
  table_.set_state(*job, JobState::kTransferring);
  table_.save(*job, "TRANSFERRING");
}

void TransferCoordinator::on_validators(std::uint64_t token, const RemoteValidators& validators,
                                        bool restarted) {
  JobRecord* job = table_.by_token(token);
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
    file.set_bytes_transferred(0);
    spdlog::info("job {} file {}: the remote file changed, starting it again",
                 to_string(job->info.id), file.info.index);
  }
  table_.touch(*job);
  // A restart lowers the durable count: committed now, before the engine cuts the temp
  // file. Otherwise no durable byte depends on them yet: the file's next progress or
  // completion commit (save_progress writes the whole row) carries them.
  if (restarted) table_.save_progress(*job, file.info.index);
  (void)over_download_size(*job);
}

void TransferCoordinator::on_remote_name(std::uint64_t token, const std::string& url) {
  JobRecord* job = table_.by_token(token);
  // Redirect reports concern download files only (a reply's URL is the server's to name).
  if (!job || job->info.type != JobType::kDownload) return;
  FileRecord& file = job->files[job->timers.transfer_file];
  if (file.info.remote_name == url) return;
  spdlog::info("job {}: file {} was redirected to {}", to_string(job->info.id),
               job->timers.transfer_file, url);
  file.info.remote_name = url;
  table_.touch(*job);
  table_.save(*job, "the redirected remote name");
}

void TransferCoordinator::on_body_sha256(std::uint64_t token, const std::string& sha256) {
  JobRecord* job = table_.by_token(token);
  if (!job || job->info.type != JobType::kDownload || job->timers.transfer_token != token) return;
  job->files[job->timers.transfer_file].received_sha256 = sha256;
}

void TransferCoordinator::on_peer_bytes(std::uint64_t token, std::uint64_t bytes) {
  JobRecord* job = table_.by_token(token);
  if (!job || job->info.type != JobType::kDownload || job->timers.transfer_token != token) return;
  FileInfo& info = job->files[job->timers.transfer_file].info;
  info.bytes_from_peers += bytes;  // committed with the on_progress that follows
  info.downloaded_from_peer = true;
}

void TransferCoordinator::on_progress(std::uint64_t token, std::uint64_t durable_bytes) {
  JobRecord* job = table_.by_token(token);
  if (!job) return;
  if (job->info.type != JobType::kDownload) {
    upload_progress(*job, durable_bytes);
    return;
  }
  FileRecord& file = job->files[job->timers.transfer_file];
  bool progress = durable_bytes > file.info.progress.bytes_transferred;
  if (progress) job->timers.no_progress_since_ms = 0;
  file.set_bytes_transferred(durable_bytes);
  if (job->info.state == JobState::kConnecting) table_.set_state(*job, JobState::kTransferring);
  if (progress) {
    table_.mark_active(*job);
  } else {
    table_.touch(*job);
  }
  table_.save_progress(*job, file.info.index);
  (void)over_download_size(*job);
}

void TransferCoordinator::on_written(std::uint64_t token) {
  JobRecord* job = table_.by_token(token);
  if (!job || job->info.type != JobType::kDownload || job->timers.transfer_token != token) return;
  // The next file starts while this one's fdatasync runs; it counts once durable.
  job->timers.syncing_files[token] = job->timers.transfer_file;
  job->timers.transfer_token = 0;
  start_job(*job);
}

void TransferCoordinator::on_complete(std::uint64_t token, std::uint64_t total_bytes,
                                      std::int64_t last_modified_ms) {
  JobRecord* job = table_.by_token(token);
  if (!job) return;
  if (job->info.type != JobType::kDownload) {
    upload_complete(*job, total_bytes);
    schedule();
    return;
  }
  auto syncing = job->timers.syncing_files.find(token);
  std::uint32_t index =
      syncing == job->timers.syncing_files.end() ? job->timers.transfer_file : syncing->second;
  FileRecord& file = job->files[index];
  file.set_bytes_transferred(total_bytes);
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
  finish_file(*job, file.info.index, token);
  schedule();
}

ErrorInfo TransferCoordinator::transfer_error(const JobRecord& job, HRESULT code,
                                              ErrorContext context) const {
  ErrorInfo error;
  error.code = code;
  error.context = context;
  error.file_index = job.timers.transfer_file;
  const std::string& remote = job.files[job.timers.transfer_file].info.remote_name;
  auto kind = validate_remote_name(remote, std::numeric_limits<std::size_t>::max());
  error.protocol = kind.ok() && kind->kind == RemoteKind::kFile ? "file" : "http";
  return error;
}

void TransferCoordinator::fall_back_to_original_host(JobRecord& job, ErrorContext context) {
  JobRecord::Upload& upload = job.upload;
  if (upload.host_id.empty() || upload.host_id_fallback_s == kNeverFallBack ||
      context != ErrorContext::kGeneralTransport) {
    return;
  }
  std::int64_t now = clock_.monotonic_ms();
  if (upload.host_id_failing_since_ms == 0) upload.host_id_failing_since_ms = now;
  if (now - upload.host_id_failing_since_ms < std::int64_t{upload.host_id_fallback_s} * 1000) {
    return;
  }
  spdlog::warn("job {}: host {} unreachable for {} s, uploading to the original host again",
               to_string(job.info.id), upload.host_id, upload.host_id_fallback_s);
  upload.session_id.clear();
  upload.host_id.clear();
  upload.host_id_failing_since_ms = 0;
  job.files[0].info.progress.bytes_transferred = 0;
}

void TransferCoordinator::on_error(std::uint64_t token, HRESULT code, ErrorContext context,
                                   bool transient, std::uint32_t retry_after_s,
                                   const std::string& detail) {
  JobRecord* job = table_.by_token(token);
  if (!job) return;
  // A file whose sync failed: the error is that file's (the running one stops with it).
  auto syncing = job->timers.syncing_files.find(token);
  if (syncing != job->timers.syncing_files.end()) job->timers.transfer_file = syncing->second;
  ErrorInfo error = transfer_error(*job, code, context);
  fall_back_to_original_host(*job, context);
  if (!detail.empty()) spdlog::info("job {}: {}", to_string(job->info.id), detail);
  if (retry_after_s != 0) {
    spdlog::info("job {}: the server asks to retry after {} s", to_string(job->info.id),
                 retry_after_s);
  }
  enter_error(*job, error, transient, retry_after_s);
  schedule();
}

void TransferCoordinator::on_server_reason(std::uint64_t token, const std::string& reason) {
  if (JobRecord* job = table_.by_token(token)) job->pending_error_reason = reason;
}

bool TransferCoordinator::network_retry_due(JobRecord& job, std::int64_t now) {
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

void TransferCoordinator::on_network_change(bool connected) {
  if (backend_) backend_->network_changed();
  if (!connected) return;
  // bits-spec §2.5: on reconnection *all* TRANSIENT_ERROR jobs go to QUEUED, whatever
  // their error, except that a server's Retry-After is still honoured. A job whose server
  // is still unreachable fails again at once (the engine checks the route before
  // connecting).
  int requeued = 0;
  std::int64_t now = clock_.monotonic_ms();
  std::vector<JobRecord*> waiting;  // set_state() below changes the index
  for (const auto& [id, job] : table_.timed()) {
    if (job->info.state == JobState::kTransientError) waiting.push_back(job);
  }
  for (JobRecord* job : waiting) {
    const Guid& id = job->info.id;
    if (now < job->timers.server_retry_at_ms) continue;
    if (!network_retry_due(*job, now)) continue;
    table_.set_state(*job, JobState::kQueued);
    table_.enqueue(id);
    table_.save(*job, "QUEUED after a network change");
    ++requeued;
  }
  if (requeued > 0) spdlog::info("network changed: {} job(s) in TRANSIENT_ERROR queued", requeued);
  schedule();
}

}  // namespace openbits::daemon
