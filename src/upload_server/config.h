// bits-upload-server settings: the IIS BITS server extension's properties (bits-spec.md §6.4)
// under snake_case names, loaded from an optional JSON file. Immutable after load.
#pragma once

#include <cstdint>
#include <string>

#include "openbits/status.h"

namespace openbits::upload {

struct ServerConfig {
  bool uploads_enabled = true;                 // BITSUploadEnabled (on: the server exists for it)
  std::uint64_t max_upload_size = 0;           // BITSMaximumUploadSize; 0 = unlimited
  std::uint64_t max_fragment_size = 30000000;  // IIS 7 request size limit; bigger → 413
  std::uint64_t session_timeout = 1209600;     // BITSSessionTimeout, seconds without progress
  std::uint64_t cleanup_interval = 43200;      // BITSCleanupUseDefault: every 12 h
  bool session_limit_enabled = true;           // BITSSessionLimitEnable
  std::uint64_t sessions_per_client = 50;      // BITSNumberOfSessionsLimit (per client address)
  bool allow_overwrites = false;               // BITSAllowOverwrites
  int notification_type = 0;                   // BITSServerNotificationType: 0, 1 or 2
  std::string notification_url;                // BITSServerNotificationURL (http, ≤ 2,200)
  std::uint64_t notification_timeout = 300;    // seconds the back-end may take
  std::string host_id;                         // BITSHostId (≤ 300 chars), empty = none
  std::uint64_t host_id_fallback_timeout = 86400;  // BITSHostIdFallbackTimeout
  std::string reply_base_url;  // scheme://host[:port] for reply URLs; empty = from Host header
  unsigned threads = 8;        // I/O threads
};

// Parses a JSON object of the fields above; unknown keys and bad values are errors.
// Failures are E_INVALIDARG with the reason ("config: ...") as message.
[[nodiscard]] Result<ServerConfig> parse_config(const std::string& json_text);
[[nodiscard]] Result<ServerConfig> load_config(const std::string& path);

}  // namespace openbits::upload
