// IBackgroundCopyJobHttpOptions through the real bitsd against nginx with a test CA made by
// the test (tls_servers.h): certificate checks and the security flags that relax them one
// by one, CRL checking, client certificates from store directories (mutual TLS), the
// redirect policies, custom headers as the server saw them, and Basic server credentials.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "tests/integration/fixture.h"
#include "tests/integration/tls_servers.h"

namespace openbits::itest {
namespace {

namespace fs = std::filesystem;
using Server = TlsServers::Server;
using std::chrono::seconds;

constexpr uid_t kNobody = 65534;

std::array<std::uint8_t, 20> hash_of(const std::string& hex) {
  std::array<std::uint8_t, 20> hash{};
  for (std::size_t i = 0; i < hash.size(); ++i) {
    hash[i] = static_cast<std::uint8_t>(std::stoul(hex.substr(2 * i, 2), nullptr, 16));
  }
  return hash;
}

class HttpOptionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tls.emplace(dir.path() + "/tls", "carol", "carol-password");
    make_file(tls->root() + "/data.bin", 200 * 1024, 7);
    fs::create_directories(machine_store);
    fs::create_directories(out);
    fs::permissions(out, fs::perms::all);
    std::ofstream(dir.path() + "/bitsd.json")
        << R"({"tls_ca_file": ")" << tls->ca_file() << R"(", "cert_store_machine_dir": ")"
        << dir.path() << R"(/certs", "cert_store_user_dir": ")" << dir.path() << R"(/users/%u"})";
    bitsd.start({"--config", dir.path() + "/bitsd.json"});
    manager.emplace(bitsd.connect());
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << "--- bitsd log ---\n" << bitsd.log();
  }
  Job job_for(const std::string& url, std::uint32_t flags = 0, const std::string& name = "data") {
    auto job = manager->create_job("tls");
    EXPECT_TRUE(job.ok());
    EXPECT_TRUE(job->set_security_flags(flags).ok());
    EXPECT_TRUE(job->add_file(url, out + "/" + name).ok());
    return *job;
  }
  // Runs the job to TRANSFERRED or ERROR; S_OK once completed with the right bytes, else
  // the error's HRESULT (context REMOTE_FILE checked).
  HRESULT outcome(Job job) {
    EXPECT_TRUE(job.resume().ok());
    JobState state = wait_for_state(
        job, {JobState::kTransferred, JobState::kError, JobState::kTransientError}, seconds(30));
    if (state == JobState::kTransferred) {
      EXPECT_TRUE(job.complete().ok());
      auto files = job.files();
      std::string local = (*files)[0].info()->local_name;
      EXPECT_TRUE(files_equal(local, tls->root() + "/data.bin"));
      return hr::S_OK;
    }
    auto error = job.error();
    if (!error.ok()) return hr::E_UNEXPECTED;
    EXPECT_EQ(state, JobState::kError) << hresult_hex(error->code);
    EXPECT_EQ(error->context, ErrorContext::kRemoteFile) << hresult_hex(error->code);
    return error->code;
  }
  HRESULT fetch(Server server, std::uint32_t flags = 0) {
    return outcome(job_for(tls->url(server, "/data.bin"), flags));
  }

  TempDir dir;
  std::optional<TlsServers> tls;
  Bitsd bitsd{dir.path()};
  std::optional<Manager> manager;
  std::string out = dir.path() + "/out";
  std::string machine_store = dir.path() + "/certs/MY";
};

TEST_F(HttpOptionsTest, CertificatesAreCheckedStrictlyByDefault) {
  EXPECT_EQ(fetch(Server::kGood), hr::S_OK);
  EXPECT_EQ(fetch(Server::kExpired), hr::WINHTTP_SECURE_CERT_DATE_INVALID);
  EXPECT_EQ(fetch(Server::kWrongName), hr::WINHTTP_SECURE_CERT_CN_INVALID);
  EXPECT_EQ(fetch(Server::kWrongUsage), hr::WINHTTP_SECURE_CERT_WRONG_USAGE);
  EXPECT_EQ(fetch(Server::kUntrusted), hr::WINHTTP_SECURE_INVALID_CA);
  EXPECT_EQ(fetch(Server::kRevoked), hr::S_OK);  // no CRL check unless asked
}

