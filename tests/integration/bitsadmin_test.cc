// bitsadmin end to end against a real bitsd and nginx: output layouts, exit statuses,
// errors on stderr, and what another (unprivileged) user may see and do.
#include <algorithm>
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

namespace openbits::itest {
namespace {

// Exact output shapes, setters, and the ways /TRANSFER ends without a delivered file.
class BitsadminShapeTest : public ServiceTest {
 protected:
  CommandResult admin(std::vector<std::string> args) {
    args.insert(args.begin(), OPENBITS_BITSADMIN_PATH);
    return run_command(args, {"OPENBITS_SOCKET=" + bitsd.socket()});
  }
  static constexpr const char* kBanner =
      "\nBITSADMIN version 3.0 [openbits 0.1.0]\nBITS administration utility.\n"
      "(C) openbits contributors.\n\n";
};

TEST_F(BitsadminShapeTest, RawGettersPrintBareValues) {
  make_file(nginx.root() + "/g", 5000, 3);
  std::string id = admin({"/rawreturn", "/create", "getters"}).out;
  ASSERT_TRUE(parse_guid(id).has_value()) << id;
  ASSERT_EQ(admin({"/addfile", id, nginx.url("/g"), out + "/g"}).exit_code, 0);
  EXPECT_EQ(admin({"/RawReturn", "/GetType", "getters"}).out, "DOWNLOAD");
  EXPECT_EQ(admin({"/rawreturn", "getfilestotal", "getters"}).out, "1");
  EXPECT_EQ(admin({"/rawreturn", "-getpriority", id}).out, "NORMAL");
  EXPECT_EQ(admin({"/rawreturn", "/getnotifycmdline", id}).out, "none");
  EXPECT_EQ(admin({"/rawreturn", "/getproxylist", id}).out, "NULL");
  auto cooked = admin({"/getstate", "getters"});
  EXPECT_EQ(cooked.out, std::string(kBanner) + "SUSPENDED\n");
  EXPECT_EQ(cooked.err, "");
  ASSERT_EQ(admin({"/resume", id}).out, std::string(kBanner) + "Job resumed.\n");
  ASSERT_EQ(wait_for_state(*manager->get_job(*parse_guid(id)), {JobState::kTransferred}),
            JobState::kTransferred);
  EXPECT_EQ(admin({"/rawreturn", "/getbytestotal", id}).out, "5000");
  EXPECT_EQ(admin({"/rawreturn", "/getbytestransferred", id}).out, "5000");
  EXPECT_EQ(admin({"/rawreturn", "/getvalidationstate", id, "0"}).out, "FALSE");
  EXPECT_EQ(admin({"/setvalidationstate", id, "0", "TRUE"}).exit_code, 0);
  EXPECT_EQ(admin({"/rawreturn", "/getvalidationstate", id, "0"}).out, "TRUE");
  EXPECT_EQ(admin({"/rawreturn", "/getvalidationstate", id, "1"})
                .err.rfind("Unable to get validation state - 0x80200029.", 0),
            0u);
  EXPECT_NE(admin({"/rawreturn", "/getcompletiontime", id}).out, "UNKNOWN");
}

TEST_F(BitsadminShapeTest, SettersRoundTripThroughTheDaemon) {
  std::string id = admin({"/rawreturn", "/create", "setters"}).out;
  auto set = [&](std::vector<std::string> args) {
    auto r = admin(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out.substr(std::string(kBanner).size());
  };
  auto get = [&](const std::string& what) { return admin({"/rawreturn", what, id}).out; };
  EXPECT_EQ(set({"/SetDescription", id, "Music", "Downloads"}), "Description set.\n");
  EXPECT_EQ(get("/getdescription"), "Music Downloads");
  set({"/setminretrydelay", id, "0x3c"});
  EXPECT_EQ(get("/getminretrydelay"), "60");
  set({"/setpriority", id, "foreground"});
  EXPECT_EQ(get("/getpriority"), "FOREGROUND");
  set({"/setproxysettings", id, "OVERRIDE", "proxy1:80,proxy2", "NULL"});
  EXPECT_EQ(get("/getproxyusage"), "OVERRIDE");
  EXPECT_EQ(get("/getproxylist"), "proxy1:80,proxy2");
  EXPECT_EQ(get("/getproxybypasslist"), "NULL");
  set({"/setaclflag", id, "OG"});
  EXPECT_EQ(get("/getaclflags"), "og");
  set({"/setsecurityflags", id, "0x0001"});
  EXPECT_EQ(get("/getsecurityflags"), "1");
  set({"/setnotifycmdline", id, "/bin/true", "/bin/true x"});
  EXPECT_EQ(get("/getnotifycmdline"), "/bin/true /bin/true x");
  set({"/setnotifycmdline", id, "NULL", "NULL"});
  EXPECT_EQ(get("/getnotifycmdline"), "none");
  set({"/setcustomheaders", id, "X-A: 1"});
  set({"/makecustomheaderswriteonly", id});
  auto hidden = admin({"/getcustomheaders", id});
  EXPECT_EQ(hidden.exit_code, 1);
  EXPECT_EQ(hidden.err.rfind("Unable to get custom headers - 0x80070005.", 0), 0u) << hidden.err;
  auto bad = admin({"/setpriority", id, "urgent"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.err,
            "Unable to set priority - 0x80070057. The priority must be FOREGROUND, HIGH, NORMAL "
            "or LOW.\n");
}

TEST_F(BitsadminShapeTest, ErrorShapesOnStderr) {
  auto name = admin({"/getstate", "nobody"});
  EXPECT_EQ(name.exit_code, 1);
  EXPECT_EQ(name.err,
            "Unable to get state - 0x80200001. The requested job was not found: no job is named "
            "'nobody'.\n");
  EXPECT_EQ(name.out, kBanner);
  auto guid = admin({"/info", "{C775D194-090F-431F-B5FB-8334D00D1CB6}", "/verbose"});
  EXPECT_EQ(guid.exit_code, 1);
  EXPECT_EQ(guid.err.rfind("Unable to get job information - 0x80200001. ", 0), 0u) << guid.err;
  EXPECT_EQ(std::count(guid.err.begin(), guid.err.end(), '\n'), 1);
  auto switch_ = admin({"/list", "/bogus"});
  EXPECT_EQ(switch_.exit_code, 1);
  EXPECT_EQ(switch_.err,
            "Invalid arguments: unexpected argument '/bogus'.\n"
            "Usage: bitsadmin /LIST [/ALLUSERS] [/VERBOSE] [--json]\n");
  auto later = admin({"/sethelpertokenflags", "j", "1"});
  EXPECT_EQ(later.exit_code, 1);
  EXPECT_EQ(later.err.rfind("Unable to set helper token flags - 0x80004001. ", 0), 0u) << later.err;
  admin({"/create", "quiet"});
  auto no_error = admin({"/geterror", "quiet"});
  EXPECT_EQ(no_error.exit_code, 1);
  EXPECT_EQ(no_error.err.rfind("Unable to get error - 0x8020000f. ", 0), 0u) << no_error.err;
}

TEST_F(BitsadminShapeTest, NoOrUnknownCommandPrintsUsage) {
  for (const auto& args : {std::vector<std::string>{}, std::vector<std::string>{"/frobnicate"}}) {
    auto r = admin(args);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.out.rfind(std::string(kBanner) + "Invalid command\nUSAGE: BITSADMIN ", 0), 0u)
        << r.out;
  }
  auto help = admin({"/?"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("/TRANSFER name"), std::string::npos);
}

TEST_F(BitsadminShapeTest, ListResetAndJsonInfo) {
  std::string a = admin({"/rawreturn", "/create", "a"}).out;
  std::string b = admin({"/rawreturn", "/create", "b"}).out;
  auto list = admin({"/list"});
  EXPECT_NE(list.out.find(a + " 'a' SUSPENDED 0 / 0 0 / 0\n"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find(b + " 'b' SUSPENDED 0 / 0 0 / 0\n"), std::string::npos) << list.out;
  EXPECT_EQ(list.out.substr(list.out.size() - 21), " 0\n\nListed 2 job(s).\n") << list.out;
  auto json = admin({"/info", "a", "--json"});
  EXPECT_EQ(json.out.front(), '{') << json.out;  // no banner
  EXPECT_NE(json.out.find("\"id\": \"" + a + "\""), std::string::npos) << json.out;
  auto reset = admin({"/reset"});
  EXPECT_EQ(reset.exit_code, 0);
  EXPECT_NE(reset.out.find(a + " canceled.\n"), std::string::npos);
  EXPECT_NE(reset.out.find(b + " canceled.\n"), std::string::npos);
  EXPECT_NE(reset.out.find("2 out of 2 jobs canceled.\n"), std::string::npos);
  EXPECT_TRUE(manager->enum_jobs()->empty());
}

TEST_F(BitsadminShapeTest, TransferOf404EndsWithTheErrorAndNoJob) {
  auto r = admin({"/transfer", "gone", nginx.url("/missing"), out + "/missing"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("DISPLAY: 'gone' TYPE: DOWNLOAD STATE: ERROR\n"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("ERROR FILE:    " + nginx.url("/missing") + " -> " + out + "/missing\n"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("Transfer complete."), std::string::npos);
  EXPECT_EQ(r.err,
            "Unable to complete transfer - 0x80190194. " + describe_hresult(0x80190194) + "\n");
  EXPECT_TRUE(manager->enum_jobs()->empty());
  EXPECT_FALSE(exists(out + "/missing"));
  EXPECT_TRUE(temp_files_in(out).empty());
}

TEST_F(BitsadminShapeTest, TransferThatCannotAddAFileLeavesNoJob) {
  auto r = admin({"/transfer", "rel", nginx.url("/x"), "relative/path"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("Unable to add file to job - 0x", 0), 0u) << r.err;
  EXPECT_TRUE(manager->enum_jobs()->empty());
}

TEST_F(BitsadminShapeTest, CtrlCCancelsTheTransferJob) {
  make_file(nginx.root() + "/slowfile", 4 << 20, 9);
  auto r = run_command(
      {"/usr/bin/timeout", "--preserve-status", "-s", "INT", "1.5", OPENBITS_BITSADMIN_PATH,
       "/transfer", "interrupted", nginx.url("/slow/slowfile?rate=500k"), out + "/slowfile"},
      {"OPENBITS_SOCKET=" + bitsd.socket()});
  EXPECT_EQ(r.exit_code, 130) << r.out << r.err;
  EXPECT_NE(r.err.find("Transfer canceled."), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("DISPLAY: 'interrupted' TYPE: DOWNLOAD STATE: TRANSFERRING"),
            std::string::npos)
      << r.out;
  EXPECT_TRUE(manager->enum_jobs()->empty());
  EXPECT_FALSE(exists(out + "/slowfile"));
  EXPECT_TRUE(temp_files_in(out).empty());
}

}  // namespace
}  // namespace openbits::itest
