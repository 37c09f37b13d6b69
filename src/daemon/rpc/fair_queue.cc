// Round robin per uid; see fair_queue.h.
#include "src/daemon/rpc/fair_queue.h"

#include <algorithm>

namespace openbits::daemon {

void FairQueue::push(uid_t uid, std::uint64_t connection) {
  if (!owner_.emplace(connection, uid).second) return;
  auto& waiting = connections_[uid];
  if (waiting.empty()) uids_.push_back(uid);
  waiting.push_back(connection);
}

std::optional<std::uint64_t> FairQueue::pop() {
  if (uids_.empty()) return std::nullopt;
  uid_t uid = uids_.front();
  uids_.pop_front();
  auto found = connections_.find(uid);
  std::uint64_t connection = found->second.front();
  found->second.pop_front();
  if (found->second.empty()) {
    connections_.erase(found);
  } else {
    uids_.push_back(uid);  // its next connection waits for the other uids' turns
  }
  owner_.erase(connection);
  return connection;
}

void FairQueue::remove(std::uint64_t connection) {
  auto owner = owner_.find(connection);
  if (owner == owner_.end()) return;
  uid_t uid = owner->second;
  owner_.erase(owner);
  auto found = connections_.find(uid);
  auto& waiting = found->second;
  waiting.erase(std::find(waiting.begin(), waiting.end(), connection));
  if (waiting.empty()) {
    connections_.erase(found);
    uids_.erase(std::find(uids_.begin(), uids_.end(), uid));
  }
}

}  // namespace openbits::daemon
