#pragma once

// Symmetric primitives over OpenSSL 3 EVP: AES-256-GCM, HKDF-SHA256, HMAC-SHA256, SHA-256,
// and the process CSPRNG.
//
// Secret inputs and outputs are SecretBytes; ciphertexts and digests are Bytes.
// Authentication failures return one message ("decryption failed") with no detail, so that
// callers cannot be turned into a padding/tag oracle.
// Thread safety: all functions are thread-safe (no shared state).

#include <array>
#include <span>
#include <string_view>

#include "base/random.h"
#include "base/secret_bytes.h"
#include "base/status.h"

namespace sirr::crypto {

inline constexpr size_t kAesKeySize = 32;
inline constexpr size_t kGcmNonceSize = 12;
inline constexpr size_t kGcmTagSize = 16;

// Returns ciphertext || tag. `key` must be 32 bytes, `nonce` 12 bytes.
StatusOr<Bytes> Aes256GcmEncrypt(const SecretBytes& key, std::span<const uint8_t> nonce,
                                 std::span<const uint8_t> plaintext, std::span<const uint8_t> aad);
// Takes ciphertext || tag. Any authentication failure: InvalidArgument "decryption failed".
StatusOr<SecretBytes> Aes256GcmDecrypt(const SecretBytes& key, std::span<const uint8_t> nonce,
                                       std::span<const uint8_t> ciphertext_and_tag,
                                       std::span<const uint8_t> aad);

// RFC 5869 HKDF with SHA-256.
StatusOr<SecretBytes> HkdfSha256(const SecretBytes& ikm, std::span<const uint8_t> salt,
                                 std::string_view info, size_t length);

std::array<uint8_t, 32> Sha256(std::span<const uint8_t> data);
std::array<uint8_t, 32> HmacSha256(const SecretBytes& key, std::span<const uint8_t> data);
// HMAC-SHA512 (BIP32); the output is secret (key material and chain codes).
SecretBytes HmacSha512(std::span<const uint8_t> key, std::span<const uint8_t> data);

// OpenSSL's CSPRNG (RAND_bytes). Aborts on failure: no weak bytes are ever returned.
class SecureRandom final : public Random {
 public:
  void Fill(std::span<uint8_t> out) override;
  static SecureRandom& Get();
};

}  // namespace sirr::crypto
