// SetCredentials / RemoveCredentials through the real bitsd (bits-spec §1.3, §3.6): the
// argument rules, who may call them, secrets that never come back out (getters, bitsadmin,
// the log, the store on disk) and are wiped on Cancel, Complete and TakeOwnership, and
// credentials answering real servers: Apache with Digest and Kerberos Negotiate (a real MIT
// KDC), once, only when the server challenges with their scheme.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "tests/integration/auth_servers.h"
#include "tests/integration/fixture.h"
#include "tests/integration/itest.h"

namespace openbits::itest {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

constexpr uid_t kNobody = 65534;
constexpr const char* kSecret = "Sw0rdfish-4711-unique";

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Rows of bitsd's credentials table, read beside the running daemon (WAL allows it).
int stored_credentials(const std::string& db_path) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* stmt = nullptr;
  int n = -1;
  if (sqlite3_prepare_v2(db, "SELECT count(*) FROM credentials", -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    n = sqlite3_column_int(stmt, 0);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return n;
}

AuthCredentials basic(std::string user, std::string password) {
  return {AuthTarget::kServer, AuthScheme::kBasic, std::move(user), std::move(password)};
}

class CredentialsTest : public ServiceTest {
 protected:
  std::string db() const { return dir.path() + "/bitsd/state/jobs.db"; }
  CommandResult bitsadmin(const std::vector<std::string>& args, std::optional<uid_t> uid = {}) {
    std::vector<std::string> argv = {OPENBITS_BITSADMIN_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, {"OPENBITS_SOCKET=" + bitsd.socket()}, uid);
  }
};

TEST_F(CredentialsTest, ArgumentsFollowTheBitsRules) {
  Job job = create();
  auto with = [&](int target, int scheme, std::optional<std::string> user,
                  std::optional<std::string> password) {
    return job
        .set_credentials({static_cast<AuthTarget>(target), static_cast<AuthScheme>(scheme),
                          std::move(user), std::move(password)})
        .code();
  };
  EXPECT_EQ(with(3, 1, "u", "p"), hr::BG_E_INVALID_AUTH_TARGET);
  EXPECT_EQ(with(1, 6, "u", "p"), hr::BG_E_INVALID_AUTH_SCHEME);
  EXPECT_EQ(with(1, 1, std::string(301, 'u'), "p"), hr::BG_E_USERNAME_TOO_LARGE);
  EXPECT_EQ(with(1, 1, "u", std::string(65536, 'p')), hr::BG_E_PASSWORD_TOO_LARGE);
  EXPECT_EQ(with(1, 1, std::nullopt, std::nullopt), hr::E_INVALIDARG);  // BASIC needs both
  EXPECT_EQ(with(2, 4, std::nullopt, std::nullopt), hr::S_OK);          // implicit NEGOTIATE
  EXPECT_EQ(with(1, 1, "u", "p"), hr::S_OK);
  EXPECT_EQ(with(1, 1, "u2", "p2"), hr::S_OK);  // the same slot, replaced
  EXPECT_EQ(stored_credentials(db()), 2);
  EXPECT_EQ(job.remove_credentials(AuthTarget::kServer, AuthScheme::kBasic).code(), hr::S_OK);
  EXPECT_EQ(job.remove_credentials(AuthTarget::kServer, AuthScheme::kBasic).code(), hr::S_FALSE);
  EXPECT_EQ(job.remove_credentials(static_cast<AuthTarget>(9), AuthScheme::kBasic).code(),
            hr::BG_E_INVALID_AUTH_TARGET);
  EXPECT_EQ(stored_credentials(db()), 1);
  ASSERT_TRUE(job.cancel().ok());
  EXPECT_EQ(job.set_credentials(basic("u", "p")).code(), hr::BG_E_INVALID_STATE);
}

// Only the owner may set or remove credentials: another user cannot, and neither can an
// administrator acting on someone else's job.
TEST_F(CredentialsTest, OnlyTheOwnerSetsCredentials) {
  Job mine = create("roots");
  std::string id = to_string(mine.id());
  std::string other = run_as(kNobody, [&] {
    auto m = Manager::connect(bitsd.socket());
    auto job = m->get_job(mine.id());
    if (job.ok()) return std::string("visible");
    return hresult_hex(job.status().code());
  });
  EXPECT_EQ(other, "0x80070005");
  std::string nobody_job = run_as(kNobody, [&] {
    auto m = Manager::connect(bitsd.socket());
    auto job = m->create_job("nobodys");
    return job.ok() ? to_string(job->id()) : std::string("failed");
  });
  auto theirs = manager->get_job(*parse_guid(nobody_job));
  ASSERT_TRUE(theirs.ok());  // root sees it
  EXPECT_EQ(theirs->set_credentials(basic("admin", "pw")).code(), hr::E_ACCESSDENIED);
  auto r = bitsadmin({"/setcredentials", id, "SERVER", "BASIC", "u", "p"}, kNobody);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("0x80070005"), std::string::npos) << r.err;
}

// No getter, no bitsadmin output, no log line and no byte of the store holds a password.
TEST_F(CredentialsTest, PasswordsNeverLeaveTheDaemon) {
  Job job = create("secret");
  ASSERT_TRUE(job.add_file(nginx.url("/none"), out + "/none").ok());
  ASSERT_TRUE(job.set_credentials(basic("alice", kSecret)).ok());
  auto r = bitsadmin({"/setcredentials", "secret", "PROXY", "NTLM", "bob", kSecret});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find(kSecret), std::string::npos);
  auto info = job.info();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(to_json(*info).find(kSecret), std::string::npos);
  auto verbose = bitsadmin({"/info", "secret", "/verbose"});
  EXPECT_EQ(verbose.out.find(kSecret), std::string::npos);
  auto json = bitsadmin({"/list", "/verbose", "--json"});
  EXPECT_EQ(json.out.find(kSecret), std::string::npos);
  EXPECT_EQ(bitsd.log().find(kSecret), std::string::npos);
  for (const std::string& file : {db(), db() + "-wal"}) {
    EXPECT_EQ(read_bytes(file).find(kSecret), std::string::npos) << file;
  }
  // They survive a restart of the daemon (sealed with the key beside the store).
  bitsd.kill9();
  bitsd.start();
  manager.emplace(bitsd.connect());
  EXPECT_EQ(stored_credentials(db()), 2);
  auto again = manager->get_job(job.id());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->remove_credentials(AuthTarget::kProxy, AuthScheme::kNtlm).code(), hr::S_OK);
}

