// SQLite store; see store.h and docs/schema.md.
#include "src/daemon/core/store.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "openbits/names.h"
#include "src/daemon/core/store_rows.h"
#include "src/daemon/core/store_sql.h"
#include "src/protocol/codec.h"

namespace openbits::daemon {

using store_detail::credential_context;
using store_detail::environment_context;
using store_detail::environment_text;
using store_detail::headers_context;
using store_detail::job_upsert_sql;
using store_detail::kFileColumns;
using store_detail::kJobColumns;
using store_detail::open_sealed_columns;
using store_detail::read_file;
using store_detail::read_job;
using store_detail::sql_error;
using store_detail::Stmt;
using store_detail::upload_state_text;

Store::Store(sqlite3* db, std::string path, SecretBox secrets)
    : db_(db), path_(std::move(path)), secrets_(std::move(secrets)) {}

Store::~Store() {
  for (auto& [sql, statement] : kept_) sqlite3_finalize(statement);
  sqlite3_close_v2(db_);
}

Result<std::unique_ptr<Store>> Store::open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) {
    Status error = sql_error(path, "cannot open", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close_v2(db);
    return error;
  }
  ::chmod(path.c_str(), 0600);
  std::string key_path = std::filesystem::path(path).parent_path() / "secrets.key";
  auto secrets = SecretBox::load_or_create(key_path);
  if (!secrets.ok()) {
    sqlite3_close_v2(db);
    return secrets.status();
  }
  std::unique_ptr<Store> store(new Store(db, path, *secrets));
  if (Status s = store->exec("PRAGMA foreign_keys = ON"); !s.ok()) return s;
  // Deleted secrets (RemoveCredentials, Cancel...) are overwritten, not just unlinked.
  if (Status s = store->exec("PRAGMA secure_delete = ON"); !s.ok()) return s;
  if (Status s = store->exec("PRAGMA journal_mode = WAL"); !s.ok()) return s;
  // NORMAL: a commit is written to the log at once (it survives a crash of bitsd) and
  // reaches the disk at sync() or a checkpoint (a power cut). FULL would cost an fsync
  // per RPC: a thousand creates a second at most on this class of disk.
  if (Status s = store->exec("PRAGMA synchronous = NORMAL"); !s.ok()) return s;
  if (Status s = store->migrate(); !s.ok()) return s;
  if (Status s = store->sync(); !s.ok()) return s;  // a migration is on disk before use
  // A store bitsd cannot write would lose every change it acknowledges: refuse it now.
  if (sqlite3_db_readonly(db, "main") == 1) {
    return sql_error(path, "the database is read-only", "bitsd needs to write it");
  }
  if (Status s = store->exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  if (Status s = store->exec("ROLLBACK"); !s.ok()) return s;
  return store;
}

Status Store::exec(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    Status error = sql_error(path_, sql, message);
    sqlite3_free(message);
    return error;
  }
  return Status();
}

Stmt Store::prepare(const char* sql) {
  auto kept = kept_.find(sql);
  if (kept == kept_.end()) {
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &statement, nullptr) !=
        SQLITE_OK) {
      sqlite3_finalize(statement);
      return Stmt(db_, sql);  // fails the same way: its error() says why
    }
    kept = kept_.emplace(sql, statement).first;
  }
  return Stmt(db_, kept->second);
}

Status Store::run_kept(const char* sql) {
  Stmt s = prepare(sql);
  if (!s.prepared() || s.step() != SQLITE_DONE) return sql_error(path_, sql, s.error());
  return Status();
}

Status Store::transaction(const std::function<Status()>& body) {
  if (Status b = run_kept("BEGIN IMMEDIATE"); !b.ok()) return b;
  Status result = body();
  if (!result.ok()) {
    (void)run_kept("ROLLBACK");
    return result;
  }
  return run_kept("COMMIT");
}

