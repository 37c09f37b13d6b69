// Percent-decoding (RFC 3986 %XX escapes) of URL paths. Pure function; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace openbits {

// Decodes every %XX escape (hex digits of either case); other characters are kept as they
// are ('+' stays '+': this is path decoding, not form decoding). nullopt for a malformed
// escape ('%' not followed by two hex digits) and for %00: every caller turns the result
// into a file path, and a NUL in a path would cut it short at the system call, so it is
// refused here once instead of by each caller.
std::optional<std::string> percent_decode(std::string_view text);

}  // namespace openbits
