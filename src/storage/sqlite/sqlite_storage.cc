#include "storage/sqlite/sqlite_storage.h"

#include <sqlite3.h>

#include <unordered_map>

namespace sirr::storage {
namespace {

// Numbered migrations: entry i brings the schema from version i to i + 1.
const std::vector<const char*>& Migrations() {
  static const std::vector<const char*> kMigrations = {
      // 1: keyring, vaults, secrets, audit head.
      R"SQL(
CREATE TABLE keyring (
  version    INTEGER PRIMARY KEY,
  key_id     BLOB NOT NULL UNIQUE,
  state      TEXT NOT NULL CHECK (state IN ('active', 'retiring', 'retired')),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  key_check  BLOB NOT NULL
);
CREATE TABLE vaults (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL,
  wrapped_key BLOB NOT NULL
);
CREATE TABLE secrets (
  id              TEXT PRIMARY KEY,
  vault_id        TEXT NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
  name            TEXT NOT NULL,
  type            TEXT NOT NULL DEFAULT '',
  description     TEXT NOT NULL DEFAULT '',
  created_at      INTEGER NOT NULL,
  expires_at      INTEGER,
  max_reads       INTEGER,
  reads_remaining INTEGER,
  state           INTEGER NOT NULL DEFAULT 0,
  gone_at         INTEGER,
  value           BLOB,
  UNIQUE (vault_id, name)
);
CREATE INDEX secrets_live_expiry ON secrets(expires_at) WHERE state = 0 AND expires_at IS NOT NULL;
CREATE INDEX secrets_gone ON secrets(gone_at) WHERE state != 0;
CREATE TABLE audit_head (
  id  INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL,
  mac BLOB NOT NULL
);
)SQL",
  };
  return kMigrations;
}

Status SqlError(sqlite3* db, std::string_view what) {
  int code = sqlite3_extended_errcode(db);
  std::string msg = "storage: " + std::string(what) + ": " + sqlite3_errmsg(db);
  if ((code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED) return UnavailableError(msg);
  if ((code & 0xff) == SQLITE_CONSTRAINT) return AlreadyExistsError(msg);
  return InternalError(msg);
}

}  // namespace

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
  Stmt& Bind(int i, const std::optional<int64_t>& v) {
    if (v)
      sqlite3_bind_int64(s_, i, *v);
    else
      sqlite3_bind_null(s_, i);
    return *this;
  }
  Stmt& BindBlob(int i, const Bytes& v) {
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

namespace {

SecretRow ReadSecretColumns(const Stmt& s) {
  SecretRow r;
  r.id = s.Text(0);
  r.vault_id = s.Text(1);
  r.name = s.Text(2);
  r.type = s.Text(3);
  r.description = s.Text(4);
  r.created_at = s.Int(5);
  r.expires_at = s.OptInt(6);
  r.max_reads = s.OptInt(7);
  r.reads_remaining = s.OptInt(8);
  r.state = static_cast<SecretState>(s.Int(9));
  r.gone_at = s.OptInt(10);
  return r;
}

#define SECRET_COLS                                                                             \
  "id, vault_id, name, type, description, created_at, expires_at, max_reads, reads_remaining, " \
  "state, gone_at"

// The row of a secret by id, else by name (an id match wins).
constexpr const char* kFindSecret =
    "SELECT " SECRET_COLS
    ", value FROM secrets WHERE vault_id = ?1 AND (id = ?2 OR name = ?2) "
    "ORDER BY (id = ?2) DESC LIMIT 1";

StatusOr<std::optional<SecretRow>> FindSecret(Connection& c, std::string_view vault_id,
                                              std::string_view id_or_name, bool with_value) {
  SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare(kFindSecret));
  s->Bind(1, vault_id).Bind(2, id_or_name);
  SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
  if (!row) return std::optional<SecretRow>();
  SecretRow r = ReadSecretColumns(*s);
  if (with_value) r.value = s->Blob(11);
  return std::optional<SecretRow>(std::move(r));
}

Status Migrate(Connection& c) {
  SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("PRAGMA user_version"));
  SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
  int version = row ? static_cast<int>(s->Int(0)) : 0;
  s.reset();
  const auto& migrations = Migrations();
  if (version > static_cast<int>(migrations.size()))
    return FailedPreconditionError("database schema version " + std::to_string(version) +
                                   " is newer than this sirrd supports (" +
                                   std::to_string(migrations.size()) + ")");
  for (int v = version; v < static_cast<int>(migrations.size()); ++v) {
    SIRR_RETURN_IF_ERROR(c.Exec("BEGIN IMMEDIATE"));
    Status st = c.Exec(migrations[v]);
    if (st.ok()) st = c.Exec(("PRAGMA user_version = " + std::to_string(v + 1)).c_str());
    if (!st.ok()) {
      (void)c.Exec("ROLLBACK");
      return st.Annotate("migration " + std::to_string(v + 1));
    }
    SIRR_RETURN_IF_ERROR(c.Exec("COMMIT"));
  }
  return OkStatus();
}

}  // namespace

