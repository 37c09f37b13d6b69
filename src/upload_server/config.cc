#include "src/upload_server/config.h"

#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <utility>

namespace openbits::upload {
namespace {

using Json = nlohmann::json;
using Setter = std::function<bool(ServerConfig&, const Json&)>;

Setter flag(bool ServerConfig::*member) {
  return [member](ServerConfig& c, const Json& v) {
    if (!v.is_boolean()) return false;
    c.*member = v.get<bool>();
    return true;
  };
}

Setter number(std::uint64_t ServerConfig::*member) {
  return [member](ServerConfig& c, const Json& v) {
    if (!v.is_number_unsigned()) return false;
    c.*member = v.get<std::uint64_t>();
    return true;
  };
}

Setter text(std::string ServerConfig::*member, std::size_t max_length) {
  return [member, max_length](ServerConfig& c, const Json& v) {
    if (!v.is_string() || v.get<std::string>().size() > max_length) return false;
    c.*member = v.get<std::string>();
    return true;
  };
}

const std::map<std::string, Setter>& setters() {
  static const std::map<std::string, Setter> table = {
      {"uploads_enabled", flag(&ServerConfig::uploads_enabled)},
      {"max_upload_size", number(&ServerConfig::max_upload_size)},
      {"max_fragment_size", number(&ServerConfig::max_fragment_size)},
      {"session_timeout", number(&ServerConfig::session_timeout)},
      {"cleanup_interval", number(&ServerConfig::cleanup_interval)},
      {"session_limit_enabled", flag(&ServerConfig::session_limit_enabled)},
      {"sessions_per_client", number(&ServerConfig::sessions_per_client)},
      {"allow_overwrites", flag(&ServerConfig::allow_overwrites)},
      {"notification_type",
       [](ServerConfig& c, const Json& v) {
         if (!v.is_number_unsigned() || v.get<std::uint64_t>() > 2) return false;
         c.notification_type = static_cast<int>(v.get<std::uint64_t>());
         return true;
       }},
      {"notification_url", text(&ServerConfig::notification_url, 2200)},
      {"notification_timeout", number(&ServerConfig::notification_timeout)},
      {"host_id", text(&ServerConfig::host_id, 300)},
      {"host_id_fallback_timeout", number(&ServerConfig::host_id_fallback_timeout)},
      {"reply_base_url", text(&ServerConfig::reply_base_url, 2048)},
      {"threads",
       [](ServerConfig& c, const Json& v) {
         if (!v.is_number_unsigned() || v.get<std::uint64_t>() == 0 ||
             v.get<std::uint64_t>() > 256) {
           return false;
         }
         c.threads = static_cast<unsigned>(v.get<std::uint64_t>());
         return true;
       }},
  };
  return table;
}

Status invalid(std::string message) { return Status(hr::E_INVALIDARG, std::move(message)); }

Status check(const ServerConfig& config) {
  if (config.notification_type != 0 && config.notification_url.empty()) {
    return invalid("notification_type 1 and 2 need notification_url");
  }
  if (config.notification_url.rfind("https:", 0) == 0) {
    return invalid("notification_url must be HTTP, not HTTPS");
  }
  if (config.max_fragment_size == 0 || config.session_timeout == 0 ||
      config.cleanup_interval == 0 || config.notification_timeout == 0) {
    return invalid(
        "max_fragment_size, session_timeout, cleanup_interval, notification_timeout > 0");
  }
  return Status();
}

}  // namespace

Result<ServerConfig> parse_config(const std::string& json_text) {
  Json doc = Json::parse(json_text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return invalid("config: not a JSON object");
  ServerConfig config;
  for (const auto& [key, value] : doc.items()) {
    auto it = setters().find(key);
    if (it == setters().end()) return invalid("config: unknown setting '" + key + "'");
    if (!it->second(config, value)) return invalid("config: bad value for '" + key + "'");
  }
  if (Status checked = check(config); !checked.ok()) {
    return std::move(checked).with_context(ErrorContext::kNone, "config");
  }
  return config;
}

Result<ServerConfig> load_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status(hr::E_FAIL, ErrorContext::kLocalFile, "config: cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return parse_config(text.str());
}

}  // namespace openbits::upload
