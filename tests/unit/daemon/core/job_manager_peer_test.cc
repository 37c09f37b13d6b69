// JobManager and its peer cache: validated files of jobs with the server flag on a machine
// with the server flag go into the cache as the cache's own copy (and nothing that may be
// one user's does), records survive a restart and are verified before they are served, a
// damaged one is dropped, records expire from the tick, and the administration is for
// administrators. Real store and files on disk; the fake backend plays the engine.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "openbits/names.h"
#include "tests/support/daemon_fixture.h"

namespace openbits::daemon::testing {
namespace {

using nlohmann::json;

class JobManagerPeerTest : public DaemonTest {
 protected:
  void SetUp() override {
    DaemonTest::SetUp();
    set_machine_flags(3);
  }
  void set_machine_flags(std::uint32_t flags) {
    Status s = manager->set_peer_caching_flags(root_caller(), flags);
    ASSERT_TRUE(s.ok()) << s.message();
  }
  // A one-file job of `me` with job peer flags `flags`, finished with `content`; not
  // completed yet.
  Guid finished_job(std::uint32_t flags, const std::string& content = "0123456789",
                    const std::function<void(const Guid&)>& before_resume = {}) {
    Guid id = make_job(me);
    EXPECT_TRUE(manager->set_property(me, id, "peer_caching_flags", flags).ok());
    if (before_resume) before_resume(id);
    EXPECT_TRUE(manager->resume(me, id).ok());
    finish_transfer(backend.last_token(), content);
    return id;
  }
  Guid cached_job(std::uint32_t flags, const std::string& content = "0123456789",
                  const std::function<void(const Guid&)>& before_resume = {}) {
    Guid id = finished_job(flags, content, before_resume);
    Status s = manager->complete(me, id);
    EXPECT_TRUE(s.ok()) << s.message();
    manager->wait_peer_cache_idle();
    return id;
  }
  std::vector<PeerCacheRecord> records() {
    manager->wait_peer_cache_idle();
    auto all = manager->cache_records(root_caller());
    EXPECT_TRUE(all.ok()) << all.status().message();
    return all.ok() ? *all : std::vector<PeerCacheRecord>{};
  }
  std::string content_of(const Guid& record) {
    std::string name = to_string(record);
    std::ifstream in(dir.path() + "/peercache/" + name.substr(1, name.size() - 2),
                     std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    return bytes.str();
  }
  std::string read_lease(const std::string& key) {
    auto lease = manager->begin_serve(key);
    if (!lease.ok()) return "error " + hresult_hex(lease.code());
    std::string bytes(lease->record.size, '\0');
    EXPECT_EQ(::pread(lease->content.get(), bytes.data(), bytes.size(), 0),
              static_cast<ssize_t>(bytes.size()));
    manager->end_serve(lease->record.id);
    return bytes;
  }
  Caller me = user_caller();
};

TEST_F(JobManagerPeerTest, CompletedServerJobIsCachedAsItsOwnCopy) {
  Guid id = cached_job(2);
  auto all = records();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].url, "http://127.0.0.1:1/f0");
  EXPECT_EQ(all[0].size, 10u);
  EXPECT_TRUE(all[0].validated);
  EXPECT_EQ(content_of(all[0].id), "0123456789");
  // The user's own file goes; the cache's copy stays and is served.
  std::string local = manager->job_info(me, id)->files[0].local_name;
  ASSERT_TRUE(std::filesystem::remove(local));
  EXPECT_EQ(content_of(all[0].id), "0123456789");
  EXPECT_TRUE(manager->serving_enabled());
  EXPECT_EQ(read_lease(all[0].key), "0123456789");
}

// Cache poisoning: only what the engine wrote (its SHA-256 of the body) is ever cached.
TEST_F(JobManagerPeerTest, AFileChangedAfterTheEngineWroteItIsNotCached) {
  Guid id = make_job(me);
  ASSERT_TRUE(manager->set_property(me, id, "peer_caching_flags", 2u).ok());
  ASSERT_TRUE(manager->resume(me, id).ok());
  std::uint64_t token = backend.last_token();
  ASSERT_TRUE(backend.download(token).hash_body);
  std::string temp = backend.download(token).temp_name;
  finish_transfer(token, "0123456789");
  std::ofstream(temp) << "9876543210";  // the owner, before Complete: same size
  ASSERT_TRUE(manager->complete(me, id).ok());
  EXPECT_TRUE(records().empty());
}

TEST_F(JobManagerPeerTest, AFileWithoutTheEnginesHashIsNotCached) {
  Guid id = make_job(me);
  ASSERT_TRUE(manager->set_property(me, id, "peer_caching_flags", 2u).ok());
  ASSERT_TRUE(manager->resume(me, id).ok());
  std::uint64_t token = backend.last_token();
  std::ofstream(backend.download(token).temp_name) << "0123456789";
  std::erase(backend.running, token);
  manager->on_connected(token);
  manager->on_complete(token, 10, 0);  // no on_body_sha256: e.g. a resumed transfer
  ASSERT_TRUE(manager->complete(me, id).ok());
  EXPECT_TRUE(records().empty());
}

TEST_F(JobManagerPeerTest, NothingIsCachedWithoutBothServerFlags) {
  cached_job(1);  // job: client only
  EXPECT_TRUE(records().empty());
  set_machine_flags(1);  // machine: client only
  cached_job(3);
  EXPECT_TRUE(records().empty());
  EXPECT_FALSE(manager->serving_enabled());
}

TEST_F(JobManagerPeerTest, ContentThatMayBeOneUsersIsNotCached) {
  cached_job(2, "0123456789", [&](const Guid& id) {
    AuthCredentials credentials;
    credentials.user_name = "u";
    credentials.password = "p";
    ASSERT_TRUE(manager->set_credentials(me, id, credentials).ok());
  });
  cached_job(2, "0123456789", [&](const Guid& id) {
    ASSERT_TRUE(manager->set_property(me, id, "custom_headers", "X-Token: 1").ok());
  });
  cached_job(2, "0123456789", [&](const Guid& id) {
    ASSERT_TRUE(manager->set_property(me, id, "dynamic_content", true).ok());
  });
  EXPECT_TRUE(records().empty());
}

TEST_F(JobManagerPeerTest, RecordsSurviveARestartAndAreVerifiedBeforeServing) {
  cached_job(2);
  open_manager();
  auto all = records();  // after the background verification
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(read_lease(all[0].key), "0123456789");
}

TEST_F(JobManagerPeerTest, ADamagedRecordIsDroppedAtStartUp) {
  cached_job(2);
  PeerCacheRecord record = records().at(0);
  std::string name = to_string(record.id);
  std::ofstream(dir.path() + "/peercache/" + name.substr(1, name.size() - 2),
                std::ios::binary | std::ios::trunc)
      << "9876543210";  // same size, other bytes
  open_manager();
  EXPECT_TRUE(records().empty());
  EXPECT_EQ(manager->begin_serve(record.key).code(), hr::BG_E_NOT_FOUND);
}

TEST_F(JobManagerPeerTest, TheTickExpiresOldRecords) {
  cached_job(2);
  ASSERT_TRUE(manager->set_cache_expiration(root_caller(), 86'400).ok());
  clock.advance_s(86'401);
  manager->tick();
  EXPECT_TRUE(records().empty());
}

TEST_F(JobManagerPeerTest, NoServingWhenTheMachineServerFlagIsOff) {
  cached_job(2);
  std::string key = records().at(0).key;
  set_machine_flags(1);
  EXPECT_EQ(manager->begin_serve(key).code(), hr::BG_E_NOT_FOUND);
}

TEST_F(JobManagerPeerTest, AdministrationIsForAdministrators) {
  EXPECT_EQ(manager->cache_records(me).code(), hr::E_ACCESSDENIED);
  EXPECT_EQ(manager->set_peer_caching_flags(me, 3).code(), hr::E_ACCESSDENIED);
  EXPECT_EQ(manager->clear_cache(me).code(), hr::E_ACCESSDENIED);
  EXPECT_EQ(manager->set_cache_limit(me, 5).code(), hr::E_ACCESSDENIED);
  EXPECT_EQ(*manager->peer_caching_flags(me), 3u);  // reading the flags is for everyone
}

TEST_F(JobManagerPeerTest, PolicyWinsOverTheSavedFlags) {
  config.peer_caching_flags = 1;
  open_manager();
  EXPECT_EQ(manager->set_peer_caching_flags(root_caller(), 3).code(),
            hr::BG_S_OVERRIDDEN_BY_POLICY);
  EXPECT_EQ(manager->set_peer_caching_flags(root_caller(), 1).code(), hr::S_OK);
  EXPECT_EQ(*manager->peer_caching_flags(me), 1u);
}

TEST_F(JobManagerPeerTest, OriginBytesAreCountedAndSurviveARestart) {
  Guid id = finished_job(0, "0123456789");
  FileInfo file = manager->job_info(me, id)->files[0];
  EXPECT_EQ(file.bytes_from_origin, 10u);
  EXPECT_EQ(file.bytes_from_peers, 0u);
  EXPECT_FALSE(file.downloaded_from_peer);
  open_manager();
  EXPECT_EQ(manager->job_info(me, id)->files[0].bytes_from_origin, 10u);
}

TEST_F(JobManagerPeerTest, ValidationTrueCachesBeforeComplete) {
  Guid id = finished_job(2);
  EXPECT_TRUE(records().empty());
  ASSERT_TRUE(manager->set_validation_state(me, id, 0, true).ok());
  auto all = records();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(content_of(all[0].id), "0123456789");
  ASSERT_TRUE(manager->complete(me, id).ok());
  EXPECT_EQ(records().size(), 1u);  // the same content is not cached twice
}

TEST_F(JobManagerPeerTest, ValidationFalseEvictsAndFailsOriginContent) {
  Guid id = finished_job(2);
  ASSERT_TRUE(manager->set_validation_state(me, id, 0, true).ok());
  ASSERT_EQ(records().size(), 1u);
  ASSERT_TRUE(manager->set_validation_state(me, id, 0, false).ok());
  EXPECT_TRUE(records().empty());
  JobInfo info = *manager->job_info(me, id);
  EXPECT_EQ(info.state, JobState::kError);
  EXPECT_EQ(info.error->code, hr::BG_E_VALIDATION_FAILED);
  EXPECT_EQ(info.files[0].progress.bytes_transferred, 0u);
  EXPECT_EQ(info.files[0].bytes_from_origin, 0u);
}

TEST_F(JobManagerPeerTest, ValidationStateOfAnUnfinishedFileIsPending) {
  Guid id = make_job(me);
  EXPECT_EQ(manager->set_validation_state(me, id, 0, true).code(), hr::E_PENDING);
  EXPECT_EQ(manager->set_validation_state(me, id, 1, true).code(), hr::BG_E_FILE_NOT_FOUND);
}

}  // namespace
}  // namespace openbits::daemon::testing
