// Notification command lines (SetNotifyCmdLine) against a real bitsd: the program runs as
// the user who registered it, with exactly the parameters given, when the job reaches
// TRANSFERRED or ERROR, again after the retry delay when it fails, even when registered
// after the event, for system accounts (root, nobody) too unless the config forbids it
// (then registering is refused, and one registered before never runs), and is killed
// when it runs longer than the configured limit.
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "tests/integration/itest.h"

namespace openbits::itest {
namespace {

constexpr uid_t kUser = 1234;

class NotifyCmdTest : public ServiceTest {
 protected:
  void SetUp() override {
    if (config_json().empty()) {
      ServiceTest::SetUp();
    } else {
      nginx.start(free_port());
      std::string config = dir.path() + "/bitsd.json";
      std::ofstream(config) << config_json();
      bitsd.start({"--config", config});
      manager.emplace(bitsd.connect());
      out = dir.path() + "/out";
      std::filesystem::create_directories(out);
      std::filesystem::permissions(out, std::filesystem::perms::all);
    }
    home = dir.path() + "/u1234";
    std::filesystem::create_directories(home);
    ::chown(home.c_str(), kUser, kUser);
    ::chmod(home.c_str(), 0755);
    record = home + "/record";
    make_file(nginx.root() + "/f.bin", 5000, 41);
  }
  // The config file bitsd reads; "" for the defaults.
  virtual std::string config_json() const { return ""; }
  // Restarts bitsd on the same state with `config` (JSON).
  void restart_with(const std::string& config) {
    manager.reset();
    bitsd.terminate();
    std::string path = dir.path() + "/bitsd-restart.json";
    std::ofstream(path) << config;
    bitsd.start({"--config", path});
    manager.emplace(bitsd.connect());
  }
  // bitsadmin as uid 1234, or `uid` (setpriv, as an administrator would run it).
  CommandResult as_user(std::vector<std::string> args, uid_t uid = kUser) {
    std::string id = std::to_string(uid);
    std::vector<std::string> argv = {"/usr/bin/setpriv", "--reuid=" + id, "--regid=" + id,
                                     "--clear-groups", OPENBITS_BITSADMIN_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, {"OPENBITS_SOCKET=" + bitsd.socket()});
  }
  // A notification program: appends its uid and each argument to `record`, then runs
  // `bitsadmin <then> <job>` (the job id is its first argument) unless it exits first.
  std::string write_program(const std::string& then, const std::string& before = "") {
    std::string path = home + "/notify.sh";
    std::ofstream(path) << "#!/bin/sh\n"
                        << "{ echo \"uid=$(id -u)\"; for a in \"$@\"; do printf 'arg=[%s]\\n' "
                           "\"$a\"; done; echo ---; } >> "
                        << record << "\n"
                        << before << "exec " << OPENBITS_BITSADMIN_PATH << " " << then
                        << " \"$1\"\n";
    ::chmod(path.c_str(), 0755);
    ::chown(path.c_str(), kUser, kUser);
    return path;
  }
  // Creates a job as the user (its id), with one file from `url` saved in `directory`
  // (default: the user's home).
  std::string create_as_user(const std::string& url, uid_t uid = kUser,
                             const std::string& directory = "") {
    auto r = as_user({"/create", "notify"}, uid);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    auto open = r.out.find('{');
    std::string id = r.out.substr(open, 38);
    r = as_user({"/addfile", id, url, (directory.empty() ? home : directory) + "/out.bin"}, uid);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    return id;
  }
  Job handle(const std::string& id) {
    auto job = manager->get_job(*parse_guid(id));
    EXPECT_TRUE(job.ok());
    return *job;
  }

