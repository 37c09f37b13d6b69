// Internal to the transfer module: the state of one running file (TransferEngine::Transfer)
// and the helpers shared by the HTTP path (http_transfer.cc), the file-copy path
// (file_copy.cc) and the engine loop (transfer_engine.cc). Everything here runs on the
// engine thread only.
#pragma once

#include <curl/curl.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "src/daemon/transfer/http_status.h"
#include "src/daemon/transfer/transfer_engine.h"

namespace openbits::daemon {

struct TransferEngine::Transfer {
  using Clock = std::chrono::steady_clock;
  enum class Phase { kHead, kGet, kVerify, kCopy, kUpload };

  std::uint64_t token = 0;
  TransferRequest request;
  TransferObserver* observer = nullptr;
  Phase phase = Phase::kHead;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  // Negotiate (negotiate.h): the server asked for it; we answer every later request of this
  // transfer with a fresh token (Kerberos authenticators are single-use).
  bool negotiate_challenged = false;
  bool negotiate = false;
  curl_slist* auth_headers = nullptr;  // `headers` plus Authorization
  int fd = -1;                         // the temp file
  int source_fd = -1;                  // file:// sources
  std::uint64_t offset = 0;            // bytes in the temp file
  std::uint64_t synced = 0;            // bytes known durable
  Clock::time_point last_sync = Clock::now();
  RemoteValidators seen;      // from the latest response (or the source's stat)
  RemoteValidators expected;  // from HEAD, checked against each GET response
  std::int64_t mtime_ms = 0;
  std::vector<FileRange> plan;  // resolved ranges; empty: one body of unknown size
  std::uint64_t total = kSizeUnknown;
  bool announced = false;  // on_connected/on_validators sent
  bool restarted = false;  // the temp file was cut below request.durable_offset
  // The remote file changed: the next HEAD starts the file again from byte 0.
  bool restart_pending = false;
  int restarts = 0;
  std::uint32_t retry_after_s = 0;  // Retry-After of the latest response
  bool peer_unreachable = false;    // a connection was not tried: its link is down
  // Uploads (upload_transfer.cc).
  enum class Packet { kPing, kCreateSession, kFragment, kCloseSession, kCancelSession };
  Packet packet = Packet::kCreateSession;
  std::string session_id;
  std::string host_id;
  std::string upload_url;  // the job's URL, or with BITS-Host-Id's host
  std::uint64_t upload_size = 0;
  std::string local_validators;
  std::uint64_t fragment_size = 0;
  std::uint64_t fragment_start = 0;
  std::vector<char> body;
  std::map<std::string, std::string> ack;  // response headers, lower-case names
  int resends = 0;                         // Close/Cancel-Session resent on 5xx
  int stalled_acks = 0;                    // Fragment Acks in a row that took no byte
  // The GET in flight.
  bool ranged_get = false;
  std::uint64_t get_remote_start = 0;
  std::uint64_t get_remaining = kSizeUnknown;
  bool body_checked = false;
  std::string content_range;
  std::optional<Failure> failure;
  std::string detail;

  Transfer() = default;
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;
  ~Transfer() {
    if (easy) curl_easy_cleanup(easy);
    if (headers) curl_slist_free_all(headers);
    if (auth_headers) curl_slist_free_all(auth_headers);
    if (fd >= 0) ::close(fd);
    if (source_fd >= 0) ::close(source_fd);
  }

  // Records the first failure; later ones are consequences of it.
  void fail(Failure f, std::string why) {
    if (!failure) {
      failure = f;
      detail = std::move(why);
    }
  }
  // HEAD is skipped (and resume is impossible) for dynamic content and custom verbs.
  bool without_head() const { return request.dynamic_content || request.http_method != "GET"; }
};

namespace transfer_detail {

using Transfer = TransferEngine::Transfer;

// Temp file: open/create as the owner (t.fd); returns its current size, nullopt on failure.
std::optional<std::uint64_t> open_temp(Transfer& t);
// Cuts (or extends) the temp file to `length`; offset and synced become `length`.
bool cut_temp(Transfer& t, std::uint64_t length);
bool write_all(Transfer& t, const char* data, std::size_t size);
bool checkpoint_due(const Transfer& t);
bool checkpoint(Transfer& t);  // fdatasync, then on_progress; false on a flush error
// Sends on_connected and on_validators once.
void announce(Transfer& t);
// Commits "this file starts again from byte 0" (on_validators with restarted) before the
// temp file loses any byte the daemon recorded as durable.
void report_restart(Transfer& t);
// At most this many restarts of a file within one transfer when the remote file keeps
// changing; then BG_E_REMOTE_FILE_CHANGED (transient).
constexpr int kMaxRestarts = 3;

// HTTP (http_transfer.cc).
bool start_head(Transfer& t, CURLM* multi);
// After the last byte: a HEAD whose validators must still be those the body came with.
bool start_verify(Transfer& t, CURLM* multi);
// True if the finished verification HEAD shows the same file; sets t.restart_pending (or
// t.failure) otherwise.
bool finish_verify(Transfer& t);
bool start_get(Transfer& t, CURLM* multi);
// Reads the size and time of a finished HEAD; false (with t.failure) if unusable.
bool finish_head(Transfer& t);
// Checks a finished GET that may have had no body; false (with t.failure) if unusable.
bool finish_get(Transfer& t);
// The failure for a non-2xx status, honouring the redirect policy and Retry-After.
Failure status_failure(const Transfer& t, long status);
// True if `now` contradicts `before` (size, ETag or Last-Modified both known and different).
bool validators_changed(const RemoteValidators& before, const RemoteValidators& now);

// Options shared by every HTTP request (security, timeouts, socket opening, user agent).
void set_common_options(Transfer& t);

// Uploads (upload_transfer.cc): open the local file and send the first packet; after each
// finished packet, the next one. Both return false when the transfer is over.
bool begin_upload(Transfer& t, CURLM* multi);
bool after_upload_packet(Transfer& t, CURLM* multi, CURLcode code);

// file:// and plain paths (file_copy.cc).
bool is_file_source(const std::string& remote);
bool open_source(Transfer& t);  // as the owner; fills t.seen and t.mtime_ms
// Copies up to `budget` bytes; checkpoints as due. Sets t.failure on errors.
void copy_some(Transfer& t, std::vector<char>& buffer, std::uint64_t budget);

}  // namespace transfer_detail
}  // namespace openbits::daemon
