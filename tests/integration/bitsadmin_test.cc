// bitsadmin end to end against a real bitsd and nginx: output layouts, exit statuses,
// errors on stderr, and what another (unprivileged) user may see and do.
#include <fstream>

#include "tests/integration/itest.h"

namespace openbits::itest {
namespace {

class BitsadminTest : public ServiceTest {
 protected:
  CommandResult admin(std::vector<std::string> args, std::optional<uid_t> uid = std::nullopt) {
    args.insert(args.begin(), OPENBITS_BITSADMIN_PATH);
    return run_command(args, {"OPENBITS_SOCKET=" + bitsd.socket()}, uid);
  }
};

TEST_F(BitsadminTest, CreateAddResumeCompleteDeliversTheFile) {
  make_file(nginx.root() + "/f", 5000, 1);
  auto created = admin({"/rawreturn", "/create", "cli job"});
  ASSERT_EQ(created.exit_code, 0);
  ASSERT_TRUE(parse_guid(created.out).has_value()) << created.out;  // bare GUID, no newline
  EXPECT_EQ(admin({"addfile", "cli job", nginx.url("/f"), out + "/f"}).exit_code, 0);
  auto state = admin({"/RAWRETURN", "/GETSTATE", created.out});
  EXPECT_EQ(state.out, "SUSPENDED");
  EXPECT_EQ(admin({"/Resume", "cli job"}).exit_code, 0);
  auto job = manager->get_job(*parse_guid(created.out));
  ASSERT_EQ(wait_for_state(*job, {JobState::kTransferred, JobState::kError}),
            JobState::kTransferred);
  auto info = admin({"/info", "cli job", "/verbose"});
  EXPECT_NE(info.out.find("GUID: " + created.out + " DISPLAY: 'cli job'"), std::string::npos);
  EXPECT_NE(info.out.find("TYPE: DOWNLOAD STATE: TRANSFERRED OWNER: root"), std::string::npos);
  EXPECT_NE(info.out.find("PRIORITY: NORMAL FILES: 1 / 1 BYTES: 5000 / 5000"), std::string::npos);
  EXPECT_NE(info.out.find("RETRY DELAY: 600 NO PROGRESS TIMEOUT: 1209600 ERROR COUNT: 0"),
            std::string::npos);
  EXPECT_NE(info.out.find("\t5000 / 5000 COMPLETED " + nginx.url("/f") + " -> " + out + "/f"),
            std::string::npos);
  auto list = admin({"list"});
  EXPECT_NE(list.out.find(created.out + " 'cli job' TRANSFERRED 1 / 1 5000 / 5000"),
            std::string::npos);
  EXPECT_NE(list.out.find("Listed 1 job(s)."), std::string::npos);
  auto complete = admin({"/complete", "cli job"});
  EXPECT_EQ(complete.exit_code, 0);
  EXPECT_NE(complete.out.find("Job completed."), std::string::npos);
  EXPECT_TRUE(files_equal(nginx.root() + "/f", out + "/f"));
}

TEST_F(BitsadminTest, TransferPrintsTheFinalFrameAndCompletes) {
  make_file(nginx.root() + "/t", 30, 2);
  auto r = admin({"/transfer", "myJob", nginx.url("/t"), out + "/t"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("DISPLAY: 'myJob' TYPE: DOWNLOAD STATE: TRANSFERRED\n"
                       "PRIORITY: NORMAL FILES: 1 / 1 BYTES: 30 / 30 (100%)\n"
                       "Transfer complete."),
            std::string::npos)
      << r.out;
  EXPECT_TRUE(files_equal(nginx.root() + "/t", out + "/t"));
}

TEST_F(BitsadminTest, TransferOfAMissingUrlPrintsTheErrorAndCancels) {
  auto r = admin({"/transfer", "bad", "/priority", "foreground", nginx.url("/nope"), out + "/n"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("ERROR CODE:    0x80190194 - "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ERROR CONTEXT: 0x00000005 - "), std::string::npos);
  EXPECT_TRUE(manager->enum_jobs()->empty());  // cancelled
}

TEST_F(BitsadminTest, FailuresPrintUnableToOnStderrAndExitNonZero) {
  auto missing = admin({"/getstate", "no such job"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err.rfind("Unable to get state - 0x80200001. ", 0), 0u) << missing.err;
  auto bad_guid = admin({"/getstate", "{00000000-0000-0000-0000-000000000000}"});
  EXPECT_EQ(bad_guid.err.rfind("Unable to get state - 0x80200001.", 0), 0u);
  auto unknown = admin({"/frobnicate"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.out.find("Invalid command"), std::string::npos);
  admin({"/create", "r"});
  auto overlap = admin({"/addfilewithranges", "r", nginx.url("/x"), out + "/x", "100:0,100:5"});
  EXPECT_EQ(overlap.err,
            "Unable to add file to job - 0x8020002c. The list of byte ranges contains some "
            "overlapping ranges, which are not supported.\n");
  admin({"/create", "r"});
  auto ambiguous = admin({"/getstate", "r"});
  EXPECT_EQ(ambiguous.exit_code, 1);
  EXPECT_NE(ambiguous.err.find("GUID"), std::string::npos);
}

TEST_F(BitsadminTest, OtherUsersCannotSeeOrTouchMyJobs) {
  auto created = admin({"/rawreturn", "/create", "private"});
  auto list = admin({"/list"}, 65534);
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("Listed 0 job(s)."), std::string::npos);
  auto peek = admin({"/getstate", created.out}, 65534);
  EXPECT_EQ(peek.err.rfind("Unable to get state - 0x80070005.", 0), 0u) << peek.err;
  auto cancel = admin({"/cancel", created.out}, 65534);
  EXPECT_EQ(cancel.err.rfind("Unable to cancel job - 0x80070005.", 0), 0u) << cancel.err;
  auto all = admin({"/list", "/allusers"}, 65534);
  EXPECT_EQ(all.err.rfind("Unable to list jobs - 0x80070005.", 0), 0u) << all.err;
  auto mine = admin({"/rawreturn", "/create", "nobody's"}, 65534);
  EXPECT_EQ(mine.exit_code, 0);
  auto root_view = admin({"/list", "/allusers"});
  EXPECT_NE(root_view.out.find("Listed 2 job(s)."), std::string::npos);
  auto root_only = admin({"/list"});
  EXPECT_NE(root_only.out.find("Listed 1 job(s)."), std::string::npos);
}

TEST_F(BitsadminTest, JsonListingIsMachineReadable) {
  admin({"/create", "json job"});
  auto r = admin({"/rawreturn", "/list", "--json"});
  EXPECT_EQ(r.out.front(), '[');
  EXPECT_NE(r.out.find("\"display_name\":\"json job\""), std::string::npos);
}

}  // namespace
}  // namespace openbits::itest

namespace openbits::itest {
namespace {

class BitsadminFileSetTest : public ServiceTest {
 protected:
  CommandResult admin(std::vector<std::string> args) {
    args.insert(args.begin(), OPENBITS_BITSADMIN_PATH);
    return run_command(args, {"OPENBITS_SOCKET=" + bitsd.socket()});
  }
};

TEST_F(BitsadminFileSetTest, AddFileSetIsAllOrNothing) {
  std::string list = dir.path() + "/files.txt";
  std::ofstream(list) << "# remote local\n"
                      << nginx.url("/a") << " " << out << "/a\n"
                      << nginx.url("/b") << " " << out << "/b\n";
  admin({"/create", "set"});
  auto ok = admin({"/addfileset", "set", list});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  std::string bad = dir.path() + "/bad.txt";
  std::ofstream(bad) << nginx.url("/c") << " " << out << "/c\n"
                     << nginx.url("/d") << " relative/d\n";
  auto refused = admin({"/addfileset", "set", bad});
  EXPECT_EQ(refused.err.rfind("Unable to add file set to job - 0x80070057.", 0), 0u) << refused.err;
  auto files = admin({"/listfiles", "set"});
  EXPECT_NE(files.out.find("Listed 2 file(s)."), std::string::npos) << files.out;
}

}  // namespace
}  // namespace openbits::itest
