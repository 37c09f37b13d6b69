// Store: bitsd's persistent state in SQLite (WAL, synchronous=NORMAL). Every write is one
// transaction, in the kernel's hands when the call returns: a state change survives a
// crash of bitsd before the RPC that caused it answers. sync() puts the commits on the
// disk itself (a power cut); bitsd calls it every tick (250 ms), so a power cut loses at
// most that much, and never makes a wrong file: bytes are fdatasync'd before the count
// that claims them is committed (docs/durability.md). Schema and migrations: docs/schema.md.
//
// Threading: one Store per process, used under JobManager's mutex; not thread-safe itself.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "openbits/status.h"
#include "src/daemon/core/job_record.h"
#include "src/daemon/core/peer_cache_record.h"
#include "src/daemon/security/secret_box.h"

struct sqlite3;
struct sqlite3_stmt;

namespace openbits::daemon::store_detail {
class Stmt;
}

namespace openbits::daemon {

class Store {
 public:
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Opens or creates the database and migrates it to the current schema. Refuses (error
  // Status with a message naming the file) when the file is not a database, is damaged,
  // has a newer schema, or cannot be written. A migration first copies the file to
  // "<path>.v<N>.bak". Secrets (credentials, custom headers) are sealed with the key in
  // "secrets.key" beside the database (SecretBox), made on first use; a key that cannot be
  // read, or that does not open the stored secrets (load_jobs), is refused the same way.
  static Result<std::unique_ptr<Store>> open(const std::string& path);

  static constexpr int kSchemaVersion = 7;

  Result<std::vector<JobRecord>> load_jobs();
  // Writes the job row and all its file rows (insert or replace).
  Status save_job(const JobRecord& job);
  // Writes only the job row (insert or update); its file rows stay as stored. For changes
  // that touch no file (properties, state): a job of 200 files with 500 ranges each is
  // megabytes of file rows, too much to rewrite on every SetProperty.
  Status save_job_row(const JobRecord& job);
  // Writes only the progress columns of one file and the job's activity columns.
  Status save_progress(const JobRecord& job, std::uint32_t file_index);
  Status delete_job(const Guid& id);
  // Replaces the job's stored SetCredentials slots with job.credentials (sealed); an empty
  // list wipes them (secure_delete overwrites the freed pages).
  Status save_credentials(const JobRecord& job);
  // SQLite's `PRAGMA integrity_check` (store_check.cc): the problems it reports, at most
  // kMaxIntegrityProblems; empty when the database is intact. Read-only.
  static constexpr int kMaxIntegrityProblems = 100;
  Result<std::vector<std::string>> check_integrity();
  // The peer cache's records (store_peer_cache.cc; PeerCache keeps them in memory).
  Result<std::vector<PeerCacheRecord>> load_peer_records();
  // Insert or replace, by id.
  Status save_peer_record(const PeerCacheRecord& record);
  Status delete_peer_record(const Guid& id);
  // The machine's settings (name -> integer): what administrators set, kept across restarts.
  Result<std::map<std::string, std::int64_t>> load_settings();
  Status save_setting(const std::string& name, std::int64_t value);

  const std::string& path() const { return path_; }
  // Makes every commit so far durable against a power cut (a WAL checkpoint, which
  // syncs the log first); nothing to do when no commit came since the last sync.
  Status sync();

 private:
  Store(sqlite3* db, std::string path, SecretBox secrets);
  Status seal_plain_headers();
  // Loaded jobs by their id's text (the job_id column).
  using JobIndex = std::unordered_map<std::string, JobRecord*>;
  Status read_credential(const store_detail::Stmt& row, JobRecord& job);
  Status load_credentials(JobIndex& index);
  Status load_files(JobIndex& index);
  Status write_credentials(const JobRecord& job);
  Status exec(const char* sql);
  // `sql` prepared once and kept for the store's life (the statements every create and
  // progress update runs: parsing them again cost more than running them).
  store_detail::Stmt prepare(const char* sql);
  // BEGIN IMMEDIATE, `body`, COMMIT; ROLLBACK when the body fails (its Status is returned).
  Status transaction(const std::function<Status()>& body);
  Status run_kept(const char* sql);  // one kept statement without rows (BEGIN, COMMIT...)
  Status migrate();
  Status save_file(const Guid& job_id, const FileRecord& file);
  Status write_job_row(const JobRecord& job);
  Status write_progress(const JobRecord& job, std::uint32_t file_index);

  sqlite3* db_;
  std::string path_;
  SecretBox secrets_;
  std::int64_t synced_changes_ = -1;  // sqlite3_total_changes64 at the last sync()
  std::unordered_map<std::string, sqlite3_stmt*> kept_;  // prepare(): by their SQL
};

}  // namespace openbits::daemon
