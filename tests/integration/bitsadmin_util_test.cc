// bitsadmin's habits and its /UTIL family against a real bitsd (issue 12, items 8 and 10):
// --json before the command word, --version, /LIST in creation order (also after a restart),
// every family's help, /UTIL /VERSION, /GETIEPROXY, /REPAIRSERVICE and /SETIEPROXY.
#include <fstream>

#include "tests/integration/itest.h"

namespace openbits::itest {
namespace {

class BitsadminUtilTest : public ServiceTest {
 protected:
  CommandResult admin(std::vector<std::string> args, std::vector<std::string> env = {},
                      std::optional<uid_t> uid = std::nullopt) {
    args.insert(args.begin(), OPENBITS_BITSADMIN_PATH);
    env.push_back("OPENBITS_SOCKET=" + bitsd.socket());
    return run_command(args, env, uid);
  }
  // The GUIDs /LIST prints, in the order it prints them.
  static std::vector<std::string> listed_ids(const std::string& list) {
    std::vector<std::string> ids;
    for (std::size_t at = list.find("\n{"); at != std::string::npos;
         at = list.find("\n{", at + 1)) {
      ids.push_back(list.substr(at + 1, 38));
    }
    return ids;
  }
};

TEST_F(BitsadminUtilTest, JsonBeforeTheCommandWordPrintsJson) {
  std::string id = admin({"/rawreturn", "/create", "j"}).out;
  for (const auto& args : {std::vector<std::string>{"--json", "/list"},
                           std::vector<std::string>{"/rawreturn", "/json", "list"},
                           std::vector<std::string>{"--json", "/info", "j"}}) {
    auto r = admin(args);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    ASSERT_FALSE(r.out.empty());
    EXPECT_TRUE(r.out.front() == '[' || r.out.front() == '{') << r.out;  // JSON, no banner
    EXPECT_NE(r.out.find("\"id\":"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(id), std::string::npos) << r.out;
  }
  auto other = admin({"--json", "/getstate", "j"});  // no JSON form: said, not ignored
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_EQ(other.err,
            "Invalid arguments: --json is available with /LIST, /INFO, /MONITOR, /CACHE /LIST, "
            "/CACHE /INFO and /PEERS /LIST only.\n");
}

TEST_F(BitsadminUtilTest, VersionPrintsTheVersionOnly) {
  for (const char* spelling : {"--version", "/VERSION"}) {
    auto r = admin({spelling});
    EXPECT_EQ(r.exit_code, 0) << spelling;
    EXPECT_EQ(r.out, "bitsadmin 0.1.0\n") << spelling;
    EXPECT_EQ(r.err, "");
  }
}

TEST_F(BitsadminUtilTest, ListShowsJobsInCreationOrderAlsoAfterARestart) {
  // Eight random GUIDs come out in creation order by chance once in 40,320 runs.
  std::vector<std::string> created;
  for (int i = 0; i < 8; ++i) {
    created.push_back(admin({"/rawreturn", "/create", "job" + std::to_string(i)}).out);
    ASSERT_TRUE(parse_guid(created.back()).has_value()) << created.back();
  }
  EXPECT_EQ(listed_ids(admin({"/list"}).out), created);
  std::vector<std::string> by_api;
  auto jobs = manager->enum_jobs();
  ASSERT_TRUE(jobs.ok());
  for (const JobInfo& job : *jobs) by_api.push_back(to_string(job.id));
  EXPECT_EQ(by_api, created);
  bitsd.terminate();
  bitsd.start();
  EXPECT_EQ(listed_ids(admin({"/list"}).out), created);
  auto json = admin({"/list", "--json"}).out;
  std::size_t previous = 0;
  for (const std::string& id : created) {
    std::size_t at = json.find(id);
    ASSERT_NE(at, std::string::npos) << json;
    EXPECT_GT(at, previous) << id;
    previous = at;
  }
}

TEST_F(BitsadminUtilTest, HelpListsTheFamiliesAndEachFamilyAnswersItsHelp) {
  auto help = admin({"/?"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* command :
       {"/GETREPLYDATA", "/GETREPLYPROGRESS", "/GETREPLYFILENAME", "/SETREPLYFILENAME",
        "/GETPEERSTATS", "/UTIL /?", "/CACHE /?", "/PEERS /?", "/PEERCACHING /?"}) {
    EXPECT_NE(help.out.find(command), std::string::npos) << command;
  }
  for (const char* family : {"util", "cache", "peers", "peercaching"}) {
    for (const char* ask : {"/?", "/help"}) {
      auto r = admin({std::string("/") + family, ask});
      EXPECT_EQ(r.exit_code, 0) << family << ' ' << ask << ": " << r.err;
      EXPECT_EQ(r.err, "");
      EXPECT_NE(r.out.find("USAGE: BITSADMIN /"), std::string::npos) << r.out;
    }
  }
  EXPECT_NE(admin({"/util", "/?"}).out.find("/UTIL /REPAIRSERVICE"), std::string::npos);
  auto cache = admin({"/cache", "/list"});  // built now (issue 14): an empty cache
  EXPECT_EQ(cache.exit_code, 0) << cache.err;
  EXPECT_NE(cache.out.find("Listed 0 record(s).\n"), std::string::npos) << cache.out;
}

TEST_F(BitsadminUtilTest, UtilVersionNamesBitsdAndBitsadmin) {
  auto r = admin({"/util", "/version"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("bitsd version: 0.1.0\nbitsadmin version: 0.1.0\n"), std::string::npos)
      << r.out;
  EXPECT_EQ(admin({"/rawreturn", "util", "version"}).out, "0.1.0");
  auto verbose = admin({"/util", "/version", "/verbose"});
  EXPECT_NE(verbose.out.find("answers on " + bitsd.socket()), std::string::npos) << verbose.out;
  bitsd.terminate();
  auto down = admin({"/util", "/version"});
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_EQ(down.err.rfind("Unable to get the BITS version - 0x", 0), 0u) << down.err;
}

TEST_F(BitsadminUtilTest, UtilGetIeProxyShowsTheSystemProxyAndPreconfigWithoutPasswords) {
  std::string config = dir.path() + "/bitsd.json";
  std::ofstream(config)
      << R"({"system_proxy": "sysproxy.test:3128", "system_proxy_bypass": "<local>"})";
  bitsd.terminate();
  bitsd.start({"--config", config});
  auto r = admin({"/util", "/getieproxy", "LOCALSYSTEM"},
                 {"http_proxy=http://alice:s3cret@envproxy.test:8080"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Internet proxy settings for account LOCALSYSTEM:\n"
                       "System proxy (system_proxy in bitsd's config): sysproxy.test:3128\n"
                       "System proxy bypass list (system_proxy_bypass): <local>\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("  http_proxy=http://alice:****@envproxy.test:8080\n"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("PRECONFIG proxy for http:// URLs:  http://alice:****@envproxy.test:8080\n"),
            std::string::npos)
      << r.out;
  // No https_proxy or all_proxy in the environment: the system proxy serves https.
  EXPECT_NE(r.out.find("PRECONFIG proxy for https:// URLs: http://sysproxy.test:3128\n"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("s3cret"), std::string::npos);
  EXPECT_EQ(bitsd.log().find("s3cret"), std::string::npos);
  auto other = admin({"/util", "/getieproxy", "NetworkService"});
  EXPECT_EQ(other.exit_code, 0);
  EXPECT_NE(other.out.find("the process that creates each job"), std::string::npos) << other.out;
  auto unknown = admin({"/util", "/getieproxy", "no-such-account-here"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("unknown account"), std::string::npos) << unknown.err;
}

TEST_F(BitsadminUtilTest, UtilRepairServiceChecksTheStoreForAdministratorsOnly) {
  admin({"/create", "kept"});
  auto r = admin({"/util", "/repairservice"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("/state/jobs.db passed SQLite's integrity check; nothing to repair.\n"),
            std::string::npos)
      << r.out;
  auto user = admin({"/util", "/repairservice"}, {}, 65534);
  EXPECT_EQ(user.exit_code, 1);
  EXPECT_EQ(user.err.rfind("Unable to repair the service - 0x80070005. ", 0), 0u) << user.err;
  auto force = admin({"/util", "/repairservice", "/force"});
  EXPECT_EQ(force.exit_code, 1);
  EXPECT_EQ(force.err.rfind("Unable to repair the service - 0x80070032. ", 0), 0u) << force.err;
  EXPECT_EQ(manager->enum_jobs()->size(), 1u);  // the check changed nothing
}

TEST_F(BitsadminUtilTest, UtilSetIeProxyIsRefusedWithNotSupported) {
  auto r = admin({"/util", "/setieproxy", "localsystem", "MANUAL_PROXY", "proxy1:80", "NULL"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("Unable to set the Internet proxy settings - 0x80070032. /UTIL /SETIEPROXY "
                        "is not supported on openbits: set system_proxy",
                        0),
            0u)
      << r.err;
  EXPECT_EQ(r.out.find("set to"), std::string::npos) << r.out;  // not Windows' success line
}

}  // namespace
}  // namespace openbits::itest
