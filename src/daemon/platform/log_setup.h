// bitsd's log: where it goes, who may read it, and that a user cannot forge its lines.
// Records go to stderr (the journal under systemd), or to the file named by --log, which
// then replaces stderr. Every record's text passes through escape_log_text
// (src/common/log_text.h). The system instance's log names every user's jobs, paths and
// notification programs, so it is readable by root and the adm group only. Called from
// main() before any thread starts.
#pragma once

#include <optional>
#include <string>

namespace openbits::daemon {

// The default logger "bitsd" on stderr at `level`, with the escaping formatter.
void setup_logging(const std::string& level);

// --log FILE: opens (creating) `path` for appending, without following a symlink, and
// makes it stderr (and stdout). For the system instance the file becomes root:adm 0640
// (root:root 0600 where there is no adm group), an existing file included; for a --user
// instance 0600. Returns why it failed, if it did.
std::optional<std::string> open_log_file(const std::string& path, bool system_instance);

// The system instance started with stderr appended to a regular file (setup.sh did
// that, and so may an administrator's own scripts): the file loses its permission bits
// for others, so one user cannot read another's entries.
void protect_inherited_log();

}  // namespace openbits::daemon
