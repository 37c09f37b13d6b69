// AUTODETECT proxies (WPAD and PAC) without running a PAC script in the daemon: bitsd runs
// the helper bitsd-proxy-resolver (libproxy) as the job owner, with a clean environment
// that asks libproxy for WPAD, and reads its answer. The helper evaluates whatever script
// the network serves, so it runs with the owner's rights, never root's: root's jobs use a
// system account of the resolver's own (config proxy_resolver_user), never one shared with
// other services such as nobody, whose processes could trace the helper and rewrite its
// answer. The helper makes itself non-dumpable before it reads anything.
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "openbits/status.h"
#include "openbits/types.h"
#include "src/daemon/security/fs_credentials.h"

namespace openbits::daemon {

// Whom the helper runs as for a job of `owner`: the owner; for root's jobs (in a root
// bitsd) the system account `account`, which must exist and be neither root nor nobody,
// else E_ACCESSDENIED (fail closed: the caller then runs no helper at all).
Result<Credentials> resolver_credentials(const Credentials& owner, const std::string& account);

// The proxies libproxy gives for `url` ("http://host:port", "direct://"), in order; empty
// when the helper fails, times out or `quit` is set. The helper runs as `as` (see
// resolver_credentials). Blocks: call it off the engine thread.
std::vector<std::string> run_proxy_resolver(const std::string& program, const std::string& url,
                                            const Credentials& as,
                                            std::chrono::milliseconds timeout,
                                            const std::atomic<bool>& quit);

// What the engine calls for a file of job `job`: run_proxy_resolver as
// resolver_credentials(owner, account) says, or (logged as an error) no helper and no answer.
std::vector<std::string> resolve_job_proxies(const std::string& program, const std::string& account,
                                             const std::string& url, const Credentials& owner,
                                             const Guid& job, std::chrono::milliseconds timeout,
                                             const std::atomic<bool>& quit);

}  // namespace openbits::daemon
