// Internal to the transfer module: the state of one running file (TransferEngine::Transfer)
// and the helpers shared by the HTTP path (http_transfer.cc), the file-copy path
// (file_copy.cc) and the engine loop (transfer_engine.cc). Everything here runs on the
// engine thread only.
#pragma once

#include <curl/curl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "src/daemon/security/cert_store.h"
#include "src/daemon/security/secret_box.h"
#include "src/daemon/transfer/http_auth.h"
#include "src/daemon/transfer/http_status.h"
#include "src/daemon/transfer/rate_pacer.h"
#include "src/daemon/transfer/sha256.h"
#include "src/daemon/transfer/tls_policy.h"
#include "src/daemon/transfer/transfer_engine.h"

namespace openbits::daemon {

// A download's bytes [first, end) being asked of peers, on a worker thread of its own
// (peer_transfer.cc), while the transfer waits in Phase::kPeer. The worker writes through
// its own descriptor of the temp file, only inside [first, end), in order, and never once
// cancelled: cancel() returns after its last write.
struct PeerFetch {
  std::mutex mutex;
  bool cancelled = false;  // under mutex
  int fd = -1;             // a dup of the temp file's descriptor
  std::string url;
  RemoteValidators validators;
  std::uint64_t first = 0;
  std::uint64_t end = 0;
  std::atomic<std::uint64_t> written{0};  // bytes written from `first`, in order
  std::unique_ptr<Sha256> hash;           // the body's hash, continued in order (null: none)
  std::vector<std::string> senders;       // the peers whose bytes were written
  std::string detail;                     // for the log
  std::atomic<bool> done{false};

  PeerFetch() = default;
  PeerFetch(const PeerFetch&) = delete;
  PeerFetch& operator=(const PeerFetch&) = delete;
  ~PeerFetch() {
    if (fd >= 0) ::close(fd);
  }
  void cancel() {
    std::lock_guard lock(mutex);
    cancelled = true;
  }
};

struct TransferEngine::Transfer {
  using Clock = std::chrono::steady_clock;
  enum class Phase { kResolve, kHead, kGet, kVerify, kCopy, kUpload, kPeer };

