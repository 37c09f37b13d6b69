// Hostile input against a real bitsd over its socket: malformed, truncated, deeply nested
// and oversized messages, unknown methods and wrong types get JSON-RPC errors (or a closed
// connection for an oversized line) and the daemon keeps answering; a user holding a
// thousand idle, half-written connections does not stop another user from being served.
#include <grp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "tests/integration/itest.h"

namespace openbits::itest {
namespace {

class HostileInputTest : public ServiceTest {
 protected:
  void SetUp() override {
    ServiceTest::SetUp();
    fd = connect_raw(bitsd.socket());
    ASSERT_GE(fd, 0);
  }
  void TearDown() override {
    if (fd >= 0) ::close(fd);
    ServiceTest::TearDown();
  }
  // Sends one line and returns the reply's error code (0 for a result, 1 if closed).
  int error_code_for(const std::string& line) {
    if (!send_all(fd, line + "\n")) return 1;
    std::string reply = read_line(fd);
    if (reply.empty()) return 1;
    auto json = nlohmann::json::parse(reply, nullptr, false);
    if (json.is_discarded()) return 2;
    if (json.contains("result")) return 0;
    return json["error"].value("code", 3);
  }
  bool still_serves() {
    return error_code_for(R"({"jsonrpc":"2.0","id":7,"method":"daemon.version"})") == 0;
  }

  int fd = -1;
};

TEST_F(HostileInputTest, MalformedMessagesGetJsonRpcErrorsAndTheConnectionStaysUsable) {
  EXPECT_EQ(error_code_for("{not json"), -32700);
  EXPECT_EQ(error_code_for("\xff\xfe\x00garbage"), -32700);
  EXPECT_EQ(error_code_for("[]"), -32600);
  EXPECT_EQ(error_code_for("42"), -32600);
  EXPECT_EQ(error_code_for(R"({"jsonrpc":"1.0","id":1,"method":"daemon.version"})"), -32600);
  EXPECT_EQ(error_code_for(R"({"jsonrpc":"2.0","id":{"a":1},"method":"daemon.version"})"), -32600);
  EXPECT_EQ(error_code_for(R"({"jsonrpc":"2.0","id":1,"method":"no.such_method"})"), -32601);
  EXPECT_EQ(error_code_for(R"({"jsonrpc":"2.0","id":1,"method":42})"), -32600);
  EXPECT_EQ(error_code_for(R"({"jsonrpc":"2.0","id":1,"method":"job.resume","params":[1]})"),
            -32602);
  EXPECT_EQ(
      error_code_for(R"({"jsonrpc":"2.0","id":1,"method":"job.resume","params":{"job_id":5}})"),
      -32602);
  EXPECT_EQ(error_code_for(R"({"jsonrpc":"2.0","id":1,"method":"manager.create_job",)"
                           R"("params":{"display_name":["x"]}})"),
            -32602);
  EXPECT_EQ(error_code_for(R"({"jsonrpc":"2.0","id":1,"method":"manager.create_job",)"
                           R"("params":{"display_name":"x","type":"nonsense"}})"),
            -32602);
  EXPECT_TRUE(still_serves());
}

TEST_F(HostileInputTest, DeeplyNestedMessagesAreRefusedWithoutHarm) {
  EXPECT_EQ(error_code_for(std::string(100000, '[')), -32600);
  std::string nested = std::string(200000, '[') + std::string(200000, ']');
  EXPECT_EQ(error_code_for(nested), -32600);
  EXPECT_EQ(error_code_for(R"({"jsonrpc":"2.0","id":1,"method":"job.set_property","params":)"
                           R"({"name":"description","value":)" +
                           std::string(100000, '[') + std::string(100000, ']') + "}}"),
            -32600);
  std::string as_id =
      R"({"jsonrpc":"2.0","method":"daemon.version","id":)" + std::string(100000, '{') + "}";
  EXPECT_EQ(error_code_for(as_id), -32600);
  EXPECT_TRUE(still_serves());
}

TEST_F(HostileInputTest, OversizedLineClosesOnlyThatConnection) {
  std::string huge = R"({"jsonrpc":"2.0","id":1,"method":"daemon.version","pad":")" +
                     std::string(3u << 20, 'x') + "\"}";
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  send_all(fd, huge + "\n");  // the daemon may close before reading it all
  std::string reply = read_line(fd);
  auto json = nlohmann::json::parse(reply, nullptr, false);
  ASSERT_FALSE(json.is_discarded()) << reply.substr(0, 200);
  EXPECT_EQ(json["error"]["code"], -32600);
  EXPECT_EQ(read_line(fd), "");  // then closed
  ::close(fd);
  fd = connect_raw(bitsd.socket());
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(still_serves());
}

TEST_F(HostileInputTest, TruncatedMessagesAndAbruptClosesLeaveTheDaemonServing) {
  for (int i = 0; i < 50; ++i) {
    int c = connect_raw(bitsd.socket());
    ASSERT_GE(c, 0);
    send_all(c, R"({"jsonrpc":"2.0","id":1,"method":"manager.create_job","params":{"disp)");
    ::close(c);
  }
  // Requests sent without ever reading the replies: the daemon stops reading this peer
  // rather than queueing replies without bound.
  int greedy = connect_raw(bitsd.socket());
  ASSERT_GE(greedy, 0);
  std::string request = R"({"jsonrpc":"2.0","id":1,"method":"manager.enum_jobs"})"
                        "\n";
  std::string burst;
  for (int i = 0; i < 2000; ++i) burst += request;
  timeval timeout{2, 0};
  ::setsockopt(greedy, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  send_all(greedy, burst);  // may stop part-way once both buffers are full
  EXPECT_TRUE(still_serves());
  auto jobs = manager->enum_jobs();
  EXPECT_TRUE(jobs.ok());
  ::close(greedy);
}

TEST_F(HostileInputTest, ThousandsOfIdleConnectionsFromOneUserDoNotBlockAnother) {
  // The attacker (uid 65534) opens 2,000 connections and leaves a half-written request on
  // each (slowloris); the daemon keeps at most its per-uid cap of them.
  int ready[2];
  int release[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(release), 0);
  std::string socket = bitsd.socket();
  pid_t attacker = ::fork();
  if (attacker == 0) {
    rlimit files{4096, 4096};
    ::setrlimit(RLIMIT_NOFILE, &files);
    if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) _exit(2);
    int opened = 0;
    for (int i = 0; i < 2000; ++i) {
      int c = connect_raw(socket);
      if (c < 0) continue;
      ++opened;
      send_all(c, R"({"jsonrpc":"2.0","id":1,"meth)");
    }
    char byte = opened > 0 ? 'y' : 'n';
    (void)!::write(ready[1], &byte, 1);
    (void)!::read(release[0], &byte, 1);  // hold every connection until released
    _exit(0);
  }
  ::close(ready[1]);
  ::close(release[0]);
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  EXPECT_EQ(byte, 'y');
  // Another ordinary user is served: a bitsadmin call as uid 65533 completes.
  auto other =
      run_command({OPENBITS_BITSADMIN_PATH, "/list"}, {"OPENBITS_SOCKET=" + socket}, 65533);
  EXPECT_EQ(other.exit_code, 0) << other.err;
  EXPECT_NE(other.out.find("Listed 0 job(s)."), std::string::npos) << other.out;
  EXPECT_TRUE(still_serves());  // and root
  (void)!::write(release[1], "x", 1);
  int status = 0;
  ::waitpid(attacker, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ::close(ready[0]);
  ::close(release[1]);
}

}  // namespace
}  // namespace openbits::itest
