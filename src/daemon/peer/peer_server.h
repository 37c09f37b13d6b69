// PeerServer: serves this machine's validated peer-cache contents to authenticated peers
// (docs/peer-caching.md, "The protocol between peers"), over src/net's HTTP/1.1 server with
// mutual TLS (peer_tls.h: the client must present a certificate of the fleet CA).
//   HEAD /openbits-peer/v1/content/<key>  200 Content-Length, Repr-Digest | 404
//   GET  the same, optional single Range  200 | 206 Content-Range | 416 | 503 Retry-After
// Any other path 404; other methods on a content path 405; serving off (the machine's
// server flag): 404 for everything. A body is read from the lease's descriptor (pread, no
// lock held) and the lease ends however the response ends, the client gone included.
// Bodies in progress are capped at max_clients (others wait their turn up to
// wait_for_turn, then 503), and one token bucket caps the rate of all of them.
// Threading: runs on the io_context's threads; the content source is called from them.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "openbits/status.h"
#include "src/common/asio.h"
#include "src/daemon/core/peer_content_source.h"
#include "src/daemon/peer/serve_slots.h"
#include "src/daemon/peer/token_bucket.h"
#include "src/net/http_server.h"

namespace openbits::daemon {

struct PeerServerOptions {
  std::size_t max_clients = 3;        // peer_max_clients
  std::uint64_t max_bytes_per_s = 0;  // peer_max_serve_bytes_per_s, 0: none
  std::chrono::milliseconds wait_for_turn{5000};
  std::size_t max_connections = 64;             // TLS connections open at once, handshakes included
  std::size_t max_connections_per_address = 8;  // of those, from one host
  std::chrono::seconds handshake_timeout{5};
  std::chrono::seconds idle_timeout{30};
};

class PeerServer final : public net::HttpHandler {
 public:
  // `tls` must require client certificates (make_peer_server_tls). None is owned; all
  // must outlive the io_context's work.
  PeerServer(boost::asio::io_context& io, boost::asio::ssl::context& tls, PeerContentSource& source,
             PeerServerOptions options);

  [[nodiscard]] Status listen(const std::string& address);  // peer_listen
  std::string local_address() const;
  void start();

  std::size_t bodies_in_progress() const { return slots_.busy(); }
  std::size_t waiting_for_turn() const { return slots_.waiting(); }

  net::Dispatch begin(const net::RequestHead& head) override;
  boost::asio::awaitable<net::Dispatch> begin_async(const net::RequestHead& head) override;
  net::Response internal_error() override;

 private:
  boost::asio::awaitable<net::Response> respond(const net::RequestHead& head);
  net::Response head_response(const PeerCache::Lease& lease) const;

  PeerContentSource& source_;
  PeerServerOptions options_;
  ServeSlots slots_;
  TokenBucket bucket_;
  net::HttpServer server_;
};

}  // namespace openbits::daemon
