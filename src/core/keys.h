#pragma once

// Keys: cryptographic keys kept in vaults and used in place (docs/keys.md). The private part
// (or symmetric key) is sealed in envelope v1 under the vault key with AAD
// "sirr/v1/key/<vault id>/<key id>" and is decrypted only for the one operation that uses it;
// it leaves the vault only for keys created `ephemeral` (generated, returned once, never
// stored).
//
// Each vault's master key is listed as a key (first, spec AES-256-GCM, name "master") so
// clients can see it, but it cannot be deleted or used for operations: it seals the vault's
// records, and a decrypt operation with it would be a way around read limits.
//
// Capabilities: create/derive keys:create (derive also keys:use), list/get keys:read, delete
// keys:delete, encrypt/decrypt/sign/verify keys:use; the vault must be in the principal's
// scope. Every operation is audited with the key id and name, never data.
//
// Thread safety: thread-safe.

#include <optional>
#include <string>

#include "audit/audit_log.h"
#include "base/clock.h"
#include "base/random.h"
#include "core/principal.h"
#include "core/seal_keeper.h"
#include "core/vaults.h"
#include "crypto/hd/wallet.h"
#include "crypto/key_ops.h"
#include "storage/storage.h"

namespace sirr::core {

inline constexpr std::string_view kMasterKeyName = "master";

struct KeyLimits {
  size_t max_data_bytes = 512 * 1024;  // plaintext/message per operation
};

struct CreateKeyRequest {
  std::string name;
  std::string spec;
  std::string type;   // optional; must fit the spec
  std::string usage;  // optional; must fit the spec
  std::string description;
  bool ephemeral = false;
  // BIP39 only: import this mnemonic (else a new 24-word one) with this passphrase.
  std::optional<SecretBytes> mnemonic;
  SecretBytes passphrase;
};

// BIP39 (HD wallet) key operations: options.hdwallet. Either `path` or the BIP44 parts; with
// neither, sign and derive take the key's next index (m/44'/60'/0'/0/i, advanced atomically)
// and verify uses the last index taken.
struct HdOptions {
  std::optional<std::string> path;  // hd_derivation_path
  std::optional<int64_t> coin;
  std::optional<std::string> coin_abbr;
  std::optional<int64_t> account, change, index;
};

// What a BIP39 operation used and produced, for the response.
struct HdResult {
  std::string path;        // hd_derivation_path
  std::string address;     // Ethereum (EIP-55); empty for Bitcoin
  std::string public_key;  // 0x + compressed secp256k1 key
  std::string xpub;        // extended public key at `path` (derive only)
};

struct CreatedKey {
  storage::KeyRow row;  // material empty
  // Ephemeral keys only: "private_key" or "seed", and its 0x-hex value.
  std::string private_field;
  SecretBytes private_value;
};

struct DeriveRequest {
  std::string name;
  std::string description;
  std::optional<std::string> context;    // symmetric keys
  std::optional<Bytes> peer_public_key;  // C25519 keys
  std::string spec;                      // C25519: the derived key's spec (AES-256-GCM default)
  HdOptions hd;                          // BIP39: which key to derive (nothing is stored)
};

// Checks a key name: 1..128 of [A-Za-z0-9._-], not "master" (reserved).
Status ValidateKeyName(std::string_view name);

class Keys {
 public:
  Keys(storage::Storage& storage, SealKeeper& keeper, Vaults& vaults, audit::AuditLog& audit,
       const Clock& clock, Random& random, KeyLimits limits = {})
      : storage_(storage),
        keeper_(keeper),
        vaults_(vaults),
        audit_(audit),
        clock_(clock),
        random_(random),
        limits_(limits) {}

  const KeyLimits& limits() const { return limits_; }

  StatusOr<CreatedKey> Create(const RequestContext& ctx, std::string_view vault,
                              CreateKeyRequest request);
  // The vault master key first (when it matches the filter), then the keys by creation time.
  StatusOr<storage::KeyPage> List(const RequestContext& ctx, std::string_view vault,
                                  const storage::KeyFilter& filter);
  StatusOr<storage::KeyRow> Get(const RequestContext& ctx, std::string_view vault,
                                std::string_view key);
  // FailedPrecondition (409) for the vault master key.
  StatusOr<storage::KeyRow> Delete(const RequestContext& ctx, std::string_view vault,
                                   std::string_view key);

