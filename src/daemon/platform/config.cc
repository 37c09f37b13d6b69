// Config file reader; see config.h.
#include "src/daemon/platform/config.h"

#include <grp.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <utility>
#include <vector>

namespace openbits::daemon {
namespace {

Status bad(const std::string& path, const std::string& what) {
  return Status(hr::E_INVALIDARG, "config " + path + ": " + what);
}

std::optional<gid_t> resolve_group(const nlohmann::json& value) {
  if (value.is_number_unsigned()) return value.get<gid_t>();
  if (!value.is_string()) return std::nullopt;
  struct group gr {};
  struct group* found = nullptr;
  std::vector<char> buffer(16384);
  std::string name = value.get<std::string>();
  if (getgrnam_r(name.c_str(), &gr, buffer.data(), buffer.size(), &found) != 0 || !found) {
    return std::nullopt;
  }
  return gr.gr_gid;
}

// A JSON list of non-negative integers.
bool read_uids(const nlohmann::json& value, std::vector<uid_t>& uids) {
  if (!value.is_array()) return false;
  uids.clear();
  for (const auto& item : value) {
    if (!item.is_number_unsigned() || item.get<std::uint64_t>() > 0xFFFFFFFEu) return false;
    uids.push_back(item.get<uid_t>());
  }
  return true;
}

// The connection, reply, range and string-length limits: true if `key` is one of them (then set).
bool read_limit(const std::string& key, const nlohmann::json& value, Config& config) {
  static const std::pair<const char*, std::uint32_t Config::*> kLimits[] = {
      {"max_connections_per_uid", &Config::max_connections_per_uid},
      {"max_connections", &Config::max_connections},
      {"max_reply_bytes_per_connection", &Config::max_reply_bytes_per_connection},
      {"max_reply_bytes_per_uid", &Config::max_reply_bytes_per_uid},
      {"max_ranges_per_job", &Config::max_ranges_per_job},
      {"max_display_name", &Config::max_display_name},
      {"max_description", &Config::max_description},
      {"max_remote_name", &Config::max_remote_name},
      {"max_local_name", &Config::max_local_name},
      {"max_notify_parameters", &Config::max_notify_parameters},
      {"max_custom_headers", &Config::max_custom_headers},
      {"max_proxy_list", &Config::max_proxy_list},
  };
  for (const auto& [name, field] : kLimits) {
    if (key != name) continue;
    value.get_to(config.*field);
    if (config.*field == 0) throw std::invalid_argument(key + " must be >= 1");
    return true;
  }
  return false;
}

}  // namespace

bool is_system_uid(const Config& config, uid_t uid) {
  return uid < config.first_user_uid ||
         std::find(config.system_uids.begin(), config.system_uids.end(), uid) !=
             config.system_uids.end();
}

Result<Config> load_config(const std::string& path) {
  Config config;
  std::ifstream in(path);
  if (!in) return Status(hr::FILE_NOT_FOUND, "config " + path + ": cannot be read");
  nlohmann::json doc = nlohmann::json::parse(in, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return bad(path, "not a JSON object");
  try {
    for (const auto& [key, value] : doc.items()) {
      // nlohmann converts -1 to 4294967295 for an unsigned field: a "limit" of -1 would
      // silently lift it. No setting here may be negative.
      if (value.is_number() && !value.is_number_unsigned() &&
          (value.is_number_integer() ? value.get<std::int64_t>() < 0 : value.get<double>() < 0)) {
        return bad(path, key + " must not be negative");
      }
      if (read_limit(key, value, config)) {
        continue;
      } else if (key == "max_jobs_per_user") {
        value.get_to(config.max_jobs_per_user);
      } else if (key == "max_jobs_per_machine") {
        value.get_to(config.max_jobs_per_machine);
      } else if (key == "max_files_per_job") {
        value.get_to(config.max_files_per_job);
      } else if (key == "max_ranges_per_file") {
        value.get_to(config.max_ranges_per_file);
      } else if (key == "tls_ca_file") {
        value.get_to(config.tls_ca_file);
      } else if (key == "cert_store_machine_dir") {
        value.get_to(config.cert_stores.machine);
      } else if (key == "cert_store_user_dir") {
        value.get_to(config.cert_stores.user);
      } else if (key == "system_proxy") {
        value.get_to(config.system_proxy);
      } else if (key == "system_proxy_bypass") {
        value.get_to(config.system_proxy_bypass);
      } else if (key == "proxy_resolver") {
        value.get_to(config.proxy_resolver);
      } else if (key == "proxy_resolver_user") {
        value.get_to(config.proxy_resolver_user);
      } else if (key == "job_inactivity_timeout_s") {
        value.get_to(config.job_inactivity_timeout_s);
      } else if (key == "time_slice_ms") {
        value.get_to(config.time_slice_ms);
      } else if (key == "max_background_jobs") {
        value.get_to(config.max_background_jobs);
      } else if (key == "checkpoint_bytes") {
        value.get_to(config.checkpoint_bytes);
      } else if (key == "checkpoint_interval_ms") {
        value.get_to(config.checkpoint_interval_ms);
      } else if (key == "finished_job_retention_ms") {
        value.get_to(config.finished_job_retention_ms);
      } else if (key == "upload_fragment_bytes") {
        value.get_to(config.upload_fragment_bytes);
      } else if (key == "stall_timeout_s") {
        value.get_to(config.stall_timeout_s);
      } else if (key == "first_user_uid") {
        value.get_to(config.first_user_uid);
      } else if (key == "notify_system_uids") {
        value.get_to(config.notify_system_uids);
      } else if (key == "max_notifications_per_user") {
        value.get_to(config.max_notifications_per_user);
      } else if (key == "callback_timeout_ms") {
        value.get_to(config.callback_timeout_ms);
      } else if (key == "notify_program_timeout_ms") {
        value.get_to(config.notify_program_timeout_ms);
      } else if (key == "system_uids") {
        if (!read_uids(value, config.system_uids)) {
          return bad(path, "system_uids must be a list of uids");
        }
      } else if (key == "admin_group") {
        config.admin_gid = resolve_group(value);
        if (!config.admin_gid) return bad(path, "admin_group: unknown group");
      } else {
        return bad(path, "unknown key '" + key + "'");
      }
    }
  } catch (const nlohmann::json::exception& e) {
    return bad(path, std::string("wrong type: ") + e.what());
  } catch (const std::invalid_argument& e) {
    return bad(path, e.what());
  }
  if (config.max_background_jobs == 0) return bad(path, "max_background_jobs must be >= 1");
  if (config.stall_timeout_s < 1) return bad(path, "stall_timeout_s must be >= 1");
  if (config.checkpoint_bytes == 0 || config.checkpoint_interval_ms < 1) {
    return bad(path, "checkpoint_bytes and checkpoint_interval_ms must be >= 1");
  }
  if (config.max_local_name > 4095) return bad(path, "max_local_name must be <= 4095 (PATH_MAX)");
  if (config.max_notifications_per_user == 0) {
    return bad(path, "max_notifications_per_user must be >= 1");
  }
  if (config.notify_program_timeout_ms < 1) {
    return bad(path, "notify_program_timeout_ms must be >= 1");
  }
  return config;
}

}  // namespace openbits::daemon
