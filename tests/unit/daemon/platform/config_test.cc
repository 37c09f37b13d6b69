// The notification settings of the config file: their defaults and what is refused.
#include "src/daemon/platform/config.h"

#include <fstream>

#include "tests/support/daemon_fixture.h"

namespace openbits::daemon {
namespace {

class ConfigTest : public ::testing::Test {
 protected:
  Result<Config> load(const std::string& json) {
    std::ofstream(path, std::ios::trunc) << json;
    return load_config(path);
  }
  testing::TempDir dir;
  std::string path = dir.path() + "/bitsd.json";
};

TEST_F(ConfigTest, NotificationDefaultsTreatNobodyAsASystemAccountAndLimitProgramsToTenMinutes) {
  auto config = load("{}");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->first_user_uid, 1000u);
  EXPECT_EQ(config->system_uids, std::vector<uid_t>{65534});
  EXPECT_TRUE(config->notify_system_uids);  // their programs run, as BITS runs a service's
  EXPECT_TRUE(is_system_uid(*config, 0));
  EXPECT_TRUE(is_system_uid(*config, 65534));
  EXPECT_FALSE(is_system_uid(*config, 1000));
  EXPECT_EQ(config->notify_program_timeout_ms, 600'000);
  EXPECT_EQ(config->max_notifications_per_user, 4u);
}

TEST_F(ConfigTest, SystemUidsAndProgramTimeLimitAreRead) {
  auto config = load(R"({"system_uids": [], "notify_program_timeout_ms": 1500})");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_TRUE(config->system_uids.empty());
  EXPECT_EQ(config->notify_program_timeout_ms, 1500);
  config = load(R"({"system_uids": [65534, 4000]})");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->system_uids, (std::vector<uid_t>{65534, 4000}));
}

TEST_F(ConfigTest, BadSystemUidsOrProgramTimeLimitAreRefused) {
  for (const char* bad :
       {R"({"system_uids": 65534})", R"({"system_uids": [-1]})", R"({"system_uids": ["nobody"]})",
        R"({"system_uids": [4294967295]})", R"({"notify_program_timeout_ms": 0})",
        R"({"notify_program_timeout_ms": -5})"}) {
    auto config = load(bad);
    EXPECT_EQ(config.code(), hr::E_INVALIDARG) << bad;
    EXPECT_NE(config.status().message().find(path), std::string::npos) << bad;
  }
}

}  // namespace
}  // namespace openbits::daemon
