#include "storage/sqlite/sqlite_storage.h"

#include <sqlite3.h>

#include <filesystem>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <mutex>
#include <set>

#include "storage/sqlite/sqlite_internal.h"
#include "storage/sqlite/sqlite_schema.h"

namespace sirr::storage {

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
  // Checkpoints move off the request path: the hook replaces SQLite's automatic checkpoint
  // (which would run inside a committing request) and wakes the checkpointer instead.
  sqlite3_wal_hook(s->writer_->db(), &SqliteStorage::OnWalCommit, s.get());
  s->checkpointer_ = std::thread([p = s.get()] { p->CheckpointLoop(); });
  return s;
}

int SqliteStorage::OnWalCommit(void* self, sqlite3*, const char*, int pages) {
  // Runs in the committing writer (under writer_mu_). `pages`: frames in the WAL now. The
  // checkpointer wakes for every kCheckpointPages of growth, not after every commit.
  auto* s = static_cast<SqliteStorage*>(self);
  if (pages < s->wal_signalled_) s->wal_signalled_ = 0;  // the WAL restarted from its start
  if (pages - s->wal_signalled_ >= kCheckpointPages) {
    s->wal_signalled_ = pages;
    {
      std::lock_guard lock(s->checkpoint_mu_);
      s->checkpoint_due_ = true;
    }
    s->checkpoint_cv_.notify_one();
  }
  return SQLITE_OK;
}

void SqliteStorage::CheckpointLoop() {
  std::unique_ptr<Connection> c;
  std::unique_lock lock(checkpoint_mu_);
  while (!checkpoint_stop_) {
    checkpoint_cv_.wait(lock, [this] { return checkpoint_due_ || checkpoint_stop_; });
    if (checkpoint_stop_) break;
    checkpoint_due_ = false;
    lock.unlock();
    if (!c) {
      auto opened = Connection::Open(path_);
      if (opened.ok()) c = std::move(opened).value();
    }
    if (c) {
      // PASSIVE: copies the frames no reader still needs, never waits for or blocks a writer.
      const auto start = std::chrono::steady_clock::now();
      int log = 0, done = 0;
      if (sqlite3_wal_checkpoint_v2(c->db(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &done) ==
          SQLITE_OK) {
        // Under steady writes the WAL never ends fully copied, so the writer never restarts it:
        // past kRestartPages the rest (a few frames) is copied with commits held back a moment,
        // and the next write starts the WAL from its beginning again.
        if (log >= kRestartPages) {
          std::lock_guard writer(writer_mu_);
          (void)sqlite3_wal_checkpoint_v2(c->db(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
        }
        metrics_.checkpoints.Inc();
        metrics_.checkpoint_seconds.Observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      }
    }
    lock.lock();
  }
}

SqliteStorage::~SqliteStorage() {
  {
    std::lock_guard lock(checkpoint_mu_);
    checkpoint_stop_ = true;
  }
  checkpoint_cv_.notify_one();
  if (checkpointer_.joinable()) checkpointer_.join();
  std::scoped_lock lock(writer_mu_, readers_mu_);
  idle_readers_.clear();
  if (writer_) (void)writer_->Exec("PRAGMA wal_checkpoint(TRUNCATE)");
  writer_.reset();
}

std::vector<JournalEntry> SqliteStorage::CommitBatch(const std::vector<WriteOp*>& batch) {
  std::lock_guard lock(writer_mu_);
  const auto start = std::chrono::steady_clock::now();
  metrics_.batch_size.Observe(static_cast<double>(batch.size()));
  struct Timed {
    const std::chrono::steady_clock::time_point start;
    metrics::Histogram& h;
    ~Timed() {
      h.Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
  } timed{start, metrics_.commit_seconds};
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
  cache_.ClearVaults(vaults);
}

void SqliteStorage::InvalidateCaches() { cache_.Clear(); }

StatusOr<std::vector<KeyringRow>> SqliteStorage::ListKeyring() {
  return WithReader([](Connection& c) -> StatusOr<std::vector<KeyringRow>> {
    SIRR_ASSIGN_OR_RETURN(auto s,
                          c.Prepare("SELECT version, key_id, state, created_at, updated_at, "
                                    "key_check, audit_key FROM keyring ORDER BY version"));
    std::vector<KeyringRow> rows;
    while (true) {
      SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      rows.push_back({static_cast<int>(s->Int(0)), s->Blob(1), s->Text(2), s->Int(3), s->Int(4),
                      s->Blob(5), s->Blob(6)});
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
          SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("UPDATE keyring SET state = ?2, "
                                                  "updated_at = ?1 WHERE state = ?3"));
          s->Bind(1, row.created_at).Bind(2, kKeyRetiring).Bind(3, kKeyActive);
          SIRR_RETURN_IF_ERROR(s->Run());
        }
        SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("INSERT INTO keyring (version, key_id, state, "
                                                "created_at, updated_at, key_check, audit_key) "
                                                "VALUES (?, ?, ?, ?, ?, ?, ?)"));
        s->Bind(1, int64_t{row.version}).BindBlob(2, row.key_id).Bind(3, row.state);
        s->Bind(4, row.created_at).Bind(5, row.updated_at).BindBlob(6, row.key_check);
        s->BindBlob(7, row.audit_key);
        SIRR_RETURN_IF_ERROR(s->Run());
        return AddJournal(c, journal, {});
      },
      nullptr, &journal);
}

Status SqliteStorage::SetAuditKey(int version, const Bytes& wrapped) {
  return WithWriteTx([&](Connection& c) -> Status {
    SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("UPDATE keyring SET audit_key = ? WHERE version = ? "
                                            "AND (audit_key IS NULL OR length(audit_key) = 0)"));
    s->BindBlob(1, wrapped).Bind(2, int64_t{version});
    return s->Run();
  });
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
                                          "created_at, updated_at, key_check, audit_key) VALUES "
                                          "(?, ?, ?, ?, ?, ?, ?)"));
          s->Bind(1, int64_t{key.version}).BindBlob(2, key.key_id).Bind(3, key.state);
          s->Bind(4, key.created_at).Bind(5, key.updated_at).BindBlob(6, key.key_check);
          s->BindBlob(7, key.audit_key);
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

