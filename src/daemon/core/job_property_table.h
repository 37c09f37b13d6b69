// The properties of job.set_property, one row each: the name on the wire, the value's
// checks with the legality rules of bits-spec §2.4, the setter, and what a change means
// for a running transfer. JobManager::set_property looks the name up and applies the row
// (job_properties.cc); a new property is a new row.
//
// Threading: the rows are constant; check and set run under JobManager's mutex.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <span>
#include <string_view>

#include "openbits/status.h"
#include "src/daemon/core/caller.h"
#include "src/daemon/core/job_record.h"
#include "src/daemon/platform/config.h"

namespace openbits::daemon {

// What JobManager does after a property changed, besides persisting the job row.
enum class PropertyEffect {
  kNone,
  // What every request of the file carries changed: a running file starts again with it
  // (bits-spec §1.4: turning on CRL checking restarts the file), from its durable bytes.
  kRestartsTransfer,
  kReschedules,  // the order of the queue may change
};

// What a row's check and setter see: the daemon's limits, who asks, and the job.
struct PropertyTarget {
  const Config& config;
  const Caller& caller;
  JobRecord& job;
};

struct JobProperty {
  std::string_view name;
  // The value and whether the job may take it now; the order of the checks decides which
  // HRESULT a request with several faults gets. A value of the wrong JSON type throws
  // nlohmann::json::exception (the caller answers E_INVALIDARG).
  Status (*check)(const PropertyTarget& target, const nlohmann::json& value);
  // Stores a value that passed check (a row without checks parses here, and may throw as
  // check does, before it changes anything).
  void (*set)(const PropertyTarget& target, const nlohmann::json& value);
  PropertyEffect effect = PropertyEffect::kNone;
};

// Every property, in the order of docs/rpc-spec.md's job.set_property.
std::span<const JobProperty> job_properties();
// The row of `name`; nullptr for a name no row has (BG_E_UNKNOWN_PROPERTY_ID).
const JobProperty* find_job_property(std::string_view name);

}  // namespace openbits::daemon
