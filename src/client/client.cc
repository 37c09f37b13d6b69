// libopenbits: Manager, Job and File over the RPC channel; see openbits/client.h.
#include "openbits/client.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "src/client/connection.h"
#include "src/client/reply.h"
#include "src/protocol/codec.h"
#include "src/protocol/rpc.h"

namespace openbits {
namespace {

using nlohmann::json;
namespace m = rpc::method;

using client_detail::decode;
using client_detail::field;

json job_params(const Guid& id) { return {{"job_id", id}}; }

Status set_job_property(Connection& connection, const Guid& id, std::string_view name, json value) {
  return status_from_result(connection.call(
      m::kSetProperty, {{"job_id", id}, {"name", std::string(name)}, {"value", std::move(value)}}));
}

template <typename T>
json optional_json(const std::optional<T>& value) {
  return value ? json(*value) : json(nullptr);
}

}  // namespace

std::string to_json(const JobInfo& info, int indent) { return json(info).dump(indent); }

// --- Manager -------------------------------------------------------------------------

Manager::Manager(std::shared_ptr<Connection> connection) : connection_(std::move(connection)) {}

// getenv is only unsafe against a concurrent setenv, which client programs do not do
// while connecting; the library itself never modifies the environment.
std::string Manager::default_socket_path() {
  const char* env = std::getenv("OPENBITS_SOCKET");  // NOLINT(concurrency-mt-unsafe)
  if (env && *env) return env;
  constexpr const char* kSystemSocket = "/run/openbits/bitsd.sock";
  if (::access(kSystemSocket, F_OK) == 0) return kSystemSocket;
  const char* runtime = std::getenv("XDG_RUNTIME_DIR");  // NOLINT(concurrency-mt-unsafe)
  if (runtime && *runtime) return std::string(runtime) + "/openbits/bitsd.sock";
  return "/tmp/openbits-" + std::to_string(::getuid()) + "/openbits/bitsd.sock";
}

Result<Manager> Manager::connect(const std::string& socket_path) {
  auto connection = Connection::open(socket_path.empty() ? default_socket_path() : socket_path);
  if (!connection.ok()) return connection.status();
  return Manager(std::move(connection).value());
}

Result<Job> Manager::create_job(std::string_view display_name, JobType type) {
  auto result = connection_->call(m::kCreateJob,
                                  {{"display_name", std::string(display_name)}, {"type", type}});
  auto id = field<Guid>(result, "job_id");
  if (!id.ok()) return id.status();
  return Job(connection_, *id);
}

Result<Job> Manager::get_job(const Guid& id) {
  auto result = connection_->call(m::kGetJob, job_params(id));
  if (!result.ok()) return result.status();
  return Job(connection_, id);
}

// Page by page (a reply holds at most rpc::kMaxEnumPageBytes of jobs); a bitsd without
// pages ignores the cursor and answers all jobs without "next".
Result<std::vector<JobInfo>> Manager::enum_jobs(bool all_users) {
  std::vector<JobInfo> jobs;
  json params{{"all_users", all_users}, {"cursor", ""}};
  for (;;) {
    auto page = connection_->call(m::kEnumJobs, params);
    auto listed = field<std::vector<JobInfo>>(page, "jobs");
    if (!listed.ok()) return listed.status();
    jobs.insert(jobs.end(), std::make_move_iterator(listed->begin()),
                std::make_move_iterator(listed->end()));
    auto next = page->find("next");
    if (next == page->end()) return jobs;
    if (!next->is_string()) return Status(hr::E_FAIL, "bitsd sent an unexpected cursor");
    params["cursor"] = *next;
  }
}

Result<Enumerator<Job>> Manager::enum_job_handles(bool all_users) {
  auto jobs = enum_jobs(all_users);
  if (!jobs.ok()) return jobs.status();
  std::vector<Job> handles;
  for (const JobInfo& info : *jobs) handles.push_back(Job(connection_, info.id));
  return Enumerator<Job>(std::move(handles));
}

Result<std::string> Manager::error_description(HRESULT code) {
  return field<std::string>(connection_->call(m::kErrorDescription, {{"hresult", code}}),
                            "description");
}

Result<std::string> Manager::daemon_version() {
  return field<std::string>(connection_->call(m::kVersion, json::object()), "version");
}

Result<BandwidthPolicyReport> Manager::bandwidth_policy() {
  auto result = connection_->call(m::kBandwidthPolicy, json::object());
  if (!result.ok()) return result.status();
  try {
    const json& now = result->at("in_force");
    const json& limits = now.at("limits");
    auto limit = [&](const char* name) -> std::optional<std::uint64_t> {
      const json& v = limits.at(name);
      return v.is_null() ? std::nullopt : std::optional<std::uint64_t>(v.get<std::uint64_t>());
    };
    BandwidthPolicyReport report;
    report.source = now.at("source").get<std::string>();
    report.window = now.at("window").get<std::uint32_t>();
    report.local_time = now.at("local_time").get<std::string>();
    report.high = limit("high");
    report.normal = limit("normal");
    report.low = limit("low");
    report.policy_json = result->at("policy").dump();
    return report;
  } catch (const json::exception& e) {
    return Status(hr::E_FAIL, std::string("bitsd sent an unexpected reply: ") + e.what());
  }
}

Result<ProxyReport> Manager::proxy_settings() {
  auto result = connection_->call(m::kProxySettings, json::object());
  if (!result.ok()) return result.status();
  try {
    ProxyReport report;
    report.system_proxy = result->at("system_proxy").get<std::string>();
    report.system_proxy_bypass = result->at("system_proxy_bypass").get<std::string>();
    report.environment = result->at("environment").get<std::map<std::string, std::string>>();
    report.preconfig_http = result->at("preconfig").at("http").get<std::string>();
    report.preconfig_https = result->at("preconfig").at("https").get<std::string>();
    return report;
  } catch (const json::exception& e) {
    return Status(hr::E_FAIL, std::string("bitsd sent an unexpected reply: ") + e.what());
  }
}

Result<StoreCheck> Manager::check_store() {
  auto result = connection_->call(m::kCheckStore, json::object());
  if (!result.ok()) return result.status();
  try {
    return StoreCheck{result->at("path").get<std::string>(),
                      result->at("problems").get<std::vector<std::string>>()};
  } catch (const json::exception& e) {
    return Status(hr::E_FAIL, std::string("bitsd sent an unexpected reply: ") + e.what());
  }
}

// --- Callbacks -----------------------------------------------------------------------

Status JobCallback::transferred(Job&) { return Status(); }
Status JobCallback::error(Job&, const ErrorInfo&) { return Status(); }
void JobCallback::modification(Job&, const JobInfo&) {}
Status JobCallback::file_transferred(Job&, const FileInfo&) { return Status(); }
void JobCallback::file_ranges_transferred(Job&, std::uint32_t, const std::vector<FileRange>&) {}

namespace {

// Calls the callback for one notification; for transferred, error and file transferred,
// the callback's answer.
std::optional<Status> dispatch_event(JobCallback& callback, Job& job, const std::string& method,
                                     const json& params) {
  if (method == m::kJobTransferred) return callback.transferred(job);
  if (method == m::kJobError) return callback.error(job, params.at("error").get<ErrorInfo>());
  if (method == m::kFileTransferred) {
    return callback.file_transferred(job, params.at("file").get<FileInfo>());
  }
  if (method == m::kJobModification) {
    callback.modification(job, params.at("job").get<JobInfo>());
  } else if (method == m::kFileRangesTransferred) {
    callback.file_ranges_transferred(job, params.at("file_index").get<std::uint32_t>(),
                                     params.at("ranges").get<std::vector<FileRange>>());
  }
  return std::nullopt;
}

}  // namespace

namespace {

bool is_queue_event(const json& message) {
  const json* method = message.contains("method") ? &message["method"] : nullptr;
  return method && method->is_string() &&
         method->get_ref<const std::string&>().rfind("manager.", 0) == 0;
}

// A manager.job_* notification as a QueueEvent; nullopt when malformed.
std::optional<QueueEvent> queue_event_from(const json& message) {
  std::string method = message.value("method", "");
  QueueEvent event;
  if (method == m::kQueueJobAdded) {
    event.kind = QueueEvent::Kind::kAdded;
  } else if (method == m::kQueueJobStateChanged) {
    event.kind = QueueEvent::Kind::kStateChanged;
  } else if (method == m::kQueueJobRemoved) {
    event.kind = QueueEvent::Kind::kRemoved;
  } else {
    return std::nullopt;
  }
  try {
    const json& params = message.at("params");
    if (params.contains("job")) {
      event.job = params["job"].get<JobInfo>();
    } else {
      event.job.id = params.at("job_id").get<Guid>();
    }
    event.reason = params.value("reason", "");
  } catch (const json::exception&) {
    return std::nullopt;
  }
  return event;
}

}  // namespace

Status Manager::watch_queue(bool all_users) {
  return status_from_result(connection_->call(m::kQueueSubscribe, {{"all_users", all_users}}));
}

Status Manager::unwatch_queue() {
  return status_from_result(connection_->call(m::kQueueUnsubscribe, json::object()));
}

Result<std::optional<QueueEvent>> Manager::next_queue_event(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    auto next = connection_->next_notification(std::max(left, std::chrono::milliseconds(0)),
                                               is_queue_event);
    if (!next.ok()) return next.status();
    if (!*next) return std::optional<QueueEvent>();
    if (auto event = queue_event_from(**next)) return event;  // else skip a malformed one
  }
}