StatusOr<LiveCounts> SqliteStorage::CountLive(int64_t now) {
  return WithReader([&](Connection& c) -> StatusOr<LiveCounts> {
    LiveCounts out;
    auto count = [&](const char* sql, int64_t* into, bool bind_now) -> Status {
      SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare(sql));
      if (bind_now) s->Bind(1, now);
      SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
      *into = row ? s->Int(0) : 0;
      return OkStatus();
    };
    SIRR_RETURN_IF_ERROR(count("SELECT COUNT(*) FROM secrets WHERE state = " SIRR_SQL_LIVE
                               " AND (expires_at IS NULL OR expires_at > ?)",
                               &out.secrets, true));
    SIRR_RETURN_IF_ERROR(
        count("SELECT COUNT(*) FROM vaults WHERE length(wrapped_key) > 0", &out.vaults, false));
    SIRR_RETURN_IF_ERROR(count("SELECT COUNT(*) FROM keys", &out.keys, false));
    SIRR_RETURN_IF_ERROR(
        count("SELECT COUNT(*) FROM tokens WHERE revoked_at IS NULL AND "
              "(expires_at IS NULL OR expires_at > ?)",
              &out.tokens, true));
    return out;
  });
}

Status SqliteStorage::CompactLog() {
  std::lock_guard lock(writer_mu_);
  int log = 0, done = 0;
  int rc =
      sqlite3_wal_checkpoint_v2(writer_->db(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, &log, &done);
  if (rc != SQLITE_OK) return SqlError(writer_->db(), "checkpoint");
  return OkStatus();
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
