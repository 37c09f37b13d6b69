// Row encoding of the store: the columns of a job row and a file row, a row read back into
// a JobRecord or FileRecord, the JSON columns (upload state, environment) and the context
// each sealed value is bound to. Internal to the store (store.cc, store_schema.cc).
#pragma once

#include <map>
#include <string>

#include "openbits/status.h"
#include "src/daemon/core/job_record.h"
#include "src/daemon/core/store_sql.h"
#include "src/daemon/security/secret_box.h"

namespace openbits::daemon::store_detail {

// In the order read_job and read_file read them and the writers bind them.
inline constexpr const char* kJobColumns =
    "id, type, state, priority, display_name, description, owner_uid, owner_gid, "
    "owner_elevated, owner_integrity_level, creation_time, modification_time, "
    "transfer_completion_time, error_count, notify_flags, notify_cmd_program, "
    "notify_cmd_parameters, minimum_retry_delay, no_progress_timeout, maximum_download_time, "
    "proxy_usage, proxy_list, bypass_list, file_acl_flags, peer_caching_flags, security_flags, "
    "custom_headers, custom_headers_write_only, http_method, dynamic_content, high_performance, "
    "max_download_size, minimum_notification_interval_ms, error_code, error_context, "
    "error_file, ever_resumed, download_time_ms, last_activity_ms, notify_cmd_uid, notify_cmd_gid, "
    "upload_state, owner_umask, custom_headers_sealed, owner_environment, client_certificate";

inline constexpr const char* kFileColumns =
    "job_id, idx, remote_name, local_name, temporary_name, bytes_total, bytes_transferred, "
    "completed, transferred, ranges, validation_state, validation_known, downloaded_from_peer, "
    "bytes_from_origin, bytes_from_peers, etag, last_modified, remote_mtime_ms, origin_only";

// INSERT ... ON CONFLICT(id) DO UPDATE of every column of kJobColumns.
std::string job_upsert_sql();

// The upload_state column: the upload session and the reply (one JSON object).
std::string upload_state_text(const JobRecord& job);
// The owner_environment column before it is sealed.
std::string environment_text(const std::map<std::string, std::string>& env);

// The context a sealed value is bound to: its job and slot.
std::string headers_context(const Guid& id);
std::string environment_context(const Guid& id);
std::string credential_context(const Guid& id, int target, int scheme);

// A row of SELECT kJobColumns, without its sealed columns (open_sealed_columns).
JobRecord read_job(const Stmt& s);
// The sealed columns of a job row: custom headers (43) and the owner's environment (44,
// which may hold a proxy password; plain '{}' in rows migrated from version 4).
Status open_sealed_columns(const SecretBox& secrets, const std::string& path, const Stmt& row,
                           JobRecord& job);
// A row of SELECT kFileColumns.
FileRecord read_file(const Stmt& s);

}  // namespace openbits::daemon::store_detail
