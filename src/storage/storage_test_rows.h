#pragma once

// Test-only: the rows the storage tests start from (one keyring version, vault "vid") and a
// secret row builder, shared by the contract suite and the backends' own tests.

#include <optional>
#include <string>

#include "storage/storage.h"

namespace sirr::storage::testing {

inline Status InitializeTestInstance(Storage& db) {
  KeyringRow key{1, Bytes(8, 1), "active", 1, 1, Bytes(40, 2), {}};
  VaultRow vault{"vid", "default", "", 1, Bytes(70, 3), ""};
  return db.InitializeInstance(key, vault);
}

// A live secret in vault "vid" created at t=100 with the value {1, 2, 3}.
inline SecretRow TestSecret(const std::string& id, const std::string& name,
                            std::optional<int64_t> reads = std::nullopt,
                            std::optional<int64_t> expires = std::nullopt) {
  SecretRow r;
  r.id = id;
  r.vault_id = "vid";
  r.name = name;
  r.created_at = 100;
  r.expires_at = expires;
  r.max_reads = reads;
  r.reads_remaining = reads;
  r.value = Bytes{1, 2, 3};
  return r;
}

}  // namespace sirr::storage::testing
