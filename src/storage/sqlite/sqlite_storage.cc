#include "storage/sqlite/sqlite_storage.h"

#include <sqlite3.h>

#include <filesystem>

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>
#include <type_traits>
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
      // 2: vault owners (names unique per owner), API tokens and their vault grants.
      // Rebuilds `vaults` to replace UNIQUE(name) by UNIQUE(owner, name); runs with foreign
      // keys off (see Migrate) so that dropping the old table does not cascade to secrets.
      R"SQL(
CREATE TABLE vaults_v2 (
  id          TEXT PRIMARY KEY,
  owner       TEXT NOT NULL DEFAULT '',
  name        TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL,
  wrapped_key BLOB NOT NULL,
  UNIQUE (owner, name)
);
INSERT INTO vaults_v2 (id, owner, name, description, created_at, wrapped_key)
  SELECT id, '', name, description, created_at, wrapped_key FROM vaults;
DROP TABLE vaults;
ALTER TABLE vaults_v2 RENAME TO vaults;
CREATE TABLE tokens (
  id           TEXT PRIMARY KEY,
  name         TEXT NOT NULL,
  hash         BLOB NOT NULL UNIQUE,
  capabilities TEXT NOT NULL,
  all_vaults   INTEGER NOT NULL DEFAULT 0,
  created_at   INTEGER NOT NULL,
  created_by   TEXT NOT NULL,
  expires_at   INTEGER,
  max_uses     INTEGER,
  uses         INTEGER NOT NULL DEFAULT 0,
  revoked_at   INTEGER
);
CREATE TABLE token_vaults (
  token_id TEXT NOT NULL REFERENCES tokens(id) ON DELETE CASCADE,
  vault_id TEXT NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
  PRIMARY KEY (token_id, vault_id)
);
CREATE INDEX token_vaults_vault ON token_vaults(vault_id);
)SQL",
      // 3: keys (private material sealed under the vault key).
      R"SQL(
CREATE TABLE keys (
  id          TEXT PRIMARY KEY,
  vault_id    TEXT NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
  name        TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  spec        TEXT NOT NULL,
  type        TEXT NOT NULL,
  usage       TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  public_key  BLOB NOT NULL,
  material    BLOB NOT NULL,
  UNIQUE (vault_id, name)
);
CREATE INDEX keys_vault_created ON keys(vault_id, created_at);
)SQL",
      // 4: HD wallet keys (BIP39): the next BIP44 index to use and the last one used.
      R"SQL(
ALTER TABLE keys ADD COLUMN hd_next_index INTEGER NOT NULL DEFAULT 0;
ALTER TABLE keys ADD COLUMN hd_last_index INTEGER;
)SQL",
      // 5: the audit journal: audit records committed with the change they describe, kept
      // until the audit file holding them is synced (docs/formats.md).
      R"SQL(
CREATE TABLE audit_journal (
  id      INTEGER PRIMARY KEY,
  time_ms INTEGER NOT NULL,
  fields  TEXT NOT NULL
);
)SQL",
  };
  return kMigrations;
}

