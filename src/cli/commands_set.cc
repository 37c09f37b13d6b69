// bitsadmin property setters: every /SET* of a download job (and
// /MAKECUSTOMHEADERSWRITEONLY). Values are parsed before the daemon is asked; a success
// prints "<Property> set.". Single-threaded.
#include <ostream>

#include "src/cli/arguments.h"
#include "src/cli/commands.h"

namespace openbits::cli {
namespace {

using Args = const std::vector<std::string>&;
using Apply = Status (*)(Job&, Args);

struct SetterSpec {
  const char* command;
  const char* what;      // "set <what>" in errors, "<What> set." on success
  const char* synopsis;  // after "bitsadmin "
  std::size_t min_values;
  std::size_t max_values;  // kAny: no limit
  Apply apply;
};

constexpr std::size_t kAny = ~std::size_t{0};

std::string joined(Args a) {
  std::string text;
  for (const auto& s : a) text += (text.empty() ? "" : " ") + s;
  return text;
}

// Applies a 32-bit numeric setter.
template <Status (Job::*kSet)(std::uint32_t)>
Status number(Job& job, Args a) {
  auto n = parse_u32(a[0]);
  return n.ok() ? (job.*kSet)(*n) : n.status();
}

Status set_priority(Job& j, Args a) {
  auto p = parse_job_priority(a[0]);
  if (!p) return Status(hr::E_INVALIDARG, "The priority must be FOREGROUND, HIGH, NORMAL or LOW.");
  return j.set_priority(*p);
}

Status set_notify_cmd_line(Job& j, Args a) {
  auto cmd = parse_notify_cmd_args(a);
  return cmd.ok() ? j.set_notify_cmd_line(cmd->program, cmd->parameters) : cmd.status();
}

Status set_proxy(Job& j, Args a) {
  auto proxy = parse_proxy_args(a);
  return proxy.ok() ? j.set_proxy_settings(proxy->usage, proxy->proxy_list, proxy->bypass_list)
                    : proxy.status();
}

Status set_acl(Job& j, Args a) {
  auto flags = parse_acl_flags(a[0]);
  if (!flags) return Status(hr::E_INVALIDARG, "ACL flags are letters among O G D S.");
  return j.set_file_acl_flags(*flags);
}

Status set_headers(Job& j, Args a) {
  auto headers = parse_custom_headers(a);
  return headers.ok() ? j.set_custom_headers(*headers) : headers.status();
}

Status set_validation(Job& j, Args a) {
  auto index = parse_number(a[0]);
  auto valid = parse_bool_token(a[1]);
  if (!valid.ok()) return valid.status();
  auto files = j.files();
  if (!files.ok()) return files.status();
  if (!index || *index >= files->size()) return Status(hr::BG_E_FILE_NOT_FOUND);
  return (*files)[*index].set_validation_state(*valid);
}

Status set_credentials(Job& j, Args a) {
  auto credentials = parse_credentials_args(a);
  return credentials.ok() ? j.set_credentials(*credentials) : credentials.status();
}

Status set_certificate_by_id(Job& j, Args a) {
  auto location = parse_cert_store_location_arg(a[0]);
  if (!location.ok()) return location.status();
  auto hash = parse_cert_hash(a[2]);
  return hash.ok() ? j.set_client_certificate_by_id(*location, a[1], *hash) : hash.status();
}

Status set_certificate_by_name(Job& j, Args a) {
  auto location = parse_cert_store_location_arg(a[0]);
  if (!location.ok()) return location.status();
  return j.set_client_certificate_by_name(*location, a[1], joined({a.begin() + 2, a.end()}));
}

const SetterSpec kSetters[] = {
    {"setdisplayname", "display name", "/SETDISPLAYNAME job name", 1, kAny,
     [](Job& j, Args a) { return j.set_display_name(joined(a)); }},
    {"setdescription", "description", "/SETDESCRIPTION job text", 1, kAny,
     [](Job& j, Args a) { return j.set_description(joined(a)); }},
    {"setpriority", "priority", "/SETPRIORITY job FOREGROUND|HIGH|NORMAL|LOW", 1, 1, set_priority},
    {"setnotifyflags", "notify flags", "/SETNOTIFYFLAGS job flags", 1, 1,
     number<&Job::set_notify_flags>},
    {"setnotifycmdline", "notification command line",
     "/SETNOTIFYCMDLINE job program_name [program_parameters]", 1, 2, set_notify_cmd_line},
    {"setminretrydelay", "minimum retry delay", "/SETMINRETRYDELAY job seconds", 1, 1,
     number<&Job::set_minimum_retry_delay>},
    {"setnoprogresstimeout", "no progress timeout", "/SETNOPROGRESSTIMEOUT job seconds", 1, 1,
     number<&Job::set_no_progress_timeout>},
    {"setmaxdownloadtime", "maximum download time", "/SETMAXDOWNLOADTIME job seconds", 1, 1,
     number<&Job::set_maximum_download_time>},
    {"setproxysettings", "proxy settings",
     "/SETPROXYSETTINGS job PRECONFIG|AUTODETECT|NO_PROXY|OVERRIDE [proxy_list bypass_list]", 1, 3,
     set_proxy},
    {"setaclflags", "ACL flags", "/SETACLFLAGS job flags", 1, 1, set_acl},
    {"setaclflag", "ACL flags", "/SETACLFLAG job flags", 1, 1, set_acl},
    {"setpeercachingflags", "peer caching flags", "/SETPEERCACHINGFLAGS job flags", 1, 1,
     number<&Job::set_peer_caching_flags>},
    {"setsecurityflags", "security flags", "/SETSECURITYFLAGS job flags", 1, 1,
     number<&Job::set_security_flags>},
    {"sethttpmethod", "HTTP method", "/SETHTTPMETHOD job verb", 1, 1,
     [](Job& j, Args a) { return j.set_http_method(a[0]); }},
    {"setcustomheaders", "custom headers", "/SETCUSTOMHEADERS job header [header ...]", 1, kAny,
     set_headers},
    {"makecustomheaderswriteonly", "custom headers write-only", "/MAKECUSTOMHEADERSWRITEONLY job",
     0, 0, [](Job& j, Args) { return j.make_custom_headers_write_only(); }},
    {"setreplyfilename", "reply file name", "/SETREPLYFILENAME job path", 1, 1,
     [](Job& j, Args a) { return j.set_reply_file_name(a[0]); }},
    {"setcredentials", "credentials",
     "/SETCREDENTIALS job SERVER|PROXY BASIC|DIGEST|NTLM|NEGOTIATE|PASSPORT username password", 4,
     4, set_credentials},
    {"setclientcertificatebyid", "client certificate",
     "/SETCLIENTCERTIFICATEBYID job store_location store_name hex_cert_hash", 3, 3,
     set_certificate_by_id},
    {"setclientcertificatebyname", "client certificate",
     "/SETCLIENTCERTIFICATEBYNAME job store_location store_name subject_name", 3, kAny,
     set_certificate_by_name},
    {"setvalidationstate", "validation state", "/SETVALIDATIONSTATE job file_index TRUE|FALSE", 2,
     2, set_validation},
};

std::string capitalised(std::string text) {
  if (!text.empty() && text[0] >= 'a' && text[0] <= 'z') text[0] = static_cast<char>(text[0] - 32);
  return text;
}

Handler setter(const SetterSpec& spec) {
  return [spec](Context& ctx) {
    const auto& args = ctx.inv.args;
    if (args.empty() || args.size() - 1 < spec.min_values || args.size() - 1 > spec.max_values) {
      return ctx.usage(spec.synopsis);
    }
    auto job = ctx.resolve(args[0]);
    if (!job.ok()) return ctx.fail(std::string("set ") + spec.what, job.status());
    std::vector<std::string> values(args.begin() + 1, args.end());
    if (Status s = spec.apply(*job, values); !s.ok()) {
      return ctx.fail(std::string("set ") + spec.what, s);
    }
    ctx.out << capitalised(spec.what) << " set.\n";
    return 0;
  };
}

// /REMOVECREDENTIALS job target scheme: "Credentials removed." or, when the slot was empty,
// "No credentials were set." (S_FALSE).
int remove_credentials(Context& ctx) {
  const auto& args = ctx.inv.args;
  const char* synopsis = "/REMOVECREDENTIALS job SERVER|PROXY BASIC|DIGEST|NTLM|NEGOTIATE|PASSPORT";
  if (args.size() != 3) return ctx.usage(synopsis);
  auto which = parse_credentials_args({args[1], args[2]});
  if (!which.ok()) return ctx.fail("remove credentials", which.status());
  auto job = ctx.resolve(args[0]);
  if (!job.ok()) return ctx.fail("remove credentials", job.status());
  Status s = job->remove_credentials(which->target, which->scheme);
  if (!s.ok()) return ctx.fail("remove credentials", s);
  ctx.out << (s.code() == hr::S_FALSE ? "No credentials were set.\n" : "Credentials removed.\n");
  return 0;
}

int remove_client_certificate(Context& ctx) {
  if (ctx.inv.args.size() != 1) return ctx.usage("/REMOVECLIENTCERTIFICATE job");
  auto job = ctx.resolve(ctx.inv.args[0]);
  if (!job.ok()) return ctx.fail("remove client certificate", job.status());
  if (Status s = job->remove_client_certificate(); !s.ok()) {
    return ctx.fail("remove client certificate", s);
  }
  ctx.out << "Client certificate removed.\n";
  return 0;
}

}  // namespace

void add_setter_commands(std::map<std::string, Handler>& table) {
  for (const SetterSpec& spec : kSetters) table[spec.command] = setter(spec);
  table["removecredentials"] = remove_credentials;
  table["removeclientcertificate"] = remove_client_certificate;
}

}  // namespace openbits::cli
