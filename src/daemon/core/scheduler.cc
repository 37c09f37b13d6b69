// Scheduler: the choice of which jobs transfer now. See scheduler.h.
#include "src/daemon/core/scheduler.h"

#include <algorithm>

namespace openbits::daemon {
namespace {

bool runs_before(const ScheduleEntry& a, const ScheduleEntry& b) {
  if (a.priority != b.priority) return a.priority < b.priority;
  return a.queue_order < b.queue_order;
}

void sort_by_turn(std::vector<ScheduleEntry>& entries) {
  std::sort(entries.begin(), entries.end(), runs_before);
}

constexpr JobPriority kBackground[] = {JobPriority::kHigh, JobPriority::kNormal, JobPriority::kLow};

RateBudget budget_of(const PriorityLimits& limits, JobPriority priority) {
  if (priority == JobPriority::kForeground) return {};
  return {rate_pool(priority), limits.of(priority)};
}

void start(ScheduleDecision& decision, const ScheduleEntry& entry, const PriorityLimits& limits) {
  decision.steps.push_back(
      {ScheduleDecision::Action::kStart, entry.id, budget_of(limits, entry.priority)});
}

bool is_blocked(const PriorityLimits& limits, JobPriority priority) {
  return limits.of(priority) == std::optional<std::uint64_t>(0);
}

// Whether `candidate` takes the place of the running `victim`.
bool preempts(const ScheduleEntry& candidate, const ScheduleEntry& victim, std::int64_t now_ms,
              const SchedulePolicy& policy) {
  if (candidate.priority < victim.priority) return true;
  return candidate.priority == victim.priority &&
         now_ms - victim.slice_started_ms >= policy.time_slice_ms;
}

// Foreground jobs start at once; queued and running background jobs, each in turn order.
struct Background {
  std::vector<ScheduleEntry> queued;
  std::vector<ScheduleEntry> running;
};

// Jobs of a blocked priority are blocked, blocked jobs of a priority no longer blocked
// are unblocked (they start from the queue at the next decision).
Background start_foreground(const std::vector<ScheduleEntry>& jobs, const PriorityLimits& limits,
                            ScheduleDecision& decision) {
  Background background;
  for (const ScheduleEntry& job : jobs) {
    bool foreground = job.priority == JobPriority::kForeground;
    bool blocked = !foreground && is_blocked(limits, job.priority);
    if (job.blocked) {
      if (!blocked) decision.steps.push_back({ScheduleDecision::Action::kUnblock, job.id, {}});
    } else if (blocked && (job.queued || job.running)) {
      decision.steps.push_back({ScheduleDecision::Action::kBlock, job.id, {}});
    } else if (job.queued && foreground) {
      start(decision, job, limits);
    } else if (job.queued) {
      background.queued.push_back(job);
    } else if (job.running && !foreground) {
      background.running.push_back(job);
    }
  }
  sort_by_turn(background.queued);
  sort_by_turn(background.running);
  return background;
}

}  // namespace

std::uint64_t rate_pool(JobPriority priority) {
  return priority == JobPriority::kForeground ? 0 : static_cast<std::uint64_t>(priority) + 1;
}

ScheduleDecision Scheduler::decide(const std::vector<ScheduleEntry>& jobs, std::int64_t now_ms,
                                   const SchedulePolicy& policy) const {
  ScheduleDecision decision;
  PriorityLimits limits;
  if (policy.bandwidth) limits = limits_in_force(*policy.bandwidth, policy.local_now).limits;
  for (JobPriority priority : kBackground) decision.pools.push_back(budget_of(limits, priority));
  auto [queued, running] = start_foreground(jobs, limits, decision);
  for (ScheduleEntry candidate : queued) {
    // A job that starts now begins its slice now, unless it still has one.
    if (candidate.slice_started_ms == 0) candidate.slice_started_ms = now_ms;
    if (running.size() < policy.max_background_jobs) {
      // Appended unsorted, as always: the next candidate weighs itself against the job
      // started last while the free places fill.
      start(decision, candidate, limits);
      running.push_back(candidate);
      continue;
    }
    if (running.empty() || !preempts(candidate, running.back(), now_ms, policy)) break;
    decision.steps.push_back({ScheduleDecision::Action::kStop, running.back().id, {}});
    running.pop_back();
    start(decision, candidate, limits);
    running.push_back(candidate);
    sort_by_turn(running);
  }
  return decision;
}

}  // namespace openbits::daemon
