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
  Session(Dispatcher& dispatcher, std::shared_ptr<Counts> counts, Socket socket, Caller caller,
          const Options& options)
      : dispatcher_(dispatcher),
        counts_(std::move(counts)),
        socket_(std::move(socket)),
        caller_(caller),
        buffer_(rpc::kMaxMessageBytes + 1),
        on_close_(options.on_close) {}
  ~Session() {
    --counts_->per_uid[caller_.uid];
    --counts_->total;
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
  std::shared_ptr<Counts> counts_;
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
    : dispatcher_(dispatcher), options_(std::move(options)), acceptor_(io), accept_retry_(io) {}

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
  accept_retry_.cancel(ignored);
  ::unlink(options_.socket_path.c_str());
}

void RpcServer::accept_next() {
  acceptor_.async_accept([this](boost::system::error_code ec, Socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (ec) {
      retry_accept_later(ec);
      return;
    }
    if (accept_failing_) spdlog::info("accepting connections again");
    accept_failing_ = false;
    admit(std::move(socket));
    accept_next();
  });
}

// EMFILE, ENFILE, ENOBUFS, ENOMEM: the connection stays in the backlog and the listening
// socket stays readable, so accepting again at once would spin on the same error.
void RpcServer::retry_accept_later(const boost::system::error_code& ec) {
  if (!accept_failing_) {
    spdlog::warn("cannot accept connections: {}; retrying every {} ms", ec.message(),
                 kAcceptRetry.count());
  }
  accept_failing_ = true;
  accept_retry_.expires_after(kAcceptRetry);
  accept_retry_.async_wait([this](boost::system::error_code wait_ec) {
    if (!wait_ec && acceptor_.is_open()) accept_next();
  });
}

const char* RpcServer::refusal(uid_t uid) {
  if (options_.only_uid && uid != *options_.only_uid) return "not this instance's user";
  if (counts_->per_uid[uid] >= options_.max_connections_per_uid) return "per-uid cap reached";
  if (uid != 0 && counts_->total >= options_.max_connections) return "total cap reached";
  return nullptr;
}

void RpcServer::admit(Socket socket) {
  std::optional<PeerProcess> peer = peer_process(socket.native_handle());
  if (!peer) return;  // closed as `socket` goes
  if (const char* why = refusal(peer->uid)) {
    // Logged for the first and every 1000th refusal of a uid: a user hammering the
    // socket must not flood the log.
    std::uint64_t n = ++refused_[peer->uid];
    if (n % 1000 == 1) {
      spdlog::warn("refusing a connection from uid {} ({}; {} refused so far)", peer->uid, why, n);
    }
  } else {
    ++counts_->per_uid[peer->uid];
    ++counts_->total;
    Caller caller = identify_caller(*peer, options_.admin_gid);
    if (!caller.process_known) {
      spdlog::debug("uid {} pid {}: its process could not be read; treated as LOW integrity",
                    peer->uid, peer->pid);
    }
    caller.connection = next_connection_++;
    std::make_shared<Session>(dispatcher_, counts_, std::move(socket), caller, options_)
        ->start(options_);
  }
  if (peer->pidfd >= 0) ::close(peer->pidfd);
}

}  // namespace openbits::daemon
