// libFuzzer target: everything bitsd parses from an HTTP server's response (each header
// line of the input is offered as ETag, Last-Modified, Accept-Ranges, Content-Range,
// Content-Length and Retry-After (delta-seconds or an HTTP-date, parse_retry_after), and
// split as a BITS upload Ack's header with its HRESULT; the whole input and each
// WWW-Authenticate value as an authentication challenge; the first two bytes are a status
// code to classify). Nothing may crash; a parsed number must print back as its digits, a
// header value must come from its line, a Retry-After stays within its cap.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <string>

#include "src/daemon/transfer/http_auth.h"
#include "src/daemon/transfer/http_headers.h"
#include "src/daemon/transfer/http_status.h"
#include "src/daemon/transfer/transfer_internal.h"

namespace {

using namespace openbits::daemon;
using namespace openbits::daemon::transfer_detail;

void check_number(const std::string& text) {
  auto n = parse_number(text);
  if (!n) return;
  std::size_t digits = text.find_first_not_of('0');
  std::string expected = digits == std::string::npos ? "0" : text.substr(digits);
  if (std::to_string(*n) != expected) __builtin_trap();
}

// An Ack header: the name is lower case and from the line; a parsed HRESULT prints back
// as the hex digits it came from.
void check_ack_line(const std::string& line) {
  auto field = split_header_line(line);
  if (!field) return;
  for (char c : field->name) {
    if (c >= 'A' && c <= 'Z') __builtin_trap();
  }
  if (field->name.size() > line.size()) __builtin_trap();
  check_number(field->value);
  auto code = parse_hresult_hex(field->value);
  if (!code) return;
  std::string digits = field->value;
  if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
    digits = digits.substr(2);
  }
  for (char& c : digits) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::size_t first = digits.find_first_not_of('0');
  digits = first == std::string::npos ? "0" : digits.substr(first);
  char printed[16];
  std::snprintf(printed, sizeof printed, "%x", static_cast<unsigned>(*code));
  if (digits != printed) __builtin_trap();
}

// Retry-After: never above kMaxRetryAfterS; delta-seconds are their value (capped) at any
// time; an HTTP-date's delay can only shrink as the clock moves on.
void check_retry_after(const std::string& value) {
  constexpr std::int64_t kNow = 1'700'000'000;  // 2023-11-14
  auto early = parse_retry_after(value, kNow);
  auto late = parse_retry_after(value, kNow + 3600);
  if (early.has_value() != late.has_value()) __builtin_trap();
  if (!early) return;
  if (*early > kMaxRetryAfterS || *late > kMaxRetryAfterS) __builtin_trap();
  if (!value.empty() && value.find_first_not_of("0123456789") == std::string::npos) {
    if (*early != *late) __builtin_trap();
    if (value.size() <= 9 &&
        *early != std::min<std::uint64_t>(std::stoull(value), kMaxRetryAfterS)) {
      __builtin_trap();
    }
  } else if (*late > *early) {
    __builtin_trap();
  }
}

// WWW-Authenticate / Proxy-Authenticate: only the five BITS schemes can be offered, and a
// credential is only ever chosen for a scheme that was offered.
void check_challenge(const std::string& value) {
  unsigned offered = offered_schemes(value);
  if ((offered & ~0x3Eu) != 0) __builtin_trap();
  std::vector<HttpCredential> credentials;
  for (int scheme = 1; scheme <= 5; ++scheme) {
    credentials.push_back({openbits::AuthTarget::kServer, static_cast<openbits::AuthScheme>(scheme),
                           std::string("u"), std::string("p"), ""});
  }
  auto choice = choose_credential(offered, credentials, openbits::AuthTarget::kServer);
  if (choice && (offered & (1u << static_cast<int>(choice->scheme))) == 0) __builtin_trap();
  if (choice && choice->scheme == openbits::AuthScheme::kPassport) __builtin_trap();
}

void check_line(const std::string& line, RemoteValidators& seen) {
  check_ack_line(line);
  if (auto value = header_value(line, "www-authenticate")) check_challenge(*value);
  for (const char* name : {"etag", "last-modified", "accept-ranges", "content-range",
                           "content-length", "retry-after"}) {
    auto value = header_value(line, name);
    if (!value) continue;
    if (line.find(*value) == std::string::npos) __builtin_trap();
    check_number(*value);
    ContentRange range = parse_content_range(*value);
    if (range.start) check_number(std::to_string(*range.start));
    if (range.end) check_number(std::to_string(*range.end));
    if (std::string(name) == "retry-after") check_retry_after(*value);
    if (std::string(name) == "etag") seen.etag = *value;
    if (std::string(name) == "last-modified") seen.last_modified = *value;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  if (size >= 2) {
    int status = (data[0] << 8) | data[1];
    Failure f = classify_http_status(status);
    if (f.context != openbits::ErrorContext::kRemoteFile) __builtin_trap();
    (void)is_transient_http_status(status);
  }
  RemoteValidators before;
  RemoteValidators now;
  std::size_t start = 0;
  int index = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    check_line(text.substr(start, end - start + (end < text.size() ? 1 : 0)),
               index++ % 2 ? now : before);
    start = end + 1;
  }
  check_number(text);
  check_challenge(text);
  check_retry_after(text.substr(size >= 2 ? 2 : size));
  (void)parse_content_range(text);
  // Identical validators never count as a change.
  if (validators_changed(before, before) || validators_changed(now, now)) __builtin_trap();
  (void)validators_changed(before, now);
  return 0;
}
