// openbits/client.h: the client API of openbits (libopenbits).
//
// Manager is a connection to bitsd; Job and File are handles naming a job (by GUID) or a
// file (by job and index) on that connection. Every call is one RPC round trip; getters
// return live values read from the daemon. Errors come back as Status/Result carrying the
// daemon's HRESULT (BG_E_*, E_ACCESSDENIED...). Success codes other than S_OK (for example
// BG_S_PARTIAL_COMPLETE from complete()) are returned in an ok Status.
//
// Threading: a Manager and the Job/File handles made from it share one connection; calls
// from several threads are serialised internally. Handles stay valid while their Manager
// lives.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "openbits/export.h"
#include "openbits/names.h"
#include "openbits/status.h"
#include "openbits/types.h"

namespace openbits {

class Connection;  // internal: the RPC channel
class Job;
class File;
class PeerCacheAdmin;

// IBackgroundCopyCallback/2/3: what a program hears about a job it registered for with
// Job::set_callback(). Calls arrive from Manager::process_events() on the thread that
// calls it. Which calls come is chosen by the job's notify flags (0x1 transferred, 0x2
// error, 0x8 modification, 0x10 file transferred, 0x20 file ranges; 0x4 disables all).
// transferred(), error() and file_transferred() must return S_OK once the program has dealt with
// the event (typically by calling complete() or cancel()); any failure, a program that is gone or
// one that does not answer makes bitsd run the job's notification command line instead (and
// stop calling this callback for the job), or, without a command line, call again after the
// job's minimum retry delay (bits-spec §1.7). modification() is rate-limited by the job's
// minimum notification interval (default 500 ms) and never reports the change to ERROR or
// TRANSFERRED.
class OPENBITS_EXPORT JobCallback {
 public:
  virtual ~JobCallback() = default;
  virtual Status transferred(Job& job);
  virtual Status error(Job& job, const ErrorInfo& error);
  virtual void modification(Job& job, const JobInfo& info);
  // One file finished; called in file order, each after the previous one returned S_OK,
  // all before transferred()/error() (a failure makes bitsd call again later, and
  // transferred() waits; or the command line takes over, as above).
  virtual Status file_transferred(Job& job, const FileInfo& file);
  // Ranges of a ranged (on-demand) file that completed since the previous call.
  virtual void file_ranges_transferred(Job& job, std::uint32_t file_index,
                                       const std::vector<FileRange>& ranges);
};

// A snapshot cursor with the semantics of IEnumBackgroundCopyJobs/Files: the items are
// fixed when the enumerator is made (later jobs do not appear), the position moves with
// next()/skip(), reset() rewinds, clone() copies the position, count() is the snapshot size.
template <typename T>
class Enumerator {
 public:
  explicit Enumerator(std::vector<T> items) : items_(std::move(items)) {}
  // Appends up to `count` items to `out`: S_OK when exactly `count` came, else S_FALSE.
  Status next(std::size_t count, std::vector<T>& out) {
    std::size_t n = 0;
    for (; n < count && position_ < items_.size(); ++n) out.push_back(items_[position_++]);
    return Status::ok_status(n == count ? hr::S_OK : hr::S_FALSE);
  }
  // S_OK when `count` items could be skipped, S_FALSE when the end came first.
  Status skip(std::size_t count) {
    bool whole = items_.size() - position_ >= count;
    position_ = whole ? position_ + count : items_.size();
    return Status::ok_status(whole ? hr::S_OK : hr::S_FALSE);
  }
  void reset() { position_ = 0; }
  Enumerator clone() const { return *this; }
  std::size_t count() const { return items_.size(); }

 private:
  std::vector<T> items_;
  std::size_t position_ = 0;
};

// A change in the queue, from Manager::next_queue_event(): a job was added, changed state,
// or left the queue. `job` has no files; a job removed by TakeOwnership has only `job.id`.
struct QueueEvent {
  enum class Kind { kAdded, kStateChanged, kRemoved };
  Kind kind = Kind::kAdded;
  JobInfo job;
  // kAdded: "created" or "ownership" (taken over by the caller); kRemoved: "completed",
  // "cancelled" or "ownership" (taken over by someone the caller may not watch); else empty.
  std::string reason;
};

class OPENBITS_EXPORT Manager {
 public:
  // Connects to bitsd. An empty path means: $OPENBITS_SOCKET, else the system socket
  // /run/openbits/bitsd.sock if it exists, else $XDG_RUNTIME_DIR/openbits/bitsd.sock.
  static Result<Manager> connect(const std::string& socket_path = {});
  // The socket path connect() would use for an empty argument.
  static std::string default_socket_path();

