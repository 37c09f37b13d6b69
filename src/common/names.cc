// Text forms of the model: enum tokens and GUIDs (see openbits/names.h).
#include "openbits/names.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>

#include "src/common/hex.h"

namespace openbits {
namespace {

constexpr std::array<const char*, 9> kStateNames = {
    "QUEUED",          "CONNECTING",  "TRANSFERRING", "SUSPENDED", "ERROR",
    "TRANSIENT_ERROR", "TRANSFERRED", "ACKNOWLEDGED", "CANCELLED"};
constexpr std::array<const char*, 3> kTypeNames = {"DOWNLOAD", "UPLOAD", "UPLOAD-REPLY"};
constexpr std::array<const char*, 4> kPriorityNames = {"FOREGROUND", "HIGH", "NORMAL", "LOW"};
constexpr std::array<const char*, 4> kProxyNames = {"PRECONFIG", "NO_PROXY", "OVERRIDE",
                                                    "AUTODETECT"};
// Index 0 is no value: targets and schemes count from 1 as in BITS.
constexpr std::array<const char*, 3> kTargetNames = {"", "SERVER", "PROXY"};
constexpr std::array<const char*, 6> kSchemeNames = {"",     "BASIC",     "DIGEST",
                                                     "NTLM", "NEGOTIATE", "PASSPORT"};
constexpr std::array<const char*, 8> kCertLocationNames = {"CURRENT_USER",
                                                           "LOCAL_MACHINE",
                                                           "CURRENT_SERVICE",
                                                           "SERVICES",
                                                           "USERS",
                                                           "CURRENT_USER_GROUP_POLICY",
                                                           "LOCAL_MACHINE_GROUP_POLICY",
                                                           "LOCAL_MACHINE_ENTERPRISE"};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) ==
                  std::toupper(static_cast<unsigned char>(y));
         });
}

template <typename Enum, std::size_t N>
std::string name_of(const std::array<const char*, N>& names, Enum value) {
  auto index = static_cast<std::size_t>(value);
  return index < N ? names[index] : "UNKNOWN";
}

template <typename Enum, std::size_t N>
std::optional<Enum> parse_name(const std::array<const char*, N>& names, std::string_view text) {
  for (std::size_t i = 0; i < N; ++i) {
    if (iequals(names[i], text)) return static_cast<Enum>(i);
  }
  return std::nullopt;
}

}  // namespace

std::string to_string(JobState state) { return name_of(kStateNames, state); }
std::string to_string(JobType type) { return name_of(kTypeNames, type); }
std::string to_string(JobPriority priority) { return name_of(kPriorityNames, priority); }
std::string to_string(ProxyUsage usage) { return name_of(kProxyNames, usage); }
std::string to_string(AuthTarget target) { return name_of(kTargetNames, target); }
std::string to_string(AuthScheme scheme) { return name_of(kSchemeNames, scheme); }
std::string to_string(CertStoreLocation location) { return name_of(kCertLocationNames, location); }

std::optional<JobState> parse_job_state(std::string_view text) {
  return parse_name<JobState>(kStateNames, text);
}
std::optional<JobType> parse_job_type(std::string_view text) {
  return parse_name<JobType>(kTypeNames, text);
}
std::optional<JobPriority> parse_job_priority(std::string_view text) {
  return parse_name<JobPriority>(kPriorityNames, text);
}
std::optional<ProxyUsage> parse_proxy_usage(std::string_view text) {
  return parse_name<ProxyUsage>(kProxyNames, text);
}
std::optional<AuthTarget> parse_auth_target(std::string_view text) {
  if (text.empty()) return std::nullopt;
  return parse_name<AuthTarget>(kTargetNames, text);
}
std::optional<AuthScheme> parse_auth_scheme(std::string_view text) {
  if (text.empty()) return std::nullopt;
  return parse_name<AuthScheme>(kSchemeNames, text);
}
std::optional<CertStoreLocation> parse_cert_store_location(std::string_view text) {
  constexpr std::string_view kPrefix = "BG_CERT_STORE_LOCATION_";
  if (text.size() > kPrefix.size() && iequals(text.substr(0, kPrefix.size()), kPrefix)) {
    text.remove_prefix(kPrefix.size());
  }
  return parse_name<CertStoreLocation>(kCertLocationNames, text);
}

std::string to_string(const Guid& guid) {
  std::string text = "{";
  for (std::size_t i = 0; i < guid.bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) text += '-';
    append_hex(text, guid.bytes[i], HexCase::kUpper);
  }
  return text + "}";
}

std::optional<Guid> parse_guid(std::string_view text) {
  // {XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}: 38 characters.
  if (text.size() != 38 || text.front() != '{' || text.back() != '}') return std::nullopt;
  Guid guid;
  std::size_t out = 0;
  for (std::size_t i = 1; i + 1 < text.size();) {
    if (i == 9 || i == 14 || i == 19 || i == 24) {
      if (text[i] != '-') return std::nullopt;
      ++i;
      continue;
    }
    int hi = hex_value(text[i]);
    int lo = hex_value(text[i + 1]);
    if (hi < 0 || lo < 0 || out >= guid.bytes.size()) return std::nullopt;
    guid.bytes[out++] = static_cast<std::uint8_t>(hi * 16 + lo);
    i += 2;
  }
  if (out != guid.bytes.size()) return std::nullopt;
  return guid;
}

std::string hresult_hex(HRESULT code) {
  std::array<char, 16> out{};
  std::snprintf(out.data(), out.size(), "0x%08x", code);
  return out.data();
}

}  // namespace openbits
