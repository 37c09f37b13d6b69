// Servers that demand authentication (a real MIT KDC, Apache with Digest and Kerberos
// Negotiate): what a job without credentials gets, and that the servers really accept the
// right credentials from an independent client (curl), so the credential tests built on
// them (issue 7) fail only for openbits' reasons.
#include "tests/integration/auth_servers.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "src/daemon/transfer/negotiate.h"
#include "src/daemon/transfer/transfer_engine.h"
#include "tests/integration/fixture.h"

namespace openbits::itest {
namespace {

using std::chrono::seconds;

class AuthServersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kdc.emplace(dir.path() + "/kdc");
    kdc->add_user("alice", "alice-password");
    apache.emplace(dir.path() + "/apache", "bob", "bob-password", &*kdc);
    std::ofstream(apache->digest_dir() + "/report.txt") << "digest-protected\n";
    std::ofstream(apache->negotiate_dir() + "/report.txt") << "kerberos-protected\n";
    bitsd.start();
    manager.emplace(bitsd.connect());
    out = dir.path() + "/out";
    std::filesystem::create_directories(out);
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << "--- bitsd log ---\n" << bitsd.log();
  }
  // A download of `url` without credentials; its final state.
  Job download(const std::string& url) {
    auto job = manager->create_job("auth");
    EXPECT_TRUE(job.ok());
    EXPECT_TRUE(job->add_file(url, out + "/report.txt").ok());
    EXPECT_TRUE(job->resume().ok());
    return *job;
  }

  TempDir dir;
  std::optional<Kdc> kdc;
  std::optional<Apache> apache;
  Bitsd bitsd{dir.path()};
  std::optional<Manager> manager;
  std::string out;
};

TEST_F(AuthServersTest, DigestWithoutCredentialsIsHttp401InRemoteFile) {
  Job job = download(apache->url("/digest/report.txt"));
  ASSERT_EQ(wait_for_state(job, {JobState::kError, JobState::kTransferred}, seconds(30)),
            JobState::kError);
  auto error = job.error();
  ASSERT_TRUE(error.ok());
  EXPECT_EQ(error->code, 0x80190191u);  // BG_E_HTTP_ERROR_401
  EXPECT_EQ(error->context, ErrorContext::kRemoteFile);
  EXPECT_FALSE(exists(out + "/report.txt"));
}

TEST_F(AuthServersTest, NegotiateWithoutCredentialsIsHttp401InRemoteFile) {
  Job job = download(apache->url("/negotiate/report.txt"));
  ASSERT_EQ(wait_for_state(job, {JobState::kError, JobState::kTransferred}, seconds(30)),
            JobState::kError);
  auto error = job.error();
  ASSERT_TRUE(error.ok());
  EXPECT_EQ(error->code, 0x80190191u);
  EXPECT_EQ(error->context, ErrorContext::kRemoteFile);
}

// The fixture itself: the right credentials work from curl, wrong ones do not, and the log
// names the authenticated user.
TEST_F(AuthServersTest, ServersAcceptTheRightCredentialsFromCurl) {
  auto digest = run_command({"/usr/bin/curl", "-s", "-f", "--digest", "-u", "bob:bob-password",
                             apache->url("/digest/report.txt")});
  EXPECT_EQ(digest.out, "digest-protected\n") << digest.err;
  auto wrong = run_command({"/usr/bin/curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                            "--digest", "-u", "bob:wrong", apache->url("/digest/report.txt")});
  EXPECT_EQ(wrong.out, "401");
  std::string cache = dir.path() + "/alice.cc";
  kdc->kinit("alice", "alice-password", cache, 0);
  std::vector<std::string> env = kdc->env();
  env.push_back("KRB5CCNAME=FILE:" + cache);
  auto negotiate = run_command(
      {"/usr/bin/curl", "-s", "-f", "--negotiate", "-u", ":", apache->url("/negotiate/report.txt")},
      env);
  EXPECT_EQ(negotiate.out, "kerberos-protected\n") << negotiate.err;
  // Apache writes its access log after the answer: the last line may still be coming.
  bool bob = false;
  bool alice = false;
  eventually([&] {
    for (const auto& r : apache->requests()) {
      bob = bob || (r.user == "bob" && r.status == 200);
      alice = alice || (r.user == "alice@" + Kdc::kRealm && r.status == 200);
    }
    return bob && alice;
  });
  EXPECT_TRUE(bob);
  EXPECT_TRUE(alice);
}

// bitsd's own Negotiate token (from an explicit ticket cache, not the process's) is what
// Apache's mod_auth_gssapi accepts; a cache without tickets is a clear error.
TEST_F(AuthServersTest, NegotiateTokenFromAnExplicitCacheIsAccepted) {
  std::string cache = dir.path() + "/alice.cc";
  kdc->kinit("alice", "alice-password", cache, 0);
  ::setenv("KRB5_CONFIG", kdc->krb5_conf().c_str(), 1);  // the test realm's KDC
  ::unsetenv("KRB5CCNAME");
  auto header = daemon::negotiate_authorization("localhost", "FILE:" + cache);
  ASSERT_TRUE(header.ok()) << header.status().message();
  EXPECT_EQ(header->rfind("Negotiate ", 0), 0u);
  auto r = run_command({"/usr/bin/curl", "-s", "-f", "-H", "Authorization: " + *header,
                        apache->url("/negotiate/report.txt")});
  EXPECT_EQ(r.out, "kerberos-protected\n") << r.err;
  auto empty = daemon::negotiate_authorization("localhost", "FILE:" + dir.path() + "/none.cc");
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("none.cc"), std::string::npos);
}

// The engine's end of a transfer: complete, or the error's HRESULT.
class Outcome : public daemon::TransferObserver {
 public:
  void on_connected(std::uint64_t) override {}
  void on_validators(std::uint64_t, const daemon::RemoteValidators&, bool) override {}
  void on_progress(std::uint64_t, std::uint64_t) override {}
  void on_complete(std::uint64_t, std::uint64_t, std::int64_t) override { finish(0); }
  void on_error(std::uint64_t, HRESULT code, ErrorContext, bool, std::uint32_t,
                const std::string& detail) override {
    detail_ = detail;
    finish(code);
  }
  // 0 on success, else the HRESULT; waits at most 30 s.
  HRESULT wait() {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, seconds(30), [&] { return done_; });
    return done_ ? code_ : 0xFFFFFFFFu;
  }
  std::string detail() {
    std::lock_guard lock(mutex_);
    return detail_;
  }

 private:
  void finish(HRESULT code) {
    std::lock_guard lock(mutex_);
    code_ = code;
    done_ = true;
    cv_.notify_all();
  }
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  HRESULT code_ = 0;
  std::string detail_;
};

