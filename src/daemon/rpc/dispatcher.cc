// JSON-RPC method table of bitsd; see dispatcher.h and docs/rpc-spec.md.
#include "src/daemon/rpc/dispatcher.h"

#include <charconv>
#include <cstdio>
#include <new>

#include "openbits/names.h"
#include "src/common/hex.h"
#include "src/common/ids.h"
#include "src/daemon/platform/bandwidth_policy.h"
#include "src/daemon/platform/memory_reserve.h"
#include "src/daemon/rpc/dispatcher_results.h"
#include "src/daemon/rpc/job_info_text.h"
#include "src/protocol/codec.h"
#include "src/protocol/rpc.h"

namespace openbits::daemon {
namespace {

using nlohmann::json;

json error_response(const json& id, int code, const std::string& message, HRESULT hresult,
                    json data = json::object()) {
  data["hresult"] = hresult;
  return {{"jsonrpc", "2.0"},
          {"id", id},
          {"error", {{"code", code}, {"message", message}, {"data", std::move(data)}}}};
}

using dispatcher_detail::from_status;
using dispatcher_detail::status_result;

// E_OUTOFMEMORY for a request that could not be allocated (a small reply, which the
// memory freed by the failed attempt leaves room for).
json out_of_memory(const json& id) {
  return error_response(id, rpc::error_code_for(hr::E_OUTOFMEMORY),
                        describe_hresult(hr::E_OUTOFMEMORY), hr::E_OUTOFMEMORY);
}

// An id a response may echo (an integer or a string), else null.
json valid_id(const json& id) { return id.is_number_integer() || id.is_string() ? id : json(); }

Guid job_id(const json& params) { return params.at("job_id").get<Guid>(); }

// True if arrays and objects in `text` nest deeper than rpc::kMaxNestingDepth. Checked
// before parsing: copying or printing a value nested 500,000 deep (a 1 MiB line of '[')
// recurses once per level and would exhaust the stack.
bool nested_too_deep(const std::string& text) {
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > rpc::kMaxNestingDepth) return true;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return false;
}

// daemon.bandwidth_policy (docs/rpc-spec.md): the limits in force now and the whole policy.
json bandwidth_policy_reply(const JobManager::BandwidthNow& now) {
  static constexpr const char* kSources[] = {"default", "window", "maintenance"};
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  char clock[16];
  std::snprintf(clock, sizeof clock, "%02d:%02d:%02d", now.local_time.second / 3600,
                now.local_time.second / 60 % 60, now.local_time.second % 60);
  json windows = json::array();
  for (const BandwidthWindow& w : now.policy.windows) windows.push_back(to_json(w));
  return {{"in_force",
           {{"source", kSources[static_cast<int>(now.in_force.source)]},
            {"window", now.in_force.window},
            {"local_time", std::string(kDays[now.local_time.weekday % 7]) + " " + clock},
            {"limits", to_json(now.in_force.limits)}}},
          {"policy",
           {{"bandwidth_limits", to_json(now.policy.outside)},
            {"bandwidth_windows", windows},
            {"bandwidth_maintenance",
             now.policy.maintenance ? to_json(*now.policy.maintenance) : json(nullptr)}}}};
}

}  // namespace

Dispatcher::Dispatcher(JobManager& jobs) : jobs_(jobs), run_id_(to_string(random_guid())) {
  add_methods();
  add_notification_methods();
  add_queue_watch_methods();
  add_peer_cache_methods();
}

JobInfo Dispatcher::with_interface(JobInfo info) const {
  info.notify_interface_registered = notifier_ && notifier_->subscribed(info.id);
  return info;
}

