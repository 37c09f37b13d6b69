// The request and response values the HTTP server (http_server.h) exchanges with the
// program it serves, independent of sockets and of Beast: a request's head, a body sink
// the body streams into, and the response to send. Value types, no shared state.
#pragma once

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
  std::optional<std::uint64_t> content_length;

  std::string header(const std::string& name) const;
  bool has(const std::string& name) const { return headers.count(name) != 0; }
};

struct Response {
  unsigned status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::optional<std::uint64_t> head_length;  // HEAD: Content-Length without a body
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
