// Discovery and the known peers between real PeerServices on loopback, in a network
// namespace of the test's own (lo with multicast): announces at start and periodically,
// queries answered by unicast, authentication by mutual TLS (a host of another CA is
// listed but never authenticated), our own announces ignored, malformed datagrams
// harmless, the static list, and drops after failed exchanges.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <random>

#include "src/daemon/peer/peer_protocol.h"
#include "src/daemon/peer/peer_service.h"
#include "tests/integration/peer/peer_fixture.h"
#include "tests/support/temp_dir.h"

namespace openbits::daemon::peertest {
namespace {

// By value: `peers` is usually the temporary that PeerDirectory::peers() returned.
std::optional<PeerInfo> find(const std::vector<PeerInfo>& peers, const std::string& address) {
  for (const PeerInfo& p : peers) {
    if (p.address == address) return p;
  }
  return std::nullopt;
}

class DiscoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!enter_private_network(&why)) GTEST_SKIP() << "no private network namespace: " << why;
    std::mt19937 random(std::random_device{}());
    group_port = 20000 + static_cast<unsigned>(random() % 20000);
    group = "239.255.66.77:" + std::to_string(group_port);
    tuning.announce_interval = std::chrono::milliseconds(800);
    tuning.max_answer_delay = std::chrono::milliseconds(200);
    tuning.min_probe_interval = std::chrono::milliseconds(0);
  }
  PeerService& start(CacheSource& source, const Config& config) {
    auto created = PeerService::create(config, source, tuning);
    EXPECT_TRUE(created.ok()) << created.status().message();
    services.push_back(std::move(*created));
    Status started = services.back()->start();
    EXPECT_TRUE(started.ok()) << started.message();
    return *services.back();
  }
  PeerService& start(const PeerTlsFiles& files, CacheSource& source) {
    return start(source, peer_config(files, true, group));
  }
  bool knows(PeerService& service, const std::string& address, bool authenticated) {
    auto p = find(service.directory().peers(), address);
    return p && p->authenticated == authenticated && p->available == authenticated;
  }
  void send_to_group(const std::string& bytes) {
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    in_addr loopback{htonl(INADDR_LOOPBACK)};
    ::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &loopback, sizeof loopback);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<std::uint16_t>(group_port));
    ::inet_pton(AF_INET, "239.255.66.77", &to.sin_addr);
    ::sendto(fd, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    ::close(fd);
  }

  test::TempDir dir{"openbits-peer-discovery"};
  unsigned group_port = 0;
  std::string group;
  PeerServiceTuning tuning;
  std::vector<std::unique_ptr<PeerService>> services;
};

TEST_F(DiscoveryTest, TwoHostsFindEachOtherAndAuthenticateByMutualTls) {
  CacheSource source_a(dir.path() + "/a"), source_b(dir.path() + "/b");
  PeerService& a = start(certs().files(certs().host1), source_a);
  PeerService& b = start(certs().files(certs().host2), source_b);
  // b's announce at start, then a's periodic one.
  ASSERT_TRUE(itest::eventually([&] { return knows(a, b.server_address(), true); }));
  ASSERT_TRUE(itest::eventually([&] { return knows(b, a.server_address(), true); }));
  EXPECT_EQ(find(a.directory().peers(), b.server_address())->name, "CN=host2,O=fleet");
  EXPECT_EQ(find(b.directory().peers(), a.server_address())->name, "CN=host1,O=fleet");
  EXPECT_FALSE(find(a.directory().peers(), b.server_address())->from_config);
  // Neither lists itself, though each hears its own announces (multicast loop).
  EXPECT_FALSE(find(a.directory().peers(), a.server_address()));
  EXPECT_FALSE(find(b.directory().peers(), b.server_address()));
  EXPECT_EQ(a.registry().usable_peers(), std::vector<std::string>{b.server_address()});
}

TEST_F(DiscoveryTest, AQueryIsAnsweredByAUnicastAnnounceAndClearForgets) {
  tuning.announce_interval = std::chrono::hours(1);  // only the announce at start
  CacheSource source_a(dir.path() + "/a"), source_b(dir.path() + "/b");
  PeerService& a = start(certs().files(certs().host1), source_a);
  PeerService& b = start(certs().files(certs().host2), source_b);
  ASSERT_TRUE(itest::eventually([&] { return knows(a, b.server_address(), true); }));
  EXPECT_FALSE(find(b.directory().peers(), a.server_address()));  // a announced before b was
  EXPECT_TRUE(a.directory().clear().ok());
  EXPECT_TRUE(a.directory().peers().empty());
  EXPECT_TRUE(b.directory().discover().ok());  // b asks; a answers b alone
  ASSERT_TRUE(itest::eventually([&] { return knows(b, a.server_address(), true); }));
  EXPECT_TRUE(a.directory().discover().ok());
  ASSERT_TRUE(itest::eventually([&] { return knows(a, b.server_address(), true); }));
}