TEST_F(CredentialsTest, CancelCompleteAndTakeOwnershipWipeThem) {
  Job cancelled = create("cancelled");
  ASSERT_TRUE(cancelled.set_credentials(basic("a", "b")).ok());
  make_file(nginx.root() + "/small.bin", 1000, 1);
  Job completed = create("completed");
  ASSERT_TRUE(completed.add_file(nginx.url("/small.bin"), out + "/small.bin").ok());
  ASSERT_TRUE(completed.set_credentials(basic("a", "b")).ok());
  EXPECT_EQ(stored_credentials(db()), 2);
  ASSERT_TRUE(cancelled.cancel().ok());
  EXPECT_EQ(stored_credentials(db()), 1);
  ASSERT_TRUE(completed.resume().ok());
  ASSERT_EQ(wait_for_state(completed, {JobState::kTransferred}), JobState::kTransferred);
  ASSERT_TRUE(completed.complete().ok());
  EXPECT_EQ(stored_credentials(db()), 0);
  std::string id = run_as(kNobody, [&] {
    auto m = Manager::connect(bitsd.socket());
    auto job = m->create_job("taken");
    if (!job.ok()) return std::string("create failed");
    Status s = job->set_credentials(basic("nobody", "pw"));
    return s.ok() ? to_string(job->id()) : hresult_hex(s.code());
  });
  ASSERT_EQ(id.front(), '{') << id;
  EXPECT_EQ(stored_credentials(db()), 1);
  auto taken = manager->get_job(*parse_guid(id));
  ASSERT_TRUE(taken.ok());
  ASSERT_TRUE(taken->take_ownership().ok());
  EXPECT_EQ(stored_credentials(db()), 0);
  // The new owner may set their own.
  EXPECT_TRUE(taken->set_credentials(basic("root", "pw")).ok());
}

