// JobManager: the queue of bitsd. Owns every JobRecord, enforces ownership and the BITS
// legality table (bits-spec §2.4), persists every change through the Store before
// answering, schedules transfers (foreground at once; background by priority, round robin)
// and applies the automatic transitions (§2.5) from TransferObserver events and tick().
//
// Threading: every public method locks one mutex. Transfer events arrive on the engine
// thread; RPCs and tick() on the event-loop thread. The backend's start()/stop() only
// enqueue, so calling them under the mutex cannot deadlock.
#pragma once

#include <array>
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
#include "src/daemon/core/job_record.h"
#include "src/daemon/core/store.h"
#include "src/daemon/platform/clock.h"
#include "src/daemon/platform/config.h"
#include "src/daemon/transfer/transfer.h"

namespace openbits::daemon {

// (job_files.cc) The HRESULT for an errno from a local file operation.
HRESULT hresult_from_errno(int err);
// (job_manager.cc) The temp name for a reply file; the destination check of downloads.
std::string reply_temp_name_for(const std::string& reply_file_name);
Status check_reply_destination(const Credentials& owner, const std::string& reply_file_name);
// AddFile of a file:// source, as the owner, without opening it: one that exists must not
// be a directory (E_INVALIDARG saying so); one that does not exist yet may appear later.
Status check_file_source(const Credentials& owner, const std::string& path);

// SetClientCertificateByID (hash) or ByName (subject).
struct ClientCertificateRequest {
  CertStoreLocation location = CertStoreLocation::kCurrentUser;
  std::string store_name;
  std::optional<std::array<std::uint8_t, 20>> hash;
  std::optional<std::string> subject;
};

class JobManager final : public TransferObserver {
 public:
  JobManager(Store& store, Clock& clock, Config config);
  void set_backend(TransferBackend* backend);
  // Receives a JobEvent after every change of a job (see job_events.h); set before load().
  void set_listener(JobListener* listener);

  // Loads the persisted queue: CONNECTING/TRANSFERRING jobs come back QUEUED and continue
  // from their recorded byte counts.
  Status load();

  Result<Guid> create_job(const Caller& caller, const std::string& display_name, JobType type);
  Result<JobInfo> get_job(const Caller& caller, const Guid& id);   // GetJob
  Result<JobInfo> job_info(const Caller& caller, const Guid& id);  // also final jobs
  Result<std::vector<JobInfo>> enum_jobs(const Caller& caller, bool all_users);
  Result<ErrorInfo> get_error(const Caller& caller, const Guid& id);
  // bitsadmin /util (job_manager_util.cc): the system proxy and what PRECONFIG means for
  // the caller; SQLite's integrity check of the store (administrators only).
  Result<ProxyReport> proxy_settings(const Caller& caller);
  Result<StoreCheck> check_store(const Caller& caller);

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
  static constexpr std::int64_t kMaxNetworkRetryFloorS = 60;
  void on_network_change(bool connected);
  void set_network_events(bool available);

  // TransferObserver (engine thread).
  void on_connected(std::uint64_t token) override;
  void on_validators(std::uint64_t token, const RemoteValidators& validators,
                     bool restarted) override;
  void on_progress(std::uint64_t token, std::uint64_t durable_bytes) override;
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

