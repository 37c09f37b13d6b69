// Classification of HTTP statuses and transport/local failures (bits-spec §2.5), checked
// for every status from 100 to 599 against the rule.
#include "src/daemon/transfer/http_status.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace openbits::daemon {
namespace {

TEST(HttpStatusTest, EveryStatusFollowsTheBitsRule) {
  for (long s = 100; s < 600; ++s) {
    bool expected = true;
    if (s >= 300 && s < 400) expected = !(s <= 305 || s == 307);
    if (s >= 400 && s < 500) expected = s == 408 || s == 409;
    if (s >= 500) expected = !(s == 501 || s == 505);
    EXPECT_EQ(is_transient_http_status(s), expected) << s;
    Failure f = classify_http_status(s);
    EXPECT_EQ(f.code, 0x80190000u + static_cast<HRESULT>(s));
    EXPECT_EQ(f.context, ErrorContext::kRemoteFile);
  }
  EXPECT_FALSE(is_transient_http_status(404));
  EXPECT_TRUE(is_transient_http_status(503));
  EXPECT_TRUE(is_transient_http_status(408));
  EXPECT_FALSE(is_transient_http_status(505));
}

TEST(HttpStatusTest, TransportAndLocalFailures) {
  EXPECT_EQ(classify_curl_error(CURLE_COULDNT_CONNECT).code, hr::WINHTTP_CANNOT_CONNECT);
  EXPECT_TRUE(classify_curl_error(CURLE_COULDNT_CONNECT).transient);
  EXPECT_EQ(classify_curl_error(CURLE_PARTIAL_FILE).code, hr::BG_E_CONNECTION_CLOSED);
  EXPECT_FALSE(classify_curl_error(CURLE_PEER_FAILED_VERIFICATION).transient);
  Failure full = classify_local_errno(ENOSPC);
  EXPECT_EQ(full.code, hr::DISK_FULL);
  EXPECT_TRUE(full.transient);
  EXPECT_EQ(full.context, ErrorContext::kLocalFile);
  Failure denied = classify_local_errno(EACCES);
  EXPECT_EQ(denied.code, hr::E_ACCESSDENIED);
  EXPECT_FALSE(denied.transient);
  EXPECT_EQ(classify_source_errno(ENOENT).code, hr::FILE_NOT_FOUND);
}

}  // namespace
}  // namespace openbits::daemon