// Against Apache: Digest credentials answer its challenge (once, after the challenge);
// wrong ones end in ERROR 0x80190191 after that one answer; Basic credentials are never
// sent to a server that asked for Digest.
class ServerAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kdc.emplace(dir.path() + "/kdc");
    kdc->add_user("alice", "alice-password");
    ::setenv("KRB5_CONFIG", kdc->krb5_conf().c_str(), 1);  // bitsd talks to the test KDC
    apache.emplace(dir.path() + "/apache", "bob", "bob-password", &*kdc);
    std::ofstream(apache->digest_dir() + "/report.txt") << "digest-protected\n";
    std::ofstream(apache->negotiate_dir() + "/report.txt") << "kerberos-protected\n";
    bitsd.start();
    manager.emplace(bitsd.connect());
    out = dir.path() + "/out";
    fs::create_directories(out);
    fs::permissions(out, fs::perms::all);
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << "--- bitsd log ---\n" << bitsd.log();
  }
  Job download(const std::string& path, const std::optional<AuthCredentials>& credentials) {
    auto job = manager->create_job("auth");
    EXPECT_TRUE(job.ok());
    if (credentials) {
      EXPECT_TRUE(job->set_credentials(*credentials).ok());
    }
    EXPECT_TRUE(job->add_file(apache->url(path), out + "/report.txt").ok());
    EXPECT_TRUE(job->resume().ok());
    return *job;
  }
  int authorized_requests() const {
    int n = 0;
    for (const auto& r : apache->requests()) n += r.authorization != "-" ? 1 : 0;
    return n;
  }

  TempDir dir;
  std::optional<Kdc> kdc;
  std::optional<Apache> apache;
  Bitsd bitsd{dir.path()};
  std::optional<Manager> manager;
  std::string out;
};

TEST_F(ServerAuthTest, DigestCredentialsAnswerTheChallenge) {
  Job job = download("/digest/report.txt", AuthCredentials{AuthTarget::kServer, AuthScheme::kDigest,
                                                           "bob", "bob-password"});
  ASSERT_EQ(wait_for_state(job, {JobState::kTransferred, JobState::kError}, seconds(30)),
            JobState::kTransferred);
  ASSERT_TRUE(job.complete().ok());
  EXPECT_EQ(read_bytes(out + "/report.txt"), "digest-protected\n");
  auto requests = apache->requests();
  ASSERT_FALSE(requests.empty());
  EXPECT_EQ(requests.front().authorization, "-");  // nothing sent before the challenge
  EXPECT_EQ(requests.front().status, 401);
  bool bob = false;
  for (const auto& r : requests) bob = bob || (r.user == "bob" && r.status == 200);
  EXPECT_TRUE(bob);
}

TEST_F(ServerAuthTest, WrongDigestPasswordIsAnsweredOnceThenError401) {
  Job job = download("/digest/report.txt",
                     AuthCredentials{AuthTarget::kServer, AuthScheme::kDigest, "bob", "wrong"});
  ASSERT_EQ(wait_for_state(job, {JobState::kTransferred, JobState::kError}, seconds(30)),
            JobState::kError);
  auto error = job.error();
  ASSERT_TRUE(error.ok());
  EXPECT_EQ(error->code, 0x80190191u);
  EXPECT_EQ(error->context, ErrorContext::kRemoteFile);
  EXPECT_EQ(authorized_requests(), 1);
  EXPECT_FALSE(exists(out + "/report.txt"));
}

