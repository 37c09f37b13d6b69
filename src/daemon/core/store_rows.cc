// Row encoding of the store; see store_rows.h and docs/schema.md.
#include "src/daemon/core/store_rows.h"

#include <nlohmann/json.hpp>

#include "openbits/names.h"
#include "src/protocol/codec.h"

namespace openbits::daemon::store_detail {
namespace {

void fill_owner_text(JobInfo& info) { info.owner = "S-1-22-1-" + std::to_string(info.owner_uid); }

// The upload_state of a job that never uploaded (every download job), printed once: a
// load of such a job parses no JSON for it.
const std::string& fresh_upload_state() {
  static const std::string text = upload_state_text(JobRecord{});
  return text;
}

void read_upload_state(const std::string& text, JobRecord& job) {
  if (text == fresh_upload_state()) return;  // the defaults a new JobRecord has
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return;
  JobRecord::Upload& u = job.upload;
  u.session_id = j.value("session_id", std::string());
  u.host_id = j.value("host_id", std::string());
  u.host_id_fallback_s = j.value("host_id_fallback_s", kNeverFallBack);
  u.local_validators = j.value("local_validators", std::string());
  u.sent = j.value("sent", false);
  u.reply_url = j.value("reply_url", std::string());
  u.reply_temp_name = j.value("reply_temp_name", std::string());
  u.reply_done = j.value("reply_done", false);
  u.closed = j.value("closed", false);
  job.info.reply_file_name = j.value("reply_file_name", std::string());
  job.info.reply_bytes_total = j.value("reply_bytes_total", kSizeUnknown);
  job.info.reply_bytes_transferred = j.value("reply_bytes_transferred", std::uint64_t{0});
}

std::map<std::string, std::string> read_environment(const std::string& text) {
  std::map<std::string, std::string> env;
  if (text == "{}") return env;  // most callers have no proxy variables: nothing to parse
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return env;
  for (const auto& [name, value] : j.items()) {
    if (value.is_string()) env[name] = value.get<std::string>();
  }
  return env;
}

std::optional<ClientCertificate> read_certificate(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  try {
    return j.get<ClientCertificate>();
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

}  // namespace

std::string job_upsert_sql() {
  std::string columns = kJobColumns;
  std::string values;
  std::string updates;
  std::size_t start = 0;
  while (start < columns.size()) {
    std::size_t end = columns.find(',', start);
    if (end == std::string::npos) end = columns.size();
    std::string name = columns.substr(start, end - start);
    name.erase(0, name.find_first_not_of(' '));
    values += values.empty() ? "?" : ",?";
    if (name != "id") updates += (updates.empty() ? "" : ", ") + name + " = excluded." + name;
    start = end + 1;
  }
  return "INSERT INTO jobs (" + columns + ") VALUES (" + values +
         ") ON CONFLICT(id) DO UPDATE SET " + updates;
}

std::string upload_state_text(const JobRecord& job) {
  const JobRecord::Upload& u = job.upload;
  nlohmann::json j = {{"session_id", u.session_id},
                      {"host_id", u.host_id},
                      {"host_id_fallback_s", u.host_id_fallback_s},
                      {"local_validators", u.local_validators},
                      {"sent", u.sent},
                      {"reply_url", u.reply_url},
                      {"reply_temp_name", u.reply_temp_name},
                      {"reply_done", u.reply_done},
                      {"closed", u.closed},
                      {"reply_file_name", job.info.reply_file_name},
                      {"reply_bytes_total", job.info.reply_bytes_total},
                      {"reply_bytes_transferred", job.info.reply_bytes_transferred}};
  return j.dump();
}

std::string headers_context(const Guid& id) { return "custom_headers:" + to_string(id); }
std::string environment_context(const Guid& id) { return "environment:" + to_string(id); }
std::string credential_context(const Guid& id, int target, int scheme) {
  return "credentials:" + to_string(id) + ":" + std::to_string(target) + ":" +
         std::to_string(scheme);
}

std::string environment_text(const std::map<std::string, std::string>& env) {
  return nlohmann::json(env).dump();
}

JobRecord read_job(const Stmt& s) {
  JobRecord job;
  JobInfo& j = job.info;
  j.id = parse_guid(s.text(0)).value_or(Guid{});
  j.type = static_cast<JobType>(s.i32(1));
  j.state = static_cast<JobState>(s.i32(2));
  j.priority = static_cast<JobPriority>(s.i32(3));
  j.display_name = s.text(4);
  j.description = s.text(5);
  j.owner_uid = s.u32(6);
  job.owner_gid = static_cast<gid_t>(s.i64(7));
  j.owner_elevated = s.i64(8) != 0;
  j.owner_integrity_level = s.u32(9);
  j.times = {s.i64(10), s.i64(11), s.i64(12)};
  j.error_count = s.u32(13);
  j.notify_flags = s.u32(14);
  j.notify_cmd_program = s.opt_text(15);
  j.notify_cmd_parameters = s.opt_text(16);
  j.minimum_retry_delay = s.u32(17);
  j.no_progress_timeout = s.u32(18);
  j.maximum_download_time = s.u32(19);
  j.proxy = {static_cast<ProxyUsage>(s.i32(20)), s.opt_text(21), s.opt_text(22)};
  j.file_acl_flags = s.u32(23);
  j.peer_caching_flags = s.u32(24);
  j.security_flags = s.u32(25);
  j.custom_headers = s.opt_text(26);
  j.custom_headers_write_only = s.i64(27) != 0;
  j.http_method = s.text(28);
  j.dynamic_content = s.i64(29) != 0;
  j.high_performance = s.i64(30) != 0;
  j.max_download_size = s.u64(31);
  j.minimum_notification_interval_ms = s.u32(32);
  if (!s.is_null(33)) {
    ErrorInfo error;
    error.code = static_cast<HRESULT>(s.i64(33));
    error.context = static_cast<ErrorContext>(s.i32(34));
    if (!s.is_null(35)) error.file_index = s.u32(35);
    j.error = error;
  }
  job.ever_resumed = s.i64(36) != 0;
  job.download_time_ms = s.i64(37);
  job.last_activity_ms = s.i64(38);
  if (!s.is_null(39)) job.notify_cmd_uid = static_cast<uid_t>(s.i64(39));
  job.notify_cmd_gid = static_cast<gid_t>(s.i64(40));
  read_upload_state(s.text(41), job);
  job.owner_umask = static_cast<mode_t>(s.i64(42) & 0777);
  // 43: custom_headers_sealed, 44: owner_environment: opened by the caller (needs the key).
  j.client_certificate = read_certificate(s.opt_text(45));
  fill_owner_text(j);
  return job;
}

FileRecord read_file(const Stmt& s) {
  FileRecord file;
  FileInfo& f = file.info;
  f.index = s.u32(1);
  f.remote_name = s.text(2);
  f.local_name = s.text(3);
  f.temporary_name = s.text(4);
  f.progress = {s.u64(5), s.u64(6), s.i64(7) != 0};
  file.transferred = s.i64(8) != 0;
  auto ranges = nlohmann::json::parse(s.text(9), nullptr, false);
  if (ranges.is_array()) {
    for (const auto& r : ranges) {
      f.ranges.push_back(
          {r.value("initial_offset", std::uint64_t{0}), r.value("length", std::uint64_t{0})});
    }
  }
  f.validation_state = s.i64(10) != 0;
  f.validation_known = s.i64(11) != 0;
  f.downloaded_from_peer = s.i64(12) != 0;
  f.bytes_from_origin = s.u64(13);
  f.bytes_from_peers = s.u64(14);
  file.etag = s.text(15);
  file.last_modified = s.text(16);
  file.remote_mtime_ms = s.i64(17);
  file.origin_only = s.i64(18) != 0;
  return file;
}

Status open_sealed_columns(const SecretBox& secrets, const std::string& path, const Stmt& row,
                           JobRecord& job) {
  if (!row.is_null(43)) {
    auto headers = secrets.open(row.blob(43), headers_context(job.info.id));
    if (!headers.ok()) {
      return sql_error(path, "custom headers", headers.status().message().c_str());
    }
    job.info.custom_headers = std::move(headers).value();
  }
  if (!row.is_blob(44)) {
    job.owner_environment = read_environment(row.text(44));
    return Status();
  }
  auto environment = secrets.open(row.blob(44), environment_context(job.info.id));
  if (!environment.ok()) {
    return sql_error(path, "owner environment", environment.status().message().c_str());
  }
  job.owner_environment = read_environment(*environment);
  wipe(*environment);
  return Status();
}

}  // namespace openbits::daemon::store_detail
