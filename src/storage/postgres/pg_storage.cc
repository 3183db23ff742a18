#include "storage/postgres/pg_storage.h"

#include <chrono>
#include <thread>

#include "storage/postgres/pg_internal.h"

namespace sirr::storage {

StatusOr<std::unique_ptr<PgConnection>> PostgresStorage::Connect() {
  return PgConnection::Connect(options_.connect);
}

StatusOr<std::unique_ptr<PostgresStorage>> PostgresStorage::Open(const PostgresOptions& options) {
  if (options.node_id.empty()) return InvalidArgumentError("database: a node id is required");
  std::unique_ptr<PostgresStorage> s(new PostgresStorage(options));
  SIRR_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> first, s->Connect());
  PgConnection& c = *first;
  s->where_ = c.Where();
  {
    SIRR_ASSIGN_OR_RETURN(auto r, c.Query("SELECT pg_is_in_recovery(), current_setting("
                                          "'transaction_read_only')"));
    if (r.rows() == 1 && (r.Bool(0, 0) || r.Text(0, 1) == "on"))
      return FailedPreconditionError(
          "database at " + c.Where() +
          " is read-only (a standby?): give sirrd the primary, or list every host with "
          "target_session_attrs=read-write in SIRR_DATABASE_URL");
  }
  SIRR_RETURN_IF_ERROR(internal::PgMigrate(c));
  // This node's journal ids continue after every id it used: its rows still in the journal
  // and the highest id its audit log had taken when the rows were purged.
  {
    SIRR_ASSIGN_OR_RETURN(auto r, c.Query("SELECT greatest((SELECT max(id) FROM audit_journal "
                                          "WHERE node = $1), (SELECT journal FROM audit_head "
                                          "WHERE node = $1), 0)",
                                          PgParams().Add(std::string_view(options.node_id))));
    s->next_journal_id_ = s->next_handoff_id_ = r.Int(0, 0) + 1;
  }
  s->idle_writers_.push_back(std::move(first));
  s->poller_ = std::thread([p = s.get()] { p->PollLoop(); });
  return s;
}

PostgresStorage::~PostgresStorage() {
  {
    std::lock_guard lock(poll_mu_);
    stop_polling_ = true;
  }
  poll_cv_.notify_one();
  if (poller_.joinable()) poller_.join();
}

void PostgresStorage::PollLoop() {
  // Polls start every kPollEvery (counted from the start of the last reading, so a slow round
  // trip does not eat into the lease); commits read the epoch too (FinishTransaction), and a
  // poll is skipped while one of them is that recent (under write load, many polls). While the
  // database is unreachable, polls back off (up to a second) instead of opening a connection
  // each time; reads meanwhile check for themselves (and get 503).
  const std::chrono::nanoseconds every = options_.poll_every;
  std::chrono::nanoseconds backoff{0};
  std::unique_lock lock(poll_mu_);
  while (!stop_polling_) {
    lock.unlock();
    std::chrono::nanoseconds wait{0};
    auto age = [this] {
      return std::chrono::nanoseconds(SteadyNanos() - valid_from_.load(std::memory_order_acquire));
    };
    if (age() >= every && !CheckNow().ok()) {  // on success, CheckNow renews the lease
      backoff = std::min<std::chrono::nanoseconds>(
          std::chrono::seconds(1),
          std::max<std::chrono::nanoseconds>(backoff * 2, std::chrono::milliseconds(50)));
      wait = backoff;
    } else {
      backoff = std::chrono::nanoseconds(0);
      wait = std::max(std::chrono::nanoseconds(0), every - age());
    }
    lock.lock();
    poll_cv_.wait_for(lock, wait, [this] { return stop_polling_; });
  }
}

void PostgresStorage::SetJournalSink(JournalSink* sink) {
  std::scoped_lock lock(commit_mu_, journal_mu_);  // set before serving; no batch in flight
  journal_sink_ = sink;
}

StatusOr<std::vector<JournalEntry>> PostgresStorage::ReadJournal(int64_t after, int limit) {
  return WithReader([&](PgConnection& c) -> StatusOr<std::vector<JournalEntry>> {
    SIRR_ASSIGN_OR_RETURN(
        auto r,
        c.Query("SELECT id, time_ms, fields FROM audit_journal WHERE "
                "node = $1 AND id > $2 ORDER BY id LIMIT $3",
                PgParams().Add(std::string_view(options_.node_id)).Add(after).Add(int64_t{limit})));
    std::vector<JournalEntry> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back({r.Int(i, 0), r.Int(i, 1), r.Text(i, 2)});
    return out;
  });
}

