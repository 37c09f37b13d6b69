// A small HTTP/1.1 server over Boost.Beast and Asio: an accept loop and one coroutine per
// connection (keep-alive), the head parsed under a size limit, the body streamed in 64 KiB
// chunks into the handler's sink. What the requests mean is the HttpHandler's business
// (bits-upload-server's, the peer server's). Response bodies are a string or a BodySource
// streamed chunk by chunk (paced when it asks); TLS servers that verify client
// certificates pass the subject in the RequestHead.
// Runs on the io_context's threads; the handler is called from any of them concurrently.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "openbits/status.h"
#include "src/common/asio.h"
#include "src/net/http_message.h"

namespace boost::asio::ssl {
class context;
}

namespace openbits::net {

class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  // The head of a request has arrived: a response to send (its body, if any, is read and
  // discarded) or a sink for the body.
  virtual Dispatch begin(const RequestHead& head) = 0;
  // The same for handlers that wait (for a turn, say) before they answer; by default
  // begin(). Runs on the connection's strand.
  virtual boost::asio::awaitable<Dispatch> begin_async(const RequestHead& head);
  // What the client gets when begin() or a sink's finish() threw; handlers should not
  // throw, but should one, the client still gets an answer and the server goes on.
  virtual Response internal_error() = 0;
};

struct HttpServerOptions {
  std::string server_name;  // the Server header of every response
  std::chrono::seconds idle_timeout{120};
  std::size_t header_limit = std::size_t{64} * 1024;  // longer heads close the connection
  // Bodies of refused requests up to this size are read through to keep the connection;
  // larger ones close it.
  std::uint64_t max_drain = std::uint64_t{8} << 20;
  // Connections open at once (0: no cap); further ones are closed as they are accepted.
  std::size_t max_connections = 0;
  // The same cap for the connections from one client address (0: none), so one host
  // cannot hold every slot.
  std::size_t max_connections_per_address = 0;
  // A TLS handshake not done in this time closes the connection (before it, a client that
  // never finished one held its slot for the whole idle_timeout).
  std::chrono::seconds handshake_timeout{10};
};

class ConnectionSlots;

class HttpServer {
 public:
  // `tls` may be null (plain HTTP). Neither reference nor pointer is owned.
  HttpServer(boost::asio::io_context& io, HttpHandler& handler, HttpServerOptions options,
             boost::asio::ssl::context* tls);

  // Binds "ADDR:PORT" ("[v6]:PORT" for IPv6; port 0 = any).
  [[nodiscard]] Status listen(const std::string& address);
  std::string local_address() const;  // "ADDR:PORT" actually bound
  void start();                       // the accept loop

 private:
  boost::asio::awaitable<void> accept_loop();

  boost::asio::io_context& io_;
  HttpHandler& handler_;
  HttpServerOptions options_;
  boost::asio::ssl::context* tls_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::shared_ptr<ConnectionSlots> slots_;  // open connections, in all and per address
};

}  // namespace openbits::net
