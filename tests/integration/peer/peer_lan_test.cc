// Peer caching on a LAN of network namespaces (lan.h): nginx alone in the origin's
// namespace, each host a real bitsd in a namespace of its own with peer_listen on its LAN
// address, a static `peers` list naming the others, machine flags 3 and a certificate of
// the test's CA. Host 1 downloads and completes a file; the others then download the same
// URL at the same time. Every copy is byte-identical, nginx's log shows at most 1.1 copies
// sent in body bytes over the whole test, and each host's /getpeerstats adds up to the
// size with origin parts that sum to what nginx sent them. Hosts outside the fleet (a
// certificate of another CA, or none) are neither served nor used. Needs root and `ip
// netns`; skipped with the reason otherwise.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>

#include "tests/integration/peer/bitsd_fleet.h"
#include "tests/integration/peer/lan.h"
#include "tests/integration/peer/peer_fixture.h"

namespace openbits::daemon::peertest {
namespace {

constexpr std::uint64_t kSize = (5u << 20) + 4321;  // several 1 MiB peer ranges
constexpr int kOriginPort = 8080;
constexpr const char* kPeerPort = ":7700";

std::string extensions(const std::string& ip) {
  return "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
         "extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=IP:" +
         ip + "\n";
}

class PeerLanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!Lan::available(&why)) GTEST_SKIP() << "no network namespaces: " << why;
    out = dir.path() + "/out";
    std::filesystem::create_directories(out);
    std::filesystem::permissions(out, std::filesystem::perms::all);
  }
  void TearDown() override {
    if (!HasFailure()) return;
    for (const auto& [i, host] : hosts) std::cerr << "--- host " << i << " ---\n" << host->log();
  }
  // The LAN with `count` hosts and nginx serving f.bin on the origin.
  void start_lan(int count) {
    lan = std::make_unique<Lan>(count);
    itest::make_file(nginx.root() + "/f.bin", kSize, 33);
    nginx.add_server_config("    listen " + lan->ip(0) + ":" + std::to_string(kOriginPort) + ";");
    InNetns in(lan->netns(0));
    nginx.start(kOriginPort);
  }
  std::string url() const {
    return "http://" + lan->ip(0) + ":" + std::to_string(kOriginPort) + "/f.bin";
  }
  std::string peer_address(int i) const { return lan->ip(i) + kPeerPort; }
  // Host `i` (1-based) with a certificate of `ca` and that CA as its peer_ca_file,
  // knowing `peers`; started.
  PeerHost& add_host(int i, itest::TestCa& ca, const std::vector<std::string>& peers) {
    auto cert = ca.issue("host" + std::to_string(i), "/O=lan/CN=host" + std::to_string(i),
                         extensions(lan->ip(i)));
    hosts[i] = std::make_unique<PeerHost>(
        dir.path() + "/h" + std::to_string(i), cert,
        PeerHostConfig{
            .serve = true, .peers = peers, .machine_flags = 3, .max_serve_bytes_per_s = 0},
        PeerHostPlace{.listen = peer_address(i), .netns = lan->netns(i), .ca_file = ca.cert()});
    hosts[i]->start();
    return *hosts[i];
  }
  // Every host of 1..count but `i`.
  std::vector<std::string> others(int i, int count) const {
    std::vector<std::string> peers;
    for (int j = 1; j <= count; ++j) {
      if (j != i) peers.push_back(peer_address(j));
    }
    return peers;
  }
  // Host `i` downloads f.bin to out/h<i>.bin with job flags 3 and completes it.
  void seed(int i) {
    PeerHost& host = *hosts[i];
    std::string id = host.download(url(), local(i), 3);
    ASSERT_TRUE(host.reaches(id, "TRANSFERRED"));
    ASSERT_EQ(host.admin({"/complete", id}).exit_code, 0);
    ASSERT_TRUE(itest::eventually([&] { return !host.raw({"/cache", "/list"}).empty(); }));
  }
  std::string local(int i) const { return out + "/h" + std::to_string(i) + ".bin"; }
  bool identical(int i) const { return itest::files_equal(local(i), nginx.root() + "/f.bin"); }

  itest::TempDir dir;
  itest::TestCa fleet{dir.path() + "/fleet-ca", "lan fleet CA"};
  std::unique_ptr<Lan> lan;
  itest::Nginx nginx{dir.path()};
  std::map<int, std::unique_ptr<PeerHost>> hosts;  // by number; destroyed before nginx and the LAN
  std::string out;
};

