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
  EXPECT_EQ(names.size(), 42u);
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

}  // namespace
}  // namespace openbits::daemon
