// JobManager: the methods callers invoke, each checked and persisted before it answers;
// see job_manager.h. Property setters live in job_properties.cc, credentials in
// job_credentials.cc, bitsadmin /util in job_manager_util.cc, EnumJobs in
// job_manager_enum.cc.
#include "src/daemon/core/job_manager.h"

#include <pwd.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "openbits/names.h"
#include "src/common/ids.h"
#include "src/common/utf8.h"
#include "src/daemon/core/job_credentials.h"
#include "src/daemon/core/validation.h"
#include "src/daemon/security/fs_credentials.h"

namespace openbits::daemon {
namespace {

std::string user_name(uid_t uid) {
  struct passwd pw {};
  struct passwd* found = nullptr;
  std::vector<char> buffer(16384);
  if (getpwuid_r(uid, &pw, buffer.data(), buffer.size(), &found) == 0 && found) {
    return pw.pw_name;
  }
  return std::to_string(uid);
}

}  // namespace

const std::string& JobManager::owner_name(uid_t uid) {
  auto [entry, added] = user_names_.try_emplace(uid);
  std::int64_t now = clock_.monotonic_ms();
  if (added || now - entry->second.first >= kUserNameTtlMs) {
    entry->second = {now, user_name(uid)};
  }
  return entry->second.second;
}

JobManager::JobManager(Store& store, Clock& clock, Config config, std::string state_dir)
    : store_(store),
      clock_(clock),
      config_(std::move(config)),
      table_(store_, clock_),
      coordinator_(table_, clock_, config_),
      peer_cache_(store_, clock_,
                  state_dir.empty() ? std::filesystem::path(store_.path()).parent_path().string()
                                    : std::move(state_dir),
                  config_.peer_caching_flags) {
  coordinator_.set_machine_peer_flags(
      [this] { return peer_cache_ready_ ? peer_cache_.configuration_flags() : 0u; });
}

void JobManager::set_backend(TransferBackend* backend) {
  std::lock_guard lock(mutex_);
  coordinator_.set_backend(backend);
}

void JobManager::set_listener(JobListener* listener) {
  std::lock_guard lock(mutex_);
  table_.set_listener(listener);
}

Status JobManager::load() {
  std::lock_guard lock(mutex_);
  auto loaded = store_.load_jobs();
  if (!loaded.ok()) return loaded.status();
  for (JobRecord& job : *loaded) {
    job.info.owner_name = owner_name(job.info.owner_uid);  // one passwd lookup per owner
    if (job.is_active()) job.info.state = JobState::kQueued;
    if (job.info.state == JobState::kTransientError) {
      job.timers.retry_at_ms = clock_.monotonic_ms();  // retry soon after a restart
      job.timers.retry_at_wall_ms = clock_.wall_ms();
      job.timers.no_progress_since_ms = clock_.monotonic_ms();
    }
    job.creation_order = table_.next_creation_order();
    table_.insert(std::make_unique<JobRecord>(std::move(job)));
  }
  spdlog::info("loaded {} job(s) from the store", table_.records().size());
  for (const auto& [id, job] : table_.records()) table_.emit(*job);
  load_peer_cache();
  return Status();
}

Result<Guid> JobManager::create_job(const Caller& caller, const std::string& display_name,
                                    JobType type) {
  std::lock_guard lock(mutex_);
  if (utf8_length(display_name) > config_.max_display_name) {
    return Status(hr::BG_E_STRING_TOO_LONG);
  }
  if (Status s = validate_job_text(display_name, "display name"); !s.ok()) return s;
  if (!caller.admin) {
    if (table_.live_jobs(caller.uid) >= config_.max_jobs_per_user) {
      return Status(hr::BG_E_TOO_MANY_JOBS_PER_USER);
    }
    if (table_.live_jobs() >= config_.max_jobs_per_machine) {
      return Status(hr::BG_E_TOO_MANY_JOBS_PER_MACHINE);
    }
  }
  auto job = std::make_unique<JobRecord>();
  JobInfo& info = job->info;
  info.id = random_guid();
  info.type = type;
  info.display_name = display_name;
  info.owner_uid = caller.uid;
  info.owner = "S-1-22-1-" + std::to_string(caller.uid);
  info.owner_name = owner_name(caller.uid);
  info.owner_elevated = caller.elevated;
  info.owner_integrity_level = caller.integrity_level;
  job->owner_gid = caller.gid;
  job->owner_umask = caller.umask;
  job->owner_environment = read_owner_environment(caller.pid, caller.uid);
  info.times.creation_time = clock_.wall_ms();
  job->creation_order = table_.next_creation_order();
  mark_active(*job);
  if (Status s = persist(*job); !s.ok()) return s;
  Guid id = info.id;
  spdlog::info("job {} '{}' created by uid {} ({})", to_string(id), display_name, caller.uid,
               to_string(type));
  table_.insert(std::move(job));
  return id;
}

Result<JobInfo> JobManager::get_job(const Caller& caller, const Guid& id) {
  std::lock_guard lock(mutex_);
  auto job = find(caller, id, Access::kRead);
  if (!job.ok()) return job.status();
  if ((*job)->is_final()) return Status(hr::BG_E_NOT_FOUND);
  return table_.snapshot(**job);
}

Result<JobInfo> JobManager::job_info(const Caller& caller, const Guid& id) {
  std::lock_guard lock(mutex_);
  auto job = find(caller, id, Access::kRead);
  if (!job.ok()) return job.status();
  return table_.snapshot(**job);
}

Result<ErrorInfo> JobManager::get_error(const Caller& caller, const Guid& id) {
  std::lock_guard lock(mutex_);
  auto job = find(caller, id, Access::kRead);
  if (!job.ok()) return job.status();
  JobInfo info = table_.snapshot(**job);
  if (!info.error) return Status(hr::BG_E_ERROR_INFORMATION_UNAVAILABLE);
  return *info.error;
}

Status JobManager::check_range_total(const Caller& caller, const JobRecord& job,
                                     const std::vector<FileSpec>& files) const {
  if (caller.admin) return Status();
  std::size_t total = 0;
  for (const FileRecord& existing : job.files) total += existing.info.ranges.size();
  for (const FileSpec& spec : files) total += spec.ranges.size();
  if (total <= config_.max_ranges_per_job) return Status();
  return Status(hr::BG_E_TOO_MANY_RANGES_IN_FILE,
                "the job would have " + std::to_string(total) + " byte ranges; at most " +
                    std::to_string(config_.max_ranges_per_job) + " (max_ranges_per_job)");
}

Status JobManager::validate_new_file(const Caller& caller, const JobRecord& job,
                                     const FileSpec& spec, std::set<std::string>& locals) const {
  auto remote = validate_remote_name(spec.remote_name, config_.max_remote_name);
  if (!remote.ok()) return remote.status();
  if (Status s = validate_local_name(spec.local_name, config_.max_local_name); !s.ok()) {
    return s;
  }
  if (!locals.insert(spec.local_name).second) {
    return Status(hr::E_INVALIDARG, "two files of the job have the same local name");
  }
  if (!spec.ranges.empty()) {
    if (job.info.type != JobType::kDownload) return Status(hr::E_NOTIMPL);
    if (remote->kind == RemoteKind::kFile) {
      return Status(hr::E_INVALIDARG, "byte ranges need an http(s) remote name");
    }
    std::size_t limit = caller.admin ? 0 : config_.max_ranges_per_file;
    if (Status s = validate_ranges(spec.ranges, limit); !s.ok()) return s;
  }
  Credentials owner = credentials_for(job.info.owner_uid, job.owner_gid);
  if (job.info.type != JobType::kDownload) return check_upload_source(owner, spec.local_name);
  if (remote->kind == RemoteKind::kFile) {
    if (Status s = check_file_source(owner, remote->path); !s.ok()) return s;
  }
  return check_destination(owner, spec.local_name);
}

Status JobManager::validate_new_files(const Caller& caller, const JobRecord& job,
                                      const std::vector<FileSpec>& files,
                                      std::size_t* failed_file) const {
  if (files.empty()) return Status(hr::E_INVALIDARG, "no files were given");
  if (job.info.type != JobType::kDownload && job.files.size() + files.size() > 1) {
    return Status(hr::BG_E_TOO_MANY_FILES);
  }
  if (!caller.admin && job.files.size() + files.size() > config_.max_files_per_job) {
    return Status(hr::BG_E_TOO_MANY_FILES_IN_JOB);
  }
  if (Status s = check_range_total(caller, job, files); !s.ok()) return s;
  std::set<std::string> locals;
  for (const FileRecord& existing : job.files) locals.insert(existing.info.local_name);
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (Status s = validate_new_file(caller, job, files[i], locals); !s.ok()) {
      if (failed_file) *failed_file = i;
      return s;
    }
  }
  return Status();
}