TEST_F(PeerLanTest, FourHostsAtOnceTakeTheFileFromTheFirstNotTheOrigin) {
  constexpr int kHosts = 5;
  start_lan(kHosts);
  for (int i = 1; i <= kHosts; ++i) add_host(i, fleet, others(i, kHosts));
  seed(1);
  for (int i = 2; i <= kHosts; ++i) {
    ASSERT_TRUE(itest::eventually([&] { return hosts[i]->trusts(peer_address(1)); }));
  }
  std::uint64_t before = nginx.bytes_sent();
  std::map<int, std::string> ids;
  for (int i = 2; i <= kHosts; ++i) {
    PeerHost& host = *hosts[i];
    ids[i] = host.raw({"/create", "lan"});
    ASSERT_EQ(host.admin({"/addfile", ids[i], url(), local(i)}).exit_code, 0);
    ASSERT_EQ(host.admin({"/setpeercachingflags", ids[i], "3"}).exit_code, 0);
  }
  for (int i = 2; i <= kHosts; ++i) ASSERT_EQ(hosts[i]->admin({"/resume", ids[i]}).exit_code, 0);
  std::uint64_t origin_parts = 0;
  for (int i = 2; i <= kHosts; ++i) {
    PeerHost& host = *hosts[i];
    ASSERT_TRUE(host.reaches(ids[i], "TRANSFERRED")) << "host " << i;
    auto [from_origin, from_peers] = host.peer_stats(ids[i]);
    EXPECT_EQ(from_origin + from_peers, kSize) << "host " << i;
    origin_parts += from_origin;
    ASSERT_EQ(host.admin({"/complete", ids[i]}).exit_code, 0);
    EXPECT_TRUE(identical(i)) << "host " << i;
  }
  EXPECT_EQ(nginx.bytes_sent() - before, origin_parts);
  EXPECT_LE(nginx.bytes_sent(), kSize + kSize / 10) << "more than 1.1 copies from the origin";
  EXPECT_FALSE(hosts[1]->served_requests().empty());
}

TEST_F(PeerLanTest, HostsOutsideTheFleetAreNeitherServedNorUsed) {
  start_lan(3);
  itest::TestCa other{dir.path() + "/other-ca", "other CA"};
  PeerHost& fleet_seed = add_host(1, fleet, {});
  seed(1);
  // Host 2's certificate (and its CA) is another fleet's: host 1 refuses it.
  PeerHost& stranger = add_host(2, other, {peer_address(1)});
  std::string id = stranger.download(url(), local(2), 3);
  ASSERT_TRUE(stranger.reaches(id, "TRANSFERRED"));
  EXPECT_EQ(stranger.peer_stats(id), std::make_pair(kSize, std::uint64_t{0}));
  ASSERT_EQ(stranger.admin({"/complete", id}).exit_code, 0);
  EXPECT_TRUE(identical(2));
  EXPECT_TRUE(fleet_seed.served_requests().empty());
  EXPECT_FALSE(stranger.trusts(peer_address(1)));
  ASSERT_TRUE(itest::eventually([&] { return !stranger.raw({"/cache", "/list"}).empty(); }));
  // Host 3 (the fleet's) knows only host 2, which holds the file: it is not used.
  PeerHost& member = add_host(3, fleet, {peer_address(2)});
  std::uint64_t before = nginx.bytes_sent();
  id = member.download(url(), local(3), 3);
  ASSERT_TRUE(member.reaches(id, "TRANSFERRED"));
  EXPECT_EQ(member.peer_stats(id), std::make_pair(kSize, std::uint64_t{0}));
  ASSERT_EQ(member.admin({"/complete", id}).exit_code, 0);
  EXPECT_TRUE(identical(3));
  EXPECT_EQ(nginx.bytes_sent() - before, kSize);
  EXPECT_TRUE(stranger.served_requests().empty());
  EXPECT_FALSE(member.trusts(peer_address(2)));
  // A client with no certificate gets nothing from host 1.
  InNetns in(lan->netns(3));
  std::string content = "https://" + peer_address(1) + "/";
  Fetched none = curl_peer({fleet.cert(), "", ""}, content, dir.path());
  EXPECT_TRUE(none.exit_code != 0 || none.status() != 200) << none.head;
  EXPECT_TRUE(fleet_seed.served_requests().empty());
}

}  // namespace
}  // namespace openbits::daemon::peertest
