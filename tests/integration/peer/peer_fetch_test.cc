// Fetching from peers with two real bitsd processes on loopback (docs/peer-caching.md
// "Fetching"): host A serves (peer_listen, machine flags 3) and downloads a file from nginx
// first; host B (the `peers` list names A) downloads the same URL. B's copy is
// byte-identical, nginx's log shows the bytes B got from it, /getpeerstats on B says where
// they came from; A killed mid-transfer leaves B to finish from the origin; without the
// job's client flag B takes a full copy from the origin and A's server sees no request. A
// peer serving wrong bytes is caught by the origin's Repr-Digest; without one,
// SetValidationState(FALSE) downloads the file again from the origin only.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include "tests/integration/peer/bitsd_fleet.h"
#include "tests/integration/peer/peer_fixture.h"

namespace openbits::daemon::peertest {
namespace {

constexpr std::uint64_t kSize = (3u << 20) + 12345;  // several 1 MiB peer ranges

class PeerFetchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    itest::make_file(nginx.root() + "/f.bin", kSize, 21);
    std::string digest = sha256_base64(itest::read_text(nginx.root() + "/f.bin"));
    nginx.add_server_config("    location /digest/ { alias " + nginx.root() +
                            "/; add_header Repr-Digest \"sha-256=:" + digest + ":\"; }");
    nginx.start(itest::free_port());
    out = dir.path() + "/out";
    std::filesystem::create_directories(out);
    std::filesystem::permissions(out, std::filesystem::perms::all);
  }
  void TearDown() override {
    if (!HasFailure()) return;
    if (a) std::cerr << "--- host A ---\n" << a->log();
    if (b) std::cerr << "--- host B ---\n" << b->log();
  }
  // A serves (its serving paced at `rate`, 0 none) and holds f.bin; B knows A.
  void start_hosts(std::uint64_t rate = 0, const std::string& path = "/f.bin") {
    a = std::make_unique<PeerHost>(
        dir.path() + "/a", certs().host1,
        PeerHostConfig{
            .serve = true, .peers = {}, .machine_flags = 3, .max_serve_bytes_per_s = rate});
    a->start();
    b = std::make_unique<PeerHost>(dir.path() + "/b", certs().host2,
                                   PeerHostConfig{.serve = false,
                                                  .peers = {a->address()},
                                                  .machine_flags = 3,
                                                  .max_serve_bytes_per_s = 0});
    b->start();
    std::string id = a->download(nginx.url(path), out + "/a.bin", 2);
    ASSERT_TRUE(a->reaches(id, "TRANSFERRED"));
    ASSERT_EQ(a->admin({"/complete", id}).exit_code, 0);
    ASSERT_TRUE(itest::eventually([&] { return !a->raw({"/cache", "/list"}).empty(); }));
    ASSERT_TRUE(itest::eventually([&] { return b->trusts(a->address()); }));
    origin_before = nginx.bytes_sent();
  }
  // A's cached copy gets other bytes: A then serves wrong content.
  void damage_a_copy() const {
    std::string line = a->raw({"/cache", "/list"});
    std::string file = a->cache_file(line.substr(0, 38));
    std::fstream copy(file, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(copy.is_open()) << file;
    copy.seekp(1 << 20);
    copy.write("wrong bytes", 11);
  }
  bool identical(const std::string& local) const {
    return itest::files_equal(local, nginx.root() + "/f.bin");
  }

  itest::TempDir dir;
  itest::Nginx nginx{dir.path()};
  std::string out;
  std::unique_ptr<PeerHost> a;
  std::unique_ptr<PeerHost> b;
  std::uint64_t origin_before = 0;
};

TEST_F(PeerFetchTest, TheSecondHostGetsTheBytesFromThePeerNotTheOrigin) {
  start_hosts();
  std::string id = b->download(nginx.url("/f.bin"), out + "/b.bin", 1);
  ASSERT_TRUE(b->reaches(id, "TRANSFERRED"));
  EXPECT_EQ(b->peer_stats(id), std::make_pair(std::uint64_t{0}, kSize));
  EXPECT_EQ(b->raw({"/isdownloadedfrompeer", id, "0"}), "TRUE");
  ASSERT_EQ(b->admin({"/complete", id}).exit_code, 0);
  EXPECT_TRUE(identical(out + "/b.bin"));
  EXPECT_EQ(nginx.bytes_sent() - origin_before, 0u);  // B's HEADs only
  EXPECT_FALSE(a->served_requests().empty());
}

TEST_F(PeerFetchTest, APeerKilledMidTransferLeavesTheRestToTheOrigin) {
  start_hosts(512 * 1024);  // about 2 s per 1 MiB range
  std::string id = b->download(nginx.url("/f.bin"), out + "/b.bin", 1);
  ASSERT_TRUE(itest::eventually([&] { return b->peer_stats(id).second > 0; }));
  a->kill9();
  ASSERT_TRUE(b->reaches(id, "TRANSFERRED"));
  auto [from_origin, from_peers] = b->peer_stats(id);
  EXPECT_GT(from_peers, 0u);
  EXPECT_LT(from_peers, kSize);
  EXPECT_EQ(from_origin + from_peers, kSize);
  EXPECT_EQ(nginx.bytes_sent() - origin_before, from_origin);
  ASSERT_EQ(b->admin({"/complete", id}).exit_code, 0);
  EXPECT_TRUE(identical(out + "/b.bin"));
}

TEST_F(PeerFetchTest, WithoutTheJobsClientFlagTheOriginSendsAFullCopy) {
  start_hosts();
  std::string id = b->download(nginx.url("/f.bin"), out + "/b.bin", 0);
  ASSERT_TRUE(b->reaches(id, "TRANSFERRED"));
  EXPECT_EQ(b->peer_stats(id), std::make_pair(kSize, std::uint64_t{0}));
  ASSERT_EQ(b->admin({"/complete", id}).exit_code, 0);
  EXPECT_TRUE(identical(out + "/b.bin"));
  EXPECT_EQ(nginx.bytes_sent() - origin_before, kSize);
  EXPECT_TRUE(a->served_requests().empty());
}

TEST_F(PeerFetchTest, WrongBytesFromAPeerAreCaughtByTheOriginsDigest) {
  start_hosts(0, "/digest/f.bin");
  damage_a_copy();
  std::string id = b->download(nginx.url("/digest/f.bin"), out + "/b.bin", 1);
  ASSERT_TRUE(b->reaches(id, "TRANSFERRED"));
  EXPECT_EQ(b->peer_stats(id), std::make_pair(kSize, std::uint64_t{0}));
  ASSERT_EQ(b->admin({"/complete", id}).exit_code, 0);
  EXPECT_TRUE(identical(out + "/b.bin"));
  EXPECT_EQ(nginx.bytes_sent() - origin_before, kSize);
  EXPECT_FALSE(a->served_requests().empty());  // it was asked, and its bytes discarded
  EXPECT_NE(b->log().find("does not match"), std::string::npos);
  EXPECT_FALSE(b->trusts(a->address()));  // dropped until a probe succeeds again
}

TEST_F(PeerFetchTest, WithoutADigestValidationFalseDownloadsAgainFromTheOriginOnly) {
  start_hosts();
  damage_a_copy();
  std::string id = b->download(nginx.url("/f.bin"), out + "/b.bin", 1);
  ASSERT_TRUE(b->reaches(id, "TRANSFERRED"));
  EXPECT_EQ(b->peer_stats(id), std::make_pair(std::uint64_t{0}, kSize));
  std::size_t served = a->served_requests().size();
  ASSERT_EQ(b->admin({"/setvalidationstate", id, "0", "FALSE"}).exit_code, 0);
  ASSERT_TRUE(b->reaches(id, "TRANSFERRED"));
  EXPECT_EQ(b->peer_stats(id), std::make_pair(kSize, std::uint64_t{0}));
  EXPECT_EQ(b->raw({"/isdownloadedfrompeer", id, "0"}), "FALSE");
  ASSERT_EQ(b->admin({"/complete", id}).exit_code, 0);
  EXPECT_TRUE(identical(out + "/b.bin"));
  EXPECT_EQ(nginx.bytes_sent() - origin_before, kSize);
  EXPECT_EQ(a->served_requests().size(), served);
}

}  // namespace
}  // namespace openbits::daemon::peertest