Status JobManager::add_files(const Caller& caller, const Guid& id,
                             const std::vector<FileSpec>& files, std::size_t* failed_file) {
  std::lock_guard lock(mutex_);
  auto found = find(caller, id, Access::kModify);
  if (!found.ok()) return found.status();
  JobRecord& job = **found;
  if (Status s = validate_new_files(caller, job, files, failed_file); !s.ok()) return s;
  append_files(job, files);
  mark_active(job);
  return persist(job);
}

void JobManager::append_files(JobRecord& job, const std::vector<FileSpec>& files) {
  for (const FileSpec& spec : files) {
    FileRecord file;
    file.info.index = static_cast<std::uint32_t>(job.files.size());
    file.info.remote_name = spec.remote_name;
    file.info.local_name = spec.local_name;
    // HIGH_PERFORMANCE jobs write straight into the destination (no temp file, nothing
    // cleaned up on Cancel), as BITS does.
    file.info.temporary_name =
        job.info.high_performance ? spec.local_name : temp_name_for(spec.local_name);
    file.info.ranges = spec.ranges;
    if (job.info.type != JobType::kDownload) {
      file.info.temporary_name.clear();  // an upload reads the file where it is
      if (job.info.type == JobType::kUploadReply && job.info.reply_file_name.empty()) {
        job.info.reply_file_name = spec.local_name + ".reply";
      }
    }
    job.files.push_back(std::move(file));
  }
}

