// What a job's error means in the job's own situation, where the error code's generic text
// (describe_hresult) would mislead or say too little. Derived from what the job records
// (type, file, upload state), so it is the same after a daemon restart. Pure functions.
#pragma once

#include <optional>
#include <string>

#include "openbits/types.h"
#include "src/daemon/core/job_record.h"

namespace openbits::daemon {

// The description of `error` for `job`; nullopt when the generic text applies.
//  * BG_E_INVALID_SERVER_RESPONSE of an UPLOAD-REPLY job whose every byte the server
//    acknowledged without a BITS-Reply-URL: the server has no back end to reply; nothing
//    changes on a retry (bits-upload-server: notification_type 1 or 2).
//  * E_INVALIDARG of a file:// source: it is not a regular file (a directory, say).
std::optional<std::string> explain_job_error(const JobRecord& job, const ErrorInfo& error);

}  // namespace openbits::daemon
