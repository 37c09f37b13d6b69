// bitsadmin commands: a table from command word to handler, run over libopenbits only.
// Handlers print to the given streams and return the process exit status.
#pragma once

#include <functional>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>

#include "openbits/client.h"
#include "src/cli/parser.h"

namespace openbits::cli {

class Context {
 public:
  Context(Invocation invocation, std::ostream& out_stream, std::ostream& err_stream)
      : inv(std::move(invocation)), out(out_stream), err(err_stream) {}

  // Connects on first use.
  Result<Manager*> manager();
  // A display name or {GUID} -> the job; errors are BITS HRESULTs.
  Result<Job> resolve(const std::string& reference);
  // Prints "Unable to <action> - 0x<code>. <description>" and returns 1.
  int fail(const std::string& action, const Status& status);
  // Prints a usage error for the current command and returns 1; `problem` (an
  // E_INVALIDARG from arguments.h) says what was wrong, E_NOTIMPL goes through fail().
  int usage(const std::string& synopsis, const Status& problem = Status());
  // Prints a getter's value: bare (no newline) with /RAWRETURN.
  int value(const std::string& text);

  Invocation inv;
  std::ostream& out;
  std::ostream& err;

 private:
  std::optional<Manager> manager_;
};

// bitsadmin's own version (--version, /UTIL /VERSION; bitsd's comes from daemon.version).
inline constexpr const char* kVersion = "0.1.0";

using Handler = std::function<int(Context&)>;
const std::map<std::string, Handler>& command_table();

// A sub-command family (/UTIL, /CACHE, /PEERS, /PEERCACHING): `bitsadmin /util /version`.
// Its handlers see the arguments after the sub-command word; /? and /HELP print `help`.
struct Family {
  std::string help;
  std::map<std::string, Handler> commands;  // normalised sub-command word -> handler
};
const std::map<std::string, Family>& family_table();

// Runs one invocation (after the banner); the process's exit status.
int run(const Invocation& invocation, std::ostream& out, std::ostream& err);

void add_lifecycle_commands(std::map<std::string, Handler>& table);
void add_file_commands(std::map<std::string, Handler>& table);
void add_getter_commands(std::map<std::string, Handler>& table);
void add_setter_commands(std::map<std::string, Handler>& table);
void add_transfer_commands(std::map<std::string, Handler>& table);
void add_monitor_commands(std::map<std::string, Handler>& table);
void add_family_commands(std::map<std::string, Handler>& table);
// The /UTIL family's sub-commands (commands_util.cc).
std::map<std::string, Handler> util_commands();
// The peer-caching families' sub-commands (commands_peer.cc).
std::map<std::string, Handler> cache_commands();
std::map<std::string, Handler> peers_commands();
std::map<std::string, Handler> peercaching_commands();

}  // namespace openbits::cli
