// The RPC channel to bitsd; see connection.h.
#include "src/client/connection.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "src/protocol/rpc.h"

namespace openbits {
namespace {

constexpr HRESULT kServiceNotActive = 0x80070426;  // HRESULT_FROM_WIN32(ERROR_SERVICE_NOT_ACTIVE)

Status error_to_status(const nlohmann::json& error) {
  std::string message = error.value("message", "");
  auto data = error.find("data");
  if (data != error.end() && data->is_object() && data->contains("hresult")) {
    return Status(data->at("hresult").get<HRESULT>(), message);
  }
  int code = error.value("code", rpc::kInternalError);
  return Status(code == rpc::kInvalidParams ? hr::E_INVALIDARG : hr::E_FAIL, message);
}

}  // namespace

Connection::~Connection() { ::close(fd_); }

Result<std::shared_ptr<Connection>> Connection::open(const std::string& socket_path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(address.sun_path)) {
    return Status(hr::E_INVALIDARG, "socket path too long: " + socket_path);
  }
  std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    std::string why = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return Status(kServiceNotActive, "cannot connect to bitsd at " + socket_path + ": " + why);
  }
  return std::shared_ptr<Connection>(new Connection(fd, socket_path));
}

Status Connection::send_line(const std::string& line) {
  std::size_t sent = 0;
  while (sent < line.size()) {
    ssize_t n = ::send(fd_, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status(hr::E_FAIL, "bitsd closed the connection (" + path_ + ")");
    sent += static_cast<std::size_t>(n);
  }
  return Status();
}

Result<std::string> Connection::read_line() {
  for (;;) {
    std::size_t newline = buffer_.find('\n');
    if (newline != std::string::npos) {
      std::string line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      return line;
    }
    char chunk[65536];
    ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status(hr::E_FAIL, "bitsd closed the connection (" + path_ + ")");
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

Result<nlohmann::json> Connection::call(const std::string& method, nlohmann::json params) {
  std::lock_guard lock(mutex_);
  std::int64_t id = next_id_++;
  nlohmann::json request = {
      {"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
  if (Status s = send_line(request.dump() + "\n"); !s.ok()) return s;
  for (;;) {
    auto line = read_line();
    if (!line.ok()) return line.status();
    nlohmann::json response = nlohmann::json::parse(*line, nullptr, false);
    if (!response.is_object()) return Status(hr::E_FAIL, "bitsd sent a malformed message");
    if (!response.contains("id")) {  // a notification
      notifications_.push_back(std::move(response));
      continue;
    }
    if (response["id"] != id) continue;
    if (response.contains("error")) return error_to_status(response["error"]);
    return response.value("result", nlohmann::json::object());
  }
}

Status status_from_result(const Result<nlohmann::json>& result) {
  if (!result.ok()) return result.status();
  return Status::ok_status(result->value("hresult", hr::S_OK));
}

}  // namespace openbits
