// The wire format between peers: content targets, Repr-Digest, ranges, and the discovery
// datagrams, whose parser takes any bytes (random and mutated datagrams) without harm.
#include "src/daemon/peer/peer_protocol.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <utility>
#include <vector>

#include "src/daemon/transfer/http_headers.h"

namespace openbits::daemon::peer {
namespace {

// Repr-Digest is read back with the parser of the origin's digests.
using transfer_detail::sha256_of_digest;

const std::string kKey(64, 'a');

TEST(PeerProtocolTest, OnlyTheContentPathWithALowerCaseHexKeyNamesAContent) {
  EXPECT_EQ(key_of_target("/openbits-peer/v1/content/" + kKey), kKey);
  for (const std::string& target : std::vector<std::string>{
           "/openbits-peer/v1/content/" + std::string(64, 'A'),
           "/openbits-peer/v1/content/" + std::string(63, 'a'),
           "/openbits-peer/v1/content/" + kKey + "a", "/openbits-peer/v1/content/" + kKey + "?a=1",
           "/openbits-peer/v1/content/" + kKey + "/", "/openbits-peer/v1/content/../../etc/passwd",
           "/openbits-peer/v1/content/" + std::string(62, 'a') + "%2f",
           "//openbits-peer/v1/content/" + kKey, "/openbits-peer/v1/content/", std::string("/")}) {
    EXPECT_FALSE(key_of_target(target)) << target;
  }
}

TEST(PeerProtocolTest, ReprDigestCarriesTheSha256InBase64BothWays) {
  // SHA-256 of no bytes.
  std::string empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  EXPECT_EQ(repr_digest(empty), "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:");
  EXPECT_EQ(sha256_of_digest("sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"), empty);
  EXPECT_EQ(
      sha256_of_digest("sha-512=:AAAA:, SHA-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"),
      empty);
  EXPECT_EQ(sha256_of_digest("SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="), empty);
  EXPECT_FALSE(sha256_of_digest(""));
  EXPECT_FALSE(sha256_of_digest("sha-256=:AAAA:"));
  EXPECT_FALSE(sha256_of_digest("sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuF!=:"));
  EXPECT_FALSE(sha256_of_digest("md5=:1B2M2Y8AsgTpgAmY7PhCfg==:"));
  EXPECT_EQ(repr_digest("not hex"), "");
}

TEST(PeerProtocolTest, OneRangeIsServedAndOthersAreIgnoredOr416) {
  using Part = std::pair<std::uint64_t, std::uint64_t>;
  auto part = [](RangeRequest r) { return Part(r.range.first, r.range.length); };
  EXPECT_EQ(parse_range("bytes=0-99", 1000).kind, RangeKind::kPart);
  EXPECT_EQ(part(parse_range("bytes=0-99", 1000)), Part(0, 100));
  EXPECT_EQ(part(parse_range("bytes=990-", 1000)), Part(990, 10));
  EXPECT_EQ(part(parse_range("bytes=-10", 1000)), Part(990, 10));
  EXPECT_EQ(part(parse_range("bytes=-5000", 1000)), Part(0, 1000));
  EXPECT_EQ(part(parse_range("bytes=900-5000", 1000)), Part(900, 100));
  EXPECT_EQ(parse_range("bytes=1000-", 1000).kind, RangeKind::kUnsatisfiable);
  EXPECT_EQ(parse_range("bytes=-0", 1000).kind, RangeKind::kUnsatisfiable);
  EXPECT_EQ(parse_range("bytes=0-", 0).kind, RangeKind::kUnsatisfiable);
  for (const char* ignored : {"", "bytes=5-1", "bytes=0-1,5-6", "items=0-1", "bytes=a-b",
                              "bytes=99999999999999999999999-", "bytes=-"}) {
    EXPECT_EQ(parse_range(ignored, 1000).kind, RangeKind::kWhole) << ignored;
  }
}

TEST(PeerProtocolTest, DatagramsRoundTripAndOthersAreRefused) {
  auto announce = parse_datagram(announce_datagram(7378));
  ASSERT_TRUE(announce);
  EXPECT_EQ(announce->type, Datagram::Type::kAnnounce);
  EXPECT_EQ(announce->port, 7378u);
  EXPECT_EQ(announce_datagram(7378), R"({"port":7378,"t":"announce","v":1})");
  auto query = parse_datagram(query_datagram());
  ASSERT_TRUE(query);
  EXPECT_EQ(query->type, Datagram::Type::kQuery);
  EXPECT_TRUE(parse_datagram(R"({"v":1,"t":"announce","port":1,"later":"field"})"));
  for (const char* bad :
       {"", "{}", "[]", "null", R"({"v":2,"t":"query"})", R"({"v":"1","t":"query"})",
        R"({"v":1,"t":"announce"})", R"({"v":1,"t":"announce","port":0})",
        R"({"v":1,"t":"announce","port":65536})", R"({"v":1,"t":"announce","port":-1})",
        R"({"v":1,"t":"announce","port":7.5})", R"({"v":1,"t":"list"})", R"({"v":1,"t":1})",
        R"({"v":1,"t":"query")", "\xff\xfe{"}) {
    EXPECT_FALSE(parse_datagram(bad)) << bad;
  }
  std::string huge = R"({"v":1,"t":"query","pad":")" + std::string(600, 'x') + "\"}";
  EXPECT_FALSE(parse_datagram(huge));
}

// Fuzz-like: random bytes and random mutations of valid datagrams never crash the parser,
// and whatever it accepts is a well-formed datagram.
TEST(PeerProtocolTest, RandomAndMutatedDatagramsAreHandledWithoutHarm) {
  std::mt19937 random(14);
  std::vector<std::string> seeds = {announce_datagram(7377), query_datagram()};
  std::size_t accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string bytes;
    if (i % 2 == 0) {
      bytes.resize(random() % 700);
      for (char& c : bytes) c = static_cast<char>(random() & 0xFF);
    } else {
      bytes = seeds[random() % seeds.size()];
      for (int edits = 1 + static_cast<int>(random() % 4); edits > 0 && !bytes.empty(); --edits) {
        std::size_t at = random() % bytes.size();
        switch (random() % 3) {
          case 0:
            bytes[at] = static_cast<char>(random() & 0xFF);
            break;
          case 1:
            bytes.erase(at, 1);
            break;
          default:
            bytes.insert(at, 1, "{}\":,0123456789"[random() % 15]);
            break;
        }
      }
    }
    if (auto datagram = parse_datagram(bytes)) {
      ++accepted;
      if (datagram->type == Datagram::Type::kAnnounce) {
        EXPECT_GE(datagram->port, 1u);
        EXPECT_LE(datagram->port, 65535u);
      }
    }
  }
  EXPECT_LT(accepted, 20000u);
}

}  // namespace
}  // namespace openbits::daemon::peer
