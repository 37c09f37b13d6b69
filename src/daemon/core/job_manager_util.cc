// JobManager's answers to bitsadmin /util: the proxy configuration as bitsd sees it for a
// caller (daemon.proxy_settings) and the store's integrity check (daemon.check_store).
// See job_manager.h.
#include <spdlog/spdlog.h>

#include "src/daemon/core/job_credentials.h"
#include "src/daemon/core/job_manager.h"
#include "src/daemon/transfer/proxy_config.h"

namespace openbits::daemon {
namespace {

// "http://user:secret@proxy:3128" -> "http://user:****@proxy:3128"; anything else as is.
std::string mask_password(std::string value) {
  std::size_t start = value.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  std::size_t at = value.find('@', start);
  std::size_t slash = value.find('/', start);
  if (at == std::string::npos || (slash != std::string::npos && slash < at)) return value;
  std::size_t colon = value.find(':', start);
  if (colon == std::string::npos || colon > at) return value;
  return value.replace(colon + 1, at - colon - 1, "****");
}

// The proxy a PRECONFIG request to `url` goes through ("" direct), or what is wrong.
std::string preconfig_proxy(const ProxyContext& context, const std::string& url) {
  auto decision = decide_proxy(context, url);
  if (!decision.ok()) return "invalid: " + decision.status().message();
  return mask_password(decision->proxy);
}

}  // namespace

Result<ProxyReport> JobManager::proxy_settings(const Caller& caller) {
  ProxyContext context;  // what request_for() gives a PRECONFIG job the caller creates now
  context.settings.usage = ProxyUsage::kPreconfig;
  context.owner_environment = read_owner_environment(caller.pid, caller.uid);
  context.system_proxy = config_.system_proxy;
  context.system_bypass = config_.system_proxy_bypass;
  ProxyReport report;
  report.system_proxy = config_.system_proxy;
  report.system_proxy_bypass = config_.system_proxy_bypass;
  for (const char* name : {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}) {
    auto it = context.owner_environment.find(name);
    if (it != context.owner_environment.end()) report.environment[name] = mask_password(it->second);
  }
  report.preconfig_http = preconfig_proxy(context, "http://example.com/");
  report.preconfig_https = preconfig_proxy(context, "https://example.com/");
  return report;
}

JobManager::BandwidthNow JobManager::bandwidth_policy() const {
  WeekTime now = local_week_time(clock_.wall_ms());
  return {config_.bandwidth, limits_in_force(config_.bandwidth, now), now};
}

Result<StoreCheck> JobManager::check_store(const Caller& caller) {
  if (!caller.admin) return Status(hr::E_ACCESSDENIED, "only administrators may check the store");
  std::lock_guard lock(mutex_);
  auto problems = store_.check_integrity();
  if (!problems.ok()) return problems.status();
  spdlog::info("uid {} checked the store: {}", caller.uid,
               problems->empty() ? "intact" : std::to_string(problems->size()) + " problem(s)");
  return StoreCheck{store_.path(), std::move(problems).value()};
}

}  // namespace openbits::daemon
