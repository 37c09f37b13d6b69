// The HTTP(S) front of bits-upload-server: Boost.Beast over Asio, one coroutine per
// connection (HTTP/1.1 keep-alive), request bodies streamed in 64 KiB chunks into the
// UploadService. Runs on the io_context's threads; a back-end hand-off blocks one of them
// for at most the notification timeout.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "src/common/asio.h"
#include "src/upload_server/upload_service.h"

namespace boost::asio::ssl {
class context;
}

namespace openbits::upload {

class HttpServer {
 public:
  // `tls` may be null (plain HTTP). Neither pointer is owned.
  HttpServer(boost::asio::io_context& io, UploadService& service, const ServerConfig& config,
             boost::asio::ssl::context* tls);

  // Binds "ADDR:PORT" ("[v6]:PORT" for IPv6; port 0 = any). False with `error` on failure.
  bool listen(const std::string& address, std::string& error);
  std::string local_address() const;  // "ADDR:PORT" actually bound
  void start();                       // accept loop and session cleanup timer

 private:
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> cleanup_loop();

  boost::asio::io_context& io_;
  UploadService& service_;
  const ServerConfig& config_;
  boost::asio::ssl::context* tls_;
  boost::asio::ip::tcp::acceptor acceptor_;
};

}  // namespace openbits::upload