Result<std::size_t> Manager::process_events(std::chrono::milliseconds timeout) {
  std::size_t handled = 0;
  auto wait = timeout;
  auto job_events = [](const json& message) { return !is_queue_event(message); };
  for (;;) {
    auto next = connection_->next_notification(wait, job_events);
    if (!next.ok()) return next.status();
    if (!*next) return handled;
    wait = std::chrono::milliseconds(0);  // drain what is already there, then return
    const json& message = **next;
    std::string method = message.value("method", "");
    const json& params = message.contains("params") ? message["params"] : json::object();
    std::optional<Status> answer;
    std::optional<std::uint64_t> delivery;
    try {
      Guid id = params.at("job_id").get<Guid>();
      auto callback = std::static_pointer_cast<JobCallback>(connection_->callback(id));
      if (params.contains("delivery")) delivery = params["delivery"].get<std::uint64_t>();
      if (callback) {
        Job job(connection_, id);
        answer = dispatch_event(*callback, job, method, params);
      } else if (delivery) {
        answer = Status(hr::E_FAIL, "no callback is registered for the job");
      }
    } catch (const json::exception&) {
      continue;  // a malformed notification: nothing to answer
    }
    ++handled;
    if (delivery) {
      HRESULT code = answer && !answer->ok() ? answer->code() : hr::S_OK;
      auto acked = connection_->call(m::kAcknowledgeNotification,
                                     {{"delivery", *delivery}, {"hresult", code}});
      if (!acked.ok() && acked.status().code() != hr::BG_E_NOT_FOUND) return acked.status();
    }
  }
}