void Dispatcher::add_notification_methods() {
  namespace m = rpc::method;
  // SetNotifyInterface: the caller must be able to read the job; final jobs refuse.
  methods_[m::kSubscribe] = [this](const Caller& c, const json& p) -> Result<json> {
    if (!notifier_) return Status(hr::E_NOTIMPL);
    auto info = jobs_.job_info(c, job_id(p));
    if (!info.ok()) return info.status();
    if (info->state == JobState::kAcknowledged || info->state == JobState::kCancelled) {
      return Status(hr::BG_E_INVALID_STATE);
    }
    notifier_->subscribe(c.connection, c.uid, info->id, c.admin);
    return status_result(Status());
  };
  methods_[m::kUnsubscribe] = [this](const Caller& c, const json& p) -> Result<json> {
    if (!notifier_) return Status(hr::E_NOTIMPL);
    auto info = jobs_.job_info(c, job_id(p));
    if (!info.ok()) return info.status();
    if (info->state == JobState::kAcknowledged || info->state == JobState::kCancelled) {
      return Status(hr::BG_E_INVALID_STATE);
    }
    notifier_->unsubscribe(c.connection, info->id);
    return status_result(Status());
  };
  methods_[m::kAcknowledgeNotification] = [this](const Caller& c, const json& p) {
    if (!notifier_) return from_status(Status(hr::E_NOTIMPL));
    return from_status(notifier_->acknowledge(c.connection,
                                              get_integer<std::uint64_t>(p.at("delivery")),
                                              get_integer_or<HRESULT>(p, "hresult", hr::S_OK)));
  };
}

void Dispatcher::add_queue_watch_methods() {
  namespace m = rpc::method;
  // Like EnumJobs: the caller's own jobs, every user's for administrators who ask.
  methods_[m::kQueueSubscribe] = [this](const Caller& c, const json& p) -> Result<json> {
    if (!watch_) return Status(hr::E_NOTIMPL);
    bool all_users = p.value("all_users", false);
    if (all_users && !c.admin) return Status(hr::E_ACCESSDENIED);
    watch_->subscribe(c.connection, c.uid, all_users);
    return status_result(Status());
  };
  methods_[m::kQueueUnsubscribe] = [this](const Caller& c, const json&) -> Result<json> {
    if (!watch_) return Status(hr::E_NOTIMPL);
    watch_->unsubscribe(c.connection);
    return status_result(Status());
  };
}

