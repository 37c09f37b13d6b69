// The peer server (src/daemon/peer/peer_server.cc) inside a real PeerService on loopback,
// serving a real PeerCache's content over mutual TLS, asked by the curl command line (an
// independent client) and by PeerClient: bytes exact, status codes, headers, the
// handshake refusals, turns, the rate cap, and leases released however a body ends.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "src/daemon/peer/peer_service.h"
#include "tests/integration/fault_fixture.h"
#include "tests/integration/peer/peer_fixture.h"
#include "tests/integration/server_process.h"
#include "tests/support/temp_dir.h"

namespace openbits::daemon::peertest {
namespace {

using std::chrono::steady_clock;

constexpr const char* kUrl = "http://origin.example/big.bin";

class PeerServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    content = pattern(std::size_t{3} << 20);
    record = source.add(kUrl, content);
  }
  void TearDown() override {
    for (pid_t& pid : background) itest::stop_process(pid, SIGKILL);
    if (service) service->stop();
  }
  void start(Config config, PeerServiceTuning tuning = {}) {
    auto created = PeerService::create(config, source, tuning);
    ASSERT_TRUE(created.ok()) << created.status().message();
    service = std::move(*created);
    Status started = service->start();
    ASSERT_TRUE(started.ok()) << started.message();
    base = "https://" + service->server_address() + "/openbits-peer/v1/content/";
  }
  void start_default() { start(peer_config(certs().files(certs().host1))); }
  Fetched fetch(const std::string& key, std::vector<std::string> args = {},
                const PeerTlsFiles& as = certs().files(certs().host2)) {
    return curl_peer(as, base + key, dir.path(), std::move(args));
  }
  // A curl reading the content at `rate` (curl's --limit-rate) in the background.
  pid_t slow_reader(const std::string& name, const std::string& rate) {
    auto argv = curl_argv(certs().files(certs().host2), base + record.key,
                          dir.path() + "/" + name + ".body", {"--limit-rate", rate});
    background.push_back(itest::spawn_process(argv, dir.path() + "/" + name + ".log"));
    return background.back();
  }
  void replace_content(std::size_t size) {
    ASSERT_TRUE(source.remove(record.id).ok());
    content = pattern(size, 7);
    record = source.add(kUrl, content);
  }

  test::TempDir dir{"openbits-peer-server"};
  CacheSource source{dir.path()};
  std::string content;
  PeerCacheRecord record;
  std::unique_ptr<PeerService> service;
  std::string base;
  std::vector<pid_t> background;
};

TEST_F(PeerServerTest, HeadAnswersTheSizeAndTheReprDigestOfTheContent) {
  start_default();
  Fetched head = fetch(record.key, {"-I"});
  ASSERT_EQ(head.exit_code, 0) << head.err;
  EXPECT_EQ(head.status(), 200u);
  EXPECT_EQ(head.header("Content-Length"), std::to_string(content.size()));
  EXPECT_EQ(head.header("Repr-Digest"), "sha-256=:" + sha256_base64(content) + ":");
  EXPECT_EQ(head.header("Accept-Ranges"), "bytes");
  EXPECT_EQ(head.body.find(content.substr(0, 16)), std::string::npos);  // no content bytes
  EXPECT_EQ(source.leases, 0);
}

TEST_F(PeerServerTest, GetSendsTheWholeContentByteForByte) {
  start_default();
  Fetched got = fetch(record.key);
  ASSERT_EQ(got.exit_code, 0) << got.err;
  EXPECT_EQ(got.status(), 200u);
  EXPECT_EQ(got.header("Repr-Digest"), "sha-256=:" + sha256_base64(content) + ":");
  EXPECT_TRUE(got.body == content) << "got " << got.body.size() << " bytes";
  EXPECT_EQ(source.leases, 0);
}