Status JobManager::resume(const Caller& caller, const Guid& id) {
  std::lock_guard lock(mutex_);
  auto found = find(caller, id, Access::kModify);
  if (!found.ok()) return found.status();
  JobRecord& job = **found;
  if (job.files.empty()) return Status(hr::BG_E_EMPTY);
  job.ever_resumed = true;
  job.download_time_ms = 0;  // Resume resets the MaxDownloadTime clock
  bool files_reset = job.info.http_method != "GET" && (job.info.state == JobState::kError ||
                                                       job.info.state == JobState::kTransientError);
  if (files_reset) {
    for (FileRecord& file : job.files) {  // a custom verb restarts from byte 0
      if (!file.transferred) file.set_bytes_transferred(0);
    }
  }
  requeue(job);
  mark_active(job);
  Status s = files_reset ? persist(job) : persist_job_row(job);
  if (s.ok()) {
    spdlog::info("job {} resumed by uid {} ({})", to_string(id), caller.uid,
                 to_string(job.info.state));
    schedule();
  }
  return s;
}

void JobManager::requeue(JobRecord& job) {
  bool pending = job.next_pending_file().has_value();
  switch (job.info.state) {
    case JobState::kSuspended:
    case JobState::kError:
    case JobState::kTransientError:
    case JobState::kTransferred:
      job.timers = {};
      job.info.error.reset();
      set_state(job, pending ? JobState::kQueued : JobState::kTransferred);
      table_.enqueue(job.info.id);
      break;
    default:
      break;  // already queued or running
  }
}

