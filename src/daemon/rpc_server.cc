// Unix-socket JSON-RPC server; see rpc_server.h.
#include "src/daemon/rpc_server.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <deque>

#include "src/protocol/rpc.h"

namespace openbits::daemon {

namespace asio = boost::asio;
using Socket = asio::local::stream_protocol::socket;

// Replies (and events) waiting to be written before the session stops reading requests.
constexpr std::size_t kMaxQueuedReplies = 16;

class RpcServer::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Dispatcher& dispatcher, std::shared_ptr<std::map<uid_t, std::size_t>> counts,
          Socket socket, Caller caller, const Options& options)
      : dispatcher_(dispatcher),
        counts_(std::move(counts)),
        socket_(std::move(socket)),
        caller_(caller),
        buffer_(rpc::kMaxMessageBytes + 1),
        on_close_(options.on_close) {}
  ~Session() {
    --(*counts_)[caller_.uid];
    if (on_close_) on_close_(caller_.connection);
  }

  void start(const Options& options) {
    if (options.on_open) {
      std::weak_ptr<Session> weak = shared_from_this();
      options.on_open(caller_.connection, [weak](const std::string& line) {
        auto self = weak.lock();
        if (!self || self->closing_ || self->closed_) return false;
        self->queue_write(line);
        return true;
      });
    }
    read();
  }

 private:
  void read() {
    asio::async_read_until(socket_, buffer_, '\n',
                           [self = shared_from_this()](boost::system::error_code ec,
                                                       std::size_t n) { self->on_read(ec, n); });
  }

  void on_read(boost::system::error_code ec, std::size_t length) {
    if (ec == asio::error::not_found) {
      send_error_and_close("message too large");
      return;
    }
    if (ec) {  // peer closed or failed; the session ends
      closed_ = true;
      return;
    }
    std::string line(asio::buffers_begin(buffer_.data()),
                     asio::buffers_begin(buffer_.data()) + static_cast<std::ptrdiff_t>(length));
    buffer_.consume(length);
    line.pop_back();  // '\n'
    if (!line.empty()) {
      if (auto response = dispatcher_.handle_line(caller_, line)) {
        queue_write(std::move(*response) + "\n");
      }
    }
    // A peer that sends requests but never reads the replies stops being read (its kernel
    // buffer fills and its writes block) instead of growing the daemon's memory.
    if (outbox_.size() > kMaxQueuedReplies) {
      reading_paused_ = true;
      return;
    }
    read();
  }

  void send_error_and_close(const char* why) {
    nlohmann::json error = {{"jsonrpc", "2.0"},
                            {"id", nullptr},
                            {"error", {{"code", rpc::kInvalidRequest}, {"message", why}}}};
    closing_ = true;
    queue_write(error.dump() + "\n");
  }

  void queue_write(std::string message) {
    outbox_.push_back(std::move(message));
    if (outbox_.size() == 1) write_next();
  }

  void write_next() {
    asio::async_write(socket_, asio::buffer(outbox_.front()),
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                        self->outbox_.pop_front();
                        if (ec) return;
                        if (self->reading_paused_ && self->outbox_.size() <= kMaxQueuedReplies) {
                          self->reading_paused_ = false;
                          self->read();
                        }
                        if (!self->outbox_.empty()) {
                          self->write_next();
                        } else if (self->closing_) {
                          boost::system::error_code ignored;
                          self->socket_.shutdown(Socket::shutdown_both, ignored);
                        }
                      });
  }

  Dispatcher& dispatcher_;
  std::shared_ptr<std::map<uid_t, std::size_t>> counts_;
  Socket socket_;
  Caller caller_;
  asio::streambuf buffer_;
  std::deque<std::string> outbox_;
  bool closing_ = false;
  bool closed_ = false;
  std::function<void(std::uint64_t)> on_close_;
  bool reading_paused_ = false;
};

RpcServer::RpcServer(asio::io_context& io, Dispatcher& dispatcher, Options options)
    : dispatcher_(dispatcher), options_(std::move(options)), acceptor_(io) {}

RpcServer::~RpcServer() { close(); }

Status RpcServer::listen() {
  ::unlink(options_.socket_path.c_str());
  boost::system::error_code ec;
  asio::local::stream_protocol::endpoint endpoint(options_.socket_path);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status(hr::E_FAIL, "cannot listen on " + options_.socket_path + ": " + ec.message());
  }
  ::chmod(options_.socket_path.c_str(), options_.mode);
  accept_next();
  return Status();
}

void RpcServer::close() {
  if (!acceptor_.is_open()) return;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  ::unlink(options_.socket_path.c_str());
}

void RpcServer::accept_next() {
  acceptor_.async_accept([this](boost::system::error_code ec, Socket socket) {
    if (ec) {
      if (ec != asio::error::operation_aborted) accept_next();
      return;
    }
    std::optional<PeerProcess> peer = peer_process(socket.native_handle());
    if (!peer) {
      accept_next();
      return;
    }
    bool refused = (options_.only_uid && peer->uid != *options_.only_uid) ||
                   (*connections_per_uid_)[peer->uid] >= options_.max_connections_per_uid;
    if (refused) {
      spdlog::warn("refusing a connection from uid {}", peer->uid);
    } else {
      ++(*connections_per_uid_)[peer->uid];
      Caller caller = identify_caller(*peer, options_.admin_gid);
      if (!caller.process_known) {
        spdlog::debug("uid {} pid {}: its process could not be read; treated as LOW integrity",
                      peer->uid, peer->pid);
      }
      caller.connection = next_connection_++;
      std::make_shared<Session>(dispatcher_, connections_per_uid_, std::move(socket), caller,
                                options_)
          ->start(options_);
    }
    if (peer->pidfd >= 0) ::close(peer->pidfd);
    accept_next();
  });
}

}  // namespace openbits::daemon
