// Administrators and integrity levels through bitsadmin against the real bitsd: root and
// members of the configured admin group list every user's jobs, read, cancel, reset and
// take ownership (each logged); the new owner must be able to write the destination, the
// job's notification command line is dropped, the former owner's subscription ends, and
// its next transfer runs as the new owner;
// ordinary users get E_ACCESSDENIED; owner elevation and integrity are recorded at
// creation, and a caller under no_new_privs (LOW), or whose process bitsd cannot read,
// cannot change a job its own uid created at MEDIUM.
#include <grp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/integration/itest.h"

namespace openbits::itest {
namespace {

constexpr uid_t kUser = 65534;
constexpr uid_t kGroupAdmin = 65533;
constexpr gid_t kAdminGroup = 4242;
constexpr uid_t kOther = 65000;  // an ordinary user who owns nothing

// A connection to bitsd made by a child process of `uid` and handed to the test over
// SCM_RIGHTS. bitsd is stopped (SIGSTOP) while the child connects, so it identifies the
// caller only after SIGCONT; with `gone_first`, the child has exited and been reaped by
// then (its /proc/<pid> no longer exists), otherwise it stays alive until destruction.
class HandedConnection {
 public:
  HandedConnection(const Bitsd& bitsd, uid_t uid, bool gone_first) {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return;
    ::kill(bitsd.pid(), SIGSTOP);
    child_ = ::fork();
    if (child_ == 0) {
      ::close(pair[0]);
      if (::setgroups(0, nullptr) != 0 || ::setgid(uid) != 0 || ::setuid(uid) != 0) _exit(2);
      int fd = connect_raw(bitsd.socket());  // completes without accept(2)
      if (fd < 0 || !send_fd(pair[1], fd)) _exit(3);
      char byte = 0;
      (void)!::read(pair[1], &byte, 1);  // alive until the test closes its end
      _exit(0);
    }
    ::close(pair[1]);
    control_ = pair[0];
    fd_ = receive_fd(control_);
    if (gone_first) end_child();
    ::kill(bitsd.pid(), SIGCONT);
  }
  ~HandedConnection() {
    if (fd_ >= 0) ::close(fd_);
    end_child();
  }
  int fd() const { return fd_; }