  std::uint64_t token = 0;
  Request request;  // read through common(), download() and upload()
  TransferObserver* observer = nullptr;
  Phase phase = Phase::kHead;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  // Authentication (http_auth.h): the schemes the latest 401 / 407 offered, and the
  // credential chosen to answer (once) for the rest of this transfer. Negotiate tokens are
  // made fresh for every request (Kerberos authenticators are single-use) and sent as
  // headers: auth_headers is `headers` plus Authorization, proxy_headers holds
  // Proxy-Authorization.
  unsigned server_offers = 0;
  unsigned proxy_offers = 0;
  std::optional<AuthChoice> server_auth;
  std::optional<AuthChoice> proxy_auth;
  curl_slist* auth_headers = nullptr;
  curl_slist* proxy_headers = nullptr;
  std::string proxy_url;                           // the proxy in use ("" direct)
  std::vector<std::string> autodetected;           // AUTODETECT: the resolver's answer
  TlsPolicy tls;                                   // CURLOPT_SSL_CTX_DATA points here
  std::optional<CertificateMaterial> client_cert;  // loaded as the owner at the start
  int fd = -1;                                     // the temp file
  int source_fd = -1;                              // file:// sources
  std::uint64_t offset = 0;                        // bytes in the temp file
  std::uint64_t synced = 0;                        // bytes known durable
  Clock::time_point last_sync = Clock::now();
  // hash_body: the SHA-256 of bytes [0, hashed) of the temp file as this transfer wrote
  // them; null when the hash cannot cover the file (the temp file was resumed).
  std::unique_ptr<Sha256> body_hash;
  std::uint64_t hashed = 0;
  std::string body_sha256;  // body_hash's digest once it covered the whole file
  // Peer caching (peer_transfer.cc): the engine's source of peers (null: none), the
  // origin's SHA-256 of the content (Repr-Digest or Digest; "" none), whether peers were
  // asked in this transfer, the bytes they sent, whether the file must now come from the
  // origin only (their bytes failed the digest), and the fetch in flight.
  PeerSource* peer_source = nullptr;
  std::string origin_sha256;
  bool peers_asked = false;
  bool origin_only = false;
  std::uint64_t peer_bytes = 0;
  std::shared_ptr<PeerFetch> peer_fetch;
  std::uint64_t peer_reported = 0;        // of peer_fetch->written: counted and durable
  std::vector<std::string> peer_senders;  // every peer whose bytes this transfer wrote
  RemoteValidators seen;                  // from the latest response (or the source's stat)
  RemoteValidators expected;              // from HEAD, checked against each GET response
  std::int64_t mtime_ms = 0;
  std::vector<FileRange> plan;  // resolved ranges; empty: one body of unknown size
  std::uint64_t total = kSizeUnknown;
  bool announced = false;  // on_connected/on_validators sent
  // A fresh file (no byte to resume, no ranges) starts with its GET, without a HEAD: the
  // first response's headers give its size and validators (check_body_start).
  bool head_skipped = false;
  bool restarted = false;  // the temp file was cut below download().durable_offset
  // The remote file changed: the next HEAD starts the file again from byte 0.
  bool restart_pending = false;
  int restarts = 0;
  std::uint32_t retry_after_s = 0;  // Retry-After of the latest response
  bool peer_unreachable = false;    // a connection was not tried: its link is down
  // Pacing (rate_pacer.h): the bucket the body's bytes are taken from (the transfer's own
  // or its pool's, null: unlimited), and whether a callback paused it for want of bytes.
  RatePacer own_pacer;
  RatePacer* pacer = nullptr;
  bool paced_pause = false;
  // Yield (engine_yield.cc): the rate pool it runs in (0: none, i.e. FOREGROUND), the
  // payload bytes it moved (every body chunk or upload read), how many of them a sample
  // counted, and the interface it moves them through ("": loopback or not yet known).
  std::uint64_t pool = 0;
  std::uint64_t moved = 0;
  std::uint64_t moved_sampled = 0;
  std::string yield_interface;
  // While the yield holds a download back: its socket, with TCP_WINDOW_CLAMP lowered, and
  // the clamp it had before (-1: not clamped).
  int clamped_socket = -1;
  int window_clamp_before = 0;
  // Uploads (upload_transfer.cc).
  enum class Packet { kPing, kCreateSession, kFragment, kCloseSession, kCancelSession };
  Packet packet = Packet::kCreateSession;
  std::string session_id;
  std::string host_id;
  std::string upload_url;  // the job's URL, or with BITS-Host-Id's host
  std::uint64_t upload_size = 0;
  std::string local_validators;
  std::uint64_t fragment_size = 0;  // the largest fragment (413 halves it)
  std::uint64_t next_fragment = 0;  // the next one's length, from the measured rate
  std::chrono::steady_clock::time_point fragment_sent{};  // when the one in flight started
  std::uint64_t fragment_start = 0;                       // the Fragment in flight: its first byte,
  std::uint64_t fragment_length = 0;                      // its length,
  std::uint64_t fragment_read = 0;         // and how much of it curl has read from the file
  std::map<std::string, std::string> ack;  // response headers, lower-case names
  std::string ack_body;                    // its body's first bytes
  std::string server_reason;               // a failed Ack: what the server said
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
    if (peer_fetch) peer_fetch->cancel();  // its worker writes nothing more
    if (easy) curl_easy_cleanup(easy);
    if (headers) curl_slist_free_all(headers);
    if (auth_headers) curl_slist_free_all(auth_headers);
    if (proxy_headers) curl_slist_free_all(proxy_headers);
    for (HttpCredential& c : common().credentials) {
      if (c.password) wipe(*c.password);
    }
    if (client_cert) wipe(client_cert->key_pem);
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
  TransferRequest& common() {
    return std::visit([](auto& r) -> TransferRequest& { return r; }, request);
  }
  const TransferRequest& common() const {
    return std::visit([](const auto& r) -> const TransferRequest& { return r; }, request);
  }
  bool is_upload() const { return std::holds_alternative<UploadRequest>(request); }
  // Only on the path of the transfer's own kind (std::get throws otherwise).
  DownloadRequest& download() { return std::get<DownloadRequest>(request); }
  const DownloadRequest& download() const { return std::get<DownloadRequest>(request); }
  const UploadRequest& upload() const { return std::get<UploadRequest>(request); }
  // A whole file with no durable byte: nothing a HEAD could tell would change its GET.
  // Files that may come from peers keep their HEAD: peers are asked once the origin's
  // validators are known.
  bool fresh_whole_file() const {
    const auto* d = std::get_if<DownloadRequest>(&request);
    return d && d->ranges.empty() && d->durable_offset == 0 && !(d->from_peers && peer_source);
  }
  // HEAD is skipped (and resume is impossible) for dynamic content and custom verbs.
  bool without_head() const {
    const auto* d = std::get_if<DownloadRequest>(&request);
    return d && (d->dynamic_content || d->http_method != "GET");
  }
};

namespace transfer_detail {

using Transfer = TransferEngine::Transfer;

// Temp file: open/create as the owner (t.fd); returns its current size, nullopt on failure.
std::optional<std::uint64_t> open_temp(Transfer& t);
// Cuts (or extends) the temp file to `length`; offset and synced become `length`.
bool cut_temp(Transfer& t, std::uint64_t length);
// Writes at t.offset (hashed on the way when t.body_hash covers the file up to there).
bool write_all(Transfer& t, const char* data, std::size_t size);
// hash_body: the SHA-256 reported (on_body_sha256) when the hash covers all t.offset bytes.
void report_body_sha256(Transfer& t);
// The SHA-256 of the whole temp file as this transfer wrote it ("" when its hash does not
// cover the file); ends the hash, kept in t.body_sha256.
const std::string& finished_body_sha256(Transfer& t);

// Peer caching (peer_transfer.cc).
// Whether the bytes still missing are to be asked of peers first (once per transfer).
bool wants_peers(const Transfer& t);
// The fetch for the bytes from t.offset to the end, ready for its worker (t.peer_fetch).
std::shared_ptr<PeerFetch> make_peer_fetch(Transfer& t);
// On the worker thread: asks the holders for the range, chunk by chunk, the next holder
// after any failure; stops at the first chunk no holder gave.
void run_peer_fetch(PeerFetch& fetch, PeerSource& source);
// The bytes the worker wrote so far become durable and counted (on_peer_bytes, then
// on_progress), at every checkpoint interval or, with `now`, at once. False (with
// t.failure) when they cannot be synced.
bool sync_peer_bytes(Transfer& t, bool now);
// The worker ended: its last bytes are synced and the transfer goes on without it.
bool take_peer_bytes(Transfer& t);
// Before the file counts as transferred: true when peers sent some of it and the whole
// file does not hash as the origin's digest says (or cannot be hashed).
bool peer_bytes_wrong(Transfer& t);
// Starts the file again from byte 0, from the origin only; false (with t.failure) if the
// request cannot start.
bool refetch_from_origin(Transfer& t, CURLM* multi);
bool checkpoint_due(const Transfer& t);
bool checkpoint(Transfer& t);  // fdatasync, then on_progress; false on a flush error
// Sends on_connected and on_validators once.
void announce(Transfer& t);
// Commits "this file starts again from byte 0" (on_validators with restarted) before the
// temp file loses any byte the daemon recorded as durable.
void report_restart(Transfer& t);
// At most this many restarts of a file within one transfer when the remote file keeps
// changing; then BG_E_REMOTE_FILE_CHANGED (fatal: the job waits for Resume).
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

// Options shared by every HTTP request (security, timeouts, socket opening, user agent,
// proxy, credentials, client certificate: request_options.cc). False (with t.failure) when
// the request cannot be made as the job asks (a bad proxy list, no Negotiate token...).
// `headers` is the request's header list; Authorization headers are added to a copy.
bool set_common_options(Transfer& t, curl_slist* headers);
bool apply_request_options(Transfer& t, curl_slist* headers);  // the second half of it
// Pacing: the bytes `t` may take now (RatePacer::kUnlimited without a pacer; 0: the
// caller pauses the request and sets t.paced_pause), and the bytes it took.
std::uint64_t paced_allowance(Transfer& t);
void paced_consume(Transfer& t, std::uint64_t bytes);
// Milliseconds on the pacers' clock (steady).
std::int64_t pacing_now_ms();

// (request_options.cc) After a 401 / 407 (status, or the CONNECT's): kRetry when the
// challenge is answered now (send the same request again), kFailed (t.failure set) when
// it was answered before or the job has no credentials for it, kNone for other statuses.
enum class Challenge { kNone, kRetry, kFailed };
Challenge answer_challenge(Transfer& t, long status);
// The status of a finished request: the response's, or a CONNECT's 407.
long final_status(const Transfer& t);
// The failure of a request that ended with a transport error (TLS errors mapped to
// WinHTTP's certificate codes, a missing client certificate, an unreachable peer).
Failure connection_failure(const Transfer& t, CURLcode code);
// Header callback part: records challenges. True if `line` was one.
bool note_challenge(Transfer& t, const std::string& line);
// AUTODETECT: whether the transfer must ask the resolver first.
bool needs_proxy_resolution(const Transfer& t);

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