Status SqlError(sqlite3* db, std::string_view what) {
  int code = sqlite3_extended_errcode(db);
  std::string msg = "storage: " + std::string(what) + ": " + sqlite3_errmsg(db);
  // Busy, a full disk or an I/O error: the transaction is rolled back, nothing changed, and a
  // retry may work: Unavailable (503), never a 500.
  if ((code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED ||
      (code & 0xff) == SQLITE_FULL || (code & 0xff) == SQLITE_IOERR)
    return UnavailableError(msg);
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

// Ids are UUIDs (8-4-4-4-12 hex digits): only such a reference needs the by-id lookup.
bool MaybeId(std::string_view ref) {
  if (ref.size() != 36) return false;
  for (size_t i = 0; i < ref.size(); ++i) {
    const char c = ref[i];
    const bool hyphen = i == 8 || i == 13 || i == 18 || i == 23;
    if (hyphen ? c != '-' : !std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Runs `by_id` (when `ref` may be an id) and then `by_name`, both bound to (vault_id, ref),
// and reads the first row found with `read`: an id match wins over a name match. Two
// point lookups on the primary key and the (vault_id, name) index; no sort.
template <typename Row, typename Read>
StatusOr<std::optional<Row>> FindByIdOrName(Connection& c, const char* by_id, const char* by_name,
                                            std::string_view vault_id, std::string_view ref,
                                            Read&& read) {
  for (const char* sql : {by_id, by_name}) {
    if (sql == by_id && !MaybeId(ref)) continue;
    SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare(sql));
    s->Bind(1, vault_id).Bind(2, ref);
    SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
    if (row) return std::optional<Row>(read(*s));
  }
  return std::optional<Row>();
}

// The row of a secret by id, else by name (an id match wins).
StatusOr<std::optional<SecretRow>> FindSecret(Connection& c, std::string_view vault_id,
                                              std::string_view id_or_name, bool with_value) {
  return FindByIdOrName<SecretRow>(
      c, "SELECT " SECRET_COLS ", value FROM secrets WHERE vault_id = ?1 AND id = ?2",
      "SELECT " SECRET_COLS ", value FROM secrets WHERE vault_id = ?1 AND name = ?2", vault_id,
      id_or_name, [&](const Stmt& s) {
        SecretRow r = ReadSecretColumns(s);
        if (with_value) r.value = s.Blob(11);
        return r;
      });
}

Status Migrate(Connection& c) {
  SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("PRAGMA user_version"));
  SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
  const int64_t stored = row ? s->Int(0) : 0;
  s.reset();
  const auto& migrations = Migrations();
  if (stored < 0)
    return FailedPreconditionError("database schema version " + std::to_string(stored) +
                                   " is not one this sirrd knows (it knows 0 to " +
                                   std::to_string(migrations.size()) +
                                   "); the database was not written by sirrd");
  if (stored > static_cast<int64_t>(migrations.size()))
    return FailedPreconditionError("database schema version " + std::to_string(stored) +
                                   " is newer than this sirrd supports (" +
                                   std::to_string(migrations.size()) + ")");
  const int version = static_cast<int>(stored);
  if (version == static_cast<int>(migrations.size())) return OkStatus();
  // Table rebuilds need foreign keys off (the pragma is a no-op inside a transaction); the
  // result is checked with foreign_key_check before the commit.
  SIRR_RETURN_IF_ERROR(c.Exec("PRAGMA foreign_keys=OFF"));
  for (int v = version; v < static_cast<int>(migrations.size()); ++v) {
    SIRR_RETURN_IF_ERROR(c.Exec("BEGIN IMMEDIATE"));
    Status st = c.Exec(migrations[v]);
    if (st.ok()) st = c.Exec(("PRAGMA user_version = " + std::to_string(v + 1)).c_str());
    if (st.ok()) {
      auto check = c.Prepare("PRAGMA foreign_key_check");
      if (!check.ok()) {
        st = check.status();
      } else {
        auto row = (*check)->Step();
        if (!row.ok())
          st = row.status();
        else if (*row)
          st = DataLossError("foreign key check failed in table " + (*check)->Text(0));
      }
    }
    if (!st.ok()) {
      (void)c.Exec("ROLLBACK");
      (void)c.Exec("PRAGMA foreign_keys=ON");
      return st.Annotate("migration " + std::to_string(v + 1));
    }
    SIRR_RETURN_IF_ERROR(c.Exec("COMMIT"));
  }
  return c.Exec("PRAGMA foreign_keys=ON");
}

}  // namespace

SqliteStorage::SqliteStorage(std::string path) : path_(std::move(path)) {}

int SqliteStorage::SchemaVersion() { return static_cast<int>(Migrations().size()); }

StatusOr<std::unique_ptr<SqliteStorage>> SqliteStorage::Open(const std::string& path) {
  // Before SQLite initialises (later calls are refused and harmless): no global memory
  // statistics (a process-wide mutex on every allocation) and no per-connection mutexes
  // (each connection is used by one thread at a time: the writer under writer_mu_, readers
  // checked out of the pool).
  static std::once_flag configured;
  std::call_once(configured, [] {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
  });
  // A write-ahead log without its database is earlier data whose database was lost: never
  // start a new, empty database beside it.
  {
    std::error_code ec;
    const bool db_empty =
        !std::filesystem::exists(path, ec) || std::filesystem::file_size(path, ec) == 0;
    const std::string wal = path + "-wal";
    if (db_empty && std::filesystem::exists(wal, ec) && std::filesystem::file_size(wal, ec) > 0)
      return FailedPreconditionError("found " + wal + " but " + path +
                                     " is missing or empty: refusing to start a new database "
                                     "over earlier data (restore the database or move the WAL "
                                     "away)");
  }
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

struct SqliteStorage::WriteOp {
  std::function<Status(Connection&)> fn;
  Status result;
  const std::vector<std::string>* only_vaults = nullptr;  // see WithWriteTx
  bool done = false;                                      // guarded by commit_mu_
  std::vector<JournalEntry> journaled;                    // inserted by fn; guarded by writer_mu_
};

template <typename Fn>
Status SqliteStorage::WithWriteTx(Fn&& fn, const std::vector<std::string>* only_vaults,
                                  const Journal* journal) {
  // Audit before commit: while the audit log cannot take records, no audited change starts.
  if (journal && *journal && journal_sink_) SIRR_RETURN_IF_ERROR(journal_sink_->Ready());
  WriteOp op{std::ref(fn), OkStatus(), only_vaults, false, {}};
  std::unique_lock lock(commit_mu_);
  commit_queue_.push_back(&op);
  while (!op.done) {
    if (committing_) {
      commit_cv_.wait(lock);
      continue;
    }
    // Leader: take everything queued (our own write included) and commit it together.
    committing_ = true;
    std::vector<WriteOp*> batch;
    batch.swap(commit_queue_);
    lock.unlock();
    std::vector<JournalEntry> journaled = CommitBatch(batch);
    // The batch's records reach the sink before the next batch commits (commit order) and
    // before any of its writers returns.
    if (journal_sink_ && !journaled.empty()) journal_sink_->Committed(std::move(journaled));
    lock.lock();
    // Writes may have changed cached rows: drop them before any writer returns.
    InvalidateCaches(batch);
    for (WriteOp* w : batch) w->done = true;
    committing_ = false;
    commit_cv_.notify_all();
  }
  return op.result;
}

std::vector<JournalEntry> SqliteStorage::CommitBatch(const std::vector<WriteOp*>& batch) {
  std::lock_guard lock(writer_mu_);
  Connection& c = *writer_;
  auto fail_all = [&](const Status& st) {
    for (WriteOp* w : batch)
      if (w->result.ok()) w->result = st;
  };
  if (Status st = c.Exec("BEGIN IMMEDIATE"); !st.ok()) {
    fail_all(st);
    return {};
  }
  if (batch.size() == 1) {
    current_op_ = batch[0];
    batch[0]->result = batch[0]->fn(c);
    current_op_ = nullptr;
    if (!batch[0]->result.ok()) {
      (void)c.Exec("ROLLBACK");
      return {};
    }
  } else {
    for (size_t i = 0; i < batch.size(); ++i) {
      WriteOp* w = batch[i];
      w->result = c.Exec("SAVEPOINT w");
      current_op_ = w;
      if (w->result.ok()) w->result = w->fn(c);
      current_op_ = nullptr;
      if (!w->result.ok()) w->journaled.clear();  // rolled back with the savepoint below
      if (sqlite3_get_autocommit(c.db())) {
        // SQLite abandoned the whole transaction (I/O error, disk full, …): the writes
        // before this one are gone too.
        Status lost = UnavailableError("storage: transaction aborted; retry");
        for (size_t j = 0; j < i; ++j)
          if (batch[j]->result.ok()) batch[j]->result = lost;
        if (w->result.ok()) w->result = lost;
        for (size_t j = i + 1; j < batch.size(); ++j) batch[j]->result = lost;
        return {};
      }
      if (!w->result.ok()) (void)c.Exec("ROLLBACK TO w");
      (void)c.Exec("RELEASE w");
    }
  }
  if (Status st = c.Exec("COMMIT"); !st.ok()) {
    (void)c.Exec("ROLLBACK");
    fail_all(st);
    return {};
  }
  // Committed: the batch's audit records, in journal order, for the sink.
  std::vector<JournalEntry> entries;
  for (WriteOp* w : batch)
    if (w->result.ok())
      for (JournalEntry& e : w->journaled) entries.push_back(std::move(e));
  return entries;
}

Status SqliteStorage::AddJournal(Connection& c, const Journal& journal, const JournalContext& ctx) {
  if (!journal) return OkStatus();
  std::vector<JournalEntry> entries = journal(ctx);
  for (JournalEntry& e : entries) {
    SIRR_ASSIGN_OR_RETURN(auto s,
                          c.Prepare("INSERT INTO audit_journal (time_ms, fields) VALUES (?, ?)"));
    s->Bind(1, e.time_ms).Bind(2, e.fields);
    SIRR_RETURN_IF_ERROR(s->Run());
    e.id = sqlite3_last_insert_rowid(c.db());
    if (current_op_) current_op_->journaled.push_back(std::move(e));
  }
  return OkStatus();
}

void SqliteStorage::SetJournalSink(JournalSink* sink) {
  std::lock_guard lock(commit_mu_);  // set before serving; no batch in flight
  journal_sink_ = sink;
}

StatusOr<std::vector<JournalEntry>> SqliteStorage::ReadJournal(int64_t after, int limit) {
  return WithReader([&](Connection& c) -> StatusOr<std::vector<JournalEntry>> {
    SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("SELECT id, time_ms, fields FROM audit_journal WHERE "
                                            "id > ? ORDER BY id LIMIT ?"));
    s->Bind(1, after).Bind(2, int64_t{limit});
    std::vector<JournalEntry> out;
    while (true) {
      SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      out.push_back(JournalEntry{s->Int(0), s->Int(1), s->Text(2)});
    }
    return out;
  });
}

void SqliteStorage::InvalidateCaches(const std::vector<WriteOp*>& batch) {
  std::set<std::string_view> vaults;
  for (const WriteOp* w : batch) {
    if (!w->only_vaults) return InvalidateCaches();
    vaults.insert(w->only_vaults->begin(), w->only_vaults->end());
  }
  std::unique_lock lock(cache_mu_);
  std::erase_if(vault_cache_, [&](const auto& entry) { return vaults.count(entry.second.id) > 0; });
  ++generation_;  // rows read while the write ran are not cached
}

void SqliteStorage::InvalidateCaches() {
  std::unique_lock lock(cache_mu_);
  vault_cache_.clear();
  secret_cache_.clear();
  secret_cache_bytes_ = 0;
  key_cache_.clear();
  ++generation_;
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

Status SqliteStorage::AddKeyVersion(const KeyringRow& row, const Journal& journal) {
  return WithWriteTx(
      [&](Connection& c) -> Status {
        {
          SIRR_ASSIGN_OR_RETURN(auto s,
                                c.Prepare("SELECT count(*) FROM keyring WHERE version = ? OR "
                                          "key_id = ?"));
          s->Bind(1, int64_t{row.version}).BindBlob(2, row.key_id);
          SIRR_ASSIGN_OR_RETURN(bool found, s->Step());
          if (found && s->Int(0) > 0)
            return FailedPreconditionError("key version or key id already in the keyring");
        }
        {
          SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("UPDATE keyring SET state = 'retiring', "
                                                  "updated_at = ? WHERE state = 'active'"));
          s->Bind(1, row.created_at);
          SIRR_RETURN_IF_ERROR(s->Run());
        }
        SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("INSERT INTO keyring (version, key_id, state, "
                                                "created_at, updated_at, key_check) VALUES (?, ?, "
                                                "?, ?, ?, ?)"));
        s->Bind(1, int64_t{row.version}).BindBlob(2, row.key_id).Bind(3, row.state);
        s->Bind(4, row.created_at).Bind(5, row.updated_at).BindBlob(6, row.key_check);
        SIRR_RETURN_IF_ERROR(s->Run());
        return AddJournal(c, journal, {});
      },
      nullptr, &journal);
}

Status SqliteStorage::SetKeyState(int version, std::string_view state, int64_t now,
                                  const Journal& journal) {
  return WithWriteTx(
      [&](Connection& c) -> Status {
        SIRR_ASSIGN_OR_RETURN(
            auto s, c.Prepare("UPDATE keyring SET state = ?, updated_at = ? WHERE version = ?"));
        s->Bind(1, state).Bind(2, now).Bind(3, int64_t{version});
        SIRR_RETURN_IF_ERROR(s->Run());
        if (sqlite3_changes64(c.db()) == 0) return NotFoundError("no such key version");
        return AddJournal(c, journal, {});
      },
      nullptr, &journal);
}

StatusOr<int64_t> SqliteStorage::CountVaultKeys(const Bytes& key_id, bool wrapped_by) {
  return WithReader([&](Connection& c) -> StatusOr<int64_t> {
    // Envelope v1: version byte, then the 8-byte key id.
    SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare(wrapped_by ? "SELECT count(*) FROM vaults WHERE "
                                                         "length(wrapped_key) > 9 AND "
                                                         "substr(wrapped_key, 2, 8) = ?"
                                                       : "SELECT count(*) FROM vaults WHERE "
                                                         "length(wrapped_key) > 9 AND "
                                                         "substr(wrapped_key, 2, 8) <> ?"));
    s->BindBlob(1, key_id);
    SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
    return row ? s->Int(0) : 0;
  });
}

