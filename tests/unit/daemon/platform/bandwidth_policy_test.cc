// The bandwidth policy's config keys: what they accept, what stops bitsd at start-up
// (naming the key), and which limits are in force at a given local week time.
#include "src/daemon/platform/bandwidth_policy.h"

#include <gtest/gtest.h>

#include <fstream>

#include "src/daemon/platform/config.h"
#include "tests/support/temp_dir.h"

namespace openbits::daemon {
namespace {

constexpr int kSun = 0;
constexpr int kMon = 1;
constexpr int kFri = 5;
constexpr int kSat = 6;

std::int32_t at(int h, int m = 0) { return h * 3600 + m * 60; }

class BandwidthPolicyTest : public ::testing::Test {
 protected:
  Result<Config> load(const std::string& json) {
    std::ofstream(path, std::ios::trunc) << json;
    return load_config(path);
  }
  std::string refusal(const std::string& json) {
    auto config = load(json);
    EXPECT_EQ(config.code(), hr::E_INVALIDARG) << json;
    std::string prefix = "config " + path + ": ";
    if (config.ok()) return {};
    std::string message = config.status().message();
    return message.rfind(prefix, 0) == 0 ? message.substr(prefix.size()) : message;
  }
  test::TempDir dir;
  std::string path = dir.path() + "/bitsd.json";
};

TEST_F(BandwidthPolicyTest, AWorkScheduleWithMaintenanceIsRead) {
  auto config = load(R"({
    "bandwidth_limits": {"normal": 1000000, "LOW": 0},
    "bandwidth_windows": [{"days": ["mon-fri"], "from": "08:00", "to": "17:30",
                           "limits": {"high": 500000, "normal": 100000, "low": 100}}],
    "bandwidth_maintenance": {"days": "sun", "from": "02:00", "to": "04:00:30", "limits": {}}})");
  ASSERT_TRUE(config.ok()) << config.status().message();
  const BandwidthPolicy& p = config->bandwidth;
  EXPECT_EQ(p.outside.normal, std::optional<std::uint64_t>(1000000));
  EXPECT_EQ(p.outside.low, std::optional<std::uint64_t>(0));
  EXPECT_FALSE(p.outside.high);
  ASSERT_EQ(p.windows.size(), 1u);
  EXPECT_EQ(p.windows[0].days, 0b0111110);
  EXPECT_EQ(p.windows[0].from_s, at(8));
  EXPECT_EQ(p.windows[0].to_s, at(17, 30));
  EXPECT_EQ(p.windows[0].limits.low, std::optional<std::uint64_t>(256));  // BITS's floor
  ASSERT_TRUE(p.maintenance);
  EXPECT_EQ(p.maintenance->to_s, at(4) + 30);
  EXPECT_EQ(p.maintenance->limits, PriorityLimits{});
}

TEST_F(BandwidthPolicyTest, MalformedPoliciesStopStartUpNamingTheKey) {
  std::string window = R"("days": "mon", "from": "08:00", "to": "17:00")";
  EXPECT_EQ(refusal(R"({"bandwidth_windows": [{)" + window + R"(},
                        {"days": ["sun", "mon"], "from": "16:00", "to": "18:00"}]})"),
            "bandwidth_windows[1]: overlaps bandwidth_windows[0]");
  EXPECT_EQ(refusal(R"({"bandwidth_windows": [{"days": "mon", "from": "25:00", "to": "26:00"}]})"),
            "bandwidth_windows[0].from: must be a time of day HH:MM or HH:MM:SS from 00:00 to "
            "23:59:59, not '25:00'");
  EXPECT_EQ(refusal(R"({"bandwidth_windows": [{"days": "mon", "from": "08:00", "to": "8:60"}]})"),
            "bandwidth_windows[0].to: must be a time of day HH:MM or HH:MM:SS from 00:00 to "
            "24:00, not '8:60'");
  EXPECT_EQ(refusal(R"({"bandwidth_limits": {"normal": -5}})"),
            "bandwidth_limits.normal: must be a limit in bytes per second (0 or more) or null "
            "(unlimited)");
  EXPECT_EQ(refusal(R"({"bandwidth_limits": {"urgent": 5}})"),
            "bandwidth_limits: unknown priority 'urgent' (high, normal or low)");
  EXPECT_EQ(refusal(R"({"bandwidth_limits": {"foreground": 5}})"),
            "bandwidth_limits: foreground jobs are never limited");
  EXPECT_EQ(refusal(R"({"bandwidth_maintenance": {"days": "someday", "from": "01:00",
                        "to": "02:00"}})"),
            "bandwidth_maintenance.days: unknown day 'someday' (sun, mon, ... sat, or a range "
            "mon-fri)");
  EXPECT_EQ(refusal(R"({"bandwidth_windows": [{"days": "mon", "from": "08:00", "to": "08:00"}]})"),
            "bandwidth_windows[0]: from and to are the same time");
  EXPECT_EQ(refusal(R"({"bandwidth_windows": [{"days": "mon", "from": "08:00"}]})"),
            "bandwidth_windows[0]: needs days, from and to");
  EXPECT_EQ(refusal(R"({"bandwidth_windows": [{)" + window + R"(, "limit": {}}]})"),
            "bandwidth_windows[0]: unknown field 'limit' (days, from, to, limits)");
}

