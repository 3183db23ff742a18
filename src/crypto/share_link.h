#pragma once

// Share-link payloads, format v1 (docs/client-side-encryption.md "Share links"): what `sirr
// share` makes and the reveal page (src/api/share_page/share.js, WebCrypto) opens.
//
//   K      32 random bytes; the link is https://SERVER/s/<id>#base64url(K) (no padding)
//   proof  HKDF-SHA-256(ikm = K, salt = "", info = "sirr-share-v1 proof", 32 bytes)
//   key    HKDF-SHA-256(ikm = K, salt = "", info = "sirr-share-v1 encrypt", 32 bytes)
//   blob   0x01 || nonce (12) || AES-256-GCM(key, nonce, plaintext, aad = "sirr-share-v1")
//
// The server stores the blob and SHA-256(proof); it never sees K.
// Thread safety: thread-safe (no state).

#include <array>
#include <span>
#include <string_view>

#include "base/random.h"
#include "base/secret_bytes.h"
#include "base/status.h"

namespace sirr::crypto::share {

inline constexpr uint8_t kVersion = 1;
inline constexpr size_t kKeySize = 32;
inline constexpr size_t kOverhead = 1 + 12 + 16;

SecretBytes NewLinkKey(Random& random);
// The 32-byte proof a reveal presents.
std::array<uint8_t, 32> Proof(const SecretBytes& link_key);
// What the server keeps: SHA-256(proof).
std::array<uint8_t, 32> ProofHash(const SecretBytes& link_key);
StatusOr<Bytes> Seal(const SecretBytes& link_key, std::span<const uint8_t> plaintext,
                     Random& random);
// InvalidArgument "the share cannot be decrypted with this link's key" on any failure.
StatusOr<SecretBytes> Open(const SecretBytes& link_key, std::span<const uint8_t> blob);

// Splits "https://host[:port]/s/<id>#<key>" into the server base URL, the id and the key.
struct ParsedLink {
  std::string server;  // "https://host:port" (no path)
  std::string id;
  SecretBytes key;
};
StatusOr<ParsedLink> ParseLink(std::string_view url);

}  // namespace sirr::crypto::share
