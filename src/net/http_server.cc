#include "src/net/http_server.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <exception>
#include <limits>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "src/net/tls_subject.h"

namespace openbits::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr std::size_t kChunk = std::size_t{64} * 1024;
constexpr std::size_t kReadSize = std::size_t{64} * 1024;  // bytes asked of the socket per read

RequestHead to_head(const http::request<http::buffer_body>& req, const std::string& client,
                    const char* scheme, const std::string& client_subject) {
  RequestHead head;
  head.method = std::string(req.method_string());
  head.target = std::string(req.target());
  for (const auto& field : req) {
    head.headers.emplace(std::string(field.name_string()), std::string(field.value()));
  }
  head.client = client;
  head.scheme = scheme;
  head.client_subject = client_subject;
  return head;
}

// Sends a BodySource's bytes in chunks, each after the wait the source asks for; false
// when the connection broke or the source ran short (the connection is then closed).
template <class Stream>
asio::awaitable<bool> write_source(Stream& stream, http::response<http::buffer_body>& res,
                                   BodySource& source, std::uint64_t length,
                                   std::vector<char>& chunk) {
  beast::error_code ec;
  auto redirect = asio::redirect_error(asio::use_awaitable, ec);
  http::response_serializer<http::buffer_body> serializer{res};
  co_await http::async_write_header(stream, serializer, redirect);
  asio::steady_timer pause(co_await asio::this_coro::executor);
  for (std::uint64_t left = length; !ec && left > 0;) {
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), left));
    if (auto wait = source.pace(want); wait.count() > 0) {
      pause.expires_after(wait);
      co_await pause.async_wait(redirect);
      if (ec) co_return false;
    }
    std::size_t n = source.read(chunk.data(), want);
    if (n == 0 || n > want) co_return false;
    res.body().data = chunk.data();
    res.body().size = n;
    res.body().more = true;
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(60));
    co_await http::async_write(stream, serializer, redirect);
    if (ec == http::error::need_buffer) ec = {};
    left -= n;
  }
  if (ec) co_return false;
  res.body().data = nullptr;
  res.body().size = 0;
  res.body().more = false;
  co_await http::async_write(stream, serializer, redirect);
  co_return !ec;
}

