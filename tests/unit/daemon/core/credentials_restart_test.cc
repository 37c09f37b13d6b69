// A running file was started with the job's credentials, headers, flags and owner of that
// moment: changing any of them starts it again (from its durable bytes) with the new ones.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/daemon_fixture.h"

namespace openbits::daemon::testing {
namespace {

AuthCredentials basic(const std::string& password) {
  return {AuthTarget::kServer, AuthScheme::kBasic, std::string("u"), password};
}

TEST_F(DaemonTest, ChangedCredentialsRestartTheRunningFileWithThem) {
  Caller owner = user_caller(1000);
  Guid id = job_in_state(JobState::kTransferring, owner);
  std::uint64_t first = backend.last_token();
  EXPECT_TRUE(backend.last().credentials.empty());
  ASSERT_TRUE(manager->set_credentials(owner, id, basic("new")).ok());
  EXPECT_EQ(backend.stopped, std::vector<std::uint64_t>{first});
  ASSERT_EQ(backend.started.size(), 2u);
  ASSERT_EQ(backend.last().credentials.size(), 1u);
  EXPECT_EQ(backend.last().credentials[0].password, std::optional<std::string>("new"));
  ASSERT_TRUE(manager->remove_credentials(owner, id, AuthTarget::kServer, AuthScheme::kBasic).ok());
  ASSERT_EQ(backend.started.size(), 3u);
  EXPECT_TRUE(backend.last().credentials.empty());
}

TEST_F(DaemonTest, SecurityFlagsHeadersAndProxyRestartTheRunningFile) {
  Caller owner = user_caller(1000);
  Guid id = job_in_state(JobState::kTransferring, owner);
  ASSERT_TRUE(manager->set_property(owner, id, "security_flags", nlohmann::json(1)).ok());
  EXPECT_EQ(backend.last().security_flags, 1u);
  ASSERT_TRUE(
      manager->set_property(owner, id, "custom_headers", nlohmann::json("X-A: b\r\n")).ok());
  EXPECT_EQ(backend.last().custom_headers, "X-A: b\r\n");
  ASSERT_TRUE(
      manager->set_property(owner, id, "proxy", nlohmann::json::parse(R"({"usage":"NO_PROXY"})"))
          .ok());
  EXPECT_EQ(backend.last().proxy.settings.usage, ProxyUsage::kNoProxy);
  EXPECT_EQ(backend.stopped.size(), 3u);
  // A property that does not change the requests leaves the file running.
  ASSERT_TRUE(manager->set_property(owner, id, "description", nlohmann::json("x")).ok());
  EXPECT_EQ(backend.stopped.size(), 3u);
}

TEST_F(DaemonTest, TakeOwnershipRestartsTheRunningFileAsTheNewOwnerWithoutSecrets) {
  Caller owner = user_caller(1000);
  Guid id = job_in_state(JobState::kTransferring, owner);
  ASSERT_TRUE(manager->set_credentials(owner, id, basic("old-owners")).ok());
  std::size_t starts = backend.started.size();
  ASSERT_TRUE(manager->take_ownership(root_caller(), id).ok());
  ASSERT_EQ(backend.started.size(), starts + 1);
  EXPECT_EQ(backend.last().owner.uid, 0u);
  EXPECT_TRUE(backend.last().credentials.empty());
}

}  // namespace
}  // namespace openbits::daemon::testing
