// UTF-8 text helpers. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <string_view>

namespace openbits {

// Number of characters (Unicode code points) in UTF-8 text; BITS limits count characters.
inline std::size_t utf8_length(std::string_view text) {
  std::size_t count = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++count;
  }
  return count;
}

// Length (2-4) and code point of the valid multi-byte UTF-8 sequence at the start of `text`,
// or 0 when it is not one (ASCII, a stray continuation byte, a truncated, overlong or
// surrogate form, or beyond U+10FFFF); `code_point` is then unspecified.
std::size_t utf8_sequence(std::string_view text, char32_t& code_point);

// Well-formed UTF-8 throughout: ASCII and valid sequences as utf8_sequence defines them.
bool valid_utf8(std::string_view text);

}  // namespace openbits
