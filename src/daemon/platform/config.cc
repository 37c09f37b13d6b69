// Config file reader; see config.h.
#include "src/daemon/platform/config.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <utility>

#include "src/daemon/platform/config_keys.h"

namespace openbits::daemon {
namespace {

Status bad(const std::string& path, const std::string& what) {
  return Status(hr::E_INVALIDARG, "config " + path + ": " + what);
}

// nlohmann converts -1 to 4294967295 for an unsigned field: a "limit" of -1 would silently
// lift it. No setting may be negative.
bool is_negative(const nlohmann::json& value) {
  if (!value.is_number() || value.is_number_unsigned()) return false;
  return value.is_number_integer() ? value.get<std::int64_t>() < 0 : value.get<double>() < 0;
}

// One key of the file through its row (config_keys.h).
Status read_key(const std::string& path, const std::string& key, const nlohmann::json& value,
                Config& config) {
  if (is_negative(value)) return bad(path, key + " must not be negative");
  const ConfigKey* row = find_config_key(key);
  if (!row) return bad(path, "unknown key '" + key + "'");
  try {
    if (Status s = row->read(*row, value, config); !s.ok()) return bad(path, s.message());
  } catch (const nlohmann::json::exception& e) {
    return bad(path, std::string("wrong type: ") + e.what());
  }
  return Status();
}

// The peer keys that only work together: a server or a static list needs the TLS files.
Status check_peer_keys(const std::string& path, const Config& config) {
  if (config.peer_listen.empty() && config.peers.empty()) return Status();
  const char* needer = config.peer_listen.empty() ? "peers" : "peer_listen";
  for (const auto& [name, value] : {std::pair{"peer_ca_file", &config.peer_ca_file},
                                    std::pair{"peer_cert_file", &config.peer_cert_file},
                                    std::pair{"peer_key_file", &config.peer_key_file}}) {
    if (value->empty()) return bad(path, std::string(needer) + " needs " + name);
  }
  return Status();
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
  for (const auto& [key, value] : doc.items()) {
    if (Status s = read_key(path, key, value, config); !s.ok()) return s;
  }
  if (Status s = check_peer_keys(path, config); !s.ok()) return s;
  return config;
}

}  // namespace openbits::daemon
