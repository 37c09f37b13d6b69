// Administrators and integrity levels through bitsadmin against the real bitsd: root and
// members of the configured admin group list every user's jobs, cancel them, reset all
// users and take ownership (logged); ordinary users get E_ACCESSDENIED; owner elevation
// and integrity are recorded at creation, and a caller under no_new_privs (LOW) cannot
// change a job its own uid created at MEDIUM.
#include <fstream>

#include "tests/integration/itest.h"

namespace openbits::itest {
namespace {

constexpr uid_t kUser = 65534;
constexpr uid_t kGroupAdmin = 65533;
constexpr gid_t kAdminGroup = 4242;
constexpr uid_t kOther = 65000;  // an ordinary user who owns nothing

class AdminTest : public ServiceTest {
 protected:
  void SetUp() override {
    ServiceTest::SetUp();
    std::string config = dir.path() + "/bitsd.json";
    std::ofstream(config) << R"({"admin_group": )" << kAdminGroup << "}";
    bitsd.terminate();
    bitsd.start({"--config", config});
    manager.emplace(bitsd.connect());
  }
  // bitsadmin as `uid` (gid `gid`, no supplementary groups), optionally under no_new_privs.
  CommandResult as(uid_t uid, gid_t gid, std::vector<std::string> args, bool nnp = false) {
    std::vector<std::string> argv = {"/usr/bin/setpriv", "--reuid=" + std::to_string(uid),
                                     "--regid=" + std::to_string(gid), "--clear-groups"};
    if (nnp) argv.push_back("--no-new-privs");
    argv.push_back(OPENBITS_BITSADMIN_PATH);
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, {"OPENBITS_SOCKET=" + bitsd.socket()});
  }
  CommandResult as_user(std::vector<std::string> args, bool nnp = false) {
    return as(kUser, kUser, std::move(args), nnp);
  }
  CommandResult as_root(std::vector<std::string> args) {
    args.insert(args.begin(), OPENBITS_BITSADMIN_PATH);
    return run_command(args, {"OPENBITS_SOCKET=" + bitsd.socket()});
  }
  // The user's job's {GUID}.
  std::string user_job(const std::string& name) {
    auto created = as_user({"/create", name});
    std::size_t brace = created.out.find('{');
    EXPECT_NE(brace, std::string::npos) << created.out << created.err;
    return brace == std::string::npos ? "" : created.out.substr(brace, 38);
  }
};

TEST_F(AdminTest, OrdinaryUsersCannotListAllUsersOrTouchForeignJobs) {
  std::string theirs = user_job("theirs");
  auto list = as(kOther, kOther, {"/list", "/allusers"});
  EXPECT_EQ(list.err.rfind("Unable to list jobs - 0x80070005.", 0), 0u) << list.err;
  auto cancel = as(kOther, kOther, {"/cancel", theirs});
  EXPECT_NE(cancel.exit_code, 0);
  EXPECT_NE(cancel.err.find("0x80070005"), std::string::npos) << cancel.err;
  auto take = as(kOther, kOther, {"/takeownership", theirs});
  EXPECT_NE(take.err.find("0x80070005"), std::string::npos) << take.err;
  EXPECT_EQ(as_user({"/rawreturn", "/getstate", theirs}).out, "SUSPENDED");
}

TEST_F(AdminTest, RootAndTheAdminGroupListAndCancelEveryUsersJobsAndAreLogged) {
  std::string first = user_job("first");
  std::string second = user_job("second");
  auto root_list = as_root({"/list", "/allusers"});
  EXPECT_NE(root_list.out.find(first), std::string::npos) << root_list.out;
  auto group_list = as(kGroupAdmin, kAdminGroup, {"/list", "/allusers"});
  EXPECT_EQ(group_list.exit_code, 0) << group_list.err;
  EXPECT_NE(group_list.out.find(second), std::string::npos) << group_list.out;
  EXPECT_EQ(as(kGroupAdmin, kAdminGroup, {"/cancel", first}).exit_code, 0);
  EXPECT_NE(as_user({"/getstate", first}).exit_code, 0);  // gone
  EXPECT_NE(bitsd.log().find("admin uid " + std::to_string(kGroupAdmin) + " acts on job " + first),
            std::string::npos)
      << bitsd.log();
  auto reset = as_root({"/reset", "/allusers"});
  EXPECT_EQ(reset.exit_code, 0) << reset.err;
  EXPECT_NE(as_user({"/getstate", second}).exit_code, 0);
  EXPECT_NE(bitsd.log().find("admin uid 0 acts on job " + second), std::string::npos);
}

TEST_F(AdminTest, TakeOwnershipMovesTheJobToTheAdministrator) {
  std::string job = user_job("taken");
  ASSERT_EQ(as_user({"/setcustomheaders", job, "X-Secret: 1"}).exit_code, 0);
  auto take = as_root({"/takeownership", job});
  EXPECT_EQ(take.exit_code, 0) << take.err;
  EXPECT_EQ(as_root({"/rawreturn", "/getowner", job}).out, "root");
  EXPECT_EQ(as_root({"/rawreturn", "/getownerintegritylevel", job}).out, "SYSTEM");
  EXPECT_EQ(as_root({"/rawreturn", "/getcustomheaders", job}).out.find("X-Secret"),
            std::string::npos);  // stored secrets are dropped
  auto after = as_user({"/getstate", job});
  EXPECT_NE(after.err.find("0x80070005"), std::string::npos) << after.err;
  EXPECT_NE(bitsd.log().find("uid 0 takes ownership of job " + job + " from uid " +
                             std::to_string(kUser)),
            std::string::npos);
}

TEST_F(AdminTest, OwnerElevationAndIntegrityAreRecordedAndLowerLevelsCannotModify) {
  std::string medium = user_job("medium");
  EXPECT_EQ(as_user({"/rawreturn", "/getownerelevationstate", medium}).out, "false");
  EXPECT_EQ(as_user({"/rawreturn", "/getownerintegritylevel", medium}).out, "MEDIUM");
  auto group = as(kGroupAdmin, kAdminGroup, {"/create", "high"});
  std::string high = group.out.substr(group.out.find('{'), 38);
  EXPECT_EQ(as(kGroupAdmin, kAdminGroup, {"/rawreturn", "/getownerintegritylevel", high}).out,
            "HIGH");
  auto root = as_root({"/create", "system"});
  std::string system = root.out.substr(root.out.find('{'), 38);
  EXPECT_EQ(as_root({"/rawreturn", "/getownerelevationstate", system}).out, "true");
  EXPECT_EQ(as_root({"/rawreturn", "/getownerintegritylevel", system}).out, "SYSTEM");
  auto verbose = as_user({"/info", medium, "/verbose"});
  EXPECT_NE(verbose.out.find("MEDIUM"), std::string::npos) << verbose.out;
  // The same uid at LOW (no_new_privs) may read its job but not change it.
  EXPECT_EQ(as_user({"/rawreturn", "/getstate", medium}, true).out, "SUSPENDED");
  auto low = as_user({"/suspend", medium}, true);
  EXPECT_NE(low.err.find("0x80070005"), std::string::npos) << low.err;
  auto low_job = as_user({"/create", "low"}, true);
  std::string low_id = low_job.out.substr(low_job.out.find('{'), 38);
  EXPECT_EQ(as_user({"/rawreturn", "/getownerintegritylevel", low_id}).out, "LOW");
  EXPECT_EQ(as_user({"/setdescription", low_id, "ok"}).exit_code, 0);  // MEDIUM >= LOW
  // An administrator group member cannot change root's (SYSTEM) job.
  auto denied = as(kGroupAdmin, kAdminGroup, {"/cancel", system});
  EXPECT_NE(denied.err.find("0x80070005"), std::string::npos) << denied.err;
}

}  // namespace
}  // namespace openbits::itest
