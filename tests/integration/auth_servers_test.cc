// Servers that demand authentication (a real MIT KDC, Apache with Digest and Kerberos
// Negotiate): what a job without credentials gets, and that the servers really accept the
// right credentials from an independent client (curl), so the credential tests built on
// them (issue 7) fail only for openbits' reasons.
#include "tests/integration/auth_servers.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "src/daemon/transfer/negotiate.h"
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
  bool bob = false;
  bool alice = false;
  for (const auto& r : apache->requests()) {
    bob = bob || (r.user == "bob" && r.status == 200);
    alice = alice || (r.user == "alice@" + Kdc::kRealm && r.status == 200);
  }
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
