// bitsadmin property getters: every /GET* of a download job, each printing one value
// (bare, without newline, under /RAWRETURN), plus /GETERROR's block. Single-threaded.
#include <cctype>
#include <cstdio>
#include <ostream>

#include "src/cli/arguments.h"
#include "src/cli/commands.h"
#include "src/cli/format.h"
#include "src/common/hex.h"

namespace openbits::cli {
namespace {

using JobText = std::string (*)(const JobInfo&);

struct GetterSpec {
  const char* command;
  const char* what;  // "get <what>" in errors
  JobText get;
};

std::string opt(const std::optional<std::string>& v) { return v ? *v : "NULL"; }
std::string yes_no(bool v) { return v ? "true" : "false"; }

const GetterSpec kGetters[] = {
    {"gettype", "type", [](const JobInfo& j) { return to_string(j.type); }},
    {"getstate", "state", [](const JobInfo& j) { return to_string(j.state); }},
    {"getpriority", "priority", [](const JobInfo& j) { return to_string(j.priority); }},
    {"getbytestotal", "bytes total",
     [](const JobInfo& j) { return bytes_text(j.progress.bytes_total); }},
    {"getbytestransferred", "bytes transferred",
     [](const JobInfo& j) { return bytes_text(j.progress.bytes_transferred); }},
    {"getfilestotal", "files total",
     [](const JobInfo& j) { return std::to_string(j.progress.files_total); }},
    {"getfilestransferred", "files transferred",
     [](const JobInfo& j) { return std::to_string(j.progress.files_transferred); }},
    {"getcreationtime", "creation time",
     [](const JobInfo& j) { return time_text(j.times.creation_time); }},
    {"getmodificationtime", "modification time",
     [](const JobInfo& j) { return time_text(j.times.modification_time); }},
    {"getcompletiontime", "completion time",
     [](const JobInfo& j) { return time_text(j.times.transfer_completion_time); }},
    {"geterrorcount", "error count",
     [](const JobInfo& j) { return std::to_string(j.error_count); }},
    {"getowner", "owner", [](const JobInfo& j) { return j.owner_name; }},
    {"getdisplayname", "display name", [](const JobInfo& j) { return j.display_name; }},
    {"getdescription", "description", [](const JobInfo& j) { return j.description; }},
    {"getnotifyflags", "notify flags",
     [](const JobInfo& j) { return std::to_string(j.notify_flags); }},
    {"getnotifyinterface", "notify interface",
     [](const JobInfo& j) {
       return std::string(j.notify_interface_registered ? "REGISTERED" : "UNREGISTERED");
     }},
    {"getnotifycmdline", "notify command line", notify_cmd_text},
    {"getminretrydelay", "minimum retry delay",
     [](const JobInfo& j) { return std::to_string(j.minimum_retry_delay); }},
    {"getnoprogresstimeout", "no progress timeout",
     [](const JobInfo& j) { return std::to_string(j.no_progress_timeout); }},
    {"getmaxdownloadtime", "maximum download time",
     [](const JobInfo& j) { return std::to_string(j.maximum_download_time); }},
    {"getproxyusage", "proxy usage", [](const JobInfo& j) { return to_string(j.proxy.usage); }},
    {"getproxylist", "proxy list", [](const JobInfo& j) { return opt(j.proxy.proxy_list); }},
    {"getproxybypasslist", "proxy bypass list",
     [](const JobInfo& j) { return opt(j.proxy.bypass_list); }},
    {"getaclflags", "ACL flags", [](const JobInfo& j) { return acl_letters(j.file_acl_flags); }},
    {"getpeercachingflags", "peer caching flags",
     [](const JobInfo& j) { return std::to_string(j.peer_caching_flags); }},
    {"getsecurityflags", "security flags",
     [](const JobInfo& j) { return std::to_string(j.security_flags); }},
    {"gethttpmethod", "HTTP method", [](const JobInfo& j) { return j.http_method; }},
    {"getownerelevationstate", "owner elevation state",
     [](const JobInfo& j) { return yes_no(j.owner_elevated); }},
    {"getownerintegritylevel", "owner integrity level",
     [](const JobInfo& j) { return integrity_text(j.owner_integrity_level); }},
};

std::string upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

// Resolves the job argument (of `argc` arguments) and reads its snapshot; prints the
// failure itself and returns nullopt.
std::optional<JobInfo> job_info(Context& ctx, const std::string& what, std::size_t argc) {
  if (ctx.inv.args.size() != argc) {
    (void)ctx.usage("/" + upper(ctx.inv.command) + (argc == 1 ? " job" : " job file_index"));
    return std::nullopt;
  }
  auto job = ctx.resolve(ctx.inv.args[0]);
  if (!job.ok()) {
    (void)ctx.fail("get " + what, job.status());
    return std::nullopt;
  }
  auto info = job->info();
  if (!info.ok()) {
    (void)ctx.fail("get " + what, info.status());
    return std::nullopt;
  }
  return std::move(info).value();
}

Handler getter(const GetterSpec& spec) {
  return [spec](Context& ctx) {
    auto info = job_info(ctx, spec.what, 1);
    return info ? ctx.value(spec.get(*info)) : 1;
  };
}

// Getters that name a file by its 0-based index.
Handler file_getter(const std::string& what, Result<std::string> (*get)(const FileInfo&)) {
  return [what, get](Context& ctx) {
    auto info = job_info(ctx, what, 2);
    if (!info) return 1;
    auto index = parse_number(ctx.inv.args[1]);
    if (!index || *index >= info->files.size()) {
      return ctx.fail("get " + what, Status(hr::BG_E_FILE_NOT_FOUND));
    }
    auto text = get(info->files[*index]);
    if (!text.ok()) return ctx.fail("get " + what, text.status());
    return ctx.value(*text);
  };
}

int get_custom_headers(Context& ctx) {
  auto info = job_info(ctx, "custom headers", 1);
  if (!info) return 1;
  if (info->custom_headers_write_only) {
    return ctx.fail("get custom headers",
                    Status(hr::E_ACCESSDENIED, "The custom headers are write-only."));
  }
  return ctx.value(opt(info->custom_headers));
}

// Location, store, SHA-1 hash and subject, one per line; /RAWRETURN: the hash alone.
int get_client_certificate(Context& ctx) {
  auto info = job_info(ctx, "client certificate", 1);
  if (!info) return 1;
  if (!info->client_certificate) {
    return ctx.fail("get client certificate",
                    Status(hr::CRYPT_E_NOT_FOUND, "The job has no client certificate."));
  }
  const ClientCertificate& c = *info->client_certificate;
  std::string hash = hex_encode(c.hash);
  if (ctx.inv.raw) return ctx.value(hash);
  return ctx.value("Location: " + to_string(c.location) + "\nStore: " + c.store_name +
                   "\nHash: " + hash + "\nSubject: " + c.subject);
}

int get_error(Context& ctx) {
  auto info = job_info(ctx, "error", 1);
  if (!info) return 1;
  if (!info->error) return ctx.fail("get error", Status(hr::BG_E_ERROR_INFORMATION_UNAVAILABLE));
  ctx.out << error_block(*info);
  return 0;
}

// The reply getters of upload-reply jobs; other jobs answer E_NOTIMPL as BITS does.
std::optional<JobInfo> reply_job(Context& ctx, const std::string& what) {
  auto info = job_info(ctx, what, 1);
  if (info && info->type != JobType::kUploadReply) {
    (void)ctx.fail("get " + what, Status(hr::E_NOTIMPL));
    return std::nullopt;
  }
  return info;
}

int get_reply_file_name(Context& ctx) {
  auto info = reply_job(ctx, "reply file name");
  return info ? ctx.value(info->reply_file_name) : 1;
}

int get_reply_progress(Context& ctx) {
  auto info = reply_job(ctx, "reply progress");
  if (!info) return 1;
  return ctx.value(bytes_text(info->reply_bytes_transferred) + " / " +
                   bytes_text(info->reply_bytes_total));
}

// The dump /GETREPLYDATA prints (the layout is openbits' choice; README.md, Uploads): 16
// bytes a line, the offset in 8 hex digits, two spaces, each byte as two upper-case hex
// digits and a space (a short last line padded to the column), a space, then the bytes as
// printable ASCII with '.' for anything else.
std::string hex_dump(const std::vector<std::uint8_t>& data) {
  std::string dump;
  for (std::size_t line = 0; line < data.size(); line += 16) {
    char offset[32];
    std::snprintf(offset, sizeof offset, "%08zX  ", line);
    dump += offset;
    std::string text;
    for (std::size_t i = line; i < line + 16; ++i) {
      if (i < data.size()) {
        std::uint8_t b = data[i];
        append_hex(dump, b, HexCase::kUpper);
        dump += ' ';
        text += b >= 0x20 && b < 0x7F ? static_cast<char>(b) : '.';
      } else {
        dump += "   ";
      }
    }
    dump += " " + text + "\n";
  }
  return dump;
}

int get_reply_data(Context& ctx) {
  auto info = reply_job(ctx, "reply data");
  if (!info) return 1;
  auto job = ctx.resolve(ctx.inv.args[0]);
  if (!job.ok()) return ctx.fail("get reply data", job.status());
  std::uint64_t size = 0;
  auto data = job->reply_data(&size);
  if (data.code() == hr::BG_E_TOO_LARGE) {
    return ctx.fail(
        "get reply data",
        Status(hr::BG_E_TOO_LARGE, "The reply is " + std::to_string(size) +
                                       " bytes, more than /GETREPLYDATA shows (1 MiB). /COMPLETE "
                                       "delivers it to " +
                                       info->reply_file_name + "."));
  }
  if (!data.ok()) return ctx.fail("get reply data", data.status());
  ctx.out << hex_dump(*data);
  return 0;
}

int get_error_description(Context& ctx) {
  if (ctx.inv.args.size() != 1) return ctx.usage("/GETERRORDESCRIPTION hresult");
  auto code = parse_u32(ctx.inv.args[0]);
  if (!code.ok()) return ctx.fail("get error description", code.status());
  auto hresult = static_cast<HRESULT>(*code);
  // The daemon's text when it runs, else the library's own table.
  if (auto m = ctx.manager(); m.ok()) {
    if (auto text = (*m)->error_description(hresult); text.ok()) return ctx.value(*text);
  }
  return ctx.value(describe_hresult(hresult));
}

// /GETPEERSTATS job file_index: bytes of the file from the origin and from peers; with
// /RAWRETURN exactly "ORIGIN PEERS".
int get_peer_stats(Context& ctx) {
  auto info = job_info(ctx, "peer statistics", 2);
  if (!info) return 1;
  auto index = parse_number(ctx.inv.args[1]);
  if (!index || *index >= info->files.size()) {
    return ctx.fail("get peer statistics", Status(hr::BG_E_FILE_NOT_FOUND));
  }
  const FileInfo& file = info->files[*index];
  if (ctx.inv.raw) {
    return ctx.value(std::to_string(file.bytes_from_origin) + " " +
                     std::to_string(file.bytes_from_peers));
  }
  ctx.out << "FROM ORIGIN: " << file.bytes_from_origin << " FROM PEERS: " << file.bytes_from_peers
          << '\n';
  return 0;
}

}  // namespace

void add_getter_commands(std::map<std::string, Handler>& table) {
  for (const GetterSpec& spec : kGetters) table[spec.command] = getter(spec);
  table["getcustomheaders"] = get_custom_headers;
  table["getclientcertificate"] = get_client_certificate;
  table["geterror"] = get_error;
  table["geterrordescription"] = get_error_description;
  table["getreplyfilename"] = get_reply_file_name;
  table["getreplyprogress"] = get_reply_progress;
  table["getreplydata"] = get_reply_data;
  table["gettemporaryname"] = file_getter(
      "temporary name", [](const FileInfo& f) -> Result<std::string> { return f.temporary_name; });
  table["isdownloadedfrompeer"] =
      file_getter("downloaded from peer", [](const FileInfo& f) -> Result<std::string> {
        return std::string(f.downloaded_from_peer ? "TRUE" : "FALSE");
      });
  table["getpeerstats"] = get_peer_stats;
  table["getvalidationstate"] =
      file_getter("validation state", [](const FileInfo& f) -> Result<std::string> {
        if (!f.progress.completed) return Status(hr::E_PENDING);
        return std::string(f.validation_state ? "TRUE" : "FALSE");
      });
}

}  // namespace openbits::cli
