#pragma once

// secp256k1 over libsecp256k1 (Debian's libsecp256k1, with the recovery module): key
// generation, RFC 6979 deterministic ECDSA with low-S, public-key recovery. Signatures are the
// Ethereum form r | s | v (65 bytes, v = recovery id 0 or 1); the message is a 32-byte digest
// (the caller hashes).
//
// Secret: private keys (SecretBytes, 32 bytes). Public: everything else.
// Thread safety: thread-safe (one process-wide context, randomised once, used read-only).

#include <array>
#include <span>

#include "base/random.h"
#include "base/secret_bytes.h"
#include "base/status.h"

namespace sirr::crypto::secp256k1 {

inline constexpr size_t kDigestSize = 32;

// A fresh private key: 32 random bytes in [1, n-1].
SecretBytes GeneratePrivateKey(Random& random);
// InvalidArgument unless `private_key` is 32 bytes in [1, n-1].
Status CheckPrivateKey(const SecretBytes& private_key);
// Uncompressed public key, 0x04 | X | Y.
StatusOr<Bytes> PublicKey(const SecretBytes& private_key);

// Compressed public key, 0x02/0x03 | X.
StatusOr<Bytes> CompressedPublicKey(const SecretBytes& private_key);
// A 33- or 65-byte public key in compressed (33) or uncompressed (65) form.
StatusOr<Bytes> ConvertPublicKey(std::span<const uint8_t> public_key, bool compressed);
// (key + tweak) mod n, in constant time. InvalidArgument when the tweak is not below n or the
// sum is zero (BIP32's "invalid child" cases).
StatusOr<SecretBytes> AddPrivate(const SecretBytes& key, std::span<const uint8_t, 32> tweak);
// public_key + tweak·G, compressed; InvalidArgument as for AddPrivate or for a bad key.
StatusOr<Bytes> AddPublic(std::span<const uint8_t> public_key, std::span<const uint8_t, 32> tweak);

// 65 bytes r | s | v: RFC 6979 nonce, low-S, v = recovery id (0 or 1).
StatusOr<Bytes> Sign(const SecretBytes& private_key, std::span<const uint8_t> digest);

// Verifies a signature of `digest` against `public_key` (33-byte compressed or 65-byte
// uncompressed). 65-byte signatures (v = 0, 1, 27 or 28) are checked by recovering the public
// key and comparing it; 64-byte r | s by ECDSA verification (a high-S signature is accepted in
// its normalised form). Any other length, an unparsable key or signature: false.
bool Verify(std::span<const uint8_t> public_key, std::span<const uint8_t> digest,
            std::span<const uint8_t> signature);

}  // namespace sirr::crypto::secp256k1
