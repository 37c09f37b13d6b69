// The generic HTTP server (src/net/http_server.h) on a loopback port, driven by a blocking
// client socket: requests reach the handler, bodies its sink, and limits hold.
#include "src/net/http_server.h"

#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

namespace openbits::net {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Collects a body and answers with its length.
class CountingSink : public BodySink {
 public:
  void consume(const char* data, std::size_t size) override { body_.append(data, size); }
  Response finish() override {
    Response response;
    response.body = "got " + std::to_string(body_.size());
    return response;
  }
  void abort() override {}

 private:
  std::string body_;
};

// GET answers "hello <target>"; PUT reads the body; "/throw" throws.
class EchoHandler : public HttpHandler {
 public:
  Dispatch begin(const RequestHead& head) override {
    {
      std::lock_guard lock(mutex_);
      last_ = head;
    }
    if (head.target == "/throw") throw std::runtime_error("handler failed");
    if (head.method == "PUT") return Dispatch{{}, std::make_unique<CountingSink>()};
    Response response;
    response.headers.emplace_back("X-Test", "1");
    response.body = "hello " + head.target;
    return Dispatch{std::move(response), nullptr};
  }
  Response internal_error() override {
    Response response;
    response.status = 500;
    response.body = "internal";
    return response;
  }
  RequestHead last() {
    std::lock_guard lock(mutex_);
    return last_;
  }

 private:
  std::mutex mutex_;
  RequestHead last_;
};

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpServerOptions options;
    options.server_name = "net-test";
    options.header_limit = 1024;
    server_ = std::make_unique<HttpServer>(io_, handler_, options, nullptr);
    Status listening = server_->listen("127.0.0.1:0");
    ASSERT_TRUE(listening.ok()) << listening.message();
    server_->start();
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  // Sends `request` on a new connection and returns all the server wrote until it closed.
  std::string exchange(const std::string& request) {
    asio::io_context client_io;
    tcp::socket socket(client_io);
    auto address = server_->local_address();
    auto colon = address.rfind(':');
    socket.connect(
        tcp::endpoint(asio::ip::make_address(address.substr(0, colon)),
                      static_cast<unsigned short>(std::stoul(address.substr(colon + 1)))));
    asio::write(socket, asio::buffer(request));
    std::string reply;
    boost::system::error_code ec;
    asio::read(socket, asio::dynamic_buffer(reply), ec);  // until the server closes
    return reply;
  }

  asio::io_context io_;
  EchoHandler handler_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

TEST_F(HttpServerTest, ListensOnTheAskedAddressWithAnyPort) {
  auto address = server_->local_address();
  EXPECT_EQ(address.rfind("127.0.0.1:", 0), 0u) << address;
  EXPECT_NE(address, "127.0.0.1:0");
}

TEST_F(HttpServerTest, AnswersARequestThroughTheHandler) {
  std::string reply =
      exchange("GET /a/b?c HTTP/1.1\r\nHost: h\r\nX-Thing: v\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << reply;
  EXPECT_NE(reply.find("Server: net-test\r\n"), std::string::npos) << reply;
  EXPECT_NE(reply.find("X-Test: 1\r\n"), std::string::npos) << reply;
  EXPECT_NE(reply.find("\r\n\r\nhello /a/b?c"), std::string::npos) << reply;
  RequestHead head = handler_.last();
  EXPECT_EQ(head.method, "GET");
  EXPECT_EQ(head.scheme, "http");
  EXPECT_EQ(head.client, "127.0.0.1");
  EXPECT_EQ(head.header("x-thing"), "v");  // names are case-insensitive
}

TEST_F(HttpServerTest, StreamsTheBodyIntoTheHandlersSink) {
  std::string body(200000, 'x');
  std::string reply = exchange(
      "PUT /f HTTP/1.1\r\nHost: h\r\nContent-Length: 200000\r\n"
      "Connection: close\r\n\r\n" +
      body);
  EXPECT_NE(reply.find("\r\n\r\ngot 200000"), std::string::npos) << reply;
  EXPECT_EQ(handler_.last().content_length, 200000u);
}

TEST_F(HttpServerTest, AHandlerThatThrowsGetsItsInternalErrorSent) {
  std::string reply = exchange("GET /throw HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 500", 0), 0u) << reply;
  EXPECT_NE(reply.find("internal"), std::string::npos) << reply;
}

TEST_F(HttpServerTest, ClosesAConnectionWhoseHeadIsOverTheLimit) {
  std::string reply =
      exchange("GET / HTTP/1.1\r\nHost: h\r\nX-Long: " + std::string(4096, 'a') + "\r\n\r\n");
  EXPECT_EQ(reply, "");
}

TEST(HttpServerListenTest, RefusesAMalformedAddress) {
  asio::io_context io;
  EchoHandler handler;
  HttpServer server(io, handler, HttpServerOptions{}, nullptr);
  EXPECT_EQ(server.listen("no-port").code(), hr::E_INVALIDARG);
  EXPECT_EQ(server.listen("127.0.0.1:99999").code(), hr::E_INVALIDARG);
  EXPECT_EQ(server.listen("not-an-ip:80").code(), hr::E_INVALIDARG);
}

}  // namespace
}  // namespace openbits::net
