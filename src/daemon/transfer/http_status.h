// Classification of transfer failures into BITS's terms: HRESULT, error context and
// whether the job retries (TRANSIENT_ERROR) or stops (ERROR). Pure functions; thread-safe.
#pragma once

#include <curl/curl.h>

#include <cstdint>
#include <optional>
#include <string>

#include "openbits/types.h"

namespace openbits::daemon {

struct Failure {
  HRESULT code = hr::E_FAIL;
  ErrorContext context = ErrorContext::kRemoteFile;
  bool transient = true;
  // The server's Retry-After (seconds): the job retries no sooner than this, nor sooner
  // than its minimum retry delay. 0: none.
  std::uint32_t retry_after_s = 0;
};

// The longest Retry-After honoured; a server cannot park a job for longer than a day.
constexpr std::uint32_t kMaxRetryAfterS = 24 * 3600;

// bits-spec §2.5: 3xx transient except 300-305 and 307; 4xx fatal except 408 and 409;
// 5xx transient except 501 and 505; anything else transient. 429 Too Many Requests is
// transient too (RFC 6585: "try again later"; BITS predates it), with its Retry-After.
bool is_transient_http_status(int status);

// An HTTP error status: 0x80190000 + status, context REMOTE_FILE.
Failure classify_http_status(int status);
// A libcurl failure. Connect, DNS and timeouts are GENERAL_TRANSPORT and transient; a
// connection cut mid-body is BG_E_CONNECTION_CLOSED (transient); TLS failures are fatal.
Failure classify_curl_error(CURLcode code);
// A Retry-After header value: delta-seconds or an HTTP-date (relative to now_s, Unix time).
// Capped at kMaxRetryAfterS; a date in the past is 0; nullopt if unparsable.
std::optional<std::uint32_t> parse_retry_after(const std::string& value, std::int64_t now_s);
// An errno from work on the local (temp or destination) file: context LOCAL_FILE.
Failure classify_local_errno(int err);
// An errno from reading a file:// source: context REMOTE_FILE.
Failure classify_source_errno(int err);

}  // namespace openbits::daemon
