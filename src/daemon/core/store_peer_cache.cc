// Store: the peer_cache and settings tables (schema version 6, docs/schema.md); see store.h.
// Each write is one statement, so one implicit transaction, committed when it returns.
#include <sqlite3.h>

#include "openbits/names.h"
#include "src/daemon/core/store.h"
#include "src/daemon/core/store_sql.h"

namespace openbits::daemon {
namespace {

using store_detail::Stmt;

// In the order read_peer_record reads them and save_peer_record binds them.
constexpr const char* kPeerColumns =
    "id, content_key, url, size, last_modified, etag, file_mtime_ms, sha256, origin_digest, "
    "created_ms, last_access_ms, validated";

PeerCacheRecord read_peer_record(const Stmt& s) {
  PeerCacheRecord r;
  r.id = parse_guid(s.text(0)).value_or(Guid{});
  r.key = s.text(1);
  r.url = s.text(2);
  r.size = s.u64(3);
  r.last_modified = s.text(4);
  r.etag = s.text(5);
  r.file_mtime_ms = s.i64(6);
  r.sha256 = s.text(7);
  r.origin_digest = s.text(8);
  r.created_ms = s.i64(9);
  r.last_access_ms = s.i64(10);
  r.validated = s.i64(11) != 0;
  return r;
}

}  // namespace

using store_detail::sql_error;

Result<std::vector<PeerCacheRecord>> Store::load_peer_records() {
  Stmt q(db_, (std::string("SELECT ") + kPeerColumns + " FROM peer_cache ORDER BY rowid").c_str());
  if (!q.prepared()) return sql_error(path_, "cannot read the peer cache", q.error());
  std::vector<PeerCacheRecord> records;
  while (q.step() == SQLITE_ROW) records.push_back(read_peer_record(q));
  return records;
}

Status Store::save_peer_record(const PeerCacheRecord& r) {
  std::string sql = std::string("INSERT OR REPLACE INTO peer_cache (") + kPeerColumns +
                    ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?)";
  Stmt s(db_, sql.c_str());
  if (!s.prepared()) return sql_error(path_, "cannot save a peer-cache record", s.error());
  s.bind(to_string(r.id)).bind(r.key).bind(r.url).bind_u64(r.size).bind(r.last_modified);
  s.bind(r.etag).bind(r.file_mtime_ms).bind(r.sha256).bind(r.origin_digest).bind(r.created_ms);
  s.bind(r.last_access_ms).bind(std::int64_t{r.validated});
  if (s.step() != SQLITE_DONE) {
    return sql_error(path_, "cannot save a peer-cache record", s.error());
  }
  return Status();
}

Status Store::delete_peer_record(const Guid& id) {
  Stmt s(db_, "DELETE FROM peer_cache WHERE id = ?");
  if (!s.prepared()) return sql_error(path_, "cannot delete a peer-cache record", s.error());
  s.bind(to_string(id));
  if (s.step() != SQLITE_DONE) {
    return sql_error(path_, "cannot delete a peer-cache record", s.error());
  }
  return Status();
}

Result<std::map<std::string, std::int64_t>> Store::load_settings() {
  Stmt q(db_, "SELECT name, value FROM settings");
  if (!q.prepared()) return sql_error(path_, "cannot read the settings", q.error());
  std::map<std::string, std::int64_t> settings;
  while (q.step() == SQLITE_ROW) settings[q.text(0)] = q.i64(1);
  return settings;
}

Status Store::save_setting(const std::string& name, std::int64_t value) {
  Stmt s(db_, "INSERT OR REPLACE INTO settings (name, value) VALUES (?, ?)");
  if (!s.prepared()) return sql_error(path_, "cannot save a setting", s.error());
  s.bind(name).bind(value);
  if (s.step() != SQLITE_DONE) return sql_error(path_, "cannot save a setting", s.error());
  return Status();
}

}  // namespace openbits::daemon
