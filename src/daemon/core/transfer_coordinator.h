// TransferCoordinator: the core's side of the transfer engine. It starts and stops engine
// transfers as the Scheduler decides, and turns the engine's events (the TransferObserver
// calls, forwarded by JobManager) and the timers (tick) into the automatic transitions of
// bits-spec §2.5: CONNECTING → TRANSFERRING → TRANSFERRED, ERROR and TRANSIENT_ERROR with
// their retries, the no-progress, maximum-download-time and inactivity limits, network
// changes. A download runs one transfer per file (transfer_coordinator.cc); an upload runs
// the steps of upload_step.h, each one transfer (job_upload.cc).
//
// It owns no record: jobs live in the JobTable, and every change goes through it.
// Threading: none of its own; every call is made under JobManager's mutex.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <variant>

#include "openbits/status.h"
#include "src/daemon/core/job_record.h"
#include "src/daemon/core/job_table.h"
#include "src/daemon/core/scheduler.h"
#include "src/daemon/platform/clock.h"
#include "src/daemon/platform/config.h"
#include "src/daemon/transfer/transfer.h"

namespace openbits::daemon {

class TransferCoordinator {
 public:
  // See JobManager::on_network_change.
  static constexpr std::int64_t kMaxNetworkRetryFloorS = 60;

  TransferCoordinator(JobTable& table, Clock& clock, const Config& config);
  void set_backend(TransferBackend* backend) { backend_ = backend; }
  void set_network_events(bool available) { network_events_ = available; }
  // The machine's peer-caching flags in force (0 while the peer cache is off); called under
  // JobManager's mutex.
  void set_machine_peer_flags(std::function<std::uint32_t()> flags) {
    machine_peer_flags_ = std::move(flags);
  }

  // Starts and stops transfers as the Scheduler decides.
  void schedule();
  // Stops the job's transfer, if any, and accounts its download time.
  void stop_transfer(JobRecord& job);
  // A running file stops and the job goes back to QUEUED (the caller schedules), so the
  // next start carries the job's current settings; the file continues from its durable
  // bytes. False when nothing was running.
  bool restart_transfer(JobRecord& job);
  // The job's priority changed: a running transfer moves to the new priority's rate pool
  // (out of any, for FOREGROUND) at once, not at its next file.
  void priority_changed(JobRecord& job);
  // Cancel of an upload: Cancel-Session to the server, the reply's temp file deleted.
  void cancel_upload(JobRecord& job);
  // Every ~250 ms: the timers of the jobs that have one running or may be inactive
  // (JobTable::timed(), idle_since(), in id order as the queue's), scheduling, final jobs
  // forgotten.
  void tick();
  // Shutdown: every transfer stops; jobs keep their persisted state.
  void stop_all();
  void on_network_change(bool connected);

  // Engine events (TransferObserver), stale tokens ignored.
  void on_connected(std::uint64_t token);
  void on_validators(std::uint64_t token, const RemoteValidators& validators, bool restarted);
  void on_progress(std::uint64_t token, std::uint64_t durable_bytes);
  void on_written(std::uint64_t token);
  void on_complete(std::uint64_t token, std::uint64_t total_bytes, std::int64_t last_modified_ms);
  void on_error(std::uint64_t token, HRESULT code, ErrorContext context, bool transient,
                std::uint32_t retry_after_s, const std::string& detail);
  void on_server_reason(std::uint64_t token, const std::string& reason);
  void on_upload_session(std::uint64_t token, const std::string& session_id,
                         const std::string& host_id, std::uint32_t fallback_s,
                         const std::string& local_validators);
  void on_upload_sent(std::uint64_t token, const std::string& reply_url);
  void on_remote_name(std::uint64_t token, const std::string& url);
  void on_body_sha256(std::uint64_t token, const std::string& sha256);
  void on_peer_bytes(std::uint64_t token, std::uint64_t bytes);

 private:
  // Scheduling.
  std::vector<ScheduleEntry> schedule_entries() const;
  void preempt(JobRecord& job);  // back to QUEUED, at the end of the queue
  // Bandwidth policy (docs/bandwidth.md): the pools' rates to the engine when they change;
  // a job blocked by a limit of 0, and unblocked once it is lifted.
  void apply_pool_rates(const std::vector<RateBudget>& pools);
  void block_by_policy(JobRecord& job);
  void unblock(JobRecord& job);
  // What every transfer of the job carries: owner, headers, credentials, proxy, TLS.
  TransferRequest request_for(JobRecord& job) const;
  static const Credentials& owner_credentials(JobRecord& job);  // cached for the run
  void start_job(JobRecord& job);
  // Hands the request to the engine; the job is CONNECTING (or stays TRANSFERRING).
  void launch(JobRecord& job, AnyRequest request, std::uint32_t file_index);
  void account_download_time(JobRecord& job);
  // The peer-caching roles both the job and the machine allow (0x1 client, 0x2 server).
  std::uint32_t peer_roles(const JobRecord& job) const;

  // Transitions.
  void enter_error(JobRecord& job, const ErrorInfo& error, bool transient,
                   std::uint32_t retry_after_s = 0);
  // The file `index` of `token` (the running one, or one that was syncing) is durable.
  void finish_file(JobRecord& job, std::uint32_t index, std::uint64_t token);
  // The first file neither transferred nor syncing; advances first_pending_file.
  static std::optional<std::uint32_t> next_file_to_start(JobRecord& job);
  bool over_download_size(JobRecord& job);
  void enter_transferred(JobRecord& job);
  void apply_timers(JobRecord& job);
  // The jobs of the tick's apply_timers(): every other job has nothing due.
  std::vector<JobRecord*> jobs_with_timers() const;
  void apply_retry_timers(JobRecord& job, std::int64_t now);
  void cancel_inactive(JobRecord& job);  // JobInactivityTimeout expired
  // Whether a network change may queue this TRANSIENT_ERROR job now (the floor).
  bool network_retry_due(JobRecord& job, std::int64_t now);
  // BITS-Host-Id unreachable for its fallback timeout: start over at the URL's host.
  void fall_back_to_original_host(JobRecord& job, ErrorContext context);
  ErrorInfo transfer_error(const JobRecord& job, HRESULT code, ErrorContext context) const;

  // Upload flow (job_upload.cc).
  bool start_upload_phase(JobRecord& job);  // next_upload_step; false: none, TRANSFERRED
  void upload_validators(JobRecord& job, const RemoteValidators& v, bool restarted);
  void upload_progress(JobRecord& job, std::uint64_t bytes);
  void upload_complete(JobRecord& job, std::uint64_t total_bytes);

  JobTable& table_;
  Clock& clock_;
  const Config& config_;
  TransferBackend* backend_ = nullptr;
  Scheduler scheduler_;
  bool network_events_ = false;            // a NetworkMonitor reports link changes
  std::vector<RateBudget> applied_pools_;  // what the engine was told last
  std::function<std::uint32_t()> machine_peer_flags_;
};

}  // namespace openbits::daemon
