#pragma once

// SQLite connection and prepared-statement wrappers used by SqliteStorage's parts. Not a public
// interface. A Connection is used by one thread at a time (the writer under the storage's
// writer mutex, readers checked out of its pool).

#include <sqlite3.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>

#include "base/secret_bytes.h"
#include "base/status.h"

namespace sirr::storage {

// The Status for the connection's last error: busy, a full disk or an I/O error are
// Unavailable (nothing changed; a retry may work), a constraint is AlreadyExists, the rest
// Internal.
Status SqlError(sqlite3* db, std::string_view what);

// A prepared statement borrowed from a Connection's cache; reset and unbound on destruction.
class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}
  ~Stmt() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& Bind(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  // An enum column is bound as its integer value, never spelled as a literal in SQL.
  template <typename E>
  requires std::is_enum_v<E> Stmt& Bind(int i, E v) { return Bind(i, static_cast<int64_t>(v)); }
  Stmt& Bind(int i, const std::optional<int64_t>& v) {
    if (v)
      sqlite3_bind_int64(s_, i, *v);
    else
      sqlite3_bind_null(s_, i);
    return *this;
  }
  Stmt& BindBlob(int i, const Bytes& v) {
    if (v.empty()) {  // an empty blob, not NULL
      sqlite3_bind_zeroblob(s_, i, 0);
      return *this;
    }
    sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }

  // true: a row is available; false: done.
  StatusOr<bool> Step() {
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return SqlError(db_, "step");
  }
  Status Run() {
    auto r = Step();
    return r.ok() ? OkStatus() : r.status();
  }

  int64_t Int(int c) const { return sqlite3_column_int64(s_, c); }
  std::optional<int64_t> OptInt(int c) const {
    if (sqlite3_column_type(s_, c) == SQLITE_NULL) return std::nullopt;
    return sqlite3_column_int64(s_, c);
  }
  std::string Text(int c) const {
    const unsigned char* t = sqlite3_column_text(s_, c);
    return t ? std::string(reinterpret_cast<const char*>(t), sqlite3_column_bytes(s_, c))
             : std::string();
  }
  Bytes Blob(int c) const {
    const auto* b = static_cast<const uint8_t*>(sqlite3_column_blob(s_, c));
    int n = sqlite3_column_bytes(s_, c);
    return b ? Bytes(b, b + n) : Bytes();
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_;
};

class Connection {
 public:
  static StatusOr<std::unique_ptr<Connection>> Open(const std::string& path) {
    sqlite3* db = nullptr;
    int rc =
        sqlite3_open_v2(path.c_str(), &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    std::unique_ptr<Connection> c(new Connection(db));
    if (rc != SQLITE_OK)
      return InternalError("cannot open database " + path + ": " + sqlite3_errstr(rc));
    sqlite3_busy_timeout(db, 5000);
    SIRR_RETURN_IF_ERROR(
        c->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
                "PRAGMA secure_delete=ON;"));
    return c;
  }
  ~Connection() {
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }

  Status Exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "unknown error";
      sqlite3_free(err);
      const int code = sqlite3_extended_errcode(db_) & 0xff;
      if (code == SQLITE_FULL || code == SQLITE_IOERR || code == SQLITE_BUSY)
        return UnavailableError("storage: " + msg);
      return InternalError("storage: " + msg);
    }
    return OkStatus();
  }

  // `sql` must be a string literal: its address keys the statement cache.
  StatusOr<std::unique_ptr<Stmt>> Prepare(const char* sql) {
    auto it = cache_.find(sql);
    if (it == cache_.end()) {
      sqlite3_stmt* s = nullptr;
      if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK)
        return SqlError(db_, "prepare");
      it = cache_.emplace(sql, s).first;
    }
    return std::make_unique<Stmt>(db_, it->second);
  }

  sqlite3* db() { return db_; }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::unordered_map<const char*, sqlite3_stmt*> cache_;
};

}  // namespace sirr::storage
