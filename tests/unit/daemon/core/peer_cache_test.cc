// PeerCache: the cache's own copies and their records on a real store on disk, its limits
// (size as a percentage of a file system whose size the test sets, LRU eviction, content
// age on a fake clock), records being served, start-up checks and the machine settings.
#include "src/daemon/core/peer_cache.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "openbits/names.h"
#include "tests/support/fake_clock.h"
#include "tests/support/files.h"
#include "tests/support/temp_dir.h"

namespace openbits::daemon {
namespace {

constexpr const char* kUrl = "http://origin.example/a.bin";
constexpr const char* kLastModified = "Wed, 21 Oct 2026 07:28:00 GMT";

class PeerCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = Store::open(dir.path() + "/jobs.db");
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    store = std::move(*opened);
    cache = make_cache();
  }
  // A cache as bitsd makes it at start-up; 1 % of the file system is 1,000 bytes.
  std::unique_ptr<PeerCache> make_cache(std::optional<std::uint32_t> policy = std::nullopt) {
    auto made = std::make_unique<PeerCache>(
        *store, clock, dir.path(), policy,
        [this](const std::string&) -> Result<std::uint64_t> { return fs_bytes; });
    Status loaded = made->load();
    EXPECT_TRUE(loaded.ok()) << loaded.message();
    return made;
  }
  // The file a user downloaded, opened as the caller would.
  UniqueFd source(const std::string& bytes) {
    std::string path = dir.path() + "/user-" + std::to_string(++files);
    std::ofstream(path, std::ios::binary) << bytes;
    return UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  }
  static PeerCacheRecord record_of(const std::string& url, std::size_t size,
                                   const std::string& etag = "\"v1\"") {
    PeerCacheRecord r;
    r.url = url;
    r.size = size;
    r.last_modified = kLastModified;
    r.etag = etag;
    r.validated = true;
    return r;
  }
  // Adds `bytes` as the content of `url`; the stored record, or a null id when not cached.
  PeerCacheRecord add(const std::string& url, const std::string& bytes,
                      const std::string& etag = "\"v1\"") {
    UniqueFd fd = source(bytes);
    auto added = cache->add(record_of(url, bytes.size(), etag), fd.get());
    EXPECT_TRUE(added.ok()) << added.status().message();
    return added.ok() && *added ? **added : PeerCacheRecord{};
  }

  test::TempDir dir;
  FakeClock clock;
  std::uint64_t fs_bytes = 100'000;
  std::unique_ptr<Store> store;
  std::unique_ptr<PeerCache> cache;
  int files = 0;
};

TEST_F(PeerCacheTest, TheContentKeyIsTheSha256OfTheUrlAndTheOriginsValidators) {
  // printf 'openbits-peer-v1\n<url>\n5\n<last-modified>\n"v1"' | sha256sum
  EXPECT_EQ(PeerCache::content_key(kUrl, 5, kLastModified, "\"v1\""),
            "54e34de7c3beb92ed1df414c6323cb316c96ecd6b6b3a7abd199bd0a31103d9b");
  EXPECT_NE(PeerCache::content_key(kUrl, 5, kLastModified, "\"v2\""),
            PeerCache::content_key(kUrl, 5, kLastModified, "\"v1\""));
}

