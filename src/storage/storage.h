#pragma once

// Storage: the persistence interface. Everything here is ciphertext or metadata; no plaintext
// secret value or key ever crosses this interface. No SQL outside src/storage/.
//
// Contract: every method is atomic (one transaction). Thread safety: implementations are
// thread-safe; any number of threads may call concurrently.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/secret_bytes.h"
#include "base/status.h"

namespace sirr::storage {

struct KeyringRow {
  int version = 0;
  Bytes key_id;            // 8 bytes
  std::string state;       // "active", "retiring", "retired"
  int64_t created_at = 0;  // ms since epoch
  int64_t updated_at = 0;
  Bytes key_check;  // envelope v1 of a fixed string under the wrap key
};

struct VaultRow {
  std::string id;
  std::string name;
  std::string description;
  int64_t created_at = 0;
  Bytes wrapped_key;  // envelope v1 of the vault master key under the wrap key
};

enum class SecretState { kLive = 0, kBurned = 1, kExpired = 2 };

struct SecretRow {
  std::string id;
  std::string vault_id;
  std::string name;
  std::string type;
  std::string description;
  int64_t created_at = 0;
  std::optional<int64_t> expires_at;  // ms since epoch
  std::optional<int64_t> max_reads;
  std::optional<int64_t> reads_remaining;  // null: unlimited
  SecretState state = SecretState::kLive;
  std::optional<int64_t> gone_at;  // when burned/expired
  Bytes value;                     // envelope v1; empty once burned/expired
};

struct SecretFilter {
  std::string type;    // empty: any
  std::string prefix;  // empty: any
  int64_t offset = 0;
  int64_t limit = 25;
};

struct SecretPage {
  std::vector<SecretRow> rows;  // values not filled
  int64_t total = 0;
};

class Storage {
 public:
  virtual ~Storage() = default;

  // --- keyring and instance
  virtual StatusOr<std::vector<KeyringRow>> ListKeyring() = 0;
  virtual StatusOr<int64_t> CountVaults() = 0;
  // Creates keyring version 1 and the first vault in one transaction. FailedPrecondition
  // if a keyring already exists (never initialises a second keyring over existing data).
  virtual Status InitializeInstance(const KeyringRow& key, const VaultRow& vault) = 0;

  // --- vaults
  virtual StatusOr<VaultRow> GetVault(std::string_view id_or_name) = 0;  // NotFound

  // --- secrets
  // Inserts a live secret. When a secret of that name exists: a live, unexpired one is
  // AlreadyExists unless `overwrite`; otherwise (or with overwrite) it is replaced.
  virtual Status PutSecret(const SecretRow& row, bool overwrite, int64_t now) = 0;
  // Metadata (value not filled) of the secret by id or name, in any state. NotFound.
  virtual StatusOr<SecretRow> GetSecretMeta(std::string_view vault_id,
                                            std::string_view id_or_name) = 0;
  // One read, atomically: a live secret past its expiry is marked expired (value destroyed)
  // and returned with state kExpired; a read-limited one has reads_remaining decremented, and
  // the read that exhausts it returns the value and destroys it (state kBurned) in the same
  // transaction. A burned/expired secret is returned with its state and no value. NotFound.
  virtual StatusOr<SecretRow> ReadSecret(std::string_view vault_id, std::string_view id_or_name,
                                         int64_t now) = 0;
  // Live, unexpired secrets (metadata only) ordered by name.
  virtual StatusOr<SecretPage> ListSecrets(std::string_view vault_id, const SecretFilter& filter,
                                           int64_t now) = 0;
  // Removes the row (any state); returns its metadata. NotFound.
  virtual StatusOr<SecretRow> DeleteSecret(std::string_view vault_id,
                                           std::string_view id_or_name) = 0;
  // Destroys the values of live secrets whose expiry is <= now; returns their metadata.
  virtual StatusOr<std::vector<SecretRow>> ExpireDue(int64_t now, int limit) = 0;
  // Deletes burned/expired tombstones that went away at or before `gone_before`.
  virtual StatusOr<int64_t> PurgeTombstones(int64_t gone_before) = 0;

  // --- audit chain head (to detect truncation of the audit log)
  virtual Status SaveAuditHead(int64_t seq, const Bytes& mac) = 0;
  virtual StatusOr<std::optional<std::pair<int64_t, Bytes>>> LoadAuditHead() = 0;
};

}  // namespace sirr::storage