Status Store::sync() {
  // Every row written, by a transaction or a single statement, counts here.
  std::int64_t changes = sqlite3_total_changes64(db_);
  if (changes == synced_changes_) return Status();
  int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  // BUSY only means a reader held back part of the log; what was synced stays synced.
  if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
    return sql_error(path_, "cannot sync the log", sqlite3_errmsg(db_));
  }
  synced_changes_ = changes;
  return Status();
}

// A row of SELECT job_id, target, scheme, sealed FROM credentials, into its job.
Status Store::read_credential(const Stmt& q, JobRecord& job) {
  auto opened = secrets_.open(q.blob(3), credential_context(job.info.id, q.i32(1), q.i32(2)));
  if (!opened.ok()) return sql_error(path_, "credentials", opened.status().message().c_str());
  auto j = nlohmann::json::parse(*opened, nullptr, false);
  wipe(*opened);
  if (!j.is_object()) return sql_error(path_, "credentials", "not a credential record");
  CredentialRecord c;
  c.target = static_cast<AuthTarget>(q.i32(1));
  c.scheme = static_cast<AuthScheme>(q.i32(2));
  if (j.contains("user_name") && j["user_name"].is_string()) c.user_name = j["user_name"];
  if (j.contains("password") && j["password"].is_string()) c.password = j["password"];
  c.ccache = j.value("ccache", std::string());
  job.credentials.push_back(std::move(c));
  return Status();
}

// Every credential row, each into its job (rows of no loaded job are skipped, as before).
Status Store::load_credentials(JobIndex& index) {
  Stmt q(db_, "SELECT job_id, target, scheme, sealed FROM credentials ORDER BY rowid");
  if (!q.prepared()) return sql_error(path_, "cannot read credentials", q.error());
  while (q.step() == SQLITE_ROW) {
    auto job = index.find(q.text(0));
    if (job == index.end()) continue;
    if (Status s = read_credential(q, *job->second); !s.ok()) return s;
  }
  return Status();
}

// Every file row, each into its job in index order.
Status Store::load_files(JobIndex& index) {
  Stmt q(db_, (std::string("SELECT ") + kFileColumns + " FROM files ORDER BY job_id, idx").c_str());
  if (!q.prepared()) return sql_error(path_, "cannot read files", q.error());
  while (q.step() == SQLITE_ROW) {
    auto job = index.find(q.text(0));
    if (job != index.end()) job->second->files.push_back(read_file(q));
  }
  return Status();
}

Status Store::save_credentials(const JobRecord& job) {
  return transaction([&] { return write_credentials(job); });
}

Status Store::write_credentials(const JobRecord& job) {
  std::string id = to_string(job.info.id);
  Stmt d = prepare("DELETE FROM credentials WHERE job_id = ?");
  if (!d.prepared()) return sql_error(path_, "cannot save credentials", d.error());
  d.bind(id);
  if (d.step() != SQLITE_DONE) return sql_error(path_, "cannot save credentials", d.error());
  for (const CredentialRecord& c : job.credentials) {
    nlohmann::json j = {{"ccache", c.ccache}};
    j["user_name"] = c.user_name ? nlohmann::json(*c.user_name) : nlohmann::json();
    j["password"] = c.password ? nlohmann::json(*c.password) : nlohmann::json();
    std::string plain = j.dump();
    std::string sealed = secrets_.seal(
        plain,
        credential_context(job.info.id, static_cast<int>(c.target), static_cast<int>(c.scheme)));
    wipe(plain);
    if (j.contains("password") && j["password"].is_string())
      wipe(j["password"].get_ref<std::string&>());
    if (sealed.empty()) return Status(hr::E_FAIL, "cannot seal credentials");
    Stmt i = prepare("INSERT INTO credentials (job_id, target, scheme, sealed) VALUES (?,?,?,?)");
    if (!i.prepared()) return sql_error(path_, "cannot save credentials", i.error());
    i.bind(id).bind(static_cast<int>(c.target)).bind(static_cast<int>(c.scheme)).bind_blob(sealed);
    if (i.step() != SQLITE_DONE) return sql_error(path_, "cannot save credentials", i.error());
  }
  return Status();
}

