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

}  // namespace openbits
