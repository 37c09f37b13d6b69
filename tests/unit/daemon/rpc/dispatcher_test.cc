// Dispatcher: JSON-RPC 2.0 framing rules, typed errors carrying HRESULTs, and ownership
// enforcement as seen over the wire (no sockets involved).
#include "src/daemon/rpc/dispatcher.h"

#include <gtest/gtest.h>

#include "openbits/names.h"
#include "src/protocol/rpc.h"
#include "tests/support/daemon_fixture.h"

namespace openbits::daemon::testing {
namespace {

using nlohmann::json;

class DispatcherTest : public DaemonTest {
 protected:
  void SetUp() override {
    DaemonTest::SetUp();
    dispatcher = std::make_unique<Dispatcher>(*manager);
  }
  json call(const Caller& caller, const std::string& method, json params) {
    json request = {{"jsonrpc", "2.0"}, {"id", ++id}, {"method", method}, {"params", params}};
    auto line = dispatcher->handle_line(caller, request.dump());
    EXPECT_TRUE(line.has_value());
    return json::parse(*line);
  }
  std::string create(const Caller& caller) {
    json r = call(caller, "manager.create_job", {{"display_name", "j"}, {"type", "DOWNLOAD"}});
    return r["result"]["job_id"].get<std::string>();
  }
  std::unique_ptr<Dispatcher> dispatcher;
  int id = 0;
};

TEST_F(DispatcherTest, CreateThenGetReturnsDefaults) {
  Caller me = user_caller();
  std::string job = create(me);
  json info = call(me, "manager.get_job", {{"job_id", job}})["result"];
  EXPECT_EQ(info["state"], "SUSPENDED");
  EXPECT_EQ(info["priority"], "NORMAL");
  EXPECT_EQ(info["notify_flags"], 3);
  EXPECT_EQ(info["minimum_retry_delay"], 600);
  EXPECT_EQ(info["no_progress_timeout"], 1209600);
  EXPECT_EQ(info["maximum_download_time"], 7776000);
  EXPECT_EQ(info["progress"]["bytes_total"], 0);
  EXPECT_EQ(info["owner"], "S-1-22-1-1000");
  EXPECT_TRUE(info["error"].is_null());
  EXPECT_TRUE(info["custom_headers"].is_null());
}

TEST_F(DispatcherTest, BitsFailureIsAnErrorWithTheHresult) {
  Caller me = user_caller();
  std::string job = create(me);
  json r = call(me, "job.resume", {{"job_id", job}});
  EXPECT_EQ(r["error"]["code"], static_cast<std::int32_t>(hr::BG_E_EMPTY));
  EXPECT_EQ(r["error"]["data"]["hresult"], hr::BG_E_EMPTY);
  EXPECT_FALSE(r["error"]["message"].get<std::string>().empty());
}

TEST_F(DispatcherTest, OtherUsersJobsAreInvisibleAndDenied) {
  std::string job = create(user_caller(1000));
  Caller other = user_caller(2000);
  EXPECT_EQ(call(other, "manager.get_job", {{"job_id", job}})["error"]["data"]["hresult"],
            hr::E_ACCESSDENIED);
  EXPECT_EQ(call(other, "job.cancel", {{"job_id", job}})["error"]["data"]["hresult"],
            hr::E_ACCESSDENIED);
  EXPECT_TRUE(call(other, "manager.enum_jobs", {{"all_users", false}})["result"]["jobs"].empty());
  EXPECT_EQ(call(other, "manager.enum_jobs", {{"all_users", true}})["error"]["data"]["hresult"],
            hr::E_ACCESSDENIED);
  json all = call(root_caller(), "manager.enum_jobs", {{"all_users", true}});
  EXPECT_EQ(all["result"]["jobs"].size(), 1u);
}

TEST_F(DispatcherTest, UnknownJobIsNotFound) {
  json r = call(user_caller(), "manager.get_job",
                {{"job_id", "{00000000-0000-0000-0000-000000000001}"}});
  EXPECT_EQ(r["error"]["data"]["hresult"], hr::BG_E_NOT_FOUND);
}

TEST_F(DispatcherTest, ProtocolErrorsUseJsonRpcCodes) {
  Caller me = user_caller();
  EXPECT_EQ(json::parse(*dispatcher->handle_line(me, "{nope"))["error"]["code"], rpc::kParseError);
  EXPECT_EQ(json::parse(*dispatcher->handle_line(me, "[1,2]"))["error"]["code"],
            rpc::kInvalidRequest);
  EXPECT_EQ(call(me, "no.such_method", json::object())["error"]["code"], rpc::kMethodNotFound);
  EXPECT_EQ(call(me, "manager.get_job", {{"job_id", 5}})["error"]["code"], rpc::kInvalidParams);
  EXPECT_EQ(call(me, "manager.get_job", {{"job_id", "{zz}"}})["error"]["code"],
            rpc::kInvalidParams);
  EXPECT_EQ(call(me, "manager.create_job",
                 {{"display_name", "x"}, {"type", "SIDEWAYS"}})["error"]["code"],
            rpc::kInvalidParams);
}

TEST_F(DispatcherTest, NotificationsGetNoResponse) {
  json note = {{"jsonrpc", "2.0"}, {"method", "daemon.version"}};
  EXPECT_FALSE(dispatcher->handle_line(user_caller(), note.dump()).has_value());
}

TEST_F(DispatcherTest, SuccessCodesOtherThanOkAreReturned) {
  Caller me = user_caller();
  Guid job = job_in_state(JobState::kSuspended, me);
  json r = call(me, "job.complete", {{"job_id", to_string(job)}});
  EXPECT_EQ(r["result"]["hresult"], hr::BG_S_PARTIAL_COMPLETE);
  json again = call(me, "job.complete", {{"job_id", to_string(job)}});
  EXPECT_EQ(again["error"]["data"]["hresult"], hr::BG_E_INVALID_STATE);
  EXPECT_EQ(call(me, "job.get", {{"job_id", to_string(job)}})["result"]["state"], "ACKNOWLEDGED");
}

TEST_F(DispatcherTest, OverlongNamesAreRefusedAndChangeNothing) {
  Caller me = user_caller();
  json r = call(me, "manager.create_job", {{"display_name", std::string(257, 'n')}});
  EXPECT_EQ(r["error"]["data"]["hresult"], hr::BG_E_STRING_TOO_LONG);
  EXPECT_TRUE(call(me, "manager.enum_jobs", json::object())["result"]["jobs"].empty());
}

// Regression: nlohmann's get<std::uint32_t>() wrapped 4294967297 into 1 and -1 into
// 4294967295, truncated 1.5 and took true as 1, so out-of-range numbers set other values.
TEST_F(DispatcherTest, IntegersThatDoNotFitAreInvalidArgAndChangeNothing) {
  Caller me = user_caller();
  std::string job = create(me);
  for (json bad : {json(4294967297ULL), json(-1), json(1.5), json(true), json("1")}) {
    json r =
        call(me, "job.set_property", {{"job_id", job}, {"name", "notify_flags"}, {"value", bad}});
    EXPECT_EQ(r["error"]["data"]["hresult"], hr::E_INVALIDARG) << bad.dump();
    r = call(me, "job.set_property",
             {{"job_id", job}, {"name", "minimum_retry_delay"}, {"value", bad}});
    EXPECT_EQ(r["error"]["data"]["hresult"], hr::E_INVALIDARG) << bad.dump();
  }
  json info = call(me, "manager.get_job", {{"job_id", job}})["result"];
  EXPECT_EQ(info["notify_flags"], 3);
  EXPECT_EQ(info["minimum_retry_delay"], 600);
  json r = call(me, "job.set_property", {{"job_id", job}, {"name", "notify_flags"}, {"value", 1}});
  EXPECT_TRUE(r.contains("result")) << r.dump();
  EXPECT_EQ(call(me, "manager.get_job", {{"job_id", job}})["result"]["notify_flags"], 1);
}

}  // namespace
}  // namespace openbits::daemon::testing
