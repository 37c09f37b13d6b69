// HTTP response header parsers; see http_headers.h.
#include "src/daemon/transfer/http_headers.h"

#include <openssl/evp.h>
#include <strings.h>

#include <cstring>
#include <limits>
#include <span>
#include <vector>

#include "src/common/hex.h"

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

namespace {

// 32 bytes from their base64 text (44 characters, one '=' of padding), nullopt otherwise.
std::optional<std::string> sha256_from_base64(const std::string& text) {
  if (text.size() != 44 || text.back() != '=' || text[42] == '=') return std::nullopt;
  std::vector<unsigned char> out(33);
  int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n != 33) return std::nullopt;
  return hex_encode(std::span<const std::uint8_t>(out.data(), 32));
}

}  // namespace

std::optional<std::string> sha256_of_digest(const std::string& value) {
  std::size_t start = 0;
  while (start < value.size()) {
    std::size_t comma = value.find(',', start);
    if (comma == std::string::npos) comma = value.size();
    std::string member = trim_header_value(value.substr(start, comma - start));
    start = comma + 1;
    std::size_t eq = member.find('=');
    if (eq == std::string::npos) continue;
    if (strcasecmp(trim_header_value(member.substr(0, eq)).c_str(), "sha-256") != 0) continue;
    std::string encoded = trim_header_value(member.substr(eq + 1));
    if (encoded.size() >= 2 && encoded.front() == ':' && encoded.back() == ':') {
      encoded = encoded.substr(1, encoded.size() - 2);  // RFC 9530: a byte sequence
    }
    return sha256_from_base64(encoded);
  }
  return std::nullopt;
}

}  // namespace openbits::daemon::transfer_detail
