// The keys of bitsd's config file, one row each: the name, the type as the docs name it,
// the limits, the reader that stores the value into its Config field, and one line of
// documentation. load_config (config.cc) reads a file through these rows; bitsd.conf's
// documentation is meant to be generated from them, so every key has its line here.
#pragma once

#include <cstdint>
#include <limits>
#include <nlohmann/json_fwd.hpp>
#include <span>
#include <string_view>

#include "openbits/status.h"
#include "src/daemon/platform/config.h"

namespace openbits::daemon {

struct ConfigKey {
  static constexpr std::uint64_t kNoMaximum = std::numeric_limits<std::uint64_t>::max();

  std::string_view name;
  std::string_view type;  // "count", "bytes", "milliseconds", "path", "boolean"...
  // Stores `value` into the key's field of `config`. A value of the wrong JSON type throws
  // nlohmann::json::exception; one outside the limits (or otherwise refused) is
  // E_INVALIDARG whose message says what is wrong, naming the key.
  Status (*read)(const ConfigKey& key, const nlohmann::json& value, Config& config);
  std::string_view doc;
  // Numbers (after conversion to the field's type): the accepted range. No key takes a
  // negative number (load_config refuses them before the reader runs).
  std::uint64_t min = 0;
  std::uint64_t max = kNoMaximum;
  std::string_view max_reason = {};  // said after the maximum in the error ("PATH_MAX")
  // Named by the error for a value under min instead of the key, when the limit is a
  // rule about several keys.
  std::string_view min_subject = {};
};

// Every key, grouped as the documentation presents them.
std::span<const ConfigKey> config_keys();
// The row of `name`; nullptr for an unknown key.
const ConfigKey* find_config_key(std::string_view name);

}  // namespace openbits::daemon
