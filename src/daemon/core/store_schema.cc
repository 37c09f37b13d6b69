// The store's schema and its migrations, one step per version (docs/schema.md): what
// Store::open runs before the store is used. See store.h.
#include <sqlite3.h>

#include <filesystem>

#include "openbits/names.h"
#include "src/daemon/core/store.h"
#include "src/daemon/core/store_rows.h"
#include "src/daemon/core/store_sql.h"

namespace openbits::daemon {
namespace {

constexpr const char* kCreateV1 = R"sql(
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY, type INTEGER NOT NULL, state INTEGER NOT NULL,
  priority INTEGER NOT NULL, display_name TEXT NOT NULL, description TEXT NOT NULL,
  owner_uid INTEGER NOT NULL, owner_gid INTEGER NOT NULL, owner_elevated INTEGER NOT NULL,
  owner_integrity_level INTEGER NOT NULL, creation_time INTEGER NOT NULL,
  modification_time INTEGER NOT NULL, transfer_completion_time INTEGER NOT NULL,
  error_count INTEGER NOT NULL, notify_flags INTEGER NOT NULL, notify_cmd_program TEXT,
  notify_cmd_parameters TEXT, minimum_retry_delay INTEGER NOT NULL,
  no_progress_timeout INTEGER NOT NULL, maximum_download_time INTEGER NOT NULL,
  proxy_usage INTEGER NOT NULL, proxy_list TEXT, bypass_list TEXT,
  file_acl_flags INTEGER NOT NULL, peer_caching_flags INTEGER NOT NULL,
  security_flags INTEGER NOT NULL, custom_headers TEXT,
  custom_headers_write_only INTEGER NOT NULL, http_method TEXT NOT NULL,
  dynamic_content INTEGER NOT NULL, high_performance INTEGER NOT NULL,
  max_download_size INTEGER NOT NULL, minimum_notification_interval_ms INTEGER NOT NULL,
  error_code INTEGER, error_context INTEGER NOT NULL, error_file INTEGER,
  ever_resumed INTEGER NOT NULL, download_time_ms INTEGER NOT NULL,
  last_activity_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS files (
  job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE, idx INTEGER NOT NULL,
  remote_name TEXT NOT NULL, local_name TEXT NOT NULL, temporary_name TEXT NOT NULL,
  bytes_total INTEGER NOT NULL, bytes_transferred INTEGER NOT NULL,
  completed INTEGER NOT NULL, transferred INTEGER NOT NULL, ranges TEXT NOT NULL,
  validation_state INTEGER NOT NULL, validation_known INTEGER NOT NULL,
  downloaded_from_peer INTEGER NOT NULL, bytes_from_origin INTEGER NOT NULL,
  bytes_from_peers INTEGER NOT NULL, etag TEXT NOT NULL, last_modified TEXT NOT NULL,
  remote_mtime_ms INTEGER NOT NULL, PRIMARY KEY (job_id, idx));
)sql";

// Version 2: who registered the notification command line (it runs as that user).
constexpr const char* kMigrateV2 = R"sql(
ALTER TABLE jobs ADD COLUMN notify_cmd_uid INTEGER;
ALTER TABLE jobs ADD COLUMN notify_cmd_gid INTEGER NOT NULL DEFAULT 0;
)sql";

// Version 3: upload and upload-reply jobs: the session, the reply (one JSON object).
constexpr const char* kMigrateV3 = R"sql(
ALTER TABLE jobs ADD COLUMN upload_state TEXT NOT NULL DEFAULT '{}';
)sql";

// Version 4: the creator's umask, so temp files made after a restart get the same mode.
constexpr const char* kMigrateV4 = R"sql(
ALTER TABLE jobs ADD COLUMN owner_umask INTEGER NOT NULL DEFAULT 18;
)sql";

// Version 5: secrets sealed with the secrets key (SetCredentials slots, custom headers; the
// plain custom_headers column is emptied by the migration), the owner's proxy environment
// captured at creation, and the client certificate.
constexpr const char* kMigrateV5 = R"sql(
CREATE TABLE IF NOT EXISTS credentials (
  job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE, target INTEGER NOT NULL,
  scheme INTEGER NOT NULL, sealed BLOB NOT NULL, PRIMARY KEY (job_id, target, scheme));
ALTER TABLE jobs ADD COLUMN custom_headers_sealed BLOB;
ALTER TABLE jobs ADD COLUMN owner_environment TEXT NOT NULL DEFAULT '{}';
ALTER TABLE jobs ADD COLUMN client_certificate TEXT;
)sql";

