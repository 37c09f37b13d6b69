// Unix-socket JSON-RPC server; see rpc_server.h.
#include "src/daemon/rpc/rpc_server.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <deque>
#include <set>

#include "src/common/unique_fd.h"
#include "src/daemon/rpc/fair_queue.h"
#include "src/protocol/rpc.h"

namespace openbits::daemon {

namespace asio = boost::asio;
using Socket = asio::local::stream_protocol::socket;

namespace {

// Replies (and events) waiting to be written before the session stops reading requests.
constexpr std::size_t kMaxQueuedReplies = 16;

// True once the peer closed its end entirely (not just its writing half): its unread
// requests need no answer. Unix sockets report POLLHUP only then.
bool peer_closed(int fd) {
  pollfd p{fd, 0, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR)) != 0;
}

}  // namespace

// Shared by the server and its sessions: connection counts, queued reply bytes per uid,
// and the turns of connections with a request waiting (FairQueue), served one per
// posted handler so that reads, writes and timers run between two requests.
struct RpcServer::Hub : std::enable_shared_from_this<Hub> {
  Hub(asio::any_io_executor ex, Dispatcher& d, const Options& o)
      : executor(std::move(ex)),
        dispatcher(d),
        connection_budget(o.max_reply_bytes_per_connection),
        uid_budget(o.max_reply_bytes_per_uid) {}

  void queue_turn(const std::shared_ptr<Session>& session);
  void stall(const std::shared_ptr<Session>& session);  // over a budget: wait for a write
  void wake(uid_t uid);                                 // a write of `uid` completed
  void forget(uid_t uid, std::uint64_t connection);
  void post_serve();
  void serve_next();
  void clear() {
    turns = FairQueue();
    waiting.clear();
    stalled.clear();
  }

  asio::any_io_executor executor;
  Dispatcher& dispatcher;
  std::size_t connection_budget;
  std::size_t uid_budget;
  std::map<uid_t, std::size_t> per_uid;  // connections
  std::size_t total = 0;
  std::map<uid_t, std::size_t> queued_bytes;  // replies and events not yet written
  FairQueue turns;
  // Sessions waiting for a turn or for a budget (no read or write of theirs is pending,
  // so this keeps them alive), and per uid those over a budget.
  std::map<std::uint64_t, std::shared_ptr<Session>> waiting;
  std::map<uid_t, std::set<std::uint64_t>> stalled;
  bool serve_posted = false;
};