TEST_F(DiscoveryTest, AHostOfAnotherCaIsListedButNeverAuthenticated) {
  CacheSource source_a(dir.path() + "/a"), source_s(dir.path() + "/s");
  PeerService& a = start(certs().files(certs().host1), source_a);
  PeerTlsFiles stranger = certs().stranger_files();
  PeerService& s = start(stranger, source_s);
  std::string address = s.server_address();
  ASSERT_TRUE(itest::eventually([&] { return find(a.directory().peers(), address).has_value(); }));
  a.registry().wait_idle();
  ASSERT_TRUE(itest::eventually([&] { return knows(a, address, false); }));
  EXPECT_EQ(find(a.directory().peers(), address)->name, address);
  EXPECT_TRUE(a.registry().usable_peers().empty());
  EXPECT_FALSE(knows(s, a.server_address(), true));  // nor does it trust a
}

TEST_F(DiscoveryTest, MalformedAndForgedDatagramsAreHarmless) {
  CacheSource source_a(dir.path() + "/a");
  PeerService& a = start(certs().files(certs().host1), source_a);
  std::mt19937 random(5);
  for (int i = 0; i < 200; ++i) {
    std::string junk(random() % 1400, '\0');
    for (char& c : junk) c = static_cast<char>(random() & 0xFF);
    send_to_group(junk);
  }
  send_to_group(R"({"v":1,"t":"announce","port":0})");
  send_to_group(R"({"v":7,"t":"announce","port":9})");
  // A forged announce naming a port where nobody serves: listed, never usable. Sent until
  // heard: the junk may have filled the socket's receive buffer (UDP drops, as it may).
  ASSERT_TRUE(itest::eventually([&] {
    send_to_group(R"({"v":1,"t":"announce","port":9})");
    return a.directory().peers().size() == 1;
  }));
  a.registry().wait_idle();
  auto peers = a.directory().peers();
  EXPECT_EQ(peers[0].address, "127.0.0.1:9");
  EXPECT_FALSE(peers[0].authenticated);
  EXPECT_FALSE(peers[0].available);
  // Still serving and answering queries.
  CacheSource source_b(dir.path() + "/b");
  PeerService& b = start(certs().files(certs().host2), source_b);
  EXPECT_TRUE(b.directory().discover().ok());
  EXPECT_TRUE(itest::eventually([&] { return knows(b, a.server_address(), true); }));
}

TEST_F(DiscoveryTest, StaticPeersAreAuthenticatedAndDroppedAfterThreeFailedExchanges) {
  CacheSource source_a(dir.path() + "/a"), source_b(dir.path() + "/b");
  PeerService& b = start(source_b, peer_config(certs().files(certs().host2)));  // no discovery
  Config config = peer_config(certs().files(certs().host1), false);             // a client only
  config.peers = {b.server_address(), "127.0.0.1:9"};
  PeerService& a = start(source_a, config);
  EXPECT_EQ(a.server_address(), "");
  ASSERT_TRUE(itest::eventually([&] { return knows(a, b.server_address(), true); }));
  a.registry().wait_idle();
  auto nobody = find(a.directory().peers(), "127.0.0.1:9");
  ASSERT_TRUE(nobody.has_value());
  EXPECT_TRUE(nobody->from_config);
  EXPECT_FALSE(nobody->authenticated);
  EXPECT_FALSE(nobody->available);
  // b goes away: two failed exchanges keep it, the third drops it.
  std::string address = b.server_address();
  b.stop();
  for (int i = 1; i <= 3; ++i) {
    PeerAnswer answer = a.client().head(address, std::string(64, 'b'));
    EXPECT_EQ(answer.error, PeerError::kUnreachable) << answer.detail;
    a.registry().report(address, answer);
    EXPECT_EQ(find(a.directory().peers(), address)->available, i < 3) << i;
  }
  EXPECT_TRUE(a.registry().usable_peers().empty());
}

}  // namespace
}  // namespace openbits::daemon::peertest