StatusOr<std::vector<VaultRow>> SqliteStorage::VaultsNotWrappedBy(const Bytes& key_id,
                                                                  std::string_view after,
                                                                  int limit) {
  return WithReader([&](Connection& c) -> StatusOr<std::vector<VaultRow>> {
    SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("SELECT id, name, wrapped_key FROM vaults WHERE "
                                            "length(wrapped_key) > 9 AND "
                                            "substr(wrapped_key, 2, 8) <> ? AND id > ? "
                                            "ORDER BY id LIMIT ?"));
    s->BindBlob(1, key_id).Bind(2, after).Bind(3, int64_t{limit});
    std::vector<VaultRow> rows;
    while (true) {
      SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      VaultRow v;
      v.id = s->Text(0);
      v.name = s->Text(1);
      v.wrapped_key = s->Blob(2);
      rows.push_back(std::move(v));
    }
    return rows;
  });
}

StatusOr<int64_t> SqliteStorage::RewrapVaultKeys(const std::vector<Rewrap>& rewraps,
                                                 const Journal& journal) {
  int64_t changed = 0;
  // Only the vault rows change (the vault keys inside stay the same): other cached rows stay.
  std::vector<std::string> vault_ids;
  for (const auto& r : rewraps) vault_ids.push_back(r.vault_id);
  Status st = WithWriteTx(
      [&](Connection& c) -> Status {
        changed = 0;
        for (const auto& r : rewraps) {
          SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("UPDATE vaults SET wrapped_key = ? WHERE id = ? "
                                                  "AND wrapped_key = ?"));
          s->BindBlob(1, r.new_wrapped).Bind(2, r.vault_id).BindBlob(3, r.old_wrapped);
          SIRR_RETURN_IF_ERROR(s->Run());
          changed += sqlite3_changes64(c.db());
        }
        return AddJournal(c, journal, {.index = changed});
      },
      &vault_ids, &journal);
  if (!st.ok()) return st;
  return changed;
}

