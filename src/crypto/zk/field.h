#pragma once

// Constant-time arithmetic modulo an odd 254-bit-or-smaller modulus, four 64-bit limbs
// (little-endian), Montgomery form (R = 2^256) for products. Used for Baby Jubjub's base field
// (the BN254 scalar field p) and its prime subgroup order l.
//
// Constant time: no branch or memory index depends on operand values; carries and conditional
// subtractions use masks. The modulus and the exponents given to Pow are public. Variable-time
// helpers (Sqrt, Compare) are marked and only used on public data.
//
// Thread safety: a Modulus is immutable after construction; all functions are thread-safe.

#include <array>
#include <cstdint>
#include <optional>
#include <span>

namespace sirr::crypto::zk {

using U256 = std::array<uint64_t, 4>;  // limb 0 least significant

U256 U256FromLe(std::span<const uint8_t, 32> bytes);
std::array<uint8_t, 32> U256ToLe(const U256& v);
// Big-endian bytes of at most 32 bytes (leading zeros allowed).
std::optional<U256> U256FromBe(std::span<const uint8_t> bytes);
std::array<uint8_t, 32> U256ToBe(const U256& v);
// Variable time: -1, 0, 1. Public values only.
int Compare(const U256& a, const U256& b);
// Constant time.
bool IsZero(const U256& a);
bool Equal(const U256& a, const U256& b);
U256 ShiftRight(const U256& a, int bits);  // 0 < bits < 64; shift count public

class Modulus {
 public:
  explicit Modulus(const U256& m);  // m odd, m < 2^254

  const U256& m() const { return m_; }
  const U256& one() const { return one_; }  // R mod m (1 in Montgomery form)

  // Plain representatives in [0, m).
  U256 Add(const U256& a, const U256& b) const;
  U256 Sub(const U256& a, const U256& b) const;
  U256 Neg(const U256& a) const;
  // Any 256-bit value (or a 512-bit little-endian pair lo, hi) reduced mod m.
  U256 Reduce(const U256& a) const;
  U256 Reduce512(const U256& lo, const U256& hi) const;
  // a * b mod m on plain representatives (two Montgomery products).
  U256 MulPlain(const U256& a, const U256& b) const;

  // Montgomery form.
  U256 ToMont(const U256& a) const { return Mul(a, r2_); }
  U256 FromMont(const U256& a) const;
  U256 Mul(const U256& a, const U256& b) const;  // a * b / R mod m
  U256 Square(const U256& a) const { return Mul(a, a); }
  // a^e in Montgomery form; the exponent e (plain) is public, a may be secret.
  U256 Pow(const U256& a, const U256& e) const;
  // a^(m-2): the inverse for prime m (0 maps to 0).
  U256 Inverse(const U256& a) const;
  // A square root in Montgomery form, or nullopt for a non-residue. Variable time (Tonelli-
  // Shanks); for public values only. Requires prime m.
  std::optional<U256> Sqrt(const U256& a) const;

 private:
  // Subtracts m from (hi:t) when (hi:t) >= m; hi is 0 or 1.
  U256 CondSubtract(const U256& t, uint64_t hi) const;

  U256 m_;
  uint64_t inv_;  // -m^-1 mod 2^64
  U256 one_;      // R mod m
  U256 r2_;       // R^2 mod m
  int bits_;      // bit length of m
};

// Constant-time select: mask all-ones picks a, zero picks b.
inline U256 Select(uint64_t mask, const U256& a, const U256& b) {
  U256 r;
  for (int i = 0; i < 4; ++i) r[i] = (a[i] & mask) | (b[i] & ~mask);
  return r;
}

}  // namespace sirr::crypto::zk
