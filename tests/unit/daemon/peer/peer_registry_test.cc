// PeerRegistry's rules with scripted probe outcomes (the real exchanges are in
// tests/integration/peer): who counts as authenticated and available, drops after a bad
// handshake or three failures in a row, what clear() keeps, and the bounds on announces.
#include "src/daemon/peer/peer_registry.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>

namespace openbits::daemon {
namespace {

PeerAnswer miss(const std::string& subject) {
  PeerAnswer a;
  a.outcome = PeerAnswer::Outcome::kMiss;
  a.status = 404;
  a.subject = subject;
  return a;
}

PeerAnswer failure(PeerError error) {
  PeerAnswer a;
  a.error = error;
  a.detail = to_string(error);
  return a;
}

class PeerRegistryTest : public ::testing::Test {
 protected:
  std::unique_ptr<PeerRegistry> make(PeerRegistryOptions options = {}) {
    options.min_probe_interval = std::chrono::milliseconds(0);
    auto registry = std::make_unique<PeerRegistry>(
        options,
        [this](const std::string& address) {
          std::lock_guard lock(mutex);
          ++probes[address];
          auto it = next.find(address);
          return it == next.end() ? failure(PeerError::kUnreachable) : it->second;
        },
        [this] { ++queries; });
    registry->start();
    return registry;
  }
  void answer(const std::string& address, PeerAnswer a) {
    std::lock_guard lock(mutex);
    next[address] = std::move(a);
  }
  static const PeerInfo* find(const std::vector<PeerInfo>& peers, const std::string& address) {
    for (const PeerInfo& p : peers) {
      if (p.address == address) return &p;
    }
    return nullptr;
  }

