// Log text that a user cannot use to forge lines: every string bitsd logs may come from a
// user (display names, paths, URLs, command lines) or a server (session ids, error texts),
// so each log record passes through escape_log_text before it is written (bitsd's log
// formatter, src/daemon/platform/log_setup.cc). Thread-safe (pure).
#pragma once

#include <string>
#include <string_view>

namespace openbits {

// `text` with control characters and invalid UTF-8 made visible, so that a record is one
// line and shows what was received: "\\" for a backslash, "\n" "\r" "\t", "\xHH" for any
// other byte below 0x20, DEL and every byte that is not part of valid UTF-8 (overlong forms
// and surrogates included), "\uHHHH" for the C1 controls U+0080-U+009F (a terminal may
// obey U+009B as ESC [) and the line separators U+2028/U+2029. Valid UTF-8 text stays as
// it is.
std::string escape_log_text(std::string_view text);

}  // namespace openbits
