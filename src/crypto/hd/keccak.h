#pragma once

// Keccak-256 (the original Keccak padding 0x01, as Ethereum uses it; not FIPS 202 SHA3-256) and
// Ethereum addresses with the EIP-55 mixed-case checksum. Hand-written: OpenSSL 3.0 has no
// Keccak-256. Inputs are public (public keys, addresses); nothing here is constant-time.
//
// Thread safety: stateless functions, thread-safe.

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"

namespace sirr::crypto::hd {

std::array<uint8_t, 32> Keccak256(std::span<const uint8_t> data);

// "0x" + 40 hex digits, upper-cased per EIP-55 (a letter is upper-case when the matching nibble
// of Keccak-256(lower-case hex address) is >= 8).
std::string Eip55(std::span<const uint8_t, 20> address);

// The Ethereum address of an uncompressed secp256k1 public key (65 bytes, 0x04 | X | Y): the
// last 20 bytes of Keccak-256(X | Y), EIP-55 encoded. InvalidArgument for another length/prefix.
StatusOr<std::string> EthereumAddress(std::span<const uint8_t> uncompressed_public_key);

}  // namespace sirr::crypto::hd
