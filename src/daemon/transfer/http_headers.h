// Parsers of HTTP response header lines (untrusted server input): header name matching,
// decimal numbers, Content-Range, and the BITS upload Acks' header lines and HRESULTs. Pure
// functions; thread-safe. Fuzzed by tests/fuzz/http_headers_fuzz.cc.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace openbits::daemon::transfer_detail {

// `text` without trailing CR, LF and spaces and leading spaces and tabs.
std::string trim_header_value(std::string text);

// The value of `line` if it is the header `name` (case-insensitive), else nullopt.
std::optional<std::string> header_value(const std::string& line, const char* name);

// A non-empty run of decimal digits that fits in 64 bits, else nullopt.
std::optional<std::uint64_t> parse_number(const std::string& text);

// "bytes 100-199/1000": start 100, end 199 (inclusive), total 1000 (total none for "*").
struct ContentRange {
  std::optional<std::uint64_t> start;
  std::optional<std::uint64_t> end;
  std::optional<std::uint64_t> total;
};
ContentRange parse_content_range(const std::string& value);

// A BITS upload Ack's header line split into its lower-cased name and trimmed value;
// nullopt for a status line or a line without a colon.
struct HeaderField {
  std::string name;
  std::string value;
};
std::optional<HeaderField> split_header_line(const std::string& line);

// BITS-Error-Code / BITS-Error: an HRESULT in hex ("0x80200020" or "80200020"), nothing
// else after it; nullopt when it is not one or does not fit in 32 bits.
std::optional<std::uint32_t> parse_hresult_hex(const std::string& text);

// The SHA-256 (lower-case hex) a Repr-Digest (RFC 9530, `sha-256=:<base64>:`) or Digest
// (RFC 3230, `SHA-256=<base64>`) value names; nullopt when it names none or is malformed.
std::optional<std::string> sha256_of_digest(const std::string& value);

}  // namespace openbits::daemon::transfer_detail