SqliteStorage::SqliteStorage(std::string path) : path_(std::move(path)) {}

int SqliteStorage::SchemaVersion() { return static_cast<int>(Migrations().size()); }

StatusOr<std::unique_ptr<SqliteStorage>> SqliteStorage::Open(const std::string& path) {
  std::unique_ptr<SqliteStorage> s(new SqliteStorage(path));
  SIRR_ASSIGN_OR_RETURN(s->writer_, Connection::Open(path));
  SIRR_RETURN_IF_ERROR(Migrate(*s->writer_));
  return s;
}

SqliteStorage::~SqliteStorage() {
  std::scoped_lock lock(writer_mu_, readers_mu_);
  idle_readers_.clear();
  if (writer_) (void)writer_->Exec("PRAGMA wal_checkpoint(TRUNCATE)");
  writer_.reset();
}

template <typename Fn>
Status SqliteStorage::WithWriteTx(Fn&& fn) {
  std::lock_guard lock(writer_mu_);
  SIRR_RETURN_IF_ERROR(writer_->Exec("BEGIN IMMEDIATE"));
  Status st = fn(*writer_);
  if (!st.ok()) {
    (void)writer_->Exec("ROLLBACK");
    return st;
  }
  st = writer_->Exec("COMMIT");
  if (!st.ok()) (void)writer_->Exec("ROLLBACK");
  return st;
}

template <typename Fn>
auto SqliteStorage::WithReader(Fn&& fn) -> decltype(fn(std::declval<Connection&>())) {
  std::unique_ptr<Connection> c;
  {
    std::lock_guard lock(readers_mu_);
    if (!idle_readers_.empty()) {
      c = std::move(idle_readers_.back());
      idle_readers_.pop_back();
    }
  }
  if (!c) {
    auto opened = Connection::Open(path_);
    if (!opened.ok()) return opened.status();
    c = std::move(opened).value();
  }
  auto result = fn(*c);
  std::lock_guard lock(readers_mu_);
  idle_readers_.push_back(std::move(c));
  return result;
}

StatusOr<std::vector<KeyringRow>> SqliteStorage::ListKeyring() {
  return WithReader([](Connection& c) -> StatusOr<std::vector<KeyringRow>> {
    SIRR_ASSIGN_OR_RETURN(auto s,
                          c.Prepare("SELECT version, key_id, state, created_at, updated_at, "
                                    "key_check FROM keyring ORDER BY version"));
    std::vector<KeyringRow> rows;
    while (true) {
      SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      rows.push_back(
          {static_cast<int>(s->Int(0)), s->Blob(1), s->Text(2), s->Int(3), s->Int(4), s->Blob(5)});
    }
    return rows;
  });
}

StatusOr<int64_t> SqliteStorage::CountVaults() {
  return WithReader([](Connection& c) -> StatusOr<int64_t> {
    SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("SELECT count(*) FROM vaults"));
    SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
    return row ? s->Int(0) : 0;
  });
}

Status SqliteStorage::InitializeInstance(const KeyringRow& key, const VaultRow& vault) {
  return WithWriteTx([&](Connection& c) -> Status {
    {
      SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("SELECT count(*) FROM keyring"));
      SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
      if (row && s->Int(0) > 0)
        return FailedPreconditionError("the database already has a keyring");
    }
    {
      SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("INSERT INTO keyring (version, key_id, state, "
                                              "created_at, updated_at, key_check) VALUES (?, ?, "
                                              "?, ?, ?, ?)"));
      s->Bind(1, int64_t{key.version}).BindBlob(2, key.key_id).Bind(3, key.state);
      s->Bind(4, key.created_at).Bind(5, key.updated_at).BindBlob(6, key.key_check);
      SIRR_RETURN_IF_ERROR(s->Run());
    }
    SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("INSERT INTO vaults (id, name, description, "
                                            "created_at, wrapped_key) VALUES (?, ?, ?, ?, ?)"));
    s->Bind(1, vault.id).Bind(2, vault.name).Bind(3, vault.description);
    s->Bind(4, vault.created_at).BindBlob(5, vault.wrapped_key);
    return s->Run();
  });
}

StatusOr<VaultRow> SqliteStorage::GetVault(std::string_view id_or_name) {
  return WithReader([&](Connection& c) -> StatusOr<VaultRow> {
    SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("SELECT id, name, description, created_at, "
                                            "wrapped_key FROM vaults WHERE id = ?1 OR name = ?1 "
                                            "ORDER BY (id = ?1) DESC LIMIT 1"));
    s->Bind(1, id_or_name);
    SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
    if (!row) return NotFoundError("vault not found");
    return VaultRow{s->Text(0), s->Text(1), s->Text(2), s->Int(3), s->Blob(4)};
  });
}

