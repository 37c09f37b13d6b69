// The peer server's requests; see peer_server.h.
#include "src/daemon/peer/peer_server.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <utility>

#include "src/daemon/peer/peer_protocol.h"

namespace openbits::daemon {
namespace {

namespace asio = boost::asio;

net::Response text(unsigned status, bool is_head, std::string body) {
  net::Response response;
  response.status = status;
  response.headers.emplace_back("Content-Type", "text/plain");
  if (is_head) {
    response.head_length = body.size();
  } else {
    response.body = std::move(body);
  }
  return response;
}

std::string key_prefix(const std::string& key) { return key.substr(0, 12); }

// Ends a lease however the response ends, unless a body took it over.
class LeaseGuard {
 public:
  LeaseGuard(PeerContentSource& source, Guid id) : source_(&source), id_(id) {}
  LeaseGuard(const LeaseGuard&) = delete;
  LeaseGuard& operator=(const LeaseGuard&) = delete;
  ~LeaseGuard() {
    if (source_ != nullptr) source_->end_serve(id_);
  }
  void release() { source_ = nullptr; }

 private:
  PeerContentSource* source_;
  Guid id_;
};

// One body being served: the lease's bytes of `range`, paced by the shared bucket. Ends the
// lease and frees the turn when the server drops it.
class LeaseBody final : public net::BodySource {
 public:
  LeaseBody(PeerContentSource& source, PeerCache::Lease lease, peer::ByteRange range,
            std::unique_ptr<ServeSlots::Slot> slot, TokenBucket& bucket, std::string peer)
      : source_(source),
        lease_(std::move(lease)),
        range_(range),
        slot_(std::move(slot)),
        bucket_(bucket),
        peer_(std::move(peer)) {}
  LeaseBody(const LeaseBody&) = delete;
  LeaseBody& operator=(const LeaseBody&) = delete;
  ~LeaseBody() override {
    spdlog::debug("peer {}: served {} bytes {}+{}, {} sent", peer_, key_prefix(lease_.record.key),
                  range_.first, range_.length, sent_);
    source_.end_serve(lease_.record.id);
  }

  std::size_t read(char* data, std::size_t size) override {
    for (;;) {
      ssize_t n = pread(lease_.content.get(), data, size, static_cast<off_t>(range_.first + sent_));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return 0;
      sent_ += static_cast<std::uint64_t>(n);
      return static_cast<std::size_t>(n);
    }
  }
  std::chrono::nanoseconds pace(std::size_t size) override { return bucket_.reserve(size); }

 private:
  PeerContentSource& source_;
  PeerCache::Lease lease_;
  peer::ByteRange range_;
  std::unique_ptr<ServeSlots::Slot> slot_;
  TokenBucket& bucket_;
  std::string peer_;
  std::uint64_t sent_ = 0;
};

}  // namespace

PeerServer::PeerServer(asio::io_context& io, asio::ssl::context& tls, PeerContentSource& source,
                       PeerServerOptions options)
    : source_(source),
      options_(options),
      slots_(options.max_clients),
      bucket_(options.max_bytes_per_s),
      server_(
          io, *this,
          net::HttpServerOptions{.server_name = "openbits-peer",
                                 .idle_timeout = options.idle_timeout,
                                 .header_limit = std::size_t{16} * 1024,
                                 .max_drain = std::uint64_t{64} * 1024,
                                 .max_connections = options.max_connections,
                                 .max_connections_per_address = options.max_connections_per_address,
                                 .handshake_timeout = options.handshake_timeout},
          &tls) {}

Status PeerServer::listen(const std::string& address) { return server_.listen(address); }

std::string PeerServer::local_address() const { return server_.local_address(); }

void PeerServer::start() { server_.start(); }

net::Dispatch PeerServer::begin(const net::RequestHead& head) {
  return net::Dispatch{text(500, head.method == "HEAD", "internal error\n"), nullptr};
}

asio::awaitable<net::Dispatch> PeerServer::begin_async(const net::RequestHead& head) {
  // Not co_await inside an initializer list: GCC 12 miscompiles that.
  net::Dispatch dispatch;
  dispatch.response = co_await respond(head);
  co_return dispatch;
}

net::Response PeerServer::internal_error() { return text(500, false, "internal error\n"); }

net::Response PeerServer::head_response(const PeerCache::Lease& lease) const {
  net::Response response;
  response.headers.emplace_back("Accept-Ranges", "bytes");
  if (std::string digest = peer::repr_digest(lease.record.sha256); !digest.empty()) {
    response.headers.emplace_back("Repr-Digest", digest);
  }
  response.head_length = lease.record.size;
  return response;
}

asio::awaitable<net::Response> PeerServer::respond(const net::RequestHead& head) {
  bool is_head = head.method == "HEAD";
  auto key = peer::key_of_target(head.target);
  if (!key) co_return text(404, is_head, "not found\n");
  if (!is_head && head.method != "GET") {
    net::Response refused = text(405, false, "method not allowed\n");
    refused.headers.emplace_back("Allow", "GET, HEAD");
    co_return refused;
  }
  if (!source_.serving_enabled()) co_return text(404, is_head, "not found\n");
  auto lease = source_.begin_serve(*key);
  if (!lease.ok()) {
    spdlog::debug("peer {}: {} {}: none", head.client_subject, head.method, key_prefix(*key));
    co_return text(404, is_head, "not found\n");
  }
  LeaseGuard guard(source_, lease->record.id);
  net::Response response = head_response(*lease);
  std::uint64_t size = lease->record.size;
  if (is_head) {
    spdlog::debug("peer {}: HEAD {}: {} bytes", head.client_subject, key_prefix(*key), size);
    co_return response;
  }
  response.head_length.reset();
  peer::RangeRequest range = peer::parse_range(head.header("Range"), size);
  if (!head.has("Range")) range = {};
  if (range.kind == peer::RangeKind::kUnsatisfiable) {
    net::Response refused = text(416, false, "range not satisfiable\n");
    refused.headers.emplace_back("Content-Range", "bytes */" + std::to_string(size));
    co_return refused;
  }
  if (range.kind == peer::RangeKind::kWhole) range.range = {0, size};
  auto slot = co_await slots_.acquire(options_.wait_for_turn);
  if (!slot) {
    spdlog::debug("peer {}: GET {}: busy", head.client_subject, key_prefix(*key));
    net::Response busy = text(503, false, "busy\n");
    busy.headers.emplace_back("Retry-After", "5");
    co_return busy;
  }
  if (range.kind == peer::RangeKind::kPart) {
    response.status = 206;
    response.headers.emplace_back(
        "Content-Range", "bytes " + std::to_string(range.range.first) + "-" +
                             std::to_string(range.range.first + range.range.length - 1) + "/" +
                             std::to_string(size));
  }
  guard.release();
  response.source_length = range.range.length;
  response.source = std::make_shared<LeaseBody>(source_, std::move(*lease), range.range,
                                                std::move(slot), bucket_, head.client_subject);
  co_return response;
}

}  // namespace openbits::daemon
