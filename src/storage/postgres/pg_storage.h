#pragma once

// The PostgreSQL backend (SIRR_STORAGE=postgres): several sirrd nodes share one database.
//
// Same contract as SqliteStorage: every method is one transaction; read limits are one
// conditional UPDATE inside the reading transaction (row lock: two nodes reading a one-read
// secret serialise on the row, the second sees it burned); unique violations are AlreadyExists.
//
// Writes: group commit on up to `writers` connections per node (write lanes): writes arriving
// while the lanes are busy are applied together, in one transaction, by the next free lane
// (a write that fails makes the batch rerun one transaction per write). A batch of new secrets
// only is one round trip (ApplyNewSecrets); statements go in libpq pipelines where no result
// is needed before the next is sent (BEGIN with the first statement; the journal rows, COMMIT
// and the epoch with each other). Each node numbers its
// audit journal rows itself and hands committed records to the audit log strictly in that
// order, whichever lane committed first. Reads: a pool of reader connections
// (SIRR_DATABASE_POOL). Numbered migrations run in one transaction under an advisory lock, so
// nodes starting together migrate exactly once.
//
// Read cache across nodes: vault rows, key rows and live unlimited secrets (sealed material
// only) are cached as in SqliteStorage, but another node may change them. The rule that keeps
// every node's cache behind no acknowledged write, whichever node made it (docs/ha.md):
//   * every committed write advances the sequence `sirr_epoch` after its COMMIT; its callers
//     return only kLease (+ a margin) after that advance;
//   * a background poller reads the epoch every kPollEvery, and so does every commit (in its
//     round trip; the poller skips its poll while a commit's reading is that fresh); when it
//     moved, the cache is dropped.
//     A cached row is served only while the newest completed reading *started* less than kLease
//     ago; otherwise the read first runs a check of its own (concurrent reads share one).
// So a read that arrives after a write was acknowledged is served from a cache that a reading
// started after the write's epoch advance has validated (and cleared), or from the database.
// The rule relies on the nodes' clocks *running* at the same rate (not on synchronised clocks).
//
// Audit: each node has its own journal rows and chain head (keyed by node id), so each node's
// audit file is one verifiable chain; the journal rows commit with the change (audit before
// commit). A commit whose outcome is unknown (connection lost during COMMIT) is resolved after
// reconnecting by looking for its journal rows.
//
// A lost connection is Unavailable (503 + Retry-After); the next call reconnects (with a
// multi-host URL and target_session_attrs=read-write, to whichever host is the primary now).
// Thread-safe.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "storage/postgres/pg_conn.h"
#include "storage/read_cache.h"
#include "storage/storage.h"

namespace sirr::storage {

struct PostgresOptions {
  PgConnectOptions connect;
  // The cross-node cache rule (above): how often the epoch is polled and how long a poll keeps
  // the cache valid (what each cache-changing write waits before it returns).
  // Polls start every 2 ms, so a poll's round trip has 2 ms before the lease runs out (1 ms
  // cost pulls ~10% in wake-ups: docs/benchmarks.md, session 14).
  std::chrono::milliseconds poll_every{2};
  std::chrono::milliseconds lease{4};
  int pool = 8;  // reader connections (SIRR_DATABASE_POOL)
  // Write lanes: connections committing batches concurrently. One by default: while it
  // commits, the next writes gather into one batch (two lanes made batches half as large and
  // cost PostgreSQL a third more CPU per write: docs/benchmarks.md).
  int writers = 1;
  std::string node_id;  // this node's audit journal and chain head
};

class PostgresStorage final : public Storage {
 public:
  // Connects, refuses a read-only server (a standby), and applies pending migrations under the
  // migration advisory lock. Errors are one line (Unavailable: cannot connect; FailedPrecondition:
  // read-only server, schema newer than this sirrd).
  static StatusOr<std::unique_ptr<PostgresStorage>> Open(const PostgresOptions& options);
  ~PostgresStorage() override;

  static int SchemaVersion();
  // sirrd migrate-storage: copies every row of the SQLite database at `sqlite_path` (brought to
  // the current schema first) as stored, in one transaction, into this database, which must
  // hold no instance (FailedPrecondition); then compares each table's count with the rows read
  // (DataLoss on a mismatch, nothing committed). The source's audit head and journal continue
  // under this node's id. Returns the rows copied per table; `progress` hears every 10,000 rows.
  StatusOr<std::map<std::string, int64_t>> ImportFromSqlite(
      const std::string& sqlite_path, const std::function<void(const std::string&)>& progress);
  // "host:port" of the server the writer connection reached (never the URL: it may hold a
  // password).
  std::string Where();

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
  StatusOr<std::shared_ptr<void>> LockJob(std::string_view job) override;

 private:
  explicit PostgresStorage(PostgresOptions options) : options_(std::move(options)) {}

