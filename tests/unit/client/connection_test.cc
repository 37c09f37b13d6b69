// Unit tests of libopenbits's RPC channel against a scripted peer (FakeBitsd): framing,
// increasing ids, error mapping (data.hresult, protocol codes, hang-ups, malformed
// replies), notifications skipped while waiting, serialised concurrent calls, and the
// default socket path.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "fake_bitsd.h"
#include "openbits/client.h"

namespace openbits {
namespace {

using fake::FakeBitsd;
using fake::hresult_error_line;
using fake::result_line;
using nlohmann::json;

constexpr HRESULT kServiceNotActive = 0x80070426;
const char* const kJobId = "{6AF46E48-41D3-453F-B7AF-A694BBC823F7}";

Manager connect_to(const FakeBitsd& server) {
  auto manager = Manager::connect(server.path());
  EXPECT_TRUE(manager.ok()) << manager.status().message();
  return std::move(manager).value();
}

TEST(ConnectionTest, NoListenerIsServiceNotActiveNamingThePath) {
  std::string path = "/nonexistent-openbits-dir/bitsd.sock";
  auto manager = Manager::connect(path);
  ASSERT_FALSE(manager.ok());
  EXPECT_EQ(manager.code(), kServiceNotActive);
  EXPECT_EQ(manager.status().message(),
            "cannot connect to bitsd at " + path + ": No such file or directory");
}

TEST(ConnectionTest, RequestsAreJsonRpcLinesWithIncreasingIds) {
  FakeBitsd server([](const json& request) {
    return std::vector<std::string>{result_line(request, {{"version", "9.9"}, {"protocol", 1}})};
  });
  Manager manager = connect_to(server);
  EXPECT_EQ(manager.daemon_version().value(), "9.9");
  EXPECT_EQ(manager.daemon_version().value(), "9.9");
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0]["jsonrpc"], "2.0");
  EXPECT_EQ(requests[0]["method"], "daemon.version");
  EXPECT_EQ(requests[0]["params"], json::object());
  ASSERT_TRUE(requests[0]["id"].is_number_integer());
  EXPECT_GT(requests[1]["id"].get<std::int64_t>(), requests[0]["id"].get<std::int64_t>());
}

TEST(ConnectionTest, BitsErrorsCarryTheHresultAndMessage) {
  FakeBitsd server([](const json& request) {
    if (request["method"] == "manager.create_job") {
      return std::vector<std::string>{result_line(request, {{"job_id", kJobId}})};
    }
    return std::vector<std::string>{hresult_error_line(
        request, hr::BG_E_EMPTY, "There are currently no files attached to this job.")};
  });
  Manager manager = connect_to(server);
  auto job = manager.create_job("x");
  ASSERT_TRUE(job.ok());
  Status status = job->resume();
  EXPECT_EQ(status.code(), hr::BG_E_EMPTY);
  EXPECT_EQ(status.message(), "There are currently no files attached to this job.");
  EXPECT_EQ(server.last_request()["method"], "job.resume");
  EXPECT_EQ(server.last_request()["params"], json({{"job_id", kJobId}}));
}

TEST(ConnectionTest, ProtocolErrorsMapToInvalidArgOrFail) {
  int next = 0;
  FakeBitsd server([&next](const json& request) {
    switch (next++) {
      case 0:  // invalid params without data: E_INVALIDARG
        return std::vector<std::string>{fake::error_line(request, -32602, "bad params")};
      case 1:
        return std::vector<std::string>{fake::error_line(request, -32601, "no such method")};
      default:  // a parse error has "id": null and still answers the pending call
        return std::vector<std::string>{
            R"({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}})"};
    }
  });
  Manager manager = connect_to(server);
  auto first = manager.error_description(1);
  EXPECT_EQ(first.code(), hr::E_INVALIDARG);
  EXPECT_EQ(first.status().message(), "bad params");
  auto second = manager.error_description(2);
  EXPECT_EQ(second.code(), hr::E_FAIL);
  EXPECT_EQ(second.status().message(), "no such method");
  auto third = manager.error_description(3);
  EXPECT_EQ(third.code(), hr::E_FAIL);
  EXPECT_EQ(third.status().message(), "parse error");
}

TEST(ConnectionTest, NotificationsAndStaleAnswersAreSkippedWhileWaiting) {
  FakeBitsd server([](const json& request) {
    return std::vector<std::string>{
        R"({"jsonrpc":"2.0","method":"job.changed","params":{"job_id":"x"}})",
        R"({"jsonrpc":"2.0","id":-5,"result":{"description":"stale"}})",
        result_line(request, {{"description", "mine"}})};
  });
  Manager manager = connect_to(server);
  EXPECT_EQ(manager.error_description(hr::BG_E_EMPTY).value(), "mine");
  EXPECT_EQ(server.last_request()["params"], json({{"hresult", hr::BG_E_EMPTY}}));
}

