// Memory attacks on a real bitsd (issue 18, item 2): a user pipelining job.get of a big job
// on many connections without reading the replies, a job with more byte ranges than the
// per-job bound, and a request that cannot be allocated.
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "tests/integration/itest.h"
#include "tests/integration/rpc_attack.h"

namespace openbits::itest {
namespace {

using nlohmann::json;
constexpr uid_t kAttacker = 65534;

// bitsd's resident memory is bounded by what it queues, which is what these tests measure;
// under ASan it is not: freed blocks stay in ASan's quarantine (256 MiB by default) and
// every block has redzones and shadow, so 614 MiB were seen with the fix in place. There
// the attacks still run and everything else is asserted; the bound holds in the dev build.
void expect_rss_below(long highest_kib, long bound_kib) {
#ifdef OPENBITS_SANITIZED
  (void)highest_kib;
  (void)bound_kib;
#else
  EXPECT_LT(highest_kib, bound_kib) << "KiB";
#endif
}

class MemoryTest : public ServiceTest {
 protected:
  // Waits until bitsd used no CPU for a second (it has done what it will do), sampling
  // its VmRSS meanwhile; returns the highest sample in KiB.
  long wait_until_idle_sampling_rss() {
    long highest = 0;
    long last = cpu_ticks_of(bitsd.pid());
    for (int quiet = 0, i = 0; quiet < 20 && i < 1200; ++i) {  // 50 ms steps, 60 s at most
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      highest = std::max(highest, status_kib(bitsd.pid(), "VmRSS"));
      long now = cpu_ticks_of(bitsd.pid());
      quiet = now == last ? quiet + 1 : 0;
      last = now;
    }
    return highest;
  }
};

// 32 connections x 40 pipelined job.get of a job of 200 files x 50 ranges with 2,200-character
// URLs (about 1 MB per reply), none read. Before the fix each connection queued 17 replies
// (over 500 MB in all); now a uid's unread replies stop at max_reply_bytes_per_uid.
TEST_F(MemoryTest, PipelinedJobGetWithoutReadingKeepsMemoryBoundedAndOthersServed) {
  std::string job = make_big_job_as(kAttacker, bitsd.socket(), nginx.port(), out, 200, 50);
  ASSERT_EQ(job.size(), 38u) << job;
  long before = status_kib(bitsd.pid(), "VmRSS");
  HeldChild attack(kAttacker, [this, job] {
    std::string burst;
    for (int i = 0; i < 40; ++i) burst += rpc_line(i, "job.get", {{"job_id", job}});
    int sent = 0;
    for (int c = 0; c < 32; ++c) {
      int fd = connect_raw(bitsd.socket());
      timeval timeout{2, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
      sent += fd >= 0 && send_all(fd, burst) ? 1 : 0;  // kept open, never read
    }
    return std::to_string(sent);
  });
  EXPECT_EQ(attack.report(), "32");
  long highest = wait_until_idle_sampling_rss();
  std::cout << "bitsd VmRSS before the attack " << before / 1024 << " MiB, highest during it "
            << highest / 1024 << " MiB, VmHWM " << status_kib(bitsd.pid(), "VmHWM") / 1024
            << " MiB\n";
  expect_rss_below(highest, 200 * 1024);
  // Another user, and root reading the same big job, are still answered.
  auto other = run_command({OPENBITS_BITSADMIN_PATH, "/list"},
                           {"OPENBITS_SOCKET=" + bitsd.socket()}, 65533, std::chrono::seconds(10));
  EXPECT_FALSE(other.timed_out);
  EXPECT_EQ(other.exit_code, 0) << other.err;
  int fd = connect_raw(bitsd.socket());
  json answer = rpc_call(fd, 9, "job.get", {{"job_id", job}});
  ASSERT_TRUE(answer.contains("result")) << answer.dump().substr(0, 300);
  EXPECT_EQ(answer["result"]["files"].size(), 200u);
  ::close(fd);
  EXPECT_TRUE(attack.release());
}

// A subscriber that never reads its events: each set_property sends it a job.modification
// carrying the whole job (about 1 MB here). Once its unread events pass twice
// max_reply_bytes_per_connection bitsd closes that connection; before, every event stayed
// queued (200 events, 200 MB).
TEST_F(MemoryTest, SubscriberThatDoesNotReadItsEventsIsClosedAndMemoryStaysBounded) {
  int fd = connect_raw(bitsd.socket());
  std::string error;
  std::string job = make_big_job(fd, nginx.port(), out, 200, 50, &error);
  ASSERT_FALSE(job.empty()) << error;
  auto set = [&](int id, const std::string& name, const json& value) {
    return rpc_call(fd, id, "job.set_property", {{"job_id", job}, {"name", name}, {"value", value}})
        .contains("result");
  };
  ASSERT_TRUE(set(3, "notify_flags", 0x8));  // BG_NOTIFY_JOB_MODIFICATION
  ASSERT_TRUE(set(4, "minimum_notification_interval_ms", 0));
  int subscriber = connect_raw(bitsd.socket());
  json subscribed = rpc_call(subscriber, 1, "job.subscribe", {{"job_id", job}});
  ASSERT_TRUE(subscribed.contains("result")) << subscribed.dump();
  long highest = 0;
  for (int i = 0; i < 200; ++i) {  // answered: the setter reads its replies
    ASSERT_TRUE(set(10 + i, "description", "change " + std::to_string(i)));
    highest = std::max(highest, status_kib(bitsd.pid(), "VmRSS"));
  }
  std::cout << "bitsd VmRSS at most " << highest / 1024 << " MiB during 200 events\n";
  expect_rss_below(highest, 200 * 1024);
  timeval timeout{10, 0};
  ::setsockopt(subscriber, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  char chunk[65536];
  ssize_t n = 0;
  while ((n = ::recv(subscriber, chunk, sizeof chunk, 0)) > 0) {
  }
  EXPECT_EQ(n, 0) << "the subscriber's connection is still open";
  EXPECT_NE(bitsd.log().find("does not read its events"), std::string::npos);
  ::close(subscriber);
  ::close(fd);
}

// max_ranges_per_job (10,000 by default): 20 files of 500 ranges fit, one range more is
// BG_E_TOO_MANY_RANGES_IN_FILE for an ordinary user; root is exempt.
TEST_F(MemoryTest, RangesPerJobAreBoundedForOrdinaryUsers) {
  std::string answer = run_as(kAttacker, [this] {
    int fd = connect_raw(bitsd.socket());
    std::string error;
    std::string id = make_big_job(fd, nginx.port(), out, 20, 500, &error);
    if (id.empty()) return "error " + error;
    json one_more = {{"remote_name", nginx.url("/x")},
                     {"local_name", out + "/x"},
                     {"ranges", {{{"initial_offset", 0}, {"length", 10}}}}};
    json r = rpc_call(fd, 3, "job.add_files", {{"job_id", id}, {"files", {one_more}}});
    ::close(fd);
    return r.dump();
  });
  json r = json::parse(answer, nullptr, false);
  ASSERT_TRUE(r.contains("error")) << answer.substr(0, 300);
  EXPECT_EQ(r["error"]["data"]["hresult"], 0x80200052u);  // BG_E_TOO_MANY_RANGES_IN_FILE
  EXPECT_NE(r["error"]["message"].get<std::string>().find("max_ranges_per_job"), std::string::npos);
  int fd = connect_raw(bitsd.socket());
  std::string error;
  EXPECT_FALSE(make_big_job(fd, nginx.port(), out, 21, 500, &error).empty()) << error;
  ::close(fd);
}

// A request whose answer needs more memory than bitsd may take (RLIMIT_AS at its present
// size, so only memory it already holds is left): job.get of the big job fails alone with
// E_OUTOFMEMORY. Before the fix the std::bad_alloc was -32603 E_UNEXPECTED inside a
// method and, thrown while printing the reply, escaped the dispatcher and ended bitsd.
TEST_F(MemoryTest, RequestThatCannotBeAllocatedFailsWithOutOfMemoryAndBitsdLives) {
#ifdef OPENBITS_SANITIZED
  GTEST_SKIP() << "ASan reserves terabytes of address space and aborts on allocation failure";
#endif
  int fd = connect_raw(bitsd.socket());
  ASSERT_GE(fd, 0);
  std::string error;
  std::string job = make_big_job(fd, nginx.port(), out, 200, 50, &error);
  ASSERT_FALSE(job.empty()) << error;
  // Only the soft limit is lowered: raising it back to the hard one needs no privilege.
  rlimit before{};
  ASSERT_EQ(::prlimit(bitsd.pid(), RLIMIT_AS, nullptr, &before), 0);
  rlimit tight = before;
  tight.rlim_cur = static_cast<rlim_t>(status_kib(bitsd.pid(), "VmSize") + 2048) * 1024;
  ASSERT_EQ(::prlimit(bitsd.pid(), RLIMIT_AS, &tight, nullptr), 0);
  json answer = rpc_call(fd, 5, "job.get", {{"job_id", job}});
  bool restored = ::prlimit(bitsd.pid(), RLIMIT_AS, &before, nullptr) == 0;
  ASSERT_TRUE(restored) << "bitsd is gone";
  ASSERT_TRUE(answer.contains("error")) << answer.dump().substr(0, 200);
  EXPECT_EQ(answer["id"], 5);
  EXPECT_EQ(answer["error"]["data"]["hresult"], 0x8007000Eu);  // E_OUTOFMEMORY
  json again = rpc_call(fd, 6, "job.get", {{"job_id", job}});
  ASSERT_TRUE(again.contains("result")) << again.dump().substr(0, 200);
  EXPECT_EQ(again["result"]["files"].size(), 200u);
  ::close(fd);
  EXPECT_TRUE(manager->daemon_version().ok());
}

}  // namespace
}  // namespace openbits::itest
