// The contract between the core and a transfer engine: what a transfer is asked to do
// (DownloadRequest, UploadRequest and the TransferRequest both carry), what the engine
// reports back (TransferObserver) and what the core may ask of the engine
// (TransferBackend). TransferEngine (transfer_engine.h) implements the backend in
// production; unit tests of the core use a fake. Nothing here depends on the core: the
// core includes this header, never the engine's internals.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "openbits/types.h"
#include "src/daemon/security/fs_credentials.h"

namespace openbits::daemon {

struct RemoteValidators {
  std::uint64_t size = kSizeUnknown;
  std::string etag;
  std::string last_modified;  // HTTP Last-Modified; "<sec>.<nsec>" mtime for file sources
  bool accept_ranges = false;
};

// A SetCredentials slot as the engine uses it: answers a challenge of its target with its
// scheme (http_auth.h). No user name: the owner's implicit Kerberos credentials in `ccache`.
struct HttpCredential {
  AuthTarget target = AuthTarget::kServer;
  AuthScheme scheme = AuthScheme::kBasic;
  std::optional<std::string> user_name;
  std::optional<std::string> password;
  std::string ccache;
};

// How requests reach the server (proxy_config.h): the job's proxy settings, the owner's
// proxy environment for PRECONFIG, the machine's fallback, and the AUTODETECT helper.
struct ProxyContext {
  ProxySettings settings;
  std::map<std::string, std::string> owner_environment;  // http_proxy, https_proxy, ...
  std::string system_proxy;
  std::string system_bypass;
  std::string resolver;  // path of bitsd-proxy-resolver (AUTODETECT); empty: direct
  std::string resolver_user = "openbits-resolver";  // the account it runs as for root's jobs
};

// The job's client certificate: found again (as the owner) when the transfer starts.
struct ClientCertificateRef {
  std::string directory;  // the store directory (cert_store.h)
  ClientCertificate certificate;
};

// What every transfer carries, whichever way the bytes go. DownloadRequest and
// UploadRequest embed it (as a base, so its fields read as their own); every member of
// theirs has an initializer, so `DownloadRequest{common}` builds one from this part.
struct TransferRequest {
  Guid job_id;
  std::uint32_t file_index = 0;
  // Downloads: http://, https://, file:// URL, or an absolute local path. Uploads: the
  // upload URL.
  std::string remote_name;
  Credentials owner;                       // every file-system operation runs as the owner
  std::string custom_headers;              // "Name: value\r\n...", sent on every request
  std::uint32_t security_flags = 0;        // BG_SSL_* and BG_HTTP_REDIRECT_POLICY_*
  std::chrono::seconds stall_timeout{60};  // no byte for this long: WINHTTP_TIMEOUT
  // SetCredentials: a 401 (407) whose challenge offers a scheme the job has credentials for
  // is answered once; a second one is the job's error (http_auth.h).
  std::vector<HttpCredential> credentials;
  ProxyContext proxy;
  std::string tls_ca_file;  // trust anchors besides the system's: empty = system bundle
  std::optional<ClientCertificateRef> client_certificate;
};

struct DownloadRequest : TransferRequest {
  // Absolute path of the temp file in the destination dir (".BIT<hex>.tmp"); created as the
  // owner if missing, relative to its directory opened with O_NOFOLLOW, never through a
  // symlink, mode 0666 & ~owner.creation_mask (open_file_for_writing, owner_path.h).
  std::string temp_name{};
  std::uint64_t durable_offset = 0;  // the temp file is truncated to this, then resumed
  RemoteValidators validators{};     // as recorded earlier (empty on first start)
  std::vector<FileRange> ranges{};   // AddFileWithRanges: written back to back; empty = all
  bool dynamic_content = false;      // no HEAD, no size needed, always from byte 0
  std::string http_method = "GET";   // a custom verb: no HEAD, always from byte 0
  std::uint64_t checkpoint_bytes = 8ull << 20;          // fdatasync + on_progress at least
  std::chrono::milliseconds checkpoint_interval{1000};  // every 8 MiB or every second
  // A server that ignores Range may be answered by starting the file again from byte 0
  // (foreground jobs, bits-spec §4); otherwise it is BG_E_INSUFFICIENT_RANGE_SUPPORT.
  bool restart_if_no_range_support = false;
  // The SHA-256 of the body as this transfer writes it (files the peer cache may keep):
  // reported by on_body_sha256 when every byte of the file was written, in order, by this
  // one transfer. A transfer that resumes from durable bytes reports none.
  bool hash_body = false;
  // Peer caching's client role (docs/peer-caching.md "Fetching"): after the origin's HEAD,
  // the bytes still missing are asked of the peers that hold this content (PeerSource),
  // the rest from the origin.
  bool from_peers = false;
};

// Where a download's bytes may come from besides the origin: the peers that hold a content
// (peer caching). Implemented over the peer client and the known peers (peer/
// peer_fetcher.h). Blocking calls, made off the engine thread; thread-safe.
class PeerSource {
 public:
  struct Holders {
    std::string key;                 // the content key (PeerCache::content_key)
    std::vector<std::string> peers;  // "host:port" of each peer that holds it, to ask in order
  };
  virtual ~PeerSource() = default;
  // The content named by the final URL and the origin's validators.
  virtual Holders holders(const std::string& url, const RemoteValidators& validators) = 0;
  // Exactly bytes [first, first + length) of `key` from `peer`, or nullopt (any error, a
  // miss, a body of another length).
  virtual std::optional<std::string> get_range(const std::string& peer, const std::string& key,
                                               std::uint64_t first, std::uint64_t length) = 0;
  // `peer` sent bytes of a file that failed the origin's digest: not to be asked again.
  virtual void distrust(const std::string& /*peer*/) {}
};

// What an upload request does (bits-spec §6): send the file (Create-Session, Fragments; a
// plain upload also closes its session), or only end a session.
enum class UploadKind { kUpload, kCloseSession, kCancelSession };

struct UploadRequest : TransferRequest {
  UploadKind kind = UploadKind::kUpload;
  std::string upload_file{};                  // read as the owner
  std::uint64_t acknowledged_bytes = 0;       // the bytes the server has acknowledged
  std::string session_id{};                   // empty: Create-Session first
  std::string host_id{};                      // BITS-Host-Id of the session
  std::string local_validators{};             // recorded "<size>:<mtime>"; empty on the first start
  bool want_reply = false;                    // upload-reply: the last Ack must name the reply
  std::uint64_t fragment_size = 16ull << 20;  // the largest fragment
};

// Every call happens on the engine thread, never with the engine's lock held; the observer
// may call start()/stop() from inside.
class TransferObserver {
 public:
  virtual ~TransferObserver() = default;
  // The server answered (HEAD ok / source opened): the job goes TRANSFERRING.
  virtual void on_connected(std::uint64_t token) = 0;
  // Right after on_connected. size = the remote size (sum of the ranges for ranged files;
  // kSizeUnknown for dynamic content without Content-Length). restarted: the temp file was
  // cut below the request's durable_offset (remote file changed, dynamic content or custom verb),
  // so progress starts again from 0.
  virtual void on_validators(std::uint64_t token, const RemoteValidators& validators,
                             bool restarted) = 0;
  // Downloads with from_peers: `bytes` more of the file came from peers; the on_progress
  // that follows makes them durable.
  virtual void on_peer_bytes(std::uint64_t /*token*/, std::uint64_t /*bytes*/) {}
  // Only after fdatasync of the temp file covers these bytes.
  virtual void on_progress(std::uint64_t token, std::uint64_t durable_bytes) = 0;
  // Downloads over HTTP: every byte is written and checked and the temp file is being
  // synced off the transfer path; on_complete (or on_error) follows once it is durable.
  // The job may start its next file meanwhile; `token` stays valid until then.
  virtual void on_written(std::uint64_t /*token*/) {}
  // Downloads with hash_body: the SHA-256 (hex) of every byte this transfer wrote, from
  // byte 0 to the last, just before on_written (or on_complete). Not sent when the hash
  // does not cover the whole file (resumed, or written out of order).
  virtual void on_body_sha256(std::uint64_t /*token*/, const std::string& /*sha256*/) {}
  // All bytes written and fdatasync'ed; temp file closed. last_modified_ms = server
  // Last-Modified (or the source's mtime), 0 if unknown.
  virtual void on_complete(std::uint64_t token, std::uint64_t total_bytes,
                           std::int64_t last_modified_ms) = 0;
  // The transfer is over; bytes written before a non-local failure are durable and were
  // reported through on_progress. retry_after_s: the server's Retry-After (0: none).
  virtual void on_error(std::uint64_t token, HRESULT code, ErrorContext context, bool transient,
                        std::uint32_t retry_after_s, const std::string& detail) = 0;
  // Just before on_error when the server explained its failure (an upload Ack's status,
  // BITS-Error-Code and text; printable ASCII, bounded): for the job's error description.
  virtual void on_server_reason(std::uint64_t /*token*/, const std::string& /*reason*/) {}
  // Uploads: the session in use (after Create-Session, or a new one after the server lost
  // the old) and the local file's validators; to be recorded before more bytes are sent.
  // fallback_s: BITS-Host-Id-Fallback-Timeout, 0xFFFFFFFF when the Ack had none.
  virtual void on_upload_session(std::uint64_t /*token*/, const std::string& /*session_id*/,
                                 const std::string& /*host_id*/, std::uint32_t /*fallback_s*/,
                                 const std::string& /*local_validators*/) {}
  // Uploads: the server acknowledged the last byte; reply_url for upload-reply. A plain
  // upload then closes its session and ends with on_complete; upload-reply ends at once.
  virtual void on_upload_sent(std::uint64_t /*token*/, const std::string& /*reply_url*/) {}
  // Downloads: the file's remote name changes to `url` (redirect policy ALLOW_REPORT: the
  // final URL after redirects; DISALLOW: the redirect's target, before the error).
  virtual void on_remote_name(std::uint64_t /*token*/, const std::string& /*url*/) {}
};

// What the core needs from a transfer engine; TransferEngine in production, a fake in
// unit tests. Every call is thread-safe and returns at once (the engine only enqueues).
class TransferBackend {
 public:
  virtual ~TransferBackend() = default;
  // A token, unique for the engine's life, that names the transfer in every observer call.
  virtual std::uint64_t start(DownloadRequest request) = 0;
  virtual std::uint64_t start(UploadRequest request) = 0;
  // Once processed, no observer call carries `token`; unknown or finished tokens are ignored.
  virtual void stop(std::uint64_t token) = 0;
  virtual void network_changed() {}
  // The transfer's rate budget in bytes per second from now on (0: unlimited), for as long
  // as it runs; applied in order with the token's start and stop. Unknown or finished
  // tokens are ignored.
  virtual void set_rate_limit(std::uint64_t token, std::uint64_t bytes_per_s) = 0;
  // Rate pools: transfers that share one budget. `pool` (not 0) is the caller's name for
  // one; its rate (0: unlimited) may change at any time and applies at once to every
  // transfer in it, also to a body being received. A token joins a pool for as long as it
  // runs (instead of any limit of its own), or until it joins another; pool 0 takes it out
  // of its pool (a job made FOREGROUND). A pool never named by set_pool_rate is unlimited.
  virtual void set_pool_rate(std::uint64_t /*pool*/, std::uint64_t /*bytes_per_s*/) {}
  virtual void join_rate_pool(std::uint64_t /*token*/, std::uint64_t /*pool*/) {}
};

}  // namespace openbits::daemon
