// Validation of remote names, local names, ranges and property values: exact HRESULTs.
#include "src/daemon/validation.h"

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