  std::string home;
  std::string record;
};

TEST_F(NotifyCmdTest, ProgramRunsAsRegisteringUserWithExactParametersAndCompletesTheJob) {
  std::string program = write_program("/complete");
  std::string id = create_as_user(nginx.url("/f.bin"));
  Job job = handle(id);
  std::string parameters =
      "\"" + program + "\" " + id + " \"two words\" \"say \\\"hi\\\"\" 'single' a\\b";
  auto r = as_user({"/setnotifycmdline", id, program, parameters});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  r = as_user({"/getnotifycmdline", id});
  EXPECT_NE(r.out.find(program + " " + parameters), std::string::npos) << r.out;
  ASSERT_EQ(as_user({"/resume", id}).exit_code, 0);
  EXPECT_EQ(wait_for_state(job, {JobState::kAcknowledged}), JobState::kAcknowledged) << bitsd.log();
  EXPECT_EQ(read_text(record), "uid=1234\narg=[" + id +
                                   "]\narg=[two words]\narg=[say \"hi\"]\narg=['single']\n"
                                   "arg=[a\\b]\n---\n");
  EXPECT_TRUE(files_equal(nginx.root() + "/f.bin", home + "/out.bin"));
  std::string log = bitsd.log();
  EXPECT_NE(log.find("uid 1234 registered the notification command line " + program),
            std::string::npos);
  EXPECT_NE(log.find("notification program " + program + " started as uid 1234"),
            std::string::npos);
  // The program exits after its /complete returned: its exit is logged a moment later.
  EXPECT_TRUE(eventually([&] {
    return bitsd.log().find("finished: exit status 0") != std::string::npos;
  })) << bitsd.log();
}

TEST_F(NotifyCmdTest, ParametersNeverAppearInTheLog) {
  // Parameters may carry a token or a password; the log names the program only.
  std::string program = write_program("/complete");
  std::string id = create_as_user(nginx.url("/f.bin"));
  Job job = handle(id);
  auto r = as_user({"/setnotifycmdline", id, program, program + " " + id + " token=Pr1v4te"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  ASSERT_EQ(as_user({"/resume", id}).exit_code, 0);
  EXPECT_EQ(wait_for_state(job, {JobState::kAcknowledged}), JobState::kAcknowledged) << bitsd.log();
  EXPECT_NE(read_text(record).find("arg=[token=Pr1v4te]"), std::string::npos);  // it ran with it
  ASSERT_TRUE(eventually([&] {
    return bitsd.log().find("finished: exit status 0") != std::string::npos;
  })) << bitsd.log();
  std::string log = bitsd.log();
  EXPECT_EQ(log.find("Pr1v4te"), std::string::npos) << log;
  EXPECT_NE(log.find("uid 1234 registered the notification command line " + program +
                     " (parameters not logged)"),
            std::string::npos)
      << log;
}

TEST_F(NotifyCmdTest, FailingProgramRunsAgainAfterTheRetryDelay) {
  // The first run fails; the second completes the job.
  std::string program =
      write_program("/complete", "[ \"$(grep -c -- --- " + record + ")\" -ge 2 ] || exit 3\n");
  std::string id = create_as_user(nginx.url("/f.bin"));
  Job job = handle(id);
  ASSERT_EQ(as_user({"/setminretrydelay", id, "5"}).exit_code, 0);
  ASSERT_EQ(as_user({"/setnotifycmdline", id, program, program + " " + id}).exit_code, 0);
  ASSERT_EQ(as_user({"/resume", id}).exit_code, 0);
  EXPECT_EQ(wait_for_state(job, {JobState::kAcknowledged}), JobState::kAcknowledged) << bitsd.log();
  EXPECT_EQ(count(read_text(record), "---"), 2u);
  std::string log = bitsd.log();
  EXPECT_NE(log.find("finished: exit status 3"), std::string::npos) << log;
  EXPECT_NE(log.find("notification retried in 5 s"), std::string::npos) << log;
}

TEST_F(NotifyCmdTest, RegistrationAfterTheTransferStillRuns) {
  std::string program = write_program("/complete");
  std::string id = create_as_user(nginx.url("/f.bin"));
  Job job = handle(id);
  ASSERT_EQ(as_user({"/resume", id}).exit_code, 0);
  ASSERT_EQ(wait_for_state(job, {JobState::kTransferred}), JobState::kTransferred);
  EXPECT_FALSE(exists(record));
  ASSERT_EQ(as_user({"/setnotifycmdline", id, program, program + " " + id}).exit_code, 0);
  EXPECT_EQ(wait_for_state(job, {JobState::kAcknowledged}), JobState::kAcknowledged) << bitsd.log();
  EXPECT_EQ(read_text(record), "uid=1234\narg=[" + id + "]\n---\n");
}

TEST_F(NotifyCmdTest, ErrorRunsTheProgramWhichCancelsTheJob) {
  std::string program = write_program("/cancel");
  std::string id = create_as_user(nginx.url("/missing.bin"));
  Job job = handle(id);
  ASSERT_EQ(as_user({"/setnotifyflags", id, "2"}).exit_code, 0);
  ASSERT_EQ(as_user({"/setnotifycmdline", id, program, program + " " + id}).exit_code, 0);
  ASSERT_EQ(as_user({"/resume", id}).exit_code, 0);
  EXPECT_EQ(wait_for_state(job, {JobState::kCancelled}), JobState::kCancelled) << bitsd.log();
  EXPECT_EQ(read_text(record), "uid=1234\narg=[" + id + "]\n---\n");
}

TEST_F(NotifyCmdTest, DisabledOrUnflaggedEventsRunNothing) {
  std::string program = write_program("/complete");
  std::string id = create_as_user(nginx.url("/f.bin"));
  Job job = handle(id);
  ASSERT_EQ(as_user({"/setnotifyflags", id, "7"}).exit_code, 0);  // 0x4 disables
  ASSERT_EQ(as_user({"/setnotifycmdline", id, program, program + " " + id}).exit_code, 0);
  ASSERT_EQ(as_user({"/resume", id}).exit_code, 0);
  ASSERT_EQ(wait_for_state(job, {JobState::kTransferred}), JobState::kTransferred);
  // Only ERROR is wanted now: still nothing; then 1 (transferred) makes it run.
  ASSERT_EQ(as_user({"/setnotifyflags", id, "2"}).exit_code, 0);
  EXPECT_FALSE(exists(record));
  ASSERT_EQ(as_user({"/setnotifyflags", id, "1"}).exit_code, 0);
  EXPECT_EQ(wait_for_state(job, {JobState::kAcknowledged}), JobState::kAcknowledged);
  EXPECT_EQ(count(read_text(record), "---"), 1u);
}

// Issue 12 item 2: the README's example, as root (as setup.sh runs it), with the default
// config: "set." and then the program really runs, as root, with the job's name.
TEST_F(NotifyCmdTest, RootsJobRunsTheReadmeExampleCommandLine) {
  std::string marker = out + "/on-done.marker";
  std::string program = dir.path() + "/on-done";
  std::ofstream(program) << "#!/bin/sh\necho \"uid=$(id -u) job=$1\" >> " << marker << "\n";
  ::chmod(program.c_str(), 0755);
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), OPENBITS_BITSADMIN_PATH);
    return run_command(args, {"OPENBITS_SOCKET=" + bitsd.socket()});
  };
  ASSERT_EQ(run({"/create", "myjob"}).exit_code, 0);
  ASSERT_EQ(run({"/addfile", "myjob", nginx.url("/f.bin"), out + "/f.bin"}).exit_code, 0);
  CommandResult set = run({"/setnotifycmdline", "myjob", program, program + " myjob"});
  ASSERT_EQ(set.exit_code, 0) << set.out << set.err;
  EXPECT_NE(set.out.find("set."), std::string::npos) << set.out;
  ASSERT_EQ(run({"/resume", "myjob"}).exit_code, 0);
  EXPECT_TRUE(eventually([&] { return read_text(marker) == "uid=0 job=myjob\n"; }))
      << read_text(marker) << bitsd.log();
  EXPECT_NE(bitsd.log().find("notification program " + program + " started as uid 0"),
            std::string::npos);
  EXPECT_EQ(bitsd.log().find("notification program not run"), std::string::npos);
}

// With notify_system_uids false, registering a program on a system account's job, or as a
// system account, is refused at once, saying why; an ordinary user's own stays accepted.
TEST_F(NotifyCmdTest, ConfigThatForbidsSystemAccountsRefusesTheirCommandLinesAtOnce) {
  restart_with(R"({"notify_system_uids": false})");
  std::string program = write_program("/complete");
  Job root_job = create("root job");
  Status refused = root_job.set_notify_cmd_line(program, std::nullopt);
  EXPECT_EQ(refused.code(), hr::E_ACCESSDENIED);
  EXPECT_NE(refused.message().find("notify_system_uids"), std::string::npos) << refused.message();
  EXPECT_FALSE(root_job.info()->notify_cmd_program.has_value());
  std::string nobodys = create_as_user(nginx.url("/f.bin"), 65534, out);
  CommandResult r = as_user({"/setnotifycmdline", nobodys, program, program}, 65534);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("0x80070005"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("system accounts (uid 65534)"), std::string::npos) << r.err;
  std::string users = create_as_user(nginx.url("/f.bin"));
  EXPECT_EQ(as_user({"/setnotifycmdline", users, program, program}).exit_code, 0);
  // root registering on the user's job would run the program as root: refused too.
  EXPECT_EQ(handle(users).set_notify_cmd_line(program, std::nullopt).code(), hr::E_ACCESSDENIED);
}

// A command line registered before the config forbade system accounts never runs.
TEST_F(NotifyCmdTest, SystemAccountJobsNeverRunPrograms) {
  std::string program = write_program("/complete");
  Job registered = create("root job");
  ASSERT_TRUE(registered.add_file(nginx.url("/f.bin"), out + "/f.bin").ok());
  ASSERT_TRUE(registered.set_notify_cmd_line(program, std::nullopt).ok());
  restart_with(R"({"notify_system_uids": false})");
  Job job = handle(to_string(registered.id()));
  ASSERT_TRUE(job.resume().ok());
  ASSERT_EQ(wait_for_state(job, {JobState::kTransferred}), JobState::kTransferred);
  EXPECT_TRUE(eventually([&] {
    return bitsd.log().find("notification program not run: the job of uid 0") != std::string::npos;
  })) << bitsd.log();
  EXPECT_FALSE(exists(record));
  EXPECT_EQ(*job.state(), JobState::kTransferred);
}

TEST_F(NotifyCmdTest, NobodysJobsNeverRunProgramsAndThatIsLoggedOnce) {
  std::string program = write_program("/complete");
  std::string id = create_as_user(nginx.url("/f.bin"), 65534, out);
  ASSERT_EQ(as_user({"/setnotifycmdline", id, program, program + " " + id}, 65534).exit_code, 0);
  restart_with(R"({"notify_system_uids": false})");  // forbidden after it was registered
  Job job = handle(id);
  ASSERT_EQ(as_user({"/resume", id}, 65534).exit_code, 0);
  ASSERT_EQ(wait_for_state(job, {JobState::kTransferred}), JobState::kTransferred);
  const std::string not_run = "notification program not run: the job of uid 65534";
  EXPECT_TRUE(eventually([&] { return bitsd.log().find(not_run) != std::string::npos; }))
      << bitsd.log();
  // Later changes of the job in TRANSFERRED do not repeat the warning.
  for (const char* text : {"one", "two", "three"}) {
    ASSERT_EQ(as_user({"/setdescription", id, text}, 65534).exit_code, 0);
  }
  ASSERT_EQ(as_user({"/getdescription", id}, 65534).exit_code, 0);
  EXPECT_EQ(count(bitsd.log(), not_run), 1u) << bitsd.log();
  EXPECT_FALSE(exists(record));
  EXPECT_EQ(*job.state(), JobState::kTransferred);
}

class NotifyTimeLimitTest : public NotifyCmdTest {
 protected:
  std::string config_json() const override { return R"({"notify_program_timeout_ms": 1000})"; }
};

TEST_F(NotifyTimeLimitTest, ProgramThatNeverExitsIsKilledAndRunsAgainAfterTheRetryDelay) {
  // Records its pid, then sleeps (as the same process) for an hour.
  std::string program = home + "/hang.sh";
  std::ofstream(program) << "#!/bin/sh\necho $$ >> " << record << "\nexec /bin/sleep 3600\n";
  ::chmod(program.c_str(), 0755);
  std::string id = create_as_user(nginx.url("/f.bin"));
  Job job = handle(id);
  ASSERT_EQ(as_user({"/setminretrydelay", id, "5"}).exit_code, 0);
  ASSERT_EQ(as_user({"/setnotifycmdline", id, program, program}).exit_code, 0);
  ASSERT_EQ(as_user({"/resume", id}).exit_code, 0);
  const std::string killed = "still running after 1000 ms: killed";
  ASSERT_TRUE(eventually([&] { return count(bitsd.log(), killed) >= 2; })) << bitsd.log();
  ASSERT_TRUE(eventually([&] { return count(bitsd.log(), "killed by signal 9") >= 2; }))
      << bitsd.log();
  std::istringstream pids(read_text(record));
  pid_t first = 0;
  pid_t second = 0;
  pids >> first >> second;
  ASSERT_GT(first, 0);
  ASSERT_GT(second, 0);
  for (pid_t pid : {first, second}) {
    EXPECT_FALSE(exists("/proc/" + std::to_string(pid) + "/cmdline")) << pid;  // reaped
  }
  EXPECT_NE(bitsd.log().find("notification retried in 5 s"), std::string::npos);
  EXPECT_EQ(*job.state(), JobState::kTransferred);
  ASSERT_EQ(as_user({"/cancel", id}).exit_code, 0);
}

}  // namespace
}  // namespace openbits::itest
