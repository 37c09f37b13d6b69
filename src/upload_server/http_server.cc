#include "src/upload_server/http_server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <limits>

#include "src/upload_server/acks.h"

namespace openbits::upload {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr auto kIdleTimeout = std::chrono::seconds(120);
constexpr std::uint64_t kMaxDrain = 8u << 20;  // larger refused bodies close the connection
constexpr std::size_t kChunk = std::size_t{64} * 1024;
constexpr std::size_t kReadSize = std::size_t{64} * 1024;  // bytes asked of the socket per read

RequestHead to_head(const http::request<http::buffer_body>& req, const std::string& client,
                    const char* scheme) {
  RequestHead head;
  head.method = std::string(req.method_string());
  head.target = std::string(req.target());
  for (const auto& field : req) {
    head.headers.emplace(std::string(field.name_string()), std::string(field.value()));
  }
  head.client = client;
  head.scheme = scheme;
  return head;
}

template <class Stream>
asio::awaitable<bool> write_response(Stream& stream, Response response, unsigned version,
                                     bool keep_alive) {
  beast::error_code ec;
  auto redirect = asio::redirect_error(asio::use_awaitable, ec);
  if (response.head_length) {  // HEAD: the length of what GET would send, no body
    http::response<http::empty_body> res{static_cast<http::status>(response.status), version};
    res.set(http::field::server, "bits-upload-server");
    for (auto& [name, value] : response.headers) res.set(name, value);
    res.keep_alive(keep_alive);
    res.content_length(*response.head_length);
    http::response_serializer<http::empty_body> serializer{res};
    co_await http::async_write_header(stream, serializer, redirect);
    co_return !ec;
  }
  http::response<http::string_body> res{static_cast<http::status>(response.status), version};
  res.set(http::field::server, "bits-upload-server");
  for (auto& [name, value] : response.headers) res.set(name, value);
  res.body() = std::move(response.body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  co_await http::async_write(stream, res, redirect);
  co_return !ec;
}

// The service does not throw by design; should it ever, the client still gets an Ack (500,
// E_FAIL) instead of a silently closed connection, and the server goes on.
Dispatch begin_safely(UploadService& service, const RequestHead& head) {
  try {
    return service.begin(head);
  } catch (const std::exception& e) {
    spdlog::error("{} {}: {}", head.method, head.target, e.what());
    return Dispatch{error_ack(500, kEFail, kContextServer), nullptr};
  }
}

Response finish_safely(BodySink& sink) {
  try {
    return sink.finish();
  } catch (const std::exception& e) {
    spdlog::error("finishing a request: {}", e.what());
    return error_ack(500, kEFail, kContextServer);
  }
}

// Serves requests on one connection until it closes, errs, or asks for no keep-alive.
template <class Stream>
asio::awaitable<void> serve_requests(Stream& stream, UploadService& service,
                                     const std::string& client, const char* scheme) {
  beast::flat_buffer buffer;
  // Beast reads at most the buffer's free capacity (never less than 512 bytes): without
  // room reserved, a body arrives 512 bytes per recvmsg, about 45 MB/s on loopback.
  buffer.reserve(kReadSize);
  std::vector<char> chunk(kChunk);
  for (;;) {
    http::request_parser<http::buffer_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    parser.header_limit(64 * 1024);
    beast::get_lowest_layer(stream).expires_after(kIdleTimeout);
    beast::error_code ec;
    co_await http::async_read_header(stream, buffer, parser,
                                     asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    RequestHead head = to_head(parser.get(), client, scheme);
    if (auto length = parser.content_length()) head.content_length = *length;
    bool keep_alive = parser.get().keep_alive();
    unsigned version = parser.get().version();
    Dispatch dispatch = begin_safely(service, head);
    bool expects_continue = beast::iequals(parser.get()[http::field::expect], "100-continue");
    if (!dispatch.sink && (expects_continue || head.content_length.value_or(0) > kMaxDrain)) {
      keep_alive = false;  // refused before the body: close rather than read it
    }
    if (dispatch.sink && expects_continue && !parser.is_done()) {
      http::response<http::empty_body> proceed{http::status::continue_, version};
      co_await http::async_write(stream, proceed, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
    }
    std::uint64_t drained = 0;
    while (!parser.is_done() && (dispatch.sink || keep_alive)) {
      parser.get().body().data = chunk.data();
      parser.get().body().size = chunk.size();
      beast::get_lowest_layer(stream).expires_after(kIdleTimeout);
      co_await http::async_read(stream, buffer, parser,
                                asio::redirect_error(asio::use_awaitable, ec));
      if (ec == http::error::need_buffer) ec = {};
      std::size_t n = chunk.size() - parser.get().body().size;
      if (ec) {  // the connection broke: keep what arrived
        if (dispatch.sink) {
          dispatch.sink->consume(chunk.data(), n);
          dispatch.sink->abort();
        }
        co_return;
      }
      if (dispatch.sink) {
        dispatch.sink->consume(chunk.data(), n);
      } else if ((drained += n) > kMaxDrain) {
        keep_alive = false;  // a refused body too large to read through: close instead
      }
    }
    Response response =
        dispatch.sink ? finish_safely(*dispatch.sink) : std::move(dispatch.response);
    beast::get_lowest_layer(stream).expires_after(kIdleTimeout);
    if (!co_await write_response(stream, std::move(response), version, keep_alive) || !keep_alive) {
      co_return;
    }
  }
}

asio::awaitable<void> handle_plain(tcp::socket socket, UploadService& service) {
  beast::error_code ec;
  std::string client = socket.remote_endpoint(ec).address().to_string();
  beast::tcp_stream stream(std::move(socket));
  co_await serve_requests(stream, service, client, "http");
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

asio::awaitable<void> handle_tls(tcp::socket socket, UploadService& service,
                                 asio::ssl::context& tls) {
  beast::error_code ec;
  std::string client = socket.remote_endpoint(ec).address().to_string();
  beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), tls);
  beast::get_lowest_layer(stream).expires_after(kIdleTimeout);
  co_await stream.async_handshake(asio::ssl::stream_base::server,
                                  asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return;
  co_await serve_requests(stream, service, client, "https");
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
  co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
}

}  // namespace

HttpServer::HttpServer(asio::io_context& io, UploadService& service, const ServerConfig& config,
                       asio::ssl::context* tls)
    : io_(io), service_(service), config_(config), tls_(tls), acceptor_(io) {}

bool HttpServer::listen(const std::string& address, std::string& error) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    error = "--listen wants ADDR:PORT";
    return false;
  }
  std::string host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  beast::error_code ec;
  auto ip = asio::ip::make_address(host, ec);
  unsigned long port = 0;
  try {
    port = std::stoul(address.substr(colon + 1));
  } catch (const std::exception&) {
    ec = asio::error::invalid_argument;
  }
  if (ec || port > 65535) {
    error = "--listen: bad address " + address;
    return false;
  }
  tcp::endpoint endpoint(ip, static_cast<unsigned short>(port));
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    error = "listen " + address + ": " + ec.message();
    return false;
  }
  return true;
}