Status JobManager::suspend(const Caller& caller, const Guid& id) {
  std::lock_guard lock(mutex_);
  auto found = find(caller, id, Access::kModify);
  if (!found.ok()) return found.status();
  JobRecord& job = **found;
  if (job.info.state == JobState::kSuspended) return Status();
  stop_transfer(job);
  set_state(job, JobState::kSuspended);
  mark_active(job);
  spdlog::info("job {} suspended by uid {}", to_string(id), caller.uid);
  Status s = persist_job_row(job);
  schedule();
  return s;
}

Status JobManager::cancel(const Caller& caller, const Guid& id) {
  std::lock_guard lock(mutex_);
  auto found = find(caller, id, Access::kModify);
  if (!found.ok()) return found.status();
  JobRecord& job = **found;
  stop_transfer(job);
  HRESULT deleted = delete_temp_files(job, false);
  if (job.info.type != JobType::kDownload) coordinator_.cancel_upload(job);
  set_state(job, JobState::kCancelled);
  wipe_secrets(job);
  if (Status s = persist(job); !s.ok()) return s;
  spdlog::info("job {} cancelled by uid {}", to_string(id), caller.uid);
  schedule();
  return Status::ok_status(deleted);
}

Status JobManager::complete(const Caller& caller, const Guid& id) {
  std::lock_guard lock(mutex_);
  auto found = find(caller, id, Access::kModify);
  if (!found.ok()) return found.status();
  JobRecord& job = **found;
  if (job.info.type != JobType::kDownload && job.info.state != JobState::kTransferred) {
    return Status(hr::BG_E_INVALID_STATE);
  }
  stop_transfer(job);
  // Opened before delivery renames them (and before the secrets that rule some out go).
  std::vector<CacheCandidate> to_cache = cache_candidates(job);
  Status delivered =
      job.info.type == JobType::kUploadReply ? deliver_reply(job) : deliver_files(job);
  if (!delivered.ok()) return delivery_failed(job, delivered);
  bool all_done = !job.next_pending_file().has_value();
  HRESULT deleted = delete_temp_files(job, true);
  set_state(job, JobState::kAcknowledged);
  wipe_secrets(job);
  if (Status s = persist(job); !s.ok()) return s;
  spdlog::info("job {} completed by uid {}{}", to_string(id), caller.uid,
               all_done ? "" : " (partial)");
  post_cache_adds(std::move(to_cache));  // copied in the background: Complete does not wait
  schedule();
  if (!all_done) return Status::ok_status(hr::BG_S_PARTIAL_COMPLETE);
  return Status::ok_status(deleted);
}

Status JobManager::delivery_failed(JobRecord& job, Status delivered) {
  set_state(job, JobState::kTransferred);
  mark_active(job);  // the owner acted: the job stays, its inactivity timer restarts
  // The caller hears of the delivery; a store failure on top is logged.
  table_.save(job, "TRANSFERRED after a failed delivery");
  schedule();
  return delivered;
}

Status JobManager::take_ownership(const Caller& caller, const Guid& id) {
  std::lock_guard lock(mutex_);
  auto found = find(caller, id, Access::kModify);
  if (!found.ok()) return found.status();
  JobRecord& job = **found;
  if (!caller.admin) return Status(hr::E_ACCESSDENIED, "only administrators take ownership");
  Credentials new_owner = credentials_for(caller.uid, caller.gid);
  for (const FileRecord& file : job.files) {
    if (!check_destination(new_owner, file.info.local_name).ok()) {
      return Status(hr::BG_E_NEW_OWNER_NO_FILE_ACCESS, file.info.local_name);
    }
  }
  spdlog::info("uid {} takes ownership of job {} from uid {}", caller.uid, to_string(id),
               job.info.owner_uid);
  // A running file was started with the old owner's identity and secrets: start it again.
  bool running = restart_transfer(job);
  table_.change_owner(job, caller.uid);
  job.owner_gid = caller.gid;
  job.owner_umask = caller.umask;
  job.info.owner = "S-1-22-1-" + std::to_string(caller.uid);
  job.info.owner_name = owner_name(caller.uid);
  job.info.owner_elevated = caller.elevated;
  job.info.owner_integrity_level = caller.integrity_level;
  wipe_secrets(job);  // credentials, custom headers, client certificate
  job.owner_environment = read_owner_environment(caller.pid, caller.uid);  // its PRECONFIG
  job.info.custom_headers_write_only = false;
  job.info.notify_cmd_program.reset();
  job.info.notify_cmd_parameters.reset();
  mark_active(job);
  Status s = persist_job_row(job);
  if (running) schedule();
  return s;
}

