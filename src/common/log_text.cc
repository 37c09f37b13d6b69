// Escaping of logged text; see log_text.h.
#include "src/common/log_text.h"

#include <cstdint>

#include "src/common/hex.h"
#include "src/common/utf8.h"

namespace openbits {
namespace {

void append_byte_escape(std::string& out, unsigned char byte) {
  out += "\\x";
  append_hex(out, byte);
}

// Four digits: the escaped code points are all below U+10000 (C1 controls, U+2028/9).
void append_code_point_escape(std::string& out, char32_t code_point) {
  out += "\\u";
  append_hex(out, static_cast<std::uint8_t>(code_point >> 8));
  append_hex(out, static_cast<std::uint8_t>(code_point & 0xff));
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
