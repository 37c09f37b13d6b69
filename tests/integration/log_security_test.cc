// bitsd's log against local users (issue 18 item 6, docs/security.md): a user cannot forge
// log lines through the strings bitsd logs, and the system instance's log, which names
// every user's jobs and paths, is not readable by other users.
#include <grp.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "tests/integration/itest.h"

namespace openbits::itest {
namespace {

mode_t mode_of(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_mode & 07777 : 0;
}

gid_t group_of(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_gid : static_cast<gid_t>(-1);
}

// What the system instance's log file should be: root:adm 0640, or 0600 without adm.
gid_t log_group() {
  const group* adm = ::getgrnam("adm");
  return adm != nullptr ? adm->gr_gid : 0;
}
mode_t log_mode() { return ::getgrnam("adm") != nullptr ? 0640 : 0600; }

class LogSecurityTest : public ServiceTest {};

// Display names and descriptions with control characters are refused (issue 12 item 9,
// InputRefusalTest); a notification program's path may hold any byte but '\0', as Linux
// paths do, and bitsd logs it when it is registered: the forging attempt goes there.
TEST_F(LogSecurityTest, ProgramPathWithANewlineAndEscapesIsLoggedEscapedOnItsOwnLine) {
  std::string forged = "uid 0 takes ownership of job {00000000-0000-0000-0000-000000000000}";
  std::string program = "/tmp/report\n" + forged + " from uid 65534\x1b[2K\r\x7f";
  Job job = create("report");
  ASSERT_TRUE(job.set_notify_cmd_line(program, std::nullopt).ok());
  std::string id = to_string(job.id());
  std::string log = bitsd.log();
  EXPECT_NE(log.find("job " + id + ": uid 0 registered the notification command line " +
                     "/tmp/report\\n" + forged + " from uid 65534\\x1b[2K\\r\\x7f"),
            std::string::npos)
      << log;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_EQ(line.rfind("uid 0", 0), std::string::npos) << "forged line: " << line;
    EXPECT_EQ(line.find('\x1b'), std::string::npos) << line;
    EXPECT_EQ(line.find('\r'), std::string::npos) << line;
  }
}

TEST_F(LogSecurityTest, SystemInstanceLogOnStderrLosesItsPermissionsForOthers) {
  // The fixture appends bitsd's stderr to this file, as setup.sh's shell redirection did;
  // it exists as 0644: bitsd removes the bits for others at start-up.
  Bitsd second(dir.path() + "/second");
  std::string path = dir.path() + "/second/bitsd/bitsd.log";
  std::ofstream(path) << "an earlier run\n";
  ::chmod(path.c_str(), 0644);
  second.start();
  EXPECT_EQ(mode_of(path), 0640u);
}

TEST_F(LogSecurityTest, LogOptionCreatesTheFileForRootAndAdmOnly) {
  Bitsd second(dir.path() + "/second");
  std::string path = dir.path() + "/second/new.log";
  second.start({"--log", path});
  EXPECT_EQ(mode_of(path), log_mode());
  EXPECT_EQ(group_of(path), log_group());
  EXPECT_NE(read_text(path).find("bitsd ready"), std::string::npos);
}

TEST_F(LogSecurityTest, LogOptionFixesTheModeOfAnExistingWorldReadableLog) {
  Bitsd second(dir.path() + "/second");
  std::string path = dir.path() + "/second/old.log";
  std::ofstream(path) << "an earlier run\n";
  ::chmod(path.c_str(), 0644);
  second.start({"--log", path});
  EXPECT_EQ(mode_of(path), log_mode());
  EXPECT_EQ(group_of(path), log_group());
  std::string text = read_text(path);
  EXPECT_EQ(text.rfind("an earlier run\n", 0), 0u);  // appended, not truncated
  EXPECT_NE(text.find("bitsd ready"), std::string::npos);
}

}  // namespace
}  // namespace openbits::itest
