// The rows of the config file's keys; see config_keys.h.
#include "src/daemon/platform/config_keys.h"

#include <arpa/inet.h>
#include <grp.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace openbits::daemon {
namespace {

using nlohmann::json;

Status refused(const std::string& what) { return Status(hr::E_INVALIDARG, what); }

// std::cmp_*: a signed field that wrapped (a huge unsigned number read into an int64_t)
// is below any minimum, not above it.
template <typename T>
Status check_limits(const ConfigKey& key, T stored) {
  if (std::cmp_less(stored, key.min)) {
    std::string_view subject = key.min_subject.empty() ? key.name : key.min_subject;
    return refused(std::string(subject) + " must be >= " + std::to_string(key.min));
  }
  if (std::cmp_greater(stored, key.max)) {
    std::string reason = key.max_reason.empty() ? "" : " (" + std::string(key.max_reason) + ")";
    return refused(std::string(key.name) + " must be <= " + std::to_string(key.max) + reason);
  }
  return Status();
}

// A field of Config as nlohmann converts it; numbers then within the key's limits.
template <auto Field>
Status read_field(const ConfigKey& key, const json& value, Config& config) {
  using T = std::remove_reference_t<decltype(config.*Field)>;
  value.get_to(config.*Field);
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    return check_limits(key, config.*Field);
  }
  return Status();
}

Status read_machine_cert_store(const ConfigKey&, const json& value, Config& config) {
  value.get_to(config.cert_stores.machine);
  return Status();
}

Status read_user_cert_store(const ConfigKey&, const json& value, Config& config) {
  value.get_to(config.cert_stores.user);
  return Status();
}

// A JSON list of non-negative integers.
Status read_uids(const ConfigKey&, const json& value, Config& config) {
  if (!value.is_array()) return refused("system_uids must be a list of uids");
  config.system_uids.clear();
  for (const auto& item : value) {
    if (!item.is_number_unsigned() || item.get<std::uint64_t>() > 0xFFFFFFFEu) {
      return refused("system_uids must be a list of uids");
    }
    config.system_uids.push_back(item.get<uid_t>());
  }
  return Status();
}

std::optional<gid_t> resolve_group(const json& value) {
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

Status read_admin_group(const ConfigKey&, const json& value, Config& config) {
  config.admin_gid = resolve_group(value);
  if (!config.admin_gid) return refused("admin_group: unknown group");
  return Status();
}

// An optional number: present means a policy, absent none.
Status read_peer_caching_flags(const ConfigKey& key, const json& value, Config& config) {
  auto flags = value.get<std::uint32_t>();
  if (Status s = check_limits(key, flags); !s.ok()) return s;
  config.peer_caching_flags = flags;
  return Status();
}

// "HOST:PORT" or "[v6]:PORT" split; nullopt when there is no colon, the port is not a
// number in [min_port, 65535], or the host is empty.
struct HostPort {
  std::string host;
  unsigned port = 0;
};
std::optional<HostPort> split_host_port(const std::string& text, unsigned min_port) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) return std::nullopt;
  std::string host = text.substr(0, colon);
  std::string port = text.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    return std::nullopt;  // an IPv6 address needs its brackets
  }
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  unsigned value = static_cast<unsigned>(std::stoul(port));
  if (host.empty() || value < min_port || value > 65535) return std::nullopt;
  return HostPort{host, value};
}

bool is_ipv4(const std::string& host, in_addr* out = nullptr) {
  in_addr addr{};
  bool ok = inet_pton(AF_INET, host.c_str(), &addr) == 1;
  if (ok && out != nullptr) *out = addr;
  return ok;
}

bool is_ip_literal(const std::string& host) {
  in6_addr addr6{};
  return is_ipv4(host) || inet_pton(AF_INET6, host.c_str(), &addr6) == 1;
}

// A host name as DNS allows it: letters, digits, '-', '.', at most 253 characters.
bool is_host_name(const std::string& host) {
  return host.size() <= 253 &&
         host.find_first_not_of(
             "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") ==
             std::string::npos;
}

