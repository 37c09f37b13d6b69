// The table of config keys: one documented row per key, and the limits load_config
// enforces through it, with the messages bitsd prints when it refuses to start.
#include "src/daemon/platform/config_keys.h"

#include <fstream>
#include <set>

#include "tests/support/daemon_fixture.h"

namespace openbits::daemon {
namespace {

class ConfigKeysTest : public ::testing::Test {
 protected:
  Result<Config> load(const std::string& json) {
    std::ofstream(path, std::ios::trunc) << json;
    return load_config(path);
  }
  std::string refusal(const std::string& json) {
    auto config = load(json);
    EXPECT_EQ(config.code(), hr::E_INVALIDARG) << json;
    return config.ok() ? std::string() : config.status().message();
  }
  testing::TempDir dir;
  std::string path = dir.path() + "/bitsd.json";
};

TEST_F(ConfigKeysTest, EveryKeyHasOneRowWithATypeAReaderAndADocLine) {
  std::set<std::string_view> names;
  for (const ConfigKey& key : config_keys()) {
    EXPECT_TRUE(names.insert(key.name).second) << key.name;
    EXPECT_FALSE(key.type.empty()) << key.name;
    EXPECT_FALSE(key.doc.empty()) << key.name;
    EXPECT_NE(key.read, nullptr) << key.name;
    EXPECT_EQ(find_config_key(key.name), &key) << key.name;
  }
  EXPECT_EQ(names.size(), 52u);
  EXPECT_EQ(find_config_key("no_such_key"), nullptr);
}

TEST_F(ConfigKeysTest, ValuesOutsideTheLimitsAreRefusedNamingTheKey) {
  std::string prefix = "config " + path + ": ";
  EXPECT_EQ(refusal(R"({"max_connections": 0})"), prefix + "max_connections must be >= 1");
  EXPECT_EQ(refusal(R"({"max_local_name": 4096})"),
            prefix + "max_local_name must be <= 4095 (PATH_MAX)");
  EXPECT_EQ(refusal(R"({"checkpoint_interval_ms": 0})"),
            prefix + "checkpoint_bytes and checkpoint_interval_ms must be >= 1");
  EXPECT_EQ(refusal(R"({"stall_timeout_s": -3})"), prefix + "stall_timeout_s must not be negative");
  EXPECT_EQ(refusal(R"({"no_such_key": 1})"), prefix + "unknown key 'no_such_key'");
  EXPECT_EQ(refusal(R"({"max_local_name": 4095, "admin_group": "no-such-group-here"})"),
            prefix + "admin_group: unknown group");
}

// A number too large for a signed field wraps to a negative one: still below the minimum.
TEST_F(ConfigKeysTest, AHugeNumberForASignedFieldIsBelowItsMinimum) {
  EXPECT_EQ(refusal(R"({"stall_timeout_s": 18446744073709551615})"),
            "config " + path + ": stall_timeout_s must be >= 1");
}

TEST_F(ConfigKeysTest, EachKindOfKeyReachesItsField) {
  auto config = load(R"({"max_jobs_per_user": 7, "stall_timeout_s": 9, "notify_system_uids": false,
                          "cert_store_user_dir": "/u", "tls_ca_file": "/ca", "admin_group": 4321,
                          "max_local_name": 4095})");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->max_jobs_per_user, 7u);
  EXPECT_EQ(config->stall_timeout_s, 9);
  EXPECT_FALSE(config->notify_system_uids);
  EXPECT_EQ(config->cert_stores.user, "/u");
  EXPECT_EQ(config->tls_ca_file, "/ca");
  EXPECT_EQ(config->admin_gid, gid_t{4321});
  EXPECT_EQ(config->max_local_name, 4095u);
}

TEST_F(ConfigKeysTest, PeerCachingFlagsArePresentOnlyWhenTheFileSetsThem) {
  auto unset = load("{}");
  ASSERT_TRUE(unset.ok());
  EXPECT_FALSE(unset->peer_caching_flags);
  auto set = load(R"({"peer_caching_flags": 0})");
  ASSERT_TRUE(set.ok()) << set.status().message();
  EXPECT_EQ(set->peer_caching_flags, std::optional<std::uint32_t>(0));
  EXPECT_EQ(refusal(R"({"peer_caching_flags": 4})"),
            "config " + path + ": peer_caching_flags must be <= 3");
}

TEST_F(ConfigKeysTest, PeerKeysHaveBitsDefaults) {
  auto config = load("{}");
  ASSERT_TRUE(config.ok());
  EXPECT_TRUE(config->peer_listen.empty());
  EXPECT_TRUE(config->peers.empty());
  EXPECT_TRUE(config->peer_discovery);
  EXPECT_EQ(config->peer_multicast_group, "239.255.66.77:7377");
  EXPECT_EQ(config->peer_max_clients, 3u);
  EXPECT_EQ(config->peer_max_serve_bytes_per_s, 0u);
}

TEST_F(ConfigKeysTest, PeerKeysReachTheirFields) {
  auto config = load(R"({"peer_listen": "[::1]:0", "peers": ["h1.lan:7378", "10.0.0.2:1"],
                          "peer_ca_file": "/ca.pem", "peer_cert_file": "/c.pem",
                          "peer_key_file": "/k.pem", "peer_discovery": "none",
                          "peer_multicast_group": "239.255.1.2:9000", "peer_max_clients": 64,
                          "peer_max_serve_bytes_per_s": 1000000})");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->peer_listen, "[::1]:0");
  EXPECT_EQ(config->peers, (std::vector<std::string>{"h1.lan:7378", "10.0.0.2:1"}));
  EXPECT_EQ(config->peer_ca_file, "/ca.pem");
  EXPECT_EQ(config->peer_cert_file, "/c.pem");
  EXPECT_EQ(config->peer_key_file, "/k.pem");
  EXPECT_FALSE(config->peer_discovery);
  EXPECT_EQ(config->peer_multicast_group, "239.255.1.2:9000");
  EXPECT_EQ(config->peer_max_clients, 64u);
  EXPECT_EQ(config->peer_max_serve_bytes_per_s, 1000000u);
}

