// JobManager: the queue of bitsd, the thin front the RPC dispatcher calls. It checks each
// call against ownership and the BITS legality table (bits-spec §2.4) and persists every
// change before answering; the work is done by its parts (docs/architecture.md):
//   JobTable             the records, lookup with ownership, change events, persistence;
//   TransferCoordinator  starts and stops transfers as the Scheduler decides, turns the
//                        engine's events and the timers into transitions (§2.5);
//   Scheduler            pure policy: which jobs run now (foreground at once; background
//                        by priority, round robin);
//   PeerCache            the copies of validated files this machine serves to peers
//                        (job_manager_peer.cc: filled at Complete and SetValidationState,
//                        administered by the peercache.* RPCs, served as a
//                        PeerContentSource).
//
// Threading: every public method locks one mutex, under which its parts run. Transfer
// events arrive on the engine thread; RPCs and tick() on the event-loop thread. The
// backend's start()/stop() only enqueue, so calling them under the mutex cannot deadlock.
// The peer cache's long file work (copying a file in, hashing records loaded at start-up)
// runs on its own TaskThread, which takes the mutex only around the cache's bookkeeping.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "openbits/status.h"
#include "openbits/types.h"
#include "src/daemon/core/caller.h"
#include "src/daemon/core/job_events.h"
#include "src/daemon/core/job_files.h"
#include "src/daemon/core/job_record.h"
#include "src/daemon/core/job_table.h"
#include "src/daemon/core/peer_cache.h"
#include "src/daemon/core/peer_content_source.h"
#include "src/daemon/core/store.h"
#include "src/daemon/core/task_thread.h"
#include "src/daemon/core/transfer_coordinator.h"
#include "src/daemon/platform/clock.h"
#include "src/daemon/platform/config.h"
#include "src/daemon/transfer/transfer.h"

namespace openbits::daemon {

// SetClientCertificateByID (hash) or ByName (subject).
struct ClientCertificateRequest {
  CertStoreLocation location = CertStoreLocation::kCurrentUser;
  std::string store_name;
  std::optional<std::array<std::uint8_t, 20>> hash;
  std::optional<std::string> subject;
};

// The peer cache's size limit and content age (bitsadmin /cache /getlimit ...).
struct PeerCacheLimits {
  std::uint32_t percent = 0;      // of the state directory's file system
  std::uint64_t limit_bytes = 0;  // that percentage in bytes (0: not measurable)
  std::uint64_t used_bytes = 0;
  std::int64_t expiration_s = 0;
};

class JobManager final : public TransferObserver, public PeerContentSource {
 public:
  // `state_dir` holds the peer cache's copies (<state_dir>/peercache); empty: the
  // directory of the store's database.
  JobManager(Store& store, Clock& clock, Config config, std::string state_dir = {});
  void set_backend(TransferBackend* backend);
  // Receives a JobEvent after every change of a job (see job_events.h); set before load().
  void set_listener(JobListener* listener);

  // Loads the persisted queue: CONNECTING/TRANSFERRING jobs come back QUEUED and continue
  // from their recorded byte counts. Then the peer cache: a failure there is logged and
  // leaves peer caching off (BG_E_PEERCACHING_DISABLED); records loaded are verified in
  // the background and not served before.
  Status load();

  Result<Guid> create_job(const Caller& caller, const std::string& display_name, JobType type);
  Result<JobInfo> get_job(const Caller& caller, const Guid& id);   // GetJob
  Result<JobInfo> job_info(const Caller& caller, const Guid& id);  // also final jobs
  // EnumJobs (job_manager_enum.cc): the caller's non-final jobs (every user's for an
  // administrator asking all_users), in creation order.
  Result<std::vector<JobInfo>> enum_jobs(const Caller& caller, bool all_users);
  // One page of them: the jobs after creation rank `after` (0: from the first) for as
  // long as `take` accepts them (a job it refuses ends the page and is not taken, so it
  // should accept the first). The rank of the last job taken when more may follow, else
  // nullopt. Jobs created meanwhile rank after every existing one; none is listed twice.
  using JobVisitor = std::function<bool(const JobInfo& job)>;
  Result<std::optional<std::uint64_t>> enum_jobs_page(const Caller& caller, bool all_users,
                                                      std::uint64_t after, const JobVisitor& take);
  Result<ErrorInfo> get_error(const Caller& caller, const Guid& id);
  // bitsadmin /util (job_manager_util.cc): the system proxy and what PRECONFIG means for
  // the caller; SQLite's integrity check of the store (administrators only).
  Result<ProxyReport> proxy_settings(const Caller& caller);
  Result<StoreCheck> check_store(const Caller& caller);
  // The bandwidth policy and the limits it puts in force now (docs/bandwidth.md).
  struct BandwidthNow {
    BandwidthPolicy policy;
    LimitsInForce in_force;
    WeekTime local_time;
  };
  BandwidthNow bandwidth_policy() const;