void Dispatcher::add_methods() {
  namespace m = rpc::method;
  methods_[m::kVersion] = [](const Caller&, const json&) -> Result<json> {
    return json{{"version", "0.1.0"}, {"protocol", 1}};
  };
  methods_[m::kCreateJob] = [this](const Caller& c, const json& p) -> Result<json> {
    auto id = jobs_.create_job(c, p.at("display_name").get<std::string>(),
                               p.value("type", JobType::kDownload));
    if (!id.ok()) return id.status();
    return json{{"job_id", *id}};
  };
  methods_[m::kGetJob] = [this](const Caller& c, const json& p) -> Result<json> {
    auto info = jobs_.get_job(c, job_id(p));
    if (!info.ok()) return info.status();
    return json(with_interface(*info));
  };
  methods_[m::kGetJobInfo] = [this](const Caller& c, const json& p) -> Result<json> {
    auto info = jobs_.job_info(c, job_id(p));
    if (!info.ok()) return info.status();
    return json(with_interface(*info));
  };
  methods_[m::kEnumJobs] = [this](const Caller& c, const json& p) -> Answer {
    if (p.contains("cursor")) return enum_jobs_page(c, p);
    auto jobs = jobs_.enum_jobs(c, p.value("all_users", false));
    if (!jobs.ok()) return Result<json>(jobs.status());
    for (JobInfo& info : *jobs) info = with_interface(std::move(info));
    return Result<json>(json{{"jobs", *jobs}});
  };
  methods_[m::kProxySettings] = [this](const Caller& c, const json&) -> Result<json> {
    auto report = jobs_.proxy_settings(c);
    if (!report.ok()) return report.status();
    return json{
        {"system_proxy", report->system_proxy},
        {"system_proxy_bypass", report->system_proxy_bypass},
        {"environment", report->environment},
        {"preconfig", {{"http", report->preconfig_http}, {"https", report->preconfig_https}}}};
  };
  methods_[m::kBandwidthPolicy] = [this](const Caller&, const json&) -> Result<json> {
    return bandwidth_policy_reply(jobs_.bandwidth_policy());
  };
  methods_[m::kCheckStore] = [this](const Caller& c, const json&) -> Result<json> {
    auto check = jobs_.check_store(c);
    if (!check.ok()) return check.status();
    return json{{"path", check->path}, {"problems", check->problems}};
  };
  methods_[m::kErrorDescription] = [](const Caller&, const json& p) -> Result<json> {
    return json{{"description", describe_hresult(get_integer<HRESULT>(p.at("hresult")))}};
  };
  methods_[m::kAddFiles] = [this](const Caller& c, const json& p) -> Answer {
    auto files = p.at("files").get<std::vector<FileSpec>>();
    std::size_t failed = files.size();  // stays so when no particular file was refused
    Status s = jobs_.add_files(c, job_id(p), files, &failed);
    if (s.ok() || failed >= files.size()) return from_status(s);
    return Answer(s, json{{"file_index", failed}});  // which of `files` was refused
  };
  methods_[m::kResume] = [this](const Caller& c, const json& p) {
    return from_status(jobs_.resume(c, job_id(p)));
  };
  methods_[m::kSuspend] = [this](const Caller& c, const json& p) {
    return from_status(jobs_.suspend(c, job_id(p)));
  };
  methods_[m::kCancel] = [this](const Caller& c, const json& p) {
    return from_status(jobs_.cancel(c, job_id(p)));
  };
  methods_[m::kComplete] = [this](const Caller& c, const json& p) {
    return from_status(jobs_.complete(c, job_id(p)));
  };
  methods_[m::kTakeOwnership] = [this](const Caller& c, const json& p) {
    return from_status(jobs_.take_ownership(c, job_id(p)));
  };
  methods_[m::kSetProperty] = [this](const Caller& c, const json& p) {
    return from_status(
        jobs_.set_property(c, job_id(p), p.at("name").get<std::string>(), p.at("value")));
  };
  methods_[m::kSetCredentials] = [this](const Caller& c, const json& p) {
    return from_status(jobs_.set_credentials(c, job_id(p), p.get<AuthCredentials>()));
  };
  methods_[m::kRemoveCredentials] = [this](const Caller& c, const json& p) {
    return from_status(jobs_.remove_credentials(
        c, job_id(p), static_cast<AuthTarget>(get_integer<int>(p.at("target"))),
        static_cast<AuthScheme>(get_integer<int>(p.at("scheme")))));
  };
  methods_[m::kSetClientCertificate] = [this](const Caller& c, const json& p) -> Result<json> {
    ClientCertificateRequest request;
    request.location = static_cast<CertStoreLocation>(get_integer<int>(p.at("location")));
    request.store_name = p.at("store_name").get<std::string>();
    if (auto hash = p.find("hash"); hash != p.end() && !hash->is_null()) {
      request.hash = hash_from_hex(hash->get<std::string>());
      if (!request.hash) return Status(hr::RPC_X_BAD_STUB_DATA);
    } else if (auto subject = p.find("subject"); subject != p.end() && !subject->is_null()) {
      request.subject = subject->get<std::string>();
    } else {
      return Status(hr::E_INVALIDARG, "give a certificate hash or a subject name");
    }
    return from_status(jobs_.set_client_certificate(c, job_id(p), request));
  };
  methods_[m::kRemoveClientCertificate] = [this](const Caller& c, const json& p) {
    return from_status(jobs_.remove_client_certificate(c, job_id(p)));
  };
  methods_[m::kGetError] = [this](const Caller& c, const json& p) -> Result<json> {
    auto error = jobs_.get_error(c, job_id(p));
    if (!error.ok()) return error.status();
    return json(*error);
  };
  methods_[m::kReplaceRemotePrefix] = [this](const Caller& c, const json& p) {
    return from_status(jobs_.replace_remote_prefix(c, job_id(p),
                                                   p.at("old_prefix").get<std::string>(),
                                                   p.at("new_prefix").get<std::string>()));
  };
  methods_[m::kSetRemoteName] = [this](const Caller& c, const json& p) {
    return from_status(jobs_.set_remote_name(c, job_id(p),
                                             get_integer<std::uint32_t>(p.at("file_index")),
                                             p.at("remote_name").get<std::string>()));
  };
  methods_[m::kGetReplyData] = [this](const Caller& c, const json& p) -> Answer {
    std::uint64_t length =
        std::min(get_integer_or(p, "length", m::kMaxReplyChunk), m::kMaxReplyChunk);
    std::uint64_t size = 0;
    auto data = jobs_.get_reply_data(c, job_id(p), get_integer_or(p, "offset", std::uint64_t{0}),
                                     length, size);
    if (data.code() == hr::BG_E_TOO_LARGE) return Answer(data.status(), {{"size", size}});
    if (!data.ok()) return Result<json>(data.status());
    return Result<json>(json{{"data", hex_encode(*data)}, {"size", size}});
  };
  methods_[m::kSetValidationState] = [this](const Caller& c, const json& p) {
    return from_status(jobs_.set_validation_state(
        c, job_id(p), get_integer<std::uint32_t>(p.at("file_index")), p.at("valid").get<bool>()));
  };
}