  struct WriteOp;
  // `fence`: the write may change cached rows (on any node): it advances the epoch and returns
  // only once every node's cache has dropped what it changed (the rule above). `new_secret`
  // (PutSecret): the row is first tried as a plain insert, together with the other new secrets
  // of the batch in one statement; fn then finds InsertedByBatch() true.
  template <typename Fn>
  Status WithWriteTx(Fn&& fn, const Journal* journal = nullptr, bool fence = true,
                     const SecretRow* new_secret = nullptr);
  // Collects the records `journal` makes for `ctx` on the write being applied (inserted with
  // the batch's other records just before its COMMIT).
  Status AddJournal(PgConnection& c, const Journal& journal, const JournalContext& ctx);
  // Applies `batch` on a free lane; sets each write's result and hands the committed records
  // to the sink in journal order.
  void CommitBatch(const std::vector<WriteOp*>& batch);
  // BEGIN, `ops` in order, their journal records, COMMIT on `c` (and the epoch advance when a
  // write needs a fence, in the same round trip). true: committed (records appended to
  // `entries`, with ids); false: a write failed (its result says why) and the transaction was
  // rolled back; an error: the transaction failed as a whole (nothing committed, or an outcome
  // that stays unknown).
  StatusOr<bool> ApplyInOneTransaction(std::unique_ptr<PgConnection>& c,
                                       const std::vector<WriteOp*>& ops,
                                       std::vector<JournalEntry>* entries);
  // A batch of new secrets only (distinct names, at most 64): BEGIN, one plain INSERT of them
  // all, their records, COMMIT, in one round trip. true: committed; false: not such a batch,
  // or a name exists (then nothing was written: the caller goes the ordinary way); an error:
  // as ApplyInOneTransaction.
  StatusOr<bool> ApplyNewSecrets(std::unique_ptr<PgConnection>& conn,
                                 const std::vector<WriteOp*>& ops,
                                 std::vector<JournalEntry>* entries);
  // The round trip that ends a batch's transaction: `before` (ApplyNewSecrets' insert), the
  // records `ops` made, COMMIT, the epoch advance if a write needs a fence, an epoch reading.
  // true: committed; false: `before` failed and the transaction was rolled back; an error:
  // nothing committed, or an outcome that stays unknown (connection lost during the COMMIT and
  // no record to look for).
  StatusOr<bool> FinishTransaction(std::unique_ptr<PgConnection>& conn,
                                   const std::vector<WriteOp*>& ops,
                                   std::vector<JournalEntry>* entries,
                                   const PgConnection::Statement* before);
  // Inside a PutSecret's fn: whether its row went in with the batch's insert of new secrets
  // (then it replaced nothing, so no node can have it cached: the write needs no fence).
  static bool InsertedByBatch();
  static thread_local WriteOp* applying_;  // the write whose fn runs on this thread
  // Inserts the new secrets of `run` (consecutive PutSecret writes) in one statement per 64
  // rows, skipping names that exist; marks the writes whose row went in.
  Status InsertNewSecrets(PgConnection& c, const std::vector<WriteOp*>& run);
  // Journal ids: Reserve takes the next `n`; Release hands a reserved range's committed
  // records (none when it did not commit) to the sink once every lower range was released.
  int64_t ReserveJournalIds(int64_t n);
  void ReleaseJournalIds(int64_t first, int64_t n, std::vector<JournalEntry> committed);
  // After a COMMIT whose outcome is unknown: whether the journal rows `ids` exist.
  StatusOr<bool> Committed(const std::vector<int64_t>& ids);
  template <typename Fn>
  auto WithReader(Fn&& fn) -> decltype(fn(std::declval<PgConnection&>()));
  StatusOr<std::unique_ptr<PgConnection>> Connect();

  // The cross-node cache rule (see above): OK when the cache may be served (the lease of the
  // last poll holds, or a check that started after this call found the epoch).
  Status ValidateCache();
  // A check that starts after this call (concurrent callers share one).
  Status CheckNow();
  Status CheckEpoch();
  // A reading of the epoch (kReadEpoch's result) taken by a statement sent at `started`
  // (steady nanoseconds): drops the cache if the epoch moved, then renews the lease.
  void NoteEpoch(const PgResult& r, int64_t started);
  void PollLoop();
  void InvalidateCaches();
  using CacheKey = ReadCache::Key;
  template <typename Row, typename Load>
  StatusOr<Row> CachedRead(CacheKey key, Load&& load);

  const PostgresOptions options_;
  StorageMetrics metrics_;

  std::string where_;  // host:port of the first connection

  JournalSink* journal_sink_ = nullptr;  // set before serving (under commit_mu_)
  std::mutex commit_mu_;
  std::vector<WriteOp*> commit_queue_;                       // guarded by commit_mu_
  int leaders_ = 0;                                          // lanes committing; commit_mu_
  std::vector<std::unique_ptr<PgConnection>> idle_writers_;  // guarded by commit_mu_

  std::mutex journal_mu_;
  std::condition_variable journal_cv_;
  int64_t next_journal_id_ = 1;  // guarded by journal_mu_
  int64_t next_handoff_id_ = 1;  // guarded by journal_mu_: the next id the sink gets

  std::mutex readers_mu_;
  std::condition_variable readers_cv_;
  std::vector<std::unique_ptr<PgConnection>> idle_readers_;  // guarded by readers_mu_
  int readers_out_ = 0;                                      // guarded by readers_mu_

  // Epoch checks: numbered; a caller needs the first check numbered above checks_started_ at
  // its arrival.
  std::mutex epoch_mu_;
  std::condition_variable epoch_cv_;
  uint64_t checks_started_ = 0;               // guarded by epoch_mu_
  uint64_t checks_finished_ = 0;              // guarded by epoch_mu_
  bool checking_ = false;                     // guarded by epoch_mu_
  Status last_check_;                         // guarded by epoch_mu_
  std::unique_ptr<PgConnection> epoch_conn_;  // used by the running check only
  std::mutex epoch_seen_mu_;
  int64_t epoch_seen_ = -1;  // guarded by epoch_seen_mu_
  // steady_clock nanoseconds when the last successful check (poll) started.
  std::atomic<int64_t> valid_from_{0};
  std::mutex poll_mu_;
  std::condition_variable poll_cv_;
  bool stop_polling_ = false;  // guarded by poll_mu_
  std::thread poller_;

  ReadCache cache_;
};

}  // namespace sirr::storage
