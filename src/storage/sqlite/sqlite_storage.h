#pragma once

// The embedded default backend: one SQLite file ($SIRR_DATA_DIR/sirr.db).
//
// WAL journal, synchronous=FULL (a committed write survives power loss), foreign_keys=ON,
// secure_delete=ON (freed cells are zeroed), a busy timeout, prepared statements cached per
// connection, numbered migrations tracked in PRAGMA user_version.
//
// Concurrency: one writer connection (so write transactions queue in-process instead of
// spinning on SQLITE_BUSY) and a pool of reader connections (WAL readers do not block the
// writer). Group commit: writes that arrive while a commit is being made to disk wait and are
// then applied together, each in its own savepoint (one write's failure rolls back only that
// write), in one transaction with one sync. Each caller still returns only after its write is
// durable. Read cache: vault rows, key rows and live secrets without a read limit (with their
// sealed material, never plaintext), are kept in memory after a read; every committed write
// transaction clears the cache before its callers return, so a cached row is never older than the
// last write (all writes go through WithWriteTx). Thread-safe.
//
// Parts: sqlite_db.h (connection and statement wrappers), sqlite_schema.cc (migrations),
// sqlite_internal.h (group commit, reader pool, read cache templates), sqlite_storage.cc
// (open, commit, journal, keyring, backup, audit head), and one file per table group:
// sqlite_vaults.cc, sqlite_tokens.cc, sqlite_secrets.cc, sqlite_keys.cc.

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "storage/read_cache.h"
#include "storage/storage.h"

struct sqlite3;

namespace sirr::storage {

class Connection;

class SqliteStorage final : public Storage {
 public:
  // Opens (creating if needed) the database at `path` and applies pending migrations.
  static StatusOr<std::unique_ptr<SqliteStorage>> Open(const std::string& path);
  // Restore helpers (sirrd restore, server stopped). CheckBackupFile: InvalidArgument unless
  // `path` is an intact SQLite database (integrity check) holding a keyring. ForgetAuditHead:
  // removes the audit chain checkpoint from the database file at `path`.
  static Status CheckBackupFile(const std::string& path);
  static Status ForgetAuditHead(const std::string& path);
  ~SqliteStorage() override;

  // Latest schema version known to this build.
  static int SchemaVersion();

  StatusOr<std::vector<KeyringRow>> ListKeyring() override;
  Status AddKeyVersion(const KeyringRow& row, const Journal& journal = {}) override;
  Status SetAuditKey(int version, const Bytes& wrapped) override;
  Status SetKeyState(int version, std::string_view state, int64_t now,
                     const Journal& journal = {}) override;
  StatusOr<int64_t> CountVaultKeys(const Bytes& key_id, bool wrapped_by) override;
  StatusOr<std::vector<VaultRow>> VaultsNotWrappedBy(const Bytes& key_id, std::string_view after,
                                                     int limit) override;
  StatusOr<int64_t> RewrapVaultKeys(const std::vector<Rewrap>& rewraps,
                                    const Journal& journal = {}) override;
  Status BackupTo(const std::string& dest) override;
  StatusOr<int64_t> CountVaults() override;
  Status InitializeInstance(const KeyringRow& key, const VaultRow& vault,
                            const Journal& journal = {}) override;
  StatusOr<VaultRow> GetVault(std::string_view id_or_name, std::string_view name_owner) override;
  Status CreateVault(const VaultRow& row, std::string_view grant_token_id,
                     const Journal& journal = {}) override;
  StatusOr<VaultPage> ListVaults(const VaultScope& scope, int64_t offset, int64_t limit) override;
  StatusOr<int64_t> CountLiveSecrets(std::string_view vault_id) override;
  Status ShredVaultKey(std::string_view vault_id, const Journal& journal = {}) override;
  StatusOr<int64_t> DeleteVault(std::string_view vault_id, const Journal& journal = {}) override;
  Status CreateToken(const TokenRow& row, const Journal& journal = {}) override;
  StatusOr<TokenRow> FindTokenByHash(const Bytes& hash) override;
  StatusOr<TokenRow> GetToken(std::string_view id) override;
  StatusOr<bool> ConsumeTokenUse(std::string_view id) override;
  StatusOr<std::vector<TokenRow>> ListTokens() override;
  Status RevokeToken(std::string_view id, int64_t now, const Journal& journal = {}) override;
  Status PutSecret(const SecretRow& row, bool overwrite, int64_t now,
                   const Journal& journal = {}) override;
  StatusOr<SecretRow> GetSecretMeta(std::string_view vault_id,
                                    std::string_view id_or_name) override;
  StatusOr<SecretRow> ReadSecret(std::string_view vault_id, std::string_view id_or_name,
                                 int64_t now, const Journal& journal = {}) override;
  StatusOr<SecretPage> ListSecrets(std::string_view vault_id, const SecretFilter& filter,
                                   int64_t now) override;
  StatusOr<SecretRow> DeleteSecret(std::string_view vault_id, std::string_view id_or_name,
                                   const Journal& journal = {}) override;
  StatusOr<std::vector<SecretRow>> ExpireDue(int64_t now, int limit,
                                             const Journal& journal = {}) override;
  StatusOr<int64_t> PurgeTombstones(int64_t gone_before) override;
  Status CreateKey(const KeyRow& row, const Journal& journal = {}) override;
  StatusOr<KeyRow> GetKey(std::string_view vault_id, std::string_view id_or_name,
                          bool with_material) override;
  StatusOr<KeyPage> ListKeys(std::string_view vault_id, const KeyFilter& filter) override;
  StatusOr<int64_t> CountKeys(std::string_view vault_id) override;
  StatusOr<KeyRow> DeleteKey(std::string_view vault_id, std::string_view id_or_name,
                             const Journal& journal = {}) override;
  StatusOr<int64_t> NextHdIndex(std::string_view vault_id, std::string_view key_id,
                                const Journal& journal = {}) override;
  Status SaveAuditHead(int64_t seq, const Bytes& mac, int64_t journal_written = 0) override;
  StatusOr<std::vector<JournalEntry>> ReadJournal(int64_t after, int limit) override;
  void SetJournalSink(JournalSink* sink) override;
  StatusOr<std::optional<std::pair<int64_t, Bytes>>> LoadAuditHead() override;
  const StorageMetrics& metrics() const override { return metrics_; }
  StatusOr<LiveCounts> CountLive(int64_t now) override;

