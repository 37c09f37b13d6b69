// The generic HTTP server's connection caps (src/net/http_server.h): one client address
// cannot hold more than its share of the connections, and a TLS client that never finishes
// its handshake is closed after handshake_timeout, not after the idle timeout.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/ssl.hpp>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "src/net/http_server.h"
#include "tests/support/temp_dir.h"

namespace openbits::net {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class OkHandler : public HttpHandler {
 public:
  Dispatch begin(const RequestHead&) override {
    Response response;
    response.body = "ok";
    return Dispatch{std::move(response), nullptr};
  }
  Response internal_error() override { return Response{}; }
};

class HttpServerCapsTest : public ::testing::Test {
 protected:
  void TearDown() override {
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }
  void start(HttpServerOptions options, asio::ssl::context* tls = nullptr) {
    options.server_name = "caps-test";
    server_ = std::make_unique<HttpServer>(io_, handler_, options, tls);
    Status listening = server_->listen("127.0.0.1:0");
    ASSERT_TRUE(listening.ok()) << listening.message();
    server_->start();
    thread_ = std::thread([this] { io_.run(); });
  }
  // A connection to the server from `source` (a loopback address), whose reads give up
  // after 20 s so that a server which never closes fails the test instead of hanging it.
  tcp::socket connect_from(const std::string& source) {
    tcp::socket socket(client_io_);
    socket.open(tcp::v4());
    socket.bind(tcp::endpoint(asio::ip::make_address(source), 0));
    auto address = server_->local_address();
    auto colon = address.rfind(':');
    socket.connect(
        tcp::endpoint(asio::ip::make_address(address.substr(0, colon)),
                      static_cast<unsigned short>(std::stoul(address.substr(colon + 1)))));
    timeval limit{.tv_sec = 20, .tv_usec = 0};
    setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    return socket;
  }
  // What the server sends on `socket` until it closes: the error that ended the read.
  static boost::system::error_code read_to_end(tcp::socket& socket, std::string* reply = nullptr) {
    std::string got;
    boost::system::error_code ec;
    asio::read(socket, asio::dynamic_buffer(got), ec);
    if (reply != nullptr) *reply = got;
    return ec;
  }
  static std::string get(tcp::socket& socket) {
    asio::write(socket, asio::buffer(std::string("GET / HTTP/1.1\r\nHost: h\r\n"
                                                 "Connection: close\r\n\r\n")));
    std::string reply;
    read_to_end(socket, &reply);
    return reply;
  }

  asio::io_context io_;
  asio::io_context client_io_;
  OkHandler handler_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

TEST_F(HttpServerCapsTest, OneAddressGetsNoMoreThanItsCapAndOthersAreStillServed) {
  HttpServerOptions options;
  options.max_connections = 10;
  options.max_connections_per_address = 2;
  start(options);
  std::vector<tcp::socket> held;
  held.push_back(connect_from("127.0.0.1"));
  held.push_back(connect_from("127.0.0.1"));
  tcp::socket third = connect_from("127.0.0.1");
  EXPECT_EQ(read_to_end(third), asio::error::eof);  // closed as accepted, nothing sent
  tcp::socket other = connect_from("127.0.0.2");
  EXPECT_NE(get(other).find("\r\n\r\nok"), std::string::npos);
  for (auto& socket : held) EXPECT_NE(get(socket).find("\r\n\r\nok"), std::string::npos);
  tcp::socket again = connect_from("127.0.0.1");  // the held ones are gone: room again
  EXPECT_NE(get(again).find("\r\n\r\nok"), std::string::npos);
}

// A self-signed server certificate made with the openssl command line in `dir`.
void make_certificate(const std::string& dir) {
  std::string command =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
      "-days 2 -subj /CN=caps-test -keyout " +
      dir + "/key.pem -out " + dir + "/cert.pem 2>/dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
}

TEST_F(HttpServerCapsTest, ATlsHandshakeNotFinishedInTimeIsClosedBeforeTheIdleTimeout) {
  test::TempDir dir;
  ASSERT_NO_FATAL_FAILURE(make_certificate(dir.path()));
  asio::ssl::context tls(asio::ssl::context::tls_server);
  tls.use_certificate_chain_file(dir.path() + "/cert.pem");
  tls.use_private_key_file(dir.path() + "/key.pem", asio::ssl::context::pem);
  // The idle timeout is far beyond the client's 20 s read limit: only the handshake
  // timeout can close the connection in time.
  HttpServerOptions options;
  options.idle_timeout = std::chrono::seconds(600);
  options.handshake_timeout = std::chrono::seconds(1);
  start(options, &tls);
  tcp::socket silent = connect_from("127.0.0.1");  // says nothing: no ClientHello
  EXPECT_EQ(read_to_end(silent), asio::error::eof);
}

}  // namespace
}  // namespace openbits::net
