// The argument vector of a notification command line (SetNotifyCmdLine). The parameters
// string is split with the Windows CommandLineToArgvW rules, so a command line written
// for BITS means the same here: whitespace separates tokens, double quotes group, 2n
// backslashes before a quote give n backslashes and a delimiting quote, 2n+1 give n
// backslashes and a literal quote, "" inside quotes is a literal quote, other backslashes
// are literal. No variables are expanded and no shell is involved. Pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace openbits::daemon {

// Splits a parameters string into tokens (see above).
std::vector<std::string> split_command_line(std::string_view text);

// The argv the program gets: the tokens of `parameters` (whose first token is the program
// itself, as SetNotifyCmdLine requires), or just {program} when there are no parameters.
std::vector<std::string> notify_argv(const std::string& program,
                                     const std::optional<std::string>& parameters);

}  // namespace openbits::daemon