// Each BG_SSL_IGNORE_* flag lets exactly its own problem through, and says so in the log.
TEST_F(HttpOptionsTest, EachIgnoreFlagRelaxesOnlyItsOwnCheck) {
  EXPECT_EQ(fetch(Server::kExpired, kSslIgnoreCertDateInvalid), hr::S_OK);
  EXPECT_EQ(fetch(Server::kExpired, kSslIgnoreUnknownCa | kSslIgnoreCertCnInvalid),
            hr::WINHTTP_SECURE_CERT_DATE_INVALID);
  EXPECT_EQ(fetch(Server::kUntrusted, kSslIgnoreUnknownCa), hr::S_OK);
  EXPECT_EQ(fetch(Server::kUntrusted, kSslIgnoreCertDateInvalid), hr::WINHTTP_SECURE_INVALID_CA);
  EXPECT_EQ(fetch(Server::kWrongName, kSslIgnoreCertCnInvalid), hr::S_OK);
  EXPECT_EQ(fetch(Server::kWrongUsage, kSslIgnoreCertWrongUsage), hr::S_OK);
  EXPECT_EQ(fetch(Server::kWrongUsage, kSslIgnoreUnknownCa), hr::WINHTTP_SECURE_CERT_WRONG_USAGE);
  std::string log = bitsd.log();
  EXPECT_NE(log.find("accepting a certificate despite 'certificate has expired'"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("accepting a certificate despite 'unsuitable certificate purpose'"),
            std::string::npos);
}

TEST_F(HttpOptionsTest, CrlCheckRefusesRevokedCertificatesAndUnobtainableCrls) {
  EXPECT_EQ(fetch(Server::kGood, kSslEnableCrlCheck), hr::S_OK);
  EXPECT_EQ(fetch(Server::kRevoked, kSslEnableCrlCheck), hr::WINHTTP_SECURE_CERT_REVOKED);
  EXPECT_EQ(fetch(Server::kCrlUnreachable, kSslEnableCrlCheck), hr::WINHTTP_SECURE_CERT_REV_FAILED);
  bool fetched = false;
  for (const auto& r : tls->requests()) {
    fetched = fetched || r.request_line.find("/crl/ca.crl") != std::string::npos;
  }
  EXPECT_TRUE(fetched);  // the CRL came from the URL in the certificate
}

TEST_F(HttpOptionsTest, MutualTlsWithACertificateFromTheMachineStore) {
  EXPECT_EQ(fetch(Server::kClientCertRequired), hr::WINHTTP_CLIENT_AUTH_CERT_NEEDED);
  fs::copy_file(tls->client().combined, machine_store + "/client.pem");
  Job by_id = job_for(tls->url(Server::kClientCertRequired, "/data.bin"));
  ASSERT_TRUE(by_id
                  .set_client_certificate_by_id(CertStoreLocation::kLocalMachine, "MY",
                                                hash_of(tls->client().sha1))
                  .ok());
  auto info = by_id.info();
  ASSERT_TRUE(info.ok() && info->client_certificate);
  EXPECT_EQ(info->client_certificate->subject, tls->client().subject);
  EXPECT_EQ(info->client_certificate->store_name, "MY");
  EXPECT_EQ(outcome(by_id), hr::S_OK);
  bool seen = false;
  for (const auto& r : tls->wait_for_requests(1)) {
    seen = seen || (r.port == tls->port(Server::kClientCertRequired) && r.status == 200 &&
                    r.client_subject == tls->client().subject);
  }
  EXPECT_TRUE(seen);
}

TEST_F(HttpOptionsTest, ClientCertificateByNameFromPkcs12AndTheStoreErrors) {
  fs::copy_file(tls->client().pkcs12, machine_store + "/client.p12");
  Job job = job_for(tls->url(Server::kClientCertRequired, "/data.bin"));
  EXPECT_EQ(job.set_client_certificate_by_name(CertStoreLocation::kLocalMachine, "MY",
                                               "OPENBITS TEST CLIENT")
                .code(),
            hr::S_OK);
  EXPECT_EQ(job.set_client_certificate_by_name(CertStoreLocation::kLocalMachine, "MY",
                                               "nobody matches this")
                .code(),
            hr::CRYPT_E_NOT_FOUND);
  EXPECT_EQ(
      job.set_client_certificate_by_name(CertStoreLocation::kLocalMachine, "ROOT", "x").code(),
      hr::FILE_NOT_FOUND);
  EXPECT_EQ(
      job.set_client_certificate_by_name(CertStoreLocation::kLocalMachine, "../MY", "x").code(),
      hr::E_INVALIDARG);
  EXPECT_EQ(job.set_client_certificate_by_name(static_cast<CertStoreLocation>(9), "MY", "x").code(),
            hr::E_NOTIMPL);
  EXPECT_EQ(outcome(job), hr::S_OK);  // the failed calls left the good certificate set
  Job removed = job_for(tls->url(Server::kClientCertRequired, "/data.bin"));
  ASSERT_TRUE(removed
                  .set_client_certificate_by_name(CertStoreLocation::kLocalMachine, "MY",
                                                  "openbits test client")
                  .ok());
  ASSERT_TRUE(removed.remove_client_certificate().ok());
  EXPECT_FALSE(removed.info()->client_certificate);
  EXPECT_EQ(outcome(removed), hr::WINHTTP_CLIENT_AUTH_CERT_NEEDED);
}

// The store is read with the owner's rights: a key nobody cannot read is not theirs to use,
// and their own store (CURRENT_USER) works for them.
TEST_F(HttpOptionsTest, CertificateStoresAreReadAsTheJobOwner) {
  fs::copy_file(tls->client().combined, machine_store + "/client.pem");
  ::chmod((machine_store + "/client.pem").c_str(), 0600);  // root's
  std::string user_store = dir.path() + "/users/65534/MY";
  fs::create_directories(user_store);
  fs::copy_file(tls->client().combined, user_store + "/mine.pem");
  ::chown((dir.path() + "/users/65534").c_str(), kNobody, kNobody);
  ::chown(user_store.c_str(), kNobody, kNobody);
  ::chown((user_store + "/mine.pem").c_str(), kNobody, kNobody);
  ::chmod((user_store + "/mine.pem").c_str(), 0600);
  std::string url = tls->url(Server::kClientCertRequired, "/data.bin");
  std::string result = run_as(kNobody, [&] {
    auto m = Manager::connect(bitsd.socket());
    auto job = m->create_job("nobody");
    std::string text;
    auto hash = hash_of(tls->client().sha1);
    text += hresult_hex(
        job->set_client_certificate_by_id(CertStoreLocation::kLocalMachine, "MY", hash).code());
    text += " ";
    text += hresult_hex(
        job->set_client_certificate_by_id(CertStoreLocation::kCurrentUser, "MY", hash).code());
    text += " ";
    text += hresult_hex(job->add_file(url, out + "/mine.bin").code());
    text += " ";
    text += hresult_hex(job->resume().code());
    JobState state = wait_for_state(*job, {JobState::kTransferred, JobState::kError}, seconds(30));
    text += " " + to_string(state);
    return text;
  });
  EXPECT_EQ(result, "0x80070005 0x00000000 0x00000000 0x00000000 TRANSFERRED");
}

TEST_F(HttpOptionsTest, RedirectPolicies) {
  std::string redirect = tls->url(Server::kGood, "/redirect/data.bin");
  std::string target = tls->url(Server::kGood, "/data.bin");
  Job silent = job_for(redirect, 0, "silent");
  EXPECT_EQ(outcome(silent), hr::S_OK);
  EXPECT_EQ((*silent.files())[0].info()->remote_name, redirect);
  Job report = job_for(redirect, kRedirectPolicyAllowReport, "report");
  EXPECT_EQ(outcome(report), hr::S_OK);
  EXPECT_EQ((*report.files())[0].info()->remote_name, target);
  Job refuse = job_for(redirect, kRedirectPolicyDisallow, "refuse");
  EXPECT_EQ(outcome(refuse), 0x8007012Eu);  // HRESULT_FROM_WIN32(302)
  EXPECT_EQ((*refuse.files())[0].info()->remote_name, target);
  Job downgrade = job_for(tls->url(Server::kGood, "/to-http/data.bin"), 0, "downgrade");
  EXPECT_EQ(outcome(downgrade), hr::WINHTTP_REDIRECT_FAILED);
  Job allowed = job_for(tls->url(Server::kGood, "/to-http/data.bin"),
                        kRedirectPolicyAllowHttpsToHttp, "allowed");
  EXPECT_EQ(outcome(allowed), hr::S_OK);
  Job loop = job_for(tls->url(Server::kGood, "/loop/data.bin"), 0, "loop");
  EXPECT_EQ(outcome(loop), hr::WINHTTP_REDIRECT_FAILED);
}

TEST_F(HttpOptionsTest, CustomHeadersReachTheServerEvenWhenWriteOnly) {
  Job job = job_for(tls->url(Server::kGood, "/data.bin"));
  ASSERT_TRUE(job.set_custom_headers("X-Openbits-Test: first\r\n").ok());
  ASSERT_TRUE(job.set_custom_headers(std::nullopt).ok());
  EXPECT_FALSE(job.info()->custom_headers);
  ASSERT_TRUE(job.set_custom_headers("X-Openbits-Test: hello\r\n").ok());
  EXPECT_EQ(job.info()->custom_headers, std::optional<std::string>("X-Openbits-Test: hello\r\n"));
  ASSERT_TRUE(job.make_custom_headers_write_only().ok());
  EXPECT_FALSE(job.info()->custom_headers);
  EXPECT_TRUE(job.info()->custom_headers_write_only);
  auto r = run_command({OPENBITS_BITSADMIN_PATH, "/getcustomheaders", to_string(job.id())},
                       {"OPENBITS_SOCKET=" + bitsd.socket()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("0x80070005"), std::string::npos) << r.err;
  EXPECT_EQ(outcome(job), hr::S_OK);
  auto requests = tls->wait_for_requests(2);
  ASSERT_GE(requests.size(), 2u);  // HEAD and GET
  for (const auto& req : requests) EXPECT_EQ(req.test_header, "hello") << req.request_line;
}

TEST_F(HttpOptionsTest, BasicServerCredentialsAnswerNginxOnce) {
  Job job = job_for(tls->url(Server::kGood, "/basic/data.bin"));
  ASSERT_TRUE(
      job.set_credentials({AuthTarget::kServer, AuthScheme::kBasic, "carol", "carol-password"})
          .ok());
  EXPECT_EQ(outcome(job), hr::S_OK);
  auto requests = tls->wait_for_requests(3);
  ASSERT_GE(requests.size(), 3u);
  EXPECT_EQ(requests[0].status, 401);  // the first request carried nothing
  EXPECT_EQ(requests[0].user, "-");
  for (std::size_t i = 1; i < requests.size(); ++i) EXPECT_EQ(requests[i].user, "carol");
  Job wrong = job_for(tls->url(Server::kGood, "/basic/data.bin"), 0, "wrong");
  ASSERT_TRUE(
      wrong.set_credentials({AuthTarget::kServer, AuthScheme::kBasic, "carol", "nope"}).ok());
  EXPECT_EQ(outcome(wrong), 0x80190191u);
  Job none = job_for(tls->url(Server::kGood, "/basic/data.bin"), 0, "none");
  EXPECT_EQ(outcome(none), 0x80190191u);
}

// bitsadmin's client certificate and credential commands, as a script would use them.
TEST_F(HttpOptionsTest, BitsadminCertificateAndCredentialCommands) {
  fs::copy_file(tls->client().combined, machine_store + "/client.pem");
  auto admin = [&](std::vector<std::string> args) {
    args.insert(args.begin(), OPENBITS_BITSADMIN_PATH);
    return run_command(args, {"OPENBITS_SOCKET=" + bitsd.socket()});
  };
  ASSERT_EQ(admin({"/create", "certs"}).exit_code, 0);
  auto set = admin({"/setclientcertificatebyid", "certs", "2", "MY", tls->client().sha1});
  EXPECT_EQ(set.exit_code, 0) << set.err;
  EXPECT_NE(set.out.find("Client certificate set."), std::string::npos);
  auto get = admin({"/rawreturn", "/getclientcertificate", "certs"});
  std::string lower = tls->client().sha1;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_EQ(get.out, lower);
  auto full = admin({"/getclientcertificate", "certs"});
  EXPECT_NE(full.out.find("Location: LOCAL_MACHINE\nStore: MY\nHash: " + lower +
                          "\nSubject: " + tls->client().subject),
            std::string::npos)
      << full.out;
  auto by_name =
      admin({"/setclientcertificatebyname", "certs", "BG_CERT_STORE_LOCATION_LOCAL_MACHINE", "MY",
             "openbits", "test", "client"});
  EXPECT_EQ(by_name.exit_code, 0) << by_name.err;
  auto bad_hash = admin({"/setclientcertificatebyid", "certs", "2", "MY", "ABCD"});
  EXPECT_NE(bad_hash.exit_code, 0);
  EXPECT_NE(bad_hash.err.find("0x800706f7"), std::string::npos) << bad_hash.err;
  auto removed = admin({"/removeclientcertificate", "certs"});
  EXPECT_NE(removed.out.find("Client certificate removed."), std::string::npos);
  auto none = admin({"/getclientcertificate", "certs"});
  EXPECT_NE(none.exit_code, 0);
  EXPECT_NE(none.err.find("0x80092004"), std::string::npos) << none.err;
  auto creds = admin({"/setcredentials", "certs", "server", "digest", "u", "p"});
  EXPECT_NE(creds.out.find("Credentials set."), std::string::npos) << creds.err;
  EXPECT_NE(
      admin({"/removecredentials", "certs", "SERVER", "DIGEST"}).out.find("Credentials removed."),
      std::string::npos);
  EXPECT_NE(admin({"/removecredentials", "certs", "SERVER", "DIGEST"})
                .out.find("No credentials were set."),
            std::string::npos);
  auto bad_target = admin({"/setcredentials", "certs", "CLIENT", "BASIC", "u", "p"});
  EXPECT_NE(bad_target.err.find("0x80200027"), std::string::npos) << bad_target.err;
  auto implicit_basic = admin({"/setcredentials", "certs", "SERVER", "BASIC", "NULL", "NULL"});
  EXPECT_NE(implicit_basic.err.find("0x80070057"), std::string::npos) << implicit_basic.err;
}

}  // namespace
}  // namespace openbits::itest