// A Saturday window from 22:00 to 06:00 runs into Sunday morning, across the week's end.
TEST_F(BandwidthPolicyTest, AWindowPastMidnightEndsOnTheNextDay) {
  BandwidthWindow w{1u << kSat, at(22), at(6), {}};
  EXPECT_FALSE(w.contains(kSat, at(21, 59)));
  EXPECT_TRUE(w.contains(kSat, at(22)));
  EXPECT_TRUE(w.contains(kSun, at(5, 59)));
  EXPECT_FALSE(w.contains(kSun, at(6)));
  EXPECT_FALSE(w.contains(kSun, at(23)));  // Sunday is not a day it starts on
  // It overlaps a Sunday morning window, so both cannot be configured together.
  EXPECT_EQ(refusal(R"({"bandwidth_windows": [
                {"days": "sat", "from": "22:00", "to": "06:00"},
                {"days": "sun", "from": "05:00", "to": "07:00"}]})"),
            "bandwidth_windows[1]: overlaps bandwidth_windows[0]");
  EXPECT_TRUE(load(R"({"bandwidth_windows": [
                {"days": "sat", "from": "22:00", "to": "06:00"},
                {"days": "sun", "from": "06:00", "to": "24:00"}]})")
                  .ok());
}

TEST_F(BandwidthPolicyTest, MaintenanceOverridesWindowsWhichOverrideTheDefault) {
  BandwidthPolicy p;
  p.outside.normal = 3000;
  p.windows.push_back({0b0111110, at(8), at(17), {std::nullopt, 2000, std::nullopt}});
  p.maintenance = BandwidthWindow{1u << kFri, at(12), at(13), {std::nullopt, 0, std::nullopt}};
  auto normal_at = [&](int day, std::int32_t second) {
    return limits_in_force(p, {day, second}).limits.normal;
  };
  EXPECT_EQ(normal_at(kMon, at(7)), std::optional<std::uint64_t>(3000));
  EXPECT_EQ(normal_at(kMon, at(12)), std::optional<std::uint64_t>(2000));
  EXPECT_EQ(normal_at(kFri, at(12, 30)), std::optional<std::uint64_t>(0));
  EXPECT_EQ(limits_in_force(p, {kFri, at(12, 30)}).source, LimitsInForce::Source::kMaintenance);
  EXPECT_EQ(normal_at(kFri, at(13)), std::optional<std::uint64_t>(2000));
  EXPECT_EQ(normal_at(kSat, at(12)), std::optional<std::uint64_t>(3000));
  EXPECT_FALSE(limits_in_force(p, {kMon, at(12)}).limits.of(JobPriority::kForeground));
}

}  // namespace
}  // namespace openbits::daemon
