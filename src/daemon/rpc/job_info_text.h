// JobInfo printed as JSON text straight into a string: the same value as
// nlohmann::json(info).dump() (src/protocol/codec.cc; members may come in another order),
// without building the tree of ~50 nodes per job first. manager.enum_jobs prints every job
// of a page with it (docs/performance.md "Many jobs": the tree was most of the cost).
// Invalid UTF-8 is replaced as json::error_handler_t::replace does. Thread-safe.
#pragma once

#include <string>

#include "openbits/types.h"

namespace openbits::daemon {

// Appends `info` as one JSON object to `out`, with `notify_interface_registered` in place
// of info's (the dispatcher knows it, JobManager does not).
void append_job_info_json(std::string& out, const JobInfo& info, bool notify_interface_registered);

}  // namespace openbits::daemon
