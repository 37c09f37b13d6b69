// The servers of the credential, proxy and TLS tests (issue 7) behave as those tests assume,
// shown with an independent client (curl): squid as a forward proxy (no authentication,
// Basic, Digest, NTLM; CONNECT tunnels) and as a reverse proxy demanding NTLM; the TLS
// nginx with its good and bad certificates, CRL, mutual TLS, Basic and redirects. So the
// tests built on them fail only for openbits' reasons.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <optional>

#include "tests/integration/fixture.h"
#include "tests/integration/proxy_servers.h"
#include "tests/integration/server_process.h"
#include "tests/integration/tls_servers.h"

namespace openbits::itest {
namespace {

using Server = TlsServers::Server;

struct Reply {
  int exit_code = -1;  // curl's: 0, 60 (peer certificate rejected), 47 (too many redirects)
  int status = 0;      // the last HTTP status, 0 when none
  std::string body;
  std::string headers;
  std::string err;
};

// curl with `args`: the final response's status, body and headers.
Reply curl(std::vector<std::string> args) {
  args.insert(args.begin(),
              {"/usr/bin/curl", "-s", "-S", "-D", "/dev/stderr", "-w", "\n%{http_code}"});
  CommandResult result = run_command(args);
  Reply reply;
  reply.exit_code = result.exit_code;
  std::size_t last = result.out.rfind('\n');
  if (last == std::string::npos) return reply;
  reply.body = result.out.substr(0, last);
  reply.status = std::stoi(result.out.substr(last + 1));
  reply.headers = result.err;
  reply.err = result.err;
  return reply;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class TestServersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    nginx.start(free_port());
    std::ofstream(nginx.root() + "/f.txt") << "origin file\n";
  }
  template <typename... Args>
  Squid& start_squid(Args... args) {
    return squid.emplace(dir.path() + "/squid", args...);
  }
  TlsServers& start_tls() {
    tls.emplace(dir.path() + "/tls", "carol", "carol-password");
    std::ofstream(tls->root() + "/f.txt") << "tls file\n";
    return *tls;
  }