TEST_F(PeerServerTest, OneConnectionCarriesSeveralRequests) {
  start_default();
  // Two URLs in one curl run: the second reuses the first's TLS connection.
  Fetched both = fetch(record.key, {"-r", "0-9", "-w", "%{num_connects} ", base + record.key, "-o",
                                    dir.path() + "/second.body", "-I"});
  ASSERT_EQ(both.exit_code, 0) << both.err;
  EXPECT_EQ(both.out, "1 0 ");
}

TEST_F(PeerServerTest, ASingleRangeIsAnsweredWith206AndExactlyThoseBytes) {
  start_default();
  Fetched middle = fetch(record.key, {"-r", "100000-1148575"});
  ASSERT_EQ(middle.exit_code, 0) << middle.err;
  EXPECT_EQ(middle.status(), 206u);
  EXPECT_EQ(middle.header("Content-Range"),
            "bytes 100000-1148575/" + std::to_string(content.size()));
  EXPECT_TRUE(middle.body == content.substr(100000, 1048576));
  Fetched tail = fetch(record.key, {"-r", "-10"});
  EXPECT_EQ(tail.status(), 206u);
  EXPECT_EQ(tail.body, content.substr(content.size() - 10));
  Fetched open_ended = fetch(record.key, {"-r", std::to_string(content.size() - 5) + "-"});
  EXPECT_EQ(open_ended.status(), 206u);
  EXPECT_EQ(open_ended.body, content.substr(content.size() - 5));
  Fetched past_end = fetch(record.key, {"-r", "3145000-99999999"});
  EXPECT_EQ(past_end.status(), 206u);
  EXPECT_EQ(past_end.body, content.substr(3145000));
  EXPECT_EQ(source.leases, 0);
}

TEST_F(PeerServerTest, ARangeOutsideTheContentIs416WithItsSize) {
  start_default();
  Fetched refused = fetch(record.key, {"-r", std::to_string(content.size()) + "-"});
  EXPECT_EQ(refused.status(), 416u);
  EXPECT_EQ(refused.header("Content-Range"), "bytes */" + std::to_string(content.size()));
  EXPECT_EQ(refused.body.find(content.substr(0, 16)), std::string::npos);
  EXPECT_EQ(source.leases, 0);
}

TEST_F(PeerServerTest, UnknownKeysMalformedKeysAndOtherPathsAre404) {
  start_default();
  std::string upper = record.key;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  std::string host = "https://" + service->server_address();
  for (const std::string& target :
       {base + std::string(64, '0'), base + upper, base + record.key.substr(1),
        base + record.key + "0", base + record.key + "?x=1", base + "..%2f..%2fjobs.db",
        host + "/openbits-peer/v1/content/", host + "/", host + "/openbits-peer/v1/list",
        host + "/openbits-peer/v2/content/" + record.key}) {
    for (const char* method : {"GET", "HEAD"}) {
      auto got = curl_peer(certs().files(certs().host2), target, dir.path(),
                           method == std::string("HEAD") ? std::vector<std::string>{"-I"}
                                                         : std::vector<std::string>{});
      EXPECT_EQ(got.status(), 404u) << method << " " << target;
      EXPECT_EQ(got.body.find(content.substr(0, 16)), std::string::npos);
    }
  }
}

TEST_F(PeerServerTest, OtherMethodsOnAContentAre405) {
  start_default();
  for (const char* method : {"POST", "PUT", "DELETE", "BITS_POST"}) {
    Fetched got = fetch(record.key, {"-X", method});
    EXPECT_EQ(got.status(), 405u) << method;
    EXPECT_EQ(got.header("Allow"), "GET, HEAD");
  }
  EXPECT_EQ(source.leases, 0);
  EXPECT_TRUE(source.remove(record.id).ok());
}

TEST_F(PeerServerTest, ServingOffAnswers404ForEverything) {
  start_default();
  source.serving = false;
  EXPECT_EQ(fetch(record.key).status(), 404u);
  EXPECT_EQ(fetch(record.key, {"-I"}).status(), 404u);
  source.serving = true;
  EXPECT_EQ(fetch(record.key, {"-I"}).status(), 200u);
}

