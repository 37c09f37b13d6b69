// Limits from the config file, through the real bitsd started with --config and bitsadmin
// run as an ordinary user: jobs per user, files per job and every string length are the
// configured ones, with BITS's exact errors; administrators are exempt from the count
// limits but not from string lengths; a limit of 0 keeps bitsd from starting.
#include <fstream>

#include "tests/integration/itest.h"

namespace openbits::itest {
namespace {

constexpr uid_t kUser = 65534;

class ConfigLimitsTest : public ServiceTest {
 protected:
  void SetUp() override {
    ServiceTest::SetUp();
    std::string config = dir.path() + "/bitsd.json";
    std::ofstream(config) << R"({"max_jobs_per_user": 2, "max_files_per_job": 1,)"
                          << R"( "max_display_name": 10, "max_description": 5,)"
                          << R"( "max_remote_name": 40, "max_local_name": 60,)"
                          << R"( "max_notify_parameters": 12, "max_custom_headers": 16,)"
                          << R"( "max_proxy_list": 8})";
    bitsd.terminate();
    bitsd.start({"--config", config});
    manager.emplace(bitsd.connect());
  }
  CommandResult as_user(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {OPENBITS_BITSADMIN_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, {"OPENBITS_SOCKET=" + bitsd.socket()}, kUser);
  }
  // The HRESULT bitsadmin printed ("0x80200021"), or "" when the command succeeded.
  std::string error_of(const std::vector<std::string>& args) {
    auto r = as_user(args);
    std::size_t at = r.err.find("0x");
    return r.exit_code == 0 || at == std::string::npos ? "" : r.err.substr(at, 10);
  }
  std::string created(const std::string& name) {
    auto r = as_user({"/create", name});
    std::size_t brace = r.out.find('{');
    EXPECT_NE(brace, std::string::npos) << r.out << r.err;
    return brace == std::string::npos ? "" : r.out.substr(brace, 38);
  }
};

TEST_F(ConfigLimitsTest, ConfiguredJobAndFileLimitsGiveBitsErrors) {
  std::string first = created("one");
  created("two");
  EXPECT_EQ(error_of({"/create", "three"}), "0x80200049");  // BG_E_TOO_MANY_JOBS_PER_USER
  EXPECT_EQ(error_of({"/addfile", first, nginx.url("/a"), out + "/a"}), "");
  EXPECT_EQ(error_of({"/addfile", first, nginx.url("/b"), out + "/b"}),
            "0x80200051");  // BG_E_TOO_MANY_FILES_IN_JOB
  auto root = run_command({OPENBITS_BITSADMIN_PATH, "/create", "admins"},
                          {"OPENBITS_SOCKET=" + bitsd.socket()});
  EXPECT_EQ(root.exit_code, 0) << root.err;  // administrators are not counted
}

TEST_F(ConfigLimitsTest, ConfiguredStringLengthsGiveBitsErrors) {
  EXPECT_EQ(error_of({"/create", "0123456789a"}), "0x80200021");  // BG_E_STRING_TOO_LONG
  std::string job = created("0123456789");                        // exactly the limit
  EXPECT_EQ(error_of({"/setdisplayname", job, "0123456789a"}), "0x80200021");
  EXPECT_EQ(error_of({"/setdescription", job, "12345"}), "");
  EXPECT_EQ(error_of({"/setdescription", job, "123456"}), "0x80200021");
  EXPECT_EQ(error_of({"/setnotifycmdline", job, "/bin/echo", "/bin/echo 12"}), "");
  EXPECT_EQ(error_of({"/setnotifycmdline", job, "/bin/echo", "/bin/echo 123"}), "0x80200021");
  // "X-A: 12345678\r\n" is 15 characters, 16 with the terminator.
  EXPECT_EQ(error_of({"/setcustomheaders", job, "X-A: 12345678"}), "");
  EXPECT_EQ(error_of({"/setcustomheaders", job, "X-A: 123456789"}), "0x80200021");
  EXPECT_EQ(error_of({"/setproxysettings", job, "OVERRIDE", "p:1", "NULL"}), "");
  EXPECT_EQ(error_of({"/setproxysettings", job, "OVERRIDE", "proxy:81", "NULL"}), "");
  EXPECT_EQ(error_of({"/setproxysettings", job, "OVERRIDE", "proxy:811", "NULL"}),
            "0x80200018");  // BG_E_PROXY_LIST_TOO_LARGE
  std::string long_url = nginx.url("/" + std::string(40, 'u'));
  EXPECT_EQ(error_of({"/addfile", job, long_url, out + "/u"}), "0x80070057");  // E_INVALIDARG
  std::string long_local = out + "/" + std::string(60, 'l');
  EXPECT_EQ(error_of({"/addfile", job, nginx.url("/l"), long_local}), "0x80070057");
  auto root = run_command({OPENBITS_BITSADMIN_PATH, "/create", "0123456789a"},
                          {"OPENBITS_SOCKET=" + bitsd.socket()});
  EXPECT_NE(root.err.find("0x80200021"), std::string::npos) << root.err;  // admins too
}

TEST_F(ConfigLimitsTest, ZeroOrOversizedLimitKeepsBitsdFromStarting) {
  for (const char* text :
       {R"({"max_display_name": 0})", R"({"max_local_name": 5000})", R"({"max_connections": 0})"}) {
    std::string config = dir.path() + "/bad.json";
    std::ofstream(config, std::ios::trunc) << text;
    auto started = run_command({OPENBITS_BITSD_PATH, "--state-dir", dir.path() + "/bad-state",
                                "--socket", dir.path() + "/bad.sock", "--config", config},
                               {}, std::nullopt, std::chrono::seconds(20));
    EXPECT_FALSE(started.timed_out) << text;
    EXPECT_EQ(started.exit_code, 1) << text;
    EXPECT_NE(started.err.find("config " + config), std::string::npos) << started.err;
  }
}

}  // namespace
}  // namespace openbits::itest
