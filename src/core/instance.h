#pragma once

// Instance: an unsealed Sirr instance. Holds the derived master key material and a cache of
// unwrapped vault master keys. Created by Open(), which checks the master key against the
// keyring (fail-closed) or, on an empty database, initialises keyring version 1 and the
// `default` vault.
//
// Thread safety: thread-safe.

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>

#include "base/clock.h"
#include "base/random.h"
#include "crypto/envelope.h"
#include "crypto/hd/wallet.h"
#include "crypto/key_ops.h"
#include "seal/master_key.h"
#include "storage/storage.h"

namespace sirr::core {

inline constexpr std::string_view kDefaultVaultName = "default";

struct VaultKey {
  crypto::CloakedKey key;  // Decloak() for each use
  crypto::KeyId id;
};

class Instance {
 public:
  struct OpenResult;
  // Never initialises a second keyring over existing data: a key whose id is not in the
  // keyring, or whose key-check fails, is PermissionDenied naming the versions present.
  //
  // Rotation (dual-key mode, docs/sealing.md): with `next` (SIRR_KEY_FILE_NEW), `master` must be
  // in the keyring; `next` becomes version n+1 (state active, `master`'s version retiring) the
  // first time, and is then the key every new wrap uses while `master` still unwraps. Without
  // `next`, a retired key, or a key whose version is retiring while a newer one exists, is
  // refused with a message saying which version the database has moved to; an active key whose
  // older versions still wrap vault keys is refused with their count.
  static StatusOr<OpenResult> Open(storage::Storage& storage, seal::MasterKey master,
                                   std::optional<seal::MasterKey> next, const Clock& clock,
                                   Random& random);

  // The key new wraps use (the newest version loaded).
  const seal::MasterKey& master() const { return master_; }
  // The audit chain key (docs/formats.md "Audit chain key"): one key for the instance's whole
  // chain, kept in the keyring wrapped by every version, so it survives any number of
  // rotations. A decloaked copy: use it within one expression.
  SecretBytes audit_key() const { return audit_key_.Decloak(); }
  int key_version() const { return key_version_; }
  // Whether `id` is one of the loaded master keys.
  bool HoldsKey(const crypto::KeyId& id) const;
  // A vault's master key unwrapped by whichever loaded master key sealed it (the envelope names
  // it), and the same key wrapped by master() — the rotation step.
  StatusOr<SecretBytes> UnwrapVaultKey(const storage::VaultRow& vault) const;
  StatusOr<Bytes> WrapVaultKey(std::string_view vault_id, const SecretBytes& vault_key,
                               Random& random) const;

  // The vault's unwrapped master key (cached after the first unwrap).
  // NotFound when the vault's key has been shredded (a forced delete in progress).
  StatusOr<std::shared_ptr<const VaultKey>> KeyFor(const storage::VaultRow& vault);
  // A fresh random vault master key for a new vault, wrapped by the wrap key (envelope v1,
  // AAD "sirr/v1/vault-key/<id>/<id>"); the plaintext key is wiped before returning.
  StatusOr<Bytes> NewWrappedVaultKey(std::string_view vault_id, Random& random) const;
  // Drops the cached key of a vault, and its cached parsed private keys (memory is wiped when
  // the last user lets go).
  void Forget(std::string_view vault_id);
  // How many unwrapped vault keys are kept (SIRR_VAULT_KEY_CACHE); at least 1.
  static constexpr size_t kDefaultVaultKeyCache = 4096;
  void set_vault_key_limit(size_t limit) { vault_key_limit_ = std::max<size_t>(limit, 1); }
  size_t cached_vault_keys();

  // Parsed RSA/P-256 private keys (crypto::ParsedPrivateKey), cached while unsealed so that
  // OpenSSL's per-key setup is not paid per signature; at most kMaxParsedKeys (then the cache
  // starts over). Dropped with the instance (seal), the key (delete) or its vault (Forget).
  static constexpr size_t kMaxParsedKeys = 1024;
  std::shared_ptr<const crypto::ParsedPrivateKey> ParsedKey(std::string_view key_id);
  void CacheParsedKey(const std::string& key_id, const std::string& vault_id,
                      std::shared_ptr<const crypto::ParsedPrivateKey> key);
  void ForgetParsedKey(std::string_view key_id);
  // BIP39 wallets (root key computed from the mnemonic: PBKDF2 + HMAC), cached the same way and
  // in the same entries (ForgetParsedKey drops them too).
  std::shared_ptr<const crypto::hd::Wallet> Wallet(std::string_view key_id);
  void CacheWallet(const std::string& key_id, const std::string& vault_id,
                   std::shared_ptr<const crypto::hd::Wallet> wallet);

 private:
  Instance(seal::MasterKey master, int version)
      : master_(std::move(master)), key_version_(version) {}
  // Open without the audit chain key (the key checks and the rotation bookkeeping).
  static StatusOr<OpenResult> OpenKeys(storage::Storage& storage, seal::MasterKey master,
                                       std::optional<seal::MasterKey> next, const Clock& clock,
                                       Random& random);
  // Finds the audit chain key in the keyring rows of the loaded keys, or establishes it (see
  // audit_key()), and stores it wrapped in the loaded keys' rows that lack it.
  Status LoadAuditKey(storage::Storage& storage, const std::vector<storage::KeyringRow>& before,
                      Random& random);

  const seal::MasterKey master_;
  const int key_version_;
  crypto::CloakedKey audit_key_;             // set by Open
  std::optional<seal::MasterKey> retiring_;  // the older key while a rotation runs
  std::shared_mutex mu_;
  // Unwrapped vault keys (cloaked), at most vault_key_limit_: past it the CLOCK hand evicts a
  // key not used since it last passed (an LRU approximation whose hits need only the shared
  // lock). An evicted key is unwrapped again on its next use.
  struct CachedVaultKey {
    std::shared_ptr<const VaultKey> key;
    mutable std::atomic<bool> used{true};
  };
  std::map<std::string, CachedVaultKey, std::less<>> vault_keys_;  // guarded by mu_
  std::string clock_hand_;                                         // guarded by mu_
  std::atomic<size_t> vault_key_limit_{kDefaultVaultKeyCache};
  struct ParsedEntry {
    std::string vault_id;
    std::shared_ptr<const crypto::ParsedPrivateKey> key;
    std::shared_ptr<const crypto::hd::Wallet> wallet;
  };
  std::map<std::string, ParsedEntry, std::less<>> parsed_keys_;  // guarded by mu_
};

struct Instance::OpenResult {
  std::unique_ptr<Instance> instance;
  bool initialized_now = false;
};

}  // namespace sirr::core