  // WAL pages after which a commit wakes the background checkpointer (SQLite's automatic
  // checkpoint, which runs inside the committing transaction, is off).
  static constexpr int kCheckpointPages = 1000;
  // WAL frames past which the checkpointer copies the remainder with commits held back, so that
  // the WAL restarts from its beginning (bounded at about 4 × 4 KiB × this).
  static constexpr int kRestartPages = 4000;

 private:
  explicit SqliteStorage(std::string path);

  struct WriteOp;
  // Runs `fn` in a write transaction (group commit). `only_vaults`: the write changes nothing
  // cached but these vaults' rows (a key rotation batch), so the other cached rows survive it;
  // null: any cached row may change.
  // With a `journal`, the write is refused (Unavailable) while the journal sink is not ready;
  // `fn` calls AddJournal after its statements to insert the write's audit records.
  template <typename Fn>
  Status WithWriteTx(Fn&& fn, const std::vector<std::string>* only_vaults = nullptr,
                     const Journal* journal = nullptr);
  // Inserts the records `journal` makes for `ctx` into the journal table (inside the current
  // write transaction) and keeps them on the current write op for the sink.
  Status AddJournal(Connection& c, const Journal& journal, const JournalContext& ctx);
  // Applies a batch of writes in one transaction (the group-commit leader; holds writer_mu_).
  // Returns the audit journal records of the writes that committed, in journal order.
  std::vector<JournalEntry> CommitBatch(const std::vector<WriteOp*>& batch);
  // Drops the cached rows `batch` may have changed (every row unless each op names its vaults).
  void InvalidateCaches(const std::vector<WriteOp*>& batch);
  void InvalidateCaches();
  using CacheKey = ReadCache::Key;
  // The row for `key` from the cache, else from `load` on a reader (then cached).
  template <typename Row, typename Load>
  StatusOr<Row> CachedRead(CacheKey key, Load&& load);
  // Checkpoints the WAL into the database and truncates it to zero bytes.
  Status CompactLog();
  template <typename Fn>
  auto WithReader(Fn&& fn) -> decltype(fn(std::declval<Connection&>()));

  const std::string path_;

  std::mutex writer_mu_;
  std::unique_ptr<Connection> writer_;  // guarded by writer_mu_

  JournalSink* journal_sink_ = nullptr;  // set before serving (under commit_mu_)
  WriteOp* current_op_ = nullptr;        // the op whose fn runs; guarded by writer_mu_

  std::mutex commit_mu_;
  std::condition_variable commit_cv_;
  std::vector<WriteOp*> commit_queue_;  // guarded by commit_mu_
  bool committing_ = false;             // a leader is applying a batch; guarded by commit_mu_

  // Read cache, cleared after write transactions (see above).
  ReadCache cache_;

  std::mutex readers_mu_;
  std::vector<std::unique_ptr<Connection>> idle_readers_;  // guarded by readers_mu_

  StorageMetrics metrics_;

  // The background checkpointer: a PASSIVE checkpoint on its own connection, off the request
  // path, whenever a commit leaves kCheckpointPages in the WAL (the writer's wal hook; the
  // threshold SQLite's automatic checkpoint uses). Started by Open, stopped by the destructor.
  static int OnWalCommit(void* self, sqlite3* db, const char* name, int pages);
  void CheckpointLoop();
  std::mutex checkpoint_mu_;
  std::condition_variable checkpoint_cv_;
  bool checkpoint_due_ = false;   // guarded by checkpoint_mu_
  bool checkpoint_stop_ = false;  // guarded by checkpoint_mu_
  int wal_signalled_ = 0;         // WAL frames at the last wake-up; guarded by writer_mu_
  std::thread checkpointer_;
};

}  // namespace sirr::storage