// Version 6: the peer cache's records (their content is in <state-dir>/peercache/<id>) and
// the machine's settings that administrators set (peer-caching flags, cache limits).
constexpr const char* kMigrateV6 = R"sql(
CREATE TABLE IF NOT EXISTS peer_cache (
  id TEXT PRIMARY KEY, content_key TEXT NOT NULL, url TEXT NOT NULL, size INTEGER NOT NULL,
  last_modified TEXT NOT NULL, etag TEXT NOT NULL, file_mtime_ms INTEGER NOT NULL,
  sha256 TEXT NOT NULL, origin_digest TEXT NOT NULL, created_ms INTEGER NOT NULL,
  last_access_ms INTEGER NOT NULL, validated INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS peer_cache_by_key ON peer_cache (content_key);
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
)sql";

// Version 7: the mark SetValidationState(FALSE) sets on a file whose content came from
// peers: it is fetched again from the origin only, also after a restart.
constexpr const char* kMigrateV7 = R"sql(
ALTER TABLE files ADD COLUMN origin_only INTEGER NOT NULL DEFAULT 0;
)sql";

}  // namespace

using store_detail::headers_context;
using store_detail::sql_error;
using store_detail::Stmt;

Status Store::migrate() {
  {  // (statements finalized before VACUUM INTO, which refuses to run beside them)
    Stmt check(db_, "PRAGMA quick_check");
    if (!check.prepared() || check.step() != SQLITE_ROW || check.text(0) != "ok") {
      return sql_error(path_, "the database is damaged (quick_check failed)", check.error());
    }
  }
  std::int64_t version = 0;
  {
    Stmt version_query(db_, "PRAGMA user_version");
    if (!version_query.prepared() || version_query.step() != SQLITE_ROW) {
      return sql_error(path_, "cannot read the schema version", version_query.error());
    }
    version = version_query.i64(0);
  }
  if (version > kSchemaVersion) {
    return sql_error(path_, "the database was written by a newer bitsd",
                     ("schema version " + std::to_string(version)).c_str());
  }
  if (version == kSchemaVersion) return Status();
  if (version > 0) {
    // VACUUM INTO writes a consistent copy that includes what is still in the WAL (a plain
    // file copy would miss it).
    std::string backup = path_ + ".v" + std::to_string(version) + ".bak";
    std::error_code ec;
    std::filesystem::remove(backup, ec);
    char* sql = sqlite3_mprintf("VACUUM INTO %Q", backup.c_str());
    Status copied = exec(sql);
    sqlite3_free(sql);
    if (!copied.ok()) {
      return sql_error(path_, "cannot back up before migrating",
                       (backup + ": " + copied.message()).c_str());
    }
  }
  // One step per version; version 0 is an empty file.
  return transaction([&] {
    Status step;
    if (version < 1) step = exec(kCreateV1);
    if (step.ok() && version < 2) step = exec(kMigrateV2);
    if (step.ok() && version < 3) step = exec(kMigrateV3);
    if (step.ok() && version < 4) step = exec(kMigrateV4);
    if (step.ok() && version < 5) step = exec(kMigrateV5);
    if (step.ok() && version < 5) step = seal_plain_headers();
    if (step.ok() && version < 6) step = exec(kMigrateV6);
    if (step.ok() && version < 7) step = exec(kMigrateV7);
    static_assert(kSchemaVersion == 7, "the PRAGMA below names the version");
    if (step.ok()) step = exec("PRAGMA user_version = 7");
    return step;
  });
}

Status Store::seal_plain_headers() {
  std::vector<std::pair<std::string, std::string>> plain;
  {
    Stmt q(db_, "SELECT id, custom_headers FROM jobs WHERE custom_headers IS NOT NULL");
    if (!q.prepared()) return sql_error(path_, "cannot read custom headers", q.error());
    while (q.step() == SQLITE_ROW) plain.emplace_back(q.text(0), q.text(1));
  }
  for (auto& [id, headers] : plain) {
    auto guid = parse_guid(id);
    std::string sealed = guid ? secrets_.seal(headers, headers_context(*guid)) : std::string();
    wipe(headers);
    Stmt u(db_, "UPDATE jobs SET custom_headers = NULL, custom_headers_sealed = ? WHERE id = ?");
    if (!u.prepared()) return sql_error(path_, "cannot seal custom headers", u.error());
    if (sealed.empty()) {
      u.bind_null();
    } else {
      u.bind_blob(sealed);
    }
    u.bind(id);
    if (u.step() != SQLITE_DONE) return sql_error(path_, "cannot seal custom headers", u.error());
  }
  return Status();
}

}  // namespace openbits::daemon
