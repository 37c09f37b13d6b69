// Validation of remote names, local names, ranges and property values: exact HRESULTs.
#include "src/daemon/core/validation.h"

#include <gtest/gtest.h>

namespace openbits::daemon {
namespace {

TEST(ValidationTest, AcceptsHttpHttpsFileUrlsAndAbsolutePaths) {
  EXPECT_TRUE(validate_remote_name("http://host/a/b.bin").ok());
  EXPECT_TRUE(validate_remote_name("HTTPS://host:8443/a?b=c").ok());
  auto file = validate_remote_name("file:///srv/data/x");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->kind, RemoteKind::kFile);
  EXPECT_EQ(file->path, "/srv/data/x");
  EXPECT_EQ(validate_remote_name("/srv/data/x")->path, "/srv/data/x");
}

TEST(ValidationTest, RejectsBadRemoteNamesWithInvalidArg) {
  for (const char* bad : {"", "ftp://host/x", "relative/path", "http://", "http:///x",
                          "http://host/a b", "http://host/\x01", "file://rel", "/a/*.bin"}) {
    EXPECT_EQ(validate_remote_name(bad).code(), hr::E_INVALIDARG) << bad;
  }
  EXPECT_EQ(validate_remote_name("http://h/" + std::string(2200, 'a')).code(), hr::E_INVALIDARG);
  EXPECT_EQ(validate_remote_name("http://h/" + std::string(261, 'a')).code(), hr::E_INVALIDARG);
  EXPECT_TRUE(validate_remote_name("http://h/" + std::string(260, 'a')).ok());
}

// Issue 12 item 9: a port above 65535 used to be accepted and fail later as a reset.
TEST(ValidationTest, PortsOutsideOneTo65535AreRefused) {
  for (const char* good : {"http://127.0.0.1:65535/f", "http://h:1/", "http://[::1]:8080/x",
                           "http://[::1]/x", "http://h:/x", "https://h?q=a:99999"}) {
    EXPECT_TRUE(validate_remote_name(good).ok()) << good;
  }
  for (const char* bad : {"http://127.0.0.1:99999/", "http://h:65536/f", "http://h:0/f",
                          "http://h:8o/f", "http://[::1]:123456/x", "http://h:000080000/"}) {
    auto r = validate_remote_name(bad);
    EXPECT_EQ(r.code(), hr::E_INVALIDARG) << bad;
    EXPECT_NE(r.status().message().find("port"), std::string::npos) << bad;
  }
}

// Issue 12 item 3: credentials in a URL are refused, pointing to SetCredentials, and the
// message never repeats them.
TEST(ValidationTest, UserNameOrPasswordInAUrlIsRefusedWithoutRepeatingIt) {
  for (const char* bad :
       {"http://alice:Pw0rd@h/f", "https://alice@h:8443/f", "http://alice:@h/Pw0rd"}) {
    auto r = validate_remote_name(bad);
    EXPECT_EQ(r.code(), hr::E_INVALIDARG) << bad;
    EXPECT_NE(r.status().message().find("/setcredentials"), std::string::npos);
    EXPECT_EQ(r.status().message().find("Pw0rd"), std::string::npos);
    EXPECT_EQ(r.status().message().find("alice"), std::string::npos);
  }
  EXPECT_TRUE(validate_remote_name("http://h/mail@example.org").ok());  // '@' in the path
  EXPECT_TRUE(validate_remote_name("http://h/f?to=a@b").ok());
  ProxySettings proxy{ProxyUsage::kOverride, "http://bob:Pw0rd@proxy:3128", std::nullopt};
  Status s = validate_proxy_settings(proxy);
  EXPECT_EQ(s.code(), hr::E_INVALIDARG);
  EXPECT_EQ(s.message().find("Pw0rd"), std::string::npos);
}

TEST(ValidationTest, ControlCharactersInJobTextsAreRefused) {
  EXPECT_TRUE(validate_job_text("nightly build \xE2\x9C\x93", "display name").ok());
  for (const char* bad : {"a\nuid 0 takes ownership", "a\tb", "\x1b[31m", "x\x7f", "\r"}) {
    Status s = validate_job_text(bad, "description");
    EXPECT_EQ(s.code(), hr::E_INVALIDARG) << bad;
    EXPECT_NE(s.message().find("description"), std::string::npos);
  }
}

TEST(ValidationTest, LocalNamesMustBeAbsoluteAndNormalised) {
  EXPECT_TRUE(validate_local_name("/tmp/a file.bin").ok());
  for (const char* bad :
       {"", "a", "./a", "/tmp/../etc/x", "/tmp//x", "/tmp/", "/tmp/./x", "/tmp/*", "/tmp/a\nb"}) {
    EXPECT_EQ(validate_local_name(bad).code(), hr::E_INVALIDARG) << bad;
  }
  EXPECT_EQ(validate_local_name("/" + std::string(260, 'a')).code(), hr::E_INVALIDARG);
}

TEST(ValidationTest, RangesFollowBitsRules) {
  EXPECT_EQ(validate_ranges({}, 500).code(), hr::E_INVALIDARG);
  EXPECT_TRUE(validate_ranges({{0, 100}, {2000, 100}, {5000, kLengthToEof}}, 500).ok());
  EXPECT_EQ(validate_ranges({{100, 0}, {100, 5}}, 500).code(), hr::BG_E_OVERLAPPING_RANGES);
  EXPECT_TRUE(validate_ranges({{100, 5}, {100, 0}}, 500).ok());
  EXPECT_EQ(validate_ranges({{0, 100}, {50, 10}}, 500).code(), hr::BG_E_OVERLAPPING_RANGES);
  EXPECT_EQ(validate_ranges({{0, kLengthToEof}, {50, 10}}, 500).code(),
            hr::BG_E_OVERLAPPING_RANGES);
  EXPECT_EQ(validate_ranges({{kLengthToEof, 1}}, 500).code(), hr::BG_E_INVALID_RANGE);
  std::vector<FileRange> many(501);
  for (std::size_t i = 0; i < many.size(); ++i) many[i] = {i * 10, 5};
  EXPECT_EQ(validate_ranges(many, 500).code(), hr::BG_E_TOO_MANY_RANGES_IN_FILE);
  EXPECT_TRUE(validate_ranges(many, 0).ok());
}

TEST(ValidationTest, NotifyFlagsOutsideTheKnownBitsAreNotImplemented) {
  EXPECT_TRUE(validate_notify_flags(0x3F).ok());
  EXPECT_EQ(validate_notify_flags(0x40).code(), hr::E_NOTIMPL);
}

TEST(ValidationTest, NotifyCommandLineRules) {
  EXPECT_TRUE(validate_notify_cmd_line(std::nullopt, std::nullopt).ok());
  EXPECT_EQ(validate_notify_cmd_line(std::nullopt, "x").code(), hr::E_INVALIDARG);
  EXPECT_EQ(validate_notify_cmd_line("notify", std::nullopt).code(), hr::E_INVALIDARG);
  EXPECT_TRUE(validate_notify_cmd_line("/bin/echo", "/bin/echo a b").ok());
  EXPECT_TRUE(validate_notify_cmd_line("/opt/my app/n", "\"/opt/my app/n\" x").ok());
  EXPECT_EQ(validate_notify_cmd_line("/bin/echo", "/bin/cat a").code(), hr::E_INVALIDARG);
  EXPECT_EQ(validate_notify_cmd_line("/bin/echo", "/bin/echo " + std::string(4000, 'a')).code(),
            hr::BG_E_STRING_TOO_LONG);
}

TEST(ValidationTest, ProxySettingsRules) {
  EXPECT_TRUE(validate_proxy_settings({ProxyUsage::kPreconfig, {}, {}}).ok());
  EXPECT_EQ(validate_proxy_settings({ProxyUsage::kNoProxy, "p:80", {}}).code(), hr::E_INVALIDARG);
  EXPECT_EQ(validate_proxy_settings({ProxyUsage::kOverride, {}, {}}).code(), hr::E_INVALIDARG);
  EXPECT_TRUE(validate_proxy_settings({ProxyUsage::kOverride, "p:80", "<local>"}).ok());
  EXPECT_EQ(validate_proxy_settings({ProxyUsage::kOverride, std::string(4001, 'p'), {}}).code(),
            hr::BG_E_PROXY_LIST_TOO_LARGE);
  EXPECT_EQ(validate_proxy_settings({ProxyUsage::kOverride, "p", std::string(4001, 'b')}).code(),
            hr::BG_E_PROXY_BYPASS_LIST_TOO_LARGE);
  EXPECT_EQ(validate_proxy_settings({static_cast<ProxyUsage>(9), {}, {}}).code(), hr::E_NOTIMPL);
}

TEST(ValidationTest, SecurityFlagsAndHeaders) {
  EXPECT_TRUE(validate_security_flags(0x1 | 0x100 | 0x800).ok());
  EXPECT_EQ(validate_security_flags(0x300).code(), hr::E_NOTIMPL);
  EXPECT_EQ(validate_security_flags(0x1000).code(), hr::E_NOTIMPL);
  EXPECT_TRUE(validate_custom_headers("A: b\r\nC: d\r\n").ok());
  EXPECT_EQ(validate_custom_headers("no colon\r\n").code(), hr::E_INVALIDARG);
  EXPECT_EQ(validate_custom_headers(std::string(16384, 'a')).code(), hr::BG_E_STRING_TOO_LONG);
  EXPECT_TRUE(validate_http_method("PROPFIND").ok());
  EXPECT_EQ(validate_http_method("GET X").code(), hr::E_INVALIDARG);
}

}  // namespace
}  // namespace openbits::daemon