std::string HttpServer::local_address() const {
  beast::error_code ec;
  auto endpoint = acceptor_.local_endpoint(ec);
  std::string host = endpoint.address().to_string();
  if (endpoint.address().is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(endpoint.port());
}

void HttpServer::start() {
  asio::co_spawn(io_, accept_loop(), asio::detached);
  asio::co_spawn(io_, cleanup_loop(), asio::detached);
}

asio::awaitable<void> HttpServer::accept_loop() {
  for (;;) {
    beast::error_code ec;
    tcp::socket socket = co_await acceptor_.async_accept(
        asio::make_strand(io_), asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) {  // e.g. out of descriptors: wait instead of spinning
      spdlog::warn("accept: {}", ec.message());
      asio::steady_timer pause(io_, std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    auto executor = socket.get_executor();
    if (tls_ != nullptr) {
      asio::co_spawn(executor, handle_tls(std::move(socket), service_, *tls_), asio::detached);
    } else {
      asio::co_spawn(executor, handle_plain(std::move(socket), service_), asio::detached);
    }
  }
}

asio::awaitable<void> HttpServer::cleanup_loop() {
  asio::steady_timer timer(io_);
  auto interval = std::min<std::uint64_t>(config_.cleanup_interval, config_.session_timeout);
  for (;;) {
    timer.expires_after(std::chrono::seconds(interval));
    beast::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    if (std::size_t expired = service_.expire_sessions()) {
      spdlog::info("session cleanup: {} idle sessions removed", expired);
    }
  }
}

}  // namespace openbits::upload