  // All or nothing; when one is refused, its index in `files` goes to *failed_file.
  Status add_files(const Caller& caller, const Guid& id, const std::vector<FileSpec>& files,
                   std::size_t* failed_file = nullptr);
  Status resume(const Caller& caller, const Guid& id);
  Status suspend(const Caller& caller, const Guid& id);
  Status cancel(const Caller& caller, const Guid& id);
  Status complete(const Caller& caller, const Guid& id);
  Status take_ownership(const Caller& caller, const Guid& id);
  Status set_property(const Caller& caller, const Guid& id, const std::string& name,
                      const nlohmann::json& value);
  // Credentials and client certificates (job_credentials.cc): only the owner may set them.
  Status set_credentials(const Caller& caller, const Guid& id, const AuthCredentials& credentials);
  Status remove_credentials(const Caller& caller, const Guid& id, AuthTarget target,
                            AuthScheme scheme);  // S_FALSE when the slot was empty
  Status set_client_certificate(const Caller& caller, const Guid& id,
                                const ClientCertificateRequest& request);
  Status remove_client_certificate(const Caller& caller, const Guid& id);
  Status replace_remote_prefix(const Caller& caller, const Guid& id, const std::string& old_prefix,
                               const std::string& new_prefix);
  Status set_remote_name(const Caller& caller, const Guid& id, std::uint32_t file_index,
                         const std::string& remote_name);
  Status set_validation_state(const Caller& caller, const Guid& id, std::uint32_t file_index,
                              bool valid);
  // GetReplyData: up to `length` bytes of the reply from `offset`, read as the owner;
  // upload-reply jobs in TRANSFERRED or ACKNOWLEDGED. A reply over kMaxReplyData is
  // BG_E_TOO_LARGE (bits-spec §1.3: the program must use the reply file). `*reply_size`
  // receives the whole reply's size on success and with BG_E_TOO_LARGE.
  static constexpr std::uint64_t kMaxReplyData = 1 << 20;
  Result<std::string> get_reply_data(const Caller& caller, const Guid& id, std::uint64_t offset,
                                     std::uint64_t length, std::uint64_t& reply_size);

  // Peer-cache administration (job_manager_peer.cc; IBitsPeerCacheAdministration). The
  // flags getter is for everyone; everything else is machine-wide, for administrators
  // only (E_ACCESSDENIED). BG_E_PEERCACHING_DISABLED when the cache could not be loaded.
  Result<std::uint32_t> peer_caching_flags(const Caller& caller);
  // BG_S_OVERRIDDEN_BY_POLICY when saved but the config's peer_caching_flags differs.
  Status set_peer_caching_flags(const Caller& caller, std::uint32_t flags);
  Result<std::vector<PeerCacheRecord>> cache_records(const Caller& caller);
  Result<PeerCacheRecord> cache_record(const Caller& caller, const Guid& id);
  Status delete_cache_record(const Caller& caller, const Guid& id);
  Status delete_cache_url(const Caller& caller, const std::string& url);
  Status clear_cache(const Caller& caller);
  Result<PeerCacheLimits> cache_limits(const Caller& caller);
  Status set_cache_limit(const Caller& caller, std::uint32_t percent);
  Status set_cache_expiration(const Caller& caller, std::int64_t seconds);
  // Returns once the peer cache's background work posted so far is done (tests).
  void wait_peer_cache_idle() { peer_worker_.wait_idle(); }

  // PeerContentSource (the peer server's threads).
  bool serving_enabled() override;
  Result<PeerCache::Lease> begin_serve(const std::string& key) override;
  void end_serve(const Guid& id) override;

  // Automatic transitions and scheduling; the daemon calls it every ~250 ms.
  void tick();
  // Stops every transfer (shutdown); jobs keep their persisted state.
  void stop_all();
  // A link, address or route changed (NetworkMonitor, once per burst of changes):
  // transfers whose server became unreachable end with BG_E_NETWORK_DISCONNECTED; when
  // something came up (`connected`), every TRANSIENT_ERROR job is queued again, but a job
  // at most once per min(its retry delay, kMaxNetworkRetryFloorS) (a change sooner than
  // that moves its retry to the end of that floor); jobs disconnected from the network
  // have no floor. With set_network_events(true), those wait for this instead of their
  // retry delay.
  static constexpr std::int64_t kMaxNetworkRetryFloorS =
      TransferCoordinator::kMaxNetworkRetryFloorS;
  void on_network_change(bool connected);
  void set_network_events(bool available);

