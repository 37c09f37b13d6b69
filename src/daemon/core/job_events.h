// What JobManager tells listeners about its jobs: a snapshot after every change (state,
// progress, properties, files) and the end of each file. The Notifier is the listener in
// bitsd. Plain data.
//
// Threading: job_event() is called with JobManager's mutex held, on the engine thread or
// the event-loop thread; a listener must only queue the event and return, never call
// back into JobManager from it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>

#include "openbits/types.h"

namespace openbits::daemon {

struct JobEvent {
  enum class Kind {
    kChanged,          // anything about the job changed; `info` is the state after it
    kFileTransferred,  // file `file_index` has every byte
  };
  Kind kind = Kind::kChanged;
  JobInfo info;
  // Who registered the notification command line (SetNotifyCmdLine), if anyone.
  std::optional<uid_t> cmd_uid;
  gid_t cmd_gid = 0;
  std::uint32_t file_index = 0;
};

class JobListener {
 public:
  virtual ~JobListener() = default;
  virtual void job_event(JobEvent event) = 0;
};

}  // namespace openbits::daemon