TEST_F(PeerCacheTest, AddKeepsItsOwnCopyMode0600InA0700DirectoryWithItsSha256) {
  PeerCacheRecord r = add(kUrl, "hello");
  ASSERT_FALSE(r.id.is_null());
  EXPECT_EQ(r.sha256, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
  EXPECT_EQ(r.key, PeerCache::content_key(kUrl, 5, kLastModified, "\"v1\""));
  EXPECT_EQ(r.created_ms, clock.wall_ms());
  std::string path = cache->content_path(r.id);
  EXPECT_EQ(path.rfind(dir.path() + "/peercache/", 0), 0u) << path;
  EXPECT_EQ(test::read_text(path), "hello");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::stat((dir.path() + "/peercache").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  // The user's file changing afterwards changes nothing the cache holds.
  std::ofstream(dir.path() + "/user-1", std::ios::trunc) << "HELLO, changed";
  EXPECT_EQ(test::read_text(path), "hello");
  EXPECT_EQ(cache->used_bytes(), 5u);
}

TEST_F(PeerCacheTest, RecordsAndTheirContentSurviveARestart) {
  PeerCacheRecord r = add(kUrl, "hello");
  cache = make_cache();
  ASSERT_EQ(cache->records().size(), 1u);
  EXPECT_EQ(cache->records().front().id, r.id);
  EXPECT_EQ(cache->records().front().sha256, r.sha256);
  // Before its first serve a record loaded at start-up is hashed again (verify).
  EXPECT_EQ(cache->begin_serve(r.key).code(), hr::BG_E_NOT_FOUND);
  EXPECT_EQ(cache->unverified(), std::vector<Guid>{r.id});
  ASSERT_TRUE(cache->verify(r.id).ok());
  auto lease = cache->begin_serve(r.key);
  ASSERT_TRUE(lease.ok()) << lease.status().message();
  char bytes[8] = {};
  EXPECT_EQ(::pread(lease->content.get(), bytes, sizeof bytes, 0), 5);
  EXPECT_EQ(std::string(bytes), "hello");
  cache->end_serve(r.id);
}

TEST_F(PeerCacheTest, StartUpDropsRecordsWhoseContentIsMissingOrOfTheWrongSize) {
  PeerCacheRecord missing = add("http://origin.example/missing", "aaaa");
  PeerCacheRecord shorter = add("http://origin.example/short", "bbbb");
  PeerCacheRecord intact = add("http://origin.example/intact", "cccc");
  std::filesystem::remove(cache->content_path(missing.id));
  std::filesystem::resize_file(cache->content_path(shorter.id), 2);
  std::ofstream(dir.path() + "/peercache/orphan") << "no record names me";
  cache = make_cache();
  ASSERT_EQ(cache->records().size(), 1u);
  EXPECT_EQ(cache->records().front().id, intact.id);
  EXPECT_EQ(store->load_peer_records()->size(), 1u);  // the store forgot them too
  EXPECT_FALSE(std::filesystem::exists(cache->content_path(shorter.id)));
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/peercache/orphan"));
  EXPECT_TRUE(std::filesystem::exists(cache->content_path(intact.id)));
}

TEST_F(PeerCacheTest, VerifyDropsARecordWhoseContentChangedInPlace) {
  PeerCacheRecord r = add(kUrl, "hello");
  cache = make_cache();
  std::ofstream(cache->content_path(r.id), std::ios::trunc) << "jello";  // same size
  EXPECT_EQ(cache->verify(r.id).code(), hr::BG_E_NOT_FOUND);
  EXPECT_TRUE(cache->records().empty());
  EXPECT_FALSE(std::filesystem::exists(cache->content_path(r.id)));
}

TEST_F(PeerCacheTest, FindTouchesTheRecordSoItsAgeStartsAgain) {
  PeerCacheRecord r = add(kUrl, "hello");
  clock.advance_s(100);
  auto found = cache->find(r.key);
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(*found);
  EXPECT_EQ((*found)->last_access_ms, clock.wall_ms());
  EXPECT_EQ(store->load_peer_records()->front().last_access_ms, clock.wall_ms());
  EXPECT_FALSE(*cache->find(PeerCache::content_key(kUrl, 5, kLastModified, "\"other\"")));
}

TEST_F(PeerCacheTest, TheSameContentAgainIsNotCopiedTwiceAndANewVersionReplacesTheOld) {
  PeerCacheRecord first = add(kUrl, "hello");
  PeerCacheRecord again = add(kUrl, "hello");
  EXPECT_EQ(again.id, first.id);
  EXPECT_EQ(cache->records().size(), 1u);
  PeerCacheRecord changed = add(kUrl, "hello, v2", "\"v2\"");
  ASSERT_EQ(cache->records().size(), 1u);
  EXPECT_EQ(cache->records().front().id, changed.id);
  EXPECT_FALSE(std::filesystem::exists(cache->content_path(first.id)));
}

TEST_F(PeerCacheTest, ACopyThatDoesNotMatchItsRecordIsNotCached) {
  UniqueFd fd = source("hello");
  EXPECT_EQ(cache->add(record_of(kUrl, 6), fd.get()).code(), hr::E_INVALIDARG);  // other size
  PeerCacheRecord wrong_digest = record_of(kUrl, 5);
  wrong_digest.origin_digest = std::string(64, '0');
  EXPECT_EQ(cache->add(wrong_digest, fd.get()).code(), hr::E_INVALIDARG);
  EXPECT_TRUE(cache->records().empty());
  EXPECT_TRUE(std::filesystem::is_empty(dir.path() + "/peercache"));
  PeerCacheRecord right_digest = record_of(kUrl, 5);
  right_digest.origin_digest = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
  auto added = cache->add(right_digest, fd.get());
  ASSERT_TRUE(added.ok());
  EXPECT_TRUE(*added);
}

TEST_F(PeerCacheTest, AFileBiggerThanTheCacheIsNotCached) {
  EXPECT_EQ(cache->limit_bytes(), 1000u);
  UniqueFd fd = source(std::string(1001, 'x'));
  auto added = cache->add(record_of(kUrl, 1001), fd.get());
  ASSERT_TRUE(added.ok());
  EXPECT_FALSE(*added);
  EXPECT_TRUE(cache->records().empty());
}

TEST_F(PeerCacheTest, AddingOverTheLimitEvictsTheLeastRecentlyAccessed) {
  PeerCacheRecord a = add("http://origin.example/a", std::string(400, 'a'));
  clock.advance_s(1);
  PeerCacheRecord b = add("http://origin.example/b", std::string(400, 'b'));
  clock.advance_s(1);
  ASSERT_TRUE(cache->find(a.key).ok());  // a is now the more recent
  clock.advance_s(1);
  PeerCacheRecord c = add("http://origin.example/c", std::string(400, 'c'));
  ASSERT_FALSE(c.id.is_null());
  std::vector<Guid> ids;
  for (const PeerCacheRecord& r : cache->records()) ids.push_back(r.id);
  EXPECT_EQ(ids, (std::vector<Guid>{a.id, c.id}));
  EXPECT_FALSE(std::filesystem::exists(cache->content_path(b.id)));
  EXPECT_EQ(cache->used_bytes(), 800u);
}

TEST_F(PeerCacheTest, ARecordBeingServedIsBusyAndShrinkingTheLimitDoesNotEvictIt) {
  PeerCacheRecord served = add("http://origin.example/a", std::string(400, 'a'));
  PeerCacheRecord idle = add("http://origin.example/b", std::string(400, 'b'));
  auto lease = cache->begin_serve(served.key);
  ASSERT_TRUE(lease.ok()) << lease.status().message();
  EXPECT_EQ(cache->remove(served.id).code(), hr::BG_E_BUSYCACHERECORD);
  fs_bytes = 40'000;  // 1 % is now 400 bytes: one of the two must go, not the one served
  ASSERT_TRUE(cache->set_limit_percent(1).ok());
  ASSERT_EQ(cache->records().size(), 1u);
  EXPECT_EQ(cache->records().front().id, served.id);
  EXPECT_EQ(cache->clear().code(), hr::BG_E_BUSYCACHERECORD);
  cache->end_serve(served.id);
  EXPECT_TRUE(cache->remove(served.id).ok());
  EXPECT_EQ(cache->remove(served.id).code(), hr::BG_E_NOT_FOUND);
  EXPECT_EQ(cache->remove(idle.id).code(), hr::BG_E_NOT_FOUND);
}

TEST_F(PeerCacheTest, OnlyValidatedRecordsAreServed) {
  UniqueFd fd = source("hello");
  PeerCacheRecord r = record_of(kUrl, 5);
  r.validated = false;
  auto added = cache->add(r, fd.get());
  ASSERT_TRUE(added.ok() && *added);
  const Guid id = (*added)->id;
  EXPECT_EQ(cache->begin_serve((*added)->key).code(), hr::BG_E_NOT_FOUND);
  ASSERT_TRUE(cache->set_validated(id, true).ok());
  EXPECT_TRUE(cache->begin_serve((*added)->key).ok());
  cache->end_serve(id);
  EXPECT_TRUE(store->load_peer_records()->front().validated);
}

TEST_F(PeerCacheTest, RemoveUrlAndClearRemoveRecordsAndContent) {
  PeerCacheRecord a = add("http://origin.example/a", "a");
  PeerCacheRecord b = add("http://origin.example/b", "b");
  PeerCacheRecord c = add("http://origin.example/c", "c");
  EXPECT_TRUE(cache->remove_url("http://origin.example/b").ok());
  EXPECT_TRUE(cache->remove_url("http://origin.example/none").ok());
  EXPECT_EQ(cache->records().size(), 2u);
  EXPECT_FALSE(std::filesystem::exists(cache->content_path(b.id)));
  EXPECT_TRUE(cache->clear().ok());
  EXPECT_TRUE(cache->records().empty());
  EXPECT_TRUE(store->load_peer_records()->empty());
  EXPECT_TRUE(std::filesystem::is_empty(dir.path() + "/peercache"));
  (void)a;
  (void)c;
}

TEST_F(PeerCacheTest, RecordsNotAccessedForTheExpirationTimeExpire) {
  ASSERT_TRUE(cache->set_expiration_s(PeerCache::kMinExpirationS).ok());
  PeerCacheRecord old = add("http://origin.example/old", "old");
  clock.advance_s(PeerCache::kMinExpirationS - 10);
  PeerCacheRecord young = add("http://origin.example/young", "young");
  clock.advance_s(10);
  auto expired = cache->expire();
  ASSERT_TRUE(expired.ok());
  EXPECT_EQ(*expired, 1u);
  ASSERT_EQ(cache->records().size(), 1u);
  EXPECT_EQ(cache->records().front().id, young.id);
  EXPECT_FALSE(std::filesystem::exists(cache->content_path(old.id)));
  // An access resets the age.
  clock.advance_s(PeerCache::kMinExpirationS - 20);
  ASSERT_TRUE(cache->find(young.key).ok());
  clock.advance_s(30);
  EXPECT_EQ(*cache->expire(), 0u);
}

TEST_F(PeerCacheTest, LimitsTakeBitsRangesAndSurviveARestart) {
  EXPECT_EQ(cache->limit_percent(), 1u);
  EXPECT_EQ(cache->expiration_s(), 7'776'000);
  EXPECT_EQ(cache->set_limit_percent(0).code(), hr::E_INVALIDARG);
  EXPECT_EQ(cache->set_limit_percent(81).code(), hr::E_INVALIDARG);
  EXPECT_TRUE(cache->set_limit_percent(80).ok());
  EXPECT_EQ(cache->limit_bytes(), 80'000u);
  EXPECT_EQ(cache->set_expiration_s(86'399).code(), hr::E_INVALIDARG);
  EXPECT_EQ(cache->set_expiration_s(10'368'001).code(), hr::E_INVALIDARG);
  EXPECT_TRUE(cache->set_expiration_s(10'368'000).ok());
  cache = make_cache();
  EXPECT_EQ(cache->limit_percent(), 80u);
  EXPECT_EQ(cache->expiration_s(), 10'368'000);
}

TEST_F(PeerCacheTest, ConfigurationFlagsAreSavedAndThePolicyWins) {
  EXPECT_EQ(cache->configuration_flags(), 0u);
  EXPECT_EQ(cache->set_configuration_flags(4).code(), hr::E_INVALIDARG);
  EXPECT_EQ(cache->set_configuration_flags(3).code(), hr::S_OK);
  EXPECT_EQ(cache->configuration_flags(), 3u);
  cache = make_cache(1u);
  EXPECT_EQ(cache->configuration_flags(), 1u);
  EXPECT_EQ(cache->set_configuration_flags(2).code(), hr::BG_S_OVERRIDDEN_BY_POLICY);
  EXPECT_EQ(cache->configuration_flags(), 1u);
  EXPECT_EQ(cache->set_configuration_flags(1).code(), hr::S_OK);
  EXPECT_EQ(store->load_settings()->at("peer_caching_flags"), 1);
  cache = make_cache();  // the policy gone: the saved value
  EXPECT_EQ(cache->configuration_flags(), 1u);
}

}  // namespace
}  // namespace openbits::daemon
