// JobManager's EnumJobs, whole or by pages; see job_manager.h. Jobs are walked in
// JobTable::by_creation order, so no listing sorts the queue.
#include <spdlog/spdlog.h>

#include "src/daemon/core/job_manager.h"

namespace openbits::daemon {
namespace {

// Whether the caller lists `job`: its own non-final jobs, or every user's with all_users.
bool listed(const Caller& caller, bool all_users, const JobRecord& job) {
  if (job.is_final()) return false;
  return all_users || job.info.owner_uid == caller.uid;
}

// The audit line of an administrator's all-users listing, once per listing (its first
// page): how many of the jobs belong to other users.
void log_all_users(const Caller& caller, const JobTable& table) {
  std::size_t foreign = 0;
  for (const auto& [id, job] : table.records()) {
    if (!job->is_final() && job->info.owner_uid != caller.uid) ++foreign;
  }
  spdlog::info("admin uid {} lists all users' jobs ({} of other users)", caller.uid, foreign);
}

}  // namespace

Result<std::vector<JobInfo>> JobManager::enum_jobs(const Caller& caller, bool all_users) {
  std::vector<JobInfo> result;
  auto end = enum_jobs_page(caller, all_users, 0, [&result](const JobInfo& info) {
    result.push_back(info);
    return true;
  });
  if (!end.ok()) return end.status();
  return result;
}

Result<std::optional<std::uint64_t>> JobManager::enum_jobs_page(const Caller& caller,
                                                                bool all_users, std::uint64_t after,
                                                                const JobVisitor& take) {
  std::lock_guard lock(mutex_);
  if (all_users && !caller.admin) return Status(hr::E_ACCESSDENIED);
  if (all_users && after == 0) log_all_users(caller, table_);
  const auto& ranks = table_.by_creation();
  std::optional<std::uint64_t> last;  // rank of the last job taken
  for (auto it = ranks.upper_bound(after); it != ranks.end(); ++it) {
    if (!listed(caller, all_users, *it->second)) continue;
    if (!take(table_.snapshot(*it->second))) return std::optional(last.value_or(after));
    last = it->first;
  }
  return std::optional<std::uint64_t>();
}

}  // namespace openbits::daemon
