#pragma once

// The instance master key and what is derived from it (DESIGN.md §3).
//
//   master key (32 bytes)  --HKDF "sirr/v1/wrap"--> wrap key   (wraps vault master keys)
//                          --HKDF "sirr/v1/key-id"-> key id    (names this key version)
//                          --HKDF "sirr/v1/audit"--> audit key (MACs the audit chain)
//
// The master key itself is dropped (wiped) once the three are derived; the wrap and audit keys
// are held cloaked (crypto/cloak.h).
// Thread safety: MasterKey is immutable after Derive() and safe to share.

#include <optional>
#include <string>

#include "base/random.h"
#include "base/secret_bytes.h"
#include "base/status.h"
#include "crypto/cloak.h"
#include "crypto/envelope.h"

namespace sirr::seal {

inline constexpr size_t kMasterKeySize = 32;

// Parses one of the three spellings of a 32-byte key: base64 (padded or not), 64 hex
// characters, or a 24-word English BIP39 mnemonic (checksum verified). Surrounding whitespace
// is ignored. Errors describe the expected formats and never include the text.
StatusOr<SecretBytes> ParseMasterKey(std::string_view text);

struct KeyFile {
  SecretBytes key;
  // Set when the file is readable by group or others.
  std::optional<std::string> permission_warning;
};

// Reads and parses a key file once. Errors name the file and the problem, never the content.
StatusOr<KeyFile> ReadKeyFile(const std::string& path);

// The Provide-compatible validation hash of a key: "0x" + hex SHA-256 of its 24-word mnemonic
// (words in lower case, separated by single spaces). ValidationDigest is the raw SHA-256.
StatusOr<std::array<uint8_t, 32>> ValidationDigest(const SecretBytes& master_key);
std::string ValidationHash(const SecretBytes& master_key);

// Parses SEAL_UNSEAL_VALIDATION_HASH: 64 hex digits, "0x" optional, any case.
StatusOr<std::array<uint8_t, 32>> ParseValidationHash(std::string_view text);

class MasterKey {
 public:
  static StatusOr<MasterKey> Derive(SecretBytes master_key);

  const crypto::KeyId& key_id() const { return key_id_; }
  // Decloaked copies, wiped when the temporary dies: use them within one expression.
  SecretBytes wrap_key() const { return wrap_key_.Decloak(); }
  SecretBytes audit_key() const { return audit_key_.Decloak(); }

  // The key-check value stored in the keyring for `version`: an envelope of a fixed string
  // under the wrap key, so a wrong key is detected before anything else is decrypted.
  StatusOr<Bytes> MakeKeyCheck(int version, Random& random) const;
  // OK when `kcv` was made by this key for `version`; PermissionDenied otherwise.
  Status VerifyKeyCheck(int version, std::span<const uint8_t> kcv) const;

  // The instance's audit chain key wrapped for the keyring row of `version` (envelope kind
  // `audit-key`, AAD "sirr/v1/audit-key/instance/<version>"), and back. DataLoss when the
  // envelope does not open with this key.
  StatusOr<Bytes> WrapAuditKey(int version, const SecretBytes& audit_key, Random& random) const;
  StatusOr<SecretBytes> UnwrapAuditKey(int version, std::span<const uint8_t> wrapped) const;

 private:
  MasterKey(crypto::KeyId id, crypto::CloakedKey wrap, crypto::CloakedKey audit)
      : key_id_(id), wrap_key_(std::move(wrap)), audit_key_(std::move(audit)) {}
  crypto::KeyId key_id_;
  crypto::CloakedKey wrap_key_;
  crypto::CloakedKey audit_key_;
};

}  // namespace sirr::seal
