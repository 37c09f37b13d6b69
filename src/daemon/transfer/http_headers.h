// Parsers of HTTP response header lines (untrusted server input): header name matching,
// decimal numbers and Content-Range. Pure functions; thread-safe. Fuzzed by
// tests/fuzz/http_headers_fuzz.cc.
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

// "bytes 100-199/1000": start 100, total 1000 (total none for "*").
struct ContentRange {
  std::optional<std::uint64_t> start;
  std::optional<std::uint64_t> total;
};
ContentRange parse_content_range(const std::string& value);

}  // namespace openbits::daemon::transfer_detail