  Result<Job> create_job(std::string_view display_name, JobType type = JobType::kDownload);
  // GetJob: BG_E_NOT_FOUND when unknown or final, E_ACCESSDENIED for another user's job.
  Result<Job> get_job(const Guid& id);
  // EnumJobs: the caller's non-final jobs (all users': admins only), in creation order.
  // Read in pages, so a job created or cancelled meanwhile may or may not be listed; none
  // is listed twice.
  Result<std::vector<JobInfo>> enum_jobs(bool all_users = false);
  // EnumJobs as a cursor over job handles.
  Result<Enumerator<Job>> enum_job_handles(bool all_users = false);
  Result<std::string> error_description(HRESULT code);
  Result<std::string> daemon_version();
  // The system proxy and what PRECONFIG means for the caller (daemon.proxy_settings).
  Result<ProxyReport> proxy_settings();
  // Runs SQLite's integrity check on bitsd's store (daemon.check_store); administrators only
  // (E_ACCESSDENIED otherwise).
  Result<StoreCheck> check_store();
  PeerCacheAdmin peer_cache();
  // The bandwidth policy in force now (openbits extension; docs/bandwidth.md).
  Result<BandwidthPolicyReport> bandwidth_policy();
  // Waits up to `timeout` for notifications of jobs that have a callback (Job::set_callback)
  // and calls the callbacks, answering transferred/error with what they returned. Returns
  // how many notifications were handled (0 when the timeout passed).
  Result<std::size_t> process_events(std::chrono::milliseconds timeout);
  // Starts the queue's event stream on this connection: every creation, state change and
  // removal of the caller's jobs (every user's with all_users: administrators only, else
  // E_ACCESSDENIED), each once, in order. Events that come meanwhile wait for
  // next_queue_event(); process_events() leaves them alone.
  Status watch_queue(bool all_users = false);
  Status unwatch_queue();
  // The next queue event, waiting up to `timeout`; nullopt when none came.
  Result<std::optional<QueueEvent>> next_queue_event(std::chrono::milliseconds timeout);

 private:
  friend class Job;
  friend class File;
  explicit Manager(std::shared_ptr<Connection> connection);
  std::shared_ptr<Connection> connection_;
};

// IBitsPeerCacheAdministration: the machine's peer cache and the peers it knows
// (docs/peer-caching.md). The flags getter and peers() are for everyone; everything else
// is for administrators only (E_ACCESSDENIED). From Manager::peer_cache().
class OPENBITS_EXPORT PeerCacheAdmin {
 public:
  Result<std::uint32_t> configuration_flags();
  // S_OK, or BG_S_OVERRIDDEN_BY_POLICY when saved but the config's policy differs.
  Status set_configuration_flags(std::uint32_t flags);
  Result<std::vector<CacheRecord>> records();
  Result<CacheRecord> record(const Guid& id);
  Status delete_record(const Guid& id);  // BG_E_BUSYCACHERECORD while it is served
  Status delete_url(std::string_view url);
  Status clear();
  Result<CacheLimits> limits();                          // percent, bytes, used, content age
  Status set_maximum_cache_size(std::uint32_t percent);  // 1..80, else E_INVALIDARG
  Status set_maximum_content_age(std::int64_t seconds);  // 86400..10368000
  Result<std::vector<KnownPeer>> peers();
  Status discover_peers();
  Status clear_peers();

 private:
  friend class Manager;
  explicit PeerCacheAdmin(std::shared_ptr<Connection> connection);
  std::shared_ptr<Connection> connection_;
};

class OPENBITS_EXPORT File {
 public:
  std::uint32_t index() const { return index_; }
  Result<FileInfo> info() const;  // names, temp name, progress, ranges, validation
  Status set_remote_name(std::string_view url);
  Status set_validation_state(bool valid);
  // IBackgroundCopyFile3/4 (client_peer.cc): E_PENDING until the file finished.
  Result<bool> validation_state() const;
  Result<bool> is_downloaded_from_peer() const;
  Result<PeerDownloadStats> peer_download_stats() const;

 private:
  friend class Job;
  File(std::shared_ptr<Connection> connection, Guid job_id, std::uint32_t index);
  std::shared_ptr<Connection> connection_;
  Guid job_id_;
  std::uint32_t index_;
};

class OPENBITS_EXPORT Job {
 public:
  const Guid& id() const { return id_; }

  // Everything the getters of IBackgroundCopyJob..Job5 expose, in one snapshot.
  Result<JobInfo> info() const;
  Result<JobState> state() const;
  Result<JobProgress> progress() const;
  Result<std::vector<File>> files() const;  // EnumFiles, insertion order
  Result<Enumerator<File>> enum_files() const;
  // GetError: BG_E_ERROR_INFORMATION_UNAVAILABLE unless in ERROR/TRANSIENT_ERROR.
  Result<ErrorInfo> error() const;