  TempDir dir;
  Nginx nginx{dir.path()};
  std::optional<Squid> squid;
  std::optional<TlsServers> tls;
};

TEST_F(TestServersTest, ForwardProxyPassesRequestsToTheOriginAndLogsThem) {
  Squid& proxy = start_squid(Squid::Auth::kNone);
  Reply r =
      curl({"-x", proxy.proxy_url(), "-H", "X-Openbits-Test: via squid", nginx.url("/f.txt")});
  EXPECT_EQ(r.status, 200) << r.err;
  EXPECT_EQ(r.body, "origin file\n");
  auto logged = proxy.wait_for_requests(1);
  ASSERT_EQ(logged.size(), 1u) << proxy.cache_log();
  EXPECT_EQ(logged[0].method, "GET");
  EXPECT_EQ(logged[0].url, nginx.url("/f.txt"));
  EXPECT_EQ(logged[0].user, "-");
  EXPECT_EQ(logged[0].status, 200);
  EXPECT_EQ(logged[0].test_header, "via squid");
  EXPECT_EQ(nginx.requests(), 1);
}

TEST_F(TestServersTest, ForwardProxyDemandsBasicCredentials) {
  Squid& proxy = start_squid(Squid::Auth::kBasic, "bob", "bob-pw");
  Reply none = curl({"-x", proxy.proxy_url(), nginx.url("/f.txt")});
  EXPECT_EQ(none.status, 407);
  EXPECT_TRUE(contains(none.headers, "Proxy-Authenticate: Basic realm=\"" + Squid::kRealm))
      << none.headers;
  Reply wrong =
      curl({"-x", proxy.proxy_url(), "--proxy-basic", "-U", "bob:wrong", nginx.url("/f.txt")});
  EXPECT_EQ(wrong.status, 407);
  Reply right =
      curl({"-x", proxy.proxy_url(), "--proxy-basic", "-U", "bob:bob-pw", nginx.url("/f.txt")});
  EXPECT_EQ(right.status, 200) << right.err;
  EXPECT_EQ(right.body, "origin file\n");
  auto logged = proxy.wait_for_requests(3);
  ASSERT_EQ(logged.size(), 3u);
  EXPECT_EQ(logged[2].user, "bob");
  EXPECT_EQ(logged[2].status, 200);
  EXPECT_EQ(nginx.requests(), 1);
}

TEST_F(TestServersTest, ForwardProxyDemandsDigestCredentials) {
  Squid& proxy = start_squid(Squid::Auth::kDigest, "bob", "bob-pw");
  Reply none = curl({"-x", proxy.proxy_url(), nginx.url("/f.txt")});
  EXPECT_EQ(none.status, 407);
  EXPECT_TRUE(contains(none.headers, "Proxy-Authenticate: Digest realm=\"" + Squid::kRealm))
      << none.headers;
  Reply wrong =
      curl({"-x", proxy.proxy_url(), "--proxy-digest", "-U", "bob:wrong", nginx.url("/f.txt")});
  EXPECT_EQ(wrong.status, 407);
  Reply right =
      curl({"-x", proxy.proxy_url(), "--proxy-digest", "-U", "bob:bob-pw", nginx.url("/f.txt")});
  EXPECT_EQ(right.status, 200) << right.err;
  EXPECT_EQ(right.body, "origin file\n");
  // Each Digest request is challenged first: 407, then 407 (wrong) or 200 (right).
  auto logged = proxy.wait_for_requests(5);
  ASSERT_EQ(logged.size(), 5u);
  EXPECT_EQ(logged[4].user, "bob");
  EXPECT_EQ(logged[4].status, 200);
  EXPECT_EQ(nginx.requests(), 1);
}

TEST_F(TestServersTest, ForwardProxyDemandsNtlmCredentialsOfTheConfiguredUser) {
  Squid& proxy = start_squid(Squid::Auth::kNtlm, "alice");
  Reply none = curl({"-x", proxy.proxy_url(), nginx.url("/f.txt")});
  EXPECT_EQ(none.status, 407);
  EXPECT_TRUE(contains(none.headers, "Proxy-Authenticate: NTLM")) << none.headers;
  Reply other =
      curl({"-x", proxy.proxy_url(), "--proxy-ntlm", "-U", "mallory:x", nginx.url("/f.txt")});
  EXPECT_EQ(other.status, 407);
  Reply right = curl(
      {"-x", proxy.proxy_url(), "--proxy-ntlm", "-U", "alice:any-password", nginx.url("/f.txt")});
  EXPECT_EQ(right.status, 200) << right.err;
  EXPECT_EQ(right.body, "origin file\n");
  // NTLM: a 407 with the challenge, then the answer's 407 (mallory) or 200 (alice).
  auto logged = proxy.wait_for_requests(5);
  ASSERT_EQ(logged.size(), 5u);
  EXPECT_EQ(logged[2].status, 407);
  EXPECT_TRUE(contains(logged[2].user, "mallory")) << logged[2].user;
  EXPECT_EQ(logged[4].status, 200);
  EXPECT_TRUE(contains(logged[4].user, "alice")) << logged[4].user;
  EXPECT_EQ(nginx.requests(), 1);
}

TEST_F(TestServersTest, ForwardProxyTunnelsHttpsToAnyPortWithConnect) {
  Squid& proxy = start_squid(Squid::Auth::kBasic, "bob", "bob-pw");
  TlsServers& servers = start_tls();
  Reply none = curl({"-x", proxy.proxy_url(), "--cacert", servers.ca_file(),
                     servers.url(Server::kGood, "/f.txt")});
  EXPECT_EQ(none.exit_code, 56);  // CURLE_RECV_ERROR
  EXPECT_TRUE(contains(none.err, "CONNECT tunnel failed, response 407")) << none.err;
  Reply right = curl({"-x", proxy.proxy_url(), "--proxy-basic", "-U", "bob:bob-pw", "--cacert",
                      servers.ca_file(), servers.url(Server::kGood, "/f.txt")});
  EXPECT_EQ(right.status, 200) << right.err;
  EXPECT_EQ(right.body, "tls file\n");
  auto logged = proxy.wait_for_requests(2);
  ASSERT_EQ(logged.size(), 2u);
  EXPECT_EQ(logged[1].method, "CONNECT");
  EXPECT_EQ(logged[1].url, "127.0.0.1:" + std::to_string(servers.port(Server::kGood)));
  EXPECT_EQ(logged[1].user, "bob");
  EXPECT_EQ(logged[1].status, 200);
}

TEST_F(TestServersTest, ReverseProxyDemandsNtlmAsTheServer) {
  Squid& proxy = start_squid(nginx.port(), Squid::Auth::kNtlm, "alice");
  Reply none = curl({proxy.url("/f.txt")});
  EXPECT_EQ(none.status, 401);
  EXPECT_TRUE(contains(none.headers, "WWW-Authenticate: NTLM")) << none.headers;
  Reply other = curl({"--ntlm", "-u", "mallory:x", proxy.url("/f.txt")});
  EXPECT_EQ(other.status, 401);
  Reply right = curl({"--ntlm", "-u", "alice:any-password", proxy.url("/f.txt")});
  EXPECT_EQ(right.status, 200) << right.err;
  EXPECT_EQ(right.body, "origin file\n");
  auto logged = proxy.wait_for_requests(5);
  ASSERT_EQ(logged.size(), 5u);
  EXPECT_EQ(logged[4].url, nginx.url("/f.txt"));
  EXPECT_EQ(logged[4].status, 200);
  EXPECT_TRUE(contains(logged[4].user, "alice")) << logged[4].user;
  EXPECT_EQ(nginx.requests(), 1);
}

TEST_F(TestServersTest, OnlyTheGoodCertificatesPassCurlsChecks) {
  TlsServers& servers = start_tls();
  auto fetch = [&](Server server, const std::string& ca) {
    return curl({"--cacert", ca, servers.url(server, "/f.txt")});
  };
  for (Server good :
       {Server::kGood, Server::kRevoked, Server::kCrlUnreachable, Server::kClientCertOptional}) {
    Reply r = fetch(good, servers.ca_file());
    EXPECT_EQ(r.status, 200) << static_cast<int>(good) << ": " << r.err;
    EXPECT_EQ(r.body, "tls file\n");
  }
  Reply by_name =
      curl({"--cacert", servers.ca_file(),
            "https://localhost:" + std::to_string(servers.port(Server::kGood)) + "/f.txt"});
  EXPECT_EQ(by_name.status, 200) << by_name.err;
  Reply expired = fetch(Server::kExpired, servers.ca_file());
  EXPECT_EQ(expired.exit_code, 60);  // CURLE_PEER_FAILED_VERIFICATION
  EXPECT_TRUE(contains(expired.err, "expired")) << expired.err;
  Reply wrong_name = fetch(Server::kWrongName, servers.ca_file());
  EXPECT_EQ(wrong_name.exit_code, 60);
  EXPECT_TRUE(contains(wrong_name.err, "subject name")) << wrong_name.err;
  Reply wrong_usage = fetch(Server::kWrongUsage, servers.ca_file());
  EXPECT_EQ(wrong_usage.exit_code, 60);
  EXPECT_TRUE(contains(wrong_usage.err, "purpose")) << wrong_usage.err;
  Reply untrusted = fetch(Server::kUntrusted, servers.ca_file());
  EXPECT_EQ(untrusted.exit_code, 60);
  EXPECT_TRUE(contains(untrusted.err, "local issuer")) << untrusted.err;
  EXPECT_EQ(fetch(Server::kUntrusted, servers.untrusted_ca_file()).status, 200);
}

// The CRL named in the certificates' crlDistributionPoints lists the revoked certificate
// and no other; the unreachable one's names a port nothing listens on.
TEST_F(TestServersTest, CrlFromTheDistributionPointRejectsOnlyTheRevokedCertificate) {
  TlsServers& servers = start_tls();
  for (Server server : {Server::kGood, Server::kRevoked}) {
    auto ext = run_command({"/usr/bin/openssl", "x509", "-in", servers.cert_file(server), "-noout",
                            "-ext", "crlDistributionPoints"});
    EXPECT_TRUE(contains(ext.out, "URI:" + servers.crl_url())) << ext.out;
  }
  std::string der = dir.path() + "/downloaded.crl";
  std::string pem = dir.path() + "/downloaded.crl.pem";
  ASSERT_EQ(curl({"-o", der, servers.crl_url()}).status, 200);
  ASSERT_EQ(
      run_command({"/usr/bin/openssl", "crl", "-inform", "DER", "-in", der, "-out", pem}).exit_code,
      0);
  Reply revoked = curl(
      {"--cacert", servers.ca_file(), "--crlfile", pem, servers.url(Server::kRevoked, "/f.txt")});
  EXPECT_EQ(revoked.exit_code, 60);
  EXPECT_TRUE(contains(revoked.err, "revoked")) << revoked.err;
  Reply good =
      curl({"--cacert", servers.ca_file(), "--crlfile", pem, servers.url(Server::kGood, "/f.txt")});
  EXPECT_EQ(good.status, 200) << good.err;
  EXPECT_EQ(read_text(pem), read_text(servers.crl_pem_file()));
  auto ext =
      run_command({"/usr/bin/openssl", "x509", "-in", servers.cert_file(Server::kCrlUnreachable),
                   "-noout", "-ext", "crlDistributionPoints"});
  std::size_t uri = ext.out.find("URI:");
  ASSERT_NE(uri, std::string::npos) << ext.out;
  std::string unreachable = ext.out.substr(uri + 4, ext.out.find('\n', uri) - uri - 4);
  EXPECT_EQ(curl({unreachable}).exit_code, 7);  // CURLE_COULDNT_CONNECT
}

TEST_F(TestServersTest, MutualTlsPortDemandsTheClientCertificateAndLogsItsSubject) {
  TlsServers& servers = start_tls();
  const TlsServers::ClientCert& client = servers.client();
  std::string url = servers.url(Server::kClientCertRequired, "/f.txt");
  EXPECT_EQ(curl({"--cacert", servers.ca_file(), url}).status, 400);
  Reply pem =
      curl({"--cacert", servers.ca_file(), "--cert", client.cert, "--key", client.key, url});
  EXPECT_EQ(pem.status, 200) << pem.err;
  EXPECT_EQ(pem.body, "tls file\n");
  Reply combined = curl({"--cacert", servers.ca_file(), "--cert", client.combined, url});
  EXPECT_EQ(combined.status, 200) << combined.err;
  Reply p12 = curl(
      {"--cacert", servers.ca_file(), "--cert-type", "P12", "--cert", client.pkcs12 + ":", url});
  EXPECT_EQ(p12.status, 200) << p12.err;
  auto logged = servers.wait_for_requests(4);
  ASSERT_EQ(logged.size(), 4u);
  EXPECT_EQ(logged[0].status, 400);
  EXPECT_EQ(logged[0].client_subject, "-");
  for (std::size_t i = 1; i < 4; ++i) {
    EXPECT_EQ(logged[i].port, servers.port(Server::kClientCertRequired));
    EXPECT_EQ(logged[i].request_line, "GET /f.txt HTTP/1.1");
    EXPECT_EQ(logged[i].status, 200);
    EXPECT_EQ(logged[i].client_subject, "CN=openbits test client,O=openbits");
  }
  EXPECT_EQ(client.subject, "CN=openbits test client,O=openbits");
  EXPECT_EQ(client.common_name, "openbits test client");
}

TEST_F(TestServersTest, OptionalClientCertificateIsLoggedAndItsThumbprintIsItsSha1) {
  TlsServers& servers = start_tls();
  std::string url = servers.url(Server::kClientCertOptional, "/f.txt");
  EXPECT_EQ(curl({"--cacert", servers.ca_file(), url}).status, 200);
  EXPECT_EQ(curl({"--cacert", servers.ca_file(), "--cert", servers.client().combined, url}).status,
            200);
  auto logged = servers.wait_for_requests(2);
  ASSERT_EQ(logged.size(), 2u);
  EXPECT_EQ(logged[0].client_subject, "-");
  EXPECT_EQ(logged[1].client_subject, servers.client().subject);
  // The thumbprint is the SHA-1 of the certificate's DER encoding, as sha1sum computes it.
  std::string der = dir.path() + "/client.der";
  ASSERT_EQ(run_command({"/usr/bin/openssl", "x509", "-in", servers.client().cert, "-outform",
                         "DER", "-out", der})
                .exit_code,
            0);
  std::string sum = run_command({"/usr/bin/sha1sum", der}).out.substr(0, 40);
  std::transform(sum.begin(), sum.end(), sum.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  EXPECT_EQ(servers.client().sha1, sum);
}

TEST_F(TestServersTest, BasicLocationDemandsTheUserAndHeadersAreLogged) {
  TlsServers& servers = start_tls();
  EXPECT_EQ(curl({servers.http_url("/basic/f.txt")}).status, 401);
  EXPECT_EQ(curl({"-u", "carol:wrong", servers.http_url("/basic/f.txt")}).status, 401);
  Reply right = curl({"-u", "carol:carol-password", "-H", "X-Openbits-Test: a \"quoted\" value",
                      servers.http_url("/basic/f.txt")});
  EXPECT_EQ(right.status, 200) << right.err;
  EXPECT_EQ(right.body, "tls file\n");
  Reply tls_basic = curl({"--cacert", servers.ca_file(), "-u", "carol:carol-password",
                          servers.url(Server::kGood, "/basic/f.txt")});
  EXPECT_EQ(tls_basic.status, 200) << tls_basic.err;
  auto logged = servers.wait_for_requests(4);
  ASSERT_EQ(logged.size(), 4u);
  EXPECT_EQ(logged[0].user, "-");
  EXPECT_EQ(logged[0].test_header, "-");
  EXPECT_EQ(logged[2].port, servers.http_port());
  EXPECT_EQ(logged[2].user, "carol");
  EXPECT_EQ(logged[2].test_header, "a \"quoted\" value");
  EXPECT_EQ(logged[3].port, servers.port(Server::kGood));
}

TEST_F(TestServersTest, RedirectLocationsPointWhereTheySay) {
  TlsServers& servers = start_tls();
  std::string ca = servers.ca_file();
  Reply same = curl({"--cacert", ca, servers.url(Server::kGood, "/redirect/f.txt")});
  EXPECT_EQ(same.status, 302);
  EXPECT_TRUE(contains(same.headers, "Location: " + servers.url(Server::kGood, "/f.txt")))
      << same.headers;
  Reply followed = curl({"-L", "--cacert", ca, servers.url(Server::kGood, "/redirect/f.txt")});
  EXPECT_EQ(followed.status, 200);
  EXPECT_EQ(followed.body, "tls file\n");
  Reply down = curl({"--cacert", ca, servers.url(Server::kGood, "/to-http/f.txt")});
  EXPECT_EQ(down.status, 302);
  EXPECT_TRUE(contains(down.headers, "Location: " + servers.http_url("/f.txt"))) << down.headers;
  Reply down_followed = curl({"-L", "--cacert", ca, servers.url(Server::kGood, "/to-http/f.txt")});
  EXPECT_EQ(down_followed.body, "tls file\n");
  Reply loop = curl({"-L", "--max-redirs", "5", servers.http_url("/loop/f.txt")});
  EXPECT_EQ(loop.exit_code, 47);  // CURLE_TOO_MANY_REDIRECTS
  EXPECT_EQ(loop.status, 302);
}

}  // namespace
}  // namespace openbits::itest