// --- File ----------------------------------------------------------------------------

File::File(std::shared_ptr<Connection> connection, Guid job_id, std::uint32_t index)
    : connection_(std::move(connection)), job_id_(job_id), index_(index) {}

Result<FileInfo> File::info() const {
  auto job = decode<JobInfo>(connection_->call(m::kGetJobInfo, job_params(job_id_)));
  if (!job.ok()) return job.status();
  if (index_ >= job->files.size()) return Status(hr::BG_E_FILE_NOT_FOUND);
  return job->files[index_];
}

Status File::set_remote_name(std::string_view url) {
  return status_from_result(connection_->call(
      m::kSetRemoteName,
      {{"job_id", job_id_}, {"file_index", index_}, {"remote_name", std::string(url)}}));
}

Status File::set_validation_state(bool valid) {
  return status_from_result(connection_->call(
      m::kSetValidationState, {{"job_id", job_id_}, {"file_index", index_}, {"valid", valid}}));
}

// --- Job -----------------------------------------------------------------------------

Job::Job(std::shared_ptr<Connection> connection, Guid id)
    : connection_(std::move(connection)), id_(id) {}

Result<JobInfo> Job::info() const {
  return decode<JobInfo>(connection_->call(m::kGetJobInfo, job_params(id_)));
}

Result<JobState> Job::state() const {
  auto job = info();
  if (!job.ok()) return job.status();
  return job->state;
}

Result<JobProgress> Job::progress() const {
  auto job = info();
  if (!job.ok()) return job.status();
  return job->progress;
}

Result<std::vector<File>> Job::files() const {
  auto job = info();
  if (!job.ok()) return job.status();
  std::vector<File> files;
  for (const FileInfo& file : job->files) files.push_back(File(connection_, id_, file.index));
  return files;
}

Result<Enumerator<File>> Job::enum_files() const {
  auto list = files();
  if (!list.ok()) return list.status();
  return Enumerator<File>(std::move(list).value());
}

Result<ErrorInfo> Job::error() const {
  return decode<ErrorInfo>(connection_->call(m::kGetError, job_params(id_)));
}

Status Job::add_file(std::string_view remote_url, std::string_view local_name) {
  return add_file_set({{std::string(remote_url), std::string(local_name), {}}});
}

