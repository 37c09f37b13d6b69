// QueueWatch: manager-wide event streams (manager.subscribe, docs/rpc-spec.md). A
// connection that subscribed hears, for every job it may see (its own; every user's with
// all_users, which the dispatcher grants to administrators only), when the job is added
// (created, or taken over), each change of its state, and its removal (completed,
// cancelled, or taken over by another user), in the order JobManager made the changes.
// Events carry a JobInfo without its files (bounded size); a removal by TakeOwnership
// carries only the job id.
//
// Threading: job_event() may be called from any thread and only posts to the io_context;
// everything else runs on the io_context's thread.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <utility>
#include <vector>

#include "src/common/asio.h"
#include "src/daemon/core/job_events.h"

namespace openbits::daemon {

class QueueWatch final : public JobListener {
 public:
  // Sends one line on a connection; false when the connection is gone.
  using Sender = std::function<bool(const std::string& line)>;

  explicit QueueWatch(boost::asio::io_context& io);
  ~QueueWatch() override;

  void job_event(JobEvent event) override;

  void connection_opened(std::uint64_t connection, Sender sender);
  void connection_closed(std::uint64_t connection);
  // The dispatcher checks all_users against the caller's privilege first.
  void subscribe(std::uint64_t connection, uid_t uid, bool all_users);
  void unsubscribe(std::uint64_t connection);

 private:
  struct Watcher {
    uid_t uid = 0;
    bool all_users = false;
    bool sees(uid_t owner) const { return all_users || uid == owner; }
  };
  struct Known {
    JobState state = JobState::kSuspended;
    uid_t owner = 0;
  };

  void handle(const JobEvent& event);
  void owner_changed(const JobInfo& info, uid_t before);
  // Sends `method` to every subscriber that may see jobs of `owner` (and, with
  // `unless_owner`, may not see those of *unless_owner). `params` is called only when
  // someone will hear it: most events of a big queue have no subscriber.
  using Params = std::function<nlohmann::json()>;
  void notify(uid_t owner, const char* method, const Params& params,
              const uid_t* unless_owner = nullptr);

  boost::asio::io_context& io_;
  std::map<Guid, Known> jobs_;
  std::map<std::uint64_t, Sender> connections_;
  std::map<std::uint64_t, Watcher> watchers_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// Passes every event to two listeners (the Notifier, then the QueueWatch), in order. The
// second never reads a job's files: it gets the event without them, not a copy of every
// FileInfo (a job of many files sends several events per file).
class JobListenerFanOut final : public JobListener {
 public:
  JobListenerFanOut(JobListener& first, JobListener& without_files)
      : first_(first), second_(without_files) {}
  void job_event(JobEvent event) override {
    std::vector<FileInfo> files = std::move(event.info.files);
    event.info.files.clear();
    JobEvent light = event;
    event.info.files = std::move(files);
    first_.job_event(std::move(event));
    second_.job_event(std::move(light));
  }

 private:
  JobListener& first_;
  JobListener& second_;
};

}  // namespace openbits::daemon