  Status add_file(std::string_view remote_url, std::string_view local_name);
  // All or nothing. When the daemon refuses one of the files, its index in `files` goes to
  // *failed_file (left as it was for failures of the whole call).
  Status add_file_set(const std::vector<FileSpec>& files, std::size_t* failed_file = nullptr);
  Status add_file_with_ranges(std::string_view remote_url, std::string_view local_name,
                              const std::vector<FileRange>& ranges);
  Status replace_remote_prefix(std::string_view old_prefix, std::string_view new_prefix);

  Status resume();
  Status suspend();
  Status cancel();    // S_OK or BG_S_UNABLE_TO_DELETE_FILES
  Status complete();  // S_OK or BG_S_PARTIAL_COMPLETE
  Status take_ownership();

  Status set_display_name(std::string_view name);
  Status set_description(std::string_view text);
  Status set_priority(JobPriority priority);
  Status set_notify_flags(std::uint32_t flags);
  // Both nullopt clears the command line.
  Status set_notify_cmd_line(const std::optional<std::string>& program,
                             const std::optional<std::string>& parameters);
  Status set_minimum_retry_delay(std::uint32_t seconds);
  Status set_no_progress_timeout(std::uint32_t seconds);
  Status set_maximum_download_time(std::uint32_t seconds);
  Status set_proxy_settings(ProxyUsage usage, const std::optional<std::string>& proxy_list,
                            const std::optional<std::string>& bypass_list);
  Status set_file_acl_flags(std::uint32_t flags);
  Status set_peer_caching_flags(std::uint32_t flags);
  Status set_security_flags(std::uint32_t flags);
  // SetCredentials: one slot per (target, scheme); setting it again replaces it. Used only
  // when the server (or proxy) challenges with that scheme; never readable back.
  // RemoveCredentials: S_OK, or S_FALSE when the slot was empty.
  Status set_credentials(const AuthCredentials& credentials);
  Status remove_credentials(AuthTarget target, AuthScheme scheme);
  // IBackgroundCopyJobHttpOptions: the client certificate for TLS, found now (as the job
  // owner) in the store directory of `location` (see CertStoreLocation) by SHA-1 hash or
  // by subject (a substring of the one-line subject, or the common name). Shown in
  // JobInfo::client_certificate.
  Status set_client_certificate_by_id(CertStoreLocation location, std::string_view store_name,
                                      const std::array<std::uint8_t, 20>& hash);
  Status set_client_certificate_by_name(CertStoreLocation location, std::string_view store_name,
                                        std::string_view subject);
  Status remove_client_certificate();
  Status set_custom_headers(const std::optional<std::string>& headers);  // nullopt clears
  Status make_custom_headers_write_only();
  Status set_http_method(std::string_view method);
  Status set_dynamic_content(bool enable);
  Status set_high_performance(bool enable);
  Status set_max_download_size(std::uint64_t bytes);
  // Upload-reply jobs (IBackgroundCopyJob2): SetReplyFileName (nullopt: the default,
  // "<local file>.reply"). The reply's name and progress are in JobInfo.
  Status set_reply_file_name(const std::optional<std::string>& path);
  // GetReplyData: the whole reply, in TRANSFERRED or after Complete (empty when the server
  // application sent none). A reply larger than kMaxReplyData (1 MiB) is not returned:
  // BG_E_TOO_LARGE, and the program reads the reply file after Complete instead. Like
  // GetReplyData's length argument, `*reply_size` (when given) receives the reply's real
  // size both on success and with BG_E_TOO_LARGE.
  static constexpr std::uint64_t kMaxReplyData = 1 << 20;
  Result<std::vector<std::uint8_t>> reply_data(std::uint64_t* reply_size = nullptr) const;
  Status set_minimum_notification_interval(std::uint32_t milliseconds);
  // SetNotifyInterface: this connection receives the job's notifications (the last
  // connection to register wins); nullptr unregisters. Events that happened before the
  // registration are delivered too. BG_E_INVALID_STATE on ACKNOWLEDGED/CANCELLED jobs.
  Status set_callback(const std::shared_ptr<JobCallback>& callback);

 private:
  friend class Manager;
  Job(std::shared_ptr<Connection> connection, Guid id);
  Status set_property(std::string_view name, const std::string& json_value);
  std::shared_ptr<Connection> connection_;
  Guid id_;
};

// JobInfo as the JSON object the RPC uses (docs/rpc-spec.md); indent < 0 is compact.
OPENBITS_EXPORT std::string to_json(const JobInfo& info, int indent = 2);
// {"records": [...]} and {"peers": [...]} as peercache.list_records and peers.list answer.
OPENBITS_EXPORT std::string to_json(const std::vector<CacheRecord>& records, int indent = 2);
OPENBITS_EXPORT std::string to_json(const std::vector<KnownPeer>& peers, int indent = 2);
OPENBITS_EXPORT std::string to_json(const CacheRecord& record, int indent = 2);

}  // namespace openbits
