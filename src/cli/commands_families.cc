// bitsadmin's sub-command families (bitsadmin.md §10): `/UTIL /<x>` (commands_util.cc) and
// the peer-caching families /CACHE, /PEERS and /PEERCACHING (commands_peer.cc). Each family
// answers /? and /HELP with its own usage list.
#include <ostream>

#include "src/cli/commands.h"

namespace openbits::cli {
namespace {

constexpr const char* kUtilHelp = R"(USAGE: BITSADMIN /UTIL command
The following commands are available:

/UTIL /HELP                              Prints this help
/UTIL /?                                 Prints this help
/UTIL /VERSION [/VERBOSE]                Prints the versions of bitsd and bitsadmin
                                         (/VERBOSE: also which socket answered)
/UTIL /GETIEPROXY account                Shows the proxy openbits uses for PRECONFIG jobs:
                                         the system proxy of bitsd's config and, for your
                                         own account, your proxy environment
/UTIL /SETIEPROXY account usage [...]    Not supported on openbits: set system_proxy in
                                         bitsd's config file instead
/UTIL /REPAIRSERVICE                     Checks the job store with SQLite's integrity check
                                         (administrators)
/UTIL /GETBANDWIDTHPOLICY                Shows the bandwidth policy in force now (openbits)
/UTIL /ENABLEANALYTICCHANNEL TRUE|FALSE  Not supported on openbits: bitsd --log-level

account: LOCALSYSTEM (root), NETWORKSERVICE, LOCALSERVICE, or a user name.
)";

constexpr const char* kCacheHelp = R"(USAGE: BITSADMIN /CACHE command
The following commands are available (administrators only):

/CACHE /HELP                             Prints this help
/CACHE /?                                Prints this help
/CACHE /CLEAR                            Purges the local peer cache
/CACHE /DELETE recordID                  Deletes one cache record
/CACHE /DELETEURL url                    Deletes every record of a URL
/CACHE /LIST [/VERBOSE] [--json]         Lists the cache records
/CACHE /INFO recordID [/VERBOSE] [--json]
                                         Shows one cache record
/CACHE /GETLIMIT                         The cache size limit (percent of the disk)
/CACHE /SETLIMIT percent                 Sets it (1 to 80)
/CACHE /GETEXPIRATIONTIME                How long unused records live (seconds)
/CACHE /SETEXPIRATIONTIME seconds        Sets it (86400 to 10368000)
)";

constexpr const char* kPeersHelp = R"(USAGE: BITSADMIN /PEERS command
The following commands are available:

/PEERS /HELP                             Prints this help
/PEERS /?                                Prints this help
/PEERS /DISCOVER                         Discovers peers again (administrators)
/PEERS /CLEAR                            Clears the peer list (administrators)
/PEERS /LIST [--json]                    Lists the known peers
)";

constexpr const char* kPeerCachingHelp = R"(USAGE: BITSADMIN /PEERCACHING command
The following commands are available:

/PEERCACHING /HELP                       Prints this help
/PEERCACHING /?                          Prints this help
/PEERCACHING /GETCONFIGURATIONFLAGS [job]
                                         The machine's peer-caching flags
/PEERCACHING /SETCONFIGURATIONFLAGS [job] value
                                         Sets them (1: download from peers, 2: serve peers;
                                         administrators; the job is ignored)
)";

Family make_family(const char* help, std::map<std::string, Handler> commands) {
  Family family{help, std::move(commands)};
  Handler print_help = [help](Context& ctx) {
    ctx.out << help;
    return 0;
  };
  family.commands["help"] = print_help;
  family.commands["?"] = print_help;
  return family;
}

std::map<std::string, Family> build_families() {
  std::map<std::string, Family> families;
  families["util"] = make_family(kUtilHelp, util_commands());
  families["cache"] = make_family(kCacheHelp, cache_commands());
  families["peers"] = make_family(kPeersHelp, peers_commands());
  families["peercaching"] = make_family(kPeerCachingHelp, peercaching_commands());
  return families;
}

// `bitsadmin /<family> /<command> args...`: the handler sees only args; a missing or unknown
// command word prints "Invalid command" and the family's help, like the top level.
int run_family(Context& ctx, const Family& family) {
  std::string word = ctx.inv.args.empty() ? "" : normalise_switch(ctx.inv.args.front());
  auto it = family.commands.find(word);
  if (it == family.commands.end()) {
    ctx.out << "Invalid command\n" << family.help;
    return 1;
  }
  ctx.inv.args.erase(ctx.inv.args.begin());
  return it->second(ctx);
}

}  // namespace

const std::map<std::string, Family>& family_table() {
  static const std::map<std::string, Family> families = build_families();
  return families;
}

void add_family_commands(std::map<std::string, Handler>& table) {
  for (const auto& [name, family] : family_table()) {
    table[name] = [&family = family](Context& ctx) { return run_family(ctx, family); };
  }
}

}  // namespace openbits::cli
