// Manager-wide event streams; see queue_watch.h.
#include "src/daemon/notify/queue_watch.h"

#include <nlohmann/json.hpp>

#include "src/protocol/codec.h"
#include "src/protocol/rpc.h"

namespace openbits::daemon {
namespace {

namespace asio = boost::asio;
using nlohmann::json;

bool is_final(JobState s) { return s == JobState::kAcknowledged || s == JobState::kCancelled; }

// The event's JobInfo without its files: a job of many files and ranges would make every
// event megabytes long.
json job_params(const JobInfo& info, const char* reason = nullptr) {
  JobInfo copy = info;
  copy.files.clear();
  json params = {{"job_id", info.id}, {"job", copy}};
  if (reason) params["reason"] = reason;
  return params;
}

}  // namespace

QueueWatch::QueueWatch(asio::io_context& io) : io_(io) {}

QueueWatch::~QueueWatch() { *alive_ = false; }

void QueueWatch::job_event(JobEvent event) {
  if (event.kind != JobEvent::Kind::kChanged) return;
  asio::post(io_, [this, alive = alive_, event = std::move(event)] {
    if (*alive) handle(event);
  });
}

void QueueWatch::handle(const JobEvent& event) {
  namespace m = rpc::method;
  const JobInfo& info = event.info;
  auto known = jobs_.find(info.id);
  if (is_final(info.state)) {
    if (known == jobs_.end()) return;
    bool completed = info.state == JobState::kAcknowledged;
    notify(info.owner_uid, m::kQueueJobRemoved,
           [&] { return job_params(info, completed ? "completed" : "cancelled"); });
    jobs_.erase(known);
    return;
  }
  if (known == jobs_.end()) {
    jobs_[info.id] = {info.state, info.owner_uid};
    notify(info.owner_uid, m::kQueueJobAdded, [&] { return job_params(info, "created"); });
    return;
  }
  if (known->second.owner != info.owner_uid) {
    owner_changed(info, known->second.owner);
    known->second.owner = info.owner_uid;
  }
  if (known->second.state == info.state) return;
  known->second.state = info.state;
  notify(info.owner_uid, m::kQueueJobStateChanged, [&] { return job_params(info); });
}

// TakeOwnership: the old owner's subscribers lose the job (its id only: it is not theirs any
// more), the new owner's gain it.
void QueueWatch::owner_changed(const JobInfo& info, uid_t before) {
  namespace m = rpc::method;
  notify(
      before, m::kQueueJobRemoved,
      [&] {
        return json{{"job_id", info.id}, {"reason", "ownership"}};
      },
      &info.owner_uid);
  notify(
      info.owner_uid, m::kQueueJobAdded, [&] { return job_params(info, "ownership"); }, &before);
}

void QueueWatch::notify(uid_t owner, const char* method, const Params& params,
                        const uid_t* unless_owner) {
  std::string line;
  for (const auto& [connection, watcher] : watchers_) {
    if (!watcher.sees(owner) || (unless_owner && watcher.sees(*unless_owner))) continue;
    auto sender = connections_.find(connection);
    if (sender == connections_.end()) continue;
    if (line.empty()) {
      json message = {{"jsonrpc", "2.0"}, {"method", method}, {"params", params()}};
      line = message.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    }
    sender->second(line);
  }
}

void QueueWatch::connection_opened(std::uint64_t connection, Sender sender) {
  connections_[connection] = std::move(sender);
}

void QueueWatch::connection_closed(std::uint64_t connection) {
  connections_.erase(connection);
  watchers_.erase(connection);
}

void QueueWatch::subscribe(std::uint64_t connection, uid_t uid, bool all_users) {
  watchers_[connection] = {uid, all_users};
}

void QueueWatch::unsubscribe(std::uint64_t connection) { watchers_.erase(connection); }

}  // namespace openbits::daemon
