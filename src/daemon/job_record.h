// The daemon's record of a job: the public snapshot (JobInfo) plus what only the daemon
// needs (owner gid, remote validators per file, timers). Plain data; JobManager owns the
// records and guards them with its mutex.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "openbits/types.h"

namespace openbits::daemon {

struct FileRecord {
  FileInfo info;
  // Validators of the remote file, as first seen; a change restarts the file.
  std::string etag;
  std::string last_modified;
  std::int64_t remote_mtime_ms = 0;  // Last-Modified, applied to the file on Complete
  bool transferred = false;          // every byte is durable in the temp file
};

// Timers that live only while the daemon runs (monotonic clock).
struct JobTimers {
  std::int64_t retry_at_ms = 0;           // TRANSIENT_ERROR: when to go back to QUEUED
  std::int64_t no_progress_since_ms = 0;  // first transient error without progress since
  std::int64_t active_since_ms = 0;       // CONNECTING/TRANSFERRING: start of the current stint
  std::int64_t slice_started_ms = 0;      // background round robin
  std::uint64_t transfer_token = 0;       // engine token of the running transfer, 0 if none
  std::uint32_t transfer_file = 0;        // file index the token belongs to
};

struct JobRecord {
  JobInfo info;
  gid_t owner_gid = 0;
  mode_t owner_umask = 022;           // the creator's umask; not persisted (022 after a restart)
  bool ever_resumed = false;          // DYNAMIC_CONTENT etc. are frozen after the first Resume
  std::int64_t download_time_ms = 0;  // cumulative CONNECTING+TRANSFERRING time (persisted)
  std::int64_t last_activity_ms = 0;  // wall clock of the last progress or change (inactivity)
  JobTimers timers;

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
