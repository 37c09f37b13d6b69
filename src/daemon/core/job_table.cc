// JobTable: the records, their lookup and their persistence. See job_table.h.
#include "src/daemon/core/job_table.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <utility>

#include "openbits/names.h"
#include "src/daemon/core/error_explanation.h"

namespace openbits::daemon {
namespace {

void log_failure(const Status& s, const JobRecord& job, std::string_view what) {
  if (s.ok()) return;
  spdlog::error("cannot persist job {} ({}): {}", to_string(job.info.id), what, s.message());
}

// The job-wide progress over its files.
void add_file_progress(const JobRecord& job, JobInfo& info) {
  info.progress = {};
  info.progress.files_total = static_cast<std::uint32_t>(job.files.size());
  bool size_unknown = false;
  info.files.reserve(job.files.size());  // grown one by one it was copied ~log n times
  for (const FileRecord& file : job.files) {
    info.files.push_back(file.info);
    if (file.transferred) ++info.progress.files_transferred;
    info.progress.bytes_transferred += file.info.progress.bytes_transferred;
    if (file.info.progress.bytes_total == kSizeUnknown) {
      size_unknown = true;
    } else {
      info.progress.bytes_total += file.info.progress.bytes_total;
    }
  }
  if (size_unknown) info.progress.bytes_total = kSizeUnknown;
}

void describe_error(const JobRecord& job, JobInfo& info) {
  bool in_error = job.info.state == JobState::kError || job.info.state == JobState::kTransientError;
  if (!in_error) info.error.reset();
  if (!info.error) return;
  auto explained = explain_job_error(job, *info.error);
  info.error->description = explained ? *explained : describe_hresult(info.error->code);
  if (!job.error_reason.empty()) info.error->description += " (server: " + job.error_reason + ")";
  info.error->context_description = describe_context(info.error->context);
}

bool is_timed(JobState state) {
  return state == JobState::kQueued || state == JobState::kConnecting ||
         state == JobState::kTransferring || state == JobState::kTransientError;
}

}  // namespace

std::int64_t next_retry_time(const JobRecord& job) {
  if (job.info.state != JobState::kTransientError ||
      job.timers.retry_at_ms == std::numeric_limits<std::int64_t>::max()) {
    return 0;  // not waiting, or waiting for the network rather than a timer
  }
  return job.timers.retry_at_wall_ms;
}

JobTable::JobTable(Store& store, Clock& clock) : store_(store), clock_(clock) {}

void JobTable::insert(std::unique_ptr<JobRecord> job) {
  Guid id = job->info.id;
  enqueue(id);
  by_creation_[job->creation_order] = job.get();
  if (!job->is_final()) count_live(job->info.owner_uid, true);
  JobRecord& record = *job;
  jobs_[id] = std::move(job);
  index(record);
}

void JobTable::index(JobRecord& job) {
  if (is_timed(job.info.state)) timed_[job.info.id] = &job;
  if (!job.is_final()) by_activity_.emplace(job.last_activity_ms, job.info.id);
}

void JobTable::unindex(const JobRecord& job) {
  timed_.erase(job.info.id);
  by_activity_.erase({job.last_activity_ms, job.info.id});
}

std::vector<JobRecord*> JobTable::idle_since(std::int64_t wall_ms) const {
  std::vector<JobRecord*> idle;
  for (const auto& [activity, id] : by_activity_) {
    if (activity > wall_ms) break;
    idle.push_back(jobs_.at(id).get());
  }
  std::sort(idle.begin(), idle.end(),
            [](const JobRecord* a, const JobRecord* b) { return a->info.id < b->info.id; });
  return idle;
}

void JobTable::count_live(uid_t owner, bool added) {
  std::size_t& mine = live_per_owner_[owner];
  if (added) {
    ++live_jobs_;
    ++mine;
  } else {
    --live_jobs_;
    if (--mine == 0) live_per_owner_.erase(owner);
  }
}

std::size_t JobTable::live_jobs(uid_t owner) const {
  auto it = live_per_owner_.find(owner);
  return it == live_per_owner_.end() ? 0 : it->second;
}

void JobTable::change_owner(JobRecord& job, uid_t uid) {
  if (!job.is_final()) {
    count_live(job.info.owner_uid, false);
    count_live(uid, true);
  }
  job.info.owner_uid = uid;
}

Result<JobRecord*> JobTable::find(const Caller& caller, const Guid& id, Access access) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return Status(hr::BG_E_NOT_FOUND);
  JobRecord* job = it->second.get();
  bool foreign = job->info.owner_uid != caller.uid;
  if (foreign && !caller.admin) return Status(hr::E_ACCESSDENIED);
  if (access == Access::kModify) {
    if (caller.integrity_level < job->info.owner_integrity_level) {
      return Status(hr::E_ACCESSDENIED, "the job was created at a higher integrity level");
    }
    if (job->is_final()) return Status(hr::BG_E_INVALID_STATE);
  }
  // Every administrator call on someone else's job leaves one line.
  if (foreign) {
    spdlog::info("admin uid {} {} job {} of uid {}", caller.uid,
                 access == Access::kModify ? "acts on" : "reads", to_string(id),
                 job->info.owner_uid);
  }
  return job;
}