Status SqliteStorage::PutSecret(const SecretRow& row, bool overwrite, int64_t now) {
  return WithWriteTx([&](Connection& c) -> Status {
    {
      SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("SELECT state, expires_at FROM secrets WHERE "
                                              "vault_id = ? AND name = ?"));
      s->Bind(1, row.vault_id).Bind(2, row.name);
      SIRR_ASSIGN_OR_RETURN(bool found, s->Step());
      if (found) {
        bool live = s->Int(0) == static_cast<int>(SecretState::kLive) &&
                    (!s->OptInt(1) || *s->OptInt(1) > now);
        if (live && !overwrite)
          return AlreadyExistsError("a secret named '" + row.name + "' already exists");
      }
    }
    {
      SIRR_ASSIGN_OR_RETURN(auto s,
                            c.Prepare("DELETE FROM secrets WHERE vault_id = ? AND name = ?"));
      s->Bind(1, row.vault_id).Bind(2, row.name);
      SIRR_RETURN_IF_ERROR(s->Run());
    }
    SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("INSERT INTO secrets (" SECRET_COLS ", value) "
                                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, NULL, ?)"));
    s->Bind(1, row.id).Bind(2, row.vault_id).Bind(3, row.name).Bind(4, row.type);
    s->Bind(5, row.description).Bind(6, row.created_at).Bind(7, row.expires_at);
    s->Bind(8, row.max_reads).Bind(9, row.reads_remaining).BindBlob(10, row.value);
    return s->Run();
  });
}

StatusOr<SecretRow> SqliteStorage::GetSecretMeta(std::string_view vault_id,
                                                 std::string_view id_or_name) {
  return WithReader([&](Connection& c) -> StatusOr<SecretRow> {
    SIRR_ASSIGN_OR_RETURN(auto found, FindSecret(c, vault_id, id_or_name, false));
    if (!found) return NotFoundError("secret not found");
    return std::move(*found);
  });
}

StatusOr<SecretRow> SqliteStorage::ReadSecret(std::string_view vault_id,
                                              std::string_view id_or_name, int64_t now) {
  // Fast path: a live, unexpired secret without a read limit needs no write.
  auto fast = WithReader([&](Connection& c) -> StatusOr<std::optional<SecretRow>> {
    return FindSecret(c, vault_id, id_or_name, true);
  });
  if (!fast.ok()) return fast.status();
  if (!*fast) return NotFoundError("secret not found");
  {
    SecretRow& r = **fast;
    bool expired = r.expires_at && *r.expires_at <= now;
    if (r.state != SecretState::kLive || (!expired && !r.reads_remaining)) {
      r.value = r.state == SecretState::kLive ? std::move(r.value) : Bytes();
      return std::move(r);
    }
  }
  // Slow path: expiry or read accounting, in one write transaction.
  SecretRow out;
  Status st = WithWriteTx([&](Connection& c) -> Status {
    SIRR_ASSIGN_OR_RETURN(auto found, FindSecret(c, vault_id, id_or_name, true));
    if (!found) return NotFoundError("secret not found");
    out = std::move(*found);
    if (out.state != SecretState::kLive) {
      out.value.clear();
      return OkStatus();
    }
    if (out.expires_at && *out.expires_at <= now) {
      SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("UPDATE secrets SET state = 2, value = NULL, "
                                              "gone_at = ? WHERE id = ?"));
      s->Bind(1, now).Bind(2, out.id);
      SIRR_RETURN_IF_ERROR(s->Run());
      out.state = SecretState::kExpired;
      out.gone_at = now;
      out.value.clear();
      return OkStatus();
    }
    if (!out.reads_remaining) return OkStatus();
    if (*out.reads_remaining <= 1) {
      SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("UPDATE secrets SET state = 1, value = NULL, "
                                              "reads_remaining = 0, gone_at = ? WHERE id = ?"));
      s->Bind(1, now).Bind(2, out.id);
      SIRR_RETURN_IF_ERROR(s->Run());
      out.reads_remaining = 0;
      out.gone_at = now;
      // `out` keeps the value: this read is the one that burns it. state stays kLive in the
      // returned row so the caller serves it; the stored row is already kBurned.
      return OkStatus();
    }
    SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("UPDATE secrets SET reads_remaining = "
                                            "reads_remaining - 1 WHERE id = ?"));
    s->Bind(1, out.id);
    SIRR_RETURN_IF_ERROR(s->Run());
    out.reads_remaining = *out.reads_remaining - 1;
    return OkStatus();
  });
  if (!st.ok()) return st;
  return out;
}

