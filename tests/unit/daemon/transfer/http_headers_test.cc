// The parsers of HTTP response headers: names case-insensitively, values trimmed, numbers
// that would not fit in 64 bits refused (they used to wrap), Content-Range start/total.
#include "src/daemon/transfer/http_headers.h"

#include <gtest/gtest.h>

namespace openbits::daemon::transfer_detail {
namespace {

TEST(HttpHeadersTest, HeaderValuesMatchTheNameCaseInsensitivelyAndAreTrimmed) {
  EXPECT_EQ(header_value("ETag: \"abc\"\r\n", "etag"), "\"abc\"");
  EXPECT_EQ(header_value("content-RANGE:\tbytes 1-2/3 \r\n", "content-range"), "bytes 1-2/3");
  EXPECT_FALSE(header_value("ETagX: 1\r\n", "etag").has_value());
  EXPECT_FALSE(header_value("etag", "etag").has_value());
  EXPECT_EQ(header_value("etag:\r\n", "etag"), "");
}

TEST(HttpHeadersTest, NumbersThatDoNotFitIn64BitsAreRefused) {
  EXPECT_EQ(parse_number("0"), 0u);
  EXPECT_EQ(parse_number("18446744073709551615"), UINT64_MAX);
  EXPECT_FALSE(parse_number("18446744073709551616").has_value());
  EXPECT_FALSE(parse_number("99999999999999999999999").has_value());
  EXPECT_FALSE(parse_number("").has_value());
  EXPECT_FALSE(parse_number("-1").has_value());
  EXPECT_FALSE(parse_number("1 ").has_value());
}

TEST(HttpHeadersTest, ContentRangeGivesStartEndAndTotal) {
  ContentRange r = parse_content_range("bytes 100-199/1000");
  EXPECT_EQ(r.start, 100u);
  EXPECT_EQ(r.end, 199u);
  EXPECT_EQ(r.total, 1000u);
  EXPECT_EQ(parse_content_range("bytes 0-9/*").end, 9u);
  EXPECT_EQ(parse_content_range("bytes 0-9").end, 9u);
  EXPECT_FALSE(parse_content_range("bytes 0-/10").end.has_value());
  EXPECT_FALSE(parse_content_range("bytes 0-x9/10").end.has_value());
  EXPECT_FALSE(parse_content_range("bytes 100-199/*").total.has_value());
  EXPECT_FALSE(parse_content_range("bytes -5/10").start.has_value());
  EXPECT_FALSE(parse_content_range("bytes=100-199/1000").start.has_value());
  // A start that wrapped modulo 2^64 used to equal a small offset.
  EXPECT_FALSE(parse_content_range("bytes 18446744073709551716-1/2").start.has_value());
}

TEST(HttpHeadersTest, AckHeaderLinesSplitIntoLowerCaseNameAndTrimmedValue) {
  auto f = split_header_line("BITS-Received-Content-Range:  1048576\r\n");
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->name, "bits-received-content-range");
  EXPECT_EQ(f->value, "1048576");
  EXPECT_FALSE(split_header_line("HTTP/1.1 200 OK\r\n").has_value());
  EXPECT_FALSE(split_header_line("\r\n").has_value());
  auto empty = split_header_line("BITS-Reply-URL:\r\n");
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(empty->value, "");
}

TEST(HttpHeadersTest, BitsErrorCodesAreHexHresults) {
  EXPECT_EQ(parse_hresult_hex("0x80200020"), 0x80200020u);
  EXPECT_EQ(parse_hresult_hex("80200020"), 0x80200020u);
  EXPECT_EQ(parse_hresult_hex("0X8019019d"), 0x8019019Du);
  EXPECT_EQ(parse_hresult_hex("5"), 5u);
  EXPECT_FALSE(parse_hresult_hex("0x180200020").has_value());  // more than 32 bits
  EXPECT_FALSE(parse_hresult_hex("0x").has_value());
  EXPECT_FALSE(parse_hresult_hex("").has_value());
  EXPECT_FALSE(parse_hresult_hex("0x8020 0020").has_value());
  EXPECT_FALSE(parse_hresult_hex("-1").has_value());
  EXPECT_FALSE(parse_hresult_hex("0x8020002g").has_value());
}

// SHA-256 of "abc": ba7816bf...15ad, base64 ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=.
TEST(HttpHeadersTest, DigestHeadersNameTheirSha256) {
  const std::string hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  const std::string b64 = "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=";
  EXPECT_EQ(sha256_of_digest("sha-256=:" + b64 + ":"), hex);                  // RFC 9530
  EXPECT_EQ(sha256_of_digest("SHA-256=" + b64), hex);                         // RFC 3230
  EXPECT_EQ(sha256_of_digest("sha-512=:AAAA:, sha-256=:" + b64 + ":"), hex);  // a list
  EXPECT_FALSE(sha256_of_digest("md5=:AAAA:").has_value());
  EXPECT_FALSE(sha256_of_digest("sha-256=:" + b64.substr(1) + ":").has_value());
  EXPECT_FALSE(
      sha256_of_digest("sha-256=:not base64 at all, is it? no, it is not!!!:").has_value());
  EXPECT_FALSE(sha256_of_digest("").has_value());
}

}  // namespace
}  // namespace openbits::daemon::transfer_detail