 private:
  enum class Access { kRead, kModify };
  Result<JobRecord*> find(const Caller& caller, const Guid& id, Access access);
  JobInfo snapshot(const JobRecord& job) const;
  Status persist(JobRecord& job);
  // Only the job row, for changes that touch no file (every file change was persisted
  // when it was made, so the stored file rows are current).
  Status persist_job_row(JobRecord& job);
  Status persist_progress(const JobRecord& job, std::uint32_t file_index);  // logs failures
  // The job changed: new modification time, event to listeners.
  void touch(JobRecord& job);
  // Progress, or a change by its owner (a property, a method call): touch() and restart
  // the inactivity timer (bits-spec §3.1 JobInactivityTimeout). Automatic transitions
  // (retries, errors) are not activity.
  void mark_active(JobRecord& job);
  void set_state(JobRecord& job, JobState state);
  void emit(const JobRecord& job, JobEvent::Kind kind = JobEvent::Kind::kChanged,
            std::uint32_t file_index = 0);
  // AddFile checks of a call's files; the index of the one refused goes to *failed_file.
  Status validate_new_files(const Caller& caller, const JobRecord& job,
                            const std::vector<FileSpec>& files, std::size_t* failed_file) const;
  Status validate_new_file(const Caller& caller, const JobRecord& job, const FileSpec& spec,
                           std::set<std::string>& locals) const;
  // max_ranges_per_job over the job's files and the new ones (admins exempt).
  Status check_range_total(const Caller& caller, const JobRecord& job,
                           const std::vector<FileSpec>& files) const;
  // Forgets the job's credentials, custom headers and client certificate (Cancel, Complete,
  // TakeOwnership): passwords are overwritten in memory and the store's rows deleted.
  void wipe_secrets(JobRecord& job);
  // A running file stops and the job goes back to QUEUED (the caller schedules), so the
  // next start carries the job's current settings; the file continues from its durable
  // bytes. False when nothing was running.
  bool restart_transfer(JobRecord& job);
  // After credentials or the client certificate changed: restart, persist, schedule.
  Status changed_secrets(JobRecord& job);

  // Scheduling (scheduler.cc).
  // What every transfer of the job carries: owner, headers, credentials, proxy, TLS.
  TransferRequest request_for(const JobRecord& job) const;
  void start_job(JobRecord& job);
  void stop_transfer(JobRecord& job);
  void schedule();
  void apply_timers(JobRecord& job);
  // JobInfo::next_retry_time: the retry timer of a TRANSIENT_ERROR job on the wall clock.
  std::int64_t next_retry_time(const JobRecord& job) const;
  // Whether a network change may queue this TRANSIENT_ERROR job now (the floor above).
  bool network_retry_due(JobRecord& job, std::int64_t now);
  void cancel_inactive(JobRecord& job);  // JobInactivityTimeout expired
  void enter_error(JobRecord& job, const ErrorInfo& error, bool transient,
                   std::uint32_t retry_after_s = 0);
  void finish_file(JobRecord& job, std::uint32_t index);
  bool over_download_size(JobRecord& job);
  JobRecord* by_token(std::uint64_t token);
  void account_download_time(JobRecord& job);
  void forget_final_jobs();

  // Upload and upload-reply jobs (job_upload.cc).
  bool start_upload_phase(JobRecord& job);  // false: nothing left, TRANSFERRED
  void cancel_upload(JobRecord& job);       // Cancel-Session, reply temp file deleted
  Status deliver_reply(JobRecord& job);     // Complete: the reply onto its name
  void upload_validators(JobRecord& job, const RemoteValidators& v, bool restarted);
  void upload_progress(JobRecord& job, std::uint64_t bytes);
  void upload_complete(JobRecord& job, std::uint64_t total_bytes);

  // File operations as the owner (job_files.cc).
  HRESULT delete_temp_files(const JobRecord& job, bool only_unfinished);
  Status deliver_files(JobRecord& job);
  // SetFileACLFlags for file:// sources: owner, group and mode of the source, applied to
  // the finished temp file as the job owner.
  Status apply_acl_flags(const JobRecord& job, const FileRecord& file);

  std::mutex mutex_;
  Store& store_;
  Clock& clock_;
  Config config_;
  TransferBackend* backend_ = nullptr;
  JobListener* listener_ = nullptr;
  std::map<Guid, std::unique_ptr<JobRecord>> jobs_;
  std::map<Guid, std::int64_t> finished_at_;  // final jobs kept for getters, and when
  std::map<std::uint64_t, Guid> tokens_;
  std::map<Guid, std::uint64_t> queue_order_;  // round robin: lower runs first
  std::uint64_t next_queue_order_ = 1;
  std::uint64_t next_creation_order_ = 1;  // JobRecord::creation_order
  bool network_events_ = false;            // a NetworkMonitor reports link changes
};

}  // namespace openbits::daemon
