// manager.enum_jobs by pages (issue 16): cursors walk the queue in creation order without
// duplicates while jobs come and go, and a bad page request is a clear error.
#include <gtest/gtest.h>

#include <set>

#include "src/daemon/rpc/dispatcher.h"
#include "src/protocol/rpc.h"
#include "tests/support/daemon_fixture.h"

namespace openbits::daemon::testing {
namespace {

using nlohmann::json;

class DispatcherEnumTest : public DaemonTest {
 protected:
  void SetUp() override {
    config.max_description = 70000;  // a few long jobs fill a page
    DaemonTest::SetUp();
    dispatcher = std::make_unique<Dispatcher>(*manager);
  }
  json call(const std::string& method, json params) {
    json request = {{"jsonrpc", "2.0"}, {"id", ++id}, {"method", method}, {"params", params}};
    auto line = dispatcher->handle_line(me, request.dump());
    EXPECT_TRUE(line.has_value());
    return json::parse(*line);
  }
  std::string create(const std::string& name) {
    json r = call("manager.create_job", {{"display_name", name}, {"type", "DOWNLOAD"}});
    return r["result"]["job_id"].get<std::string>();
  }
  json page(const std::string& cursor, int limit) {
    return call("manager.enum_jobs", {{"cursor", cursor}, {"limit", limit}});
  }
  static std::vector<std::string> names(const json& reply) {
    std::vector<std::string> out;
    for (const json& job : reply["result"]["jobs"]) out.push_back(job["display_name"]);
    return out;
  }
  HRESULT error_of(const json& reply) { return reply["error"]["data"]["hresult"]; }

  Caller me = user_caller();
  std::unique_ptr<Dispatcher> dispatcher;
  int id = 0;
};

TEST_F(DispatcherEnumTest, PagesListEveryJobOnceInCreationOrder) {
  for (int i = 0; i < 5; ++i) create("j" + std::to_string(i));
  json first = page("", 2);
  EXPECT_EQ(names(first), (std::vector<std::string>{"j0", "j1"}));
  json second = page(first["result"]["next"], 2);
  EXPECT_EQ(names(second), (std::vector<std::string>{"j2", "j3"}));
  json last = page(second["result"]["next"], 2);
  EXPECT_EQ(names(last), (std::vector<std::string>{"j4"}));
  EXPECT_FALSE(last["result"].contains("next"));
}

TEST_F(DispatcherEnumTest, JobsCreatedAndCancelledBetweenPagesAreNeitherRepeatedNorFatal) {
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(create("j" + std::to_string(i)));
  json first = page("", 2);
  call("job.cancel", {{"job_id", ids[1]}});  // already listed
  call("job.cancel", {{"job_id", ids[2]}});  // not yet listed
  create("j4");
  json rest = page(first["result"]["next"], 10);
  EXPECT_EQ(names(rest), (std::vector<std::string>{"j3", "j4"}));
  EXPECT_FALSE(rest["result"].contains("next"));
}

TEST_F(DispatcherEnumTest, CursorPastTheEndListsNothing) {
  create("j0");
  std::string last = create("j1");
  json first = page("", 1);
  ASSERT_TRUE(first["result"].contains("next"));
  call("job.cancel", {{"job_id", last}});
  json end = page(first["result"]["next"], 1);
  EXPECT_TRUE(end["result"]["jobs"].empty());
  EXPECT_FALSE(end["result"].contains("next"));
  EXPECT_TRUE(page("", 1)["result"]["jobs"].size() == 1u);
}

TEST_F(DispatcherEnumTest, BadCursorIsAClearError) {
  create("j0");
  create("j1");
  for (const char* bad : {"nonsense", "x:", "x:12", ":1"}) {
    json r = page(bad, 1);
    EXPECT_EQ(error_of(r), hr::E_INVALIDARG) << bad;
    EXPECT_NE(r["error"]["message"].get<std::string>().find("cursor"), std::string::npos) << bad;
  }
  std::string next = page("", 1)["result"].value("next", std::string());
  Dispatcher restarted(*manager);  // another run of bitsd: its ranks mean something else
  json request = {{"jsonrpc", "2.0"},
                  {"id", 1},
                  {"method", "manager.enum_jobs"},
                  {"params", {{"cursor", next}}}};
  json r = json::parse(*restarted.handle_line(me, request.dump()));
  EXPECT_EQ(error_of(r), hr::E_INVALIDARG);
  EXPECT_NE(r["error"]["message"].get<std::string>().find("earlier run"), std::string::npos);
}

TEST_F(DispatcherEnumTest, MalformedPageRequestIsRefused) {
  create("j0");
  EXPECT_EQ(error_of(page("", 0)), hr::E_INVALIDARG);
  json number_cursor = call("manager.enum_jobs", {{"cursor", 5}});
  EXPECT_EQ(number_cursor["error"]["code"], rpc::kInvalidParams);
  json text_limit = call("manager.enum_jobs", {{"cursor", ""}, {"limit", "ten"}});
  EXPECT_EQ(text_limit["error"]["code"], rpc::kInvalidParams);
}

TEST_F(DispatcherEnumTest, APageStaysUnderTheMessageLimit) {
  // Long names and descriptions: few jobs fill a page's byte budget.
  std::string description(60000, 'd');
  std::set<std::string> listed;
  for (int i = 0; i < 40; ++i) {
    std::string job = create("j" + std::to_string(i));
    call("job.set_property", {{"job_id", job}, {"name", "description"}, {"value", description}});
  }
  std::string cursor;
  int pages = 0;
  for (;; ++pages) {
    json request = {{"jsonrpc", "2.0"},
                    {"id", 1},
                    {"method", "manager.enum_jobs"},
                    {"params", {{"cursor", cursor}}}};
    std::string line = *dispatcher->handle_line(me, request.dump());
    EXPECT_LT(line.size(), rpc::kMaxMessageBytes);
    json reply = json::parse(line);
    for (const std::string& name : names(reply)) EXPECT_TRUE(listed.insert(name).second);
    if (!reply["result"].contains("next")) break;
    cursor = reply["result"]["next"];
  }
  EXPECT_EQ(listed.size(), 40u);
  EXPECT_GT(pages, 1);
}

TEST_F(DispatcherEnumTest, WithoutACursorEveryJobComesInOneReply) {
  for (int i = 0; i < 3; ++i) create("j" + std::to_string(i));
  json r = call("manager.enum_jobs", json::object());
  EXPECT_EQ(r["result"]["jobs"].size(), 3u);
  EXPECT_FALSE(r["result"].contains("next"));
}

}  // namespace
}  // namespace openbits::daemon::testing
