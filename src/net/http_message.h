// The request and response values the HTTP server (http_server.h) exchanges with the
// program it serves, independent of sockets and of Beast: a request's head, a body sink
// the body streams into, and the response to send. Value types, no shared state.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace openbits::net {

struct CaseInsensitiveLess {
  bool operator()(const std::string& a, const std::string& b) const;
};

struct RequestHead {
  std::string method;  // "BITS_POST", "GET", ...
  std::string target;
  std::map<std::string, std::string, CaseInsensitiveLess> headers;  // first value of each
  std::string client;                                               // peer address
  std::string scheme;                                               // "http" or "https"
  // TLS with a verified client certificate: its subject (RFC 2253), else "".
  std::string client_subject;
  std::optional<std::uint64_t> content_length;

  std::string header(const std::string& name) const;
  bool has(const std::string& name) const { return headers.count(name) != 0; }
};

// A response body produced while it is sent (a file read chunk by chunk). The server
// destroys it when the response ends, however it ends (all sent, the client gone, an
// error), so the destructor is where what it holds is released.
class BodySource {
 public:
  virtual ~BodySource() = default;
  // Up to `size` of the next bytes into `data`; 0 (or fewer bytes in all than the
  // response's Content-Length) closes the connection, and the client sees a short body.
  virtual std::size_t read(char* data, std::size_t size) = 0;
  // How long to wait before `size` more bytes go out (a rate cap); zero: at once.
  virtual std::chrono::nanoseconds pace(std::size_t size) = 0;
};

struct Response {
  unsigned status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::optional<std::uint64_t> head_length;  // HEAD: Content-Length without a body
  // Instead of `body`: source_length bytes read from `source` as they are sent.
  std::shared_ptr<BodySource> source;
  std::uint64_t source_length = 0;
};

// Receives a request body chunk by chunk. finish() after the whole body, abort() when the
// connection broke before that.
class BodySink {
 public:
  virtual ~BodySink() = default;
  virtual void consume(const char* data, std::size_t size) = 0;
  virtual Response finish() = 0;
  virtual void abort() = 0;
};

// Either a response to send after discarding the body, or a sink for it.
struct Dispatch {
  Response response;
  std::unique_ptr<BodySink> sink;
};

}  // namespace openbits::net
