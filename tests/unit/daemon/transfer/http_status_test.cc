// Classification of HTTP statuses and transport/local failures (bits-spec §2.5). Every
// status from 100 to 599 is checked against explicit lists of the exceptions.
#include "src/daemon/transfer/http_status.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <set>

namespace openbits::daemon {
namespace {

// The statuses whose class differs from the default of their hundred.
const std::set<int> kFatal3xx = {300, 301, 302, 303, 304, 305, 307};
const std::set<int> kTransient4xx = {408, 409, 429};  // 429: RFC 6585, see http_status.h
const std::set<int> kFatal5xx = {501, 505};

bool expected_transient(int s) {
  if (s / 100 == 3) return kFatal3xx.count(s) == 0;
  if (s / 100 == 4) return kTransient4xx.count(s) != 0;
  if (s / 100 == 5) return kFatal5xx.count(s) == 0;
  return true;  // 1xx, 2xx
}

TEST(HttpStatusTest, EveryStatusFrom100To599FollowsTheBitsRule) {
  int fatal = 0;
  for (int s = 100; s < 600; ++s) {
    EXPECT_EQ(is_transient_http_status(s), expected_transient(s)) << s;
    Failure f = classify_http_status(s);
    EXPECT_EQ(f.code, 0x80190000u + static_cast<HRESULT>(s)) << s;
    EXPECT_EQ(f.context, ErrorContext::kRemoteFile) << s;
    EXPECT_EQ(f.transient, expected_transient(s)) << s;
    if (!f.transient) ++fatal;
  }
  // 7 fatal 3xx + 97 fatal 4xx + 2 fatal 5xx.
  EXPECT_EQ(fatal, 7 + 97 + 2);
}

TEST(HttpStatusTest, RetryAfterSecondsAndDates) {
  constexpr std::int64_t kNow = 1795400000;  // 2026-11-23
  EXPECT_EQ(parse_retry_after("120", kNow), 120u);
  EXPECT_EQ(parse_retry_after("0", kNow), 0u);
  EXPECT_EQ(parse_retry_after("99999999999999999999", kNow), kMaxRetryAfterS);
  EXPECT_EQ(parse_retry_after("172800", kNow), kMaxRetryAfterS);
  // An HTTP-date 90 s ahead, one in the past.
  EXPECT_EQ(parse_retry_after("Mon, 23 Nov 2026 02:14:50 GMT", 1795400000), 90u);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", kNow), 0u);
  EXPECT_FALSE(parse_retry_after("", kNow).has_value());
  EXPECT_FALSE(parse_retry_after("soon", kNow).has_value());
  EXPECT_FALSE(parse_retry_after("-5", kNow).has_value());
}

TEST(HttpStatusTest, WellKnownStatuses) {
  EXPECT_EQ(classify_http_status(404).code, 0x80190194u);
  EXPECT_FALSE(is_transient_http_status(404));
  EXPECT_FALSE(is_transient_http_status(403));
  EXPECT_FALSE(is_transient_http_status(307));
  EXPECT_TRUE(is_transient_http_status(306));
  EXPECT_TRUE(is_transient_http_status(308));
  EXPECT_TRUE(is_transient_http_status(408));
  EXPECT_TRUE(is_transient_http_status(409));
  EXPECT_TRUE(is_transient_http_status(500));
  EXPECT_TRUE(is_transient_http_status(503));
  EXPECT_FALSE(is_transient_http_status(501));
  EXPECT_FALSE(is_transient_http_status(505));
}

void expect_failure(Failure f, HRESULT code, ErrorContext context, bool transient) {
  EXPECT_EQ(f.code, code);
  EXPECT_EQ(f.context, context);
  EXPECT_EQ(f.transient, transient);
}

TEST(HttpStatusTest, TransportFailuresAreGeneralTransportAndTransient) {
  expect_failure(classify_curl_error(CURLE_COULDNT_CONNECT), hr::WINHTTP_CANNOT_CONNECT,
                 ErrorContext::kGeneralTransport, true);
  expect_failure(classify_curl_error(CURLE_COULDNT_RESOLVE_HOST), hr::WINHTTP_NAME_NOT_RESOLVED,
                 ErrorContext::kGeneralTransport, true);
  expect_failure(classify_curl_error(CURLE_OPERATION_TIMEDOUT), hr::WINHTTP_TIMEOUT,
                 ErrorContext::kGeneralTransport, true);
  expect_failure(classify_curl_error(CURLE_PARTIAL_FILE), hr::BG_E_CONNECTION_CLOSED,
                 ErrorContext::kRemoteFile, true);
  expect_failure(classify_curl_error(CURLE_RECV_ERROR), hr::BG_E_CONNECTION_CLOSED,
                 ErrorContext::kRemoteFile, true);
}

TEST(HttpStatusTest, TlsFailuresAreFatal) {
  EXPECT_EQ(classify_curl_error(CURLE_PEER_FAILED_VERIFICATION).code, hr::WINHTTP_SECURE_FAILURE);
  EXPECT_FALSE(classify_curl_error(CURLE_PEER_FAILED_VERIFICATION).transient);
  EXPECT_FALSE(classify_curl_error(CURLE_SSL_CONNECT_ERROR).transient);
}

TEST(HttpStatusTest, LocalFileErrors) {
  expect_failure(classify_local_errno(EACCES), hr::E_ACCESSDENIED, ErrorContext::kLocalFile, false);
  expect_failure(classify_local_errno(EPERM), hr::E_ACCESSDENIED, ErrorContext::kLocalFile, false);
  expect_failure(classify_local_errno(ENOSPC), hr::DISK_FULL, ErrorContext::kLocalFile, true);
  expect_failure(classify_local_errno(EDQUOT), hr::DISK_FULL, ErrorContext::kLocalFile, true);
  expect_failure(classify_local_errno(ENOENT), hr::PATH_NOT_FOUND, ErrorContext::kLocalFile, false);
  expect_failure(classify_local_errno(ENOTDIR), hr::PATH_NOT_FOUND, ErrorContext::kLocalFile,
                 false);
}

TEST(HttpStatusTest, FileSourceErrors) {
  expect_failure(classify_source_errno(ENOENT), hr::FILE_NOT_FOUND, ErrorContext::kRemoteFile,
                 false);
  expect_failure(classify_source_errno(EACCES), hr::E_ACCESSDENIED, ErrorContext::kRemoteFile,
                 false);
}

}  // namespace
}  // namespace openbits::daemon
