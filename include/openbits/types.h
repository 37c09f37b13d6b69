// openbits/types.h: the BITS object model as plain values (enums, progress, times,
// error object, job and file snapshots). These are what the RPC carries and what the
// client library returns. Numeric values are BITS's. Value types; no shared state.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "openbits/hresult.h"

namespace openbits {

inline constexpr std::uint64_t kSizeUnknown = 0xFFFFFFFFFFFFFFFFull;  // BG_SIZE_UNKNOWN
inline constexpr std::uint64_t kLengthToEof = 0xFFFFFFFFFFFFFFFFull;  // BG_LENGTH_TO_EOF

enum class JobState : int {
  kQueued = 0,
  kConnecting = 1,
  kTransferring = 2,
  kSuspended = 3,
  kError = 4,
  kTransientError = 5,
  kTransferred = 6,
  kAcknowledged = 7,
  kCancelled = 8,
};

enum class JobType : int { kDownload = 0, kUpload = 1, kUploadReply = 2 };

enum class JobPriority : int { kForeground = 0, kHigh = 1, kNormal = 2, kLow = 3 };

enum class ErrorContext : int {
  kNone = 0,
  kUnknown = 1,
  kGeneralQueueManager = 2,
  kQueueManagerNotification = 3,
  kLocalFile = 4,
  kRemoteFile = 5,
  kGeneralTransport = 6,
  kRemoteApplication = 7,
  kServerCertificateCallback = 8,
};

enum class ProxyUsage : int { kPreconfig = 0, kNoProxy = 1, kOverride = 2, kAutodetect = 3 };

// SetCredentials (BG_AUTH_TARGET, BG_AUTH_SCHEME).
enum class AuthTarget : int { kServer = 1, kProxy = 2 };
enum class AuthScheme : int { kBasic = 1, kDigest = 2, kNtlm = 3, kNegotiate = 4, kPassport = 5 };

// Client certificate stores (BG_CERT_STORE_LOCATION). On Linux a store is a directory of
// PEM or PKCS#12 files: CURRENT_USER and CURRENT_USER_GROUP_POLICY name the job owner's
// ~/.config/openbits/certs/<store>/, every other location /etc/openbits/certs/<store>/.
enum class CertStoreLocation : int {
  kCurrentUser = 0,
  kLocalMachine = 1,
  kCurrentService = 2,
  kServices = 3,
  kUsers = 4,
  kCurrentUserGroupPolicy = 5,
  kLocalMachineGroupPolicy = 6,
  kLocalMachineEnterprise = 7,
};

// Security flags (BG_SSL_*, BG_HTTP_REDIRECT_POLICY_*).
inline constexpr std::uint32_t kSslEnableCrlCheck = 0x0001;
inline constexpr std::uint32_t kSslIgnoreCertCnInvalid = 0x0002;
inline constexpr std::uint32_t kSslIgnoreCertDateInvalid = 0x0004;
inline constexpr std::uint32_t kSslIgnoreUnknownCa = 0x0008;
inline constexpr std::uint32_t kSslIgnoreCertWrongUsage = 0x0010;
inline constexpr std::uint32_t kRedirectPolicyAllowSilent = 0x0000;
inline constexpr std::uint32_t kRedirectPolicyAllowReport = 0x0100;
inline constexpr std::uint32_t kRedirectPolicyDisallow = 0x0200;
inline constexpr std::uint32_t kRedirectPolicyMask = 0x0700;
inline constexpr std::uint32_t kRedirectPolicyAllowHttpsToHttp = 0x0800;

// Notify flags (BG_NOTIFY_*).
inline constexpr std::uint32_t kNotifyJobTransferred = 0x01;
inline constexpr std::uint32_t kNotifyJobError = 0x02;
inline constexpr std::uint32_t kNotifyDisable = 0x04;
inline constexpr std::uint32_t kNotifyJobModification = 0x08;
inline constexpr std::uint32_t kNotifyFileTransferred = 0x10;
inline constexpr std::uint32_t kNotifyFileRangesTransferred = 0x20;
inline constexpr std::uint32_t kNotifyAllFlags = 0x3F;

// File ACL flags (BG_COPY_FILE_*).
inline constexpr std::uint32_t kCopyFileOwner = 0x1;
inline constexpr std::uint32_t kCopyFileGroup = 0x2;
inline constexpr std::uint32_t kCopyFileDacl = 0x4;
inline constexpr std::uint32_t kCopyFileSacl = 0x8;
inline constexpr std::uint32_t kCopyFileAll = 0xF;

// Defaults (seconds) from the BITS specification.
inline constexpr std::uint32_t kDefaultMinimumRetryDelay = 600;
inline constexpr std::uint32_t kMinimumRetryDelayFloor = 5;
inline constexpr std::uint32_t kDefaultNoProgressTimeout = 1209600;
inline constexpr std::uint32_t kDefaultMaximumDownloadTime = 7776000;
inline constexpr std::uint32_t kDefaultNotifyFlags = kNotifyJobTransferred | kNotifyJobError;

// Limits.
inline constexpr std::size_t kMaxDisplayName = 256;
inline constexpr std::size_t kMaxDescription = 1024;
inline constexpr std::size_t kMaxRemoteName = 2200;
inline constexpr std::size_t kMaxRemoteSegment = 260;
inline constexpr std::size_t kMaxLocalName = 260;  // MAX_PATH
inline constexpr std::size_t kMaxProxyList = 4000;
inline constexpr std::size_t kMaxUserName = 300;
inline constexpr std::size_t kMaxPassword = 65535;
inline constexpr std::size_t kMaxCertStoreName = 255;  // 256 with the terminator

struct Guid {
  std::array<std::uint8_t, 16> bytes{};
  bool operator==(const Guid&) const = default;
  auto operator<=>(const Guid&) const = default;
  bool is_null() const { return *this == Guid{}; }
};

struct FileRange {
  std::uint64_t initial_offset = 0;
  std::uint64_t length = 0;  // kLengthToEof for "to end of file"
  bool operator==(const FileRange&) const = default;
};

struct JobProgress {
  std::uint64_t bytes_total = 0;  // kSizeUnknown while any file size is unknown
  std::uint64_t bytes_transferred = 0;
  std::uint32_t files_total = 0;
  std::uint32_t files_transferred = 0;
};

struct FileProgress {
  std::uint64_t bytes_total = kSizeUnknown;
  std::uint64_t bytes_transferred = 0;
  bool completed = false;  // download: delivered by Complete or fully transferred
};

// Times are Unix epoch milliseconds; 0 = not set.
struct JobTimes {
  std::int64_t creation_time = 0;
  std::int64_t modification_time = 0;
  std::int64_t transfer_completion_time = 0;
};

struct ErrorInfo {
  HRESULT code = hr::S_OK;
  ErrorContext context = ErrorContext::kNone;
  std::optional<std::uint32_t> file_index;  // none: error not tied to a file
  std::string protocol;                     // "http", "file" or empty
  std::string description;                  // text of code, or of this job's case of it
  std::string context_description;          // text of context
};

struct FileInfo {
  std::uint32_t index = 0;
  std::string remote_name;
  std::string local_name;
  std::string temporary_name;  // full path of the temp file; empty until created
  FileProgress progress;
  std::vector<FileRange> ranges;  // empty: whole file
  bool validation_state = false;
  bool validation_known = false;  // false until the file finished (E_PENDING)
  bool downloaded_from_peer = false;
  std::uint64_t bytes_from_origin = 0;
  std::uint64_t bytes_from_peers = 0;
};

struct ProxySettings {
  ProxyUsage usage = ProxyUsage::kPreconfig;
  std::optional<std::string> proxy_list;
  std::optional<std::string> bypass_list;
};

// SetCredentials: user name and password both nullopt mean the owner's implicit
// credentials (NTLM and NEGOTIATE only: the owner's Kerberos tickets).
struct AuthCredentials {
  AuthTarget target = AuthTarget::kServer;
  AuthScheme scheme = AuthScheme::kBasic;
  std::optional<std::string> user_name;
  std::optional<std::string> password;
};

// GetClientCertificate: where the certificate was found and which one it is.
struct ClientCertificate {
  CertStoreLocation location = CertStoreLocation::kCurrentUser;
  std::string store_name;
  std::array<std::uint8_t, 20> hash{};  // SHA-1 of the DER certificate
  std::string subject;                  // one-line subject ("CN=...,O=...")
  bool operator==(const ClientCertificate&) const = default;
};

// A snapshot of everything a job exposes through getters.
struct JobInfo {
  Guid id;
  JobType type = JobType::kDownload;
  JobState state = JobState::kSuspended;
  JobPriority priority = JobPriority::kNormal;
  std::string display_name;
  std::string description;
  std::string owner;  // "S-1-22-1-<uid>"
  std::uint32_t owner_uid = 0;
  std::string owner_name;  // passwd name, or the uid in decimal
  bool owner_elevated = false;
  std::uint32_t owner_integrity_level = 0x2000;
  JobProgress progress;
  JobTimes times;
  std::uint32_t error_count = 0;
  std::uint32_t notify_flags = kDefaultNotifyFlags;
  bool notify_interface_registered = false;
  std::optional<std::string> notify_cmd_program;
  std::optional<std::string> notify_cmd_parameters;
  std::uint32_t minimum_retry_delay = kDefaultMinimumRetryDelay;
  std::uint32_t no_progress_timeout = kDefaultNoProgressTimeout;
  std::uint32_t maximum_download_time = kDefaultMaximumDownloadTime;
  ProxySettings proxy;
  std::uint32_t file_acl_flags = 0;
  std::uint32_t peer_caching_flags = 0;
  std::uint32_t security_flags = 0;
  std::optional<std::string> custom_headers;  // none when unset or write-only
  bool custom_headers_write_only = false;
  std::optional<ClientCertificate> client_certificate;
  std::string http_method = "GET";
  bool dynamic_content = false;
  bool high_performance = false;
  std::uint64_t max_download_size = kSizeUnknown;
  std::uint32_t minimum_notification_interval_ms = 500;
  std::optional<ErrorInfo> error;  // present only in ERROR / TRANSIENT_ERROR
  // TRANSIENT_ERROR: when bitsd tries again (epoch ms). 0 in other states, and while the
  // job waits for the network to come back instead of a timer.
  std::int64_t next_retry_time = 0;
  std::vector<FileInfo> files;
  // Upload-reply jobs (IBackgroundCopyJob2): where the server application's reply goes
  // (empty until the job has a file: then "<local name>.reply" unless set) and how much of
  // it has arrived (bytes_total kSizeUnknown until the reply download starts).
  std::string reply_file_name;
  std::uint64_t reply_bytes_total = kSizeUnknown;
  std::uint64_t reply_bytes_transferred = 0;
};

// One file to add: remote URL or path, absolute local path, optional ranges.
struct FileSpec {
  std::string remote_name;
  std::string local_name;
  std::vector<FileRange> ranges;
};

// The machine's proxy configuration as bitsd sees it for the caller (bitsadmin /util
// /getieproxy): the configured system proxy, the caller's proxy environment as bitsd reads
// it from the calling process (a password in a proxy URL shows as "****"), and the proxy a
// PRECONFIG job the caller created now would use for http:// and https:// URLs.
struct ProxyReport {
  std::string system_proxy;  // the config's system_proxy ("" none)
  std::string system_proxy_bypass;
  std::map<std::string, std::string> environment;  // http_proxy, https_proxy, all_proxy, no_proxy
  std::string preconfig_http;                      // "" direct
  std::string preconfig_https;                     // "" direct
};

// GetPeerDownloadStats of one file: bytes from the origin server and from peers.
struct PeerDownloadStats {
  std::uint64_t from_origin = 0;
  std::uint64_t from_peers = 0;
};

// One content the machine's peer cache holds (IBitsPeerCacheRecord).
struct CacheRecord {
  Guid id;
  std::string url;  // the origin URL it was downloaded from (after reported redirects)
  std::uint64_t size = 0;
  std::string last_modified;  // the origin's validators ("" when it sent none)
  std::string etag;
  std::int64_t file_modification_time = 0;  // the remote file's time, Unix ms (0 unknown)
  std::int64_t creation_time = 0;           // Unix ms
  std::int64_t last_access_time = 0;        // Unix ms; the content age counts from it
  bool validated = false;                   // IsFileValidated: only validated ones are served
  std::vector<FileRange> ranges;            // GetFileRanges: the whole file
  std::string sha256;                       // of the cache's copy, hex
};

// The peer cache's limits (IBitsPeerCacheAdministration Get/SetMaximumCacheSize,
// Get/SetMaximumContentAge).
struct CacheLimits {
  std::uint32_t percent = 0;      // of the file system holding bitsd's state directory
  std::uint64_t limit_bytes = 0;  // that percentage in bytes (0: not measurable)
  std::uint64_t used_bytes = 0;
  std::int64_t expiration_s = 0;  // content age
};

// A peer this machine knows (IBitsPeer).
struct KnownPeer {
  std::string name;  // the subject of its certificate once authenticated, else its address
  std::string address;
  bool authenticated = false;
  bool available = false;
  bool from_config = false;    // the config's static list, not discovery
  std::int64_t last_seen = 0;  // Unix ms, 0 never
};

// SQLite's integrity check of the job store (bitsadmin /util /repairservice).
// daemon.bandwidth_policy (bitsadmin /util /getbandwidthpolicy, an openbits extension):
// the limits in force now for each background priority (bytes per second; nullopt:
// unlimited, 0: blocked with BG_E_BLOCKED_BY_POLICY), where they come from, and the whole
// configured policy as bitsd's config keys spell it (docs/bandwidth.md).
struct BandwidthPolicyReport {
  std::string source;        // "default" (bandwidth_limits), "window" or "maintenance"
  std::uint32_t window = 0;  // "window": its index in bandwidth_windows
  std::string local_time;    // bitsd's local time the limits were read at ("Fri 14:05:00")
  std::optional<std::uint64_t> high;
  std::optional<std::uint64_t> normal;
  std::optional<std::uint64_t> low;
  std::string policy_json;  // {"bandwidth_limits", "bandwidth_windows", "bandwidth_maintenance"}
};

struct StoreCheck {
  std::string path;                   // the database file
  std::vector<std::string> problems;  // empty: the store is intact
};

}  // namespace openbits
