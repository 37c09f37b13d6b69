// bitsadmin's peer-caching commands before they reach bitsd: --json of /CACHE and /PEERS,
// and the argument errors each command reports itself (no daemon runs here: a command that
// got as far as connecting would fail differently).
#include <gtest/gtest.h>

#include <sstream>

#include "src/cli/commands.h"

namespace openbits::cli {
namespace {

struct Outcome {
  int exit_code;
  std::string out;
  std::string err;
};

Outcome run_line(const std::vector<std::string>& argv) {
  std::ostringstream out;
  std::ostringstream err;
  int code = run(parse_invocation(argv), out, err);
  return {code, out.str(), err.str()};
}

TEST(PeerCommandsTest, JsonIsTheCacheAndPeersListsSwitch) {
  Invocation before = parse_invocation({"--json", "/cache", "/list"});
  EXPECT_TRUE(before.json);
  EXPECT_EQ(before.command, "cache");
  EXPECT_EQ(before.args, (std::vector<std::string>{"/list", "--json"}));
  Invocation after = parse_invocation({"peers", "list", "--json"});
  EXPECT_TRUE(after.json);
  EXPECT_EQ(after.command, "peers");
  EXPECT_FALSE(parse_invocation({"/cache", "/list"}).json);
}

TEST(PeerCommandsTest, JsonOfACommandWithoutJsonIsRefused) {
  Outcome r = run_line({"--json", "/peercaching", "/getconfigurationflags"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--json is available with"), std::string::npos) << r.err;
}

TEST(PeerCommandsTest, MissingOrExtraArgumentsPrintTheSynopsis) {
  struct Case {
    std::vector<std::string> argv;
    const char* synopsis;
  };
  for (const Case& c : std::vector<Case>{
           {{"/cache", "/setlimit"}, "/CACHE /SETLIMIT percent"},
           {{"/cache", "/setexpirationtime", "1", "2"}, "/CACHE /SETEXPIRATIONTIME seconds"},
           {{"/cache", "/delete"}, "/CACHE /DELETE recordID"},
           {{"/cache", "/deleteurl"}, "/CACHE /DELETEURL url"},
           {{"/cache", "/clear", "x"}, "/CACHE /CLEAR"},
           {{"/cache", "/info"}, "/CACHE /INFO recordID [/VERBOSE] [--json]"},
           {{"/cache", "/list", "x"}, "/CACHE /LIST [/VERBOSE] [--json]"},
           {{"/peers", "/clear", "x"}, "/PEERS /CLEAR"},
           {{"/peercaching", "/setconfigurationflags"},
            "/PEERCACHING /SETCONFIGURATIONFLAGS [job] value"},
           {{"/getpeerstats", "job"}, "/GETPEERSTATS job file_index"},
           {{"/isdownloadedfrompeer", "job"}, "/ISDOWNLOADEDFROMPEER job file_index"}}) {
    Outcome r = run_line(c.argv);
    EXPECT_EQ(r.exit_code, 1) << c.synopsis;
    EXPECT_EQ(r.err, std::string("Invalid arguments.\nUsage: bitsadmin ") + c.synopsis + "\n");
  }
}

TEST(PeerCommandsTest, MalformedValuesAreInvalidArguments) {
  for (const std::vector<std::string>& argv : std::vector<std::vector<std::string>>{
           {"/cache", "/delete", "not-a-guid"},
           {"/cache", "/info", "{1234}"},
           {"/cache", "/setlimit", "ten"},
           {"/cache", "/setexpirationtime", "-5"},
           {"/peercaching", "/setconfigurationflags", "job", "x"}}) {
    Outcome r = run_line(argv);
    EXPECT_EQ(r.exit_code, 1) << argv[1];
    EXPECT_NE(r.err.find(" - 0x80070057."), std::string::npos) << argv[1] << ": " << r.err;
  }
}

}  // namespace
}  // namespace openbits::cli
