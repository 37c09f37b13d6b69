// RpcServer: the Unix-socket front of bitsd. Accepts connections, reads newline-framed
// JSON-RPC messages (at most rpc::kMaxMessageBytes each), takes the caller's identity
// from SO_PEERCRED, and answers through the Dispatcher in request order. Connections are
// capped per uid and in total (root is never refused by the total); when accept(2) fails
// (out of descriptors) it waits kAcceptRetry before trying again instead of spinning.
//
// Fairness and memory: requests are served one at a time, round robin between uids and
// then between a uid's connections (FairQueue); a connection has at most one request
// waiting for its turn and is not read further until that one is answered. Replies and
// events waiting to be written are capped in bytes per connection and per uid: over a
// budget, the connection is neither served nor read until its peer reads. A request from
// a peer that closed its connection (POLLHUP) is dropped unserved.
//
// Threading: runs entirely on the io_context's thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "openbits/status.h"
#include "src/common/asio.h"
#include "src/daemon/rpc/dispatcher.h"

namespace openbits::daemon {

class RpcServer {
 public:
  struct Options {
    std::string socket_path;
    unsigned mode = 0666;           // anyone may connect; the daemon decides
    std::optional<uid_t> only_uid;  // user instance: refuse other uids
    std::optional<gid_t> admin_gid;
    std::size_t max_connections_per_uid = 128;
    // All connections, every uid counted; uid 0 is never refused by this cap (only by
    // the per-uid one), so an administrator can always get in.
    std::size_t max_connections = 1024;
    // Bytes of replies and events waiting to be written, per connection and per uid (all
    // its connections): over either, the uid's connection is not served (backpressure).
    // One reply may overshoot the budget; an event that finds more than twice either
    // budget queued closes that connection (a subscriber that does not read).
    std::size_t max_reply_bytes_per_connection = std::size_t{4} << 20;
    std::size_t max_reply_bytes_per_uid = std::size_t{16} << 20;
    // Told about each connection (its id is Caller::connection) so events can be pushed
    // on it: `send` queues one line and returns false once the connection is gone.
    std::function<void(std::uint64_t id, std::function<bool(const std::string&)> send)> on_open;
    std::function<void(std::uint64_t id)> on_close;
  };

  static constexpr std::chrono::milliseconds kAcceptRetry{100};

  RpcServer(boost::asio::io_context& io, Dispatcher& dispatcher, Options options);
  ~RpcServer();
  // Binds the socket (replacing a stale socket file) and starts accepting.
  Status listen();
  void close();

 private:
  class Session;
  struct Hub;  // what sessions share: counts, budgets, the fair queue of turns
  void accept_next();
  void retry_accept_later(const boost::system::error_code& ec);
  void admit(boost::asio::local::stream_protocol::socket socket);
  // Why a connection from `uid` is refused, or nullptr to admit it.
  const char* refusal(uid_t uid);

  Options options_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  boost::asio::steady_timer accept_retry_;
  bool accept_failing_ = false;
  // Shared with sessions, which may outlive the server during shutdown.
  std::shared_ptr<Hub> hub_;
  std::map<uid_t, std::uint64_t> refused_;  // refused connections per uid, for the log
  std::uint64_t next_connection_ = 1;
};

}  // namespace openbits::daemon
