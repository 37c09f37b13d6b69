// The back-end hand-off (BITSServerNotificationType 1 and 2, bits-spec.md §6.4): one HTTP
// POST to the notification URL with libcurl, blocking the calling thread for at most the
// configured timeout. Thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <string>

namespace openbits::upload {

struct BackendRequest {
  int type = 1;                  // 1 = by reference, 2 = by value
  std::string notification_url;  // as configured (absolute, or relative to the job URL)
  std::string job_url;           // BITS-Original-Request-URL (absolute)
  std::string job_query;         // appended to the notification URL
  std::string data_path;         // type 1: BITS-Request-DataFile-Name
  std::string reply_path;        // type 1: BITS-Response-DataFile-Name
  int data_fd = -1;              // type 2: the request body
  int reply_fd = -1;             // type 2: receives the response body
  std::uint64_t timeout_seconds = 300;
};

struct BackendResult {
  bool reached = false;  // an HTTP answer arrived
  bool timed_out = false;
  long status = 0;                   // HTTP status of the answer
  std::string static_response_url;   // BITS-Static-Response-URL
  bool copy_to_destination = false;  // BITS-Copy-File-To-Destination present
  std::string error;                 // what went wrong when !reached
};

// The notification URL to post to: resolved against the job URL, job query appended.
// Empty when it cannot be built or is not http://.
std::string resolve_notification_url(const std::string& notification_url,
                                     const std::string& job_url, const std::string& job_query);

BackendResult notify_backend(const BackendRequest& request);

}  // namespace openbits::upload