class RpcServer::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<Hub> hub, Socket socket, Caller caller, const Options& options)
      : hub_(std::move(hub)),
        socket_(std::move(socket)),
        caller_(caller),
        buffer_(rpc::kMaxMessageBytes + 1),
        on_close_(options.on_close) {}
  ~Session() {
    --hub_->per_uid[caller_.uid];
    --hub_->total;
    hub_->queued_bytes[caller_.uid] -= queued_bytes_;
    if (on_close_) on_close_(caller_.connection);
  }

  void start(const Options& options) {
    if (options.on_open) {
      std::weak_ptr<Session> weak = shared_from_this();
      options.on_open(caller_.connection, [weak](const std::string& line) {
        auto self = weak.lock();
        return self && self->push_event(line);
      });
    }
    read();
  }

  uid_t uid() const { return caller_.uid; }
  std::uint64_t id() const { return caller_.connection; }

  bool within_budget() const {
    return outbox_.size() <= kMaxQueuedReplies && queued_bytes_ < hub_->connection_budget &&
           hub_->queued_bytes[caller_.uid] < hub_->uid_budget;
  }

  // Its turn (FairQueue): answers one request, unless the peer has gone.
  void take_turn() {
    if (gone_ || closing_) return;
    if (peer_closed(socket_.native_handle())) {
      fail();
      return;
    }
    try {
      std::string line = next_request();
      if (!line.empty()) {
        if (auto response = hub_->dispatcher.handle_line(caller_, line)) {
          queue_write(std::move(*response) + "\n");
        }
      }
    } catch (const std::exception& e) {  // not even an error reply could be made
      spdlog::error("uid {}: connection closed, its request failed: {}", caller_.uid, e.what());
      fail();
      return;
    }
    next();
  }

  // What to do now: wait for the peer to read (over a budget), take a turn for the next
  // buffered request, or read more.
  void next() {
    if (gone_ || closing_) return;
    if (!within_budget()) {
      hub_->stall(shared_from_this());
    } else if (has_request()) {
      hub_->queue_turn(shared_from_this());
    } else if (!eof_) {
      read();
    }
  }

 private:
  void read() {
    asio::async_read_until(socket_, buffer_, '\n',
                           [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                             self->on_read(ec);
                           });
  }

  void on_read(boost::system::error_code ec) {
    if (ec == asio::error::not_found) {
      send_error_and_close("message too large");
    } else if (ec) {  // the peer closed (or shut down its writing half) or failed
      eof_ = true;
      if (ec != asio::error::eof || peer_closed(socket_.native_handle())) fail();
    } else {
      next();
    }
  }

  bool has_request() const {
    auto data = buffer_.data();
    return std::memchr(data.data(), '\n', data.size()) != nullptr;
  }

  // The first buffered line, without its '\n'.
  std::string next_request() {
    auto data = buffer_.data();
    const char* begin = static_cast<const char*>(data.data());
    const char* end = static_cast<const char*>(std::memchr(begin, '\n', data.size()));
    std::string line(begin, end);
    buffer_.consume(line.size() + 1);
    return line;
  }

  bool push_event(const std::string& line) {
    if (gone_ || closing_ || eof_) return false;
    if (queued_bytes_ > 2 * hub_->connection_budget ||
        hub_->queued_bytes[caller_.uid] > 2 * hub_->uid_budget) {
      spdlog::warn("uid {}: closing a connection that does not read its events ({} bytes queued)",
                   caller_.uid, queued_bytes_);
      // Closed from a handler of its own, not inside the notifier's call to its sender.
      gone_ = true;
      asio::post(socket_.get_executor(), [self = shared_from_this()] { self->fail(); });
      return false;
    }
    queue_write(line);
    return true;
  }

  void send_error_and_close(const char* why) {
    nlohmann::json error = {{"jsonrpc", "2.0"},
                            {"id", nullptr},
                            {"error", {{"code", rpc::kInvalidRequest}, {"message", why}}}};
    closing_ = true;
    queue_write(error.dump() + "\n");
  }

  void queue_write(std::string message) {
    queued_bytes_ += message.size();
    hub_->queued_bytes[caller_.uid] += message.size();
    outbox_.push_back(std::move(message));
    if (outbox_.size() == 1) write_next();
  }

  void write_next() {
    asio::async_write(socket_, asio::buffer(outbox_.front()),
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                        self->on_written(ec);
                      });
  }

  void on_written(boost::system::error_code ec) {
    release(outbox_.front().size());
    outbox_.pop_front();
    if (ec || gone_) {
      fail();
      return;
    }
    hub_->wake(caller_.uid);  // this connection, or another of its uid's, may go on
    if (!outbox_.empty()) {
      write_next();
    } else if (closing_) {
      boost::system::error_code ignored;
      socket_.shutdown(Socket::shutdown_both, ignored);
    }
  }

  void release(std::size_t bytes) {
    queued_bytes_ -= bytes;
    hub_->queued_bytes[caller_.uid] -= bytes;
  }

  // The peer is gone (or must go): nothing more is read, served or written. A write in
  // flight owns the front of the outbox; its handler (operation_aborted) frees it.
  void fail() {
    auto keep = shared_from_this();
    gone_ = true;
    buffer_.consume(buffer_.size());
    hub_->forget(caller_.uid, caller_.connection);
    while (outbox_.size() > 1) {
      release(outbox_.back().size());
      outbox_.pop_back();
    }
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

  std::shared_ptr<Hub> hub_;
  Socket socket_;
  Caller caller_;
  asio::streambuf buffer_;
  std::deque<std::string> outbox_;
  std::size_t queued_bytes_ = 0;  // bytes in outbox_
  bool closing_ = false;          // an error was queued; shut down once it is written
  bool eof_ = false;              // nothing more to read (events are refused)
  bool gone_ = false;             // closed: nothing more to do
  std::function<void(std::uint64_t)> on_close_;
};