  // Symmetric: nonce | ciphertext | tag. RSA: OAEP ciphertext.
  StatusOr<Bytes> Encrypt(const RequestContext& ctx, std::string_view vault, std::string_view key,
                          const SecretBytes& plaintext, std::optional<Bytes> nonce,
                          const Bytes& aad);
  StatusOr<SecretBytes> Decrypt(const RequestContext& ctx, std::string_view vault,
                                std::string_view key, const Bytes& data, const Bytes& aad);
  // BIP39 keys use `hd` (null: no options) and report the key used in `hd_out`.
  StatusOr<Bytes> Sign(const RequestContext& ctx, std::string_view vault, std::string_view key,
                       const Bytes& message,
                       std::optional<crypto::SignatureAlgorithm> rsa_algorithm,
                       const HdOptions* hd = nullptr, HdResult* hd_out = nullptr);
  StatusOr<bool> Verify(const RequestContext& ctx, std::string_view vault, std::string_view key,
                        const Bytes& message, const Bytes& signature,
                        std::optional<crypto::SignatureAlgorithm> rsa_algorithm,
                        const HdOptions* hd = nullptr, HdResult* hd_out = nullptr);
  // Symmetric and C25519 keys: a new stored key. BIP39 keys: nothing is stored; `hd_out` gets
  // the derived key and the wallet's own row is returned.
  StatusOr<storage::KeyRow> Derive(const RequestContext& ctx, std::string_view vault,
                                   std::string_view key, DeriveRequest request,
                                   HdResult* hd_out = nullptr);
  // Detached verification with a public key given by the caller (no vault involved).
  StatusOr<bool> VerifyDetached(const RequestContext& ctx, crypto::KeySpec spec,
                                const Bytes& public_key, const Bytes& message,
                                const Bytes& signature,
                                std::optional<crypto::SignatureAlgorithm> rsa_algorithm);

  // The listing entry of a vault's master key (a stable id derived from the vault id).
  static storage::KeyRow MasterKeyRow(const storage::VaultRow& vault);

 private:
  struct Loaded;
  // Resolves vault and key for `action` needing `needed`, with the decrypted material when
  // `with_material`. The master key is FailedPrecondition for operations.
  StatusOr<Loaded> Load(const RequestContext& ctx, std::string_view action, Capability needed,
                        std::string_view vault, std::string_view key, bool with_material);
  // The error for a failed key lookup: NotFound (audited under `action`), else `lookup`.
  Status Missing(const RequestContext& ctx, std::string_view action, const storage::VaultRow& vault,
                 const Status& lookup, std::string_view key_ref);
  // BIP39: the BIP44 path for `options` (see HdOptions; `advance`: sign/derive, else verify)
  // and the wallet key at it.
  StatusOr<std::pair<crypto::hd::WalletKey, HdResult>> HdKey(const RequestContext& ctx,
                                                             std::string_view action, Loaded& k,
                                                             const HdOptions* options,
                                                             bool advance);
  // Decrypts the loaded key's material into `k.material`.
  Status OpenMaterial(const RequestContext& ctx, std::string_view action, Loaded& k);
  audit::Event KeyEvent(const RequestContext& ctx, std::string_view action,
                        std::string_view outcome, const storage::VaultRow* vault,
                        const storage::KeyRow* key, std::string detail = "",
                        std::string_view key_ref = "");
  Status Audit(const RequestContext& ctx, std::string_view action, std::string_view outcome,
               const storage::VaultRow* vault, const storage::KeyRow* key, std::string detail = "",
               std::string_view key_ref = "");
  // Audits the outcome of an operation and passes its result through.
  template <typename T>
  StatusOr<T> Audited(const RequestContext& ctx, std::string_view action, const Loaded& loaded,
                      StatusOr<T> result, std::string detail = "");
  StatusOr<storage::KeyRow> Store(const RequestContext& ctx, std::string_view action,
                                  const storage::VaultRow& vault, storage::KeyRow row,
                                  crypto::GeneratedKey key, std::string detail);

  storage::Storage& storage_;
  SealKeeper& keeper_;
  Vaults& vaults_;
  audit::AuditLog& audit_;
  const Clock& clock_;
  Random& random_;
  const KeyLimits limits_;
};

}  // namespace sirr::core