JobRecord* JobTable::by_token(std::uint64_t token) {
  auto it = tokens_.find(token);
  if (it == tokens_.end()) return nullptr;
  auto job = jobs_.find(it->second);
  if (job == jobs_.end()) return nullptr;
  const JobTimers& timers = job->second->timers;
  if (timers.transfer_token != token && timers.syncing_files.count(token) == 0) return nullptr;
  return job->second.get();
}

void JobTable::bind_token(const JobRecord& job, std::uint64_t token) {
  if (token != 0) tokens_[token] = job.info.id;
}

std::uint64_t JobTable::queue_order(const Guid& id) const {
  auto it = queue_order_.find(id);
  return it == queue_order_.end() ? 0 : it->second;
}

void JobTable::forget_final_jobs(std::int64_t retention_ms) {
  std::int64_t now = clock_.monotonic_ms();
  // Oldest first: the jobs kept long enough are a prefix of finished_.
  while (!finished_.empty() && now - finished_.begin()->first >= retention_ms) {
    erase(finished_.begin()->second);
    finished_.erase(finished_.begin());
  }
}

void JobTable::erase(const Guid& id) {
  if (auto job = jobs_.find(id); job != jobs_.end()) {
    unindex(*job->second);
    by_creation_.erase(job->second->creation_order);
    jobs_.erase(job);
  }
  queue_order_.erase(id);
  finished_at_.erase(id);
}

JobInfo JobTable::snapshot(const JobRecord& job) const {
  JobInfo info = job.info;
  add_file_progress(job, info);
  describe_error(job, info);
  if (info.custom_headers_write_only) info.custom_headers.reset();
  info.next_retry_time = next_retry_time(job);
  return info;
}

void JobTable::emit(const JobRecord& job, JobEvent::Kind kind, std::uint32_t file_index) {
  if (!listener_) return;
  JobEvent event{kind, snapshot(job), job.notify_cmd_uid, job.notify_cmd_gid, file_index};
  if (!job.info.notify_cmd_program) event.cmd_uid.reset();
  listener_->job_event(std::move(event));
}

void JobTable::touch(JobRecord& job) {
  job.info.times.modification_time = clock_.wall_ms();
  emit(job);
}

void JobTable::mark_active(JobRecord& job) {
  unindex(job);
  job.last_activity_ms = clock_.wall_ms();
  index(job);
  touch(job);
}

void JobTable::set_state(JobRecord& job, JobState state) {
  if (job.info.state == state) return;
  bool was_final = job.is_final();
  unindex(job);
  job.info.state = state;
  index(job);
  if (!was_final && job.is_final()) count_live(job.info.owner_uid, false);
  touch(job);
  if (state == JobState::kTransferred) {
    job.info.times.transfer_completion_time = clock_.wall_ms();
  }
  if (job.is_final()) mark_finished(job.info.id);
}

void JobTable::mark_finished(const Guid& id) {
  std::int64_t now = clock_.monotonic_ms();
  auto [it, added] = finished_at_.try_emplace(id, now);
  if (!added) {
    finished_.erase({it->second, id});
    it->second = now;
  }
  finished_.emplace(now, id);
}

Status JobTable::write(JobRecord& job) {
  return job.is_final() ? store_.delete_job(job.info.id) : store_.save_job(job);
}

Status JobTable::persist(JobRecord& job, std::string_view what) {
  Status s = write(job);
  log_failure(s, job, what);
  return s;
}

Status JobTable::persist_job_row(JobRecord& job, std::string_view what) {
  if (job.is_final()) return persist(job, what);
  Status s = store_.save_job_row(job);
  log_failure(s, job, what);
  return s;
}

void JobTable::sync_store() {
  Status s = store_.sync();
  if (!s.ok() && !sync_failing_) spdlog::error("cannot sync the job store: {}", s.message());
  sync_failing_ = !s.ok();
}

void JobTable::save(JobRecord& job, std::string_view what) { log_failure(write(job), job, what); }

void JobTable::save_progress(const JobRecord& job, std::uint32_t file_index) {
  Status s = store_.save_progress(job, file_index);
  if (s.ok()) return;
  spdlog::error("cannot persist the progress of job {} file {}: {}", to_string(job.info.id),
                file_index, s.message());
}

void JobTable::save_credentials(const JobRecord& job, std::string_view what) {
  log_failure(store_.save_credentials(job), job, what);
}

}  // namespace openbits::daemon
