// Hostile input against a real bitsd over its socket: malformed, truncated, deeply nested
// and oversized messages, unknown methods and wrong types get JSON-RPC errors (or a closed
// connection for an oversized line) and the daemon keeps answering; a user holding a
// thousand idle, half-written connections gets exactly the per-uid cap and does not stop
// another user from being served; the total cap and running out of descriptors neither
// lock out root nor make the daemon spin.
#include <grp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "tests/integration/itest.h"
#include "tests/integration/rpc_attack.h"

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

// A user's burst of connections, held open by a child process running as that user: each
// carries a half-written request (slowloris). The child reports how many the daemon kept
// (a refused one reads EOF at once) and holds them until released.
class ConnectionBurst {
 public:
  ConnectionBurst(const std::string& socket, uid_t uid, int count)
      : child_(uid, [socket, count] {
          return std::to_string(count_kept(open_connections(socket, count)));
        }) {}

  // How many connections the daemon kept open; -1 if the child failed.
  int kept() {
    std::string text = child_.report();
    return text.empty() ? -1 : std::stoi(text);
  }
  // Closes every connection; true if the child ended normally.
  bool release() { return child_.release(); }

 private:
  static std::vector<int> open_connections(const std::string& socket, int count) {
    std::vector<int> fds;
    for (int i = 0; i < count; ++i) {
      int c = connect_raw(socket);
      if (c < 0) continue;
      send_all(c, R"({"jsonrpc":"2.0","id":1,"meth)");
      fds.push_back(c);
    }
    return fds;
  }
  static bool closed_by_peer(int fd) {
    pollfd p{fd, POLLIN | POLLRDHUP, 0};
    return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLRDHUP | POLLIN)) != 0;
  }
  // The daemon accepts in order, so once the last connection is refused it has decided on
  // all of them (a daemon without a cap keeps the last open: give up after 10 s).
  static int count_kept(const std::vector<int>& fds) {
    for (int i = 0; i < 200 && !fds.empty() && !closed_by_peer(fds.back()); ++i) {
      ::usleep(50'000);
    }
    ::usleep(300'000);  // a kept connection must stay open, not close a moment later
    int kept = 0;
    for (int fd : fds) kept += closed_by_peer(fd) ? 0 : 1;
    return kept;
  }

  HeldChild child_;
};

TEST_F(HostileInputTest, ThousandsOfIdleConnectionsFromOneUserDoNotBlockAnother) {
  // The attacker (uid 65534) opens 2,000 connections; the daemon keeps its per-uid cap.
  ConnectionBurst attack(bitsd.socket(), 65534, 2000);
  EXPECT_EQ(attack.kept(), 128);
  // Another ordinary user is served, promptly: a bitsadmin call as uid 65533 completes.
  auto other = run_command({OPENBITS_BITSADMIN_PATH, "/list"},
                           {"OPENBITS_SOCKET=" + bitsd.socket()}, 65533, std::chrono::seconds(10));
  EXPECT_FALSE(other.timed_out);
  EXPECT_EQ(other.exit_code, 0) << other.err;
  EXPECT_NE(other.out.find("Listed 0 job(s)."), std::string::npos) << other.out;
  EXPECT_TRUE(still_serves());  // and root
  EXPECT_TRUE(attack.release());
}

// Connection caps from the config file: per uid and in total across ordinary users.
class ConnectionCapTest : public ServiceTest {
 protected:
  void SetUp() override {
    ServiceTest::SetUp();
    std::string config = dir.path() + "/bitsd.json";
    std::ofstream(config) << R"({"max_connections": 40, "max_connections_per_uid": 30})";
    bitsd.terminate();
    bitsd.start({"--config", config});
    manager.emplace(bitsd.connect());
    ASSERT_TRUE(manager->enum_jobs().ok());  // root holds exactly this one connection now
  }
};

TEST_F(ConnectionCapTest, TotalCapCountsEveryUserButNeverLocksOutRoot) {
  ConnectionBurst first(bitsd.socket(), 65534, 35);
  EXPECT_EQ(first.kept(), 30);  // its per-uid cap
  ConnectionBurst second(bitsd.socket(), 65533, 35);
  EXPECT_EQ(second.kept(), 40 - 30 - 1);  // what the total leaves after root's connection
  int root = connect_raw(bitsd.socket());
  ASSERT_GE(root, 0);
  EXPECT_TRUE(send_all(root, R"({"jsonrpc":"2.0","id":7,"method":"daemon.version"})"
                             "\n"));
  EXPECT_NE(read_line(root).find("\"result\""), std::string::npos);
  ::close(root);
  EXPECT_TRUE(first.release());
  EXPECT_TRUE(second.release());
  EXPECT_NE(bitsd.log().find("refusing a connection from uid 65533"), std::string::npos);
}

std::size_t open_descriptors(pid_t pid) {
  std::size_t n = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    (void)entry;
    ++n;
  }
  return n;
}

TEST_F(HostileInputTest, OutOfDescriptorsTheDaemonWaitsInsteadOfSpinningAndRecovers) {
#ifdef OPENBITS_SANITIZED
  // The sanitizers' runtime needs descriptors of its own (a pipe to probe memory before it
  // reports): out of them, UBSan reports a false "invalid vptr" and stops the daemon.
  GTEST_SKIP() << "needs a daemon without sanitizers (it runs in the dev build)";
#endif
  // Leave bitsd ten descriptors, then queue forty connections: accept(2) fails with EMFILE
  // while the rest wait in the listen backlog.
  rlimit limit{};
  limit.rlim_cur = limit.rlim_max = open_descriptors(bitsd.pid()) + 10;
  ASSERT_EQ(::prlimit(bitsd.pid(), RLIMIT_NOFILE, &limit, nullptr), 0);
  std::vector<int> flood;
  for (int i = 0; i < 40; ++i) {
    int c = connect_raw(bitsd.socket());
    if (c >= 0) flood.push_back(c);
  }
  ASSERT_EQ(flood.size(), 40u);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  long before = cpu_ticks_of(bitsd.pid());
  std::this_thread::sleep_for(std::chrono::seconds(1));
  long used = cpu_ticks_of(bitsd.pid()) - before;
  // A daemon retrying accept(2) at once burns the whole second; waiting between tries
  // uses next to nothing. (A behaviour check with a wide margin, not a benchmark.)
  EXPECT_LT(used, ::sysconf(_SC_CLK_TCK) / 5) << used << " ticks of CPU in one second";
  EXPECT_TRUE(manager->enum_jobs().ok());  // accepted connections are still served
  for (int c : flood) ::close(c);
  auto other = run_command({OPENBITS_BITSADMIN_PATH, "/list"},
                           {"OPENBITS_SOCKET=" + bitsd.socket()}, 65533, std::chrono::seconds(10));
  EXPECT_FALSE(other.timed_out);
  EXPECT_EQ(other.exit_code, 0) << other.err;
  EXPECT_NE(bitsd.log().find("Too many open files"), std::string::npos);
}

}  // namespace
}  // namespace openbits::itest
