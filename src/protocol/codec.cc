// JSON codecs of the public model; see codec.h.
#include "src/protocol/codec.h"

#include <algorithm>

#include "openbits/names.h"
#include "src/common/hex.h"

namespace openbits {
namespace {

using nlohmann::json;

template <typename T>
void put_optional(json& j, const char* key, const std::optional<T>& value) {
  j[key] = value ? json(*value) : json(nullptr);
}

// j[key] into `out`; integers are checked (get_integer), never wrapped.
template <typename T>
void read_field(const json& j, const char* key, T& out) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    out = get_integer<T>(j.at(key));
  } else {
    j.at(key).get_to(out);
  }
}

template <typename T>
void get_optional(const json& j, const char* key, std::optional<T>& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    out.reset();
  } else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    out = get_integer<T>(*it);
  } else {
    out = it->get<T>();
  }
}

template <typename Enum, typename Parser>
void enum_from_json(const json& j, Enum& v, Parser parse, const char* what) {
  auto parsed = parse(j.get<std::string>());
  if (!parsed) throw json::other_error::create(501, std::string("unknown ") + what, &j);
  v = *parsed;
}

}  // namespace

void to_json(json& j, const Guid& v) { j = to_string(v); }
void from_json(const json& j, Guid& v) {
  auto parsed = parse_guid(j.get<std::string>());
  if (!parsed) throw json::other_error::create(501, "malformed GUID", &j);
  v = *parsed;
}

void to_json(json& j, JobState v) { j = to_string(v); }
void from_json(const json& j, JobState& v) { enum_from_json(j, v, parse_job_state, "state"); }
void to_json(json& j, JobType v) { j = to_string(v); }
void from_json(const json& j, JobType& v) { enum_from_json(j, v, parse_job_type, "job type"); }
void to_json(json& j, JobPriority v) { j = to_string(v); }
void from_json(const json& j, JobPriority& v) {
  enum_from_json(j, v, parse_job_priority, "priority");
}
void to_json(json& j, ProxyUsage v) { j = to_string(v); }
void from_json(const json& j, ProxyUsage& v) {
  enum_from_json(j, v, parse_proxy_usage, "proxy usage");
}

void to_json(json& j, const FileRange& v) {
  j = {{"initial_offset", v.initial_offset}, {"length", v.length}};
}
void from_json(const json& j, FileRange& v) {
  read_field(j, "initial_offset", v.initial_offset);
  read_field(j, "length", v.length);
}

void to_json(json& j, const JobProgress& v) {
  j = {{"bytes_total", v.bytes_total},
       {"bytes_transferred", v.bytes_transferred},
       {"files_total", v.files_total},
       {"files_transferred", v.files_transferred}};
}
void from_json(const json& j, JobProgress& v) {
  read_field(j, "bytes_total", v.bytes_total);
  read_field(j, "bytes_transferred", v.bytes_transferred);
  read_field(j, "files_total", v.files_total);
  read_field(j, "files_transferred", v.files_transferred);
}

void to_json(json& j, const FileProgress& v) {
  j = {{"bytes_total", v.bytes_total},
       {"bytes_transferred", v.bytes_transferred},
       {"completed", v.completed}};
}
void from_json(const json& j, FileProgress& v) {
  read_field(j, "bytes_total", v.bytes_total);
  read_field(j, "bytes_transferred", v.bytes_transferred);
  read_field(j, "completed", v.completed);
}

void to_json(json& j, const JobTimes& v) {
  j = {{"creation_time", v.creation_time},
       {"modification_time", v.modification_time},
       {"transfer_completion_time", v.transfer_completion_time}};
}
void from_json(const json& j, JobTimes& v) {
  read_field(j, "creation_time", v.creation_time);
  read_field(j, "modification_time", v.modification_time);
  read_field(j, "transfer_completion_time", v.transfer_completion_time);
}

void to_json(json& j, const ErrorInfo& v) {
  j = {{"code", v.code},
       {"context", static_cast<int>(v.context)},
       {"protocol", v.protocol},
       {"description", v.description},
       {"context_description", v.context_description}};
  put_optional(j, "file_index", v.file_index);
}
void from_json(const json& j, ErrorInfo& v) {
  read_field(j, "code", v.code);
  v.context = static_cast<ErrorContext>(get_integer<int>(j.at("context")));
  v.protocol = j.value("protocol", "");
  v.description = j.value("description", "");
  v.context_description = j.value("context_description", "");
  get_optional(j, "file_index", v.file_index);
}