Status SqliteStorage::CheckBackupFile(const std::string& path) {
  sqlite3* db = nullptr;
  std::string check;
  int64_t keyring = 0;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
      check = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    st = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM keyring", -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
      keyring = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  if (check != "ok")
    return InvalidArgumentError(path + " is not an intact SQLite database (integrity check: " +
                                (check.empty() ? "unreadable" : check) + ")");
  if (keyring == 0) return InvalidArgumentError(path + " is not a Sirr backup (no keyring)");
  return OkStatus();
}

Status SqliteStorage::ForgetAuditHead(const std::string& path) {
  sqlite3* db = nullptr;
  bool ok = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK &&
            sqlite3_exec(db, "DELETE FROM audit_head", nullptr, nullptr, nullptr) == SQLITE_OK;
  std::string msg = ok ? "" : sqlite3_errmsg(db);
  ok = sqlite3_close(db) == SQLITE_OK && ok;
  if (!ok) return UnavailableError(path + ": " + (msg.empty() ? "cannot close" : msg));
  return OkStatus();
}

Status SqliteStorage::BackupTo(const std::string& dest) {
  // A fresh source connection, copied in one step: the whole copy reads one WAL snapshot, so
  // writers go on meanwhile (WAL readers do not block them) and nothing they commit can make
  // the copy start over. (Copying in small steps restarted the backup after every write, so
  // under a steady write load it never finished.)
  int fd = ::open(dest.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return UnavailableError("cannot create backup file " + dest + ": " + std::strerror(errno));
  ::close(fd);
  auto fail = [&](const std::string& what) {
    ::unlink(dest.c_str());
    return UnavailableError("backup failed: " + what);
  };
  SIRR_ASSIGN_OR_RETURN(auto src, Connection::Open(path_));
  sqlite3* out = nullptr;
  if (sqlite3_open_v2(dest.c_str(), &out, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    sqlite3_close(out);
    return fail("cannot open the destination");
  }
  sqlite3_backup* b = sqlite3_backup_init(out, "main", src->db(), "main");
  if (!b) {
    std::string msg = sqlite3_errmsg(out);
    sqlite3_close(out);
    return fail(msg);
  }
  int rc;
  int busy_tries = 0;
  do {
    rc = sqlite3_backup_step(b, -1);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  } while ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && ++busy_tries < 2000);
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) {
    std::string msg = sqlite3_errstr(rc);
    sqlite3_close(out);
    return fail(msg);
  }
  // A standalone file: no WAL beside it.
  char* err = nullptr;
  int jrc = sqlite3_exec(out, "PRAGMA journal_mode=DELETE", nullptr, nullptr, &err);
  sqlite3_free(err);
  if (sqlite3_close(out) != SQLITE_OK || jrc != SQLITE_OK) return fail("closing the copy");
  fd = ::open(dest.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  return OkStatus();
}

StatusOr<int64_t> SqliteStorage::CountVaults() {
  return WithReader([](Connection& c) -> StatusOr<int64_t> {
    SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("SELECT count(*) FROM vaults"));
    SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
    return row ? s->Int(0) : 0;
  });
}

Status SqliteStorage::InitializeInstance(const KeyringRow& key, const VaultRow& vault,
                                         const Journal& journal) {
  return WithWriteTx(
      [&](Connection& c) -> Status {
        {
          SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("SELECT count(*) FROM keyring"));
          SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
          if (row && s->Int(0) > 0)
            return FailedPreconditionError("the database already has a keyring");
        }
        {
          SIRR_ASSIGN_OR_RETURN(auto s,
                                c.Prepare("INSERT INTO keyring (version, key_id, state, "
                                          "created_at, updated_at, key_check) VALUES (?, ?, "
                                          "?, ?, ?, ?)"));
          s->Bind(1, int64_t{key.version}).BindBlob(2, key.key_id).Bind(3, key.state);
          s->Bind(4, key.created_at).Bind(5, key.updated_at).BindBlob(6, key.key_check);
          SIRR_RETURN_IF_ERROR(s->Run());
        }
        SIRR_ASSIGN_OR_RETURN(auto s,
                              c.Prepare("INSERT INTO vaults (id, name, description, "
                                        "created_at, wrapped_key, owner) VALUES (?, ?, ?, ?, "
                                        "?, ?)"));
        s->Bind(1, vault.id).Bind(2, vault.name).Bind(3, vault.description);
        s->Bind(4, vault.created_at).BindBlob(5, vault.wrapped_key).Bind(6, vault.owner);
        SIRR_RETURN_IF_ERROR(s->Run());
        return AddJournal(c, journal, {});
      },
      nullptr, &journal);
}

#define VAULT_COLS "id, name, description, created_at, wrapped_key, owner"

