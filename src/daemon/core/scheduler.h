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
// Threading: stateless; called under JobManager's mutex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "openbits/types.h"

namespace openbits::daemon {

// What a started transfer may use. Today always unlimited; the bandwidth issue fills it.
struct RateBudget {
  std::optional<std::uint64_t> bytes_per_second;  // nullopt: unlimited
  bool operator==(const RateBudget&) const = default;
};

// What the Scheduler knows of one job.
struct ScheduleEntry {
  Guid id;
  JobPriority priority = JobPriority::kNormal;
  bool queued = false;                // QUEUED: may start
  bool running = false;               // CONNECTING or TRANSFERRING
  std::uint64_t queue_order = 0;      // round robin: lower runs first
  std::int64_t slice_started_ms = 0;  // monotonic start of its time slice, 0 if none
};

struct SchedulePolicy {
  std::size_t max_background_jobs = 1;
  std::int64_t time_slice_ms = 0;
};

struct ScheduleDecision {
  enum class Action { kStop, kStart };
  struct Step {
    Action action = Action::kStart;
    Guid id;
    RateBudget rate;  // kStart only
  };
  std::vector<Step> steps;  // to apply in this order
};

class Scheduler {
 public:
  // `jobs` in any order; foreground jobs start in that order.
  ScheduleDecision decide(const std::vector<ScheduleEntry>& jobs, std::int64_t now_ms,
                          const SchedulePolicy& policy) const;
};

}  // namespace openbits::daemon
