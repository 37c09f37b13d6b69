#include "src/upload_server/session_store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "tests/support/temp_dir.h"

namespace openbits::upload {
namespace {

class SessionStoreTest : public ::testing::Test {
 protected:
  RootDir open_root() {
    auto opened = RootDir::open(dir.path());
    EXPECT_TRUE(opened.ok());
    return std::move(*opened);
  }
  // A session with `bytes` bytes in its data file (as if they had been received).
  std::shared_ptr<Session> create_with_data(SessionStore& store, std::size_t bytes) {
    SessionState state;
    state.id = new_session_id();
    state.url_path = "/up/x.bin";
    state.client = "127.0.0.1";
    auto session = store.create(std::move(state));
    EXPECT_TRUE(session);
    std::string data(bytes, 'x');
    EXPECT_EQ(::pwrite(session->data.get(), data.data(), data.size(), 0),
              static_cast<ssize_t>(data.size()));
    return session;
  }
  // What a freshly started server finds for the session `id`.
  std::uint64_t received_after_restart(const std::string& id) {
    RootDir root = open_root();
    SessionStore store(root);
    EXPECT_TRUE(store.open().ok());
    auto session = store.find(id, 0, 1u << 30);
    EXPECT_TRUE(session) << id;
    return session ? session->state.received : 0;
  }

  test::TempDir dir{"session-store-test"};
};

TEST_F(SessionStoreTest, RecordedProgressSurvivesARestartWithoutPersist) {
  RootDir root = open_root();
  SessionStore store(root);
  ASSERT_TRUE(store.open().ok());
  auto session = create_with_data(store, 3000);
  std::lock_guard lock(session->mutex);
  session->state.received = 3000;
  ASSERT_TRUE(store.record_progress(*session));
  EXPECT_EQ(received_after_restart(session->state.id), 3000u);
}

TEST_F(SessionStoreTest, TornProgressRecordFallsBackToTheStateFile) {
  RootDir root = open_root();
  SessionStore store(root);
  ASSERT_TRUE(store.open().ok());
  auto session = create_with_data(store, 3000);
  std::lock_guard lock(session->mutex);
  session->state.received = 1000;
  ASSERT_TRUE(store.persist(*session));
  session->state.received = 3000;
  ASSERT_TRUE(store.record_progress(*session));
  char garbage = 0x55;  // one byte of the record changed: its check no longer matches
  ASSERT_EQ(::pwrite(session->progress.get(), &garbage, 1, 3), 1);
  EXPECT_EQ(received_after_restart(session->state.id), 1000u);
}

TEST_F(SessionStoreTest, CountAboveTheDataOnDiskDropsTheSession) {
  RootDir root = open_root();
  SessionStore store(root);
  ASSERT_TRUE(store.open().ok());
  auto session = create_with_data(store, 100);
  std::string id = session->state.id;
  {
    std::lock_guard lock(session->mutex);
    session->state.received = 5000;  // more than the data file has
    ASSERT_TRUE(store.record_progress(*session));
  }
  RootDir again = open_root();
  SessionStore restarted(again);
  ASSERT_TRUE(restarted.open().ok());
  EXPECT_FALSE(restarted.find(id, 0, 1u << 30));
}

}  // namespace
}  // namespace openbits::upload