Status PostgresStorage::SaveAuditHead(int64_t seq, const Bytes& mac, int64_t journal_written) {
  return WithWriteTx(
      [&](PgConnection& c) -> Status {
        if (journal_written > 0) {
          SIRR_ASSIGN_OR_RETURN(
              auto r,
              c.Query("DELETE FROM audit_journal WHERE node = $1 AND id <= $2",
                      PgParams().Add(std::string_view(options_.node_id)).Add(journal_written)));
          (void)r;
        }
        SIRR_ASSIGN_OR_RETURN(
            auto r,
            c.Query("INSERT INTO audit_head (node, seq, mac, journal) VALUES ($1, $2, $3, $4) "
                    "ON CONFLICT (node) DO UPDATE SET seq = excluded.seq, mac = excluded.mac, "
                    "journal = greatest(audit_head.journal, excluded.journal)",
                    PgParams()
                        .Add(std::string_view(options_.node_id))
                        .Add(seq)
                        .AddBlob(mac)
                        .Add(journal_written)));
        (void)r;
        return OkStatus();
      },
      nullptr, /*fence=*/false);  // touches no cached row
}

StatusOr<std::optional<std::pair<int64_t, Bytes>>> PostgresStorage::LoadAuditHead() {
  return WithReader([&](PgConnection& c) -> StatusOr<std::optional<std::pair<int64_t, Bytes>>> {
    SIRR_ASSIGN_OR_RETURN(auto r, c.Query("SELECT seq, mac FROM audit_head WHERE node = $1",
                                          PgParams().Add(std::string_view(options_.node_id))));
    if (r.rows() == 0) return std::optional<std::pair<int64_t, Bytes>>();
    return std::optional<std::pair<int64_t, Bytes>>(std::make_pair(r.Int(0, 0), r.Blob(0, 1)));
  });
}

// --- the cross-node cache rule

Status PostgresStorage::ValidateCache() {
  const int64_t lease = std::chrono::nanoseconds(options_.lease).count();
  if (SteadyNanos() - valid_from_.load(std::memory_order_acquire) < lease) return OkStatus();
  return CheckNow();
}

Status PostgresStorage::CheckNow() {
  std::unique_lock lock(epoch_mu_);
  const uint64_t needed = checks_started_ + 1;
  while (checks_finished_ < needed) {
    if (checking_) {
      epoch_cv_.wait(lock);
      continue;
    }
    checking_ = true;
    const uint64_t number = ++checks_started_;
    lock.unlock();
    Status st = CheckEpoch();
    lock.lock();
    checking_ = false;
    checks_finished_ = number;
    last_check_ = st;
    epoch_cv_.notify_all();
  }
  return last_check_;
}

Status PostgresStorage::CheckEpoch() {
  if (epoch_conn_ && epoch_conn_->broken()) epoch_conn_.reset();
  if (!epoch_conn_) {
    SIRR_ASSIGN_OR_RETURN(epoch_conn_, Connect());
  }
  const int64_t started = SteadyNanos();
  auto r = epoch_conn_->Query(kReadEpoch);
  if (!r.ok()) {
    epoch_conn_.reset();
    std::lock_guard lock(epoch_seen_mu_);
    valid_from_.store(0, std::memory_order_release);
    InvalidateCaches();
    epoch_seen_ = -1;
    return r.status();
  }
  NoteEpoch(*r, started);
  return OkStatus();
}

void PostgresStorage::NoteEpoch(const PgResult& r, int64_t started) {
  const int64_t epoch = r.Bool(0, 1) ? r.Int(0, 0) : 0;
  std::lock_guard lock(epoch_seen_mu_);
  // Readings may arrive out of order (the poller's, a commit's): any change drops the cache,
  // and the lease only ever moves forward, to the start of the newest reading.
  if (epoch != epoch_seen_) {
    InvalidateCaches();
    epoch_seen_ = epoch;
  }
  if (started > valid_from_.load(std::memory_order_relaxed))
    valid_from_.store(started, std::memory_order_release);
}

void PostgresStorage::InvalidateCaches() { cache_.Clear(); }

// --- keyring

StatusOr<std::vector<KeyringRow>> PostgresStorage::ListKeyring() {
  return WithReader([](PgConnection& c) -> StatusOr<std::vector<KeyringRow>> {
    SIRR_ASSIGN_OR_RETURN(auto r, c.Query("SELECT version, key_id, state, created_at, updated_at, "
                                          "key_check, audit_key FROM keyring ORDER BY version"));
    std::vector<KeyringRow> rows;
    for (int i = 0; i < r.rows(); ++i)
      rows.push_back({static_cast<int>(r.Int(i, 0)), r.Blob(i, 1), r.Text(i, 2), r.Int(i, 3),
                      r.Int(i, 4), r.Blob(i, 5), r.Blob(i, 6)});
    return rows;
  });
}

