#pragma once

// Templates and helpers shared by PostgresStorage's parts (group commit, reader pool, read
// cache). Not a public interface; include only from storage/postgres/*.cc.

#include <chrono>
#include <functional>
#include <optional>
#include <string_view>
#include <thread>

#include "storage/postgres/pg_storage.h"

namespace sirr::storage {

namespace internal {
// Advisory lock keys (pg_advisory_*): "sirr" in ASCII, then a number per purpose.
inline constexpr int64_t kMigrationLock = 0x73697272'00000001;
inline constexpr int64_t kJobLockBase = 0x73697272'00000100;
// Advances the epoch the cross-node cache rule polls (pg_storage.h).
inline constexpr char kAdvanceEpoch[] = "SELECT nextval('sirr_epoch')";
inline constexpr char kReadEpoch[] = "SELECT last_value, is_called FROM sirr_epoch";
inline int64_t SteadyNanos() { return std::chrono::steady_clock::now().time_since_epoch().count(); }
Status PgMigrate(PgConnection& c);
}  // namespace internal
using internal::kAdvanceEpoch;
using internal::kMigrationLock;
using internal::kReadEpoch;
using internal::SteadyNanos;

struct PostgresStorage::WriteOp {
  std::function<Status(PgConnection&)> fn;
  bool fence = true;                      // as the caller asked
  const SecretRow* new_secret = nullptr;  // PutSecret: tried first as a plain insert (below)
  Status result;
  bool done = false;             // guarded by commit_mu_
  std::condition_variable wake;  // done, or first in the queue with a lane free
  // Set by the lane's thread while the write is applied:
  bool fenced = true;     // this run may have changed cached rows (`fence` unless fn says not)
  bool inserted = false;  // new_secret went in with the batch's insert of new secrets
  std::vector<JournalEntry> journaled;  // collected while fn runs
  // When the epoch advanced after this write's commit (steady clock).
  std::chrono::steady_clock::time_point advanced{};
};

template <typename Fn>
Status PostgresStorage::WithWriteTx(Fn&& fn, const Journal* journal, bool fence,
                                    const SecretRow* new_secret) {
  // Audit before commit: while the audit log cannot take records, no audited change starts.
  if (journal && *journal && journal_sink_) SIRR_RETURN_IF_ERROR(journal_sink_->Ready());
  WriteOp op;
  op.fn = std::ref(fn);
  op.fence = fence;
  op.new_secret = new_secret;
  std::unique_lock lock(commit_mu_);
  commit_queue_.push_back(&op);
  while (!op.done) {
    // Each waiter sleeps on its own condition variable: a finished batch wakes its writers and
    // the next queued one, not every thread waiting to write.
    if (commit_queue_.empty() || commit_queue_.front() != &op ||
        leaders_ >= std::max(1, options_.writers)) {
      op.wake.wait(lock);
      continue;
    }
    // A free lane and we are first in the queue: take everything queued.
    ++leaders_;
    std::vector<WriteOp*> batch;
    batch.swap(commit_queue_);
    lock.unlock();
    CommitBatch(batch);
    // Writes may have changed cached rows: drop them before any writer returns (unless none
    // of the batch's writes touches what the cache holds).
    bool fenced = false;
    for (const WriteOp* w : batch) fenced = fenced || (w->fenced && w->result.ok());
    if (fenced) InvalidateCaches();
    lock.lock();
    --leaders_;
    for (WriteOp* w : batch) {
      w->done = true;
      if (w != &op) w->wake.notify_one();
    }
    if (!commit_queue_.empty()) commit_queue_.front()->wake.notify_one();
  }
  lock.unlock();
  // The cache rule: every node's lease that could still vouch for a row read before this write
  // has run out before the caller hears of it.
  if (op.result.ok() && op.fenced && op.advanced != std::chrono::steady_clock::time_point{})
    std::this_thread::sleep_until(op.advanced + options_.lease + std::chrono::milliseconds(1));
  return op.result;
}

template <typename Fn>
auto PostgresStorage::WithReader(Fn&& fn) -> decltype(fn(std::declval<PgConnection&>())) {
  std::unique_ptr<PgConnection> c;
  {
    std::unique_lock lock(readers_mu_);
    readers_cv_.wait(
        lock, [&] { return !idle_readers_.empty() || readers_out_ < std::max(1, options_.pool); });
    if (!idle_readers_.empty()) {
      c = std::move(idle_readers_.back());
      idle_readers_.pop_back();
    }
    ++readers_out_;
  }
  auto give_back = [&] {
    std::lock_guard lock(readers_mu_);
    --readers_out_;
    if (c && !c->broken()) idle_readers_.push_back(std::move(c));
    readers_cv_.notify_one();
  };
  if (!c) {
    auto opened = Connect();
    if (!opened.ok()) {
      give_back();
      return opened.status();
    }
    c = std::move(opened).value();
  }
  auto result = fn(*c);
  give_back();
  return result;
}

template <typename Row, typename Load>
StatusOr<Row> PostgresStorage::CachedRead(CacheKey key, Load&& load) {
  SIRR_RETURN_IF_ERROR(ValidateCache());
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

}  // namespace sirr::storage
