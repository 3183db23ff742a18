// PostgresStorage's group commit (pg_storage.h): batches of writes on the write lanes, the
// one-round-trip insert of new secrets, the journal rows committed with each batch and handed
// to the audit log in id order, and a COMMIT whose outcome was lost with the connection.

#include <chrono>
#include <set>
#include <thread>

#include "storage/postgres/pg_internal.h"

namespace sirr::storage {

void PostgresStorage::CommitBatch(const std::vector<WriteOp*>& batch) {
  const auto start = std::chrono::steady_clock::now();
  metrics_.batch_size.Observe(static_cast<double>(batch.size()));
  std::unique_ptr<PgConnection> c;
  {
    std::lock_guard lock(commit_mu_);
    if (!idle_writers_.empty()) {
      c = std::move(idle_writers_.back());
      idle_writers_.pop_back();
    }
  }
  if (c && c->broken()) c.reset();
  if (!c) {
    auto opened = Connect();
    if (!opened.ok()) {
      for (WriteOp* w : batch) w->result = opened.status();
      return;
    }
    c = std::move(opened).value();
  }
  // Optimistic: the whole batch in one transaction, no savepoints (two round trips fewer per
  // write). A write that fails spoils the transaction for the others: it is rolled back and
  // every write of the batch runs again, in order, each in a transaction of its own.
  std::vector<JournalEntry> entries;
  StatusOr<bool> committed = ApplyInOneTransaction(c, batch, &entries);
  if (committed.ok() && !*committed && batch.size() > 1) {
    for (size_t i = 0; i < batch.size(); ++i) {
      StatusOr<bool> one = ApplyInOneTransaction(c, {batch[i]}, &entries);
      if (!one.ok()) {
        for (size_t j = i; j < batch.size(); ++j) batch[j]->result = one.status();
        break;
      }
    }
  } else if (!committed.ok()) {
    for (WriteOp* w : batch) w->result = committed.status();
  }
  // Other nodes drop their cached rows before any caller here returns (pg_storage.h): a
  // transaction with a fenced write advanced the epoch right after its COMMIT; when that did
  // not happen (connection lost), it advances now.
  std::vector<WriteOp*> owed;
  for (WriteOp* w : batch)
    if (w->result.ok() && w->fenced && w->advanced == std::chrono::steady_clock::time_point{})
      owed.push_back(w);
  if (!owed.empty()) {
    Status bumped = c ? c->Query(kAdvanceEpoch).status() : UnavailableError("no connection");
    if (!bumped.ok()) {
      c.reset();
      auto again = Connect();
      if (again.ok()) {
        c = std::move(again).value();
        bumped = c->Query(kAdvanceEpoch).status();
      }
    }
    if (!bumped.ok())
      for (WriteOp* w : owed)
        w->result = UnavailableError(
            "database: connection lost after the commit; other nodes may not see this write "
            "until it returns");
    const auto advanced = std::chrono::steady_clock::now();
    for (WriteOp* w : owed) w->advanced = advanced;
  }
  if (c && !c->broken()) {
    std::lock_guard lock(commit_mu_);
    idle_writers_.push_back(std::move(c));
  }
  metrics_.commit_seconds.Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

namespace {

constexpr size_t kInsertRows = 64;  // rows per insert statement of new secrets
// "INSERT INTO secrets ... VALUES (row 1), ..., (row n)" for n = 1..64, plain or with "ON
// CONFLICT (vault_id, name) DO NOTHING RETURNING id", built once (their addresses key the
// prepared statements).
const char* InsertSecretsSql(size_t n, bool skip_existing) {
  static const std::vector<std::string> texts = [] {
    std::vector<std::string> out;
    for (int skip = 0; skip < 2; ++skip)
      for (size_t rows = 1; rows <= kInsertRows; ++rows) {
        std::string sql =
            "INSERT INTO secrets (id, vault_id, name, type, description, created_at, "
            "expires_at, max_reads, reads_remaining, state, gone_at, content_type, access_hash, "
            "value) VALUES ";
        for (size_t r = 0; r < rows; ++r) {
          sql += r ? ", (" : "(";
          for (size_t k = 1; k <= 12; ++k) {
            sql += "$" + std::to_string(r * 12 + k) + (k < 12 ? ", " : ")");
            if (k == 9) sql += "0, NULL, ";  // state live, gone_at
          }
        }
        out.push_back(skip ? sql + " ON CONFLICT (vault_id, name) DO NOTHING RETURNING id" : sql);
      }
    return out;
  }();
  return texts[(skip_existing ? kInsertRows : 0) + n - 1].c_str();
}

// A row's 12 parameters, in InsertSecretsSql's order.
void AddSecretParams(PgParams& p, const SecretRow& row) {
  p.Add(std::string_view(row.id)).Add(std::string_view(row.vault_id));
  p.Add(std::string_view(row.name)).Add(std::string_view(row.type));
  p.Add(std::string_view(row.description)).Add(row.created_at).Add(row.expires_at);
  p.Add(row.max_reads).Add(row.reads_remaining).Add(std::string_view(row.content_type));
  p.AddBlob(row.access_hash).AddBlob(row.value);
}

const PgParams kNoParams;
}  // namespace

thread_local PostgresStorage::WriteOp* PostgresStorage::applying_ = nullptr;

bool PostgresStorage::InsertedByBatch() {
  if (!applying_ || !applying_->inserted) return false;
  applying_->fenced = false;
  return true;
}

Status PostgresStorage::InsertNewSecrets(PgConnection& c, const std::vector<WriteOp*>& run) {
  // The first write of each name only: a later one of the same name then runs as an overwrite
  // after it, as it would in order.
  std::vector<WriteOp*> rows;
  std::set<std::pair<std::string_view, std::string_view>> names;
  for (WriteOp* w : run)
    if (names.emplace(w->new_secret->vault_id, w->new_secret->name).second) rows.push_back(w);
  std::vector<PgParams> params((rows.size() + kInsertRows - 1) / kInsertRows);
  std::vector<PgConnection::Statement> statements;
  for (size_t i = 0; i < rows.size(); i += kInsertRows) {
    PgParams& p = params[i / kInsertRows];
    const size_t n = std::min(kInsertRows, rows.size() - i);
    for (size_t k = i; k < i + n; ++k) AddSecretParams(p, *rows[k]->new_secret);
    statements.push_back({InsertSecretsSql(n, /*skip_existing=*/true), &p});
  }
  std::set<std::string> inserted;
  for (auto& r : c.Pipeline(statements)) {
    if (!r.ok()) return r.status();
    for (int i = 0; i < r->rows(); ++i) inserted.insert(r->Text(i, 0));
  }
  for (WriteOp* w : rows) w->inserted = inserted.contains(w->new_secret->id);
  return OkStatus();
}

StatusOr<bool> PostgresStorage::ApplyInOneTransaction(std::unique_ptr<PgConnection>& conn,
                                                      const std::vector<WriteOp*>& ops,
                                                      std::vector<JournalEntry>* entries) {
  if (!conn) return UnavailableError("database: connection lost; nothing was written");
  // Only new secrets (a push under load): all in one round trip when no name exists.
  if (auto fast = ApplyNewSecrets(conn, ops, entries); !fast.ok() || *fast) return fast;
  if (!conn) return UnavailableError("database: connection lost; nothing was written");
  PgConnection& c = *conn;
  c.BeginWithNext();
  for (WriteOp* w : ops) w->inserted = false;
  for (size_t i = 0; i < ops.size(); ++i) {
    WriteOp* w = ops[i];
    if (w->new_secret && (i == 0 || !ops[i - 1]->new_secret)) {  // a run of new secrets begins
      std::vector<WriteOp*> run;
      for (size_t k = i; k < ops.size() && ops[k]->new_secret; ++k) run.push_back(ops[k]);
      Status st = InsertNewSecrets(c, run);
      if (c.broken()) {
        conn.reset();
        return UnavailableError("database: connection lost; nothing was written");
      }
      if (!st.ok()) {
        for (WriteOp* r : run) r->result = st;
        (void)c.Rollback();
        return false;
      }
    }
    w->journaled.clear();
    w->fenced = w->fence;
    applying_ = w;
    w->result = w->fn(c);
    applying_ = nullptr;
    if (c.broken()) {
      conn.reset();
      return UnavailableError("database: connection lost; nothing was written");
    }
    if (!w->result.ok()) {
      (void)c.Rollback();
      return false;
    }
  }
  return FinishTransaction(conn, ops, entries, nullptr);
}

StatusOr<bool> PostgresStorage::ApplyNewSecrets(std::unique_ptr<PgConnection>& conn,
                                                const std::vector<WriteOp*>& ops,
                                                std::vector<JournalEntry>* entries) {
  if (!conn || ops.size() > kInsertRows) return false;
  std::set<std::pair<std::string_view, std::string_view>> names;
  for (WriteOp* w : ops)
    if (!w->new_secret || !names.emplace(w->new_secret->vault_id, w->new_secret->name).second)
      return false;
  // Each write as if its row went in (PutSecret then only makes its records; no statement).
  conn->BeginWithNext();
  for (WriteOp* w : ops) {
    w->journaled.clear();
    w->fenced = w->fence;
    w->inserted = true;
    applying_ = w;
    w->result = w->fn(*conn);
    applying_ = nullptr;
    if (!w->result.ok() || conn->broken()) {
      (void)conn->Rollback();
      return false;
    }
  }
  PgParams rows;
  for (WriteOp* w : ops) AddSecretParams(rows, *w->new_secret);
  // A plain INSERT: a name that exists fails it, and with it the round trip's COMMIT.
  const PgConnection::Statement insert{InsertSecretsSql(ops.size(), /*skip_existing=*/false),
                                       &rows};
  return FinishTransaction(conn, ops, entries, &insert);
}

StatusOr<bool> PostgresStorage::FinishTransaction(std::unique_ptr<PgConnection>& conn,
                                                  const std::vector<WriteOp*>& ops,
                                                  std::vector<JournalEntry>* entries,
                                                  const PgConnection::Statement* before) {
  PgConnection& c = *conn;
  // The batch's audit records in one statement, numbered in this node's commit order; then
  // the COMMIT; then, when a write may have changed cached rows, the epoch advance (after the
  // COMMIT: pg_storage.h); then an epoch reading. One round trip.
  int64_t n = 0;
  bool fence = false;
  for (WriteOp* w : ops) {
    n += static_cast<int64_t>(w->journaled.size());
    fence = fence || w->fenced;
  }
  const int64_t first = n > 0 ? ReserveJournalIds(n) : 0;
  std::vector<int64_t> ids, times;
  std::vector<std::string_view> fields;
  std::vector<JournalEntry> batch_entries;
  int64_t id = first;
  for (WriteOp* w : ops)
    for (JournalEntry& e : w->journaled) {
      e.id = id++;
      ids.push_back(e.id);
      times.push_back(e.time_ms);
      fields.push_back(e.fields);
    }
  for (WriteOp* w : ops)
    for (const JournalEntry& e : w->journaled) batch_entries.push_back(e);
  PgParams journal;
  std::vector<PgConnection::Statement> tail;
  if (before) tail.push_back(*before);
  if (n > 0) {
    journal.Add(std::string_view(options_.node_id));
    journal.Add(std::string_view(PgIntArray(ids))).Add(std::string_view(PgIntArray(times)));
    journal.Add(std::string_view(PgTextArray(fields)));
    tail.push_back(
        {"INSERT INTO audit_journal (node, id, time_ms, fields) SELECT $1, i, t, f "
         "FROM unnest($2::text::bigint[], $3::text::bigint[], $4::text::text[]) AS "
         "u(i, t, f)",
         &journal});
  }
  tail.push_back({"COMMIT", &kNoParams});
  if (fence) tail.push_back({kAdvanceEpoch, &kNoParams});
  tail.push_back({kReadEpoch, &kNoParams});  // renews this node's cache lease (PollLoop)
  const int64_t started = SteadyNanos();
  auto results = c.Pipeline(tail);
  // The first failure stands for the rest (the server skipped them); else the COMMIT's.
  const size_t commit = (before ? 1 : 0) + (n > 0 ? 1 : 0);
  Status st = OkStatus();
  for (size_t i = 0; i <= commit && st.ok(); ++i) st = results[i].status();
  if (before && !results[0].ok() && !c.broken()) {  // nothing written: the ordinary way
    (void)c.Rollback();
    if (n > 0) ReleaseJournalIds(first, n, {});
    return false;
  }
  if (st.ok()) {
    if (results.back().ok()) NoteEpoch(*results.back(), started);
    if (fence && results[results.size() - 2].ok()) {
      const auto advanced = std::chrono::steady_clock::now();
      for (WriteOp* w : ops)
        if (w->fenced) w->advanced = advanced;
    }
    entries->insert(entries->end(), batch_entries.begin(), batch_entries.end());
    if (n > 0) ReleaseJournalIds(first, n, std::move(batch_entries));
    return true;
  }
  if (!c.broken()) {
    (void)c.Rollback();
    if (n > 0) ReleaseJournalIds(first, n, {});
    return st;
  }
  // Lost during the COMMIT: the outcome is unknown until the journal rows are looked for (a
  // write without records stays unknown).
  conn.reset();
  if (n == 0) return st;
  auto committed = Committed(ids);
  if (committed.ok() && *committed) {
    entries->insert(entries->end(), batch_entries.begin(), batch_entries.end());
    ReleaseJournalIds(first, n, std::move(batch_entries));
    return true;
  }
  ReleaseJournalIds(first, n, {});
  return UnavailableError(committed.ok() ? "database: connection lost; nothing was written"
                                         : "database: connection lost during commit; the "
                                           "write may or may not have been applied");
}

int64_t PostgresStorage::ReserveJournalIds(int64_t n) {
  std::lock_guard lock(journal_mu_);
  const int64_t first = next_journal_id_;
  next_journal_id_ += n;
  return first;
}

void PostgresStorage::ReleaseJournalIds(int64_t first, int64_t n,
                                        std::vector<JournalEntry> committed) {
  std::unique_lock lock(journal_mu_);
  // Records reach the sink in id order: a range waits for every lower one (those lanes are
  // between their journal insert and their COMMIT, which waits on no lock of ours).
  journal_cv_.wait(lock, [&] { return next_handoff_id_ == first; });
  if (journal_sink_ && !committed.empty()) journal_sink_->Committed(std::move(committed));
  next_handoff_id_ = first + n;
  journal_cv_.notify_all();
}

StatusOr<bool> PostgresStorage::Committed(const std::vector<int64_t>& ids) {
  const std::string list = PgIntArray(ids);
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto c = Connect();
    if (!c.ok()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      continue;
    }
    SIRR_ASSIGN_OR_RETURN(
        auto r, (*c)->Query("SELECT count(*) FROM audit_journal WHERE node = "
                            "$2 AND id = ANY($1::text::bigint[])",
                            PgParams().Add(list).Add(std::string_view(options_.node_id))));
    return r.Int(0, 0) > 0;
  }
  return UnavailableError("database unreachable");
}

Status PostgresStorage::AddJournal(PgConnection&, const Journal& journal,
                                   const JournalContext& ctx) {
  // Inserted with the rest of the batch's records just before the COMMIT (one statement).
  if (!journal || !applying_) return OkStatus();
  for (JournalEntry& e : journal(ctx)) applying_->journaled.push_back(std::move(e));
  return OkStatus();
}

}  // namespace sirr::storage
