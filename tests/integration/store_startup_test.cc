// bitsd and a store it cannot trust: damaged, read-only, or on a read-only file system.
// It refuses to start, says which file and what to do, and never starts empty over the
// jobs that are there.
#include <filesystem>
#include <fstream>
#include <iterator>

#include "tests/integration/fault_fixture.h"
#include "tests/integration/itest.h"

namespace openbits::itest {
namespace {

namespace fs = std::filesystem;

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class StoreStartupTest : public ::testing::Test {
 protected:
  // Runs bitsd on `state` (bounded by timeout(1), in case it wrongly starts).
  CommandResult run_bitsd(const std::string& state) {
    return run_command({"/usr/bin/timeout", "10", OPENBITS_BITSD_PATH, "--state-dir", state,
                        "--socket", dir.path() + "/s.sock"});
  }
  TempDir dir;
};

TEST_F(StoreStartupTest, DamagedStoreIsRefusedAndLeftAlone) {
  std::string state = dir.path() + "/state";
  {
    Bitsd bitsd(dir.path());  // a real store with a job in it, then damage it
    bitsd.start({});
    auto m = bitsd.connect();
    ASSERT_TRUE(m.create_job("precious").ok());
    bitsd.terminate();
  }
  state = dir.path() + "/bitsd/state";
  std::string db = state + "/jobs.db";
  {
    std::fstream f(db, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(0);
    f << std::string(100, '\x7f');  // the header and the first page's start
  }
  std::string damaged = read_bytes(db);
  CommandResult r = run_bitsd(state);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find(db), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("move it aside"), std::string::npos) << r.err;
  EXPECT_EQ(read_bytes(db), damaged);  // not repaired, not replaced by an empty store
}

TEST_F(StoreStartupTest, DamageInsideTheDatabaseFailsQuickCheckAndIsRefused) {
  {
    Bitsd bitsd(dir.path());
    bitsd.start({});
    auto m = bitsd.connect();
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(m.create_job("precious " + std::to_string(i)).ok());
    bitsd.terminate();
  }
  std::string state = dir.path() + "/bitsd/state";
  std::string db = state + "/jobs.db";
  // bitsd checkpointed the WAL when it stopped: every page is in jobs.db itself.
  ASSERT_FALSE(fs::exists(db + "-wal") && fs::file_size(db + "-wal") > 0);
  // The header and the schema page stay intact: the file opens as a database, and only
  // PRAGMA quick_check finds that every table and index page is garbage.
  std::string bytes = read_bytes(db);
  std::size_t page = std::size_t{static_cast<unsigned char>(bytes[16])} << 8 |
                     std::size_t{static_cast<unsigned char>(bytes[17])};
  ASSERT_GE(bytes.size(), 3 * page);
  for (std::size_t at = page; at < bytes.size(); at += page) bytes.replace(at, 8, 8, '\x7f');
  std::ofstream(db, std::ios::binary | std::ios::trunc) << bytes;
  CommandResult r = run_bitsd(state);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find(db), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("quick_check failed"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("move it aside"), std::string::npos) << r.err;
  EXPECT_EQ(read_bytes(db), bytes);  // not repaired, not replaced by an empty store
}

TEST_F(StoreStartupTest, ReadOnlyFileSystemIsRefusedWithTheReason) {
  {
    Bitsd bitsd(dir.path());
    bitsd.start({});
    ASSERT_TRUE(bitsd.connect().create_job("kept").ok());
    bitsd.terminate();
  }
  SmallDisk disk(dir.path() + "/ro", 4);
  std::string state = disk.path() + "/state";
  fs::copy(dir.path() + "/bitsd/state", state, fs::copy_options::recursive);
  disk.remount_read_only();
  CommandResult r = run_bitsd(state);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find(state), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Read-only file system"), std::string::npos) << r.err;
}

TEST_F(StoreStartupTest, ReadOnlyDatabaseIsRefused) {
  // Root ignores file modes, so make the database itself read-only via a bind mount.
  std::string state = dir.path() + "/bitsd/state";
  {
    Bitsd bitsd(dir.path());
    bitsd.start({});
    ASSERT_TRUE(bitsd.connect().create_job("kept").ok());
    bitsd.terminate();
  }
  std::string db = state + "/jobs.db";
  ASSERT_EQ(run_checked({"mount", "--bind", "-o", "ro", db, db}), 0);
  ASSERT_EQ(run_checked({"mount", "-o", "remount,bind,ro", db}), 0);
  CommandResult r = run_bitsd(state);
  run_checked({"umount", db});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find(db), std::string::npos) << r.err;
}

}  // namespace
}  // namespace openbits::itest