TEST(ConnectionTest, HangUpIsAFailureForThisAndLaterCalls) {
  FakeBitsd server([](const json&) { return std::vector<std::string>{fake::kHangUp}; });
  Manager manager = connect_to(server);
  auto version = manager.daemon_version();
  EXPECT_EQ(version.code(), hr::E_FAIL);
  EXPECT_NE(version.status().message().find("closed the connection"), std::string::npos);
  EXPECT_EQ(manager.daemon_version().code(), hr::E_FAIL);
}

TEST(ConnectionTest, MalformedRepliesAreFailuresNotCrashes) {
  FakeBitsd server([](const json& request) {
    std::string method = request["method"];
    std::string line = "this is not json";
    if (method == "manager.create_job") line = result_line(request, {{"job_id", kJobId}});
    if (method == "manager.enum_jobs") line = result_line(request, {{"jobs", "not a list"}});
    if (method == "daemon.version") line = result_line(request, json::array());
    if (method == "job.resume") line = result_line(request, {{"hresult", "zero"}});
    if (method == "job.get") line = result_line(request, {{"id", kJobId}});  // fields missing
    return std::vector<std::string>{line};
  });
  Manager manager = connect_to(server);
  auto job = manager.create_job("x");
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(manager.enum_jobs().code(), hr::E_FAIL);
  EXPECT_EQ(manager.daemon_version().code(), hr::E_FAIL);
  EXPECT_EQ(job->resume().code(), hr::E_FAIL);
  EXPECT_EQ(job->info().code(), hr::E_FAIL);
  EXPECT_EQ(manager.error_description(0).code(), hr::E_FAIL);
}

TEST(ConnectionTest, InvalidUtf8IsRejectedBeforeSending) {
  FakeBitsd server([](const json& request) {
    return std::vector<std::string>{result_line(request, {{"job_id", kJobId}})};
  });
  Manager manager = connect_to(server);
  auto job = manager.create_job("bad \xff name");
  EXPECT_EQ(job.code(), hr::E_INVALIDARG);
  EXPECT_TRUE(server.requests().empty());
  EXPECT_TRUE(manager.create_job("good").ok());  // the connection is still usable
}

TEST(ConnectionTest, ConcurrentCallersEachGetTheirOwnAnswer) {
  FakeBitsd server([](const json& request) {
    std::string text = std::to_string(request["params"]["hresult"].get<HRESULT>());
    return std::vector<std::string>{result_line(request, {{"description", text}})};
  });
  Manager manager = connect_to(server);
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (HRESULT t = 0; t < 4; ++t) {
    threads.emplace_back([&manager, &mismatches, t] {
      for (HRESULT i = 0; i < 100; ++i) {
        HRESULT code = t * 1000 + i;
        auto text = manager.error_description(code);
        if (!text.ok() || *text != std::to_string(code)) ++mismatches;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_EQ(server.requests().size(), 400u);
}

class DefaultSocketPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    save("OPENBITS_SOCKET", socket_);
    save("XDG_RUNTIME_DIR", runtime_);
  }
  void TearDown() override {
    restore("OPENBITS_SOCKET", socket_);
    restore("XDG_RUNTIME_DIR", runtime_);
  }
  static void save(const char* name, std::optional<std::string>& into) {
    if (const char* value = ::getenv(name)) into = value;
  }
  static void restore(const char* name, const std::optional<std::string>& value) {
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  std::optional<std::string> socket_;
  std::optional<std::string> runtime_;
};

TEST_F(DefaultSocketPathTest, EnvironmentThenSystemThenUserSocket) {
  ::setenv("OPENBITS_SOCKET", "/tmp/elsewhere.sock", 1);
  ::setenv("XDG_RUNTIME_DIR", "/run/user/4242", 1);
  EXPECT_EQ(Manager::default_socket_path(), "/tmp/elsewhere.sock");
  ::unsetenv("OPENBITS_SOCKET");
  bool system = ::access("/run/openbits/bitsd.sock", F_OK) == 0;
  EXPECT_EQ(Manager::default_socket_path(),
            system ? "/run/openbits/bitsd.sock" : "/run/user/4242/openbits/bitsd.sock");
}

}  // namespace
}  // namespace openbits
