#pragma once

// ReadCache: the backends' in-memory cache of vault rows, key rows and live secrets without a
// read limit (sealed material only, never plaintext). Not part of the Storage interface: a
// helper for backends (storage/sqlite, storage/postgres).
//
// Staleness: Clear() (after a write, or when another node's write is detected) bumps a
// generation; a row read from the database is filled only if no clear happened since the read
// began (Find's `generation`), so a row read before a write is never cached after it.
//
// Bounds: at most kMaxRows vault and key rows each, and kMaxSecrets secrets holding at most
// kMaxSecretBytes of ciphertext; past a bound that map starts over. Thread-safe.

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>

#include "storage/storage.h"

namespace sirr::storage {

class ReadCache {
 public:
  // (reference, scope: owner or vault id, with secret material)
  using Key = std::tuple<std::string, std::string, bool>;
  static constexpr size_t kMaxRows = 4096;
  static constexpr size_t kMaxSecrets = 16384;
  static constexpr size_t kMaxSecretBytes = 64 << 20;

  // The cached row (a secret only while unexpired at `now`), or nullopt with the generation a
  // Fill after the database read must present.
  template <typename Row>
  std::optional<Row> Find(const Key& key, uint64_t* generation, int64_t now = 0) {
    std::shared_lock lock(mu_);
    const auto& rows = Rows<Row>();
    auto it = rows.find(key);
    if (it != rows.end()) {
      if constexpr (std::is_same_v<Row, SecretRow>) {
        if (!(it->second.expires_at && *it->second.expires_at <= now)) return it->second;
      } else {
        return it->second;
      }
    }
    *generation = generation_;
    return std::nullopt;
  }

  // Caches `row` unless the cache was cleared since `generation`.
  template <typename Row>
  void Fill(Key key, const Row& row, uint64_t generation) {
    std::unique_lock lock(mu_);
    if (generation != generation_) return;
    auto& rows = Rows<Row>();
    if constexpr (std::is_same_v<Row, SecretRow>) {
      if (rows.size() >= kMaxSecrets || secret_bytes_ + row.value.size() > kMaxSecretBytes) {
        rows.clear();
        secret_bytes_ = 0;
      }
      if (rows.emplace(std::move(key), row).second) secret_bytes_ += row.value.size();
    } else {
      if (rows.size() >= kMaxRows) rows.clear();
      rows.emplace(std::move(key), row);
    }
  }

  void Clear() {
    std::unique_lock lock(mu_);
    vaults_.clear();
    secrets_.clear();
    secret_bytes_ = 0;
    keys_.clear();
    ++generation_;
  }

  // Drops only these vaults' rows (a key rotation batch changes nothing else).
  void ClearVaults(const std::set<std::string_view>& ids) {
    std::unique_lock lock(mu_);
    std::erase_if(vaults_, [&](const auto& entry) { return ids.count(entry.second.id) > 0; });
    ++generation_;  // rows read while the write ran are not cached
  }

 private:
  template <typename Row>
  std::map<Key, Row>& Rows() {
    if constexpr (std::is_same_v<Row, VaultRow>)
      return vaults_;
    else if constexpr (std::is_same_v<Row, SecretRow>)
      return secrets_;
    else
      return keys_;
  }

  std::shared_mutex mu_;
  std::map<Key, VaultRow> vaults_;    // guarded by mu_
  std::map<Key, SecretRow> secrets_;  // guarded by mu_
  std::map<Key, KeyRow> keys_;        // guarded by mu_
  size_t secret_bytes_ = 0;           // guarded by mu_
  uint64_t generation_ = 0;           // guarded by mu_; bumped by every clear
};

}  // namespace sirr::storage
