// The daemon's record of a job: the public snapshot (JobInfo) plus what only the daemon
// needs (owner gid, remote validators per file, timers). Plain data; JobTable owns the
// records, guarded by JobManager's mutex.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "openbits/types.h"
#include "src/daemon/core/upload_step.h"
#include "src/daemon/security/fs_credentials.h"

namespace openbits::daemon {

// BITS-Host-Id without BITS-Host-Id-Fallback-Timeout: keep trying the host id for ever.
inline constexpr std::uint32_t kNeverFallBack = 0xFFFFFFFFu;

// One SetCredentials slot. Secrets: never part of JobInfo, sealed at rest (Store), wiped
// (wipe_credentials) on RemoveCredentials, Cancel, Complete and TakeOwnership.
struct CredentialRecord {
  AuthTarget target = AuthTarget::kServer;
  AuthScheme scheme = AuthScheme::kBasic;
  std::optional<std::string> user_name;  // nullopt: implicit (the owner's Kerberos tickets)
  std::optional<std::string> password;
  std::string ccache;  // implicit credentials: the owner's ticket cache, as found at SetCredentials
};

struct FileRecord {
  FileInfo info;
  // Validators of the remote file, as first seen; a change restarts the file.
  std::string etag;
  std::string last_modified;
  std::int64_t remote_mtime_ms = 0;  // Last-Modified, applied to the file on Complete
  bool transferred = false;          // every byte is durable in the temp file
  // SetValidationState(FALSE) on content that came from peers: fetched again from the
  // origin only (the transfer is not asked to use peers). Persisted (files.origin_only).
  bool origin_only = false;
  // The SHA-256 (hex) of the bytes the engine wrote into the temp file, from byte 0 to the
  // end, in one transfer (on_body_sha256); the peer cache takes the file only if its copy
  // hashes the same. In memory only: empty after a restart of bitsd or a resumed transfer.
  std::string received_sha256;

  // The durable byte count and, with it, GetPeerDownloadStats: the bytes that did not come
  // from peers came from the origin. Saved together by Store::save_progress.
  void set_bytes_transferred(std::uint64_t bytes) {
    info.progress.bytes_transferred = bytes;
    if (bytes < info.bytes_from_peers) info.bytes_from_peers = bytes;
    info.bytes_from_origin = bytes - info.bytes_from_peers;
    if (info.bytes_from_peers == 0) info.downloaded_from_peer = false;
  }
};

// The owner's credentials as read for (uid, fallback gid): a change of owner makes them stale.
struct CachedCredentials {
  uid_t uid = 0;
  gid_t fallback_gid = 0;
  Credentials credentials;
};

// Timers that live only while the daemon runs (monotonic clock).
struct JobTimers {
  std::int64_t retry_at_ms = 0;           // TRANSIENT_ERROR: when to go back to QUEUED
  std::int64_t retry_at_wall_ms = 0;      // the same on the wall clock (JobInfo)
  std::int64_t server_retry_at_ms = 0;    // the server's Retry-After: not before, even when
                                          // the network comes back
  std::int64_t no_progress_since_ms = 0;  // first transient error without progress since
  std::int64_t active_since_ms = 0;       // CONNECTING/TRANSFERRING: start of the current stint
  std::int64_t slice_started_ms = 0;      // background round robin
  std::uint64_t transfer_token = 0;       // engine token of the running transfer, 0 if none
  std::uint32_t transfer_file = 0;        // file index the token belongs to
  // Files whose bytes are all written, by engine token, while their fdatasync runs
  // (TransferObserver::on_written): not transferred until it ends.
  std::map<std::uint64_t, std::uint32_t> syncing_files;
  UploadStep upload_step;  // uploads: the running step (upload_step.h)
  // The last retry a network change caused (JobManager::on_network_change's floor).
  std::optional<std::int64_t> network_retry_ms;
  // Read once per run of the job, not per file: credentials_for reads /etc/passwd and
  // /etc/group. Dropped when the run stops, so a changed group list counts at the next one.
  std::optional<CachedCredentials> owner_credentials;
  // No file before this index is pending: next_file_to_start scans from here, not from 0
  // (O(n) per file made a job of n files cost n^2). Reset by stop_transfer, which every
  // path that un-transfers a file goes through.
  std::uint32_t first_pending_file = 0;
};

struct JobRecord {
  JobInfo info;
  // Rank in creation order (EnumJobs lists jobs in it): set at creation, and at load in
  // the store's order (creation time, then insertion). Not persisted.
  std::uint64_t creation_order = 0;
  gid_t owner_gid = 0;
  mode_t owner_umask = 022;           // the creator's umask (persisted since schema v4)
  bool ever_resumed = false;          // DYNAMIC_CONTENT etc. are frozen after the first Resume
  std::int64_t download_time_ms = 0;  // cumulative CONNECTING+TRANSFERRING time (persisted)
  std::int64_t last_activity_ms = 0;  // wall clock of the last progress or owner's change
                                      // (inactivity timeout; see JobManager::mark_active)
  JobTimers timers;
  // Upload and upload-reply jobs (bits-spec §6): the server's session, what the local file
  // looked like when the upload began (a change is BG_E_LOCAL_FILE_CHANGED), and the reply.
  struct Upload {
    std::string session_id;  // empty: no session yet
    std::string host_id;     // BITS-Host-Id: later packets go to this host
    std::uint32_t host_id_fallback_s = kNeverFallBack;  // BITS-Host-Id-Fallback-Timeout
    std::string local_validators;               // "<size>:<mtime sec>.<nsec>" of the local file
    bool sent = false;                          // every byte acknowledged
    std::string reply_url;                      // BITS-Reply-URL of the last Ack
    std::string reply_temp_name;                // the reply while it downloads
    bool reply_done = false;                    // the reply is on disk
    bool closed = false;                        // Close-Session acknowledged (or given up)
    std::int64_t host_id_failing_since_ms = 0;  // not persisted: fallback timer
  } upload;
  std::vector<CredentialRecord> credentials;
  // What the server said about the current error (TransferObserver::on_server_reason), shown
  // after the error's description; not persisted. `pending_error_reason` holds it between
  // on_server_reason and the on_error that follows.
  std::string error_reason;
  std::string pending_error_reason;
  // The creator's proxy environment (http_proxy, https_proxy, all_proxy, no_proxy; lower-case
  // names), read from its process at creation: what PRECONFIG means for this job.
  std::map<std::string, std::string> owner_environment;
  // Who registered the notification command line (it runs as that user).
  std::optional<uid_t> notify_cmd_uid;
  gid_t notify_cmd_gid = 0;

  bool is_final() const {
    return info.state == JobState::kAcknowledged || info.state == JobState::kCancelled;
  }
  bool is_active() const {
    return info.state == JobState::kConnecting || info.state == JobState::kTransferring;
  }
  // Index of the first file that is not yet transferred, if any.
  std::optional<std::uint32_t> next_pending_file() const {
    for (std::uint32_t i = 0; i < files.size(); ++i) {
      if (!files[i].transferred) return i;
    }
    return std::nullopt;
  }
  std::vector<FileRecord> files;
};

}  // namespace openbits::daemon
