// Dispatcher: the JSON-RPC 2.0 method table of bitsd. Turns one parsed request and the
// caller's identity into one response (or none, for notifications). Knows nothing about
// sockets, so it is tested directly. See docs/rpc-spec.md.
//
// Threading: stateless apart from the JobManager it calls, which is thread-safe.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "src/daemon/core/job_manager.h"
#include "src/daemon/core/peer_directory.h"
#include "src/daemon/notify/notifier.h"
#include "src/daemon/notify/queue_watch.h"
#include "src/daemon/rpc/peer_identity.h"

namespace openbits::daemon {

class Dispatcher {
 public:
  explicit Dispatcher(JobManager& jobs);
  // Enables job.subscribe and friends (without a notifier they answer E_NOTIMPL). The
  // notifier must be used on the thread that calls handle().
  void set_notifier(Notifier* notifier) { notifier_ = notifier; }
  // Enables manager.subscribe/unsubscribe (E_NOTIMPL without), on the same thread.
  void set_queue_watch(QueueWatch* watch) { watch_ = watch; }
  // The peers peers.* lists, discovers and clears (src/daemon/peer); without one,
  // peers.list is empty and peers.discover / peers.clear answer S_OK.
  void set_peer_directory(PeerDirectory* peers) { peers_ = peers; }

  // Handles one request line. Returns the response line, or nullopt for a notification
  // (a request without "id"). Never throws: a request that cannot be allocated (parsing
  // it, running it or printing its answer) is answered E_OUTOFMEMORY, any other exception
  // from a method -32603 E_UNEXPECTED.
  std::optional<std::string> handle_line(const Caller& caller, const std::string& line);
  // Same, for an already parsed message.
  std::optional<nlohmann::json> handle(const Caller& caller, const nlohmann::json& request);

 private:
  // A result already printed as JSON text (a manager.enum_jobs page: each job is printed
  // once, straight into the reply, not built into one tree and printed again).
  struct Printed {
    std::string text;
  };
  // A method's answer: its result, or a failure whose error object's `data` gets `error_data`'s
  // members beside `hresult` (job.get_reply_data's `size`).
  struct Answer {
    // Implicit, so handlers may return a Result<json> or a Printed result.
    Answer(Result<nlohmann::json> r) : result(std::move(r)) {}
    Answer(Printed printed) : result(nlohmann::json()), result_text(std::move(printed.text)) {}
    Answer(Status failure, nlohmann::json data)
        : result(std::move(failure)), error_data(std::move(data)) {}
    Result<nlohmann::json> result;
    std::string result_text;  // when not empty, the result (and `result` is null)
    nlohmann::json error_data = nlohmann::json::object();
  };
  // A response: the message, whose "result" is `result_text` when that is not empty.
  struct Response {
    Response(nlohmann::json m, std::string text = {})  // implicit: an error message
        : message(std::move(m)), result_text(std::move(text)) {}
    nlohmann::json message;
    std::string result_text;
  };
  std::optional<Response> respond(const Caller& caller, const nlohmann::json& request);
  using Handler = std::function<Answer(const Caller&, const nlohmann::json&)>;
  void add_methods();
  void add_notification_methods();
  void add_queue_watch_methods();
  void add_peer_cache_methods();  // dispatcher_peer.cc: peercache.*, peers.*, file.get
  JobInfo with_interface(JobInfo info) const;
  Answer enum_jobs_page(const Caller& caller, const nlohmann::json& params);
  std::string enum_cursor(std::uint64_t rank) const;
  Result<std::uint64_t> enum_cursor_rank(const std::string& cursor) const;

  JobManager& jobs_;
  std::string run_id_;  // in manager.enum_jobs cursors
  Notifier* notifier_ = nullptr;
  QueueWatch* watch_ = nullptr;
  PeerDirectory* peers_ = nullptr;
  std::map<std::string, Handler> methods_;
};

}  // namespace openbits::daemon
