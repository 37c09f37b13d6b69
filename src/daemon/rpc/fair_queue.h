// FairQueue: the order in which bitsd's RPC thread serves connections that have a request
// waiting. Round robin between uids, then between one uid's connections: a uid with a
// hundred busy connections gets one turn while another uid with one connection gets one
// too. Each connection is queued at most once (one request per turn); pure data, so it is
// tested without sockets.
//
// Threading: not thread-safe; used on the event loop's thread only.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <map>
#include <optional>

namespace openbits::daemon {

class FairQueue {
 public:
  // Queues a turn for `connection` of `uid`; no effect if it already has one.
  void push(uid_t uid, std::uint64_t connection);
  // The next connection to serve (its turn is used up), or nullopt when none waits.
  std::optional<std::uint64_t> pop();
  // Forgets the connection's turn (it closed).
  void remove(std::uint64_t connection);
  bool empty() const { return owner_.empty(); }
  std::size_t size() const { return owner_.size(); }

 private:
  std::deque<uid_t> uids_;                                  // uids with a turn, in order
  std::map<uid_t, std::deque<std::uint64_t>> connections_;  // each uid's waiting connections
  std::map<std::uint64_t, uid_t> owner_;                    // queued connection -> uid
};

}  // namespace openbits::daemon
