#pragma once

// BLAKE-512: the original BLAKE (SHA-3 finalist, 16 rounds, 64-bit words, zero salt), not
// BLAKE2b. circomlib/iden3 Baby Jubjub EdDSA derives its scalar and nonce with it, and no Debian
// package provides it, so it is hand-written here against the BLAKE paper (Aumasson et al., v1.3)
// and checked against its published digests and the blake-hash npm package (tests).
// Constant-time: no table lookup or branch depends on the data (the message schedule is fixed).
//
// Thread safety: stateless function, thread-safe.

#include <array>
#include <cstdint>
#include <span>

namespace sirr::crypto::zk {

// The digest of the concatenation of `parts` (one message given in pieces, so callers never
// copy secrets into a joined buffer).
std::array<uint8_t, 64> Blake512(std::span<const std::span<const uint8_t>> parts);

inline std::array<uint8_t, 64> Blake512(std::span<const uint8_t> data) {
  const std::span<const uint8_t> one[] = {data};
  return Blake512(one);
}

}  // namespace sirr::crypto::zk
