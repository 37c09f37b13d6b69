#include "src/upload_server/http_server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "src/upload_server/acks.h"

namespace openbits::upload {

namespace asio = boost::asio;

namespace {

net::HttpServerOptions server_options() {
  net::HttpServerOptions options;
  options.server_name = "bits-upload-server";
  return options;
}

}  // namespace

net::Response UploadHandler::internal_error() { return error_ack(500, kEFail, kContextServer); }

HttpServer::HttpServer(asio::io_context& io, UploadService& service, const ServerConfig& config,
                       asio::ssl::context* tls)
    : io_(io),
      service_(service),
      config_(config),
      handler_(service),
      server_(io, handler_, server_options(), tls) {}

void HttpServer::start() {
  server_.start();
  asio::co_spawn(io_, cleanup_loop(), asio::detached);
}

asio::awaitable<void> HttpServer::cleanup_loop() {
  asio::steady_timer timer(io_);
  auto interval = std::min<std::uint64_t>(config_.cleanup_interval, config_.session_timeout);
  for (;;) {
    timer.expires_after(std::chrono::seconds(interval));
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    if (std::size_t expired = service_.expire_sessions()) {
      spdlog::info("session cleanup: {} idle sessions removed", expired);
    }
  }
}

}  // namespace openbits::upload
