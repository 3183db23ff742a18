#pragma once

// BIP32 hierarchical deterministic keys on secp256k1 and the BIP39 seed, hand-written per the
// BIPs (no Debian package provides them); the curve arithmetic is libsecp256k1's.
//
// * Bip39Seed: PBKDF2-HMAC-SHA512, 2048 rounds, salt "mnemonic" + passphrase, both NFKD
//   (libunistring).
// * MasterKey: HMAC-SHA512("Bitcoin seed", seed); DeriveChild: CKDpriv / CKDpub, hardened
//   indices (≥ 2^31) need the private key. Private keys stay 32 bytes with their leading zeros
//   (test vector 3).
// * Paths: "m/44'/60'/0'/0/0" ('h' and 'H' also mark hardened indices).
// * Serialisation: xpub (Base58Check) for public keys only. Extended private keys are never
//   serialised (Base58 is variable-time big-number arithmetic); ParseExtendedKey reads both
//   forms, for tests and imports of public data.
//
// Secret: seeds, private keys and chain codes of private keys (SecretBytes).
// Thread safety: stateless functions, thread-safe.

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/secret_bytes.h"
#include "base/status.h"

namespace sirr::crypto::hd {

inline constexpr uint32_t kHardened = 0x80000000u;

struct ExtendedKey {
  uint8_t depth = 0;
  uint32_t parent_fingerprint = 0;
  uint32_t child_number = 0;
  SecretBytes chain_code;   // 32 bytes
  SecretBytes private_key;  // 32 bytes, or empty for a public-only key
  Bytes public_key;         // 33 bytes, compressed

  bool has_private() const { return !private_key.empty(); }
  // First 4 bytes of HASH160(public key), big-endian.
  uint32_t fingerprint() const;
};

// The BIP39 seed (64 bytes) of a mnemonic sentence and optional passphrase.
StatusOr<SecretBytes> Bip39Seed(std::string_view mnemonic, std::string_view passphrase);

// The master key of a 16..64-byte seed.
StatusOr<ExtendedKey> MasterKey(const SecretBytes& seed);
// Child `index` of `parent`: private derivation when the parent has its private key, else
// public (hardened indices then fail). InvalidArgument in BIP32's "invalid child" cases
// (probability below 2^-127), which callers report rather than skip.
StatusOr<ExtendedKey> DeriveChild(const ExtendedKey& parent, uint32_t index);
StatusOr<ExtendedKey> DerivePath(const ExtendedKey& root, std::span<const uint32_t> path);

// "m", "m/0'/1/2h" → indices. InvalidArgument naming the bad component.
StatusOr<std::vector<uint32_t>> ParsePath(std::string_view path);
// Indices → "m/44'/60'/0'/0/0".
std::string FormatPath(std::span<const uint32_t> path);

// xpub… (mainnet version bytes 0x0488B21E).
std::string SerializePublic(const ExtendedKey& key);
// xpub… or xprv…, checksum and key validity checked.
StatusOr<ExtendedKey> ParseExtendedKey(std::string_view text);

// RIPEMD-160(SHA-256(data)).
std::array<uint8_t, 20> Hash160(std::span<const uint8_t> data);
// Base58Check (payload || first 4 bytes of SHA-256(SHA-256(payload))), Bitcoin alphabet.
// Public data only: not constant time.
std::string Base58CheckEncode(std::span<const uint8_t> payload);
StatusOr<Bytes> Base58CheckDecode(std::string_view text);

}  // namespace sirr::crypto::hd
