// bitsadmin property commands: every /GET* and /SET* of the download-job properties.
#include <ostream>

#include "src/cli/commands.h"
#include "src/cli/format.h"

namespace openbits::cli {
namespace {

using Getter = std::function<std::string(const JobInfo&)>;

Handler getter(std::string what, Getter get) {
  return [what, get](Context& ctx) {
    if (ctx.inv.args.size() != 1) return ctx.usage("/GET" + what + " job");
    auto job = ctx.resolve(ctx.inv.args[0]);
    if (!job.ok()) return ctx.fail("get " + what, job.status());
    auto info = job->info();
    if (!info.ok()) return ctx.fail("get " + what, info.status());
    return ctx.value(get(*info));
  };
}

// Getters that name a file by its 0-based index.
Handler file_getter(std::string what, std::function<Result<std::string>(const FileInfo&)> get) {
  return [what, get](Context& ctx) {
    if (ctx.inv.args.size() != 2) return ctx.usage("/GET" + what + " job file_index");
    auto index = parse_number(ctx.inv.args[1]);
    auto job = ctx.resolve(ctx.inv.args[0]);
    if (!job.ok()) return ctx.fail("get " + what, job.status());
    auto info = job->info();
    if (!info.ok()) return ctx.fail("get " + what, info.status());
    if (!index || *index >= info->files.size()) {
      return ctx.fail("get " + what, Status(hr::BG_E_FILE_NOT_FOUND));
    }
    auto text = get(info->files[*index]);
    if (!text.ok()) return ctx.fail("get " + what, text.status());
    return ctx.value(*text);
  };
}

// A setter taking the job and then `argc` arguments, applied through `apply`.
Handler setter(std::string what, std::string synopsis, std::size_t argc,
               std::function<Status(Job&, const std::vector<std::string>&)> apply) {
  return [what, synopsis, argc, apply](Context& ctx) {
    if (ctx.inv.args.size() < argc + 1) return ctx.usage(synopsis);
    auto job = ctx.resolve(ctx.inv.args[0]);
    if (!job.ok()) return ctx.fail("set " + what, job.status());
    std::vector<std::string> values(ctx.inv.args.begin() + 1, ctx.inv.args.end());
    if (Status s = apply(*job, values); !s.ok()) return ctx.fail("set " + what, s);
    ctx.out << what << " set.\n";
    return 0;
  };
}

Status with_number(const std::string& text, const std::function<Status(std::uint32_t)>& f) {
  auto n = parse_number(text);
  if (!n || *n > 0xFFFFFFFFull) return Status(hr::E_INVALIDARG, "'" + text + "' is not a number");
  return f(static_cast<std::uint32_t>(*n));
}

std::string opt(const std::optional<std::string>& v) { return v ? *v : "NULL"; }

void add_getters(std::map<std::string, Handler>& t) {
  t["gettype"] = getter("type", [](const JobInfo& j) { return to_string(j.type); });
  t["getstate"] = getter("state", [](const JobInfo& j) { return to_string(j.state); });
  t["getpriority"] = getter("priority", [](const JobInfo& j) { return to_string(j.priority); });
  t["getbytestotal"] =
      getter("bytes total", [](const JobInfo& j) { return bytes_text(j.progress.bytes_total); });
  t["getbytestransferred"] = getter("bytes transferred", [](const JobInfo& j) {
    return bytes_text(j.progress.bytes_transferred);
  });
  t["getfilestotal"] = getter(
      "files total", [](const JobInfo& j) { return std::to_string(j.progress.files_total); });
  t["getfilestransferred"] = getter("files transferred", [](const JobInfo& j) {
    return std::to_string(j.progress.files_transferred);
  });
  t["getcreationtime"] =
      getter("creation time", [](const JobInfo& j) { return time_text(j.times.creation_time); });
  t["getmodificationtime"] = getter(
      "modification time", [](const JobInfo& j) { return time_text(j.times.modification_time); });
  t["getcompletiontime"] = getter("completion time", [](const JobInfo& j) {
    return time_text(j.times.transfer_completion_time);
  });
  t["geterrorcount"] =
      getter("error count", [](const JobInfo& j) { return std::to_string(j.error_count); });
  t["getowner"] = getter("owner", [](const JobInfo& j) { return j.owner_name; });
  t["getdisplayname"] = getter("display name", [](const JobInfo& j) { return j.display_name; });
  t["getdescription"] = getter("description", [](const JobInfo& j) { return j.description; });
  t["getnotifyflags"] =
      getter("notify flags", [](const JobInfo& j) { return std::to_string(j.notify_flags); });
  t["getnotifyinterface"] = getter("notify interface", [](const JobInfo& j) {
    return std::string(j.notify_interface_registered ? "REGISTERED" : "UNREGISTERED");
  });
  t["getnotifycmdline"] = getter("notify command line", notify_cmd_text);
  t["getminretrydelay"] = getter("minimum retry delay", [](const JobInfo& j) {
    return std::to_string(j.minimum_retry_delay);
  });
  t["getnoprogresstimeout"] = getter("no progress timeout", [](const JobInfo& j) {
    return std::to_string(j.no_progress_timeout);
  });
  t["getmaxdownloadtime"] = getter("maximum download time", [](const JobInfo& j) {
    return std::to_string(j.maximum_download_time);
  });
  t["getproxyusage"] =
      getter("proxy usage", [](const JobInfo& j) { return to_string(j.proxy.usage); });
  t["getproxylist"] =
      getter("proxy list", [](const JobInfo& j) { return opt(j.proxy.proxy_list); });
  t["getproxybypasslist"] =
      getter("proxy bypass list", [](const JobInfo& j) { return opt(j.proxy.bypass_list); });
  t["getaclflags"] =
      getter("ACL flags", [](const JobInfo& j) { return acl_letters(j.file_acl_flags); });
  t["getpeercachingflags"] = getter(
      "peer caching flags", [](const JobInfo& j) { return std::to_string(j.peer_caching_flags); });
  t["getsecurityflags"] =
      getter("security flags", [](const JobInfo& j) { return std::to_string(j.security_flags); });
  t["gethttpmethod"] = getter("HTTP method", [](const JobInfo& j) { return j.http_method; });
  t["getownerelevationstate"] = getter("owner elevation state", [](const JobInfo& j) {
    return std::string(j.owner_elevated ? "true" : "false");
  });
  t["getownerintegritylevel"] = getter("owner integrity level", [](const JobInfo& j) {
    return integrity_text(j.owner_integrity_level);
  });
  t["getcustomheaders"] = [](Context& ctx) {
    if (ctx.inv.args.size() != 1) return ctx.usage("/GETCUSTOMHEADERS job");
    auto job = ctx.resolve(ctx.inv.args[0]);
    if (!job.ok()) return ctx.fail("get custom headers", job.status());
    auto info = job->info();
    if (!info.ok()) return ctx.fail("get custom headers", info.status());
    if (info->custom_headers_write_only) {
      return ctx.fail("get custom headers",
                      Status(hr::E_ACCESSDENIED, "The custom headers are write-only."));
    }
    return ctx.value(opt(info->custom_headers));
  };
  t["geterror"] = [](Context& ctx) {
    if (ctx.inv.args.size() != 1) return ctx.usage("/GETERROR job");
    auto job = ctx.resolve(ctx.inv.args[0]);
    if (!job.ok()) return ctx.fail("get error", job.status());
    auto info = job->info();
    if (!info.ok()) return ctx.fail("get error", info.status());
    if (!info->error) return ctx.fail("get error", Status(hr::BG_E_ERROR_INFORMATION_UNAVAILABLE));
    ctx.out << error_block(*info);
    return 0;
  };
  t["gettemporaryname"] = file_getter(
      "temporary name", [](const FileInfo& f) -> Result<std::string> { return f.temporary_name; });
  t["getvalidationstate"] =
      file_getter("validation state", [](const FileInfo& f) -> Result<std::string> {
        if (!f.progress.completed) return Status(hr::E_PENDING);
        return std::string(f.validation_state ? "TRUE" : "FALSE");
      });
}

void add_setters(std::map<std::string, Handler>& t) {
  using Args = const std::vector<std::string>&;
  auto joined = [](Args a) {
    std::string text;
    for (const auto& s : a) text += (text.empty() ? "" : " ") + s;
    return text;
  };
  t["setdisplayname"] = setter("display name", "/SETDISPLAYNAME job name", 1,
                               [joined](Job& j, Args a) { return j.set_display_name(joined(a)); });
  t["setdescription"] = setter("description", "/SETDESCRIPTION job text", 1,
                               [joined](Job& j, Args a) { return j.set_description(joined(a)); });
  t["setpriority"] =
      setter("priority", "/SETPRIORITY job FOREGROUND|HIGH|NORMAL|LOW", 1, [](Job& j, Args a) {
        auto p = parse_job_priority(a[0]);
        if (!p) return Status(hr::E_NOTIMPL, "unknown priority " + a[0]);
        return j.set_priority(*p);
      });
  t["setnotifyflags"] = setter("notify flags", "/SETNOTIFYFLAGS job flags", 1, [](Job& j, Args a) {
    return with_number(a[0], [&j](std::uint32_t n) { return j.set_notify_flags(n); });
  });
  t["setnotifycmdline"] =
      setter("notification command line", "/SETNOTIFYCMDLINE job program [parameters]", 1,
             [](Job& j, Args a) {
               std::optional<std::string> parameters;
               if (a.size() > 1) parameters = null_or(a[1]);
               return j.set_notify_cmd_line(null_or(a[0]), parameters);
             });
  t["setminretrydelay"] =
      setter("minimum retry delay", "/SETMINRETRYDELAY job seconds", 1, [](Job& j, Args a) {
        return with_number(a[0], [&j](std::uint32_t n) { return j.set_minimum_retry_delay(n); });
      });
  t["setnoprogresstimeout"] =
      setter("no progress timeout", "/SETNOPROGRESSTIMEOUT job seconds", 1, [](Job& j, Args a) {
        return with_number(a[0], [&j](std::uint32_t n) { return j.set_no_progress_timeout(n); });
      });
  t["setmaxdownloadtime"] =
      setter("maximum download time", "/SETMAXDOWNLOADTIME job seconds", 1, [](Job& j, Args a) {
        return with_number(a[0], [&j](std::uint32_t n) { return j.set_maximum_download_time(n); });
      });
  t["setproxysettings"] =
      setter("proxy settings", "/SETPROXYSETTINGS job usage [proxy_list bypass_list]", 1,
             [](Job& j, Args a) {
               auto usage = parse_proxy_usage(a[0]);
               if (!usage) return Status(hr::E_NOTIMPL, "unknown proxy usage " + a[0]);
               std::optional<std::string> list = a.size() > 1 ? null_or(a[1]) : std::nullopt;
               std::optional<std::string> bypass = a.size() > 2 ? null_or(a[2]) : std::nullopt;
               if (bypass && bypass->empty()) bypass.reset();
               return j.set_proxy_settings(*usage, list, bypass);
             });
  auto acl = [](Job& j, Args a) {
    auto flags = parse_acl_flags(a[0]);
    if (!flags) return Status(hr::E_INVALIDARG, "ACL flags are letters among O G D S");
    return j.set_file_acl_flags(*flags);
  };
  t["setaclflags"] = setter("ACL flags", "/SETACLFLAGS job flags", 1, acl);
  t["setaclflag"] = setter("ACL flags", "/SETACLFLAG job flags", 1, acl);
  t["setpeercachingflags"] =
      setter("peer caching flags", "/SETPEERCACHINGFLAGS job flags", 1, [](Job& j, Args a) {
        return with_number(a[0], [&j](std::uint32_t n) { return j.set_peer_caching_flags(n); });
      });
  t["setsecurityflags"] =
      setter("security flags", "/SETSECURITYFLAGS job flags", 1, [](Job& j, Args a) {
        return with_number(a[0], [&j](std::uint32_t n) { return j.set_security_flags(n); });
      });
  t["sethttpmethod"] = setter("HTTP method", "/SETHTTPMETHOD job verb", 1,
                              [](Job& j, Args a) { return j.set_http_method(a[0]); });
  t["setcustomheaders"] =
      setter("custom headers", "/SETCUSTOMHEADERS job header [header ...]", 1, [](Job& j, Args a) {
        if (a.size() == 1 && !null_or(a[0])) return j.set_custom_headers(std::nullopt);
        std::string headers;
        for (const auto& h : a) headers += h + "\r\n";
        return j.set_custom_headers(headers);
      });
  t["makecustomheaderswriteonly"] =
      setter("custom headers write-only", "/MAKECUSTOMHEADERSWRITEONLY job", 0,
             [](Job& j, Args) { return j.make_custom_headers_write_only(); });
  t["setvalidationstate"] = setter(
      "validation state", "/SETVALIDATIONSTATE job file_index TRUE|FALSE", 2, [](Job& j, Args a) {
        auto index = parse_number(a[0]);
        auto files = j.files();
        if (!files.ok()) return files.status();
        if (!index || *index >= files->size()) return Status(hr::BG_E_FILE_NOT_FOUND);
        std::string v = normalise_switch(a[1]);
        if (v != "true" && v != "false") return Status(hr::E_INVALIDARG, "use TRUE or FALSE");
        return (*files)[*index].set_validation_state(v == "true");
      });
}

}  // namespace

void add_property_commands(std::map<std::string, Handler>& table) {
  add_getters(table);
  add_setters(table);
}

}  // namespace openbits::cli
