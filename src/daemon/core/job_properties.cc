// JobManager property setters (job.set_property): value checks, the legality rules of
// bits-spec §2.4 for each property, and persistence. See job_manager.h.
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "openbits/names.h"
#include "src/common/utf8.h"
#include "src/daemon/core/job_manager.h"
#include "src/daemon/core/validation.h"
#include "src/daemon/security/fs_credentials.h"
#include "src/protocol/codec.h"

namespace openbits::daemon {
namespace {

std::optional<std::string> optional_string(const nlohmann::json& value, const char* key) {
  auto it = value.find(key);
  if (it == value.end() || it->is_null()) return std::nullopt;
  return it->get<std::string>();
}

}  // namespace

Status JobManager::apply_property(JobRecord& job, const std::string& name,
                                  const nlohmann::json& value) {
  JobInfo& info = job.info;
  bool download = info.type == JobType::kDownload;
  bool custom_method = info.http_method != "GET";
  if (name == "display_name") {
    auto text = value.get<std::string>();
    if (utf8_length(text) > config_.max_display_name) return Status(hr::BG_E_STRING_TOO_LONG);
    if (Status s = validate_job_text(text, "display name"); !s.ok()) return s;
    info.display_name = text;
  } else if (name == "reply_file_name") {
    // SetReplyFileName: upload-reply only, until the reply download starts; null = default.
    if (info.type != JobType::kUploadReply) return Status(hr::E_NOTIMPL);
    if (info.reply_bytes_total != kSizeUnknown || job.upload.reply_done) {
      return Status(hr::BG_E_INVALID_STATE, "the reply is already being downloaded");
    }
    std::string reply;
    if (value.is_null()) {
      reply = job.files.empty() ? std::string() : job.files[0].info.local_name + ".reply";
    } else {
      reply = value.get<std::string>();
      if (Status s = validate_local_name(reply, config_.max_local_name); !s.ok()) return s;
      Status usable =
          check_reply_destination(credentials_for(info.owner_uid, job.owner_gid), reply);
      if (!usable.ok()) return usable;
    }
    info.reply_file_name = reply;
    job.upload.reply_temp_name.clear();
  } else if (name == "description") {
    auto text = value.get<std::string>();
    if (utf8_length(text) > config_.max_description) return Status(hr::BG_E_STRING_TOO_LONG);
    if (Status s = validate_job_text(text, "description"); !s.ok()) return s;
    info.description = text;
  } else if (name == "priority") {
    auto priority = parse_job_priority(value.get<std::string>());
    if (!priority) return Status(hr::E_NOTIMPL);
    if (custom_method && *priority != JobPriority::kForeground) {
      return Status(hr::BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD);
    }
    info.priority = *priority;
  } else if (name == "notify_flags") {
    auto flags = value.get<std::uint32_t>();
    if (Status s = validate_notify_flags(flags); !s.ok()) return s;
    info.notify_flags = flags;
  } else if (name == "notify_cmd_line") {
    auto program = optional_string(value, "program");
    auto parameters = optional_string(value, "parameters");
    Status s = validate_notify_cmd_line(program, parameters, config_.max_local_name,
                                        config_.max_notify_parameters);
    if (!s.ok()) return s;
    info.notify_cmd_program = program;
    info.notify_cmd_parameters = parameters;
  } else if (name == "minimum_retry_delay") {
    info.minimum_retry_delay = std::max(value.get<std::uint32_t>(), kMinimumRetryDelayFloor);
  } else if (name == "no_progress_timeout") {
    info.no_progress_timeout = value.get<std::uint32_t>();
  } else if (name == "maximum_download_time") {
    info.maximum_download_time = value.get<std::uint32_t>();
  } else if (name == "proxy") {
    auto proxy = value.get<ProxySettings>();
    if (Status s = validate_proxy_settings(proxy, config_.max_proxy_list); !s.ok()) return s;
    info.proxy = proxy;
  } else if (name == "file_acl_flags") {
    auto flags = value.get<std::uint32_t>();
    if ((flags & ~kCopyFileAll) != 0) return Status(hr::E_INVALIDARG);
    if (info.state == JobState::kTransferred) return Status(hr::BG_E_INVALID_STATE);
    info.file_acl_flags = flags;
  } else if (name == "peer_caching_flags") {
    auto flags = value.get<std::uint32_t>();
    if ((flags & ~0x7u) != 0) return Status(hr::E_NOTIMPL);
    info.peer_caching_flags = flags;
  } else if (name == "security_flags") {
    auto flags = value.get<std::uint32_t>();
    if (Status s = validate_security_flags(flags); !s.ok()) return s;
    if (flags & 0xE)
      spdlog::warn("job {}: certificate checks relaxed (security flags 0x{:x})", to_string(info.id),
                   flags);
    info.security_flags = flags;
  } else if (name == "custom_headers") {
    if (value.is_null()) {
      info.custom_headers.reset();
    } else {
      auto headers = value.get<std::string>();
      Status s = validate_custom_headers(headers, config_.max_custom_headers);
      if (!s.ok()) return s;
      info.custom_headers = headers;
    }
  } else if (name == "custom_headers_write_only") {
    info.custom_headers_write_only = true;
  } else if (name == "http_method") {
    auto method = value.get<std::string>();
    if (Status s = validate_http_method(method); !s.ok()) return s;
    if (job.ever_resumed) return Status(hr::BG_E_READ_ONLY_PROPERTY_AFTER_RESUME);
    if (method != "GET" && info.dynamic_content) {
      return Status(hr::BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD);
    }
    info.http_method = method;
    if (method != "GET") info.priority = JobPriority::kForeground;
  } else if (name == "dynamic_content") {
    if (!download) return Status(hr::BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY);
    if (job.ever_resumed) return Status(hr::BG_E_READ_ONLY_PROPERTY_AFTER_RESUME);
    if (custom_method) return Status(hr::BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD);
    info.dynamic_content = value.get<bool>();
  } else if (name == "high_performance") {
    if (!download) return Status(hr::BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY);
    if (!job.files.empty()) return Status(hr::BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE);
    info.high_performance = value.get<bool>();
  } else if (name == "max_download_size") {
    if (!download) return Status(hr::BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY);
    auto size = value.get<std::uint64_t>();
    if (size == 0) return Status(hr::BG_E_MAX_DOWNLOAD_SIZE_INVALID_VALUE);
    if (job.ever_resumed) return Status(hr::BG_E_READ_ONLY_PROPERTY_AFTER_RESUME);
    info.max_download_size = size;
  } else if (name == "minimum_notification_interval_ms") {
    info.minimum_notification_interval_ms = value.get<std::uint32_t>();
  } else {
    return Status(hr::BG_E_UNKNOWN_PROPERTY_ID, "unknown property '" + name + "'");
  }
  return Status();
}

Status JobManager::check_notify_policy(const Caller& caller, const JobRecord& job,
                                       const nlohmann::json& value) const {
  if (config_.notify_system_uids || !value.is_object() || !optional_string(value, "program")) {
    return Status();
  }
  uid_t system = is_system_uid(config_, job.info.owner_uid) ? job.info.owner_uid : caller.uid;
  if (!is_system_uid(config_, system)) return Status();
  return Status(hr::E_ACCESSDENIED,
                "notification programs never run for system accounts (uid " +
                    std::to_string(system) +
                    ") on this machine: bitsd's configuration sets notify_system_uids to false; "
                    "use a callback (job.subscribe) instead");
}

Status JobManager::set_property(const Caller& caller, const Guid& id, const std::string& name,
                                const nlohmann::json& value) {
  std::lock_guard lock(mutex_);
  auto found = find(caller, id, Access::kModify);
  if (!found.ok()) return found.status();
  JobRecord& job = **found;
  Status applied;
  try {
    if (name == "notify_cmd_line") applied = check_notify_policy(caller, job, value);
    if (applied.ok()) applied = apply_property(job, name, value);
  } catch (const nlohmann::json::exception& e) {
    return Status(hr::E_INVALIDARG, "wrong value for '" + name + "': " + e.what());
  }
  if (!applied.ok()) return applied;
  if (name == "notify_cmd_line") {
    job.notify_cmd_uid.reset();
    if (job.info.notify_cmd_program) {
      job.notify_cmd_uid = caller.uid;
      job.notify_cmd_gid = caller.gid;
      // The program only: parameters may carry tokens or passwords (docs/security.md).
      spdlog::info("job {}: uid {} registered the notification command line {}{}", to_string(id),
                   caller.uid, *job.info.notify_cmd_program,
                   job.info.notify_cmd_parameters ? " (parameters not logged)" : "");
    } else {
      spdlog::info("job {}: uid {} cleared the notification command line", to_string(id),
                   caller.uid);
    }
  }
  // What every request of the file carries changed: a running file starts again with it
  // (bits-spec §1.4: turning on CRL checking restarts the file), from its durable bytes.
  bool restarted = (name == "security_flags" || name == "custom_headers" || name == "proxy") &&
                   restart_transfer(job);
  mark_active(job);
  Status s = persist_job_row(job);  // no property lives in a file row
  if (name == "priority" || restarted) schedule();
  return s;
}

}  // namespace openbits::daemon