Status Job::add_file_set(const std::vector<FileSpec>& files, std::size_t* failed_file) {
  nlohmann::json error_data;
  Status s = status_from_result(
      connection_->call(m::kAddFiles, {{"job_id", id_}, {"files", files}}, &error_data));
  if (!s.ok() && failed_file && error_data.is_object() && error_data.contains("file_index")) {
    *failed_file = error_data["file_index"].get<std::size_t>();
  }
  return s;
}

Status Job::add_file_with_ranges(std::string_view remote_url, std::string_view local_name,
                                 const std::vector<FileRange>& ranges) {
  if (ranges.empty()) return Status(hr::E_INVALIDARG, "no byte ranges were given");
  return add_file_set({{std::string(remote_url), std::string(local_name), ranges}});
}

Status Job::replace_remote_prefix(std::string_view old_prefix, std::string_view new_prefix) {
  return status_from_result(
      connection_->call(m::kReplaceRemotePrefix, {{"job_id", id_},
                                                  {"old_prefix", std::string(old_prefix)},
                                                  {"new_prefix", std::string(new_prefix)}}));
}

Status Job::resume() { return status_from_result(connection_->call(m::kResume, job_params(id_))); }
Status Job::suspend() {
  return status_from_result(connection_->call(m::kSuspend, job_params(id_)));
}
Status Job::cancel() { return status_from_result(connection_->call(m::kCancel, job_params(id_))); }
Status Job::complete() {
  return status_from_result(connection_->call(m::kComplete, job_params(id_)));
}
Status Job::take_ownership() {
  return status_from_result(connection_->call(m::kTakeOwnership, job_params(id_)));
}

Status Job::set_property(std::string_view name, const std::string& json_value) {
  json value = json::parse(json_value, nullptr, false);
  if (value.is_discarded()) return Status(hr::E_INVALIDARG, "malformed property value");
  return set_job_property(*connection_, id_, name, std::move(value));
}

Status Job::set_display_name(std::string_view name) {
  return set_job_property(*connection_, id_, "display_name", json(std::string(name)));
}
Status Job::set_reply_file_name(const std::optional<std::string>& path) {
  return set_job_property(*connection_, id_, "reply_file_name", path ? json(*path) : json());
}