// Cursors are "<run>:<rank>": `run` names this Dispatcher's life (creation ranks are
// handed out again at the next start), `rank` the last job listed (0: none yet).
std::string Dispatcher::enum_cursor(std::uint64_t rank) const {
  return run_id_ + ":" + std::to_string(rank);
}

Result<std::uint64_t> Dispatcher::enum_cursor_rank(const std::string& cursor) const {
  if (cursor.empty()) return std::uint64_t{0};
  std::size_t colon = cursor.rfind(':');
  std::uint64_t rank = 0;
  const char* end = cursor.data() + cursor.size();
  if (colon == std::string::npos ||
      std::from_chars(cursor.data() + colon + 1, end, rank).ptr != end ||
      colon + 1 == cursor.size()) {
    return Status(hr::E_INVALIDARG, "not a manager.enum_jobs cursor: '" + cursor + "'");
  }
  if (cursor.compare(0, colon, run_id_) != 0) {
    return Status(hr::E_INVALIDARG,
                  "the manager.enum_jobs cursor is from an earlier run of bitsd; list again");
  }
  return rank;
}

// manager.enum_jobs with a cursor: the jobs after it, as many as `limit` allows and fit in
// rpc::kMaxEnumPageBytes (one job at least), and "next" when more may follow. Each job is
// printed once, into the page's text.
Dispatcher::Answer Dispatcher::enum_jobs_page(const Caller& caller, const json& params) {
  auto after = enum_cursor_rank(params.at("cursor").get<std::string>());
  if (!after.ok()) return Result<json>(after.status());
  auto limit = get_integer_or(params, "limit", rpc::method::kMaxEnumPageJobs);
  if (limit == 0) return Result<json>(Status(hr::E_INVALIDARG, "limit must be at least 1"));
  std::string text = "{\"jobs\":[";
  std::uint64_t count = 0;
  auto take = [&](const JobInfo& info) {
    if (count >= limit) return false;
    std::size_t before = text.size();
    if (count > 0) text += ',';
    append_job_info_json(text, info, notifier_ && notifier_->subscribed(info.id));
    // The page so far with this job (the reply's few other bytes are within the slack
    // rpc.h leaves below the line limit); one job at least.
    if (count > 0 && text.size() > rpc::method::kMaxEnumPageBytes) {
      text.resize(before);
      return false;
    }
    ++count;
    return true;
  };
  auto next = jobs_.enum_jobs_page(caller, params.value("all_users", false), *after, take);
  if (!next.ok()) return Result<json>(next.status());
  text += ']';
  if (*next) text += ",\"next\":" + json(enum_cursor(**next)).dump();
  text += '}';
  return Printed{std::move(text)};
}