namespace {
VaultRow ReadVaultColumns(const Stmt& s, bool with_key) {
  return VaultRow{s.Text(0), s.Text(1), s.Text(2), s.Int(3), with_key ? s.Blob(4) : Bytes(),
                  s.Text(5)};
}

TokenRow ReadTokenColumns(const Stmt& s) {
  TokenRow t;
  t.id = s.Text(0);
  t.name = s.Text(1);
  t.hash = s.Blob(2);
  t.capabilities = s.Text(3);
  t.all_vaults = s.Int(4) != 0;
  t.created_at = s.Int(5);
  t.created_by = s.Text(6);
  t.expires_at = s.OptInt(7);
  t.max_uses = s.OptInt(8);
  t.uses = s.Int(9);
  t.revoked_at = s.OptInt(10);
  return t;
}

#define TOKEN_COLS                                                                           \
  "id, name, hash, capabilities, all_vaults, created_at, created_by, expires_at, max_uses, " \
  "uses, revoked_at"

Status LoadTokenVaults(Connection& c, TokenRow& t);

// The token selected by `sql` (one parameter, `key`) with its vault grants. NotFound.
template <typename Key>
StatusOr<TokenRow> FindToken(Connection& c, const char* sql, const Key& key) {
  TokenRow t;
  {
    SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare(sql));
    if constexpr (std::is_same_v<Key, Bytes>)
      s->BindBlob(1, key);
    else
      s->Bind(1, key);
    SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
    if (!row) return NotFoundError("token not found");
    t = ReadTokenColumns(*s);
  }
  SIRR_RETURN_IF_ERROR(LoadTokenVaults(c, t));
  return t;
}

Status LoadTokenVaults(Connection& c, TokenRow& t) {
  SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("SELECT vault_id FROM token_vaults WHERE token_id = ? "
                                          "ORDER BY vault_id"));
  s->Bind(1, t.id);
  while (true) {
    SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
    if (!row) break;
    t.vault_ids.push_back(s->Text(0));
  }
  return OkStatus();
}

// JSON array text of ids, for json_each() in scope filters.
std::string JsonIds(const std::vector<std::string>& ids) {
  std::string out = "[";
  for (const auto& id : ids) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (char ch : id)
      if (ch != '"' && ch != '\\' && static_cast<unsigned char>(ch) >= 0x20) out += ch;
    out += '"';
  }
  return out + "]";
}
}  // namespace

template <typename Row, typename Load>
StatusOr<Row> SqliteStorage::CachedRead(std::map<CacheKey, Row>& cache, CacheKey key, Load&& load) {
  constexpr size_t kMaxCachedRows = 4096;
  uint64_t generation;
  {
    std::shared_lock lock(cache_mu_);
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
    generation = generation_;
  }
  StatusOr<Row> row = WithReader(load);
  if (row.ok()) {
    std::unique_lock lock(cache_mu_);
    // A write since our read started may have made the row stale: do not cache it.
    if (generation == generation_) {
      if (cache.size() >= kMaxCachedRows) cache.clear();
      cache.emplace(std::move(key), *row);
    }
  }
  return row;
}

StatusOr<VaultRow> SqliteStorage::GetVault(std::string_view id_or_name,
                                           std::string_view name_owner) {
  return CachedRead(vault_cache_, CacheKey{std::string(id_or_name), std::string(name_owner), false},
                    [&](Connection& c) -> StatusOr<VaultRow> {
                      SIRR_ASSIGN_OR_RETURN(
                          auto s, c.Prepare("SELECT " VAULT_COLS " FROM vaults WHERE id = ?1 OR "
                                            "(owner = ?2 AND name = ?1) ORDER BY (id = ?1) DESC "
                                            "LIMIT 1"));
                      s->Bind(1, id_or_name).Bind(2, name_owner);
                      SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
                      if (!row) return NotFoundError("vault not found");
                      return ReadVaultColumns(*s, true);
                    });
}

Status SqliteStorage::CreateVault(const VaultRow& row, std::string_view grant_token_id,
                                  const Journal& journal) {
  return WithWriteTx(
      [&](Connection& c) -> Status {
        {
          SIRR_ASSIGN_OR_RETURN(auto s,
                                c.Prepare("SELECT 1 FROM vaults WHERE owner = ? AND name = ?"));
          s->Bind(1, row.owner).Bind(2, row.name);
          SIRR_ASSIGN_OR_RETURN(bool found, s->Step());
          if (found) return AlreadyExistsError("a vault named '" + row.name + "' already exists");
        }
        {
          SIRR_ASSIGN_OR_RETURN(
              auto s, c.Prepare("INSERT INTO vaults (" VAULT_COLS ") VALUES (?, ?, ?, ?, ?, ?)"));
          s->Bind(1, row.id).Bind(2, row.name).Bind(3, row.description).Bind(4, row.created_at);
          s->BindBlob(5, row.wrapped_key).Bind(6, row.owner);
          SIRR_RETURN_IF_ERROR(s->Run());
        }
        if (!grant_token_id.empty()) {
          SIRR_ASSIGN_OR_RETURN(
              auto s, c.Prepare("INSERT INTO token_vaults (token_id, vault_id) VALUES (?, ?)"));
          s->Bind(1, grant_token_id).Bind(2, row.id);
          SIRR_RETURN_IF_ERROR(s->Run());
        }
        return AddJournal(c, journal, {});
      },
      nullptr, &journal);
}

StatusOr<VaultPage> SqliteStorage::ListVaults(const VaultScope& scope, int64_t offset,
                                              int64_t limit) {
  return WithReader([&](Connection& c) -> StatusOr<VaultPage> {
    VaultPage page;
    const std::string ids = JsonIds(scope.ids);
    const int64_t everything = scope.everything ? 1 : 0;
    const std::optional<std::string>& owner = scope.owner;
    auto bind = [&](Stmt& s) {
      s.Bind(1, everything);
      if (owner)
        s.Bind(2, std::string_view(*owner));
      else
        s.Bind(2, std::optional<int64_t>());
      s.Bind(3, std::string_view(ids));
    };
    {
      SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("SELECT count(*) FROM vaults WHERE ?1 OR owner = ?2 "
                                              "OR id IN (SELECT value FROM json_each(?3))"));
      bind(*s);
      SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
      page.total = row ? s->Int(0) : 0;
    }
    SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("SELECT " VAULT_COLS " FROM vaults WHERE ?1 OR "
                                            "owner = ?2 OR id IN (SELECT value FROM "
                                            "json_each(?3)) ORDER BY owner, name LIMIT ?4 "
                                            "OFFSET ?5"));
    bind(*s);
    s->Bind(4, limit).Bind(5, offset);
    while (true) {
      SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      page.rows.push_back(ReadVaultColumns(*s, false));
    }
    return page;
  });
}

