#pragma once

// SealKeeper: the seal state machine (DESIGN.md §4).
//
//   sealed --Unseal(key)--> unsealed --Seal()--> sealed
//
// Unseal checks the key against SEAL_UNSEAL_VALIDATION_HASH (when configured) and the keyring's
// key-check value, initialises an empty database (keyring version 1, the `default` vault), and
// gives the audit log its key. Seal drops the Instance: once the requests that hold it finish,
// the wrap key, the audit key and every cached vault key are wiped.
//
// Thread safety: thread-safe. Unseal and Seal are serialised; Acquire is cheap and lock-light.

#include <array>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit_log.h"
#include "base/clock.h"
#include "base/random.h"
#include "core/instance.h"
#include "crypto/cloak.h"
#include "storage/storage.h"

namespace sirr::core {

inline constexpr std::string_view kSealedMessage = "vault is sealed";

struct SealOptions {
  std::string provider = "file";
  std::optional<std::array<uint8_t, 32>> validation_hash;  // SHA-256 of the mnemonic
  size_t vault_key_cache = 4096;  // unwrapped vault keys kept (Instance::set_vault_key_limit)
};

struct KeyVersionInfo {
  int version = 0;
  std::string key_id;  // hex
  std::string state;
};

struct SealStatus {
  bool sealed = true;
  bool initialized = false;
  std::string provider;
  std::vector<KeyVersionInfo> key_versions;
  bool validation_hash_configured = false;
};

struct UnsealResult {
  bool already_unsealed = false;  // the key matched the running instance; nothing changed
  bool initialized_now = false;   // the database was empty and has been initialised
  int key_version = 0;
};

class SealKeeper {
 public:
  SealKeeper(storage::Storage& storage, audit::AuditLog& audit, const Clock& clock, Random& random,
             SealOptions options);
  ~SealKeeper();

  // PermissionDenied when the key does not match the validation hash or the keyring (also when
  // already unsealed); DataLoss when the audit log does not continue the recorded chain.
  StatusOr<UnsealResult> Unseal(SecretBytes master_key);
  // Idempotent. Returns once no request holds the instance any more and the keys are wiped.
  void Seal();
  bool sealed() const;

  // The unsealed instance, kept alive (and its keys) while the caller holds it; Unavailable
  // "vault is sealed" otherwise.
  StatusOr<std::shared_ptr<Instance>> Acquire() const;

  StatusOr<SealStatus> Status() const;
  const SealOptions& options() const { return options_; }

  // Dual-key mode (SIRR_KEY_FILE_NEW): every unseal also loads this key as the new keyring
  // version (Instance::Open). Held cloaked. Call before the first Unseal.
  sirr::Status SetNextKey(const SecretBytes& key);
  bool has_next_key() const { return !next_key_.empty(); }

 private:
  storage::Storage& storage_;
  audit::AuditLog& audit_;
  const Clock& clock_;
  Random& random_;
  const SealOptions options_;
  crypto::CloakedKey next_key_;  // set once before unsealing; empty without dual-key mode

  std::mutex transition_mu_;  // serialises Unseal and Seal
  mutable std::mutex mu_;
  std::shared_ptr<Instance> instance_;  // guarded by mu_; null while sealed
};

}  // namespace sirr::core