namespace {
PgParams KeyringParams(const KeyringRow& row) {
  PgParams p;
  p.Add(int64_t{row.version}).AddBlob(row.key_id).Add(std::string_view(row.state));
  p.Add(row.created_at).Add(row.updated_at).AddBlob(row.key_check).AddBlob(row.audit_key);
  return p;
}
#define SIRR_PG_INSERT_KEYRING                                                                  \
  "INSERT INTO keyring (version, key_id, state, created_at, updated_at, key_check, audit_key) " \
  "VALUES ($1, $2, $3, $4, $5, $6, $7)"
}  // namespace

Status PostgresStorage::AddKeyVersion(const KeyringRow& row, const Journal& journal) {
  return WithWriteTx(
      [&](PgConnection& c) -> Status {
        // Serialises concurrent rotations from several nodes on the keyring.
        SIRR_RETURN_IF_ERROR(c.Exec("LOCK TABLE keyring IN EXCLUSIVE MODE"));
        {
          SIRR_ASSIGN_OR_RETURN(auto r,
                                c.Query("SELECT count(*) FROM keyring WHERE version = $1 "
                                        "OR key_id = $2",
                                        PgParams().Add(int64_t{row.version}).AddBlob(row.key_id)));
          if (r.Int(0, 0) > 0)
            return FailedPreconditionError("key version or key id already in the keyring");
        }
        SIRR_ASSIGN_OR_RETURN(
            auto u, c.Query("UPDATE keyring SET state = $2, updated_at = $1 "
                            "WHERE state = $3",
                            PgParams().Add(row.created_at).Add(kKeyRetiring).Add(kKeyActive)));
        (void)u;
        SIRR_ASSIGN_OR_RETURN(auto i, c.Query(SIRR_PG_INSERT_KEYRING, KeyringParams(row)));
        (void)i;
        return AddJournal(c, journal, {});
      },
      &journal);
}

Status PostgresStorage::SetAuditKey(int version, const Bytes& wrapped) {
  return WithWriteTx([&](PgConnection& c) -> Status {
    return c
        .Query(
            "UPDATE keyring SET audit_key = $1 WHERE version = $2 AND (audit_key IS NULL OR "
            "octet_length(audit_key) = 0)",
            PgParams().AddBlob(wrapped).Add(int64_t{version}))
        .status();
  });
}

Status PostgresStorage::SetKeyState(int version, std::string_view state, int64_t now,
                                    const Journal& journal) {
  return WithWriteTx(
      [&](PgConnection& c) -> Status {
        SIRR_ASSIGN_OR_RETURN(auto r,
                              c.Query("UPDATE keyring SET state = $1, updated_at = $2 WHERE "
                                      "version = $3",
                                      PgParams().Add(state).Add(now).Add(int64_t{version})));
        if (r.affected() == 0) return NotFoundError("no such key version");
        return AddJournal(c, journal, {});
      },
      &journal);
}

StatusOr<int64_t> PostgresStorage::CountVaultKeys(const Bytes& key_id, bool wrapped_by) {
  return WithReader([&](PgConnection& c) -> StatusOr<int64_t> {
    // Envelope v1: version byte, then the 8-byte key id.
    SIRR_ASSIGN_OR_RETURN(auto r, c.Query(wrapped_by ? "SELECT count(*) FROM vaults WHERE "
                                                       "octet_length(wrapped_key) > 9 AND "
                                                       "substring(wrapped_key from 2 for 8) = $1"
                                                     : "SELECT count(*) FROM vaults WHERE "
                                                       "octet_length(wrapped_key) > 9 AND "
                                                       "substring(wrapped_key from 2 for 8) <> $1",
                                          PgParams().AddBlob(key_id)));
    return r.Int(0, 0);
  });
}

StatusOr<std::vector<VaultRow>> PostgresStorage::VaultsNotWrappedBy(const Bytes& key_id,
                                                                    std::string_view after,
                                                                    int limit) {
  return WithReader([&](PgConnection& c) -> StatusOr<std::vector<VaultRow>> {
    SIRR_ASSIGN_OR_RETURN(auto r,
                          c.Query("SELECT id, name, wrapped_key FROM vaults WHERE "
                                  "octet_length(wrapped_key) > 9 AND substring("
                                  "wrapped_key from 2 for 8) <> $1 AND id > $2 "
                                  "ORDER BY id LIMIT $3",
                                  PgParams().AddBlob(key_id).Add(after).Add(int64_t{limit})));
    std::vector<VaultRow> rows;
    for (int i = 0; i < r.rows(); ++i) {
      VaultRow v;
      v.id = r.Text(i, 0);
      v.name = r.Text(i, 1);
      v.wrapped_key = r.Blob(i, 2);
      rows.push_back(std::move(v));
    }
    return rows;
  });
}

