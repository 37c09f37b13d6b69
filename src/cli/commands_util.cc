// bitsadmin /UTIL (bitsadmin.md §10.4) over libopenbits: /VERSION (bitsd's daemon.version
// and bitsadmin's), /GETIEPROXY (the system proxy and what PRECONFIG means, from
// daemon.proxy_settings), /REPAIRSERVICE (the store's integrity check, daemon.check_store).
// /SETIEPROXY and /ENABLEANALYTICCHANNEL have no openbits counterpart and say so.
#include <pwd.h>
#include <unistd.h>

#include <cctype>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "src/cli/commands.h"
#include "src/cli/format.h"

namespace openbits::cli {
namespace {

std::string upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

int version(Context& ctx) {
  bool verbose = ctx.inv.args.size() == 1 && is_switch(ctx.inv.args[0], "verbose");
  if (!ctx.inv.args.empty() && !verbose) {
    return ctx.usage("/UTIL /VERSION [/VERBOSE]",
                     Status(hr::E_INVALIDARG, "unexpected argument '" + ctx.inv.args[0] + "'"));
  }
  auto m = ctx.manager();
  auto daemon = m.ok() ? (*m)->daemon_version() : Result<std::string>(m.status());
  if (!daemon.ok()) return ctx.fail("get the BITS version", daemon.status());
  if (ctx.inv.raw) return ctx.value(*daemon);
  ctx.out << "bitsd version: " << *daemon << "\nbitsadmin version: " << kVersion << '\n';
  if (verbose) {
    ctx.out << "Service check: bitsd is running and answers on " << Manager::default_socket_path()
            << '\n';
  }
  return 0;
}

// ACCOUNT -> its uid: the Windows service accounts (LOCALSYSTEM is root; NETWORKSERVICE
// and LOCALSERVICE have no Linux counterpart, nullopt), a user name or a number.
Result<std::optional<uid_t>> account_uid(const std::string& account) {
  std::string word = upper(account);
  if (word == "LOCALSYSTEM") return std::optional<uid_t>(0);
  if (word == "NETWORKSERVICE" || word == "LOCALSERVICE") return std::optional<uid_t>();
  struct passwd pw {};
  struct passwd* found = nullptr;
  std::vector<char> buffer(16384);
  if (getpwnam_r(account.c_str(), &pw, buffer.data(), buffer.size(), &found) == 0 && found) {
    return std::optional<uid_t>(found->pw_uid);
  }
  auto number = parse_number(account);
  if (number && *number <= 0xFFFFFFFEull) return std::optional<uid_t>(static_cast<uid_t>(*number));
  return Status(hr::E_INVALIDARG, "unknown account '" + account +
                                      "' (LOCALSYSTEM, NETWORKSERVICE, LOCALSERVICE or a user)");
}

std::string or_null(const std::string& text) { return text.empty() ? "NULL" : text; }
std::string or_direct(const std::string& proxy) { return proxy.empty() ? "DIRECT" : proxy; }

void print_preconfig(Context& ctx, const ProxyReport& report, bool own_account) {
  if (!own_account) {
    ctx.out << "PRECONFIG jobs of this account use the proxy environment (http_proxy, "
               "https_proxy, all_proxy, no_proxy) of the process that creates each job, "
               "else the system proxy.\n";
    return;
  }
  ctx.out << "Proxy environment of this process, as bitsd reads it when you create a job:";
  if (report.environment.empty()) ctx.out << " none";
  ctx.out << '\n';
  for (const auto& [name, value] : report.environment) {
    ctx.out << "  " << name << '=' << value << '\n';
  }
  ctx.out << "PRECONFIG proxy for http:// URLs:  " << or_direct(report.preconfig_http) << '\n'
          << "PRECONFIG proxy for https:// URLs: " << or_direct(report.preconfig_https) << '\n';
}

int get_ie_proxy(Context& ctx) {
  if (ctx.inv.args.size() != 1) {
    Status problem;
    if (ctx.inv.args.size() == 3 && is_switch(ctx.inv.args[1], "conn")) {
      problem = Status(hr::E_INVALIDARG, "openbits has no per-connection proxy settings (/CONN)");
    }
    return ctx.usage("/UTIL /GETIEPROXY account", problem);
  }
  const std::string& account = ctx.inv.args[0];
  auto uid = account_uid(account);
  if (!uid.ok()) return ctx.usage("/UTIL /GETIEPROXY account", uid.status());
  auto m = ctx.manager();
  auto report = m.ok() ? (*m)->proxy_settings() : Result<ProxyReport>(m.status());
  if (!report.ok()) return ctx.fail("get the Internet proxy settings", report.status());
  ctx.out << "Internet proxy settings for account " << account << ":\n"
          << "System proxy (system_proxy in bitsd's config): " << or_null(report->system_proxy)
          << "\nSystem proxy bypass list (system_proxy_bypass): "
          << or_null(report->system_proxy_bypass) << '\n';
  print_preconfig(ctx, *report, *uid && **uid == ::getuid());
  return 0;
}

int repair_service(Context& ctx) {
  if (!ctx.inv.args.empty()) {
    Status problem(hr::E_INVALIDARG, "unexpected argument '" + ctx.inv.args[0] + "'");
    if (is_switch(ctx.inv.args[0], "force")) {
      problem = Status(hr::NOT_SUPPORTED,
                       "/FORCE is not supported on openbits: it never deletes or recreates "
                       "the job store");
      return ctx.fail("repair the service", problem);
    }
    return ctx.usage("/UTIL /REPAIRSERVICE", problem);
  }
  auto m = ctx.manager();
  auto check = m.ok() ? (*m)->check_store() : Result<StoreCheck>(m.status());
  if (!check.ok()) return ctx.fail("repair the service", check.status());
  if (check->problems.empty()) {
    ctx.out << "The job store " << check->path
            << " passed SQLite's integrity check; nothing to repair.\n";
    return 0;
  }
  for (const std::string& problem : check->problems) ctx.out << problem << '\n';
  return ctx.fail(
      "repair the service",
      Status(hr::FILE_CORRUPT, "The job store " + check->path + " failed SQLite's " +
                                   "integrity check (" + std::to_string(check->problems.size()) +
                                   " problem(s) above): stop bitsd, keep a copy of "
                                   "the file and restore it from a backup."));
}

int set_ie_proxy(Context& ctx) {
  return ctx.fail("set the Internet proxy settings",
                  Status(hr::NOT_SUPPORTED,
                         "/UTIL /SETIEPROXY is not supported on openbits: set system_proxy "
                         "(and system_proxy_bypass) in bitsd's config file, or http_proxy and "
                         "https_proxy in the environment of the program that creates the job."));
}

int enable_analytic_channel(Context& ctx) {
  return ctx.fail("set the analytic channel",
                  Status(hr::NOT_SUPPORTED,
                         "/UTIL /ENABLEANALYTICCHANNEL is not supported on openbits: bitsd logs "
                         "to its journal or log file; start it with --log-level debug."));
}

// /UTIL /GETBANDWIDTHPOLICY (openbits extension): the limits in force now, then the
// configured policy as JSON; /RAWRETURN prints the JSON alone.
std::string limit_text(const std::optional<std::uint64_t>& limit) {
  if (!limit) return "unlimited";
  if (*limit == 0) return "blocked (0: BG_E_BLOCKED_BY_POLICY)";
  return std::to_string(*limit) + " bytes/s";
}

int get_bandwidth_policy(Context& ctx) {
  if (!ctx.inv.args.empty()) {
    return ctx.usage("/UTIL /GETBANDWIDTHPOLICY",
                     Status(hr::E_INVALIDARG, "unexpected argument '" + ctx.inv.args[0] + "'"));
  }
  auto m = ctx.manager();
  auto report = m.ok() ? (*m)->bandwidth_policy() : Result<BandwidthPolicyReport>(m.status());
  if (!report.ok()) return ctx.fail("get the bandwidth policy", report.status());
  if (ctx.inv.raw) return ctx.value(report->policy_json);
  std::string from = report->source == "window"
                         ? "bandwidth_windows[" + std::to_string(report->window) + "]"
                     : report->source == "maintenance" ? "bandwidth_maintenance"
                                                       : "bandwidth_limits";
  ctx.out << "Bandwidth policy in force at " << report->local_time << " (from " << from
          << "):\n  HIGH: " << limit_text(report->high)
          << "\n  NORMAL: " << limit_text(report->normal) << "\n  LOW: " << limit_text(report->low)
          << "\n  FOREGROUND: never limited\nConfigured: " << report->policy_json << '\n';
  return 0;
}

}  // namespace

std::map<std::string, Handler> util_commands() {
  return {{"version", version},
          {"getieproxy", get_ie_proxy},
          {"setieproxy", set_ie_proxy},
          {"repairservice", repair_service},
          {"getbandwidthpolicy", get_bandwidth_policy},
          {"enableanalyticchannel", enable_analytic_channel}};
}

}  // namespace openbits::cli
