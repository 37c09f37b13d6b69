// RPC wire conventions shared by bitsd and libopenbits: method names, framing limits and
// the JSON-RPC 2.0 error shape. See docs/rpc-spec.md for the contract.
//
// Framing: one JSON-RPC message per line (compact JSON, '\n' terminated, UTF-8). Lines
// longer than kMaxMessageBytes are a protocol error and close the connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "openbits/hresult.h"

namespace openbits::rpc {

inline constexpr std::size_t kMaxMessageBytes = 1 << 20;
// Deeper nesting of arrays/objects in a request is refused before parsing (-32600).
inline constexpr std::size_t kMaxNestingDepth = 64;

// JSON-RPC 2.0 reserved codes for protocol-level failures.
inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;

namespace method {
inline constexpr const char* kVersion = "daemon.version";
// {} -> {"system_proxy", "system_proxy_bypass", "environment": {...}, "preconfig": {"http",
// "https"}}: what PRECONFIG means for the caller (passwords in proxy URLs masked).
inline constexpr const char* kProxySettings = "daemon.proxy_settings";
// {} -> {"in_force": {"source", "window", "local_time", "limits": {"high", "normal", "low"}},
// "policy": {"bandwidth_limits", "bandwidth_windows", "bandwidth_maintenance"}}; anyone.
inline constexpr const char* kBandwidthPolicy = "daemon.bandwidth_policy";
// {} -> {"path", "problems": [text...]} (empty: intact); administrators only.
inline constexpr const char* kCheckStore = "daemon.check_store";
inline constexpr const char* kCreateJob = "manager.create_job";
inline constexpr const char* kGetJob = "manager.get_job";
// {"all_users"} -> {"jobs": [...]}: every job in one reply (over kMaxMessageBytes beyond
// ~900 jobs). With "cursor" ("" at first, then the reply's "next") and an optional
// "limit" of jobs, one page: at most limit jobs and kMaxEnumPageBytes, and "next" while
// more may follow.
inline constexpr const char* kEnumJobs = "manager.enum_jobs";
inline constexpr std::size_t kMaxEnumPageBytes = 512 * 1024;
inline constexpr std::uint64_t kMaxEnumPageJobs = 100000;  // the default limit
inline constexpr const char* kErrorDescription = "manager.error_description";
inline constexpr const char* kGetJobInfo = "job.get";
inline constexpr const char* kAddFiles = "job.add_files";
inline constexpr const char* kResume = "job.resume";
inline constexpr const char* kSuspend = "job.suspend";
inline constexpr const char* kCancel = "job.cancel";
inline constexpr const char* kComplete = "job.complete";
inline constexpr const char* kTakeOwnership = "job.take_ownership";
inline constexpr const char* kSetProperty = "job.set_property";
inline constexpr const char* kGetError = "job.get_error";
// SetCredentials / RemoveCredentials: {"job_id", "target": 1|2, "scheme": 1..5, "user_name",
// "password"} (null user and password: implicit). Nothing ever returns a password.
inline constexpr const char* kSetCredentials = "job.set_credentials";
inline constexpr const char* kRemoveCredentials = "job.remove_credentials";
// SetClientCertificateByID/ByName: {"job_id", "location": 0..7, "store_name", "hash": hex
// | null, "subject": text | null}; RemoveClientCertificate: {"job_id"}.
inline constexpr const char* kSetClientCertificate = "job.set_client_certificate";
inline constexpr const char* kRemoveClientCertificate = "job.remove_client_certificate";
inline constexpr const char* kReplaceRemotePrefix = "job.replace_remote_prefix";
inline constexpr const char* kSetRemoteName = "file.set_remote_name";
inline constexpr const char* kSetValidationState = "file.set_validation_state";
// {"job_id": id, "offset": n, "length": n} -> {"data": "<hex>", "size": n}: at most
// kMaxReplyChunk bytes, and the whole reply's size; a reply over 1 MiB is the error
// BG_E_TOO_LARGE with data {"hresult", "size"}.
inline constexpr const char* kGetReplyData = "job.get_reply_data";
inline constexpr std::uint64_t kMaxReplyChunk = 256 * 1024;
inline constexpr const char* kSubscribe = "job.subscribe";
inline constexpr const char* kUnsubscribe = "job.unsubscribe";
inline constexpr const char* kAcknowledgeNotification = "job.acknowledge_notification";
// file.get: {"job_id", "file_index"} -> FileInfo (validation state, peer statistics).
inline constexpr const char* kGetFile = "file.get";
// The peer cache (IBitsPeerCacheAdministration). Everything but the flags getter is for
// administrators only (E_ACCESSDENIED); BG_E_PEERCACHING_DISABLED when bitsd could not
// load its cache.
// {} -> {"flags"}: the machine's flags in force (the config's policy, else the saved value).
inline constexpr const char* kGetPeerCachingFlags = "peercache.get_configuration_flags";
// {"flags": 0..3} -> {"hresult"}: S_OK, or BG_S_OVERRIDDEN_BY_POLICY (saved, the policy wins).
inline constexpr const char* kSetPeerCachingFlags = "peercache.set_configuration_flags";
// {} -> {"records": [CacheRecord...]}, oldest first; {"record_id"} -> CacheRecord.
inline constexpr const char* kListCacheRecords = "peercache.list_records";
inline constexpr const char* kGetCacheRecord = "peercache.get_record";
// {"record_id"} / {"url"} / {} -> {"hresult"}; BG_E_BUSYCACHERECORD while one is served.
inline constexpr const char* kDeleteCacheRecord = "peercache.delete_record";
inline constexpr const char* kDeleteCacheUrl = "peercache.delete_url";
inline constexpr const char* kClearCache = "peercache.clear";
// {} -> {"percent", "limit_bytes", "used_bytes"}; {"percent": 1..80} -> {"hresult"}.
inline constexpr const char* kGetCacheLimit = "peercache.get_limit";
inline constexpr const char* kSetCacheLimit = "peercache.set_limit";
// {} -> {"seconds"}; {"seconds": 86400..10368000} -> {"hresult"}.
inline constexpr const char* kGetCacheExpiration = "peercache.get_expiration";
inline constexpr const char* kSetCacheExpiration = "peercache.set_expiration";
// {} -> {"peers": [KnownPeer...]} (anyone); discover and clear: administrators.
inline constexpr const char* kListPeers = "peers.list";
inline constexpr const char* kDiscoverPeers = "peers.discover";
inline constexpr const char* kClearPeers = "peers.clear";
// Notifications bitsd sends to a subscribed connection.
inline constexpr const char* kJobTransferred = "job.transferred";
inline constexpr const char* kJobError = "job.error";
inline constexpr const char* kJobModification = "job.modification";
inline constexpr const char* kFileTransferred = "file.transferred";
inline constexpr const char* kFileRangesTransferred = "file.ranges_transferred";
// Manager-wide event streams: {"all_users": bool} (administrators only) -> {"hresult": 0};
// then the connection receives the notifications below for every job it may see.
inline constexpr const char* kQueueSubscribe = "manager.subscribe";
inline constexpr const char* kQueueUnsubscribe = "manager.unsubscribe";
// {"job_id", "job": JobInfo without files, "reason": "created" | "ownership"}
inline constexpr const char* kQueueJobAdded = "manager.job_added";
// {"job_id", "job": JobInfo without files}
inline constexpr const char* kQueueJobStateChanged = "manager.job_state_changed";
// {"job_id", "job", "reason": "completed" | "cancelled"}, or {"job_id", "reason": "ownership"}
inline constexpr const char* kQueueJobRemoved = "manager.job_removed";
}  // namespace method

// A BITS failure travels as a JSON-RPC error whose code is the HRESULT reinterpreted as
// a signed 32-bit integer, with data {"hresult": <unsigned>}.
inline int error_code_for(HRESULT code) { return static_cast<std::int32_t>(code); }
inline HRESULT hresult_for(int error_code) {
  return static_cast<HRESULT>(static_cast<std::int32_t>(error_code));
}

}  // namespace openbits::rpc
