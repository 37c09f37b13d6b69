// SQLite store; see store.h and docs/schema.md.
#include "src/daemon/core/store.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "openbits/names.h"
#include "src/protocol/codec.h"

namespace openbits::daemon {
namespace {

// A prepared statement with positional binds; finalised on destruction.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  bool prepared() const { return rc_ == SQLITE_OK; }
  Stmt& bind(std::int64_t v) {
    sqlite3_bind_int64(stmt_, next_++, v);
    return *this;
  }
  Stmt& bind_u64(std::uint64_t v) { return bind(static_cast<std::int64_t>(v)); }
  Stmt& bind(const std::string& v) {
    sqlite3_bind_text(stmt_, next_++, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(const std::optional<std::string>& v) {
    if (v) return bind(*v);
    sqlite3_bind_null(stmt_, next_++);
    return *this;
  }
  Stmt& bind_blob(const std::string& v) {
    sqlite3_bind_blob(stmt_, next_++, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind_null() {
    sqlite3_bind_null(stmt_, next_++);
    return *this;
  }
  int step() { return sqlite3_step(stmt_); }
  std::int64_t i64(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::uint64_t u64(int col) const { return static_cast<std::uint64_t>(i64(col)); }
  std::uint32_t u32(int col) const { return static_cast<std::uint32_t>(i64(col)); }
  int i32(int col) const { return sqlite3_column_int(stmt_, col); }
  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  bool is_blob(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_BLOB; }
  std::string text(int col) const {
    const auto* p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p)) : std::string();
  }
  std::string blob(int col) const {
    const void* p = sqlite3_column_blob(stmt_, col);
    auto n = static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col));
    return p ? std::string(static_cast<const char*>(p), n) : std::string();
  }
  std::optional<std::string> opt_text(int col) const {
    if (is_null(col)) return std::nullopt;
    return text(col);
  }
  const char* error() const { return sqlite3_errmsg(db_); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
  int next_ = 1;
};

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

constexpr const char* kJobColumns =
    "id, type, state, priority, display_name, description, owner_uid, owner_gid, "
    "owner_elevated, owner_integrity_level, creation_time, modification_time, "
    "transfer_completion_time, error_count, notify_flags, notify_cmd_program, "
    "notify_cmd_parameters, minimum_retry_delay, no_progress_timeout, maximum_download_time, "
    "proxy_usage, proxy_list, bypass_list, file_acl_flags, peer_caching_flags, security_flags, "
    "custom_headers, custom_headers_write_only, http_method, dynamic_content, high_performance, "
    "max_download_size, minimum_notification_interval_ms, error_code, error_context, "
    "error_file, ever_resumed, download_time_ms, last_activity_ms, notify_cmd_uid, notify_cmd_gid, "
    "upload_state, owner_umask, custom_headers_sealed, owner_environment, client_certificate";

constexpr const char* kFileColumns =
    "job_id, idx, remote_name, local_name, temporary_name, bytes_total, bytes_transferred, "
    "completed, transferred, ranges, validation_state, validation_known, downloaded_from_peer, "
    "bytes_from_origin, bytes_from_peers, etag, last_modified, remote_mtime_ms";

// INSERT ... ON CONFLICT(id) DO UPDATE of every column of kJobColumns.
std::string job_upsert_sql() {
  std::string columns = kJobColumns;
  std::string values;
  std::string updates;
  std::size_t start = 0;
  while (start < columns.size()) {
    std::size_t end = columns.find(',', start);
    if (end == std::string::npos) end = columns.size();
    std::string name = columns.substr(start, end - start);
    name.erase(0, name.find_first_not_of(' '));
    values += values.empty() ? "?" : ",?";
    if (name != "id") updates += (updates.empty() ? "" : ", ") + name + " = excluded." + name;
    start = end + 1;
  }
  return "INSERT INTO jobs (" + columns + ") VALUES (" + values +
         ") ON CONFLICT(id) DO UPDATE SET " + updates;
}

Status sql_error(const std::string& path, const char* what, const char* detail) {
  return Status(hr::BG_E_DATABASE_CORRUPT,
                "job store " + path + ": " + what + ": " + (detail ? detail : "unknown error"));
}

void fill_owner_text(JobInfo& info) { info.owner = "S-1-22-1-" + std::to_string(info.owner_uid); }

std::string upload_state_text(const JobRecord& job) {
  const JobRecord::Upload& u = job.upload;
  nlohmann::json j = {{"session_id", u.session_id},
                      {"host_id", u.host_id},
                      {"host_id_fallback_s", u.host_id_fallback_s},
                      {"local_validators", u.local_validators},
                      {"sent", u.sent},
                      {"reply_url", u.reply_url},
                      {"reply_temp_name", u.reply_temp_name},
                      {"reply_done", u.reply_done},
                      {"closed", u.closed},
                      {"reply_file_name", job.info.reply_file_name},
                      {"reply_bytes_total", job.info.reply_bytes_total},
                      {"reply_bytes_transferred", job.info.reply_bytes_transferred}};
  return j.dump();
}

void read_upload_state(const std::string& text, JobRecord& job) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return;
  JobRecord::Upload& u = job.upload;
  u.session_id = j.value("session_id", std::string());
  u.host_id = j.value("host_id", std::string());
  u.host_id_fallback_s = j.value("host_id_fallback_s", kNeverFallBack);
  u.local_validators = j.value("local_validators", std::string());
  u.sent = j.value("sent", false);
  u.reply_url = j.value("reply_url", std::string());
  u.reply_temp_name = j.value("reply_temp_name", std::string());
  u.reply_done = j.value("reply_done", false);
  u.closed = j.value("closed", false);
  job.info.reply_file_name = j.value("reply_file_name", std::string());
  job.info.reply_bytes_total = j.value("reply_bytes_total", kSizeUnknown);
  job.info.reply_bytes_transferred = j.value("reply_bytes_transferred", std::uint64_t{0});
}

// The context a sealed value is bound to: its job and slot.
std::string headers_context(const Guid& id) { return "custom_headers:" + to_string(id); }
std::string environment_context(const Guid& id) { return "environment:" + to_string(id); }
std::string credential_context(const Guid& id, int target, int scheme) {
  return "credentials:" + to_string(id) + ":" + std::to_string(target) + ":" +
         std::to_string(scheme);
}

std::string environment_text(const std::map<std::string, std::string>& env) {
  return nlohmann::json(env).dump();
}

std::map<std::string, std::string> read_environment(const std::string& text) {
  std::map<std::string, std::string> env;
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return env;
  for (const auto& [name, value] : j.items()) {
    if (value.is_string()) env[name] = value.get<std::string>();
  }
  return env;
}

std::optional<ClientCertificate> read_certificate(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  try {
    return j.get<ClientCertificate>();
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

JobRecord read_job(const Stmt& s) {
  JobRecord job;
  JobInfo& j = job.info;
  j.id = parse_guid(s.text(0)).value_or(Guid{});
  j.type = static_cast<JobType>(s.i32(1));
  j.state = static_cast<JobState>(s.i32(2));
  j.priority = static_cast<JobPriority>(s.i32(3));
  j.display_name = s.text(4);
  j.description = s.text(5);
  j.owner_uid = s.u32(6);
  job.owner_gid = static_cast<gid_t>(s.i64(7));
  j.owner_elevated = s.i64(8) != 0;
  j.owner_integrity_level = s.u32(9);
  j.times = {s.i64(10), s.i64(11), s.i64(12)};
  j.error_count = s.u32(13);
  j.notify_flags = s.u32(14);
  j.notify_cmd_program = s.opt_text(15);
  j.notify_cmd_parameters = s.opt_text(16);
  j.minimum_retry_delay = s.u32(17);
  j.no_progress_timeout = s.u32(18);
  j.maximum_download_time = s.u32(19);
  j.proxy = {static_cast<ProxyUsage>(s.i32(20)), s.opt_text(21), s.opt_text(22)};
  j.file_acl_flags = s.u32(23);
  j.peer_caching_flags = s.u32(24);
  j.security_flags = s.u32(25);
  j.custom_headers = s.opt_text(26);
  j.custom_headers_write_only = s.i64(27) != 0;
  j.http_method = s.text(28);
  j.dynamic_content = s.i64(29) != 0;
  j.high_performance = s.i64(30) != 0;
  j.max_download_size = s.u64(31);
  j.minimum_notification_interval_ms = s.u32(32);
  if (!s.is_null(33)) {
    ErrorInfo error;
    error.code = static_cast<HRESULT>(s.i64(33));
    error.context = static_cast<ErrorContext>(s.i32(34));
    if (!s.is_null(35)) error.file_index = s.u32(35);
    j.error = error;
  }
  job.ever_resumed = s.i64(36) != 0;
  job.download_time_ms = s.i64(37);
  job.last_activity_ms = s.i64(38);
  if (!s.is_null(39)) job.notify_cmd_uid = static_cast<uid_t>(s.i64(39));
  job.notify_cmd_gid = static_cast<gid_t>(s.i64(40));
  read_upload_state(s.text(41), job);
  job.owner_umask = static_cast<mode_t>(s.i64(42) & 0777);
  // 43: custom_headers_sealed, 44: owner_environment: opened by the caller (needs the key).
  j.client_certificate = read_certificate(s.opt_text(45));
  fill_owner_text(j);
  return job;
}

FileRecord read_file(const Stmt& s) {
  FileRecord file;
  FileInfo& f = file.info;
  f.index = s.u32(1);
  f.remote_name = s.text(2);
  f.local_name = s.text(3);
  f.temporary_name = s.text(4);
  f.progress = {s.u64(5), s.u64(6), s.i64(7) != 0};
  file.transferred = s.i64(8) != 0;
  auto ranges = nlohmann::json::parse(s.text(9), nullptr, false);
  if (ranges.is_array()) {
    for (const auto& r : ranges) {
      f.ranges.push_back(
          {r.value("initial_offset", std::uint64_t{0}), r.value("length", std::uint64_t{0})});
    }
  }
  f.validation_state = s.i64(10) != 0;
  f.validation_known = s.i64(11) != 0;
  f.downloaded_from_peer = s.i64(12) != 0;
  f.bytes_from_origin = s.u64(13);
  f.bytes_from_peers = s.u64(14);
  file.etag = s.text(15);
  file.last_modified = s.text(16);
  file.remote_mtime_ms = s.i64(17);
  return file;
}

}  // namespace

Store::Store(sqlite3* db, std::string path, SecretBox secrets)
    : db_(db), path_(std::move(path)), secrets_(std::move(secrets)) {}

Store::~Store() { sqlite3_close_v2(db_); }

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
  if (Status s = store->exec("PRAGMA synchronous = FULL"); !s.ok()) return s;
  if (Status s = store->migrate(); !s.ok()) return s;
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
  if (Status s = exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  Status step;
  if (version < 1) step = exec(kCreateV1);
  if (step.ok() && version < 2) step = exec(kMigrateV2);
  if (step.ok() && version < 3) step = exec(kMigrateV3);
  if (step.ok() && version < 4) step = exec(kMigrateV4);
  if (step.ok() && version < 5) step = exec(kMigrateV5);
  if (step.ok() && version < 5) step = seal_plain_headers();
  if (step.ok()) step = exec("PRAGMA user_version = 5");
  if (!step.ok()) {
    (void)exec("ROLLBACK");
    return step;
  }
  return exec("COMMIT");
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

// The sealed columns of a job row: custom headers (43) and the owner's environment (44,
// which may hold a proxy password; plain '{}' in rows migrated from version 4).
static Status open_sealed_columns(const SecretBox& secrets, const std::string& path,
                                  const Stmt& row, JobRecord& job) {
  if (!row.is_null(43)) {
    auto headers = secrets.open(row.blob(43), headers_context(job.info.id));
    if (!headers.ok()) {
      return sql_error(path, "custom headers", headers.status().message().c_str());
    }
    job.info.custom_headers = std::move(headers).value();
  }
  if (!row.is_blob(44)) {
    job.owner_environment = read_environment(row.text(44));
    return Status();
  }
  auto environment = secrets.open(row.blob(44), environment_context(job.info.id));
  if (!environment.ok()) {
    return sql_error(path, "owner environment", environment.status().message().c_str());
  }
  job.owner_environment = read_environment(*environment);
  wipe(*environment);
  return Status();
}

Status Store::load_credentials(JobRecord& job) {
  Stmt q(db_, "SELECT target, scheme, sealed FROM credentials WHERE job_id = ?");
  if (!q.prepared()) return sql_error(path_, "cannot read credentials", q.error());
  q.bind(to_string(job.info.id));
  while (q.step() == SQLITE_ROW) {
    auto opened = secrets_.open(q.blob(2), credential_context(job.info.id, q.i32(0), q.i32(1)));
    if (!opened.ok()) return sql_error(path_, "credentials", opened.status().message().c_str());
    auto j = nlohmann::json::parse(*opened, nullptr, false);
    wipe(*opened);
    if (!j.is_object()) return sql_error(path_, "credentials", "not a credential record");
    CredentialRecord c;
    c.target = static_cast<AuthTarget>(q.i32(0));
    c.scheme = static_cast<AuthScheme>(q.i32(1));
    if (j.contains("user_name") && j["user_name"].is_string()) c.user_name = j["user_name"];
    if (j.contains("password") && j["password"].is_string()) c.password = j["password"];
    c.ccache = j.value("ccache", std::string());
    job.credentials.push_back(std::move(c));
  }
  return Status();
}

Status Store::save_credentials(const JobRecord& job) {
  if (Status b = exec("BEGIN IMMEDIATE"); !b.ok()) return b;
  Status result = write_credentials(job);
  if (!result.ok()) {
    (void)exec("ROLLBACK");
    return result;
  }
  return exec("COMMIT");
}

Status Store::write_credentials(const JobRecord& job) {
  std::string id = to_string(job.info.id);
  Stmt d(db_, "DELETE FROM credentials WHERE job_id = ?");
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
    Stmt i(db_, "INSERT INTO credentials (job_id, target, scheme, sealed) VALUES (?,?,?,?)");
    if (!i.prepared()) return sql_error(path_, "cannot save credentials", i.error());
    i.bind(id).bind(static_cast<int>(c.target)).bind(static_cast<int>(c.scheme)).bind_blob(sealed);
    if (i.step() != SQLITE_DONE) return sql_error(path_, "cannot save credentials", i.error());
  }
  return Status();
}

Result<std::vector<JobRecord>> Store::load_jobs() {
  std::vector<JobRecord> jobs;
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
  for (JobRecord& job : jobs) {
    if (Status s = load_credentials(job); !s.ok()) return s;
  }
  std::string file_sql =
      std::string("SELECT ") + kFileColumns + " FROM files WHERE job_id = ? ORDER BY idx";
  for (JobRecord& job : jobs) {
    Stmt file_query(db_, file_sql.c_str());
    if (!file_query.prepared()) return sql_error(path_, "cannot read files", file_query.error());
    file_query.bind(to_string(job.info.id));
    while (file_query.step() == SQLITE_ROW) job.files.push_back(read_file(file_query));
  }
  return jobs;
}

Status Store::save_file(const Guid& job_id, const FileRecord& file) {
  const FileInfo& f = file.info;
  std::string sql = std::string("INSERT OR REPLACE INTO files (") + kFileColumns +
                    ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
  Stmt s(db_, sql.c_str());
  if (!s.prepared()) return sql_error(path_, "cannot save file", s.error());
  s.bind(to_string(job_id)).bind(f.index).bind(f.remote_name).bind(f.local_name);
  s.bind(f.temporary_name).bind_u64(f.progress.bytes_total).bind_u64(f.progress.bytes_transferred);
  s.bind(f.progress.completed).bind(file.transferred).bind(nlohmann::json(f.ranges).dump());
  s.bind(f.validation_state).bind(f.validation_known).bind(f.downloaded_from_peer);
  s.bind_u64(f.bytes_from_origin).bind_u64(f.bytes_from_peers).bind(file.etag);
  s.bind(file.last_modified).bind(file.remote_mtime_ms);
  if (s.step() != SQLITE_DONE) return sql_error(path_, "cannot save file", s.error());
  return Status();
}

Status Store::save_job(const JobRecord& job) {
  if (Status b = exec("BEGIN IMMEDIATE"); !b.ok()) return b;
  Status result = write_job_row(job);
  for (std::size_t i = 0; result.ok() && i < job.files.size(); ++i) {
    result = save_file(job.info.id, job.files[i]);
  }
  if (!result.ok()) {
    (void)exec("ROLLBACK");
    return result;
  }
  return exec("COMMIT");
}

Status Store::save_job_row(const JobRecord& job) {
  if (Status b = exec("BEGIN IMMEDIATE"); !b.ok()) return b;
  if (Status result = write_job_row(job); !result.ok()) {
    (void)exec("ROLLBACK");
    return result;
  }
  return exec("COMMIT");
}

Status Store::write_job_row(const JobRecord& job) {
  const JobInfo& j = job.info;
  // An upsert, not INSERT OR REPLACE: a replaced row would cascade-delete its credentials.
  static const std::string sql = job_upsert_sql();
  Stmt s(db_, sql.c_str());
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
  if (Status b = exec("BEGIN IMMEDIATE"); !b.ok()) return b;
  Status result = write_progress(job, file_index);
  if (!result.ok()) {
    (void)exec("ROLLBACK");
    return result;
  }
  return exec("COMMIT");
}

Status Store::write_progress(const JobRecord& job, std::uint32_t file_index) {
  const FileRecord& file = job.files[file_index];
  Stmt s(db_,
         "UPDATE files SET bytes_total = ?, bytes_transferred = ?, transferred = ?, "
         "completed = ?, etag = ?, last_modified = ?, remote_mtime_ms = ? "
         "WHERE job_id = ? AND idx = ?");
  if (!s.prepared()) return sql_error(path_, "cannot save progress", s.error());
  s.bind_u64(file.info.progress.bytes_total).bind_u64(file.info.progress.bytes_transferred);
  s.bind(file.transferred).bind(file.info.progress.completed).bind(file.etag);
  s.bind(file.last_modified).bind(file.remote_mtime_ms).bind(to_string(job.info.id));
  s.bind(file_index);
  if (s.step() != SQLITE_DONE) return sql_error(path_, "cannot save progress", s.error());
  Stmt t(db_,
         "UPDATE jobs SET last_activity_ms = ?, modification_time = ?, "
         "download_time_ms = ? WHERE id = ?");
  if (!t.prepared()) return sql_error(path_, "cannot save progress", t.error());
  t.bind(job.last_activity_ms).bind(job.info.times.modification_time);
  t.bind(job.download_time_ms).bind(to_string(job.info.id));
  if (t.step() != SQLITE_DONE) return sql_error(path_, "cannot save progress", t.error());
  return Status();
}

Status Store::delete_job(const Guid& id) {
  Stmt s(db_, "DELETE FROM jobs WHERE id = ?");
  if (!s.prepared()) return sql_error(path_, "cannot delete job", s.error());
  s.bind(to_string(id));
  if (s.step() != SQLITE_DONE) return sql_error(path_, "cannot delete job", s.error());
  return Status();
}

}  // namespace openbits::daemon
