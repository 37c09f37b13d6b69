// The HTTP(S) front of bits-upload-server: the generic server of src/net (Beast over Asio,
// one coroutine per connection, bodies streamed in 64 KiB chunks) serving the
// UploadService, plus the timer that expires idle sessions. Runs on the io_context's
// threads; a back-end hand-off blocks one of them for at most the notification timeout.
#pragma once

#include <string>

#include "openbits/status.h"
#include "src/common/asio.h"
#include "src/net/http_server.h"
#include "src/upload_server/upload_service.h"

namespace openbits::upload {

// The UploadService as the server's handler; a throw becomes an Ack (500, E_FAIL).
class UploadHandler : public net::HttpHandler {
 public:
  explicit UploadHandler(UploadService& service) : service_(service) {}
  net::Dispatch begin(const net::RequestHead& head) override { return service_.begin(head); }
  net::Response internal_error() override;

 private:
  UploadService& service_;
};

class HttpServer {
 public:
  // `tls` may be null (plain HTTP). Neither pointer is owned.
  HttpServer(boost::asio::io_context& io, UploadService& service, const ServerConfig& config,
             boost::asio::ssl::context* tls);

  // Binds "ADDR:PORT" ("[v6]:PORT" for IPv6; port 0 = any).
  [[nodiscard]] Status listen(const std::string& address) { return server_.listen(address); }
  std::string local_address() const { return server_.local_address(); }
  void start();  // accept loop and session cleanup timer

 private:
  boost::asio::awaitable<void> cleanup_loop();

  boost::asio::io_context& io_;
  UploadService& service_;
  const ServerConfig& config_;
  UploadHandler handler_;
  net::HttpServer server_;
};

}  // namespace openbits::upload