StatusOr<int64_t> SqliteStorage::CountLiveSecrets(std::string_view vault_id) {
  return WithReader([&](Connection& c) -> StatusOr<int64_t> {
    SIRR_ASSIGN_OR_RETURN(
        auto s, c.Prepare("SELECT count(*) FROM secrets WHERE vault_id = ? AND state = 0"));
    s->Bind(1, vault_id);
    SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
    return row ? s->Int(0) : 0;
  });
}

Status SqliteStorage::ShredVaultKey(std::string_view vault_id, const Journal& journal) {
  return WithWriteTx(
      [&](Connection& c) -> Status {
        // secure_delete zeroes the freed bytes of the old value in the page.
        SIRR_ASSIGN_OR_RETURN(auto s,
                              c.Prepare("UPDATE vaults SET wrapped_key = X'' WHERE id = ?"));
        s->Bind(1, vault_id);
        SIRR_RETURN_IF_ERROR(s->Run());
        if (sqlite3_changes64(c.db()) == 0) return NotFoundError("vault not found");
        return AddJournal(c, journal, {});
      },
      nullptr, &journal);
}

StatusOr<int64_t> SqliteStorage::DeleteVault(std::string_view vault_id, const Journal& journal) {
  int64_t removed = 0;
  Status st = WithWriteTx(
      [&](Connection& c) -> Status {
        {
          SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("DELETE FROM secrets WHERE vault_id = ?"));
          s->Bind(1, vault_id);
          SIRR_RETURN_IF_ERROR(s->Run());
          removed = sqlite3_changes64(c.db());
        }
        {
          SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("DELETE FROM keys WHERE vault_id = ?"));
          s->Bind(1, vault_id);
          SIRR_RETURN_IF_ERROR(s->Run());
          removed += sqlite3_changes64(c.db());
        }
        SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("DELETE FROM vaults WHERE id = ?"));
        s->Bind(1, vault_id);
        SIRR_RETURN_IF_ERROR(s->Run());
        if (sqlite3_changes64(c.db()) == 0) return NotFoundError("vault not found");
        return AddJournal(c, journal, {});
      },
      nullptr, &journal);
  if (!st.ok()) return st;
  SIRR_RETURN_IF_ERROR(CompactLog());
  return removed;
}

Status SqliteStorage::CompactLog() {
  std::lock_guard lock(writer_mu_);
  int log = 0, done = 0;
  int rc =
      sqlite3_wal_checkpoint_v2(writer_->db(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, &log, &done);
  if (rc != SQLITE_OK) return SqlError(writer_->db(), "checkpoint");
  return OkStatus();
}

Status SqliteStorage::CreateToken(const TokenRow& t, const Journal& journal) {
  return WithWriteTx(
      [&](Connection& c) -> Status {
        {
          SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("INSERT INTO tokens (" TOKEN_COLS
                                                  ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, NULL)"));
          s->Bind(1, t.id).Bind(2, t.name).BindBlob(3, t.hash).Bind(4, t.capabilities);
          s->Bind(5, int64_t{t.all_vaults ? 1 : 0}).Bind(6, t.created_at).Bind(7, t.created_by);
          s->Bind(8, t.expires_at).Bind(9, t.max_uses);
          SIRR_RETURN_IF_ERROR(s->Run());
        }
        for (const auto& vault : t.vault_ids) {
          SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("INSERT OR IGNORE INTO token_vaults (token_id, "
                                                  "vault_id) VALUES (?, ?)"));
          s->Bind(1, t.id).Bind(2, vault);
          SIRR_RETURN_IF_ERROR(s->Run());
        }
        return AddJournal(c, journal, {});
      },
      nullptr, &journal);
}

StatusOr<TokenRow> SqliteStorage::FindTokenByHash(const Bytes& hash) {
  return WithReader([&](Connection& c) {
    return FindToken(c, "SELECT " TOKEN_COLS " FROM tokens WHERE hash = ?", hash);
  });
}

StatusOr<TokenRow> SqliteStorage::GetToken(std::string_view id) {
  return WithReader([&](Connection& c) {
    return FindToken(c, "SELECT " TOKEN_COLS " FROM tokens WHERE id = ?", id);
  });
}

StatusOr<bool> SqliteStorage::ConsumeTokenUse(std::string_view id) {
  bool ok = false;
  Status st = WithWriteTx([&](Connection& c) -> Status {
    SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("UPDATE tokens SET uses = uses + 1 WHERE id = ? AND "
                                            "revoked_at IS NULL AND (max_uses IS NULL OR uses < "
                                            "max_uses)"));
    s->Bind(1, id);
    SIRR_RETURN_IF_ERROR(s->Run());
    ok = sqlite3_changes64(c.db()) == 1;
    return OkStatus();
  });
  if (!st.ok()) return st;
  return ok;
}

StatusOr<std::vector<TokenRow>> SqliteStorage::ListTokens() {
  return WithReader([&](Connection& c) -> StatusOr<std::vector<TokenRow>> {
    std::vector<TokenRow> out;
    {
      SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("SELECT " TOKEN_COLS " FROM tokens ORDER BY "
                                              "created_at DESC, id"));
      while (true) {
        SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
        if (!row) break;
        out.push_back(ReadTokenColumns(*s));
      }
    }
    for (auto& t : out) SIRR_RETURN_IF_ERROR(LoadTokenVaults(c, t));
    return out;
  });
}

