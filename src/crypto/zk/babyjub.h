#pragma once

// Baby Jubjub EdDSA with the Poseidon hash, as circomlib/iden3 define it (circomlibjs
// eddsa.signPoseidon / verifyPoseidon, the scheme circom's EdDSAPoseidonVerifier checks):
//   curve   twisted Edwards a x^2 + y^2 = 1 + d x^2 y^2 over the BN254 scalar field p,
//           a = 168700, d = 168696; Base8 = 8 * generator; subgroup order l.
//   keys    private key 32 bytes; h = BLAKE-512(private); s = h[0..32) pruned (clear bits 0-2
//           and 255, set 254), little-endian; public key A = (s >> 3) * Base8.
//   sign    r = BLAKE-512(h[32..64) | msg as 32 bytes LE) mod l; R8 = r * Base8;
//           hm = Poseidon(R8.x, R8.y, A.x, A.y, msg); S = (r + hm * s) mod l.
//   verify  S < l and S * Base8 == R8 + (8 * hm) * A.
//   packing a point as y (32 bytes LE) with bit 255 set when x > (p-1)/2; a signature as
//           packed R8 | S (32 bytes LE).
// Private-key arithmetic (scalar multiplication, scalar products mod l) is constant time.
//
// Thread safety: stateless functions, thread-safe.

#include <array>
#include <cstdint>
#include <span>

#include "base/secret_bytes.h"
#include "base/status.h"
#include "crypto/zk/field.h"

namespace sirr::crypto::zk {

inline constexpr size_t kBabyJubPrivateKeySize = 32;
inline constexpr size_t kBabyJubPublicKeySize = 32;
inline constexpr size_t kBabyJubSignatureSize = 64;

// A message as a field element: big-endian bytes (at most 32) of a value below p.
// InvalidArgument naming the problem otherwise.
StatusOr<U256> BabyJubMessage(std::span<const uint8_t> big_endian);

// The packed public key of a 32-byte private key.
StatusOr<std::array<uint8_t, 32>> BabyJubPublicKey(const SecretBytes& private_key);

// The packed 64-byte signature of `message` (a field element < p).
StatusOr<std::array<uint8_t, 64>> BabyJubSign(const SecretBytes& private_key, const U256& message);

// false for a signature or public key of the wrong length, that does not decode to a curve
// point, with S >= l, or that does not verify.
bool BabyJubVerify(std::span<const uint8_t> public_key, const U256& message,
                   std::span<const uint8_t> signature);

// Whether 32 bytes are a canonical packed point on the curve (detached verification's key).
bool BabyJubIsPoint(std::span<const uint8_t> packed);

// For tests: a packed point's affine coordinates (plain), and a packed point from them.
struct AffinePoint {
  U256 x, y;
};
StatusOr<AffinePoint> BabyJubUnpackForTest(std::span<const uint8_t> packed);

}  // namespace sirr::crypto::zk
