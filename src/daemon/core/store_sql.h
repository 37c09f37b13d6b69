// The SQLite helpers the store's files share (store.cc, store_rows.cc, store_schema.cc):
// a prepared statement and the error Status of a failed statement. Internal to the store.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>

#include "openbits/status.h"

namespace openbits::daemon::store_detail {

// A prepared statement with positional binds: its own (finalised on destruction), or one
// the Store keeps prepared (Store::prepare), reset and unbound on destruction for its
// next use.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  // Borrows `kept`, prepared by the caller, which keeps it.
  Stmt(sqlite3* db, sqlite3_stmt* kept) : db_(db), stmt_(kept), rc_(SQLITE_OK), owned_(false) {}
  ~Stmt() {
    if (owned_) {
      sqlite3_finalize(stmt_);
    } else {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    }
  }
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
  bool owned_ = true;
};

// BG_E_DATABASE_CORRUPT naming the store's file, what failed and SQLite's message.
inline Status sql_error(const std::string& path, const char* what, const char* detail) {
  return Status(hr::BG_E_DATABASE_CORRUPT,
                "job store " + path + ": " + what + ": " + (detail ? detail : "unknown error"));
}

}  // namespace openbits::daemon::store_detail
