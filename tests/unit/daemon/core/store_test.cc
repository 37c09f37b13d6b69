// Store: every field of a job and its files survives a write and a reopen; damaged or
// newer databases are refused with a message naming the file.
#include "src/daemon/core/store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>

#include "openbits/names.h"
#include "src/protocol/codec.h"
#include "tests/support/daemon_fixture.h"

namespace openbits::daemon::testing {
namespace {

JobRecord full_job() {
  JobRecord job;
  JobInfo& j = job.info;
  j.id = *parse_guid("{C775D194-090F-431F-B5FB-8334D00D1CB6}");
  j.type = JobType::kUploadReply;
  j.state = JobState::kTransientError;
  j.priority = JobPriority::kHigh;
  j.display_name = "name \xC3\xA9";
  j.description = "description";
  j.owner_uid = 1234;
  j.owner = "S-1-22-1-1234";
  j.owner_elevated = true;
  j.owner_integrity_level = 0x3000;
  j.times = {111, 222, 333};
  j.error_count = 7;
  j.notify_flags = 0x1B;
  j.notify_cmd_program = "/bin/true";
  j.notify_cmd_parameters = "/bin/true a b";
  j.minimum_retry_delay = 42;
  j.no_progress_timeout = 4242;
  j.maximum_download_time = 424242;
  j.proxy = {ProxyUsage::kOverride, "proxy:80", "<local>"};
  j.file_acl_flags = 0x5;
  j.peer_caching_flags = 0x3;
  j.security_flags = 0x101;
  j.custom_headers = "X-A: b\r\n";
  j.custom_headers_write_only = true;
  j.http_method = "PUT";
  j.dynamic_content = true;
  j.high_performance = true;
  j.max_download_size = 0xFFFFFFFFFFFFFFFEull;
  j.minimum_notification_interval_ms = 750;
  ErrorInfo error;
  error.code = 0x801901F7;
  error.context = ErrorContext::kRemoteFile;
  error.file_index = 0;
  j.error = error;
  job.owner_gid = 99;
  job.ever_resumed = true;
  job.download_time_ms = 5555;
  job.last_activity_ms = 6666;
  FileRecord file;
  file.info.index = 0;
  file.info.remote_name = "http://example.invalid/a b";
  file.info.local_name = "/tmp/a";
  file.info.temporary_name = "/tmp/.BIT0123456789ABCDEF.tmp";
  file.info.progress = {kSizeUnknown, 77, true};
  file.info.ranges = {{0, 100}, {2000, kLengthToEof}};
  file.info.validation_state = true;
  file.info.validation_known = true;
  file.info.downloaded_from_peer = true;
  file.info.bytes_from_origin = 10;
  file.info.bytes_from_peers = 67;
  file.etag = "\"abc\"";
  file.last_modified = "Mon, 01 Jan 2024 00:00:00 GMT";
  file.remote_mtime_ms = 1704067200000;
  file.origin_only = true;
  file.transferred = true;
  job.files.push_back(file);
  return job;
}

TEST(StoreTest, ReopenRestoresEveryField) {
  TempDir dir;
  std::string path = dir.path() + "/jobs.db";
  JobRecord original = full_job();
  {
    auto store = Store::open(path);
    ASSERT_TRUE(store.ok()) << store.status().message();
    ASSERT_TRUE((*store)->save_job(original).ok());
  }
  auto store = Store::open(path);
  ASSERT_TRUE(store.ok());
  auto jobs = (*store)->load_jobs();
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ(jobs->size(), 1u);
  const JobRecord& loaded = jobs->front();
  nlohmann::json a = original.info;
  nlohmann::json b = loaded.info;
  a.erase("owner_name");
  b.erase("owner_name");
  EXPECT_EQ(a, b);
  EXPECT_EQ(loaded.owner_gid, 99u);
  EXPECT_TRUE(loaded.ever_resumed);
  EXPECT_EQ(loaded.download_time_ms, 5555);
  EXPECT_EQ(loaded.last_activity_ms, 6666);
  ASSERT_EQ(loaded.files.size(), 1u);
  EXPECT_EQ(nlohmann::json(loaded.files[0].info), nlohmann::json(original.files[0].info));
  EXPECT_EQ(loaded.files[0].etag, "\"abc\"");
  EXPECT_EQ(loaded.files[0].last_modified, original.files[0].last_modified);
  EXPECT_EQ(loaded.files[0].remote_mtime_ms, 1704067200000);
  EXPECT_TRUE(loaded.files[0].origin_only);
  EXPECT_TRUE(loaded.files[0].transferred);
}

TEST(StoreTest, ProgressUpdateIsDurable) {
  TempDir dir;
  std::string path = dir.path() + "/jobs.db";
  JobRecord job = full_job();
  {
    auto store = Store::open(path);
    ASSERT_TRUE((*store)->save_job(job).ok());
    job.files[0].info.progress.bytes_transferred = 123456;
    job.files[0].info.progress.bytes_total = 999999;
    ASSERT_TRUE((*store)->save_progress(job, 0).ok());
  }
  auto jobs = (*Store::open(path))->load_jobs();
  EXPECT_EQ((*jobs)[0].files[0].info.progress.bytes_transferred, 123456u);
  EXPECT_EQ((*jobs)[0].files[0].info.progress.bytes_total, 999999u);
}

// The jobs the database file itself holds, read from a copy of it without its log (what a
// power cut leaves of commits that were never synced), beside the same secrets key.
std::size_t jobs_in_main_file(const std::string& path, const std::string& copy_dir) {
  std::filesystem::remove_all(copy_dir);
  std::filesystem::create_directory(copy_dir);
  std::filesystem::copy_file(path, copy_dir + "/jobs.db");
  std::filesystem::copy_file(std::filesystem::path(path).parent_path() / "secrets.key",
                             copy_dir + "/secrets.key");
  auto copy = Store::open(copy_dir + "/jobs.db");
  return copy.ok() ? (*copy)->load_jobs()->size() : 0;
}

TEST(StoreTest, SyncPutsTheLoggedCommitsInTheDatabaseFile) {
  TempDir dir;
  std::string path = dir.path() + "/jobs.db";
  auto store = Store::open(path);
  ASSERT_TRUE((*store)->save_job(full_job()).ok());
  // Committed into the log (synchronous=NORMAL): there for a crash of bitsd, not yet synced.
  EXPECT_EQ(jobs_in_main_file(path, dir.path() + "/before"), 0u);
  ASSERT_TRUE((*store)->sync().ok());
  EXPECT_EQ(jobs_in_main_file(path, dir.path() + "/after"), 1u);
  EXPECT_TRUE((*store)->sync().ok());  // nothing new: nothing to do
  // A single-statement write (no BEGIN/COMMIT of ours) is synced as well.
  ASSERT_TRUE((*store)->delete_job(full_job().info.id).ok());
  ASSERT_TRUE((*store)->sync().ok());
  EXPECT_EQ(jobs_in_main_file(path, dir.path() + "/deleted"), 0u);
}

TEST(StoreTest, SavingTheJobRowKeepsTheStoredFileRows) {
  TempDir dir;
  std::string path = dir.path() + "/jobs.db";
  JobRecord job = full_job();
  {
    auto store = Store::open(path);
    ASSERT_TRUE((*store)->save_job(job).ok());
    job.info.description = "changed";
    job.info.state = JobState::kSuspended;
    job.files[0].info.remote_name = "http://example.invalid/not-written";
    ASSERT_TRUE((*store)->save_job_row(job).ok());
  }
  auto jobs = (*Store::open(path))->load_jobs();
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ((*jobs)[0].info.description, "changed");
  EXPECT_EQ((*jobs)[0].info.state, JobState::kSuspended);
  ASSERT_EQ((*jobs)[0].files.size(), 1u);
  EXPECT_EQ((*jobs)[0].files[0].info.remote_name, "http://example.invalid/a b");
  EXPECT_EQ((*jobs)[0].files[0].info.ranges.size(), 2u);
}

TEST(StoreTest, DeleteRemovesJobAndFiles) {
  TempDir dir;
  auto store = Store::open(dir.path() + "/jobs.db");
  JobRecord job = full_job();
  ASSERT_TRUE((*store)->save_job(job).ok());
  ASSERT_TRUE((*store)->delete_job(job.info.id).ok());
  EXPECT_TRUE((*store)->load_jobs()->empty());
}

TEST(StoreTest, RefusesAFileThatIsNotADatabase) {
  TempDir dir;
  std::string path = dir.path() + "/jobs.db";
  std::ofstream(path) << std::string(8192, 'x');
  auto store = Store::open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find(path), std::string::npos);
  std::ifstream in(path);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, std::string(8192, 'x'));  // never overwritten
}

