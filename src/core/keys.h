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
  StatusOr<Bytes> Sign(const RequestContext& ctx, std::string_view vault, std::string_view key,
                       const Bytes& message,
                       std::optional<crypto::SignatureAlgorithm> rsa_algorithm);
  StatusOr<bool> Verify(const RequestContext& ctx, std::string_view vault, std::string_view key,
                        const Bytes& message, const Bytes& signature,
                        std::optional<crypto::SignatureAlgorithm> rsa_algorithm);
  StatusOr<storage::KeyRow> Derive(const RequestContext& ctx, std::string_view vault,
                                   std::string_view key, DeriveRequest request);
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
  // Decrypts the loaded key's material into `k.material`.
  Status OpenMaterial(const RequestContext& ctx, std::string_view action, Loaded& k);
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