Status JobManager::replace_remote_prefix(const Caller& caller, const Guid& id,
                                         const std::string& old_prefix,
                                         const std::string& new_prefix) {
  std::lock_guard lock(mutex_);
  auto found = find(caller, id, Access::kModify);
  if (!found.ok()) return found.status();
  JobRecord& job = **found;
  if (job.info.type != JobType::kDownload) return Status(hr::E_NOTIMPL);
  if (old_prefix.empty() || new_prefix.empty()) return Status(hr::E_INVALIDARG);
  std::vector<std::pair<std::uint32_t, std::string>> changes;
  for (const FileRecord& file : job.files) {
    if (file.transferred || file.info.remote_name.rfind(old_prefix, 0) != 0) continue;
    std::string renamed = new_prefix + file.info.remote_name.substr(old_prefix.size());
    if (auto s = validate_remote_name(renamed, config_.max_remote_name); !s.ok()) {
      return s.status();
    }
    changes.emplace_back(file.info.index, renamed);
  }
  if (changes.empty()) return Status::ok_status(hr::S_FALSE);
  bool running = job.is_active();
  stop_transfer(job);
  for (auto& [index, name] : changes) job.files[index].info.remote_name = name;
  if (running) set_state(job, JobState::kQueued);
  mark_active(job);
  Status s = persist(job);
  schedule();
  return s;
}

Status JobManager::set_remote_name(const Caller& caller, const Guid& id, std::uint32_t file_index,
                                   const std::string& remote_name) {
  std::lock_guard lock(mutex_);
  auto found = find(caller, id, Access::kModify);
  if (!found.ok()) return found.status();
  JobRecord& job = **found;
  if (job.info.type != JobType::kDownload) return Status(hr::E_NOTIMPL);
  if (file_index >= job.files.size()) return Status(hr::BG_E_FILE_NOT_FOUND);
  if (auto s = validate_remote_name(remote_name, config_.max_remote_name); !s.ok()) {
    return s.status();
  }
  bool running = job.is_active() &&
                 (job.timers.transfer_file == file_index || !job.timers.syncing_files.empty());
  if (running) stop_transfer(job);
  job.files[file_index].info.remote_name = remote_name;
  if (running) set_state(job, JobState::kQueued);
  mark_active(job);
  Status s = persist(job);
  schedule();
  return s;
}

// bits-spec §1.3 / §5.2: TRUE makes the file servable to peers (it goes into the cache
// as at Complete); FALSE evicts any cached copy of it, and then content that came from
// peers is fetched again from the origin only, content from the origin puts the job in
// ERROR with BG_E_VALIDATION_FAILED; either way the file starts again from byte 0.
Status JobManager::set_validation_state(const Caller& caller, const Guid& id,
                                        std::uint32_t file_index, bool valid) {
  std::lock_guard lock(mutex_);
  auto found = find(caller, id, Access::kModify);
  if (!found.ok()) return found.status();
  JobRecord& job = **found;
  if (file_index >= job.files.size()) return Status(hr::BG_E_FILE_NOT_FOUND);
  FileRecord& file = job.files[file_index];
  if (!file.transferred) return Status(hr::E_PENDING);
  file.info.validation_state = valid;
  file.info.validation_known = true;
  mark_active(job);
  if (valid) {
    Status s = persist(job);
    if (s.ok()) post_cache_adds(cache_candidates(job, file_index));
    return s;
  }
  evict_cached(job, file);
  bool from_peers = file.info.bytes_from_peers > 0;
  file.transferred = false;
  file.info.progress.completed = false;
  file.info.bytes_from_peers = 0;
  file.set_bytes_transferred(0);
  stop_transfer(job);
  if (from_peers) {
    file.origin_only = true;
    file.info.validation_known = false;  // it is downloaded again
    requeue(job);
  } else {
    ErrorInfo error;
    error.code = hr::BG_E_VALIDATION_FAILED;
    error.context = ErrorContext::kRemoteFile;
    error.file_index = file_index;
    job.info.error = error;
    set_state(job, JobState::kError);
  }
  Status s = persist(job);
  schedule();
  return s;
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
  return read_reply(path, offset, length, kMaxReplyData, reply_size);
}

