// bitsadmin command dispatch and shared helpers; see commands.h.
#include "src/cli/commands.h"

#include <ostream>

#include "src/cli/arguments.h"
#include "src/cli/format.h"

namespace openbits::cli {
namespace {

// Commands of the switch inventory that later releases implement, with the action their
// "Unable to <action>" error names.
const std::map<std::string, std::string> kLaterCommands = {
    {"examples", "show examples"},
    {"sethelpertoken", "set helper token"},
    {"gethelpertokensid", "get helper token SID"},
    {"sethelpertokenflags", "set helper token flags"},
    {"gethelpertokenflags", "get helper token flags"},
};

std::string action_of(const std::string& command) {
  if (auto it = kLaterCommands.find(command); it != kLaterCommands.end()) return it->second;
  if (command == "transfer") return "transfer files";
  if (command == "create") return "create job";
  return command;
}

}  // namespace

Result<Manager*> Context::manager() {
  if (!manager_) {
    auto connected = Manager::connect();
    if (!connected.ok()) return connected.status();
    manager_.emplace(std::move(connected).value());
  }
  return &*manager_;
}

Result<Job> Context::resolve(const std::string& reference) {
  auto m = manager();
  if (!m.ok()) return m.status();
  JobReference ref = classify_job_reference(reference);
  if (ref.guid) return (*m)->get_job(*ref.guid);
  auto jobs = (*m)->enum_jobs(false);
  if (!jobs.ok()) return jobs.status();
  std::optional<Guid> match;
  for (const JobInfo& job : *jobs) {
    if (job.display_name != ref.name) continue;
    if (match) {
      return Status(hr::E_INVALIDARG,
                    "More than one job is named '" + ref.name + "'; use the job's GUID instead.");
    }
    match = job.id;
  }
  if (!match) {
    return Status(hr::BG_E_NOT_FOUND,
                  "The requested job was not found: no job is named '" + ref.name + "'.");
  }
  return (*m)->get_job(*match);
}

int Context::fail(const std::string& action, const Status& status) {
  std::string text = status.message().empty() ? describe_hresult(status.code()) : status.message();
  err << "Unable to " << action << " - " << hresult_hex(status.code()) << ". " << text << '\n';
  return 1;
}

int Context::usage(const std::string& synopsis, const Status& problem) {
  if (problem.code() == hr::E_NOTIMPL) return fail(action_of(inv.command), problem);
  err << "Invalid arguments";
  if (!problem.message().empty()) err << ": " << problem.message();
  err << ".\nUsage: bitsadmin " << synopsis << '\n';
  return 1;
}

int Context::value(const std::string& text) {
  out << text;
  if (!inv.raw) out << '\n';
  return 0;
}

namespace {

int help(Context& ctx) {
  ctx.out << R"(USAGE: BITSADMIN [/RAWRETURN] [/WRAP | /NOWRAP] [--json] command
The following commands are available:

/HELP                                    Prints this help
/?                                       Prints this help
--version                                Prints bitsadmin's version
/UTIL /?                                 Lists the utility commands (/UTIL /VERSION,
                                         /UTIL /GETIEPROXY, /UTIL /REPAIRSERVICE...)
/CACHE /?    /PEERS /?    /PEERCACHING /?
                                         Lists the peer-caching command families
/LIST    [/ALLUSERS] [/VERBOSE] [--json] List the jobs
/INFO    job [/VERBOSE] [--json]         Display information about the job
/RESET   [/ALLUSERS]                     Deletes all jobs in the manager
/MONITOR [/ALLUSERS] [/REFRESH sec] [--json]
                                         Shows the jobs every sec seconds (default 5)
                                         until Ctrl+C; --json streams changes
/TRANSFER name [type] [/PRIORITY priority] [/ACLFLAGS flags] [/DYNAMIC]
         remote_url local_name [remote_url local_name ...]
                                         Transfers files and waits for them
/CREATE  [type] display_name             Creates a job (type: /DOWNLOAD, /UPLOAD,
                                         /UPLOAD-REPLY)
/ADDFILE job remote_url local_name       Adds a file to the job
/ADDFILESET job textfile                 Adds "remote local" pairs listed in a file
/ADDFILEWITHRANGES job remote_url local_name range_list
                                         range_list: offset:length,... (length may be eof)
/REPLACEREMOTEPREFIX job old_prefix new_prefix
/LISTFILES job                           Lists the files in the job
/SUSPEND job     /RESUME job     /CANCEL job     /COMPLETE job
/TAKEOWNERSHIP job                       Take ownership of the job (administrators)
/GETTYPE /GETSTATE /GETPRIORITY /GETBYTESTOTAL /GETBYTESTRANSFERRED /GETFILESTOTAL
/GETFILESTRANSFERRED /GETCREATIONTIME /GETMODIFICATIONTIME /GETCOMPLETIONTIME
/GETERROR /GETERRORCOUNT /GETOWNER /GETDISPLAYNAME /GETDESCRIPTION /GETNOTIFYFLAGS
/GETNOTIFYINTERFACE /GETNOTIFYCMDLINE /GETMINRETRYDELAY /GETNOPROGRESSTIMEOUT
/GETMAXDOWNLOADTIME /GETPROXYUSAGE /GETPROXYLIST /GETPROXYBYPASSLIST /GETACLFLAGS
/GETPEERCACHINGFLAGS /GETSECURITYFLAGS /GETHTTPMETHOD /GETCUSTOMHEADERS
/GETOWNERELEVATIONSTATE /GETOWNERINTEGRITYLEVEL                    job
/GETTEMPORARYNAME job file_index /GETVALIDATIONSTATE job file_index
/GETREPLYDATA job                Prints an upload-reply job's reply as a hex dump
/GETREPLYPROGRESS job            /GETREPLYFILENAME job
/SETREPLYFILENAME job path       Where /COMPLETE delivers the reply
/SETDISPLAYNAME job name         /SETDESCRIPTION job text
/SETPRIORITY job priority        (FOREGROUND, HIGH, NORMAL, LOW)
/SETNOTIFYFLAGS job flags        /SETNOTIFYCMDLINE job program [parameters]
/SETMINRETRYDELAY job seconds    /SETNOPROGRESSTIMEOUT job seconds
/SETMAXDOWNLOADTIME job seconds
/SETPROXYSETTINGS job usage [proxy_list bypass_list]
                                 (PRECONFIG, NO_PROXY, AUTODETECT, OVERRIDE)
/SETACLFLAGS job flags           (any of O G D S; /SETACLFLAG is the same)
/SETPEERCACHINGFLAGS job flags   /SETSECURITYFLAGS job flags
/SETHTTPMETHOD job verb          /SETCUSTOMHEADERS job header [header ...]
/MAKECUSTOMHEADERSWRITEONLY job  /SETVALIDATIONSTATE job file_index TRUE|FALSE
/SETCREDENTIALS job target scheme username password
                                 (SERVER, PROXY; BASIC, DIGEST, NTLM, NEGOTIATE, PASSPORT;
                                 NULL NULL: the owner's own Kerberos tickets)
/REMOVECREDENTIALS job target scheme
/SETCLIENTCERTIFICATEBYID job store_location store_name hex_sha1_hash
/SETCLIENTCERTIFICATEBYNAME job store_location store_name subject_name
                                 (locations 1-8, 1 = CURRENT_USER, 2 = LOCAL_MACHINE)
/REMOVECLIENTCERTIFICATE job     /GETCLIENTCERTIFICATE job
/GETERRORDESCRIPTION hresult     Prints the description of an error code
/GETPEERSTATS job file_index     Bytes of the file from the origin and from peers
/ISDOWNLOADEDFROMPEER job file_index
/EXAMPLES  /SETHELPERTOKEN  /GETHELPERTOKENSID  /SETHELPERTOKENFLAGS
/GETHELPERTOKENFLAGS             Not available in this version of openbits yet

--json (anywhere on the line) makes /LIST, /INFO and /MONITOR print JSON only.
Numbers may be decimal or 0x hexadecimal; NULL stands for "none".
Command words may be written without the leading slash, in any case.
"job" is a display name or a {GUID}; when several jobs share a name, use the GUID.
)";
  return 0;
}

std::map<std::string, Handler> build_table() {
  std::map<std::string, Handler> table;
  table["help"] = help;
  table["?"] = help;
  table["geterrordescription"] = [](Context& ctx) {
    if (ctx.inv.args.size() != 1) return ctx.usage("/GETERRORDESCRIPTION hresult");
    auto code = parse_number(ctx.inv.args[0]);
    if (!code || *code > 0xFFFFFFFFull) {
      return ctx.fail("get error description", Status(hr::E_INVALIDARG));
    }
    return ctx.value(describe_hresult(static_cast<HRESULT>(*code)));
  };
  add_lifecycle_commands(table);
  add_file_commands(table);
  add_getter_commands(table);
  add_setter_commands(table);
  add_transfer_commands(table);
  add_monitor_commands(table);
  add_family_commands(table);
  table["version"] = [](Context& ctx) {
    ctx.out << "bitsadmin " << kVersion << '\n';
    return 0;
  };
  for (const auto& [command, action] : kLaterCommands) {
    table.try_emplace(command, [](Context& ctx) {
      return ctx.fail(action_of(ctx.inv.command),
                      Status(hr::E_NOTIMPL,
                             "This command is not available in this version of "
                             "openbits yet."));
    });
  }
  return table;
}

}  // namespace

const std::map<std::string, Handler>& command_table() {
  static const std::map<std::string, Handler> table = build_table();
  return table;
}

int run(const Invocation& invocation, std::ostream& out, std::ostream& err) {
  const auto& table = command_table();
  auto it = table.find(invocation.command);
  if (it == table.end()) {
    out << "Invalid command\n";
    Context ctx(invocation, out, err);
    help(ctx);
    return 1;
  }
  if (invocation.json && invocation.command != "list" && invocation.command != "info" &&
      invocation.command != "monitor" && invocation.command != "cache" &&
      invocation.command != "peers") {
    err << "Invalid arguments: --json is available with /LIST, /INFO, /MONITOR, /CACHE /LIST, "
           "/CACHE /INFO and /PEERS /LIST only.\n";
    return 1;
  }
  Context ctx(invocation, out, err);
  return it->second(ctx);
}

}  // namespace openbits::cli