StatusOr<SecretPage> SqliteStorage::ListSecrets(std::string_view vault_id,
                                                const SecretFilter& filter, int64_t now) {
  return WithReader([&](Connection& c) -> StatusOr<SecretPage> {
    SecretPage page;
    // Prefix match on a half-open range so that LIKE wildcards in the prefix are not special.
    std::string hi = filter.prefix + "\xff";
    {
      SIRR_ASSIGN_OR_RETURN(
          auto s, c.Prepare("SELECT count(*) FROM secrets WHERE vault_id = ?1 AND state = 0 AND "
                            "(expires_at IS NULL OR expires_at > ?2) AND (?3 = '' OR type = ?3) "
                            "AND name >= ?4 AND name < ?5"));
      s->Bind(1, vault_id).Bind(2, now).Bind(3, filter.type).Bind(4, filter.prefix).Bind(5, hi);
      SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
      page.total = row ? s->Int(0) : 0;
    }
    SIRR_ASSIGN_OR_RETURN(
        auto s, c.Prepare("SELECT " SECRET_COLS " FROM secrets WHERE vault_id = ?1 AND state = 0 "
                          "AND (expires_at IS NULL OR expires_at > ?2) AND (?3 = '' OR type = ?3) "
                          "AND name >= ?4 AND name < ?5 ORDER BY name LIMIT ?6 OFFSET ?7"));
    s->Bind(1, vault_id).Bind(2, now).Bind(3, filter.type).Bind(4, filter.prefix).Bind(5, hi);
    s->Bind(6, filter.limit).Bind(7, filter.offset);
    while (true) {
      SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      page.rows.push_back(ReadSecretColumns(*s));
    }
    return page;
  });
}

StatusOr<SecretRow> SqliteStorage::DeleteSecret(std::string_view vault_id,
                                                std::string_view id_or_name) {
  SecretRow out;
  Status st = WithWriteTx([&](Connection& c) -> Status {
    SIRR_ASSIGN_OR_RETURN(auto found, FindSecret(c, vault_id, id_or_name, false));
    if (!found) return NotFoundError("secret not found");
    out = std::move(*found);
    SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("DELETE FROM secrets WHERE id = ?"));
    s->Bind(1, out.id);
    return s->Run();
  });
  if (!st.ok()) return st;
  return out;
}

StatusOr<std::vector<SecretRow>> SqliteStorage::ExpireDue(int64_t now, int limit) {
  std::vector<SecretRow> out;
  Status st = WithWriteTx([&](Connection& c) -> Status {
    {
      SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("SELECT " SECRET_COLS " FROM secrets WHERE state = "
                                              "0 AND expires_at IS NOT NULL AND expires_at <= ? "
                                              "ORDER BY expires_at LIMIT ?"));
      s->Bind(1, now).Bind(2, int64_t{limit});
      while (true) {
        SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
        if (!row) break;
        out.push_back(ReadSecretColumns(*s));
      }
    }
    for (auto& r : out) {
      SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("UPDATE secrets SET state = 2, value = NULL, "
                                              "gone_at = ? WHERE id = ?"));
      s->Bind(1, now).Bind(2, r.id);
      SIRR_RETURN_IF_ERROR(s->Run());
      r.state = SecretState::kExpired;
      r.gone_at = now;
    }
    return OkStatus();
  });
  if (!st.ok()) return st;
  return out;
}

StatusOr<int64_t> SqliteStorage::PurgeTombstones(int64_t gone_before) {
  int64_t n = 0;
  Status st = WithWriteTx([&](Connection& c) -> Status {
    SIRR_ASSIGN_OR_RETURN(auto s,
                          c.Prepare("DELETE FROM secrets WHERE state != 0 AND gone_at <= ?"));
    s->Bind(1, gone_before);
    SIRR_RETURN_IF_ERROR(s->Run());
    n = sqlite3_changes64(c.db());
    return OkStatus();
  });
  if (!st.ok()) return st;
  return n;
}

Status SqliteStorage::SaveAuditHead(int64_t seq, const Bytes& mac) {
  return WithWriteTx([&](Connection& c) -> Status {
    SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("INSERT INTO audit_head (id, seq, mac) VALUES (1, ?, "
                                            "?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, "
                                            "mac = excluded.mac"));
    s->Bind(1, seq).BindBlob(2, mac);
    return s->Run();
  });
}

StatusOr<std::optional<std::pair<int64_t, Bytes>>> SqliteStorage::LoadAuditHead() {
  return WithReader([](Connection& c) -> StatusOr<std::optional<std::pair<int64_t, Bytes>>> {
    SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("SELECT seq, mac FROM audit_head WHERE id = 1"));
    SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
    if (!row) return std::optional<std::pair<int64_t, Bytes>>();
    return std::optional<std::pair<int64_t, Bytes>>(std::make_pair(s->Int(0), s->Blob(1)));
  });
}

}  // namespace sirr::storage