void to_json(json& j, const FileInfo& v) {
  j = {{"index", v.index},
       {"remote_name", v.remote_name},
       {"local_name", v.local_name},
       {"temporary_name", v.temporary_name},
       {"progress", v.progress},
       {"ranges", v.ranges},
       {"validation_state", v.validation_state},
       {"validation_known", v.validation_known},
       {"downloaded_from_peer", v.downloaded_from_peer},
       {"bytes_from_origin", v.bytes_from_origin},
       {"bytes_from_peers", v.bytes_from_peers}};
}
void from_json(const json& j, FileInfo& v) {
  read_field(j, "index", v.index);
  read_field(j, "remote_name", v.remote_name);
  read_field(j, "local_name", v.local_name);
  v.temporary_name = j.value("temporary_name", "");
  read_field(j, "progress", v.progress);
  v.ranges = j.value("ranges", std::vector<FileRange>{});
  v.validation_state = j.value("validation_state", false);
  v.validation_known = j.value("validation_known", false);
  v.downloaded_from_peer = j.value("downloaded_from_peer", false);
  v.bytes_from_origin = j.value("bytes_from_origin", std::uint64_t{0});
  v.bytes_from_peers = j.value("bytes_from_peers", std::uint64_t{0});
}

void to_json(json& j, const ProxySettings& v) {
  j = {{"usage", v.usage}};
  put_optional(j, "proxy_list", v.proxy_list);
  put_optional(j, "bypass_list", v.bypass_list);
}
void from_json(const json& j, ProxySettings& v) {
  read_field(j, "usage", v.usage);
  get_optional(j, "proxy_list", v.proxy_list);
  get_optional(j, "bypass_list", v.bypass_list);
}

void to_json(json& j, const AuthCredentials& v) {
  j = {{"target", static_cast<int>(v.target)}, {"scheme", static_cast<int>(v.scheme)}};
  put_optional(j, "user_name", v.user_name);
  put_optional(j, "password", v.password);
}
void from_json(const json& j, AuthCredentials& v) {
  v.target = static_cast<AuthTarget>(get_integer<int>(j.at("target")));
  v.scheme = static_cast<AuthScheme>(get_integer<int>(j.at("scheme")));
  get_optional(j, "user_name", v.user_name);
  get_optional(j, "password", v.password);
}

std::string hash_to_hex(const std::array<std::uint8_t, 20>& hash) { return hex_encode(hash); }

std::optional<std::array<std::uint8_t, 20>> hash_from_hex(std::string_view hex) {
  auto bytes = hex_decode(hex);
  std::array<std::uint8_t, 20> hash{};
  if (!bytes || bytes->size() != hash.size()) return std::nullopt;
  std::copy(bytes->begin(), bytes->end(), hash.begin());
  return hash;
}

void to_json(json& j, const ClientCertificate& v) {
  j = {{"location", static_cast<int>(v.location)},
       {"store_name", v.store_name},
       {"hash", hash_to_hex(v.hash)},
       {"subject", v.subject}};
}
void from_json(const json& j, ClientCertificate& v) {
  v.location = static_cast<CertStoreLocation>(get_integer<int>(j.at("location")));
  read_field(j, "store_name", v.store_name);
  auto hash = hash_from_hex(j.at("hash").get<std::string>());
  if (!hash) throw json::other_error::create(501, "malformed certificate hash", &j);
  v.hash = *hash;
  v.subject = j.value("subject", std::string());
}

void to_json(json& j, const JobInfo& v) {
  j = {{"id", v.id},
       {"type", v.type},
       {"state", v.state},
       {"priority", v.priority},
       {"display_name", v.display_name},
       {"description", v.description},
       {"owner", v.owner},
       {"owner_uid", v.owner_uid},
       {"owner_name", v.owner_name},
       {"owner_elevated", v.owner_elevated},
       {"owner_integrity_level", v.owner_integrity_level},
       {"progress", v.progress},
       {"times", v.times},
       {"error_count", v.error_count},
       {"notify_flags", v.notify_flags},
       {"notify_interface_registered", v.notify_interface_registered},
       {"minimum_retry_delay", v.minimum_retry_delay},
       {"no_progress_timeout", v.no_progress_timeout},
       {"maximum_download_time", v.maximum_download_time},
       {"proxy", v.proxy},
       {"file_acl_flags", v.file_acl_flags},
       {"peer_caching_flags", v.peer_caching_flags},
       {"security_flags", v.security_flags},
       {"custom_headers_write_only", v.custom_headers_write_only},
       {"http_method", v.http_method},
       {"dynamic_content", v.dynamic_content},
       {"high_performance", v.high_performance},
       {"max_download_size", v.max_download_size},
       {"minimum_notification_interval_ms", v.minimum_notification_interval_ms},
       {"next_retry_time", v.next_retry_time},
       {"files", v.files},
       {"reply_file_name", v.reply_file_name},
       {"reply_bytes_total", v.reply_bytes_total},
       {"reply_bytes_transferred", v.reply_bytes_transferred}};
  put_optional(j, "notify_cmd_program", v.notify_cmd_program);
  put_optional(j, "notify_cmd_parameters", v.notify_cmd_parameters);
  put_optional(j, "custom_headers", v.custom_headers);
  put_optional(j, "client_certificate", v.client_certificate);
  put_optional(j, "error", v.error);
}

