// The table of job.set_property: one row per name, and which changes reach a running
// transfer. The HRESULTs of each property are tested through JobManager (legality_test.cc,
// limits_test.cc, job_manager_test.cc).
#include "src/daemon/core/job_property_table.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>

namespace openbits::daemon {
namespace {

TEST(JobPropertyTableTest, EveryNameHasExactlyOneRowWithACheckAndASetter) {
  std::set<std::string_view> names;
  for (const JobProperty& property : job_properties()) {
    EXPECT_TRUE(names.insert(property.name).second) << property.name;
    EXPECT_NE(property.check, nullptr) << property.name;
    EXPECT_NE(property.set, nullptr) << property.name;
    EXPECT_EQ(find_job_property(property.name), &property) << property.name;
  }
  EXPECT_EQ(names.size(), 20u);
}

TEST(JobPropertyTableTest, UnknownNamesHaveNoRow) {
  EXPECT_EQ(find_job_property("no_such_property"), nullptr);
  EXPECT_EQ(find_job_property(""), nullptr);
  EXPECT_EQ(find_job_property("Priority"), nullptr);  // names are case-sensitive
}

// bits-spec §1.4: what every request of a file carries restarts a running file.
TEST(JobPropertyTableTest, ProxySecurityFlagsAndHeadersRestartTheTransferPriorityReschedules) {
  std::set<std::string_view> restarts;
  std::set<std::string_view> reschedules;
  for (const JobProperty& property : job_properties()) {
    if (property.effect == PropertyEffect::kRestartsTransfer) restarts.insert(property.name);
    if (property.effect == PropertyEffect::kReschedules) reschedules.insert(property.name);
  }
  EXPECT_EQ(restarts, (std::set<std::string_view>{"proxy", "security_flags", "custom_headers"}));
  EXPECT_EQ(reschedules, std::set<std::string_view>{"priority"});
}

TEST(JobPropertyTableTest, AWrongValueTypeThrowsBeforeTheJobChanges) {
  Config config;
  Caller caller;
  JobRecord job;
  job.info.display_name = "before";
  PropertyTarget target{config, caller, job};
  const JobProperty* display_name = find_job_property("display_name");
  ASSERT_NE(display_name, nullptr);
  EXPECT_THROW((void)display_name->check(target, nlohmann::json(5)), nlohmann::json::exception);
  const JobProperty* retry = find_job_property("minimum_retry_delay");
  ASSERT_NE(retry, nullptr);
  std::uint32_t delay = job.info.minimum_retry_delay;
  EXPECT_THROW(retry->set(target, nlohmann::json("soon")), nlohmann::json::exception);
  EXPECT_EQ(job.info.display_name, "before");
  EXPECT_EQ(job.info.minimum_retry_delay, delay);
}

}  // namespace
}  // namespace openbits::daemon