TEST_F(PeerServerTest, ClientsWithoutAFleetCertificateAreRefusedAtTheHandshake) {
  start_default();
  const FleetCerts& c = certs();
  struct Case {
    const char* what;
    PeerTlsFiles files;
  };
  for (const Case& bad : {Case{"no certificate", {c.fleet.cert(), "", ""}},
                          Case{"another CA's", {c.fleet.cert(), c.stranger.cert, c.stranger.key}},
                          Case{"expired", c.files(c.expired)},
                          Case{"server-only key usage", c.files(c.server_only)}}) {
    Fetched got = fetch(record.key, {}, bad.files);
    EXPECT_NE(got.exit_code, 0) << bad.what;
    EXPECT_EQ(got.status(), 0u) << bad.what << ": " << got.head;
    EXPECT_TRUE(got.body.empty()) << bad.what;
    PeerClient client({bad.files});
    if (!bad.files.cert_file.empty()) {
      PeerAnswer answer = client.head(service->server_address(), record.key);
      EXPECT_EQ(answer.outcome, PeerAnswer::Outcome::kError) << bad.what;
      EXPECT_EQ(answer.error, PeerError::kTls) << bad.what << ": " << answer.detail;
      EXPECT_EQ(answer.status, 0u) << bad.what;
    }
  }
  EXPECT_EQ(fetch(record.key, {"-I"}).status(), 200u);  // a fleet host still is served
  EXPECT_EQ(source.leases, 0);
}