Status SqliteStorage::RevokeToken(std::string_view id, int64_t now, const Journal& journal) {
  return WithWriteTx(
      [&](Connection& c) -> Status {
        // The token and, transitively, every token it created (created_by = "token:<id>").
        SIRR_ASSIGN_OR_RETURN(
            auto s,
            c.Prepare("WITH RECURSIVE tree(id) AS (SELECT id FROM tokens WHERE id = ?2 UNION "
                      "SELECT t.id FROM tokens t JOIN tree ON t.created_by = 'token:' || "
                      "tree.id) UPDATE tokens SET revoked_at = coalesce(revoked_at, ?1) "
                      "WHERE id IN tree"));
        s->Bind(1, now).Bind(2, id);
        SIRR_RETURN_IF_ERROR(s->Run());
        if (sqlite3_changes64(c.db()) == 0) return NotFoundError("token not found");
        return AddJournal(c, journal, {});
      },
      nullptr, &journal);
}

Status SqliteStorage::PutSecret(const SecretRow& row, bool overwrite, int64_t now,
                                const Journal& journal) {
  return WithWriteTx(
      [&](Connection& c) -> Status {
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
        SIRR_RETURN_IF_ERROR(s->Run());
        return AddJournal(c, journal, {});
      },
      nullptr, &journal);
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
                                              std::string_view id_or_name, int64_t now,
                                              const Journal& journal) {
  // Fastest path: a cached live secret without a read limit, not yet expired. Only such rows
  // are cached (with their sealed value, never plaintext); every write clears the cache.
  constexpr size_t kMaxCachedSecrets = 16384;
  constexpr size_t kMaxCachedSecretBytes = 64 << 20;
  CacheKey key{std::string(vault_id), std::string(id_or_name), true};
  uint64_t generation;
  {
    std::shared_lock lock(cache_mu_);
    auto it = secret_cache_.find(key);
    if (it != secret_cache_.end() && !(it->second.expires_at && *it->second.expires_at <= now))
      return it->second;
    generation = generation_;
  }
  // Fast path: a live, unexpired secret without a read limit needs no write.
  auto fast = WithReader([&](Connection& c) -> StatusOr<std::optional<SecretRow>> {
    return FindSecret(c, vault_id, id_or_name, true);
  });
  if (!fast.ok()) return fast.status();
  if (!*fast) return NotFoundError("secret not found");
  {
    SecretRow& r = **fast;
    bool expired = r.expires_at && *r.expires_at <= now;
    if (r.state == SecretState::kLive && !expired && !r.reads_remaining) {
      std::unique_lock lock(cache_mu_);
      if (generation == generation_) {
        if (secret_cache_.size() >= kMaxCachedSecrets ||
            secret_cache_bytes_ + r.value.size() > kMaxCachedSecretBytes) {
          secret_cache_.clear();
          secret_cache_bytes_ = 0;
        }
        if (secret_cache_.emplace(std::move(key), r).second) secret_cache_bytes_ += r.value.size();
      }
    }
    if (r.state != SecretState::kLive || (!expired && !r.reads_remaining)) {
      r.value = r.state == SecretState::kLive ? std::move(r.value) : Bytes();
      return std::move(r);
    }
  }
  // Slow path: expiry or read accounting, in one write transaction.
  SecretRow out;
  Status st = WithWriteTx(
      [&](Connection& c) -> Status {
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
          return AddJournal(c, journal, {.secret = &out});
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
          return AddJournal(c, journal, {.secret = &out});
        }
        SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("UPDATE secrets SET reads_remaining = "
                                                "reads_remaining - 1 WHERE id = ?"));
        s->Bind(1, out.id);
        SIRR_RETURN_IF_ERROR(s->Run());
        out.reads_remaining = *out.reads_remaining - 1;
        return AddJournal(c, journal, {.secret = &out});
      },
      nullptr, &journal);
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
                                                std::string_view id_or_name,
                                                const Journal& journal) {
  SecretRow out;
  Status st = WithWriteTx(
      [&](Connection& c) -> Status {
        SIRR_ASSIGN_OR_RETURN(auto found, FindSecret(c, vault_id, id_or_name, false));
        if (!found) return NotFoundError("secret not found");
        out = std::move(*found);
        SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("DELETE FROM secrets WHERE id = ?"));
        s->Bind(1, out.id);
        SIRR_RETURN_IF_ERROR(s->Run());
        return AddJournal(c, journal, {.secret = &out});
      },
      nullptr, &journal);
  if (!st.ok()) return st;
  return out;
}

