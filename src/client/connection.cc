// The RPC channel to bitsd; see connection.h.
#include "src/client/connection.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "src/protocol/rpc.h"

namespace openbits {
namespace {

constexpr std::size_t kMaxQueuedNotifications = 1024;  // oldest dropped beyond this
constexpr HRESULT kServiceNotActive = 0x80070426;  // HRESULT_FROM_WIN32(ERROR_SERVICE_NOT_ACTIVE)

// A JSON-RPC error object as a Status: data.hresult when present, else the protocol code
// (-32602 invalid params is E_INVALIDARG; every other failure is E_FAIL).
Status error_to_status(const nlohmann::json& error) {
  if (!error.is_object()) return Status(hr::E_FAIL, "bitsd sent a malformed error");
  auto text = error.find("message");
  std::string message = text != error.end() && text->is_string() ? text->get<std::string>() : "";
  auto data = error.find("data");
  if (data != error.end() && data->is_object()) {
    auto hresult = data->find("hresult");
    if (hresult != data->end() && hresult->is_number_unsigned() && *hresult <= 0xFFFFFFFFu) {
      return Status(hresult->get<HRESULT>(), message);
    }
  }
  auto code = error.find("code");
  bool invalid_params = code != error.end() && *code == rpc::kInvalidParams;
  return Status(invalid_params ? hr::E_INVALIDARG : hr::E_FAIL, message);
}

}  // namespace

Result<std::shared_ptr<Connection>> Connection::open(const std::string& socket_path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(address.sun_path)) {
    return Status(hr::E_INVALIDARG, "socket path too long: " + socket_path);
  }
  std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid() ||
      ::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    char text[256];
    std::string why = ::strerror_r(errno, text, sizeof(text));  // GNU: returns the text
    return Status(kServiceNotActive, "cannot connect to bitsd at " + socket_path + ": " + why);
  }
  return std::shared_ptr<Connection>(new Connection(std::move(fd), socket_path));
}

Status Connection::send_line(const std::string& line) {
  std::size_t sent = 0;
  while (sent < line.size()) {
    ssize_t n = ::send(fd_.get(), line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
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
    if (buffer_.size() > rpc::kMaxMessageBytes) {
      return Status(hr::E_FAIL, "bitsd sent a message longer than 1 MiB");
    }
    char chunk[65536];
    ssize_t n = ::recv(fd_.get(), chunk, sizeof(chunk), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return Status(hr::E_FAIL, "bitsd closed the connection before answering (" + path_ + ")");
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

Result<nlohmann::json> Connection::call(const std::string& method, nlohmann::json params,
                                        nlohmann::json* error_data) {
  std::lock_guard lock(mutex_);
  std::int64_t id = next_id_++;
  nlohmann::json request = {
      {"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
  std::string line;
  try {
    line = request.dump() + "\n";
  } catch (const nlohmann::json::exception&) {  // a string that is not UTF-8
    return Status(hr::E_INVALIDARG, "a string argument is not valid UTF-8");
  }
  if (Status s = send_line(line); !s.ok()) return s;
  return await_response(id, error_data);
}

Result<nlohmann::json> Connection::await_response(std::int64_t id, nlohmann::json* error_data) {
  for (;;) {
    auto received = read_line();
    if (!received.ok()) return received.status();
    nlohmann::json response = nlohmann::json::parse(*received, nullptr, false);
    if (!response.is_object()) return Status(hr::E_FAIL, "bitsd sent a malformed message");
    if (!response.contains("id")) {  // a notification: for next_notification()
      queue_notification(std::move(response));
      continue;
    }
    const nlohmann::json& response_id = response["id"];
    // A protocol error about an unreadable request carries "id": null; it answers ours.
    bool ours = response_id == id || (response_id.is_null() && response.contains("error"));
    if (!ours) continue;  // a stale answer to an earlier request
    if (response.contains("error")) {
      const nlohmann::json& error = response["error"];
      if (error_data && error.is_object()) *error_data = error.value("data", nlohmann::json());
      return error_to_status(error);
    }
    auto result = response.find("result");
    if (result == response.end() || !result->is_object()) {
      return Status(hr::E_FAIL, "bitsd sent a reply without a result object");
    }
    return std::move(*result);
  }
}

void Connection::queue_notification(nlohmann::json message) {
  if (notifications_.size() == kMaxQueuedNotifications) notifications_.pop_front();
  notifications_.push_back(std::move(message));
}

std::optional<nlohmann::json> Connection::take_queued(const Filter& wanted) {
  for (auto it = notifications_.begin(); it != notifications_.end(); ++it) {
    if (wanted && !wanted(*it)) continue;
    nlohmann::json next = std::move(*it);
    notifications_.erase(it);
    return next;
  }
  return std::nullopt;
}

Result<std::optional<nlohmann::json>> Connection::next_notification(
    std::chrono::milliseconds timeout, const Filter& wanted) {
  std::lock_guard lock(mutex_);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (auto queued = take_queued(wanted)) return queued;
    if (buffer_.find('\n') == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() < 0) return std::optional<nlohmann::json>();
      pollfd p{fd_.get(), POLLIN, 0};
      int ready = ::poll(&p, 1, static_cast<int>(left.count()));
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) return std::optional<nlohmann::json>();
    }
    auto received = read_line();
    if (!received.ok()) return received.status();
    nlohmann::json message = nlohmann::json::parse(*received, nullptr, false);
    if (message.is_object() && !message.contains("id") && message.contains("method")) {
      if (!wanted || wanted(message)) return std::optional<nlohmann::json>(std::move(message));
      queue_notification(std::move(message));
    }
    // anything else is a stale answer to an abandoned request: skip it
  }
}

void Connection::set_callback(const Guid& job, std::shared_ptr<void> callback) {
  std::lock_guard lock(callbacks_mutex_);
  if (callback) {
    callbacks_[job] = std::move(callback);
  } else {
    callbacks_.erase(job);
  }
}

std::shared_ptr<void> Connection::callback(const Guid& job) {
  std::lock_guard lock(callbacks_mutex_);
  auto it = callbacks_.find(job);
  return it == callbacks_.end() ? nullptr : it->second;
}

Status status_from_result(const Result<nlohmann::json>& result) {
  if (!result.ok()) return result.status();
  auto code = result->find("hresult");
  if (code == result->end()) return Status();
  if (!code->is_number_unsigned() || *code > 0xFFFFFFFFu) {
    return Status(hr::E_FAIL, "bitsd sent a malformed hresult");
  }
  return Status::ok_status(code->get<HRESULT>());
}

}  // namespace openbits
