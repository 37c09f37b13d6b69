// Connection: libopenbits's channel to bitsd. A blocking AF_UNIX stream socket carrying
// newline-framed JSON-RPC 2.0 (docs/rpc-spec.md). call() sends one request and waits for
// its response; daemon notifications that arrive meanwhile are queued for later use.
//
// Threading: call() takes a mutex, so one Connection may be shared by threads.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "openbits/status.h"
#include "openbits/types.h"
#include "src/common/unique_fd.h"

namespace openbits {

class Connection {
 public:
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  static Result<std::shared_ptr<Connection>> open(const std::string& socket_path);

  // Calls `method`; a JSON-RPC error becomes a Status carrying the daemon's HRESULT, and
  // the error's `data` object is copied to `*error_data` when given.
  Result<nlohmann::json> call(const std::string& method, nlohmann::json params,
                              nlohmann::json* error_data = nullptr);
  // Which notifications a reader takes; the others stay queued for other readers.
  using Filter = std::function<bool(const nlohmann::json& message)>;
  // The oldest queued daemon notification `wanted` accepts (any without a filter), or the
  // next one to arrive within `timeout`; nullopt when none came.
  Result<std::optional<nlohmann::json>> next_notification(std::chrono::milliseconds timeout,
                                                          const Filter& wanted = {});

  // Callbacks registered with Job::set_callback, by job id. Opaque here (client.cc casts).
  void set_callback(const Guid& job, std::shared_ptr<void> callback);
  std::shared_ptr<void> callback(const Guid& job);

 private:
  Connection(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  Status send_line(const std::string& line);
  Result<std::string> read_line();
  // Reads until the response to request `id`; queues notifications met on the way.
  Result<nlohmann::json> await_response(std::int64_t id, nlohmann::json* error_data);
  void queue_notification(nlohmann::json message);
  std::optional<nlohmann::json> take_queued(const Filter& wanted);

  UniqueFd fd_;
  std::string path_;
  std::mutex mutex_;
  std::string buffer_;
  std::int64_t next_id_ = 1;
  std::deque<nlohmann::json> notifications_;
  std::mutex callbacks_mutex_;
  std::map<Guid, std::shared_ptr<void>> callbacks_;
};

// A call's {"hresult": code} result as a Status (ok for S_OK, S_FALSE, BG_S_*).
Status status_from_result(const Result<nlohmann::json>& result);

}  // namespace openbits
