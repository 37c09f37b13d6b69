// Scheduler: which jobs transfer now. Pure policy: from one entry per job that is queued or
// running, the monotonic clock's now and the policy in force, decide() returns the jobs to
// stop and to start, in order, with the rate each may use. It reads no record, store or
// engine and changes nothing; TransferCoordinator::schedule() builds the entries and
// applies the decision.
//
// The policy (bits-spec §2.4 priorities): a queued FOREGROUND job starts at once; background
// jobs run at most max_background_jobs at a time, by priority, then in queue order. A queued
// job takes the place of the last running one when it has a higher priority, or the same
// priority and that job's time slice is over (round robin); the job stopped goes back to
// the end of the queue.
//
// Bandwidth (docs/bandwidth.md): the policy's limits in force at the local week time given
// (bandwidth_policy.h) make one rate pool per background priority; every job of that
// priority transfers in its pool and shares its rate. FOREGROUND is never limited. A
// limit of 0 blocks the priority: its queued and running jobs are blocked (TRANSIENT_ERROR,
// BG_E_BLOCKED_BY_POLICY) and unblocked (QUEUED) once the limit is no longer 0.
//
// Threading: stateless; called under JobManager's mutex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "openbits/types.h"
#include "src/daemon/platform/bandwidth_policy.h"

namespace openbits::daemon {

// What a started transfer may use: the pool it shares (0: none, FOREGROUND) and the pool's
// rate.
struct RateBudget {
  std::uint64_t pool = 0;
  std::optional<std::uint64_t> bytes_per_second;  // nullopt: unlimited
  bool operator==(const RateBudget&) const = default;
};

// The rate pool of a priority's jobs (TransferBackend::join_rate_pool); 0 for FOREGROUND.
std::uint64_t rate_pool(JobPriority priority);

// What the Scheduler knows of one job.
struct ScheduleEntry {
  Guid id;
  JobPriority priority = JobPriority::kNormal;
  bool queued = false;                // QUEUED: may start
  bool running = false;               // CONNECTING or TRANSFERRING
  std::uint64_t queue_order = 0;      // round robin: lower runs first
  std::int64_t slice_started_ms = 0;  // monotonic start of its time slice, 0 if none
  bool blocked = false;               // TRANSIENT_ERROR with BG_E_BLOCKED_BY_POLICY
};

struct SchedulePolicy {
  std::size_t max_background_jobs = 1;
  std::int64_t time_slice_ms = 0;
  const BandwidthPolicy* bandwidth = nullptr;  // null: no limits
  WeekTime local_now{};                        // where the windows are read
};

struct ScheduleDecision {
  // kBlock: to TRANSIENT_ERROR with BG_E_BLOCKED_BY_POLICY; kUnblock: back to QUEUED.
  enum class Action { kStop, kStart, kBlock, kUnblock };
  struct Step {
    Action action = Action::kStart;
    Guid id;
    RateBudget rate;  // kStart only
  };
  std::vector<Step> steps;  // to apply in this order
  // The budget of each background priority's pool now (HIGH, NORMAL, LOW).
  std::vector<RateBudget> pools;
};

class Scheduler {
 public:
  // `jobs` in any order; foreground jobs start in that order.
  ScheduleDecision decide(const std::vector<ScheduleEntry>& jobs, std::int64_t now_ms,
                          const SchedulePolicy& policy) const;
};

}  // namespace openbits::daemon
