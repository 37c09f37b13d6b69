// JSON codecs of the public model (openbits/types.h) for the RPC, shared by the daemon
// and the client library. Enums travel as their BITS tokens ("TRANSIENT_ERROR"), GUIDs
// in braces, HRESULTs as unsigned numbers. from_json throws nlohmann::json::exception
// on malformed input; callers at the RPC edge catch it and answer "invalid params".
#pragma once

#include <array>
#include <concepts>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "openbits/types.h"

namespace openbits {

// The integer `j` holds, as T. Throws nlohmann::json::type_error when `j` is no integer (a
// float, a bool, a string) and out_of_range when T cannot hold it: nlohmann's own get<T>()
// truncates 1.5 to 1, takes true as 1 and wraps -1 into 4294967295 (or 4294967297 into 1).
template <std::integral T>
T get_integer(const nlohmann::json& j) {
  if (!j.is_number_integer()) {
    throw nlohmann::json::type_error::create(
        302, std::string("an integer was expected, not ") + j.type_name(), &j);
  }
  if (j.is_number_unsigned()) {
    if (auto v = j.get<std::uint64_t>(); std::in_range<T>(v)) return static_cast<T>(v);
  } else if (auto v = j.get<std::int64_t>(); std::in_range<T>(v)) {
    return static_cast<T>(v);
  }
  throw nlohmann::json::out_of_range::create(406, "integer out of range: " + j.dump(), &j);
}

// object[key] as get_integer<T>, or `fallback` when the key is absent.
template <std::integral T>
T get_integer_or(const nlohmann::json& object, const char* key, T fallback) {
  auto it = object.find(key);
  return it == object.end() ? fallback : get_integer<T>(*it);
}

void to_json(nlohmann::json& j, const Guid& v);
void from_json(const nlohmann::json& j, Guid& v);
void to_json(nlohmann::json& j, JobState v);
void from_json(const nlohmann::json& j, JobState& v);
void to_json(nlohmann::json& j, JobType v);
void from_json(const nlohmann::json& j, JobType& v);
void to_json(nlohmann::json& j, JobPriority v);
void from_json(const nlohmann::json& j, JobPriority& v);
void to_json(nlohmann::json& j, ProxyUsage v);
void from_json(const nlohmann::json& j, ProxyUsage& v);
void to_json(nlohmann::json& j, const FileRange& v);
void from_json(const nlohmann::json& j, FileRange& v);
void to_json(nlohmann::json& j, const JobProgress& v);
void from_json(const nlohmann::json& j, JobProgress& v);
void to_json(nlohmann::json& j, const FileProgress& v);
void from_json(const nlohmann::json& j, FileProgress& v);
void to_json(nlohmann::json& j, const JobTimes& v);
void from_json(const nlohmann::json& j, JobTimes& v);
void to_json(nlohmann::json& j, const ErrorInfo& v);
void from_json(const nlohmann::json& j, ErrorInfo& v);
void to_json(nlohmann::json& j, const FileInfo& v);
void from_json(const nlohmann::json& j, FileInfo& v);
void to_json(nlohmann::json& j, const ProxySettings& v);
void from_json(const nlohmann::json& j, ProxySettings& v);
// Targets, schemes and store locations travel as their BITS numbers, so a value outside the
// enum reaches the daemon and gets BITS's own error (BG_E_INVALID_AUTH_TARGET...).
void to_json(nlohmann::json& j, const AuthCredentials& v);
void from_json(const nlohmann::json& j, AuthCredentials& v);
void to_json(nlohmann::json& j, const ClientCertificate& v);
void from_json(const nlohmann::json& j, ClientCertificate& v);
// 40 lower-case hex digits; nullopt for anything else.
std::string hash_to_hex(const std::array<std::uint8_t, 20>& hash);
std::optional<std::array<std::uint8_t, 20>> hash_from_hex(std::string_view hex);
void to_json(nlohmann::json& j, const JobInfo& v);
void from_json(const nlohmann::json& j, JobInfo& v);
void to_json(nlohmann::json& j, const FileSpec& v);
void to_json(nlohmann::json& j, const CacheRecord& v);
void from_json(const nlohmann::json& j, CacheRecord& v);
void to_json(nlohmann::json& j, const KnownPeer& v);
void from_json(const nlohmann::json& j, KnownPeer& v);
void from_json(const nlohmann::json& j, FileSpec& v);

}  // namespace openbits