template <class Stream>
asio::awaitable<bool> write_response(Stream& stream, Response response, unsigned version,
                                     bool keep_alive, const std::string& server_name,
                                     std::vector<char>& chunk) {
  beast::error_code ec;
  auto redirect = asio::redirect_error(asio::use_awaitable, ec);
  if (response.source && !response.head_length) {
    http::response<http::buffer_body> res{static_cast<http::status>(response.status), version};
    res.set(http::field::server, server_name);
    for (auto& [name, value] : response.headers) res.set(name, value);
    res.keep_alive(keep_alive);
    res.content_length(response.source_length);
    // The source lives until this returns, and goes before the connection's next request.
    std::shared_ptr<BodySource> source = std::move(response.source);
    co_return co_await write_source(stream, res, *source, response.source_length, chunk);
  }
  if (response.head_length) {  // HEAD: the length of what GET would send, no body
    http::response<http::empty_body> res{static_cast<http::status>(response.status), version};
    res.set(http::field::server, server_name);
    for (auto& [name, value] : response.headers) res.set(name, value);
    res.keep_alive(keep_alive);
    res.content_length(*response.head_length);
    http::response_serializer<http::empty_body> serializer{res};
    co_await http::async_write_header(stream, serializer, redirect);
    co_return !ec;
  }
  http::response<http::string_body> res{static_cast<http::status>(response.status), version};
  res.set(http::field::server, server_name);
  for (auto& [name, value] : response.headers) res.set(name, value);
  res.body() = std::move(response.body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  co_await http::async_write(stream, res, redirect);
  co_return !ec;
}

asio::awaitable<Dispatch> begin_safely(HttpHandler& handler, const RequestHead& head) {
  try {
    Dispatch dispatch = co_await handler.begin_async(head);
    co_return dispatch;
  } catch (const std::exception& e) {
    spdlog::error("{} {}: {}", head.method, head.target, e.what());
  }
  co_return Dispatch{handler.internal_error(), nullptr};
}

Response finish_safely(HttpHandler& handler, BodySink& sink) {
  try {
    return sink.finish();
  } catch (const std::exception& e) {
    spdlog::error("finishing a request: {}", e.what());
    return handler.internal_error();
  }
}

// One connection's state between its requests.
template <class Stream>
struct Connection {
  Connection(Stream& s, HttpHandler& h, const HttpServerOptions& o, std::string peer,
             const char* sch, std::string subject)
      : stream(s),
        handler(h),
        options(o),
        client(std::move(peer)),
        scheme(sch),
        client_subject(std::move(subject)) {
    // Beast reads at most the buffer's free capacity (never less than 512 bytes): without
    // room reserved, a body arrives 512 bytes per recvmsg, about 45 MB/s on loopback.
    buffer.reserve(kReadSize);
  }

  Stream& stream;
  HttpHandler& handler;
  const HttpServerOptions& options;
  std::string client;
  const char* scheme;
  std::string client_subject;
  beast::flat_buffer buffer;
  std::vector<char> chunk = std::vector<char>(kChunk);

  void arm_timer() { beast::get_lowest_layer(stream).expires_after(options.idle_timeout); }
};

// Reads the body into the sink, or through to nothing while `keep_alive` holds. False when
// the connection broke (the sink then got what arrived and abort()).
template <class Stream>
asio::awaitable<bool> read_body(Connection<Stream>& c,
                                http::request_parser<http::buffer_body>& parser, BodySink* sink,
                                bool& keep_alive) {
  std::uint64_t drained = 0;
  while (!parser.is_done() && (sink != nullptr || keep_alive)) {
    parser.get().body().data = c.chunk.data();
    parser.get().body().size = c.chunk.size();
    c.arm_timer();
    beast::error_code ec;
    co_await http::async_read(c.stream, c.buffer, parser,
                              asio::redirect_error(asio::use_awaitable, ec));
    if (ec == http::error::need_buffer) ec = {};
    std::size_t n = c.chunk.size() - parser.get().body().size;
    if (ec) {  // the connection broke: keep what arrived
      if (sink != nullptr) {
        sink->consume(c.chunk.data(), n);
        sink->abort();
      }
      co_return false;
    }
    if (sink != nullptr) {
      sink->consume(c.chunk.data(), n);
    } else if ((drained += n) > c.options.max_drain) {
      keep_alive = false;  // a refused body too large to read through: close instead
    }
  }
  co_return true;
}

// Serves one request; false when the connection is to close.
template <class Stream>
asio::awaitable<bool> serve_request(Connection<Stream>& c) {
  http::request_parser<http::buffer_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  parser.header_limit(static_cast<std::uint32_t>(c.options.header_limit));
  c.arm_timer();
  beast::error_code ec;
  co_await http::async_read_header(c.stream, c.buffer, parser,
                                   asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return false;
  RequestHead head = to_head(parser.get(), c.client, c.scheme, c.client_subject);
  if (auto length = parser.content_length()) head.content_length = *length;
  bool keep_alive = parser.get().keep_alive();
  unsigned version = parser.get().version();
  Dispatch dispatch = co_await begin_safely(c.handler, head);
  bool expects_continue = beast::iequals(parser.get()[http::field::expect], "100-continue");
  if (!dispatch.sink &&
      (expects_continue || head.content_length.value_or(0) > c.options.max_drain)) {
    keep_alive = false;  // refused before the body: close rather than read it
  }
  if (dispatch.sink && expects_continue && !parser.is_done()) {
    http::response<http::empty_body> proceed{http::status::continue_, version};
    co_await http::async_write(c.stream, proceed, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return false;
  }
  if (!co_await read_body(c, parser, dispatch.sink.get(), keep_alive)) co_return false;
  Response response =
      dispatch.sink ? finish_safely(c.handler, *dispatch.sink) : std::move(dispatch.response);
  c.arm_timer();
  bool written = co_await write_response(c.stream, std::move(response), version, keep_alive,
                                         c.options.server_name, c.chunk);
  co_return written&& keep_alive;
}

// Serves requests on one connection until it closes, errs, or asks for no keep-alive.
template <class Stream>
asio::awaitable<void> serve_requests(Stream& stream, HttpHandler& handler,
                                     const HttpServerOptions& options, std::string client,
                                     const char* scheme, std::string client_subject = {}) {
  Connection<Stream> c(stream, handler, options, std::move(client), scheme,
                       std::move(client_subject));
  while (co_await serve_request(c)) {
  }
}

asio::awaitable<void> handle_plain(tcp::socket socket, HttpHandler& handler,
                                   const HttpServerOptions& options) {
  beast::error_code ec;
  std::string client = socket.remote_endpoint(ec).address().to_string();
  beast::tcp_stream stream(std::move(socket));
  co_await serve_requests(stream, handler, options, client, "http");
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

// The subject of the client's certificate when the handshake verified one, else "".
std::string verified_subject(SSL* ssl) {
  if (SSL_get_verify_result(ssl) != X509_V_OK) return {};
  return certificate_subject(SSL_get0_peer_certificate(ssl));
}

asio::awaitable<void> handle_tls(tcp::socket socket, HttpHandler& handler,
                                 const HttpServerOptions& options, asio::ssl::context& tls) {
  beast::error_code ec;
  std::string client = socket.remote_endpoint(ec).address().to_string();
  beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), tls);
  beast::get_lowest_layer(stream).expires_after(options.handshake_timeout);
  co_await stream.async_handshake(asio::ssl::stream_base::server,
                                  asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return;
  co_await serve_requests(stream, handler, options, client, "https",
                          verified_subject(stream.native_handle()));
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
  co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
}

}  // namespace

// The connections open now, in all and per client address. Taken by the accept loop,
// given back by each connection's coroutine on any thread.
class ConnectionSlots {
 public:
  ConnectionSlots(std::size_t max_total, std::size_t max_per_address)
      : max_total_(max_total), max_per_address_(max_per_address) {}
  // False, and nothing taken, when either cap is reached.
  bool take(const std::string& address) {
    std::lock_guard lock(mutex_);
    if (max_total_ != 0 && total_ >= max_total_) return false;
    std::size_t& mine = per_address_[address];
    if (max_per_address_ != 0 && mine >= max_per_address_) return false;
    ++mine;
    ++total_;
    return true;
  }
  void give_back(const std::string& address) {
    std::lock_guard lock(mutex_);
    --total_;
    if (auto it = per_address_.find(address); it != per_address_.end() && --it->second == 0) {
      per_address_.erase(it);
    }
  }

 private:
  std::mutex mutex_;
  const std::size_t max_total_;
  const std::size_t max_per_address_;
  std::size_t total_ = 0;
  std::map<std::string, std::size_t> per_address_;
};

namespace {

// Runs one connection's coroutine; its slot, taken when it was accepted, is given back
// when it ends, however it ends.
asio::awaitable<void> counted(std::shared_ptr<ConnectionSlots> slots, std::string address,
                              asio::awaitable<void> task) {
  std::shared_ptr<void> release(nullptr, [&slots, &address](void*) { slots->give_back(address); });
  co_await std::move(task);
}

// "ADDR:PORT" or "[v6]:PORT" as an endpoint.
Result<tcp::endpoint> parse_endpoint(const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Status(hr::E_INVALIDARG, "wants ADDR:PORT");
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
  if (ec || port > 65535) return Status(hr::E_INVALIDARG, "bad address " + address);
  return tcp::endpoint(ip, static_cast<unsigned short>(port));
}

}  // namespace

asio::awaitable<Dispatch> HttpHandler::begin_async(const RequestHead& head) {
  co_return begin(head);
}

HttpServer::HttpServer(asio::io_context& io, HttpHandler& handler, HttpServerOptions options,
                       asio::ssl::context* tls)
    : io_(io),
      handler_(handler),
      options_(std::move(options)),
      tls_(tls),
      acceptor_(io),
      slots_(std::make_shared<ConnectionSlots>(options_.max_connections,
                                               options_.max_connections_per_address)) {}

Status HttpServer::listen(const std::string& address) {
  auto endpoint = parse_endpoint(address);
  if (!endpoint.ok()) return endpoint.status();
  beast::error_code ec;
  acceptor_.open(endpoint->protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(*endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status(hr::E_FAIL, "listen " + address + ": " + ec.message());
  return Status();
}

std::string HttpServer::local_address() const {
  beast::error_code ec;
  auto endpoint = acceptor_.local_endpoint(ec);
  std::string host = endpoint.address().to_string();
  if (endpoint.address().is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(endpoint.port());
}

void HttpServer::start() { asio::co_spawn(io_, accept_loop(), asio::detached); }

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
    std::string address = socket.remote_endpoint(ec).address().to_string();
    if (ec) continue;  // gone already
    if (!slots_->take(address)) {
      spdlog::warn("{}: connection from {} closed: at the cap of {} in all or {} per address",
                   options_.server_name, address, options_.max_connections,
                   options_.max_connections_per_address);
      continue;  // the socket closes as it goes
    }
    auto executor = socket.get_executor();
    auto task = tls_ != nullptr ? handle_tls(std::move(socket), handler_, options_, *tls_)
                                : handle_plain(std::move(socket), handler_, options_);
    asio::co_spawn(executor, counted(slots_, std::move(address), std::move(task)), asio::detached);
  }
}

}  // namespace openbits::net