void JobManager::tick() {
  std::lock_guard lock(mutex_);
  coordinator_.tick();
  expire_peer_cache();
  table_.sync_store();
}

void JobManager::stop_all() {
  std::lock_guard lock(mutex_);
  coordinator_.stop_all();
}

void JobManager::on_network_change(bool connected) {
  std::lock_guard lock(mutex_);
  coordinator_.on_network_change(connected);
}

void JobManager::set_network_events(bool available) {
  std::lock_guard lock(mutex_);
  coordinator_.set_network_events(available);
}

void JobManager::on_connected(std::uint64_t token) {
  std::lock_guard lock(mutex_);
  coordinator_.on_connected(token);
}

void JobManager::on_validators(std::uint64_t token, const RemoteValidators& validators,
                               bool restarted) {
  std::lock_guard lock(mutex_);
  coordinator_.on_validators(token, validators, restarted);
}

void JobManager::on_progress(std::uint64_t token, std::uint64_t durable_bytes) {
  std::lock_guard lock(mutex_);
  coordinator_.on_progress(token, durable_bytes);
}

void JobManager::on_written(std::uint64_t token) {
  std::lock_guard lock(mutex_);
  coordinator_.on_written(token);
}

void JobManager::on_complete(std::uint64_t token, std::uint64_t total_bytes,
                             std::int64_t last_modified_ms) {
  std::lock_guard lock(mutex_);
  coordinator_.on_complete(token, total_bytes, last_modified_ms);
}

void JobManager::on_error(std::uint64_t token, HRESULT code, ErrorContext context, bool transient,
                          std::uint32_t retry_after_s, const std::string& detail) {
  std::lock_guard lock(mutex_);
  coordinator_.on_error(token, code, context, transient, retry_after_s, detail);
}

void JobManager::on_body_sha256(std::uint64_t token, const std::string& sha256) {
  std::lock_guard lock(mutex_);
  coordinator_.on_body_sha256(token, sha256);
}

void JobManager::on_peer_bytes(std::uint64_t token, std::uint64_t bytes) {
  std::lock_guard lock(mutex_);
  coordinator_.on_peer_bytes(token, bytes);
}

void JobManager::on_server_reason(std::uint64_t token, const std::string& reason) {
  std::lock_guard lock(mutex_);
  coordinator_.on_server_reason(token, reason);
}

void JobManager::on_upload_session(std::uint64_t token, const std::string& session_id,
                                   const std::string& host_id, std::uint32_t fallback_s,
                                   const std::string& local_validators) {
  std::lock_guard lock(mutex_);
  coordinator_.on_upload_session(token, session_id, host_id, fallback_s, local_validators);
}

void JobManager::on_upload_sent(std::uint64_t token, const std::string& reply_url) {
  std::lock_guard lock(mutex_);
  coordinator_.on_upload_sent(token, reply_url);
}

void JobManager::on_remote_name(std::uint64_t token, const std::string& url) {
  std::lock_guard lock(mutex_);
  coordinator_.on_remote_name(token, url);
}

}  // namespace openbits::daemon
