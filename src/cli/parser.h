// bitsadmin's command-line grammar: prefix options (/RAWRETURN /WRAP /NOWRAP --json), a command
// word with or without a leading '/' or '-' in any case, and its arguments; plus parsers
// for the value vocabularies (numbers in decimal or 0x hex, range lists, NULL).
// Pure functions; no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "openbits/types.h"

namespace openbits::cli {

struct Invocation {
  bool raw = false;     // /RAWRETURN: bare values, no banner
  bool nowrap = false;  // /NOWRAP
  bool json = false;    // --json (or /json) before the command or among the arguments of
                        // /LIST /INFO /MONITOR: JSON only, no banner
  std::string command;  // normalised: lower case, no leading '/' or '-' ("getstate")
  std::vector<std::string> args;
};

// argv[1..] -> Invocation. The first token that is not a prefix option is the command. A
// prefix --json of /LIST, /INFO or /MONITOR is appended to its arguments.
Invocation parse_invocation(const std::vector<std::string>& argv);

// "/ALLUSERS", "-allusers", "allusers" -> "allusers"; other tokens unchanged but lowered.
std::string normalise_switch(std::string_view token);
bool is_switch(std::string_view token, std::string_view name);  // case-insensitive, '/' or '-'

// Decimal or 0x-prefixed hexadecimal; nullopt when malformed or out of range.
std::optional<std::uint64_t> parse_number(std::string_view text);
// "0:100,2000:100,5000:eof" -> ranges; nullopt when malformed.
std::optional<std::vector<FileRange>> parse_range_list(std::string_view text);
// "NULL" (any case) -> nullopt, else the text.
std::optional<std::string> null_or(std::string_view text);
// ACL letters O G D S (any case, any order) -> flags; nullopt for other letters.
std::optional<std::uint32_t> parse_acl_flags(std::string_view text);
std::string acl_letters(std::uint32_t flags);  // "o", "gd"... lower case as bitsadmin prints

}  // namespace openbits::cli
