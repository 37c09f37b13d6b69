// The rows of job.set_property; see job_property_table.h. Each property has a check (the
// value, then the legality rules, in the order that decides the HRESULT) and a setter.
#include "src/daemon/core/job_property_table.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "openbits/names.h"
#include "src/common/utf8.h"
#include "src/daemon/core/job_manager.h"
#include "src/daemon/core/validation.h"
#include "src/daemon/security/fs_credentials.h"
#include "src/protocol/codec.h"

namespace openbits::daemon {
namespace {

using nlohmann::json;

std::optional<std::string> optional_string(const json& value, const char* key) {
  auto it = value.find(key);
  if (it == value.end() || it->is_null()) return std::nullopt;
  return it->get<std::string>();
}

bool is_download(const JobRecord& job) { return job.info.type == JobType::kDownload; }
bool has_custom_method(const JobRecord& job) { return job.info.http_method != "GET"; }

// For properties whose only check is the value's JSON type (made by the setter).
Status no_check(const PropertyTarget&, const json&) { return Status(); }

// Display name and description: characters (code points), then control characters.
Status check_text(const json& value, std::uint32_t max_length, const char* what) {
  auto text = value.get<std::string>();
  if (utf8_length(text) > max_length) return Status(hr::BG_E_STRING_TOO_LONG);
  return validate_job_text(text, what);
}

Status check_display_name(const PropertyTarget& t, const json& value) {
  return check_text(value, t.config.max_display_name, "display name");
}
void set_display_name(const PropertyTarget& t, const json& value) {
  t.job.info.display_name = value.get<std::string>();
}

Status check_description(const PropertyTarget& t, const json& value) {
  return check_text(value, t.config.max_description, "description");
}
void set_description(const PropertyTarget& t, const json& value) {
  t.job.info.description = value.get<std::string>();
}

Status check_priority(const PropertyTarget& t, const json& value) {
  auto priority = parse_job_priority(value.get<std::string>());
  if (!priority) return Status(hr::E_NOTIMPL);
  if (has_custom_method(t.job) && *priority != JobPriority::kForeground) {
    return Status(hr::BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD);
  }
  return Status();
}
void set_priority(const PropertyTarget& t, const json& value) {
  t.job.info.priority = *parse_job_priority(value.get<std::string>());
}

Status check_notify_flags(const PropertyTarget&, const json& value) {
  return validate_notify_flags(get_integer<std::uint32_t>(value));
}
void set_notify_flags(const PropertyTarget& t, const json& value) {
  t.job.info.notify_flags = get_integer<std::uint32_t>(value);
}

// SetNotifyCmdLine with a program on a system account's job, or by one, while the config
// forbids their programs (notify_system_uids false): E_ACCESSDENIED saying so.
Status check_notify_policy(const PropertyTarget& t, const json& value) {
  const Config& config = t.config;
  if (config.notify_system_uids || !value.is_object() || !optional_string(value, "program")) {
    return Status();
  }
  uid_t owner = t.job.info.owner_uid;
  uid_t system = is_system_uid(config, owner) ? owner : t.caller.uid;
  if (!is_system_uid(config, system)) return Status();
  return Status(hr::E_ACCESSDENIED,
                "notification programs never run for system accounts (uid " +
                    std::to_string(system) +
                    ") on this machine: bitsd's configuration sets notify_system_uids to false; "
                    "use a callback (job.subscribe) instead");
}

Status check_notify_cmd_line(const PropertyTarget& t, const json& value) {
  if (Status s = check_notify_policy(t, value); !s.ok()) return s;
  return validate_notify_cmd_line(optional_string(value, "program"),
                                  optional_string(value, "parameters"), t.config.max_local_name,
                                  t.config.max_notify_parameters);
}

// The program runs as the account that registered it (notifier.h).
void set_notify_cmd_line(const PropertyTarget& t, const json& value) {
  JobRecord& job = t.job;
  job.info.notify_cmd_program = optional_string(value, "program");
  job.info.notify_cmd_parameters = optional_string(value, "parameters");
  job.notify_cmd_uid.reset();
  if (!job.info.notify_cmd_program) {
    spdlog::info("job {}: uid {} cleared the notification command line", to_string(job.info.id),
                 t.caller.uid);
    return;
  }
  job.notify_cmd_uid = t.caller.uid;
  job.notify_cmd_gid = t.caller.gid;
  // The program only: parameters may carry tokens or passwords (docs/security.md).
  spdlog::info("job {}: uid {} registered the notification command line {}{}",
               to_string(job.info.id), t.caller.uid, *job.info.notify_cmd_program,
               job.info.notify_cmd_parameters ? " (parameters not logged)" : "");
}

void set_minimum_retry_delay(const PropertyTarget& t, const json& value) {
  t.job.info.minimum_retry_delay =
      std::max(get_integer<std::uint32_t>(value), kMinimumRetryDelayFloor);
}

void set_no_progress_timeout(const PropertyTarget& t, const json& value) {
  t.job.info.no_progress_timeout = get_integer<std::uint32_t>(value);
}

void set_maximum_download_time(const PropertyTarget& t, const json& value) {
  t.job.info.maximum_download_time = get_integer<std::uint32_t>(value);
}

Status check_proxy(const PropertyTarget& t, const json& value) {
  return validate_proxy_settings(value.get<ProxySettings>(), t.config.max_proxy_list);
}
void set_proxy(const PropertyTarget& t, const json& value) {
  t.job.info.proxy = value.get<ProxySettings>();
}

Status check_file_acl_flags(const PropertyTarget& t, const json& value) {
  if ((get_integer<std::uint32_t>(value) & ~kCopyFileAll) != 0) return Status(hr::E_INVALIDARG);
  if (t.job.info.state == JobState::kTransferred) return Status(hr::BG_E_INVALID_STATE);
  return Status();
}
void set_file_acl_flags(const PropertyTarget& t, const json& value) {
  t.job.info.file_acl_flags = get_integer<std::uint32_t>(value);
}

Status check_peer_caching_flags(const PropertyTarget&, const json& value) {
  if ((get_integer<std::uint32_t>(value) & ~0x7u) != 0) return Status(hr::E_NOTIMPL);
  return Status();
}
void set_peer_caching_flags(const PropertyTarget& t, const json& value) {
  t.job.info.peer_caching_flags = get_integer<std::uint32_t>(value);
}

Status check_security_flags(const PropertyTarget&, const json& value) {
  return validate_security_flags(get_integer<std::uint32_t>(value));
}
void set_security_flags(const PropertyTarget& t, const json& value) {
  auto flags = get_integer<std::uint32_t>(value);
  if (flags & 0xE) {
    spdlog::warn("job {}: certificate checks relaxed (security flags 0x{:x})",
                 to_string(t.job.info.id), flags);
  }
  t.job.info.security_flags = flags;
}

// null removes the headers.
Status check_custom_headers(const PropertyTarget& t, const json& value) {
  if (value.is_null()) return Status();
  return validate_custom_headers(value.get<std::string>(), t.config.max_custom_headers);
}
void set_custom_headers(const PropertyTarget& t, const json& value) {
  if (value.is_null()) {
    t.job.info.custom_headers.reset();
  } else {
    t.job.info.custom_headers = value.get<std::string>();
  }
}

// One way: the value is not read (once write-only, the headers stay hidden).
void set_custom_headers_write_only(const PropertyTarget& t, const json&) {
  t.job.info.custom_headers_write_only = true;
}

Status check_http_method(const PropertyTarget& t, const json& value) {
  auto method = value.get<std::string>();
  if (Status s = validate_http_method(method); !s.ok()) return s;
  if (t.job.ever_resumed) return Status(hr::BG_E_READ_ONLY_PROPERTY_AFTER_RESUME);
  if (method != "GET" && t.job.info.dynamic_content) {
    return Status(hr::BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD);
  }
  return Status();
}
// A custom method makes the job FOREGROUND (and check_priority keeps it there).
void set_http_method(const PropertyTarget& t, const json& value) {
  JobInfo& info = t.job.info;
  info.http_method = value.get<std::string>();
  if (info.http_method != "GET") info.priority = JobPriority::kForeground;
}

Status check_dynamic_content(const PropertyTarget& t, const json&) {
  if (!is_download(t.job)) return Status(hr::BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY);
  if (t.job.ever_resumed) return Status(hr::BG_E_READ_ONLY_PROPERTY_AFTER_RESUME);
  if (has_custom_method(t.job)) return Status(hr::BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD);
  return Status();
}
void set_dynamic_content(const PropertyTarget& t, const json& value) {
  t.job.info.dynamic_content = value.get<bool>();
}

Status check_high_performance(const PropertyTarget& t, const json&) {
  if (!is_download(t.job)) return Status(hr::BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY);
  if (!t.job.files.empty()) return Status(hr::BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE);
  return Status();
}
void set_high_performance(const PropertyTarget& t, const json& value) {
  t.job.info.high_performance = value.get<bool>();
}

Status check_max_download_size(const PropertyTarget& t, const json& value) {
  if (!is_download(t.job)) return Status(hr::BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY);
  if (get_integer<std::uint64_t>(value) == 0)
    return Status(hr::BG_E_MAX_DOWNLOAD_SIZE_INVALID_VALUE);
  if (t.job.ever_resumed) return Status(hr::BG_E_READ_ONLY_PROPERTY_AFTER_RESUME);
  return Status();
}
void set_max_download_size(const PropertyTarget& t, const json& value) {
  t.job.info.max_download_size = get_integer<std::uint64_t>(value);
}

void set_minimum_notification_interval_ms(const PropertyTarget& t, const json& value) {
  t.job.info.minimum_notification_interval_ms = get_integer<std::uint32_t>(value);
}

// SetReplyFileName: upload-reply only, until the reply download starts; null = default.
Status check_reply_file_name(const PropertyTarget& t, const json& value) {
  const JobRecord& job = t.job;
  if (job.info.type != JobType::kUploadReply) return Status(hr::E_NOTIMPL);
  if (job.info.reply_bytes_total != kSizeUnknown || job.upload.reply_done) {
    return Status(hr::BG_E_INVALID_STATE, "the reply is already being downloaded");
  }
  if (value.is_null()) return Status();
  auto reply = value.get<std::string>();
  if (Status s = validate_local_name(reply, t.config.max_local_name); !s.ok()) return s;
  return check_reply_destination(credentials_for(job.info.owner_uid, job.owner_gid), reply);
}
// The default is the first file's local name with ".reply" appended.
void set_reply_file_name(const PropertyTarget& t, const json& value) {
  JobRecord& job = t.job;
  if (!value.is_null()) {
    job.info.reply_file_name = value.get<std::string>();
  } else {
    job.info.reply_file_name =
        job.files.empty() ? std::string() : job.files[0].info.local_name + ".reply";
  }
  job.upload.reply_temp_name.clear();
}

using E = PropertyEffect;

const JobProperty kProperties[] = {
    {"display_name", check_display_name, set_display_name},
    {"description", check_description, set_description},
    {"priority", check_priority, set_priority, E::kReschedules},
    {"notify_flags", check_notify_flags, set_notify_flags},
    {"notify_cmd_line", check_notify_cmd_line, set_notify_cmd_line},
    {"minimum_retry_delay", no_check, set_minimum_retry_delay},
    {"no_progress_timeout", no_check, set_no_progress_timeout},
    {"maximum_download_time", no_check, set_maximum_download_time},
    {"proxy", check_proxy, set_proxy, E::kRestartsTransfer},
    {"file_acl_flags", check_file_acl_flags, set_file_acl_flags},
    {"peer_caching_flags", check_peer_caching_flags, set_peer_caching_flags},
    {"security_flags", check_security_flags, set_security_flags, E::kRestartsTransfer},
    {"custom_headers", check_custom_headers, set_custom_headers, E::kRestartsTransfer},
    {"custom_headers_write_only", no_check, set_custom_headers_write_only},
    {"http_method", check_http_method, set_http_method},
    {"dynamic_content", check_dynamic_content, set_dynamic_content},
    {"high_performance", check_high_performance, set_high_performance},
    {"max_download_size", check_max_download_size, set_max_download_size},
    {"minimum_notification_interval_ms", no_check, set_minimum_notification_interval_ms},
    {"reply_file_name", check_reply_file_name, set_reply_file_name},
};

}  // namespace

std::span<const JobProperty> job_properties() { return kProperties; }

const JobProperty* find_job_property(std::string_view name) {
  auto it = std::find_if(std::begin(kProperties), std::end(kProperties),
                         [&](const JobProperty& p) { return p.name == name; });
  return it == std::end(kProperties) ? nullptr : it;
}

}  // namespace openbits::daemon
