#pragma once

// Templates and helpers shared by SqliteStorage's parts (group commit, reader pool, read
// cache, id-or-name lookups). Not a public interface; include only from storage/sqlite/*.cc.

#include <functional>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string_view>

#include "storage/sqlite/sqlite_db.h"
#include "storage/sqlite/sqlite_storage.h"

namespace sirr::storage {

// SecretState::kLive as SQL text. Statements served by the partial indexes on live secrets
// (schema: `WHERE state = 0`) must spell the value in their text (a bound parameter cannot
// imply an index's condition); everything else binds the enum (Stmt::Bind).
#define SIRR_SQL_LIVE "0"
static_assert(static_cast<int>(SecretState::kLive) == 0, "SIRR_SQL_LIVE and the schema say 0");

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

template <typename Row, typename Load>
StatusOr<Row> SqliteStorage::CachedRead(CacheKey key, Load&& load) {
  uint64_t generation = 0;
  if (auto hit = cache_.Find<Row>(key, &generation)) {
    metrics_.cache_hits.Inc();
    return std::move(*hit);
  }
  metrics_.cache_misses.Inc();
  StatusOr<Row> row = WithReader(load);
  if (row.ok()) cache_.Fill(std::move(key), *row, generation);
  return row;
}

namespace internal {

// Runs `by_id` (when `ref` may be an id) and then `by_name`, both bound to (vault_id, ref),
// and reads the first row found with `read`: an id match wins over a name match. Two
// point lookups on the primary key and the (vault_id, name) index; no sort.
template <typename Row, typename Read>
StatusOr<std::optional<Row>> FindByIdOrName(Connection& c, const char* by_id, const char* by_name,
                                            std::string_view vault_id, std::string_view ref,
                                            Read&& read) {
  for (const char* sql : {by_id, by_name}) {
    if (sql == by_id && !LooksLikeId(ref)) continue;
    SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare(sql));
    s->Bind(1, vault_id).Bind(2, ref);
    SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
    if (row) return std::optional<Row>(read(*s));
  }
  return std::optional<Row>();
}

}  // namespace internal
}  // namespace sirr::storage