Status read_peer_listen(const ConfigKey& key, const json& value, Config& config) {
  auto text = value.get<std::string>();
  auto parts = split_host_port(text, 0);
  if (!parts || !is_ip_literal(parts->host)) {
    return refused(std::string(key.name) + " must be \"ADDR:PORT\" with an IP address, not '" +
                   text + "'");
  }
  config.peer_listen = text;
  return Status();
}

Status read_peers(const ConfigKey& key, const json& value, Config& config) {
  std::string rule = std::string(key.name) + " must be a list of \"host:port\"";
  if (!value.is_array()) return refused(rule);
  config.peers.clear();
  for (const auto& item : value) {
    if (!item.is_string()) return refused(rule);
    auto text = item.get<std::string>();
    auto parts = split_host_port(text, 1);
    if (!parts || !(is_ip_literal(parts->host) || is_host_name(parts->host))) {
      return refused(rule + ", not '" + text + "'");
    }
    config.peers.push_back(text);
  }
  return Status();
}

Status read_peer_discovery(const ConfigKey& key, const json& value, Config& config) {
  auto text = value.get<std::string>();
  if (text != "multicast" && text != "none") {
    return refused(std::string(key.name) + " must be \"multicast\" or \"none\", not '" + text +
                   "'");
  }
  config.peer_discovery = text == "multicast";
  return Status();
}

Status read_peer_multicast_group(const ConfigKey& key, const json& value, Config& config) {
  auto text = value.get<std::string>();
  auto parts = split_host_port(text, 1);
  in_addr addr{};
  if (!parts || !is_ipv4(parts->host, &addr) || !IN_MULTICAST(ntohl(addr.s_addr))) {
    return refused(std::string(key.name) +
                   " must be \"ADDR:PORT\" with an IPv4 multicast address, not '" + text + "'");
  }
  config.peer_multicast_group = text;
  return Status();
}

// Bandwidth policy (bandwidth_policy.h).
Status read_limits_key(const ConfigKey&, const json& value, Config& config) {
  return read_bandwidth_limits(value, config.bandwidth.outside);
}

Status read_windows_key(const ConfigKey&, const json& value, Config& config) {
  return read_bandwidth_windows(value, config.bandwidth.windows);
}

Status read_maintenance_key(const ConfigKey&, const json& value, Config& config) {
  return read_bandwidth_maintenance(value, config.bandwidth.maintenance);
}

constexpr std::string_view kCheckpointRule = "checkpoint_bytes and checkpoint_interval_ms";

