// JobTable: every JobRecord of the queue and each change made to one. Owns the records
// (final jobs are kept a while for getters), enforces ownership on lookup (find with an
// Access), maps engine tokens to their job, keeps the creation order (EnumJobs) and the
// queue order (round robin), indexes the jobs the tick must look at (timed(), idle_since()),
// announces changes to the JobListener (touch, set_state) and
// writes records through the Store. A store failure is logged once here, with the job and
// what was being saved; persist*() also return it for callers that answer with it.
//
// Threading: none of its own; every call is made under JobManager's mutex.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "openbits/status.h"
#include "openbits/types.h"
#include "src/daemon/core/caller.h"
#include "src/daemon/core/job_events.h"
#include "src/daemon/core/job_record.h"
#include "src/daemon/core/store.h"
#include "src/daemon/platform/clock.h"

namespace openbits::daemon {

class JobTable {
 public:
  enum class Access { kRead, kModify };
  using Records = std::map<Guid, std::unique_ptr<JobRecord>>;

  JobTable(Store& store, Clock& clock);
  void set_listener(JobListener* listener) { listener_ = listener; }

  // The records, by id.
  Records& records() { return jobs_; }
  const Records& records() const { return jobs_; }
  // Adds a job at the end of the queue; creation_order comes from next_creation_order().
  void insert(std::unique_ptr<JobRecord> job);
  std::uint64_t next_creation_order() { return next_creation_order_++; }
  // The records by creation_order (EnumJobs pages through it from a rank on).
  const std::map<std::uint64_t, JobRecord*>& by_creation() const { return by_creation_; }
  // Non-final jobs, of one owner and in all (the job limits), counted as they change: a
  // create does not walk the queue.
  std::size_t live_jobs(uid_t owner) const;
  std::size_t live_jobs() const { return live_jobs_; }
  // TakeOwnership: the job's owner becomes `uid` (its live count moves with it).
  void change_owner(JobRecord& job, uid_t uid);
  // The caller's job: BG_E_NOT_FOUND, E_ACCESSDENIED for another user's job (unless
  // administrator) or a higher integrity level, BG_E_INVALID_STATE to modify a final job.
  Result<JobRecord*> find(const Caller& caller, const Guid& id, Access access);

  // Engine tokens: the job whose running transfer has `token`, or null (stale events).
  JobRecord* by_token(std::uint64_t token);
  void bind_token(const JobRecord& job, std::uint64_t token);
  void release_token(std::uint64_t token) { tokens_.erase(token); }

  // Round robin: enqueue() moves a job to the end of the queue.
  void enqueue(const Guid& id) { queue_order_[id] = next_queue_order_++; }
  std::uint64_t queue_order(const Guid& id) const;
  // Drops final jobs kept longer than `retention_ms`.
  void forget_final_jobs(std::int64_t retention_ms);

  // The tick's index, kept as jobs change so that the tick never walks the whole queue
  // (suspended, finished or final jobs have nothing due but the inactivity timer).
  // timed(): the jobs in QUEUED, CONNECTING, TRANSFERRING or TRANSIENT_ERROR, by id: the
  // Scheduler's entries and the jobs with a retry, no-progress or download-time timer.
  using Index = std::map<Guid, JobRecord*>;
  const Index& timed() const { return timed_; }
  // The non-final jobs whose last activity (JobRecord::last_activity_ms, wall clock) is at
  // or before `wall_ms`, by id: those whose inactivity timer may have expired.
  std::vector<JobRecord*> idle_since(std::int64_t wall_ms) const;

  // What callers see of a job.
  JobInfo snapshot(const JobRecord& job) const;
  void emit(const JobRecord& job, JobEvent::Kind kind = JobEvent::Kind::kChanged,
            std::uint32_t file_index = 0);
  // The job changed: new modification time, event to the listener.
  void touch(JobRecord& job);
  // Progress, or a change by its owner (a property, a method call): touch() and restart
  // the inactivity timer (bits-spec §3.1 JobInactivityTimeout). Automatic transitions
  // (retries, errors) are not activity.
  void mark_active(JobRecord& job);
  void set_state(JobRecord& job, JobState state);

  // Writes the job (a final one is deleted from the store).
  [[nodiscard]] Status persist(JobRecord& job, std::string_view what = "the job");
  // Only the job row, for changes that touch no file (every file change was persisted
  // when it was made, so the stored file rows are current).
  [[nodiscard]] Status persist_job_row(JobRecord& job, std::string_view what = "the job");
  // The same where nobody waits for the answer (engine events, timers): the failure is
  // logged, the record stays current in memory and the job's next save writes it whole.
  void save(JobRecord& job, std::string_view what);
  void save_progress(const JobRecord& job, std::uint32_t file_index);
  void save_credentials(const JobRecord& job, std::string_view what);
  // Puts the commits so far on disk (Store::sync); a failure is logged once, until a
  // sync succeeds again.
  void sync_store();

 private:
  Status write(JobRecord& job);
  void count_live(uid_t owner, bool added);
  // The job enters or leaves the tick's index as its state and last activity are now.
  void index(JobRecord& job);
  void unindex(const JobRecord& job);
  void erase(const Guid& id);
  void mark_finished(const Guid& id);  // the job is final from now on

  Store& store_;
  Clock& clock_;
  bool sync_failing_ = false;
  JobListener* listener_ = nullptr;
  Records jobs_;
  std::map<Guid, std::int64_t> finished_at_;          // final jobs kept for getters, and when
  std::set<std::pair<std::int64_t, Guid>> finished_;  // the same, oldest first
  Index timed_;
  std::set<std::pair<std::int64_t, Guid>> by_activity_;  // non-final jobs, least active first
  std::map<std::uint64_t, Guid> tokens_;
  std::map<Guid, std::uint64_t> queue_order_;  // round robin: lower runs first
  std::uint64_t next_queue_order_ = 1;
  std::uint64_t next_creation_order_ = 1;  // JobRecord::creation_order
  std::map<std::uint64_t, JobRecord*> by_creation_;
  std::map<uid_t, std::size_t> live_per_owner_;  // owners without live jobs are erased
  std::size_t live_jobs_ = 0;
};

// JobInfo::next_retry_time: the retry timer of a TRANSIENT_ERROR job on the wall clock.
std::int64_t next_retry_time(const JobRecord& job);

}  // namespace openbits::daemon