Result<std::vector<JobRecord>> Store::load_jobs() {
  std::vector<JobRecord> jobs;
  {  // sized once, not moved again each time the vector grows (start-up of 100,000 jobs)
    Stmt count(db_, "SELECT count(*) FROM jobs");
    if (count.prepared() && count.step() == SQLITE_ROW) {
      jobs.reserve(static_cast<std::size_t>(count.i64(0)));
    }
  }
  // Creation order (JobRecord::creation_order): a job's row is inserted when it is created
  // and only updated afterwards (an upsert keeps its rowid).
  Stmt job_query(
      db_,
      (std::string("SELECT ") + kJobColumns + " FROM jobs ORDER BY creation_time, rowid").c_str());
  if (!job_query.prepared()) return sql_error(path_, "cannot read jobs", job_query.error());
  while (job_query.step() == SQLITE_ROW) {
    jobs.push_back(read_job(job_query));
    if (Status s = open_sealed_columns(secrets_, path_, job_query, jobs.back()); !s.ok()) {
      return s;
    }
  }
  // One statement per table, not per job: start-up with 100,000 jobs.
  JobIndex index;
  for (JobRecord& job : jobs) index.emplace(to_string(job.info.id), &job);
  if (Status s = load_credentials(index); !s.ok()) return s;
  if (Status s = load_files(index); !s.ok()) return s;
  return jobs;
}

Status Store::save_file(const Guid& job_id, const FileRecord& file) {
  const FileInfo& f = file.info;
  static const std::string sql = std::string("INSERT OR REPLACE INTO files (") + kFileColumns +
                                 ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
  Stmt s = prepare(sql.c_str());
  if (!s.prepared()) return sql_error(path_, "cannot save file", s.error());
  s.bind(to_string(job_id)).bind(f.index).bind(f.remote_name).bind(f.local_name);
  s.bind(f.temporary_name).bind_u64(f.progress.bytes_total).bind_u64(f.progress.bytes_transferred);
  s.bind(f.progress.completed).bind(file.transferred).bind(nlohmann::json(f.ranges).dump());
  s.bind(f.validation_state).bind(f.validation_known).bind(f.downloaded_from_peer);
  s.bind_u64(f.bytes_from_origin).bind_u64(f.bytes_from_peers).bind(file.etag);
  s.bind(file.last_modified).bind(file.remote_mtime_ms).bind(file.origin_only);
  if (s.step() != SQLITE_DONE) return sql_error(path_, "cannot save file", s.error());
  return Status();
}

Status Store::save_job(const JobRecord& job) {
  return transaction([&] {
    Status result = write_job_row(job);
    for (std::size_t i = 0; result.ok() && i < job.files.size(); ++i) {
      result = save_file(job.info.id, job.files[i]);
    }
    return result;
  });
}

Status Store::save_job_row(const JobRecord& job) {
  return transaction([&] { return write_job_row(job); });
}