void RpcServer::Hub::queue_turn(const std::shared_ptr<Session>& session) {
  turns.push(session->uid(), session->id());
  waiting[session->id()] = session;
  post_serve();
}

void RpcServer::Hub::stall(const std::shared_ptr<Session>& session) {
  stalled[session->uid()].insert(session->id());
  waiting[session->id()] = session;
}

void RpcServer::Hub::wake(uid_t uid) {
  auto found = stalled.find(uid);
  if (found == stalled.end()) return;
  std::set<std::uint64_t> ids = found->second;
  for (std::uint64_t id : ids) {
    auto it = waiting.find(id);
    if (it == waiting.end() || !it->second->within_budget()) continue;
    std::shared_ptr<Session> session = it->second;
    waiting.erase(it);
    stalled[uid].erase(id);
    session->next();
  }
}

void RpcServer::Hub::forget(uid_t uid, std::uint64_t connection) {
  turns.remove(connection);
  waiting.erase(connection);
  if (auto found = stalled.find(uid); found != stalled.end()) found->second.erase(connection);
}

void RpcServer::Hub::post_serve() {
  if (serve_posted) return;
  serve_posted = true;
  asio::post(executor, [self = shared_from_this()] { self->serve_next(); });
}

void RpcServer::Hub::serve_next() {
  serve_posted = false;
  if (auto id = turns.pop()) {
    auto it = waiting.find(*id);
    if (it != waiting.end()) {
      std::shared_ptr<Session> session = it->second;
      waiting.erase(it);
      session->take_turn();
    }
  }
  if (!turns.empty()) post_serve();
}

RpcServer::RpcServer(asio::io_context& io, Dispatcher& dispatcher, Options options)
    : options_(std::move(options)),
      acceptor_(io),
      accept_retry_(io),
      hub_(std::make_shared<Hub>(io.get_executor(), dispatcher, options_)) {}

RpcServer::~RpcServer() {
  close();
  hub_->clear();  // sessions waiting for a turn hold the hub: break the cycle
}

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
  if (hub_->per_uid[uid] >= options_.max_connections_per_uid) return "per-uid cap reached";
  if (uid != 0 && hub_->total >= options_.max_connections) return "total cap reached";
  return nullptr;
}

void RpcServer::admit(Socket socket) {
  std::optional<PeerProcess> peer = peer_process(socket.native_handle());
  if (!peer) return;            // closed as `socket` goes
  UniqueFd pidfd(peer->pidfd);  // identify_caller's only: closed when admitting is done
  if (const char* why = refusal(peer->uid)) {
    // Logged for the first and every 1000th refusal of a uid: a user hammering the
    // socket must not flood the log.
    std::uint64_t n = ++refused_[peer->uid];
    if (n % 1000 == 1) {
      spdlog::warn("refusing a connection from uid {} ({}; {} refused so far)", peer->uid, why, n);
    }
  } else {
    ++hub_->per_uid[peer->uid];
    ++hub_->total;
    Caller caller = identify_caller(*peer, options_.admin_gid);
    if (!caller.process_known) {
      spdlog::debug("uid {} pid {}: its process could not be read; treated as LOW integrity",
                    peer->uid, peer->pid);
    }
    caller.connection = next_connection_++;
    std::make_shared<Session>(hub_, std::move(socket), caller, options_)->start(options_);
  }
}

}  // namespace openbits::daemon
