// The proxy a request takes for each proxy usage, and the list rules of bits-spec §3.7.
#include "src/daemon/transfer/proxy_config.h"

#include <gtest/gtest.h>

namespace openbits::daemon {
namespace {

ProxyContext with(ProxyUsage usage, std::optional<std::string> list = std::nullopt,
                  std::optional<std::string> bypass = std::nullopt) {
  ProxyContext c;
  c.settings = {usage, std::move(list), std::move(bypass)};
  return c;
}

std::string proxy_for(const ProxyContext& c, const std::string& url) {
  auto d = decide_proxy(c, url);
  EXPECT_TRUE(d.ok()) << d.status().message();
  return d.ok() ? d->proxy : "<error>";
}

TEST(ProxyConfigTest, NoProxyIgnoresTheEnvironment) {
  ProxyContext c = with(ProxyUsage::kNoProxy);
  c.owner_environment = {{"http_proxy", "http://env:3128"}};
  c.system_proxy = "system:8080";
  EXPECT_EQ(proxy_for(c, "http://origin.example/f"), "");
}

TEST(ProxyConfigTest, OverridePicksTheEntryForTheUrlScheme) {
  ProxyContext c =
      with(ProxyUsage::kOverride, "http=plain:8080 https=https://secure:8443 fallback:3128", "");
  EXPECT_EQ(proxy_for(c, "http://origin.example/f"), "http://plain:8080");
  EXPECT_EQ(proxy_for(c, "https://origin.example/f"), "https://secure:8443");
  ProxyContext general = with(ProxyUsage::kOverride, "fallback:3128;other:1", "");
  EXPECT_EQ(proxy_for(general, "https://origin.example/f"), "http://fallback:3128");
  ProxyContext http_only = with(ProxyUsage::kOverride, "http=plain:8080", "");
  EXPECT_EQ(proxy_for(http_only, "https://origin.example/f"), "");  // no entry: direct
}

TEST(ProxyConfigTest, BypassListGoesDirect) {
  ProxyContext c = with(ProxyUsage::kOverride, "proxy:3128", "<local> *.internal.example 10.1.2.3");
  EXPECT_EQ(proxy_for(c, "http://intranet/f"), "");
  EXPECT_EQ(proxy_for(c, "http://files.internal.example/f"), "");
  EXPECT_EQ(proxy_for(c, "http://FILES.Internal.Example/f"), "");
  EXPECT_EQ(proxy_for(c, "http://10.1.2.3:8080/f"), "");
  EXPECT_EQ(proxy_for(c, "http://internal.example.org/f"), "http://proxy:3128");
  EXPECT_EQ(proxy_for(c, "http://origin.example/f"), "http://proxy:3128");
  EXPECT_EQ(proxy_for(c, "http://127.0.0.1/f"), "http://proxy:3128");  // has dots: not <local>
}

TEST(ProxyConfigTest, MalformedListsAreInvalidProxyInfoAtTransferTime) {
  for (const char* list : {"ftp=proxy:21", "http=", "proxy:0", "proxy:99999", "proxy:http",
                           "socks://proxy:1080", "user@proxy:3128", "[::1", "*:3128"}) {
    auto d = decide_proxy(with(ProxyUsage::kOverride, list, ""), "http://origin/f");
    ASSERT_FALSE(d.ok()) << list;
    EXPECT_EQ(d.status().code(), hr::BG_E_INVALID_PROXY_INFO) << list;
  }
  for (const char* bypass : {"in*valid.example", "a/b"}) {
    auto d = decide_proxy(with(ProxyUsage::kOverride, "proxy:3128", bypass), "http://origin/f");
    ASSERT_FALSE(d.ok()) << bypass;
    EXPECT_EQ(d.status().code(), hr::BG_E_INVALID_PROXY_INFO) << bypass;
  }
  auto empty = decide_proxy(with(ProxyUsage::kOverride, " ", ""), "http://origin/f");
  EXPECT_EQ(empty.status().code(), hr::BG_E_INVALID_PROXY_INFO);
}

TEST(ProxyConfigTest, WellFormedEntriesPass) {
  EXPECT_TRUE(check_proxy_lists("http=http://p:1 https=[::1]:3128 p2 p3:65535", "* <LOCAL>").ok());
}

TEST(ProxyConfigTest, PreconfigUsesTheOwnersEnvironmentThenTheMachineProxy) {
  ProxyContext c = with(ProxyUsage::kPreconfig);
  c.owner_environment = {{"http_proxy", "http://env-http:3128"},
                         {"https_proxy", "http://env-https:3128"},
                         {"no_proxy", "localhost,.corp"}};
  auto d = decide_proxy(c, "https://origin.example/f");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->proxy, "http://env-https:3128");
  EXPECT_EQ(d->no_proxy, "localhost,.corp");
  EXPECT_EQ(proxy_for(c, "http://origin.example/f"), "http://env-http:3128");
  ProxyContext all = with(ProxyUsage::kPreconfig);
  all.owner_environment = {{"all_proxy", "http://everything:1"}};
  EXPECT_EQ(proxy_for(all, "https://origin.example/f"), "http://everything:1");
  ProxyContext machine = with(ProxyUsage::kPreconfig);
  machine.system_proxy = "machine:8080";
  machine.system_bypass = "<local>";
  EXPECT_EQ(proxy_for(machine, "http://origin.example/f"), "http://machine:8080");
  EXPECT_EQ(proxy_for(machine, "http://intranet/f"), "");
  EXPECT_EQ(proxy_for(with(ProxyUsage::kPreconfig), "http://origin.example/f"), "");
}

TEST(ProxyConfigTest, AutodetectUsesTheResolversFirstUsableAnswer) {
  ProxyContext c = with(ProxyUsage::kAutodetect);
  auto d = decide_proxy(c, "http://origin/f", {"http://wpad-proxy:3128", "direct://"});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->proxy, "http://wpad-proxy:3128");
  d = decide_proxy(c, "http://origin/f", {"direct://"});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->proxy, "");
  d = decide_proxy(c, "http://origin/f", {});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->proxy, "");
}

}  // namespace
}  // namespace openbits::daemon