// Samples the server's bodies in progress until `stop`: the most seen at once.
class BusyWatch {
 public:
  explicit BusyWatch(PeerServer& server)
      : thread_([this, &server] {
          while (!stop_) {
            max_ = std::max(max_.load(), server.bodies_in_progress());
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
          }
        }) {}
  ~BusyWatch() {
    stop_ = true;
    thread_.join();
  }
  std::size_t max() const { return max_; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> max_{0};
  std::thread thread_;
};

// Three slow readers hold the three turns; a fourth request waits its turn and is served
// when one of them goes.
TEST_F(PeerServerTest, AFourthClientWaitsItsTurnAndIsServedWhenATurnFrees) {
  replace_content(std::size_t{24} << 20);  // more than the socket buffers hold
  PeerServiceTuning tuning;
  tuning.wait_for_turn = std::chrono::seconds(90);
  start(peer_config(certs().files(certs().host1)), tuning);
  PeerServer& server = *service->server();
  BusyWatch watch(server);
  pid_t first = slow_reader("slow1", "200K");
  slow_reader("slow2", "200K");
  slow_reader("slow3", "200K");
  ASSERT_TRUE(itest::eventually([&] { return server.bodies_in_progress() == 3; }));
  std::thread fourth_client;
  Fetched fourth;
  fourth_client = std::thread([&] { fourth = fetch(record.key); });
  EXPECT_TRUE(itest::eventually([&] { return server.waiting_for_turn() == 1; }));
  EXPECT_EQ(server.bodies_in_progress(), 3u);
  itest::stop_process(background.front(), SIGKILL);  // a reader goes mid-body
  (void)first;
  fourth_client.join();
  EXPECT_EQ(fourth.exit_code, 0) << fourth.err;
  EXPECT_EQ(fourth.status(), 200u);
  EXPECT_TRUE(fourth.body == content) << fourth.body.size() << " bytes";
  EXPECT_LE(watch.max(), 3u);
  EXPECT_EQ(server.waiting_for_turn(), 0u);
}

// With every turn held past the wait, the next request gets 503 and Retry-After; the
// readers that go release their leases and the content can then be removed.
TEST_F(PeerServerTest, WhenNoTurnFreesInTimeTheAnswerIs503AndLeasesEndWithTheirClients) {
  replace_content(std::size_t{24} << 20);
  PeerServiceTuning tuning;
  tuning.wait_for_turn = std::chrono::milliseconds(1500);
  start(peer_config(certs().files(certs().host1)), tuning);
  PeerServer& server = *service->server();
  for (const char* name : {"slow1", "slow2", "slow3"}) slow_reader(name, "100K");
  ASSERT_TRUE(itest::eventually([&] { return server.bodies_in_progress() == 3; }));
  EXPECT_EQ(source.leases, 3);
  EXPECT_EQ(source.remove(record.id).code(), hr::BG_E_BUSYCACHERECORD);
  auto asked = steady_clock::now();
  Fetched refused = fetch(record.key);
  EXPECT_GE(steady_clock::now() - asked, std::chrono::milliseconds(1000));  // it waited
  EXPECT_EQ(refused.status(), 503u);
  EXPECT_EQ(refused.header("Retry-After"), "5");
  EXPECT_EQ(refused.body.find(content.substr(0, 16)), std::string::npos);
  EXPECT_EQ(fetch(record.key, {"-I"}).status(), 200u);  // HEAD needs no turn
  for (pid_t& pid : background) itest::stop_process(pid, SIGKILL);
  EXPECT_TRUE(itest::eventually([&] { return source.leases == 0; }));
  EXPECT_EQ(server.bodies_in_progress(), 0u);
  EXPECT_TRUE(source.remove(record.id).ok());
  EXPECT_EQ(fetch(record.key, {"-I"}).status(), 404u);
}

TEST_F(PeerServerTest, TheRateCapHoldsForAllConnectionsTogether) {
  Config config = peer_config(certs().files(certs().host1));
  config.peer_max_serve_bytes_per_s = 2'000'000;
  start(config);
  auto begun = steady_clock::now();
  Fetched a, b;
  std::thread other([&] { a = fetch(record.key); });
  b = fetch(record.key);
  other.join();
  auto took = steady_clock::now() - begun;
  EXPECT_TRUE(a.body == content && b.body == content);
  // 2 x 3 MiB at 2 MB/s is at least 3.1 s (less one 64 KiB burst); uncapped, loopback
  // takes a small fraction of that. Wide margin: 2 s.
  EXPECT_GE(took, std::chrono::seconds(2));
}

TEST_F(PeerServerTest, ServiceRefusesToStartOnFilesThatDoNotFitNamingTheKey) {
  const FleetCerts& c = certs();
  struct Case {
    PeerTlsFiles files;
    std::string starts;
  };
  for (const Case& bad :
       {Case{c.files(c.expired), "peer_cert_file " + c.expired.cert + ": not valid under"},
        Case{{c.fleet.cert(), c.stranger.cert, c.stranger.key},
             "peer_cert_file " + c.stranger.cert + ": not valid under"},
        Case{{c.fleet.cert(), c.host1.cert, c.host2.key},
             "peer_key_file " + c.host2.key + ": is not the key of peer_cert_file"},
        Case{{dir.path() + "/none.pem", c.host1.cert, c.host1.key},
             "peer_ca_file " + dir.path() + "/none.pem: no PEM certificate"}}) {
    auto created = PeerService::create(peer_config(bad.files), source);
    ASSERT_FALSE(created.ok()) << bad.starts;
    EXPECT_EQ(created.code(), hr::E_INVALIDARG);
    EXPECT_EQ(created.status().message().rfind(bad.starts, 0), 0u) << created.status().message();
  }
  Config busy = peer_config(c.files(c.host1));
  start(busy);
  busy.peer_listen = service->server_address();  // taken
  auto second = PeerService::create(busy, source);
  ASSERT_TRUE(second.ok());
  Status started = (*second)->start();
  EXPECT_EQ(started.code(), hr::E_INVALIDARG);
  EXPECT_EQ(started.message().rfind("peer_listen " + busy.peer_listen, 0), 0u) << started.message();
}

}  // namespace
}  // namespace openbits::daemon::peertest
