#pragma once

// Envelope v1: the byte format of every encrypted field Sirr stores (docs/formats.md).
//
//   0x01 | key id (8) | nonce (12) | ciphertext | tag (16)
//
// AES-256-GCM with a random nonce. The key id names the key that sealed the envelope (for
// vault keys: the master key version's id; for records: the vault key's id). The associated
// data binds the envelope to its place, "sirr/v1/<kind>/<vault id>/<record id>", so an
// envelope copied to another row, vault or kind fails to open.
//
// Thread safety: stateless functions, thread-safe.

#include <array>
#include <span>
#include <string>
#include <string_view>

#include "base/random.h"
#include "base/secret_bytes.h"
#include "base/status.h"

namespace sirr::crypto {

inline constexpr uint8_t kEnvelopeVersion1 = 0x01;
inline constexpr size_t kKeyIdSize = 8;
inline constexpr size_t kEnvelopeOverhead = 1 + kKeyIdSize + 12 + 16;

using KeyId = std::array<uint8_t, kKeyIdSize>;

// HKDF-SHA256(ikm = key, salt = "", info = "sirr/v1/key-id"), first 8 bytes. Not secret.
KeyId DeriveKeyId(const SecretBytes& key);
std::string KeyIdHex(const KeyId& id);

// "sirr/v1/" + kind + "/" + vault_id + "/" + record_id.
std::string EnvelopeAad(std::string_view kind, std::string_view vault_id,
                        std::string_view record_id);

StatusOr<Bytes> SealEnvelope(const SecretBytes& key, const KeyId& key_id,
                             std::span<const uint8_t> plaintext, std::string_view aad,
                             Random& random);

// Reads the key id of a well-formed envelope (length and version checked).
StatusOr<KeyId> EnvelopeKeyId(std::span<const uint8_t> envelope);

// Opens an envelope sealed by `key` (whose id is `key_id`). A different key id is
// FailedPrecondition (the caller chose the wrong key); any authentication failure, including
// wrong AAD or tampering, is InvalidArgument "decryption failed".
StatusOr<SecretBytes> OpenEnvelope(const SecretBytes& key, const KeyId& key_id,
                                   std::span<const uint8_t> envelope, std::string_view aad);

}  // namespace sirr::crypto
