// Config: bitsd's settings, read from a JSON file (--config), with BITS's defaults.
// Plain data; read once at start-up.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "openbits/status.h"
#include "openbits/types.h"
#include "src/daemon/platform/bandwidth_policy.h"
#include "src/daemon/platform/limits.h"
#include "src/daemon/security/cert_store.h"

namespace openbits::daemon {

struct Config {
  std::uint32_t max_jobs_per_user = 60;
  std::uint32_t max_jobs_per_machine = 300;
  std::uint32_t max_files_per_job = 200;
  std::uint32_t max_ranges_per_file = 500;
  // All byte ranges of one job (BITS has no such limit; 20 files of 500 ranges): keeps a
  // job.get reply near 1 MB at the other limits. BG_E_TOO_MANY_RANGES_IN_FILE, admins exempt.
  std::uint32_t max_ranges_per_job = 10'000;
  std::int64_t job_inactivity_timeout_s = 90LL * 24 * 3600;
  std::int64_t time_slice_ms = 2 * 60 * 1000;            // background round robin
  std::uint32_t max_background_jobs = 1;                 // BITS runs one background job at a time
  std::optional<gid_t> admin_gid;                        // members are administrators
  std::uint64_t checkpoint_bytes = 8ull << 20;           // durable-progress window (bytes)...
  std::int64_t checkpoint_interval_ms = 1000;            // ...or time, whichever comes first
  std::int64_t finished_job_retention_ms = 3600 * 1000;  // final jobs answer getters this long
  std::int64_t stall_timeout_s = 60;  // no byte received for this long: WINHTTP_TIMEOUT
  std::uint64_t upload_fragment_bytes = 16ull << 20;  // largest fragment; 413 halves it
  // Notifications (notifier.h): uids below first_user_uid (root included) and those in
  // system_uids are system accounts. Their notification programs run (as the registering
  // account, as BITS runs a service's command line) unless notify_system_uids is false;
  // then SetNotifyCmdLine on their jobs, or by them, is refused (E_ACCESSDENIED).
  uid_t first_user_uid = 1000;
  std::vector<uid_t> system_uids = {65534};  // nobody
  bool notify_system_uids = true;
  std::uint32_t max_notifications_per_user = 4;
  std::int64_t callback_timeout_ms = 60'000;         // an unanswered callback counts as failed
  std::int64_t notify_program_timeout_ms = 600'000;  // a program running longer is killed
  // RPC connections (rpc_server.h): per uid, and in total (root is never refused by the
  // total). Each takes a descriptor: keep max_connections well under LimitNOFILE.
  std::uint32_t max_connections_per_uid = 128;
  std::uint32_t max_connections = 1024;
  // Replies and events waiting to be written (rpc_server.h): over either budget a
  // connection is neither read nor served until its peer reads.
  std::uint32_t max_reply_bytes_per_connection = 4u << 20;
  std::uint32_t max_reply_bytes_per_uid = 16u << 20;
  // Length limits on what callers send (bits-spec §3.1). Display name and description
  // count characters (UTF-8 code points), the rest bytes; for everyone, admins included.
  std::uint32_t max_display_name = kMaxDisplayName;            // BG_E_STRING_TOO_LONG
  std::uint32_t max_description = kMaxDescription;             // BG_E_STRING_TOO_LONG
  std::uint32_t max_remote_name = kMaxRemoteName;              // E_INVALIDARG
  std::uint32_t max_local_name = kMaxLocalName;                // E_INVALIDARG; <= 4095
  std::uint32_t max_notify_parameters = kMaxNotifyParameters;  // BG_E_STRING_TOO_LONG
  std::uint32_t max_custom_headers = kMaxCustomHeaders;        // BG_E_STRING_TOO_LONG
  std::uint32_t max_proxy_list = kMaxProxyList;                // BG_E_PROXY_(BYPASS_)LIST_TOO_LARGE
  // HTTP (issue 7): trust anchors for HTTPS (empty: the system's CA bundle), the
  // directories that serve as client certificate stores (cert_store.h), and the
  // machine-wide proxy PRECONFIG falls back to when the job owner's environment named none
  // (like `netsh winhttp set proxy`): "host:port" or a BITS proxy list, and a bypass list.
  std::string tls_ca_file;
  CertStoreDirs cert_stores;
  std::string system_proxy;
  std::string system_proxy_bypass;
  // bitsd-proxy-resolver for AUTODETECT (proxy_resolver.h); empty: the one beside bitsd.
  std::string proxy_resolver;
  // The system account it runs as for root's jobs (scripts/setup.sh creates it); missing:
  // root's AUTODETECT jobs resolve nothing and go direct (logged).
  std::string proxy_resolver_user = "openbits-resolver";
  // Peer caching (docs/peer-caching.md): the machine's flags as a policy (0x1 client,
  // 0x2 server); when present it wins over what /peercaching /setconfigurationflags saved.
  std::optional<std::uint32_t> peer_caching_flags;
  // The peer server and discovery (docs/peer-caching.md part 2). peer_listen empty: this
  // host serves no one. peer_listen or peers need all three PEM files (load_config checks).
  std::string peer_listen;         // "ADDR:PORT" ("[v6]:PORT")
  std::string peer_ca_file;        // the fleet CA
  std::string peer_cert_file;      // this host's certificate (chain), issued by the fleet CA
  std::string peer_key_file;       // its private key
  std::vector<std::string> peers;  // static "host:port" peers, beside discovery
  bool peer_discovery = true;      // "multicast" (true) or "none"
  std::string peer_multicast_group = "239.255.66.77:7377";
  std::uint32_t peer_max_clients = 3;            // responses with bodies served at once
  std::uint64_t peer_max_serve_bytes_per_s = 0;  // 0: no cap
  // Bandwidth policy (bandwidth_policy.h, docs/bandwidth.md): bandwidth_limits,
  // bandwidth_windows and bandwidth_maintenance.
  BandwidthPolicy bandwidth;
  // Idle-bandwidth use (docs/bandwidth.md): background jobs drop to a trickle while other
  // traffic uses their network interface. false: they compete like any program.
  bool bandwidth_yield = true;
};

// A system account in the sense above (first_user_uid, system_uids).
bool is_system_uid(const Config& config, uid_t uid);

// Reads a JSON object whose keys are the field names above (admin_group takes a group
// name or number). Unknown keys or wrong types -> E_INVALIDARG naming the key.
Result<Config> load_config(const std::string& path);

}  // namespace openbits::daemon
