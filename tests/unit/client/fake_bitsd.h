// FakeBitsd: a scripted JSON-RPC peer on a temporary Unix socket, for unit tests of
// libopenbits's logic (request shapes, reply decoding, error mapping). It is not bitsd:
// every answer comes from the test's handler. The real daemon is exercised by the
// integration tests. Header-only because the unit-test glob compiles *_test.cc only.
//
// Threading: one server thread accepts connections one at a time and serves them line by
// line; requests() may be read from the test thread (guarded by a mutex).
#pragma once

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/temp_dir.h"

namespace openbits::fake {

// Lines the server sends back for one request; the line kHangUp closes the connection.
using Handler = std::function<std::vector<std::string>(const nlohmann::json& request)>;
inline const std::string kHangUp = "<hang up>";

// {"jsonrpc":"2.0","id":<request id>,"result":<result>} as one line.
inline std::string result_line(const nlohmann::json& request, const nlohmann::json& result) {
  return nlohmann::json{{"jsonrpc", "2.0"}, {"id", request.at("id")}, {"result", result}}.dump();
}

// A JSON-RPC error answering `request` (data omitted when null).
inline std::string error_line(const nlohmann::json& request, int code, const std::string& message,
                              const nlohmann::json& data = nullptr) {
  nlohmann::json error = {{"code", code}, {"message", message}};
  if (!data.is_null()) error["data"] = data;
  return nlohmann::json{{"jsonrpc", "2.0"}, {"id", request.at("id")}, {"error", error}}.dump();
}

// A BITS failure as bitsd sends it: code = signed HRESULT, data.hresult = unsigned.
inline std::string hresult_error_line(const nlohmann::json& request, std::uint32_t hresult,
                                      const std::string& message) {
  return error_line(request, static_cast<std::int32_t>(hresult), message, {{"hresult", hresult}});
}

class FakeBitsd {
 public:
  explicit FakeBitsd(Handler handler) : handler_(std::move(handler)) {
    path_ = dir_.path() + "/bitsd.sock";
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path_.c_str(), sizeof(address.sun_path) - 1);
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        ::listen(listen_fd_, 8) != 0) {
      throw std::runtime_error("cannot listen on " + path_);
    }
    thread_ = std::thread([this] { serve(); });
  }

  ~FakeBitsd() {
    ::shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
    {
      std::lock_guard lock(mutex_);
      if (client_fd_ >= 0) ::shutdown(client_fd_, SHUT_RDWR);
    }
    thread_.join();
    ::close(listen_fd_);
  }

  FakeBitsd(const FakeBitsd&) = delete;
  FakeBitsd& operator=(const FakeBitsd&) = delete;

  const std::string& path() const { return path_; }

  std::vector<nlohmann::json> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

  nlohmann::json last_request() const {
    std::lock_guard lock(mutex_);
    return requests_.empty() ? nlohmann::json() : requests_.back();
  }

 private:
  void serve() {
    for (;;) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      {
        std::lock_guard lock(mutex_);
        client_fd_ = fd;
      }
      serve_connection(fd);
      std::lock_guard lock(mutex_);
      client_fd_ = -1;
      ::close(fd);
    }
  }

  void serve_connection(int fd) {
    std::string buffer;
    char chunk[4096];
    for (;;) {
      ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
      if (n <= 0) return;
      buffer.append(chunk, static_cast<std::size_t>(n));
      for (std::size_t newline; (newline = buffer.find('\n')) != std::string::npos;) {
        nlohmann::json request = nlohmann::json::parse(buffer.substr(0, newline));
        buffer.erase(0, newline + 1);
        {
          std::lock_guard lock(mutex_);
          requests_.push_back(request);
        }
        for (const std::string& line : handler_(request)) {
          if (line == kHangUp) return;
          std::string framed = line + "\n";
          if (::send(fd, framed.data(), framed.size(), MSG_NOSIGNAL) < 0) return;
        }
      }
    }
  }

  Handler handler_;
  test::TempDir dir_{"openbits-fake"};
  std::string path_;
  int listen_fd_ = -1;
  int client_fd_ = -1;
  mutable std::mutex mutex_;
  std::vector<nlohmann::json> requests_;
  std::thread thread_;
};

}  // namespace openbits::fake
