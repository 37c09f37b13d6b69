// JobManager::set_property (job.set_property): the row of the property (job_property_table.h)
// checks and stores the value, then the change is persisted and takes effect. See
// job_manager.h.
#include <nlohmann/json.hpp>

#include "src/daemon/core/job_manager.h"
#include "src/daemon/core/job_property_table.h"

namespace openbits::daemon {

Status JobManager::set_property(const Caller& caller, const Guid& id, const std::string& name,
                                const nlohmann::json& value) {
  std::lock_guard lock(mutex_);
  auto found = find(caller, id, Access::kModify);
  if (!found.ok()) return found.status();
  JobRecord& job = **found;
  const JobProperty* property = find_job_property(name);
  if (!property) return Status(hr::BG_E_UNKNOWN_PROPERTY_ID, "unknown property '" + name + "'");
  PropertyTarget target{config_, caller, job};
  try {
    if (Status s = property->check(target, value); !s.ok()) return s;
    property->set(target, value);
  } catch (const nlohmann::json::exception& e) {
    return Status(hr::E_INVALIDARG, "wrong value for '" + name + "': " + e.what());
  }
  bool restarted = property->effect == PropertyEffect::kRestartsTransfer && restart_transfer(job);
  if (name == "priority") priority_changed(job);
  mark_active(job);
  Status s = persist_job_row(job);  // no property lives in a file row
  if (property->effect == PropertyEffect::kReschedules || restarted) schedule();
  return s;
}

}  // namespace openbits::daemon