TEST_F(ServerAuthTest, BasicCredentialsAreNeverSentToADigestChallenge) {
  Job job = download("/digest/report.txt", basic("bob", "bob-password"));
  ASSERT_EQ(wait_for_state(job, {JobState::kTransferred, JobState::kError}, seconds(30)),
            JobState::kError);
  EXPECT_EQ(job.error()->code, 0x80190191u);
  EXPECT_EQ(authorized_requests(), 0);
}

// Implicit NEGOTIATE (user and password NULL): the owner's own Kerberos tickets, from the
// cache KRB5CCNAME named when they set the credentials, read with their rights.
TEST_F(ServerAuthTest, ImplicitNegotiateUsesTheOwnersTicketCache) {
  std::string cache = dir.path() + "/nobody.cc";
  kdc->kinit("alice", "alice-password", cache, kNobody);
  std::vector<std::string> env = {"OPENBITS_SOCKET=" + bitsd.socket(), "KRB5CCNAME=FILE:" + cache};
  auto admin = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv = {OPENBITS_BITSADMIN_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, env, kNobody);
  };
  ASSERT_EQ(admin({"/create", "kerberos"}).exit_code, 0);
  auto set = admin({"/setcredentials", "kerberos", "SERVER", "NEGOTIATE", "NULL", "NULL"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_NE(set.out.find("\nCredentials set.\n"), std::string::npos) << set.out;
  ASSERT_EQ(
      admin({"/addfile", "kerberos", apache->url("/negotiate/report.txt"), out + "/report.txt"})
          .exit_code,
      0);
  ASSERT_EQ(admin({"/resume", "kerberos"}).exit_code, 0);
  auto jobs = run_as(kNobody, [&] {
    auto m = Manager::connect(bitsd.socket());
    auto list = m->enum_jobs();
    if (!list.ok() || list->size() != 1) return std::string("no job");
    auto job = m->get_job(list->front().id);
    JobState state = wait_for_state(*job, {JobState::kTransferred, JobState::kError}, seconds(30));
    if (state != JobState::kTransferred) return hresult_hex(job->error()->code);
    return job->complete().ok() ? std::string("ok") : std::string("complete failed");
  });
  EXPECT_EQ(jobs, "ok");
  EXPECT_EQ(read_bytes(out + "/report.txt"), "kerberos-protected\n");
  bool alice = false;
  for (const auto& r : apache->requests()) {
    alice = alice || (r.user == "alice@" + Kdc::kRealm && r.status == 200);
  }
  EXPECT_TRUE(alice);
}

// Explicit NEGOTIATE: bitsd gets a ticket from the KDC with the password, in memory.
TEST_F(ServerAuthTest, ExplicitNegotiateGetsATicketWithThePassword) {
  Job job = download(
      "/negotiate/report.txt",
      AuthCredentials{AuthTarget::kServer, AuthScheme::kNegotiate, "alice", "alice-password"});
  ASSERT_EQ(wait_for_state(job, {JobState::kTransferred, JobState::kError}, seconds(30)),
            JobState::kTransferred);
  ASSERT_TRUE(job.complete().ok());
  EXPECT_EQ(read_bytes(out + "/report.txt"), "kerberos-protected\n");
  Job wrong = download(
      "/negotiate/report.txt",
      AuthCredentials{AuthTarget::kServer, AuthScheme::kNegotiate, "alice", "not-her-password"});
  ASSERT_EQ(wait_for_state(wrong, {JobState::kTransferred, JobState::kError}, seconds(30)),
            JobState::kError);
  EXPECT_EQ(wrong.error()->code, 0x80190191u);
}

}  // namespace
}  // namespace openbits::itest
