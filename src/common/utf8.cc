// UTF-8 text helpers; see utf8.h.
#include "src/common/utf8.h"

namespace openbits {

std::size_t utf8_sequence(std::string_view text, char32_t& code_point) {
  if (text.empty()) return 0;
  auto byte = [&text](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  unsigned char lead = byte(0);
  std::size_t length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 0;
  if (length == 0 || lead > 0xf4 || text.size() < length) return 0;
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

bool valid_utf8(std::string_view text) {
  char32_t code_point = 0;
  for (std::size_t at = 0; at < text.size();) {
    if (static_cast<unsigned char>(text[at]) < 0x80) {
      ++at;
      continue;
    }
    std::size_t length = utf8_sequence(text.substr(at), code_point);
    if (length == 0) return false;
    at += length;
  }
  return true;
}

}  // namespace openbits
