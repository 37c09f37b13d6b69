// Which proxy a request goes through (bits-spec §3.7), decided per URL from the job's
// proxy settings:
//   NO_PROXY    direct, whatever the environment says;
//   OVERRIDE    the job's proxy list and bypass list;
//   PRECONFIG   the owner's environment captured when the job was created (https_proxy or
//               http_proxy by the URL's scheme, else all_proxy; no_proxy as curl reads it),
//               else the machine's configured proxy (Config::system_proxy), else direct;
//   AUTODETECT  what WPAD/PAC gave for this URL (bitsd-proxy-resolver), else direct.
// Proxy list: entries separated by spaces or semicolons, each `[scheme=][scheme://]host[:port]`
// where `scheme=` is http or https (the URL schemes the entry serves; an entry without it
// serves the others) and `scheme://` the proxy's own protocol. The first entry that fits is
// used. Bypass list: host names or addresses, `*` only as a leading wildcard (`*.example.org`),
// `<local>` for every host name without a dot. Lists are checked here, at transfer time: a
// malformed one is BG_E_INVALID_PROXY_INFO. Pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "openbits/status.h"
#include "src/daemon/transfer/transfer_engine.h"

namespace openbits::daemon {

struct ProxyDecision {
  std::string proxy;     // CURLOPT_PROXY: "" for direct
  std::string no_proxy;  // CURLOPT_NOPROXY (PRECONFIG's no_proxy); "" otherwise
};

// `autodetected`: the resolver's answer for this URL ("http://host:port", "direct://"...).
Result<ProxyDecision> decide_proxy(const ProxyContext& context, const std::string& url,
                                   const std::vector<std::string>& autodetected = {});

// Checks a proxy list and a bypass list; BG_E_INVALID_PROXY_INFO names the bad entry.
Status check_proxy_lists(const std::string& proxy_list, const std::string& bypass_list);

}  // namespace openbits::daemon