void from_json(const json& j, JobInfo& v) {
  read_field(j, "id", v.id);
  read_field(j, "type", v.type);
  read_field(j, "state", v.state);
  read_field(j, "priority", v.priority);
  read_field(j, "display_name", v.display_name);
  read_field(j, "description", v.description);
  read_field(j, "owner", v.owner);
  read_field(j, "owner_uid", v.owner_uid);
  read_field(j, "owner_name", v.owner_name);
  read_field(j, "owner_elevated", v.owner_elevated);
  read_field(j, "owner_integrity_level", v.owner_integrity_level);
  read_field(j, "progress", v.progress);
  read_field(j, "times", v.times);
  read_field(j, "error_count", v.error_count);
  read_field(j, "notify_flags", v.notify_flags);
  read_field(j, "notify_interface_registered", v.notify_interface_registered);
  read_field(j, "minimum_retry_delay", v.minimum_retry_delay);
  read_field(j, "no_progress_timeout", v.no_progress_timeout);
  read_field(j, "maximum_download_time", v.maximum_download_time);
  read_field(j, "proxy", v.proxy);
  read_field(j, "file_acl_flags", v.file_acl_flags);
  read_field(j, "peer_caching_flags", v.peer_caching_flags);
  read_field(j, "security_flags", v.security_flags);
  read_field(j, "custom_headers_write_only", v.custom_headers_write_only);
  read_field(j, "http_method", v.http_method);
  read_field(j, "dynamic_content", v.dynamic_content);
  read_field(j, "high_performance", v.high_performance);
  read_field(j, "max_download_size", v.max_download_size);
  read_field(j, "minimum_notification_interval_ms", v.minimum_notification_interval_ms);
  read_field(j, "files", v.files);
  v.reply_file_name = j.value("reply_file_name", std::string());
  v.next_retry_time = j.value("next_retry_time", std::int64_t{0});
  v.reply_bytes_total = j.value("reply_bytes_total", kSizeUnknown);
  v.reply_bytes_transferred = j.value("reply_bytes_transferred", std::uint64_t{0});
  get_optional(j, "notify_cmd_program", v.notify_cmd_program);
  get_optional(j, "notify_cmd_parameters", v.notify_cmd_parameters);
  get_optional(j, "custom_headers", v.custom_headers);
  get_optional(j, "client_certificate", v.client_certificate);
  get_optional(j, "error", v.error);
}

void to_json(json& j, const FileSpec& v) {
  j = {{"remote_name", v.remote_name}, {"local_name", v.local_name}, {"ranges", v.ranges}};
}
void from_json(const json& j, FileSpec& v) {
  read_field(j, "remote_name", v.remote_name);
  read_field(j, "local_name", v.local_name);
  v.ranges = j.value("ranges", std::vector<FileRange>{});
}

void to_json(json& j, const CacheRecord& v) {
  j = {{"id", v.id},
       {"url", v.url},
       {"size", v.size},
       {"last_modified", v.last_modified},
       {"etag", v.etag},
       {"file_modification_time", v.file_modification_time},
       {"creation_time", v.creation_time},
       {"last_access_time", v.last_access_time},
       {"validated", v.validated},
       {"ranges", v.ranges},
       {"sha256", v.sha256}};
}
void from_json(const json& j, CacheRecord& v) {
  read_field(j, "id", v.id);
  read_field(j, "url", v.url);
  read_field(j, "size", v.size);
  v.last_modified = j.value("last_modified", "");
  v.etag = j.value("etag", "");
  v.file_modification_time = j.value("file_modification_time", std::int64_t{0});
  v.creation_time = j.value("creation_time", std::int64_t{0});
  v.last_access_time = j.value("last_access_time", std::int64_t{0});
  v.validated = j.value("validated", false);
  v.ranges = j.value("ranges", std::vector<FileRange>{});
  v.sha256 = j.value("sha256", "");
}

void to_json(json& j, const KnownPeer& v) {
  j = {{"name", v.name},
       {"address", v.address},
       {"authenticated", v.authenticated},
       {"available", v.available},
       {"from_config", v.from_config},
       {"last_seen", v.last_seen}};
}
void from_json(const json& j, KnownPeer& v) {
  read_field(j, "name", v.name);
  v.address = j.value("address", "");
  v.authenticated = j.value("authenticated", false);
  v.available = j.value("available", false);
  v.from_config = j.value("from_config", false);
  v.last_seen = j.value("last_seen", std::int64_t{0});
}

}  // namespace openbits
