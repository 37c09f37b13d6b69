// Escaping of logged text; see log_text.h.
#include "src/common/log_text.h"

#include <cstdint>

namespace openbits {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void append_byte_escape(std::string& out, unsigned char byte) {
  out += "\\x";
  out += kHex[byte >> 4];
  out += kHex[byte & 0xf];
}

void append_code_point_escape(std::string& out, char32_t code_point) {
  out += "\\u";
  for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(code_point >> shift) & 0xf];
}

// Length (2-4) and code point of the valid UTF-8 sequence at the start of `s`, or 0 when
// it is not one (a stray continuation byte, a truncated, overlong or surrogate form, or
// beyond U+10FFFF).
std::size_t utf8_sequence(std::string_view s, char32_t& code_point) {
  auto byte = [&s](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char lead = byte(0);
  std::size_t length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 0;
  if (length == 0 || lead > 0xf4 || s.size() < length) return 0;
  code_point = lead & (0x7f >> length);
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xc0) != 0x80) return 0;
    code_point = (code_point << 6) | (byte(i) & 0x3f);
  }
  constexpr char32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
  bool surrogate = code_point >= 0xd800 && code_point <= 0xdfff;
  if (code_point < kSmallest[length] || surrogate || code_point > 0x10ffff) return 0;
  return length;
}

void append_ascii(std::string& out, unsigned char c) {
  switch (c) {
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      if (c < 0x20 || c == 0x7f) {
        append_byte_escape(out, c);
      } else {
        out += static_cast<char>(c);
      }
  }
}

}  // namespace

std::string escape_log_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t at = 0; at < text.size();) {
    auto c = static_cast<unsigned char>(text[at]);
    if (c < 0x80) {
      append_ascii(out, c);
      ++at;
      continue;
    }
    char32_t code_point = 0;
    std::size_t length = utf8_sequence(text.substr(at), code_point);
    if (length == 0) {
      append_byte_escape(out, c);
      ++at;
    } else if (code_point <= 0x9f || code_point == 0x2028 || code_point == 0x2029) {
      append_code_point_escape(out, code_point);
      at += length;
    } else {
      out.append(text.substr(at, length));
      at += length;
    }
  }
  return out;
}

}  // namespace openbits