TEST(StoreTest, RefusesANewerSchema) {
  TempDir dir;
  std::string path = dir.path() + "/jobs.db";
  { auto store = Store::open(path); }
  {
    sqlite3* db = nullptr;
    sqlite3_open(path.c_str(), &db);
    sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  auto store = Store::open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("newer"), std::string::npos);
}

}  // namespace
}  // namespace openbits::daemon::testing

namespace openbits::daemon::testing {
namespace {

TEST(StoreTest, KeepsWhoRegisteredTheNotificationCommandLine) {
  TempDir dir;
  std::string path = dir.path() + "/jobs.db";
  JobRecord job = full_job();
  job.notify_cmd_uid = 4321;
  job.notify_cmd_gid = 77;
  {
    auto store = Store::open(path);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->save_job(job).ok());
  }
  auto store = Store::open(path);
  ASSERT_TRUE(store.ok());
  auto jobs = (*store)->load_jobs();
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ(jobs->front().notify_cmd_uid, std::optional<uid_t>(4321));
  EXPECT_EQ(jobs->front().notify_cmd_gid, 77u);
}

TEST(StoreTest, KeepsTheCreatorsUmask) {
  TempDir dir;
  auto store = Store::open(dir.path() + "/jobs.db");
  ASSERT_TRUE(store.ok());
  JobRecord job = full_job();
  job.owner_umask = 077;
  ASSERT_TRUE((*store)->save_job(job).ok());
  auto jobs = (*store)->load_jobs();
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ(jobs->front().owner_umask, mode_t{077});
}

// The first column of the first row of `sql` on the database at `path`, opened read-only.
std::string query_text(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  std::string text = "(error)";
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      const unsigned char* value = sqlite3_column_text(stmt, 0);
      text = value ? reinterpret_cast<const char*>(value) : "(null)";
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return text;
}

TEST(StoreTest, MigratesAVersion1DatabaseKeepingItsJobsAndABackup) {
  TempDir dir;
  std::string path = dir.path() + "/jobs.db";
  {
    auto store = Store::open(path);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->save_job(full_job()).ok());
  }
  {  // turn it back into a version 1 file
    sqlite3* db = nullptr;
    sqlite3_open(path.c_str(), &db);
    ASSERT_EQ(sqlite3_exec(db,
                           "ALTER TABLE jobs DROP COLUMN notify_cmd_uid; "
                           "ALTER TABLE jobs DROP COLUMN notify_cmd_gid; "
                           "ALTER TABLE jobs DROP COLUMN upload_state; "
                           "ALTER TABLE jobs DROP COLUMN owner_umask; "
                           "ALTER TABLE jobs DROP COLUMN custom_headers_sealed; "
                           "ALTER TABLE jobs DROP COLUMN owner_environment; "
                           "ALTER TABLE jobs DROP COLUMN client_certificate; "
                           "DROP TABLE credentials; "
                           "ALTER TABLE files DROP COLUMN origin_only; "
                           "UPDATE jobs SET custom_headers = 'X-A: b' || char(13, 10); "
                           "PRAGMA user_version = 1",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  auto store = Store::open(path);
  ASSERT_TRUE(store.ok()) << store.status().message();
  auto jobs = (*store)->load_jobs();
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ(jobs->front().info.notify_cmd_program, std::optional<std::string>("/bin/true"));
  EXPECT_FALSE(jobs->front().notify_cmd_uid);
  EXPECT_EQ(jobs->front().owner_umask, mode_t{022});  // unknown before v4: the usual 022
  // v5 seals the custom headers that earlier versions kept in plain text.
  EXPECT_EQ(jobs->front().info.custom_headers, std::optional<std::string>("X-A: b\r\n"));
  EXPECT_EQ(query_text(path, "SELECT count(*) FROM jobs WHERE custom_headers IS NOT NULL"), "0");
  // The backup is the old database as it was: version 1, old columns, the job and its file.
  std::string backup = path + ".v1.bak";
  ASSERT_TRUE(std::filesystem::exists(backup));
  EXPECT_EQ(query_text(backup, "PRAGMA user_version"), "1");
  EXPECT_EQ(query_text(backup, "SELECT display_name || '|' || notify_cmd_program FROM jobs"),
            full_job().info.display_name + "|/bin/true");
  EXPECT_EQ(query_text(backup,
                       "SELECT count(*) FROM pragma_table_info('jobs') "
                       "WHERE name = 'owner_umask'"),
            "0");
  EXPECT_EQ(query_text(backup, "SELECT remote_name FROM files"), "http://example.invalid/a b");
}

TEST(StoreTest, MigratesAVersion5DatabaseKeepingItsJobsAndABackup) {
  TempDir dir;
  std::string path = dir.path() + "/jobs.db";
  {
    auto store = Store::open(path);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->save_job(full_job()).ok());
  }
  {  // turn it back into a version 5 file
    sqlite3* db = nullptr;
    sqlite3_open(path.c_str(), &db);
    ASSERT_EQ(sqlite3_exec(db,
                           "DROP TABLE peer_cache; DROP TABLE settings; "
                           "ALTER TABLE files DROP COLUMN origin_only; PRAGMA user_version = 5",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  auto store = Store::open(path);
  ASSERT_TRUE(store.ok()) << store.status().message();
  auto jobs = (*store)->load_jobs();
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ(jobs->front().info.custom_headers, std::optional<std::string>("X-A: b\r\n"));
  EXPECT_EQ(query_text(path, "PRAGMA user_version"), "7");
  // The new tables are there and empty, and take rows.
  auto records = (*store)->load_peer_records();
  ASSERT_TRUE(records.ok());
  EXPECT_TRUE(records->empty());
  ASSERT_TRUE((*store)->save_setting("peer_cache_limit_percent", 5).ok());
  auto settings = (*store)->load_settings();
  ASSERT_TRUE(settings.ok());
  EXPECT_EQ(settings->at("peer_cache_limit_percent"), 5);
  std::string backup = path + ".v5.bak";
  ASSERT_TRUE(std::filesystem::exists(backup));
  EXPECT_EQ(query_text(backup, "PRAGMA user_version"), "5");
  EXPECT_EQ(query_text(backup, "SELECT display_name FROM jobs"), full_job().info.display_name);
  EXPECT_EQ(query_text(backup, "SELECT count(*) FROM sqlite_master WHERE name = 'peer_cache'"),
            "0");
}

TEST(StoreTest, PeerCacheRecordsAndSettingsSurviveAReopen) {
  TempDir dir;
  std::string path = dir.path() + "/jobs.db";
  PeerCacheRecord r;
  r.id = *parse_guid("{0D7C2B55-64A1-4C3F-9E0B-2B9A8E1F0C11}");
  r.key = "ab12";
  r.url = "http://origin.example/f.bin";
  r.size = 1ull << 40;
  r.last_modified = "Wed, 21 Oct 2026 07:28:00 GMT";
  r.etag = "\"x\"";
  r.file_mtime_ms = 11;
  r.sha256 = "cd34";
  r.origin_digest = "ef56";
  r.created_ms = 22;
  r.last_access_ms = 33;
  r.validated = true;
  {
    auto store = Store::open(path);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->save_peer_record(r).ok());
    ASSERT_TRUE((*store)->save_setting("peer_caching_flags", 3).ok());
    ASSERT_TRUE((*store)->save_setting("peer_caching_flags", 2).ok());  // replaces
  }
  auto store = Store::open(path);
  ASSERT_TRUE(store.ok());
  auto records = (*store)->load_peer_records();
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 1u);
  const PeerCacheRecord& back = records->front();
  EXPECT_EQ(back.id, r.id);
  EXPECT_EQ(std::tie(back.key, back.url, back.size, back.last_modified, back.etag, back.sha256,
                     back.origin_digest),
            std::tie(r.key, r.url, r.size, r.last_modified, r.etag, r.sha256, r.origin_digest));
  EXPECT_EQ(std::tie(back.file_mtime_ms, back.created_ms, back.last_access_ms, back.validated),
            std::tie(r.file_mtime_ms, r.created_ms, r.last_access_ms, r.validated));
  auto settings = (*store)->load_settings();
  ASSERT_TRUE(settings.ok());
  EXPECT_EQ(*settings, (std::map<std::string, std::int64_t>{{"peer_caching_flags", 2}}));
  ASSERT_TRUE((*store)->delete_peer_record(r.id).ok());
  EXPECT_TRUE((*store)->load_peer_records()->empty());
}

JobRecord with_credentials(JobRecord job) {
  job.credentials.push_back(
      {AuthTarget::kServer, AuthScheme::kBasic, std::string("alice"), std::string("pw-1"), ""});
  job.credentials.push_back(
      {AuthTarget::kProxy, AuthScheme::kNegotiate, std::nullopt, std::nullopt, "FILE:/tmp/cc"});
  job.owner_environment = {{"http_proxy", "http://p:3128"}, {"no_proxy", "localhost"}};
  job.info.client_certificate =
      ClientCertificate{CertStoreLocation::kLocalMachine, "MY", {1, 2, 3}, "CN=client"};
  return job;
}

TEST(StoreTest, CredentialsEnvironmentAndCertificateSurviveAReopen) {
  TempDir dir;
  std::string path = dir.path() + "/jobs.db";
  {
    auto store = Store::open(path);
    ASSERT_TRUE(store.ok());
    JobRecord job = with_credentials(full_job());
    ASSERT_TRUE((*store)->save_job(job).ok());
    ASSERT_TRUE((*store)->save_credentials(job).ok());
    ASSERT_TRUE((*store)->save_job(job).ok());  // saving the job again keeps them
  }
  auto store = Store::open(path);
  ASSERT_TRUE(store.ok());
  auto jobs = (*store)->load_jobs();
  ASSERT_TRUE(jobs.ok()) << jobs.status().message();
  ASSERT_EQ(jobs->size(), 1u);
  const JobRecord& job = jobs->front();
  ASSERT_EQ(job.credentials.size(), 2u);
  EXPECT_EQ(job.credentials[0].user_name, std::optional<std::string>("alice"));
  EXPECT_EQ(job.credentials[0].password, std::optional<std::string>("pw-1"));
  EXPECT_FALSE(job.credentials[1].user_name);
  EXPECT_FALSE(job.credentials[1].password);
  EXPECT_EQ(job.credentials[1].ccache, "FILE:/tmp/cc");
  EXPECT_EQ(job.owner_environment.at("http_proxy"), "http://p:3128");
  ASSERT_TRUE(job.info.client_certificate);
  EXPECT_EQ(job.info.client_certificate->subject, "CN=client");
  EXPECT_EQ(job.info.client_certificate->hash[2], 3);
}

// What is on disk: no password and no custom header in clear, in the database or its WAL.
TEST(StoreTest, SecretsAreNeverWrittenInClear) {
  TempDir dir;
  std::string path = dir.path() + "/jobs.db";
  auto store = Store::open(path);
  ASSERT_TRUE(store.ok());
  JobRecord job = with_credentials(full_job());
  job.credentials[0].password = "UNIQUE-PASSWORD-5150";
  job.info.custom_headers = "Authorization: Bearer UNIQUE-TOKEN-5150\r\n";
  ASSERT_TRUE((*store)->save_job(job).ok());
  ASSERT_TRUE((*store)->save_credentials(job).ok());
  for (const std::string& file : {path, path + "-wal"}) {
    std::ifstream in(file, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(bytes.find("UNIQUE-PASSWORD-5150"), std::string::npos) << file;
    EXPECT_EQ(bytes.find("UNIQUE-TOKEN-5150"), std::string::npos) << file;
  }
  job.credentials.clear();
  ASSERT_TRUE((*store)->save_credentials(job).ok());
  EXPECT_EQ(query_text(path, "SELECT count(*) FROM credentials"), "0");
}

TEST(StoreTest, AStoreWhoseSecretsKeyChangedIsRefused) {
  TempDir dir;
  std::string path = dir.path() + "/jobs.db";
  {
    auto store = Store::open(path);
    ASSERT_TRUE(store.ok());
    JobRecord job = with_credentials(full_job());
    ASSERT_TRUE((*store)->save_job(job).ok());
    ASSERT_TRUE((*store)->save_credentials(job).ok());
  }
  std::filesystem::remove(dir.path() + "/secrets.key");  // a new key is made on open
  auto store = Store::open(path);
  ASSERT_TRUE(store.ok());
  auto jobs = (*store)->load_jobs();
  ASSERT_FALSE(jobs.ok());
  EXPECT_NE(jobs.status().message().find("secrets key"), std::string::npos)
      << jobs.status().message();
}

}  // namespace
}  // namespace openbits::daemon::testing
