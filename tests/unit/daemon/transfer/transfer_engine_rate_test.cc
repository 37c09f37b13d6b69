// TransferEngine::set_rate_limit and rate pools against a small local HTTP server that
// sends a body of dynamic content at a few MiB/s: a limit set after start() slows the body
// down, a limit set while the body is being received applies to it at once, two transfers
// in one pool share its rate, and a limit for a token that is not running changes nothing.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "src/daemon/transfer/transfer_engine.h"

namespace openbits::daemon {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kChunk = 64 * 1024;
constexpr std::chrono::milliseconds kChunkPause{10};  // at most ~6 MiB/s unlimited

// Answers every request on its connection with `size` bytes in kChunk pieces, one every
// kChunkPause, then closes it. The port is bound before the constructor returns.
class PacedServer {
 public:
  explicit PacedServer(std::size_t size) : size_(size) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    auto* raw = reinterpret_cast<sockaddr*>(&addr);
    EXPECT_EQ(::bind(listen_fd_, raw, len), 0);
    EXPECT_EQ(::listen(listen_fd_, 8), 0);
    ::getsockname(listen_fd_, raw, &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~PacedServer() {
    ::shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
    thread_.join();
    ::close(listen_fd_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/body"; }

 private:
  void serve() {
    for (;;) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      answer(fd);
      ::close(fd);
    }
  }
  void answer(int fd) {
    std::string request;
    char buffer[4096];
    while (request.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
      if (n <= 0) return;
      request.append(buffer, static_cast<std::size_t>(n));
    }
    std::string head = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(size_) +
                       "\r\nConnection: close\r\n\r\n";
    if (!send_all(fd, head)) return;
    std::string chunk(kChunk, 'x');
    for (std::size_t sent = 0; sent < size_; sent += kChunk) {
      if (!send_all(fd, chunk.substr(0, std::min(kChunk, size_ - sent)))) return;
      std::this_thread::sleep_for(kChunkPause);
    }
  }
  static bool send_all(int fd, const std::string& bytes) {
    for (std::size_t done = 0; done < bytes.size();) {
      ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += static_cast<std::size_t>(n);
    }
    return true;
  }

  std::size_t size_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

// Remembers the first progress and the end of each transfer; waits are bounded.
class Outcomes : public TransferObserver {
 public:
  struct Outcome {
    bool progressed = false;
    bool ended = false;
    bool complete = false;
    std::uint64_t bytes = 0;
    std::uint64_t durable = 0;  // the latest progress
  };
  void on_connected(std::uint64_t) override {}
  void on_validators(std::uint64_t, const RemoteValidators&, bool) override {}
  void on_progress(std::uint64_t token, std::uint64_t durable) override {
    update(token, [durable](Outcome& o) {
      o.progressed = true;
      o.durable = durable;
    });
  }
  void on_complete(std::uint64_t token, std::uint64_t total, std::int64_t) override {
    update(token, [total](Outcome& o) { o = {true, true, true, total}; });
  }
  void on_error(std::uint64_t token, HRESULT, ErrorContext, bool, std::uint32_t,
                const std::string&) override {
    update(token, [](Outcome& o) { o.ended = true; });
  }
  // The outcome once `done` holds for it, or after 30 s (then the test fails).
  template <typename Predicate>
  Outcome wait(std::uint64_t token, Predicate done) {
    std::unique_lock lock(mutex_);
    bool ok = cv_.wait_for(lock, std::chrono::seconds(30), [&] { return done(outcomes_[token]); });
    EXPECT_TRUE(ok) << "token " << token;
    return outcomes_[token];
  }
  Outcome wait_end(std::uint64_t token) {
    return wait(token, [](const Outcome& o) { return o.ended; });
  }
  Outcome now(std::uint64_t token) {
    std::lock_guard lock(mutex_);
    return outcomes_[token];
  }

 private:
  template <typename Change>
  void update(std::uint64_t token, Change change) {
    std::lock_guard lock(mutex_);
    change(outcomes_[token]);
    cv_.notify_all();
  }
  std::mutex mutex_;
  std::condition_variable cv_;
  std::map<std::uint64_t, Outcome> outcomes_;
};

class TransferEngineRateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "rate-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }
  // Dynamic content: one GET from byte 0, no HEAD, so the server answers one request.
  DownloadRequest request(const std::string& url, const std::string& leaf,
                          std::uint64_t checkpoint_bytes = 256 * 1024) {
    DownloadRequest r;
    r.remote_name = url;
    r.temp_name = dir_ + "/.BIT" + leaf + ".tmp";
    r.dynamic_content = true;
    r.checkpoint_bytes = checkpoint_bytes;
    r.checkpoint_interval = std::chrono::hours(1);  // progress by size only
    return r;
  }

  std::string dir_;
  Outcomes outcomes_;
  TransferEngine engine_{outcomes_};
};

TEST_F(TransferEngineRateTest, LimitSetAfterStartSlowsTheDownload) {
  constexpr std::size_t kSize = 2 << 20;
  constexpr std::uint64_t kLimit = 512 << 10;  // bytes per second
  PacedServer server(kSize);
  Clock::time_point started_at = Clock::now();
  std::uint64_t token = engine_.start(request(server.url(), "limited"));
  engine_.set_rate_limit(token, kLimit);  // runs after the start, before any byte arrives
  Outcomes::Outcome end = outcomes_.wait_end(token);
  ASSERT_TRUE(end.complete);
  EXPECT_EQ(end.bytes, kSize);
  // Unlimited, the body comes in about 0.45 s (the server's pace); at the limit in 4 s
  // (the first burst and buffer make it a little less). 2.5 s keeps a margin either way.
  auto elapsed = Clock::now() - started_at;
  EXPECT_GE(elapsed, std::chrono::milliseconds(2500));
  std::cout << "limited body took "
            << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() << " ms\n";
}

// The body is flowing unlimited (~6 MiB/s) when the limit comes: the rest of it must come
// at the new pace, which libcurl's MAX_RECV_SPEED did not do for a running request.
TEST_F(TransferEngineRateTest, LimitSetWhileTheBodyFlowsAppliesToIt) {
  constexpr std::size_t kSize = 16 << 20;
  constexpr std::uint64_t kLimit = 256 << 10;
  PacedServer server(kSize);
  std::uint64_t token = engine_.start(request(server.url(), "midway", 64 * 1024));
  outcomes_.wait(token, [](const Outcomes::Outcome& o) { return o.durable >= (1u << 20); });
  engine_.set_rate_limit(token, kLimit);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the command is applied
  std::uint64_t before = outcomes_.now(token).durable;
  std::this_thread::sleep_for(std::chrono::seconds(2));
  std::uint64_t during = outcomes_.now(token).durable - before;
  // 2 s at 256 KiB/s is 512 KiB; unlimited it would be ~12 MiB. 1.5 MiB leaves a wide
  // margin for the buffers already received.
  EXPECT_LT(during, 3u << 19) << during;
  EXPECT_FALSE(outcomes_.now(token).ended);
  engine_.set_rate_limit(token, 0);  // lifted: the rest comes at the server's pace
  Outcomes::Outcome end = outcomes_.wait_end(token);
  ASSERT_TRUE(end.complete);
  EXPECT_EQ(end.bytes, kSize);
}

// Two downloads in one pool of 512 KiB/s: together they take about the pool's rate, each a
// share of it, and a pool rate set while they run applies to both.
TEST_F(TransferEngineRateTest, TransfersInOnePoolShareItsRate) {
  constexpr std::size_t kSize = 8 << 20;
  constexpr std::uint64_t kPool = 7;
  constexpr std::uint64_t kLimit = 512 << 10;
  PacedServer server_a(kSize);
  PacedServer server_b(kSize);
  engine_.set_pool_rate(kPool, kLimit);
  std::uint64_t a = engine_.start(request(server_a.url(), "a", 64 * 1024));
  std::uint64_t b = engine_.start(request(server_b.url(), "b", 64 * 1024));
  engine_.join_rate_pool(a, kPool);
  engine_.join_rate_pool(b, kPool);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  std::uint64_t a0 = outcomes_.now(a).durable;
  std::uint64_t b0 = outcomes_.now(b).durable;
  std::this_thread::sleep_for(std::chrono::seconds(3));
  std::uint64_t da = outcomes_.now(a).durable - a0;
  std::uint64_t db = outcomes_.now(b).durable - b0;
  // 3 s of 512 KiB/s: 1.5 MiB together (unlimited: ~36 MiB). Each got a real share.
  EXPECT_LT(da + db, 3u << 20) << da << " + " << db;
  EXPECT_GT(da + db, 1u << 19) << da << " + " << db;
  EXPECT_GT(da, (da + db) / 5) << da << " + " << db;
  EXPECT_GT(db, (da + db) / 5) << da << " + " << db;
  engine_.set_pool_rate(kPool, 0);  // lifted for both
  EXPECT_TRUE(outcomes_.wait_end(a).complete);
  EXPECT_TRUE(outcomes_.wait_end(b).complete);
}

// A job made FOREGROUND while it runs leaves its pool at once (pool 0), not at its next
// file: a transfer held at a trickle by its pool then finishes at the server's pace.
TEST_F(TransferEngineRateTest, LeavingThePoolLiftsItsRateAtOnce) {
  constexpr std::size_t kSize = 4 << 20;
  constexpr std::uint64_t kPool = 9;
  PacedServer server(kSize);
  engine_.set_pool_rate(kPool, 16 << 10);
  std::uint64_t token = engine_.start(request(server.url(), "f", 64 * 1024));
  engine_.join_rate_pool(token, kPool);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  // At 16 KiB/s the 4 MiB would take over four minutes; without the pool, under a second.
  EXPECT_FALSE(outcomes_.now(token).ended);
  engine_.join_rate_pool(token, 0);
  Outcomes::Outcome end = outcomes_.wait_end(token);
  ASSERT_TRUE(end.complete);
  EXPECT_EQ(end.bytes, kSize);
}

TEST_F(TransferEngineRateTest, LimitOfATokenThatIsNotRunningChangesNothing) {
  PacedServer server(kChunk);
  engine_.set_rate_limit(4242, 1);  // never started
  std::uint64_t first = engine_.start(request(server.url(), "first"));
  Outcomes::Outcome end = outcomes_.wait_end(first);
  ASSERT_TRUE(end.complete);
  engine_.set_rate_limit(first, 1);  // finished
  engine_.stop(first);
  engine_.set_rate_limit(first, 1);  // finished and stopped
  std::uint64_t second = engine_.start(request(server.url(), "second"));
  end = outcomes_.wait_end(second);
  ASSERT_TRUE(end.complete);
  EXPECT_EQ(end.bytes, kChunk);
}

}  // namespace
}  // namespace openbits::daemon