StatusOr<std::vector<SecretRow>> SqliteStorage::ExpireDue(int64_t now, int limit,
                                                          const Journal& journal) {
  std::vector<SecretRow> out;
  Status st = WithWriteTx(
      [&](Connection& c) -> Status {
        {
          SIRR_ASSIGN_OR_RETURN(auto s,
                                c.Prepare("SELECT " SECRET_COLS " FROM secrets WHERE state = "
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
          SIRR_RETURN_IF_ERROR(AddJournal(c, journal, {.secret = &r}));
        }
        return OkStatus();
      },
      nullptr, &journal);
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

#define KEY_COLS \
  "id, vault_id, name, description, spec, type, usage, created_at, public_key, material"
#define KEY_READ_COLS KEY_COLS ", hd_last_index"

namespace {
KeyRow ReadKeyColumns(const Stmt& s, bool with_material) {
  KeyRow k;
  k.id = s.Text(0);
  k.vault_id = s.Text(1);
  k.name = s.Text(2);
  k.description = s.Text(3);
  k.spec = s.Text(4);
  k.type = s.Text(5);
  k.usage = s.Text(6);
  k.created_at = s.Int(7);
  k.public_key = s.Blob(8);
  if (with_material) k.material = s.Blob(9);
  k.hd_last_index = s.OptInt(10);
  return k;
}

// The key by id, else by name (an id match wins).
StatusOr<std::optional<KeyRow>> FindKey(Connection& c, std::string_view vault_id,
                                        std::string_view id_or_name, bool with_material) {
  return FindByIdOrName<KeyRow>(
      c, "SELECT " KEY_READ_COLS " FROM keys WHERE vault_id = ?1 AND id = ?2",
      "SELECT " KEY_READ_COLS " FROM keys WHERE vault_id = ?1 AND name = ?2", vault_id, id_or_name,
      [&](const Stmt& s) { return ReadKeyColumns(s, with_material); });
}
}  // namespace

Status SqliteStorage::CreateKey(const KeyRow& k, const Journal& journal) {
  return WithWriteTx(
      [&](Connection& c) -> Status {
        {
          SIRR_ASSIGN_OR_RETURN(auto s,
                                c.Prepare("SELECT 1 FROM keys WHERE vault_id = ? AND name = ?"));
          s->Bind(1, k.vault_id).Bind(2, k.name);
          SIRR_ASSIGN_OR_RETURN(bool found, s->Step());
          if (found) return AlreadyExistsError("a key named '" + k.name + "' already exists");
        }
        SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("INSERT INTO keys (" KEY_COLS
                                                ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
        s->Bind(1, k.id).Bind(2, k.vault_id).Bind(3, k.name).Bind(4, k.description);
        s->Bind(5, k.spec).Bind(6, k.type).Bind(7, k.usage).Bind(8, k.created_at);
        s->BindBlob(9, k.public_key).BindBlob(10, k.material);
        SIRR_RETURN_IF_ERROR(s->Run());
        return AddJournal(c, journal, {});
      },
      nullptr, &journal);
}

StatusOr<KeyRow> SqliteStorage::GetKey(std::string_view vault_id, std::string_view id_or_name,
                                       bool with_material) {
  return CachedRead(
      key_cache_, CacheKey{std::string(vault_id), std::string(id_or_name), with_material},
      [&](Connection& c) -> StatusOr<KeyRow> {
        SIRR_ASSIGN_OR_RETURN(auto found, FindKey(c, vault_id, id_or_name, with_material));
        if (!found) return NotFoundError("key not found");
        return std::move(*found);
      });
}

StatusOr<KeyPage> SqliteStorage::ListKeys(std::string_view vault_id, const KeyFilter& filter) {
  return WithReader([&](Connection& c) -> StatusOr<KeyPage> {
    KeyPage page;
    {
      SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("SELECT count(*) FROM keys WHERE vault_id = ?1 AND "
                                              "(?2 = '' OR spec = ?2) AND (?3 = '' OR type = ?3)"));
      s->Bind(1, vault_id).Bind(2, filter.spec).Bind(3, filter.type);
      SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
      page.total = row ? s->Int(0) : 0;
    }
    SIRR_ASSIGN_OR_RETURN(auto s,
                          c.Prepare("SELECT " KEY_READ_COLS " FROM keys WHERE vault_id = ?1 "
                                    "AND (?2 = '' OR spec = ?2) AND (?3 = '' OR type = "
                                    "?3) ORDER BY created_at, id LIMIT ?4 OFFSET ?5"));
    s->Bind(1, vault_id).Bind(2, filter.spec).Bind(3, filter.type);
    s->Bind(4, filter.limit).Bind(5, filter.offset);
    while (true) {
      SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      page.rows.push_back(ReadKeyColumns(*s, false));
    }
    return page;
  });
}

StatusOr<int64_t> SqliteStorage::CountKeys(std::string_view vault_id) {
  return WithReader([&](Connection& c) -> StatusOr<int64_t> {
    SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("SELECT count(*) FROM keys WHERE vault_id = ?"));
    s->Bind(1, vault_id);
    SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
    return row ? s->Int(0) : 0;
  });
}

StatusOr<int64_t> SqliteStorage::NextHdIndex(std::string_view vault_id, std::string_view key_id,
                                             const Journal& journal) {
  int64_t index = 0;
  Status st = WithWriteTx(
      [&](Connection& c) -> Status {
        SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("UPDATE keys SET hd_last_index = hd_next_index, "
                                                "hd_next_index = hd_next_index + 1 WHERE vault_id "
                                                "= ? AND id = ? RETURNING hd_last_index"));
        s->Bind(1, vault_id).Bind(2, key_id);
        SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
        if (!row) return NotFoundError("key not found");
        index = s->Int(0);
        SIRR_RETURN_IF_ERROR(s->Run());
        return AddJournal(c, journal, {.index = index});
      },
      nullptr, &journal);
  if (!st.ok()) return st;
  return index;
}

StatusOr<KeyRow> SqliteStorage::DeleteKey(std::string_view vault_id, std::string_view id_or_name,
                                          const Journal& journal) {
  KeyRow out;
  Status st = WithWriteTx(
      [&](Connection& c) -> Status {
        SIRR_ASSIGN_OR_RETURN(auto found, FindKey(c, vault_id, id_or_name, false));
        if (!found) return NotFoundError("key not found");
        out = std::move(*found);
        SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("DELETE FROM keys WHERE id = ?"));
        s->Bind(1, out.id);
        SIRR_RETURN_IF_ERROR(s->Run());
        return AddJournal(c, journal, {.key = &out});
      },
      nullptr, &journal);
  if (!st.ok()) return st;
  return out;
}

Status SqliteStorage::SaveAuditHead(int64_t seq, const Bytes& mac, int64_t journal_written) {
  static const std::vector<std::string> kNoCachedRow;
  return WithWriteTx(
      [&](Connection& c) -> Status {
        if (journal_written > 0) {
          // The newest row always stays: ids are max(id) + 1, so keeping it keeps every new
          // id above every id ever written (no AUTOINCREMENT table to update per commit).
          // Audit records hold no secret: their pages need not be zeroed when freed (with
          // secure_delete the purge would rewrite every page it frees).
          SIRR_RETURN_IF_ERROR(c.Exec("PRAGMA secure_delete=OFF"));
          SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("DELETE FROM audit_journal WHERE id <= ?1 AND "
                                                  "id < (SELECT max(id) FROM audit_journal)"));
          s->Bind(1, journal_written);
          Status deleted = s->Run();
          SIRR_RETURN_IF_ERROR(c.Exec("PRAGMA secure_delete=ON"));
          SIRR_RETURN_IF_ERROR(deleted);
        }
        SIRR_ASSIGN_OR_RETURN(auto s,
                              c.Prepare("INSERT INTO audit_head (id, seq, mac) VALUES (1, ?, "
                                        "?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, "
                                        "mac = excluded.mac"));
        s->Bind(1, seq).BindBlob(2, mac);
        return s->Run();
      },
      &kNoCachedRow);  // touches no cached row
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