const ConfigKey kKeys[] = {
    // Jobs and the queue.
    {"max_jobs_per_user", "count", read_field<&Config::max_jobs_per_user>,
     "jobs one user may own (BG_E_TOO_MANY_JOBS_PER_USER; administrators exempt)"},
    {"max_jobs_per_machine", "count", read_field<&Config::max_jobs_per_machine>,
     "jobs on the machine (BG_E_TOO_MANY_JOBS_PER_MACHINE; administrators exempt)"},
    {"max_files_per_job", "count", read_field<&Config::max_files_per_job>,
     "files in one job (BG_E_TOO_MANY_FILES_IN_JOB; administrators exempt)"},
    {"max_ranges_per_file", "count", read_field<&Config::max_ranges_per_file>,
     "byte ranges of one file (BG_E_TOO_MANY_RANGES_IN_FILE; administrators exempt)"},
    {"max_ranges_per_job", "count", read_field<&Config::max_ranges_per_job>,
     "byte ranges of all files of one job (BG_E_TOO_MANY_RANGES_IN_FILE; administrators exempt)",
     1},
    {"job_inactivity_timeout_s", "seconds", read_field<&Config::job_inactivity_timeout_s>,
     "a job its owner has not touched for this long is cancelled (JobInactivityTimeout)"},
    {"time_slice_ms", "milliseconds", read_field<&Config::time_slice_ms>,
     "the turn of one background job in the round robin"},
    {"max_background_jobs", "count", read_field<&Config::max_background_jobs>,
     "background jobs transferring at the same time", 1},
    {"finished_job_retention_ms", "milliseconds", read_field<&Config::finished_job_retention_ms>,
     "how long acknowledged and cancelled jobs still answer getters"},
    {"admin_group", "group name or gid", read_admin_group,
     "members of this group are administrators (root always is)"},
    // Transfers.
    {"checkpoint_bytes",
     "bytes",
     read_field<&Config::checkpoint_bytes>,
     "progress is made durable after this many bytes, or checkpoint_interval_ms",
     1,
     ConfigKey::kNoMaximum,
     {},
     kCheckpointRule},
    {"checkpoint_interval_ms",
     "milliseconds",
     read_field<&Config::checkpoint_interval_ms>,
     "progress is made durable after this long, or checkpoint_bytes",
     1,
     ConfigKey::kNoMaximum,
     {},
     kCheckpointRule},
    {"stall_timeout_s", "seconds", read_field<&Config::stall_timeout_s>,
     "a transfer that receives no byte for this long fails with a timeout", 1},
    {"upload_fragment_bytes", "bytes", read_field<&Config::upload_fragment_bytes>,
     "the largest fragment of an upload (halved when the server answers 413); fragments "
     "below it follow the measured rate (about 2 s each, at least 256 KiB)"},
    // Bandwidth policy (docs/bandwidth.md): bytes per second per background priority.
    {"bandwidth_limits", "limits", read_limits_key,
     "{\"high\"|\"normal\"|\"low\": bytes/s} outside every window (absent: unlimited; 0 "
     "blocks with BG_E_BLOCKED_BY_POLICY; FOREGROUND is never limited)"},
    {"bandwidth_windows", "list of windows", read_windows_key,
     "[{\"days\": [\"mon-fri\"], \"from\": \"08:00\", \"to\": \"17:00\", \"limits\": "
     "{...}}], local time; a window may run past midnight; windows may not overlap"},
    {"bandwidth_maintenance", "window", read_maintenance_key,
     "one window of the same shape whose limits override every other while it lasts"},
    {"bandwidth_yield", "boolean", read_field<&Config::bandwidth_yield>,
     "background jobs drop to a trickle (16 KiB/s) while other traffic uses their network "
     "interface, and take the link again when it ends (false: they compete like any program)"},
    // Lengths of what callers send (bits-spec §3.1), for administrators too.
    {"max_display_name", "characters", read_field<&Config::max_display_name>,
     "a job's display name (BG_E_STRING_TOO_LONG)", 1},
    {"max_description", "characters", read_field<&Config::max_description>,
     "a job's description (BG_E_STRING_TOO_LONG)", 1},
    {"max_remote_name", "bytes", read_field<&Config::max_remote_name>,
     "a file's remote name (E_INVALIDARG)", 1},
    {"max_local_name", "bytes", read_field<&Config::max_local_name>,
     "a file's local name and the notification program (E_INVALIDARG)", 1, 4095, "PATH_MAX"},
    {"max_notify_parameters", "bytes", read_field<&Config::max_notify_parameters>,
     "the notification program's parameters (BG_E_STRING_TOO_LONG)", 1},
    {"max_custom_headers", "bytes", read_field<&Config::max_custom_headers>,
     "a job's custom headers with the terminator (BG_E_STRING_TOO_LONG)", 1},
    {"max_proxy_list", "bytes", read_field<&Config::max_proxy_list>,
     "the proxy list and the bypass list, each (BG_E_PROXY_(BYPASS_)LIST_TOO_LARGE)", 1},
    // Notifications.
    {"first_user_uid", "uid", read_field<&Config::first_user_uid>,
     "uids below it (root included) are system accounts"},
    {"system_uids", "list of uids", read_uids, "further system accounts (default: nobody)"},
    {"notify_system_uids", "boolean", read_field<&Config::notify_system_uids>,
     "whether system accounts' notification programs run (false: SetNotifyCmdLine refused)"},
    {"max_notifications_per_user", "count", read_field<&Config::max_notifications_per_user>,
     "notifications of one user delivered at the same time", 1},
    {"callback_timeout_ms", "milliseconds", read_field<&Config::callback_timeout_ms>,
     "an unanswered callback counts as failed after this long"},
    {"notify_program_timeout_ms", "milliseconds", read_field<&Config::notify_program_timeout_ms>,
     "a notification program running longer is killed", 1},
    // RPC connections.
    {"max_connections_per_uid", "count", read_field<&Config::max_connections_per_uid>,
     "RPC connections of one uid; further ones are closed at once", 1},
    {"max_connections", "count", read_field<&Config::max_connections>,
     "RPC connections in total (root is never refused); keep well under LimitNOFILE", 1},
    {"max_reply_bytes_per_connection", "bytes", read_field<&Config::max_reply_bytes_per_connection>,
     "replies and events not yet read by one connection before it is no longer served", 1},
    {"max_reply_bytes_per_uid", "bytes", read_field<&Config::max_reply_bytes_per_uid>,
     "replies and events not yet read by all connections of one uid", 1},
    // HTTP, TLS and proxies.
    {"tls_ca_file", "path", read_field<&Config::tls_ca_file>,
     "trust anchors for HTTPS (empty: the system's CA bundle)"},
    {"cert_store_machine_dir", "path", read_machine_cert_store,
     "the machine's client certificate stores"},
    {"cert_store_user_dir", "path", read_user_cert_store,
     "a user's client certificate stores (%h: the owner's home, %u: the uid)"},
    {"system_proxy", "proxy list", read_field<&Config::system_proxy>,
     "the proxy PRECONFIG falls back to when the owner's environment names none"},
    {"system_proxy_bypass", "bypass list", read_field<&Config::system_proxy_bypass>,
     "the bypass list that goes with system_proxy"},
    {"proxy_resolver", "path", read_field<&Config::proxy_resolver>,
     "bitsd-proxy-resolver for AUTODETECT (empty: the one beside bitsd)"},
    {"proxy_resolver_user", "user name", read_field<&Config::proxy_resolver_user>,
     "the system account the resolver runs as for root's jobs"},
    // Peer caching.
    {"peer_caching_flags", "flags", read_peer_caching_flags,
     "the machine's peer-caching flags as a policy (0x1 client, 0x2 server); wins over "
     "/peercaching /setconfigurationflags",
     0, 3},
    {"peer_listen", "ADDR:PORT", read_peer_listen,
     "where this host serves peers over mutual TLS (port 0: any free one); absent: serves no one"},
    {"peer_ca_file", "path", read_field<&Config::peer_ca_file>,
     "the fleet CA (PEM): peers must present a certificate it issued, both ways"},
    {"peer_cert_file", "path", read_field<&Config::peer_cert_file>,
     "this host's peer certificate (PEM chain), issued by the fleet CA"},
    {"peer_key_file", "path", read_field<&Config::peer_key_file>,
     "the private key of peer_cert_file (PEM)"},
    {"peers", "list of host:port", read_peers,
     "static peers, asked beside those found by discovery"},
    {"peer_discovery", "multicast or none", read_peer_discovery,
     "how peers are found: multicast announce and query on peer_multicast_group, or none"},
    {"peer_multicast_group", "ADDR:PORT", read_peer_multicast_group,
     "the IPv4 multicast group and port of discovery (default 239.255.66.77:7377, site-local)"},
    {"peer_max_clients", "count", read_field<&Config::peer_max_clients>,
     "peer responses with bodies served at once; others wait up to 5 s, then 503", 1, 64},
    {"peer_max_serve_bytes_per_s", "bytes per second",
     read_field<&Config::peer_max_serve_bytes_per_s>,
     "the rate cap of everything this host serves peers (0: none)"},
};

}  // namespace

std::span<const ConfigKey> config_keys() { return kKeys; }

const ConfigKey* find_config_key(std::string_view name) {
  auto it = std::find_if(std::begin(kKeys), std::end(kKeys),
                         [&](const ConfigKey& key) { return key.name == name; });
  return it == std::end(kKeys) ? nullptr : it;
}

}  // namespace openbits::daemon