StatusOr<int64_t> PostgresStorage::RewrapVaultKeys(const std::vector<Rewrap>& rewraps,
                                                   const Journal& journal) {
  int64_t changed = 0;
  Status st = WithWriteTx(
      [&](PgConnection& c) -> Status {
        changed = 0;
        for (const auto& rw : rewraps) {
          SIRR_ASSIGN_OR_RETURN(auto r, c.Query("UPDATE vaults SET wrapped_key = $1 WHERE id = $2 "
                                                "AND wrapped_key = $3",
                                                PgParams()
                                                    .AddBlob(rw.new_wrapped)
                                                    .Add(std::string_view(rw.vault_id))
                                                    .AddBlob(rw.old_wrapped)));
          changed += r.affected();
        }
        return AddJournal(c, journal, {.index = changed});
      },
      &journal);
  if (!st.ok()) return st;
  return changed;
}

Status PostgresStorage::BackupTo(const std::string&) {
  return FailedPreconditionError(
      "this sirrd stores its data in PostgreSQL: back the database up with pg_dump (logical) "
      "or pg_basebackup / continuous archiving (physical), see docs/ha.md; the master key is "
      "backed up separately as always");
}

StatusOr<int64_t> PostgresStorage::CountVaults() {
  return WithReader([](PgConnection& c) -> StatusOr<int64_t> {
    SIRR_ASSIGN_OR_RETURN(auto r, c.Query("SELECT count(*) FROM vaults"));
    return r.Int(0, 0);
  });
}

Status PostgresStorage::InitializeInstance(const KeyringRow& key, const VaultRow& vault,
                                           const Journal& journal) {
  return WithWriteTx(
      [&](PgConnection& c) -> Status {
        // Two nodes unsealing an empty database at once: one initialises, the other finds the
        // keyring (and then checks its key against it).
        SIRR_RETURN_IF_ERROR(c.Exec("LOCK TABLE keyring IN EXCLUSIVE MODE"));
        {
          SIRR_ASSIGN_OR_RETURN(auto r, c.Query("SELECT count(*) FROM keyring"));
          if (r.Int(0, 0) > 0) return FailedPreconditionError("the database already has a keyring");
        }
        SIRR_ASSIGN_OR_RETURN(auto k, c.Query(SIRR_PG_INSERT_KEYRING, KeyringParams(key)));
        (void)k;
        SIRR_ASSIGN_OR_RETURN(auto v, c.Query("INSERT INTO vaults (id, name, description, "
                                              "created_at, wrapped_key, owner) VALUES ($1, $2, "
                                              "$3, $4, $5, $6)",
                                              PgParams()
                                                  .Add(std::string_view(vault.id))
                                                  .Add(std::string_view(vault.name))
                                                  .Add(std::string_view(vault.description))
                                                  .Add(vault.created_at)
                                                  .AddBlob(vault.wrapped_key)
                                                  .Add(std::string_view(vault.owner))));
        (void)v;
        return AddJournal(c, journal, {});
      },
      &journal);
}

StatusOr<LiveCounts> PostgresStorage::CountLive(int64_t now) {
  return WithReader([&](PgConnection& c) -> StatusOr<LiveCounts> {
    SIRR_ASSIGN_OR_RETURN(
        auto r,
        c.Query("SELECT (SELECT count(*) FROM secrets WHERE state = 0 AND (expires_at IS NULL "
                "OR expires_at > $1)), (SELECT count(*) FROM vaults WHERE "
                "octet_length(wrapped_key) > 0), (SELECT count(*) FROM keys), (SELECT count(*) "
                "FROM tokens WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > "
                "$1))",
                PgParams().Add(now)));
    return LiveCounts{r.Int(0, 0), r.Int(0, 1), r.Int(0, 2), r.Int(0, 3)};
  });
}

std::string PostgresStorage::Where() { return where_; }

StatusOr<std::shared_ptr<void>> PostgresStorage::LockJob(std::string_view job) {
  // A session-level advisory lock on a connection of its own, held as long as the returned
  // holder lives (the node that dies loses its connection and with it the lock).
  uint64_t hash = static_cast<uint64_t>(internal::kJobLockBase);  // unsigned: wraps, no UB
  for (char ch : job) hash = hash * 31 + static_cast<unsigned char>(ch);
  const auto key = static_cast<int64_t>(hash);
  SIRR_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> c, Connect());
  SIRR_ASSIGN_OR_RETURN(auto r, c->Query("SELECT pg_try_advisory_lock($1)", PgParams().Add(key)));
  if (!r.Bool(0, 0))
    return FailedPreconditionError("another sirrd node is running " + std::string(job) +
                                   " (it holds the database's advisory lock)");
  return std::shared_ptr<void>(c.release(), [](void* p) {
    delete static_cast<PgConnection*>(p);  // closing the session releases the lock
  });
}

}  // namespace sirr::storage