  // TransferObserver (engine thread).
  void on_connected(std::uint64_t token) override;
  void on_validators(std::uint64_t token, const RemoteValidators& validators,
                     bool restarted) override;
  void on_progress(std::uint64_t token, std::uint64_t durable_bytes) override;
  void on_written(std::uint64_t token) override;
  void on_complete(std::uint64_t token, std::uint64_t total_bytes,
                   std::int64_t last_modified_ms) override;
  void on_error(std::uint64_t token, HRESULT code, ErrorContext context, bool transient,
                std::uint32_t retry_after_s, const std::string& detail) override;
  void on_server_reason(std::uint64_t token, const std::string& reason) override;
  void on_upload_session(std::uint64_t token, const std::string& session_id,
                         const std::string& host_id, std::uint32_t fallback_s,
                         const std::string& local_validators) override;
  void on_upload_sent(std::uint64_t token, const std::string& reply_url) override;
  void on_remote_name(std::uint64_t token, const std::string& url) override;
  void on_body_sha256(std::uint64_t token, const std::string& sha256) override;
  void on_peer_bytes(std::uint64_t token, std::uint64_t bytes) override;

 private:
  // For the method files (job_properties.cc, job_credentials.cc): the parts' calls.
  using Access = JobTable::Access;
  Result<JobRecord*> find(const Caller& caller, const Guid& id, Access access) {
    return table_.find(caller, id, access);
  }
  Status persist(JobRecord& job) { return table_.persist(job); }
  Status persist_job_row(JobRecord& job) { return table_.persist_job_row(job); }
  void mark_active(JobRecord& job) { table_.mark_active(job); }
  void set_state(JobRecord& job, JobState state) { table_.set_state(job, state); }
  void schedule() { coordinator_.schedule(); }
  void stop_transfer(JobRecord& job) { coordinator_.stop_transfer(job); }
  bool restart_transfer(JobRecord& job) { return coordinator_.restart_transfer(job); }
  void priority_changed(JobRecord& job) { coordinator_.priority_changed(job); }

  // AddFile checks of a call's files; the index of the one refused goes to *failed_file.
  Status validate_new_files(const Caller& caller, const JobRecord& job,
                            const std::vector<FileSpec>& files, std::size_t* failed_file) const;
  Status validate_new_file(const Caller& caller, const JobRecord& job, const FileSpec& spec,
                           std::set<std::string>& locals) const;
  // max_ranges_per_job over the job's files and the new ones (admins exempt).
  Status check_range_total(const Caller& caller, const JobRecord& job,
                           const std::vector<FileSpec>& files) const;
  void append_files(JobRecord& job, const std::vector<FileSpec>& files);
  // Resume of a stopped job: timers and error cleared, QUEUED (TRANSFERRED if nothing is
  // left) at the end of the queue.
  void requeue(JobRecord& job);
  // Complete whose delivery failed: the job stays TRANSFERRED.
  Status delivery_failed(JobRecord& job, Status delivered);
  // Forgets the job's credentials, custom headers and client certificate (Cancel, Complete,
  // TakeOwnership): passwords are overwritten in memory and the store's rows deleted.
  void wipe_secrets(JobRecord& job);
  // After credentials or the client certificate changed: restart, persist, schedule.
  Status changed_secrets(JobRecord& job);

  // JobInfo::owner_name of `uid`: the passwd database is asked at most once per
  // kUserNameTtlMs per uid (a create does not read /etc/passwd). Only shown, never used to
  // decide access, so a stale name misleads for that long at most.
  static constexpr std::int64_t kUserNameTtlMs = 10'000;
  const std::string& owner_name(uid_t uid);
  // The peer cache (job_manager_peer.cc). A candidate is one validated file that may be
  // cached, its content opened as the owner (so the copy can run without the mutex).
  // received_sha256: what the engine wrote (FileRecord::received_sha256); the copy must
  // hash the same.
  struct CacheCandidate {
    PeerCacheRecord record;
    UniqueFd source;
    std::string received_sha256;
  };
  void load_peer_cache();
  Status check_peer_cache_admin(const Caller& caller) const;
  bool caches_files_of(const JobRecord& job) const;
  // The job's files that go into the cache now (job and machine server bit; never what
  // docs/peer-caching.md excludes), `only` one of them, opened as the owner.
  std::vector<CacheCandidate> cache_candidates(const JobRecord& job,
                                               std::optional<std::uint32_t> only = std::nullopt);
  void post_cache_adds(std::vector<CacheCandidate> candidates);
  // SetValidationState(FALSE): the cache's record of the file's content goes.
  void evict_cached(const JobRecord& job, const FileRecord& file);
  void add_to_cache(CacheCandidate& candidate);  // on peer_worker_
  void verify_loaded_records();                  // on peer_worker_
  void expire_peer_cache();                      // from tick(), at most once a minute

  std::mutex mutex_;
  std::map<uid_t, std::pair<std::int64_t, std::string>> user_names_;  // looked up at, name
  Store& store_;
  Clock& clock_;
  Config config_;
  JobTable table_;
  TransferCoordinator coordinator_;
  PeerCache peer_cache_;
  bool peer_cache_ready_ = false;  // load() succeeded
  std::optional<std::int64_t> last_expire_ms_;
  TaskThread peer_worker_;  // last: joined before the members its tasks use go
};

}  // namespace openbits::daemon