namespace {

// Appends the bytes of a job.get_reply_data chunk ("data": lower-case hex) to `out`.
bool append_hex(const json& chunk, std::vector<std::uint8_t>& out) {
  const json* hex = chunk.is_object() && chunk.contains("data") ? &chunk["data"] : nullptr;
  if (!hex || !hex->is_string() || hex->get_ref<const std::string&>().size() % 2 != 0) {
    return false;
  }
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  const std::string& text = hex->get_ref<const std::string&>();
  for (std::size_t i = 0; i < text.size(); i += 2) {
    int hi = nibble(text[i]);
    int lo = nibble(text[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<std::uint8_t>(hi * 16 + lo));
  }
  return true;
}

}  // namespace

// Reads the reply in chunks of at most kMaxReplyChunk until the size the daemon reports.
Result<std::vector<std::uint8_t>> Job::reply_data(std::uint64_t* reply_size) const {
  std::vector<std::uint8_t> data;
  for (;;) {
    json params = job_params(id_);
    params["offset"] = data.size();
    params["length"] = m::kMaxReplyChunk;
    json error_data;
    auto chunk = connection_->call(m::kGetReplyData, params, &error_data);
    if (!chunk.ok()) {
      if (reply_size && chunk.code() == hr::BG_E_TOO_LARGE && error_data.is_object()) {
        *reply_size = error_data.value("size", std::uint64_t{0});
      }
      return chunk.status();
    }
    std::size_t before = data.size();
    if (!append_hex(*chunk, data)) return Status(hr::E_FAIL, "malformed reply data");
    auto size = chunk->value("size", kSizeUnknown);  // unknown: read until an empty chunk
    if (reply_size && size != kSizeUnknown) *reply_size = size;
    if (data.size() >= size || data.size() >= kMaxReplyData || data.size() == before) break;
  }
  return data;
}

Status Job::set_description(std::string_view text) {
  return set_job_property(*connection_, id_, "description", json(std::string(text)));
}
Status Job::set_priority(JobPriority priority) {
  return set_job_property(*connection_, id_, "priority", json(priority));
}
Status Job::set_callback(const std::shared_ptr<JobCallback>& callback) {
  bool registering = callback != nullptr;
  if (registering) connection_->set_callback(id_, callback);  // before events can arrive
  Status s = status_from_result(
      connection_->call(registering ? m::kSubscribe : m::kUnsubscribe, job_params(id_)));
  if (!s.ok() || !registering) connection_->set_callback(id_, nullptr);
  return s;
}

Status Job::set_notify_flags(std::uint32_t flags) {
  return set_job_property(*connection_, id_, "notify_flags", json(flags));
}
Status Job::set_notify_cmd_line(const std::optional<std::string>& program,
                                const std::optional<std::string>& parameters) {
  json value = {{"program", optional_json(program)}, {"parameters", optional_json(parameters)}};
  return set_job_property(*connection_, id_, "notify_cmd_line", value);
}
Status Job::set_minimum_retry_delay(std::uint32_t seconds) {
  return set_job_property(*connection_, id_, "minimum_retry_delay", json(seconds));
}
Status Job::set_no_progress_timeout(std::uint32_t seconds) {
  return set_job_property(*connection_, id_, "no_progress_timeout", json(seconds));
}
Status Job::set_maximum_download_time(std::uint32_t seconds) {
  return set_job_property(*connection_, id_, "maximum_download_time", json(seconds));
}
Status Job::set_proxy_settings(ProxyUsage usage, const std::optional<std::string>& proxy_list,
                               const std::optional<std::string>& bypass_list) {
  return set_job_property(*connection_, id_, "proxy",
                          json(ProxySettings{usage, proxy_list, bypass_list}));
}
Status Job::set_file_acl_flags(std::uint32_t flags) {
  return set_job_property(*connection_, id_, "file_acl_flags", json(flags));
}
Status Job::set_peer_caching_flags(std::uint32_t flags) {
  return set_job_property(*connection_, id_, "peer_caching_flags", json(flags));
}
Status Job::set_security_flags(std::uint32_t flags) {
  return set_job_property(*connection_, id_, "security_flags", json(flags));
}
Status Job::set_custom_headers(const std::optional<std::string>& headers) {
  return set_job_property(*connection_, id_, "custom_headers", optional_json(headers));
}
Status Job::make_custom_headers_write_only() {
  return set_job_property(*connection_, id_, "custom_headers_write_only", true);
}
Status Job::set_credentials(const AuthCredentials& credentials) {
  json params = credentials;
  params["job_id"] = id_;
  return status_from_result(connection_->call(m::kSetCredentials, params));
}
Status Job::remove_credentials(AuthTarget target, AuthScheme scheme) {
  return status_from_result(
      connection_->call(m::kRemoveCredentials, {{"job_id", id_},
                                                {"target", static_cast<int>(target)},
                                                {"scheme", static_cast<int>(scheme)}}));
}
Status Job::set_client_certificate_by_id(CertStoreLocation location, std::string_view store_name,
                                         const std::array<std::uint8_t, 20>& hash) {
  return status_from_result(
      connection_->call(m::kSetClientCertificate, {{"job_id", id_},
                                                   {"location", static_cast<int>(location)},
                                                   {"store_name", std::string(store_name)},
                                                   {"hash", hash_to_hex(hash)},
                                                   {"subject", nullptr}}));
}
Status Job::set_client_certificate_by_name(CertStoreLocation location, std::string_view store_name,
                                           std::string_view subject) {
  return status_from_result(
      connection_->call(m::kSetClientCertificate, {{"job_id", id_},
                                                   {"location", static_cast<int>(location)},
                                                   {"store_name", std::string(store_name)},
                                                   {"hash", nullptr},
                                                   {"subject", std::string(subject)}}));
}
Status Job::remove_client_certificate() {
  return status_from_result(connection_->call(m::kRemoveClientCertificate, job_params(id_)));
}
Status Job::set_http_method(std::string_view method) {
  return set_job_property(*connection_, id_, "http_method", json(std::string(method)));
}
Status Job::set_dynamic_content(bool enable) {
  return set_job_property(*connection_, id_, "dynamic_content", json(enable));
}
Status Job::set_high_performance(bool enable) {
  return set_job_property(*connection_, id_, "high_performance", json(enable));
}
Status Job::set_max_download_size(std::uint64_t bytes) {
  return set_job_property(*connection_, id_, "max_download_size", json(bytes));
}
Status Job::set_minimum_notification_interval(std::uint32_t milliseconds) {
  return set_job_property(*connection_, id_, "minimum_notification_interval_ms",
                          json(milliseconds));
}

}  // namespace openbits