 private:
  static bool send_fd(int over, int fd) {
    char byte = 'f';
    iovec iov{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
    return ::sendmsg(over, &msg, 0) == 1;
  }
  static int receive_fd(int over) {
    char byte = 0;
    iovec iov{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    if (::recvmsg(over, &msg, MSG_CMSG_CLOEXEC) != 1) return -1;
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    if (cmsg == nullptr || cmsg->cmsg_type != SCM_RIGHTS) return -1;
    int fd = -1;
    std::memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
    return fd;
  }
  void end_child() {
    if (control_ >= 0) ::close(control_);
    control_ = -1;
    if (child_ > 0) ::waitpid(child_, nullptr, 0);
    child_ = -1;
  }

  pid_t child_ = -1;
  int control_ = -1;
  int fd_ = -1;
};

// One JSON-RPC call on a raw connection: the result's or the error's HRESULT, and the
// result itself.
std::pair<std::uint32_t, nlohmann::json> call(int fd, const std::string& method,
                                              const nlohmann::json& params) {
  nlohmann::json request = {{"jsonrpc", "2.0"}, {"id", 1}, {"method", method}, {"params", params}};
  if (!send_all(fd, request.dump() + "\n")) return {0xFFFFFFFF, {}};
  auto reply = nlohmann::json::parse(read_line(fd), nullptr, false);
  if (reply.is_discarded()) return {0xFFFFFFFF, {}};
  if (reply.contains("error")) return {reply["error"]["data"].value("hresult", 0xFFFFFFFFu), {}};
  return {reply["result"].value("hresult", 0u), reply["result"]};
}

// A call on a subscribed connection: the reply (null if none came within the connection's
// receive timeout); the notifications read before it are appended to `events`.
nlohmann::json call_collecting(int fd, const std::string& method, const nlohmann::json& params,
                               std::vector<nlohmann::json>& events) {
  nlohmann::json request = {{"jsonrpc", "2.0"}, {"id", 7}, {"method", method}, {"params", params}};
  if (!send_all(fd, request.dump() + "\n")) return {};
  for (std::string line = read_line(fd); !line.empty(); line = read_line(fd)) {
    auto message = nlohmann::json::parse(line, nullptr, false);
    if (message.is_discarded()) return {};
    if (message.contains("id")) return message;
    events.push_back(std::move(message));
  }
  return {};
}

std::string dump_all(const std::vector<nlohmann::json>& events) {
  std::string text;
  for (const auto& event : events) text += event.dump() + "\n";
  return text;
}

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
  // Reads of a foreign job are logged too, one line per call.
  EXPECT_EQ(as_root({"/info", second}).exit_code, 0);
  std::string log = bitsd.log();
  EXPECT_NE(log.find("admin uid 0 reads job " + second + " of uid " + std::to_string(kUser)),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("admin uid 0 lists all users' jobs (2 of other users)"), std::string::npos);
  EXPECT_NE(log.find("admin uid " + std::to_string(kGroupAdmin) + " lists all users' jobs"),
            std::string::npos);
  EXPECT_EQ(log.find("admin uid " + std::to_string(kUser)), std::string::npos);  // own jobs
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

TEST_F(AdminTest, CallerWhoseProcessIsGoneBeforeItIsIdentifiedIsLowIntegrity) {
  std::string medium = user_job("medium");
  {  // Control: the same route, with the connecting process still alive, may modify.
    HandedConnection alive(bitsd, kUser, false);
    ASSERT_GE(alive.fd(), 0);
    EXPECT_EQ(call(alive.fd(), "job.suspend", {{"job_id", medium}}).first, 0u);
  }
  // A no_new_privs process could fork a child that connects and exits at once: bitsd
  // then cannot read what the child was, and must not rate it MEDIUM.
  HandedConnection gone(bitsd, kUser, true);
  ASSERT_GE(gone.fd(), 0);
  EXPECT_EQ(call(gone.fd(), "job.suspend", {{"job_id", medium}}).first, 0x80070005u);
  auto [hr, created] = call(gone.fd(), "manager.create_job", {{"display_name", "unknown"}});
  ASSERT_EQ(hr, 0u);
  std::string low = created.value("job_id", "");
  EXPECT_EQ(as_user({"/rawreturn", "/getownerintegritylevel", low}).out, "LOW");
  EXPECT_EQ(as_user({"/rawreturn", "/getownerelevationstate", low}).out, "false");
  EXPECT_EQ(as_user({"/rawreturn", "/getstate", medium}).out, "SUSPENDED");
}

TEST_F(AdminTest, AdminGroupMemberTakesOwnershipAndTheNextTransferRunsAsTheNewOwner) {
  make_file(nginx.root() + "/taken.bin", 300000, 41);
  std::string job = user_job("taken");
  ASSERT_EQ(as_user({"/addfile", job, nginx.url("/taken.bin"), out + "/taken.bin"}).exit_code, 0);
  ASSERT_EQ(as_user({"/setnotifycmdline", job, "/bin/true", "NULL"}).exit_code, 0);
  auto take = as(kGroupAdmin, kAdminGroup, {"/takeownership", job});
  ASSERT_EQ(take.exit_code, 0) << take.err;
  auto admin = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "/rawreturn");
    return as(kGroupAdmin, kAdminGroup, std::move(args)).out;
  };
  EXPECT_EQ(admin({"/getowner", job}), std::to_string(kGroupAdmin));  // no passwd entry
  EXPECT_EQ(admin({"/getownerintegritylevel", job}), "HIGH");
  EXPECT_EQ(admin({"/getnotifycmdline", job}), "none");  // the command line is dropped
  EXPECT_NE(as_user({"/getstate", job}).err.find("0x80070005"), std::string::npos);
  EXPECT_NE(bitsd.log().find("uid " + std::to_string(kGroupAdmin) + " takes ownership of job " +
                             job + " from uid " + std::to_string(kUser)),
            std::string::npos);
  ASSERT_EQ(as(kGroupAdmin, kAdminGroup, {"/resume", job}).exit_code, 0);
  std::string state;
  for (int i = 0; i < 300 && state != "TRANSFERRED" && state != "ERROR"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    state = admin({"/getstate", job});
  }
  ASSERT_EQ(state, "TRANSFERRED");
  ASSERT_EQ(as(kGroupAdmin, kAdminGroup, {"/complete", job}).exit_code, 0);
  struct stat st {};
  ASSERT_EQ(::stat((out + "/taken.bin").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, kGroupAdmin);  // written as the new owner, not the old one or root
  EXPECT_EQ(st.st_gid, kAdminGroup);
  EXPECT_TRUE(files_equal(out + "/taken.bin", nginx.root() + "/taken.bin"));
}

TEST_F(AdminTest, TakeOwnershipByAnAdminWhoCannotWriteTheDestinationIsRefused) {
  std::string mine = dir.path() + "/private";
  std::filesystem::create_directory(mine);
  ASSERT_EQ(::chown(mine.c_str(), kUser, kUser), 0);
  std::filesystem::permissions(mine, std::filesystem::perms::owner_all);
  std::string job = user_job("private");
  ASSERT_EQ(as_user({"/addfile", job, nginx.url("/p.bin"), mine + "/p.bin"}).exit_code, 0);
  auto take = as(kGroupAdmin, kAdminGroup, {"/takeownership", job});
  EXPECT_NE(take.exit_code, 0);
  EXPECT_NE(take.err.find("0x80200016"), std::string::npos) << take.err;  // NO_FILE_ACCESS
  EXPECT_EQ(as_user({"/rawreturn", "/getowner", job}).out, "nobody");     // unchanged
  EXPECT_EQ(as_user({"/rawreturn", "/getstate", job}).out, "SUSPENDED");
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

// Issue 18 item 5: a user subscribed to its own job kept hearing about it after root took
// ownership (root's custom headers and command line included) and could acknowledge
// root's job.transferred. Events never carry custom headers or the command line.
TEST_F(AdminTest, TakeOwnershipEndsTheFormerOwnersSubscription) {
  make_file(nginx.root() + "/sub.bin", 200000, 42);
  std::string job = user_job("subscribed");
  ASSERT_EQ(as_user({"/addfile", job, nginx.url("/sub.bin"), out + "/sub.bin"}).exit_code, 0);
  ASSERT_EQ(as_user({"/setnotifyflags", job, "11"}).exit_code, 0);  // + JobModification
  ASSERT_EQ(as_user({"/setcustomheaders", job, "X-User-Secret: s3cr3t"}).exit_code, 0);
  ASSERT_EQ(as_user({"/setnotifycmdline", job, "/bin/true", "/bin/true user-parameter"}).exit_code,
            0);
  HandedConnection subscriber(bitsd, kUser, false);
  int fd = subscriber.fd();
  ASSERT_GE(fd, 0);
  timeval wait{30, 0};
  ASSERT_EQ(::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait), 0);
  std::vector<nlohmann::json> events;
  auto subscribed = call_collecting(fd, "job.subscribe", {{"job_id", job}}, events);
  ASSERT_EQ(subscribed.dump(), R"({"id":7,"jsonrpc":"2.0","result":{"hresult":0}})");
  // Control: the owner hears of its own change, without the job's secrets.
  ASSERT_EQ(as_user({"/setdescription", job, "mine"}).exit_code, 0);
  ASSERT_TRUE(eventually([&] {
    (void)call_collecting(fd, "daemon.version", nlohmann::json::object(), events);
    return !events.empty();
  }));
  EXPECT_EQ(events[0].value("method", ""), "job.modification");
  EXPECT_EQ(dump_all(events).find("s3cr3t"), std::string::npos) << dump_all(events);
  EXPECT_EQ(dump_all(events).find("user-parameter"), std::string::npos) << dump_all(events);
  events.clear();

  ASSERT_EQ(as_root({"/takeownership", job}).exit_code, 0);
  ASSERT_EQ(as_root({"/setcustomheaders", job, "X-Root-Secret: hunter2"}).exit_code, 0);
  (void)as_root({"/setnotifycmdline", job, "/bin/true", "/bin/true root-parameter"});  // any answer
  ASSERT_EQ(as_root({"/setdescription", job, "root's now"}).exit_code, 0);
  ASSERT_EQ(as_root({"/resume", job}).exit_code, 0);
  ASSERT_TRUE(eventually([&] {
    std::string state = as_root({"/rawreturn", "/getstate", job}).out;
    return state == "TRANSFERRED" || state == "ERROR";
  }));
  ASSERT_EQ(as_root({"/rawreturn", "/getstate", job}).out, "TRANSFERRED");
  (void)call_collecting(fd, "daemon.version", nlohmann::json::object(), events);
  EXPECT_TRUE(events.empty()) << dump_all(events);  // nothing after the ownership change
  // Whatever it answers, the former owner never acknowledges root's notification.
  for (std::uint64_t delivery = 1; delivery <= 20; ++delivery) {
    auto reply = call_collecting(fd, "job.acknowledge_notification",
                                 {{"delivery", delivery}, {"hresult", 0}}, events);
    std::uint32_t code = reply.contains("error") ? reply["error"]["data"].value("hresult", 0u) : 0u;
    EXPECT_EQ(code, hr::BG_E_NOT_FOUND) << reply.dump();
  }
  EXPECT_EQ(bitsd.log().find("callback acknowledged by uid " + std::to_string(kUser)),
            std::string::npos);
  EXPECT_NE(bitsd.log().find("subscription of uid " + std::to_string(kUser) + " dropped"),
            std::string::npos);
}

}  // namespace
}  // namespace openbits::itest
