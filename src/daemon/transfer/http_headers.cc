// HTTP response header parsers; see http_headers.h.
#include "src/daemon/transfer/http_headers.h"

#include <strings.h>

#include <cstring>
#include <limits>

namespace openbits::daemon::transfer_detail {

std::string trim_header_value(std::string text) {
  while (!text.empty() && (text.back() == '\r' || text.back() == '\n' || text.back() == ' ')) {
    text.pop_back();
  }
  std::size_t start = text.find_first_not_of(" \t");
  return start == std::string::npos ? std::string() : text.substr(start);
}

std::optional<std::string> header_value(const std::string& line, const char* name) {
  std::size_t n = std::strlen(name);
  if (line.size() <= n || strncasecmp(line.c_str(), name, n) != 0 || line[n] != ':') {
    return std::nullopt;
  }
  return trim_header_value(line.substr(n + 1));
}

std::optional<std::uint64_t> parse_number(const std::string& text) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t value = 0;
  for (char c : text) {
    auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (kMax - digit) / 10) return std::nullopt;  // would wrap: not a valid offset
    value = value * 10 + digit;
  }
  return value;
}

ContentRange parse_content_range(const std::string& value) {
  ContentRange range;
  std::size_t space = value.find(' ');
  std::size_t dash = value.find('-');
  std::size_t slash = value.find('/');
  if (space == std::string::npos || dash == std::string::npos || dash < space) return range;
  range.start = parse_number(value.substr(space + 1, dash - space - 1));
  std::size_t end_length =
      slash == std::string::npos || slash < dash ? std::string::npos : slash - dash - 1;
  range.end = parse_number(value.substr(dash + 1, end_length));
  if (slash != std::string::npos) range.total = parse_number(value.substr(slash + 1));
  return range;
}

std::optional<HeaderField> split_header_line(const std::string& line) {
  if (line.rfind("HTTP/", 0) == 0) return std::nullopt;
  std::size_t colon = line.find(':');
  if (colon == std::string::npos) return std::nullopt;
  HeaderField field{line.substr(0, colon), trim_header_value(line.substr(colon + 1))};
  for (char& c : field.name) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return field;
}

std::optional<std::uint32_t> parse_hresult_hex(const std::string& text) {
  std::size_t start = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
  start *= 2;
  if (start == text.size() || text.size() - start > 8 ||
      text.find_first_not_of("0123456789abcdefABCDEF", start) != std::string::npos) {
    return std::nullopt;
  }
  std::uint32_t value = 0;
  for (std::size_t i = start; i < text.size(); ++i) {
    char c = text[i];
    std::uint32_t digit = c <= '9' ? static_cast<std::uint32_t>(c - '0')
                                   : static_cast<std::uint32_t>((c | 0x20) - 'a' + 10);
    value = (value << 4) | digit;
  }
  return value;
}

}  // namespace openbits::daemon::transfer_detail