TEST_F(ConfigKeysTest, BadPeerValuesAreRefusedNamingTheKey) {
  std::string prefix = "config " + path + ": ";
  EXPECT_EQ(refusal(R"({"peer_listen": "host.lan:80"})"),
            prefix + "peer_listen must be \"ADDR:PORT\" with an IP address, not 'host.lan:80'");
  EXPECT_EQ(refusal(R"({"peer_listen": "10.0.0.1:65536"})"),
            prefix + "peer_listen must be \"ADDR:PORT\" with an IP address, not '10.0.0.1:65536'");
  EXPECT_EQ(refusal(R"({"peer_listen": "::1:80"})"),
            prefix + "peer_listen must be \"ADDR:PORT\" with an IP address, not '::1:80'");
  EXPECT_EQ(refusal(R"({"peers": "10.0.0.1:80"})"),
            prefix + "peers must be a list of \"host:port\"");
  EXPECT_EQ(refusal(R"({"peers": ["10.0.0.1:0"]})"),
            prefix + "peers must be a list of \"host:port\", not '10.0.0.1:0'");
  EXPECT_EQ(refusal(R"({"peers": ["a b:80"]})"),
            prefix + "peers must be a list of \"host:port\", not 'a b:80'");
  EXPECT_EQ(refusal(R"({"peer_discovery": "broadcast"})"),
            prefix + "peer_discovery must be \"multicast\" or \"none\", not 'broadcast'");
  EXPECT_EQ(refusal(R"({"peer_multicast_group": "10.1.2.3:7377"})"),
            prefix +
                "peer_multicast_group must be \"ADDR:PORT\" with an IPv4 multicast address, not "
                "'10.1.2.3:7377'");
  EXPECT_EQ(refusal(R"({"peer_max_clients": 0})"), prefix + "peer_max_clients must be >= 1");
  EXPECT_EQ(refusal(R"({"peer_max_clients": 65})"), prefix + "peer_max_clients must be <= 64");
  EXPECT_EQ(refusal(R"({"peer_max_serve_bytes_per_s": -1})"),
            prefix + "peer_max_serve_bytes_per_s must not be negative");
  EXPECT_NE(refusal(R"({"peer_max_clients": "3"})").find("wrong type"), std::string::npos);
}

TEST_F(ConfigKeysTest, AServerOrStaticPeersWithoutTheTlsFilesNameTheMissingKey) {
  std::string prefix = "config " + path + ": ";
  EXPECT_EQ(refusal(R"({"peer_listen": "127.0.0.1:0"})"),
            prefix + "peer_listen needs peer_ca_file");
  EXPECT_EQ(refusal(R"({"peer_listen": "127.0.0.1:0", "peer_ca_file": "/ca"})"),
            prefix + "peer_listen needs peer_cert_file");
  EXPECT_EQ(refusal(R"({"peers": ["10.0.0.1:7"], "peer_ca_file": "/ca", "peer_cert_file": "/c"})"),
            prefix + "peers needs peer_key_file");
  // Discovery alone, with neither a server nor static peers, needs nothing.
  EXPECT_TRUE(load(R"({"peer_discovery": "multicast"})").ok());
}

}  // namespace
}  // namespace openbits::daemon