// Implicit credentials in the engine: a job of user nobody answers Apache's Negotiate
// challenge once with a token from nobody's own ticket cache (read as nobody), and gets the
// file; the server saw the 401 and then alice's authenticated requests.
TEST_F(AuthServersTest, EngineAnswersNegotiateWithTheOwnersTickets) {
  constexpr uid_t kNobody = 65534;
  std::string cache = dir.path() + "/nobody.cc";
  kdc->kinit("alice", "alice-password", cache, kNobody);
  ::setenv("KRB5_CONFIG", kdc->krb5_conf().c_str(), 1);
  std::filesystem::permissions(out, std::filesystem::perms::all);
  Outcome outcome;
  {
    daemon::TransferEngine engine(outcome);
    daemon::DownloadRequest request;
    request.remote_name = apache->url("/negotiate/report.txt");
    request.temp_name = out + "/.BIT1.tmp";
    request.owner = daemon::Credentials{kNobody, 65534, {}, 022};
    request.credentials.push_back(daemon::HttpCredential{
        AuthTarget::kServer, AuthScheme::kNegotiate, std::nullopt, std::nullopt, "FILE:" + cache});
    engine.start(request);
    ASSERT_EQ(outcome.wait(), 0u) << outcome.detail();
  }
  std::ifstream in(out + "/.BIT1.tmp");
  std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(body, "kerberos-protected\n");
  auto requests = apache->requests();
  ASSERT_GE(requests.size(), 2u);
  EXPECT_EQ(requests.front().status, 401);
  for (std::size_t i = 1; i < requests.size(); ++i) {
    EXPECT_EQ(requests[i].user, "alice@" + Kdc::kRealm);
    EXPECT_EQ(requests[i].status, 200);
  }
}

// A cache the owner cannot read (root's, mode 0600) gives nothing: the 401 stands, as
// ERROR 0x80190191 in REMOTE_FILE, and the server never saw a token.
TEST_F(AuthServersTest, EngineNeverUsesATicketCacheTheOwnerCannotRead) {
  std::string cache = dir.path() + "/root.cc";
  kdc->kinit("alice", "alice-password", cache, 0);
  ::chmod(cache.c_str(), 0600);
  ::setenv("KRB5_CONFIG", kdc->krb5_conf().c_str(), 1);
  std::filesystem::permissions(out, std::filesystem::perms::all);
  Outcome outcome;
  {
    daemon::TransferEngine engine(outcome);
    daemon::DownloadRequest request;
    request.remote_name = apache->url("/negotiate/report.txt");
    request.temp_name = out + "/.BIT2.tmp";
    request.owner = daemon::Credentials{65534, 65534, {}, 022};
    request.credentials.push_back(daemon::HttpCredential{
        AuthTarget::kServer, AuthScheme::kNegotiate, std::nullopt, std::nullopt, "FILE:" + cache});
    engine.start(request);
    EXPECT_EQ(outcome.wait(), 0x80190191u) << outcome.detail();
  }
  for (const auto& r : apache->requests()) EXPECT_EQ(r.authorization, "-");
}

TEST(DefaultCcacheTest, FileCachesFromTheEnvironmentElseTheUidsDefault) {
  EXPECT_EQ(daemon::default_ccache(1000, ""), "FILE:/tmp/krb5cc_1000");
  EXPECT_EQ(daemon::default_ccache(1000, "FILE:/run/user/1000/krb5cc"),
            "FILE:/run/user/1000/krb5cc");
  EXPECT_EQ(daemon::default_ccache(1000, "/tmp/cc"), "FILE:/tmp/cc");
  EXPECT_EQ(daemon::default_ccache(1000, "KEYRING:persistent:1000"), "FILE:/tmp/krb5cc_1000");
  EXPECT_EQ(daemon::default_ccache(1000, "FILE:relative"), "FILE:/tmp/krb5cc_1000");
}

}  // namespace
}  // namespace openbits::itest
