// Bandwidth policy on a real bitsd against nginx (docs/bandwidth.md): a NORMAL job under a
// limit moves far fewer bytes than a FOREGROUND job beside it, which the policy never
// limits; a limit of 0 puts a job in TRANSIENT_ERROR with BG_E_BLOCKED_BY_POLICY until its
// window ends, then the job completes by itself. Windows are chosen from the local time
// at test time.
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/integration/itest.h"

namespace openbits::itest {
namespace {

constexpr std::uint64_t kSize = 64ull << 20;
constexpr std::uint64_t kLimit = 512 << 10;  // bytes per second

class BandwidthTest : public ServiceTest {
 protected:
  void restart_with(const std::string& json) {
    std::string config = dir.path() + "/bitsd.json";
    std::ofstream(config, std::ios::trunc) << json;
    bitsd.terminate();
    bitsd.start({"--config", config});
    manager.emplace(bitsd.connect());
  }
  Job job_of(const std::string& name, JobPriority priority, const std::string& source) {
    Job job = create(name);
    EXPECT_TRUE(job.set_priority(priority).ok());
    EXPECT_TRUE(job.add_file(nginx.url("/" + source), out + "/" + name).ok());
    return job;
  }
  // "HH:MM:SS" of the local time `offset_s` from now, and today's day name.
  static std::string local_time(int offset_s) {
    std::time_t t = std::time(nullptr) + offset_s;
    std::tm local{};
    ::localtime_r(&t, &local);
    char text[16];
    std::strftime(text, sizeof text, "%H:%M:%S", &local);
    return text;
  }
  static std::string local_day() {
    std::time_t t = std::time(nullptr);
    std::tm local{};
    ::localtime_r(&t, &local);
    char text[8];
    std::strftime(text, sizeof text, "%a", &local);
    return text;
  }
};

TEST_F(BandwidthTest, LimitedNormalJobMovesFarLessThanAForegroundJobBesideIt) {
  restart_with(R"({"bandwidth_limits": {"normal": )" + std::to_string(kLimit) + "}}");
  make_file(nginx.root() + "/big.bin", kSize, 7);
  Job limited = job_of("limited", JobPriority::kNormal, "big.bin");
  Job free = job_of("free", JobPriority::kForeground, "big.bin");
  ASSERT_TRUE(limited.resume().ok());
  ASSERT_EQ(wait_for_state(limited, {JobState::kTransferring}), JobState::kTransferring);
  ASSERT_TRUE(free.resume().ok());
  ASSERT_EQ(wait_for_state(free, {JobState::kTransferred}), JobState::kTransferred);
  // 64 MiB came unlimited; at 512 KiB/s the NORMAL job has had time for a fraction of it.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  std::uint64_t moved = limited.progress()->bytes_transferred;
  EXPECT_LT(moved, kSize / 4) << moved;
  EXPECT_EQ(*limited.state(), JobState::kTransferring);
  ASSERT_TRUE(free.complete().ok());
  EXPECT_TRUE(files_equal(nginx.root() + "/big.bin", out + "/free"));
  ASSERT_TRUE(limited.cancel().ok());
}

TEST_F(BandwidthTest, ZeroLimitBlocksTheJobUntilTheWindowEndsThenItCompletes) {
  // From now to 10 s from now NORMAL jobs may not transfer (a window crossing midnight is
  // read as one, so the test also holds at 23:59:55).
  restart_with(R"({"bandwidth_windows": [{"days": ")" + local_day() + R"(", "from": ")" +
               local_time(-1) + R"(", "to": ")" + local_time(10) +
               R"(", "limits": {"normal": 0}}]})");
  make_file(nginx.root() + "/small.bin", 1 << 20, 3);
  Job job = job_of("blocked", JobPriority::kNormal, "small.bin");
  ASSERT_TRUE(job.resume().ok());
  ASSERT_EQ(wait_for_state(job, {JobState::kTransientError, JobState::kTransferred}),
            JobState::kTransientError);
  auto error = job.error();
  ASSERT_TRUE(error.ok());
  EXPECT_EQ(error->code, hr::BG_E_BLOCKED_BY_POLICY);
  EXPECT_EQ(nginx.bytes_sent(), 0u);
  ASSERT_EQ(wait_for_state(job, {JobState::kTransferred}), JobState::kTransferred);
  ASSERT_TRUE(job.complete().ok());
  EXPECT_TRUE(files_equal(nginx.root() + "/small.bin", out + "/blocked"));
}

// bitsadmin /util /getbandwidthpolicy, as an ordinary user: the limits in force (here
// bandwidth_limits, no window now) and the configured policy; /rawreturn prints the JSON.
TEST_F(BandwidthTest, GetBandwidthPolicyShowsTheLimitsInForceAndThePolicy) {
  restart_with(R"({"bandwidth_limits": {"normal": 300000, "low": 0},
                   "bandwidth_maintenance": {"days": ")" +
               local_day() + R"(", "from": ")" + local_time(3600) + R"(", "to": ")" +
               local_time(3660) + R"(", "limits": {"high": 1000}}})");
  std::vector<std::string> argv = {OPENBITS_BITSADMIN_PATH, "/util", "/getbandwidthpolicy"};
  auto shown = run_command(argv, {"OPENBITS_SOCKET=" + bitsd.socket()}, 65534);
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.out.find("(from bandwidth_limits)"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("HIGH: unlimited"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("NORMAL: 300000 bytes/s"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("LOW: blocked (0: BG_E_BLOCKED_BY_POLICY)"), std::string::npos)
      << shown.out;
  argv.insert(argv.begin() + 1, "/rawreturn");
  auto raw = run_command(argv, {"OPENBITS_SOCKET=" + bitsd.socket()}, 65534);
  ASSERT_EQ(raw.exit_code, 0) << raw.err;
  auto policy = nlohmann::json::parse(raw.out, nullptr, false);
  ASSERT_FALSE(policy.is_discarded()) << raw.out;
  EXPECT_EQ(policy["bandwidth_limits"]["normal"], 300000);
  EXPECT_TRUE(policy["bandwidth_limits"]["high"].is_null());
  EXPECT_EQ(policy["bandwidth_maintenance"]["limits"]["high"], 1000);
  EXPECT_EQ(policy["bandwidth_maintenance"]["from"], local_time(3600));
  EXPECT_TRUE(policy["bandwidth_windows"].empty());
}

}  // namespace
}  // namespace openbits::itest
