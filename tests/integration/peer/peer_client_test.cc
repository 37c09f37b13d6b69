// PeerClient against real peer servers: hits, misses, exact ranges, the peer's subject, and
// each error kind (a server of another CA, an expired server certificate, nobody
// listening, a server that never answers).
#include "src/daemon/peer/peer_client.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/ssl.hpp>
#include <thread>

#include "src/daemon/peer/peer_server.h"
#include "src/daemon/peer/peer_service.h"
#include "tests/integration/peer/peer_fixture.h"
#include "tests/support/temp_dir.h"

namespace openbits::daemon::peertest {
namespace {

namespace asio = boost::asio;

class PeerClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    content = pattern(std::size_t{1} << 20, 3);
    record = source.add("http://origin.example/c.bin", content);
    auto created = PeerService::create(peer_config(certs().files(certs().host1)), source);
    ASSERT_TRUE(created.ok()) << created.status().message();
    service = std::move(*created);
    ASSERT_TRUE(service->start().ok());
  }
  // A peer server of its own with a TLS context built here (no start-up checks), so the
  // client meets certificates bitsd would refuse to serve with.
  std::string serve_with(const PeerTlsFiles& files) {
    raw_tls.set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
    raw_tls.load_verify_file(certs().fleet.cert());
    raw_tls.use_certificate_chain_file(files.cert_file);
    raw_tls.use_private_key_file(files.key_file, asio::ssl::context::pem);
    raw_server = std::make_unique<PeerServer>(raw_io, raw_tls, source, PeerServerOptions{});
    EXPECT_TRUE(raw_server->listen("127.0.0.1:0").ok());
    raw_server->start();
    raw_thread = std::thread([this] { raw_io.run(); });
    return raw_server->local_address();
  }
  void TearDown() override {
    raw_io.stop();
    if (raw_thread.joinable()) raw_thread.join();
  }

  test::TempDir dir{"openbits-peer-client"};
  CacheSource source{dir.path()};
  std::string content;
  PeerCacheRecord record;
  std::unique_ptr<PeerService> service;
  PeerClient client{{certs().files(certs().host2)}};
  asio::io_context raw_io;
  asio::ssl::context raw_tls{asio::ssl::context::tls_server};
  std::unique_ptr<PeerServer> raw_server;
  std::thread raw_thread;
};

TEST_F(PeerClientTest, HeadOfAHeldContentIsAHitWithItsSizeDigestAndThePeersSubject) {
  PeerAnswer answer = client.head(service->server_address(), record.key);
  ASSERT_EQ(answer.outcome, PeerAnswer::Outcome::kHit) << answer.detail;
  EXPECT_EQ(answer.status, 200u);
  EXPECT_EQ(answer.size, content.size());
  EXPECT_EQ(answer.sha256, sha256_hex(content));
  EXPECT_EQ(answer.subject, "CN=host1,O=fleet");
}

TEST_F(PeerClientTest, HeadOfAnUnknownKeyIsAMissAfterASuccessfulHandshake) {
  PeerAnswer answer = client.head(service->server_address(), std::string(64, 'a'));
  EXPECT_EQ(answer.outcome, PeerAnswer::Outcome::kMiss);
  EXPECT_EQ(answer.error, PeerError::kNone);
  EXPECT_EQ(answer.status, 404u);
  EXPECT_EQ(answer.subject, "CN=host1,O=fleet");
}

TEST_F(PeerClientTest, GetRangeReturnsExactlyTheBytesAsked) {
  PeerAnswer part = client.get_range(service->server_address(), record.key, 4096, 65536);
  ASSERT_EQ(part.outcome, PeerAnswer::Outcome::kHit) << part.detail;
  EXPECT_EQ(part.status, 206u);
  EXPECT_TRUE(part.bytes == content.substr(4096, 65536));
  PeerAnswer last = client.get_range(service->server_address(), record.key, content.size() - 1, 1);
  EXPECT_EQ(last.bytes, content.substr(content.size() - 1));
  PeerAnswer outside = client.get_range(service->server_address(), record.key, content.size(), 10);
  EXPECT_EQ(outside.outcome, PeerAnswer::Outcome::kMiss);
  EXPECT_EQ(outside.status, 416u);
  EXPECT_EQ(source.leases, 0);
}

TEST_F(PeerClientTest, APeerWithAnotherCasCertificateIsABadCertificate) {
  std::string address = serve_with(certs().stranger_files());
  PeerAnswer answer = client.head(address, record.key);
  EXPECT_EQ(answer.outcome, PeerAnswer::Outcome::kError);
  EXPECT_EQ(answer.error, PeerError::kBadCertificate) << answer.detail;
  EXPECT_EQ(answer.status, 0u);
  EXPECT_EQ(source.leases, 0);
}

TEST_F(PeerClientTest, APeerWithAnExpiredCertificateIsABadCertificate) {
  std::string address = serve_with(certs().files(certs().expired));
  PeerAnswer answer = client.head(address, record.key);
  EXPECT_EQ(answer.error, PeerError::kBadCertificate) << answer.detail;
  EXPECT_NE(answer.detail.find("expired"), std::string::npos) << answer.detail;
}

// A TCP socket bound to a free loopback port, and that port's "127.0.0.1:PORT".
std::pair<int, std::string> bound_socket() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return {fd, "127.0.0.1:" + std::to_string(ntohs(addr.sin_port))};
}

TEST_F(PeerClientTest, NobodyListeningIsUnreachable) {
  auto [fd, address] = bound_socket();
  ::close(fd);  // bound and closed again: nothing listens there
  PeerAnswer answer = client.head(address, record.key);
  EXPECT_EQ(answer.error, PeerError::kUnreachable) << answer.detail;
}

TEST_F(PeerClientTest, AServerThatNeverAnswersIsATimeout) {
  // Listens (the kernel completes the TCP handshake) but never speaks TLS.
  auto [fd, address] = bound_socket();
  ASSERT_EQ(::listen(fd, 4), 0);
  PeerClient impatient({certs().files(certs().host2), std::chrono::milliseconds(1000),
                        std::chrono::milliseconds(1500)});
  PeerAnswer answer = impatient.head(address, record.key);
  ::close(fd);
  EXPECT_EQ(answer.error, PeerError::kTimeout) << answer.detail;
}

}  // namespace
}  // namespace openbits::daemon::peertest
