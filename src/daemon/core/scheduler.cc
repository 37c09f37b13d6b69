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

void start(ScheduleDecision& decision, const ScheduleEntry& entry) {
  decision.steps.push_back({ScheduleDecision::Action::kStart, entry.id, RateBudget{}});
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

Background start_foreground(const std::vector<ScheduleEntry>& jobs, ScheduleDecision& decision) {
  Background background;
  for (const ScheduleEntry& job : jobs) {
    bool foreground = job.priority == JobPriority::kForeground;
    if (job.queued && foreground) {
      start(decision, job);
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

ScheduleDecision Scheduler::decide(const std::vector<ScheduleEntry>& jobs, std::int64_t now_ms,
                                   const SchedulePolicy& policy) const {
  ScheduleDecision decision;
  auto [queued, running] = start_foreground(jobs, decision);
  for (ScheduleEntry candidate : queued) {
    // A job that starts now begins its slice now, unless it still has one.
    if (candidate.slice_started_ms == 0) candidate.slice_started_ms = now_ms;
    if (running.size() < policy.max_background_jobs) {
      // Appended unsorted, as always: the next candidate weighs itself against the job
      // started last while the free places fill.
      start(decision, candidate);
      running.push_back(candidate);
      continue;
    }
    if (running.empty() || !preempts(candidate, running.back(), now_ms, policy)) break;
    decision.steps.push_back({ScheduleDecision::Action::kStop, running.back().id, {}});
    running.pop_back();
    start(decision, candidate);
    running.push_back(candidate);
    sort_by_turn(running);
  }
  return decision;
}

}  // namespace openbits::daemon
