// RpcServer: the Unix-socket front of bitsd. Accepts connections, reads newline-framed
// JSON-RPC messages (at most rpc::kMaxMessageBytes each), takes the caller's identity
// from SO_PEERCRED, and answers through the Dispatcher in request order.
//
// Threading: runs entirely on the io_context's thread.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "openbits/status.h"
#include "src/common/asio.h"
#include "src/daemon/dispatcher.h"

namespace openbits::daemon {

class RpcServer {
 public:
  struct Options {
    std::string socket_path;
    unsigned mode = 0666;           // anyone may connect; the daemon decides
    std::optional<uid_t> only_uid;  // user instance: refuse other uids
    std::optional<gid_t> admin_gid;
    std::size_t max_connections_per_uid = 128;
    // Told about each connection (its id is Caller::connection) so events can be pushed
    // on it: `send` queues one line and returns false once the connection is gone.
    std::function<void(std::uint64_t id, std::function<bool(const std::string&)> send)> on_open;
    std::function<void(std::uint64_t id)> on_close;
  };

  RpcServer(boost::asio::io_context& io, Dispatcher& dispatcher, Options options);
  ~RpcServer();
  // Binds the socket (replacing a stale socket file) and starts accepting.
  Status listen();
  void close();

 private:
  class Session;
  void accept_next();

  Dispatcher& dispatcher_;
  Options options_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  // Shared with sessions, which may outlive the server during shutdown.
  std::shared_ptr<std::map<uid_t, std::size_t>> connections_per_uid_ =
      std::make_shared<std::map<uid_t, std::size_t>>();
  std::uint64_t next_connection_ = 1;
};

}  // namespace openbits::daemon
