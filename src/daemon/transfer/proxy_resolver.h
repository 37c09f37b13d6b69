// AUTODETECT proxies (WPAD and PAC) without running a PAC script in the daemon: bitsd runs
// the helper bitsd-proxy-resolver (libproxy) as the job owner, with a clean environment
// that asks libproxy for WPAD, and reads its answer. The helper evaluates whatever script
// the network serves, so it runs with the owner's rights, never root's.
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "src/daemon/security/fs_credentials.h"

namespace openbits::daemon {

// The proxies libproxy gives for `url` ("http://host:port", "direct://"), in order; empty
// when the helper fails, times out or `quit` is set. Blocks: call it off the engine thread.
std::vector<std::string> run_proxy_resolver(const std::string& program, const std::string& url,
                                            const Credentials& owner,
                                            std::chrono::milliseconds timeout,
                                            const std::atomic<bool>& quit);

}  // namespace openbits::daemon