Status Store::write_job_row(const JobRecord& job) {
  const JobInfo& j = job.info;
  // An upsert, not INSERT OR REPLACE: a replaced row would cascade-delete its credentials.
  static const std::string sql = job_upsert_sql();
  Stmt s = prepare(sql.c_str());
  if (!s.prepared()) return sql_error(path_, "cannot save job", s.error());
  s.bind(to_string(j.id)).bind(static_cast<int>(j.type)).bind(static_cast<int>(j.state));
  s.bind(static_cast<int>(j.priority)).bind(j.display_name).bind(j.description);
  s.bind(j.owner_uid).bind(job.owner_gid).bind(j.owner_elevated).bind(j.owner_integrity_level);
  s.bind(j.times.creation_time).bind(j.times.modification_time);
  s.bind(j.times.transfer_completion_time).bind(j.error_count).bind(j.notify_flags);
  s.bind(j.notify_cmd_program).bind(j.notify_cmd_parameters).bind(j.minimum_retry_delay);
  s.bind(j.no_progress_timeout).bind(j.maximum_download_time);
  s.bind(static_cast<int>(j.proxy.usage)).bind(j.proxy.proxy_list).bind(j.proxy.bypass_list);
  s.bind(j.file_acl_flags).bind(j.peer_caching_flags).bind(j.security_flags);
  s.bind_null().bind(j.custom_headers_write_only).bind(j.http_method);
  s.bind(j.dynamic_content).bind(j.high_performance).bind_u64(j.max_download_size);
  s.bind(j.minimum_notification_interval_ms);
  if (j.error) {
    s.bind(j.error->code).bind(static_cast<int>(j.error->context));
    if (j.error->file_index) {
      s.bind(*j.error->file_index);
    } else {
      s.bind_null();
    }
  } else {
    s.bind_null().bind(0).bind_null();
  }
  s.bind(job.ever_resumed).bind(job.download_time_ms).bind(job.last_activity_ms);
  if (job.notify_cmd_uid) {
    s.bind(std::int64_t{*job.notify_cmd_uid});
  } else {
    s.bind_null();
  }
  s.bind(std::int64_t{job.notify_cmd_gid});
  s.bind(upload_state_text(job));
  s.bind(std::int64_t{job.owner_umask});
  if (j.custom_headers) {
    std::string sealed = secrets_.seal(*j.custom_headers, headers_context(j.id));
    if (sealed.empty()) return Status(hr::E_FAIL, "cannot seal the custom headers");
    s.bind_blob(sealed);
  } else {
    s.bind_null();
  }
  std::string environment = environment_text(job.owner_environment);
  s.bind_blob(secrets_.seal(environment, environment_context(j.id)));
  wipe(environment);
  if (j.client_certificate) {
    s.bind(nlohmann::json(*j.client_certificate).dump());
  } else {
    s.bind_null();
  }
  if (s.step() != SQLITE_DONE) return sql_error(path_, "cannot save job", s.error());
  return Status();
}

Status Store::save_progress(const JobRecord& job, std::uint32_t file_index) {
  if (file_index >= job.files.size()) return Status(hr::E_INVALIDARG);
  return transaction([&] { return write_progress(job, file_index); });
}

Status Store::write_progress(const JobRecord& job, std::uint32_t file_index) {
  const FileRecord& file = job.files[file_index];
  Stmt s = prepare(
      "UPDATE files SET bytes_total = ?, bytes_transferred = ?, bytes_from_origin = ?, "
      "bytes_from_peers = ?, downloaded_from_peer = ?, transferred = ?, completed = ?, "
      "etag = ?, last_modified = ?, remote_mtime_ms = ? WHERE job_id = ? AND idx = ?");
  if (!s.prepared()) return sql_error(path_, "cannot save progress", s.error());
  s.bind_u64(file.info.progress.bytes_total).bind_u64(file.info.progress.bytes_transferred);
  s.bind_u64(file.info.bytes_from_origin).bind_u64(file.info.bytes_from_peers);
  s.bind(file.info.downloaded_from_peer);
  s.bind(file.transferred).bind(file.info.progress.completed).bind(file.etag);
  s.bind(file.last_modified).bind(file.remote_mtime_ms).bind(to_string(job.info.id));
  s.bind(file_index);
  if (s.step() != SQLITE_DONE) return sql_error(path_, "cannot save progress", s.error());
  Stmt t = prepare(
      "UPDATE jobs SET last_activity_ms = ?, modification_time = ?, "
      "download_time_ms = ? WHERE id = ?");
  if (!t.prepared()) return sql_error(path_, "cannot save progress", t.error());
  t.bind(job.last_activity_ms).bind(job.info.times.modification_time);
  t.bind(job.download_time_ms).bind(to_string(job.info.id));
  if (t.step() != SQLITE_DONE) return sql_error(path_, "cannot save progress", t.error());
  return Status();
}

Status Store::delete_job(const Guid& id) {
  Stmt s = prepare("DELETE FROM jobs WHERE id = ?");
  if (!s.prepared()) return sql_error(path_, "cannot delete job", s.error());
  s.bind(to_string(id));
  if (s.step() != SQLITE_DONE) return sql_error(path_, "cannot delete job", s.error());
  return Status();
}

}  // namespace openbits::daemon
