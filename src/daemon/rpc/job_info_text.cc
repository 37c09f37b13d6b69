// JobInfo as JSON text; see job_info_text.h.
#include "src/daemon/rpc/job_info_text.h"

#include <charconv>
#include <nlohmann/json.hpp>
#include <optional>

#include "openbits/names.h"
#include "src/protocol/codec.h"

namespace openbits::daemon {
namespace {

using nlohmann::json;

// Prints an object's members: `"key":value`, comma-separated.
class ObjectText {
 public:
  explicit ObjectText(std::string& out) : out_(out) { out_ += '{'; }
  ~ObjectText() { out_ += '}'; }
  ObjectText(const ObjectText&) = delete;
  ObjectText& operator=(const ObjectText&) = delete;

  std::string& key(const char* name) {
    if (!first_) out_ += ',';
    first_ = false;
    out_ += '"';
    out_ += name;  // the keys are plain ASCII names
    out_ += "\":";
    return out_;
  }
  template <typename Int>
  void number(const char* name, Int value) {
    std::string& out = key(name);
    char digits[24];
    auto end = std::to_chars(digits, digits + sizeof(digits), value).ptr;
    out.append(digits, end);
  }
  void boolean(const char* name, bool value) { key(name) += value ? "true" : "false"; }
  void string(const char* name, const std::string& value);
  void optional_string(const char* name, const std::optional<std::string>& value) {
    if (value) {
      string(name, *value);
    } else {
      key(name) += "null";
    }
  }
  // Anything else, through nlohmann (rare members: an error, a certificate, files).
  void value(const char* name, const json& value) {
    key(name) += value.dump(-1, ' ', false, json::error_handler_t::replace);
  }

 private:
  std::string& out_;
  bool first_ = true;
};

// Printable ASCII without '"' or '\\' is printed as it is (what nlohmann prints too);
// anything else goes through nlohmann's escaping.
void ObjectText::string(const char* name, const std::string& value) {
  std::string& out = key(name);
  for (char c : value) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte >= 0x7F || c == '"' || c == '\\') {
      out += json(value).dump(-1, ' ', false, json::error_handler_t::replace);
      return;
    }
  }
  out += '"';
  out += value;
  out += '"';
}

void append_progress(ObjectText& o, const JobProgress& p) {
  std::string& out = o.key("progress");
  ObjectText progress(out);
  progress.number("bytes_total", p.bytes_total);
  progress.number("bytes_transferred", p.bytes_transferred);
  progress.number("files_total", p.files_total);
  progress.number("files_transferred", p.files_transferred);
}

void append_times(ObjectText& o, const JobTimes& t) {
  std::string& out = o.key("times");
  ObjectText times(out);
  times.number("creation_time", t.creation_time);
  times.number("modification_time", t.modification_time);
  times.number("transfer_completion_time", t.transfer_completion_time);
}

void append_proxy(ObjectText& o, const ProxySettings& p) {
  std::string& out = o.key("proxy");
  ObjectText proxy(out);
  proxy.string("usage", to_string(p.usage));
  proxy.optional_string("proxy_list", p.proxy_list);
  proxy.optional_string("bypass_list", p.bypass_list);
}

void append_files(ObjectText& o, const std::vector<FileInfo>& files) {
  std::string& out = o.key("files");
  out += '[';
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (i > 0) out += ',';
    out += json(files[i]).dump(-1, ' ', false, json::error_handler_t::replace);
  }
  out += ']';
}

}  // namespace

void append_job_info_json(std::string& out, const JobInfo& v, bool notify_interface_registered) {
  ObjectText o(out);
  o.string("id", to_string(v.id));
  o.string("type", to_string(v.type));
  o.string("state", to_string(v.state));
  o.string("priority", to_string(v.priority));
  o.string("display_name", v.display_name);
  o.string("description", v.description);
  o.string("owner", v.owner);
  o.number("owner_uid", v.owner_uid);
  o.string("owner_name", v.owner_name);
  o.boolean("owner_elevated", v.owner_elevated);
  o.number("owner_integrity_level", v.owner_integrity_level);
  append_progress(o, v.progress);
  append_times(o, v.times);
  o.number("error_count", v.error_count);
  o.number("notify_flags", v.notify_flags);
  o.boolean("notify_interface_registered", notify_interface_registered);
  o.number("minimum_retry_delay", v.minimum_retry_delay);
  o.number("no_progress_timeout", v.no_progress_timeout);
  o.number("maximum_download_time", v.maximum_download_time);
  append_proxy(o, v.proxy);
  o.number("file_acl_flags", v.file_acl_flags);
  o.number("peer_caching_flags", v.peer_caching_flags);
  o.number("security_flags", v.security_flags);
  o.boolean("custom_headers_write_only", v.custom_headers_write_only);
  o.string("http_method", v.http_method);
  o.boolean("dynamic_content", v.dynamic_content);
  o.boolean("high_performance", v.high_performance);
  o.number("max_download_size", v.max_download_size);
  o.number("minimum_notification_interval_ms", v.minimum_notification_interval_ms);
  o.number("next_retry_time", v.next_retry_time);
  append_files(o, v.files);
  o.string("reply_file_name", v.reply_file_name);
  o.number("reply_bytes_total", v.reply_bytes_total);
  o.number("reply_bytes_transferred", v.reply_bytes_transferred);
  o.optional_string("notify_cmd_program", v.notify_cmd_program);
  o.optional_string("notify_cmd_parameters", v.notify_cmd_parameters);
  o.optional_string("custom_headers", v.custom_headers);
  o.value("client_certificate", v.client_certificate ? json(*v.client_certificate) : json());
  o.value("error", v.error ? json(*v.error) : json());
}

}  // namespace openbits::daemon