  std::mutex mutex;
  std::map<std::string, PeerAnswer> next;
  std::map<std::string, int> probes;
  std::atomic<int> queries{0};
};

TEST_F(PeerRegistryTest, AnAnnouncedPeerIsAuthenticatedByAnExchangeAndNamedByItsSubject) {
  auto registry = make();
  answer("10.0.0.2:7378", miss("CN=h2,O=fleet"));
  registry->on_announce("10.0.0.2:7378");
  registry->wait_idle();
  auto peers = registry->peers();
  ASSERT_EQ(peers.size(), 1u);
  EXPECT_EQ(peers[0].name, "CN=h2,O=fleet");
  EXPECT_TRUE(peers[0].authenticated);
  EXPECT_TRUE(peers[0].available);
  EXPECT_FALSE(peers[0].from_config);
  EXPECT_GT(peers[0].last_seen_unix, 0);
  EXPECT_EQ(registry->usable_peers(), std::vector<std::string>{"10.0.0.2:7378"});
}

TEST_F(PeerRegistryTest, ABadCertificateOrFailedHandshakeDropsAPeerAtOnce) {
  auto registry = make();
  for (PeerError error : {PeerError::kBadCertificate, PeerError::kTls}) {
    answer("10.0.0.2:7378", miss("CN=h2,O=fleet"));
    registry->on_announce("10.0.0.2:7378");
    registry->wait_idle();
    ASSERT_TRUE(registry->peers()[0].available);
    registry->report("10.0.0.2:7378", failure(error));
    auto peers = registry->peers();
    EXPECT_FALSE(peers[0].available) << to_string(error);
    EXPECT_FALSE(peers[0].authenticated) << to_string(error);
    EXPECT_EQ(peers[0].name, "10.0.0.2:7378");
    EXPECT_TRUE(registry->usable_peers().empty());
  }
}

TEST_F(PeerRegistryTest, ThreeFailuresInARowDropAPeerAndASuccessBringsItBack) {
  auto registry = make();
  answer("10.0.0.2:7378", miss("CN=h2,O=fleet"));
  registry->on_announce("10.0.0.2:7378");
  registry->wait_idle();
  registry->report("10.0.0.2:7378", failure(PeerError::kTimeout));
  registry->report("10.0.0.2:7378", failure(PeerError::kUnreachable));
  EXPECT_TRUE(registry->peers()[0].available);
  registry->report("10.0.0.2:7378", miss("CN=h2,O=fleet"));  // the count starts again
  registry->report("10.0.0.2:7378", failure(PeerError::kTimeout));
  registry->report("10.0.0.2:7378", failure(PeerError::kProtocol));
  EXPECT_TRUE(registry->peers()[0].available);
  registry->report("10.0.0.2:7378", failure(PeerError::kUnreachable));
  EXPECT_FALSE(registry->peers()[0].available);
  EXPECT_TRUE(registry->peers()[0].authenticated);  // it did prove itself; it is gone now
  registry->on_announce("10.0.0.2:7378");           // back: probed again
  registry->wait_idle();
  EXPECT_TRUE(registry->peers()[0].available);
}

TEST_F(PeerRegistryTest, BusyIsNotAFailure) {
  auto registry = make();
  answer("10.0.0.2:7378", miss("CN=h2,O=fleet"));
  registry->on_announce("10.0.0.2:7378");
  registry->wait_idle();
  PeerAnswer busy = failure(PeerError::kBusy);
  busy.status = 503;
  for (int i = 0; i < 5; ++i) registry->report("10.0.0.2:7378", busy);
  EXPECT_TRUE(registry->peers()[0].available);
}

TEST_F(PeerRegistryTest, StaticPeersAreProbedAtStartAndStayThroughClear) {
  PeerRegistryOptions options;
  options.static_peers = {"h1.lan:7378", "10.0.0.9:7378"};
  answer("h1.lan:7378", miss("CN=h1,O=fleet"));
  auto registry = make(options);
  registry->wait_idle();
  registry->on_announce("10.0.0.3:7378");
  registry->wait_idle();
  auto peers = registry->peers();
  ASSERT_EQ(peers.size(), 3u);
  EXPECT_TRUE(find(peers, "h1.lan:7378")->authenticated);
  EXPECT_TRUE(find(peers, "h1.lan:7378")->from_config);
  EXPECT_FALSE(find(peers, "10.0.0.9:7378")->authenticated);  // unreachable
  EXPECT_FALSE(find(peers, "10.0.0.9:7378")->available);
  EXPECT_TRUE(registry->clear().ok());
  peers = registry->peers();
  ASSERT_EQ(peers.size(), 2u);  // the discovered one is forgotten
  EXPECT_FALSE(find(peers, "10.0.0.3:7378"));
  registry->wait_idle();  // clear() probes the static ones again
  EXPECT_TRUE(find(registry->peers(), "h1.lan:7378")->authenticated);
  EXPECT_GE(probes["h1.lan:7378"], 2);
}

TEST_F(PeerRegistryTest, OwnAnnouncesAndAnnouncesPastTheBoundAreIgnored) {
  PeerRegistryOptions options;
  options.own_address = "10.0.0.1:7378";
  options.max_discovered = 2;
  auto registry = make(options);
  registry->on_announce("10.0.0.1:7378");
  for (int i = 2; i < 10; ++i) registry->on_announce("10.0.0." + std::to_string(i) + ":7378");
  registry->wait_idle();
  auto peers = registry->peers();
  EXPECT_EQ(peers.size(), 2u);
  EXPECT_FALSE(find(peers, "10.0.0.1:7378"));
}

TEST_F(PeerRegistryTest, DiscoverQueriesAndAskingWithNoPeerQueriesAtMostOncePerInterval) {
  PeerRegistryOptions options;
  options.min_query_interval = std::chrono::hours(1);
  auto registry = make(options);
  EXPECT_TRUE(registry->usable_peers().empty());
  EXPECT_TRUE(registry->usable_peers().empty());
  EXPECT_EQ(queries, 1);
  EXPECT_TRUE(registry->discover().ok());
  EXPECT_EQ(queries, 2);
}

}  // namespace
}  // namespace openbits::daemon