std::optional<std::string> Dispatcher::handle_line(const Caller& caller, const std::string& line) {
  json id;  // the request's, once known
  // Spent by the last allocation failure: taken again once memory allows (memory_reserve.h).
  if (!memory_reserve::armed()) (void)memory_reserve::rearm();
  try {
    if (nested_too_deep(line)) {
      return error_response(nullptr, rpc::kInvalidRequest, "nested too deeply", hr::E_INVALIDARG)
          .dump();
    }
    json request = json::parse(line, nullptr, false);
    if (request.is_discarded()) {
      return error_response(nullptr, rpc::kParseError, "parse error: not JSON", hr::E_INVALIDARG)
          .dump();
    }
    if (request.is_object() && request.contains("id")) id = valid_id(request["id"]);
    auto response = respond(caller, request);
    if (!response) return std::nullopt;
    std::string text = response->message.dump(-1, ' ', false, json::error_handler_t::replace);
    if (response->result_text.empty()) return text;
    text.pop_back();  // the message's closing brace: the printed result goes before it
    return text + ",\"result\":" + response->result_text + "}";
  } catch (const std::bad_alloc&) {  // parsing or printing: this request fails, not bitsd
    return out_of_memory(id).dump();
  }
}

std::optional<json> Dispatcher::handle(const Caller& caller, const json& request) {
  auto response = respond(caller, request);
  if (!response) return std::nullopt;
  if (!response->result_text.empty()) {
    response->message["result"] = json::parse(response->result_text);
  }
  return std::move(response->message);
}

std::optional<Dispatcher::Response> Dispatcher::respond(const Caller& caller, const json& request) {
  if (!request.is_object() || request.value("jsonrpc", json()) != "2.0" ||
      !request.contains("method") || !request["method"].is_string()) {
    json id = request.is_object() && request.contains("id") ? request["id"] : json();
    return error_response(id, rpc::kInvalidRequest, "invalid JSON-RPC 2.0 request",
                          hr::E_INVALIDARG);
  }
  bool notification = !request.contains("id");
  json id = notification ? json() : request["id"];
  if (!id.is_null() && !id.is_number_integer() && !id.is_string()) {
    return error_response(nullptr, rpc::kInvalidRequest, "invalid id", hr::E_INVALIDARG);
  }
  auto method = methods_.find(request["method"].get<std::string>());
  if (method == methods_.end()) {
    if (notification) return std::nullopt;
    return error_response(id, rpc::kMethodNotFound, "method not found", hr::E_NOTIMPL);
  }
  json params = request.value("params", json::object());
  if (!params.is_object()) {
    return error_response(id, rpc::kInvalidParams, "params must be an object", hr::E_INVALIDARG);
  }
  Answer answer{Result<json>(Status(hr::E_UNEXPECTED))};
  try {
    answer = method->second(caller, params);
  } catch (const json::exception& e) {
    if (notification) return std::nullopt;
    return error_response(id, rpc::kInvalidParams, std::string("invalid params: ") + e.what(),
                          hr::E_INVALIDARG);
  } catch (const std::bad_alloc&) {
    if (notification) return std::nullopt;
    return out_of_memory(id);
  } catch (const std::exception& e) {  // no request may take the daemon down
    if (notification) return std::nullopt;
    return error_response(id, rpc::kInternalError, std::string("internal error: ") + e.what(),
                          hr::E_UNEXPECTED);
  }
  if (notification) return std::nullopt;
  if (!answer.result.ok()) {
    Status s = answer.result.status();
    std::string message = describe_hresult(s.code());
    if (!s.message().empty()) message += " (" + s.message() + ")";
    return error_response(id, rpc::error_code_for(s.code()), message, s.code(),
                          std::move(answer.error_data));
  }
  if (!answer.result_text.empty()) {
    return Response(json{{"jsonrpc", "2.0"}, {"id", id}}, std::move(answer.result_text));
  }
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(answer.result).value()}};
}

}  // namespace openbits::daemon
