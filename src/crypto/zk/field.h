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

namespace field_internal {
using u128 = unsigned __int128;
inline uint64_t AddCarry(uint64_t a, uint64_t b, uint64_t& carry) {
  const u128 s = static_cast<u128>(a) + b + carry;
  carry = static_cast<uint64_t>(s >> 64);
  return static_cast<uint64_t>(s);
}
inline uint64_t SubBorrow(uint64_t a, uint64_t b, uint64_t& borrow) {
  const u128 d = static_cast<u128>(a) - b - borrow;
  borrow = static_cast<uint64_t>(d >> 64) & 1;
  return static_cast<uint64_t>(d);
}
}  // namespace field_internal

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

// Constant-time select: mask all-ones picks a, zero picks b.
inline U256 Select(uint64_t mask, const U256& a, const U256& b) {
  U256 r;
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) r[i] = (a[i] & mask) | (b[i] & ~mask);
  return r;
}

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
  // Square roots: (m-1)/2, m - 1 = q * 2^s (q odd), c = z^q for the smallest non-residue z.
  U256 half_, q_, c_;
  int s_;
};

// The hot operations are inline (and unrolled) so Poseidon and the curve code can keep limbs
// in registers.
inline U256 Modulus::CondSubtract(const U256& t, uint64_t hi) const {
  using field_internal::SubBorrow;
  U256 d;
  uint64_t borrow = 0;
  d[0] = SubBorrow(t[0], m_[0], borrow);
  d[1] = SubBorrow(t[1], m_[1], borrow);
  d[2] = SubBorrow(t[2], m_[2], borrow);
  d[3] = SubBorrow(t[3], m_[3], borrow);
  // (hi:t) < m exactly when the subtraction borrowed out of a zero high word.
  const uint64_t keep = 0 - (borrow & (hi ^ 1));
  return Select(keep, t, d);
}

inline U256 Modulus::Add(const U256& a, const U256& b) const {
  using field_internal::AddCarry;
  U256 s;
  uint64_t carry = 0;
  s[0] = AddCarry(a[0], b[0], carry);
  s[1] = AddCarry(a[1], b[1], carry);
  s[2] = AddCarry(a[2], b[2], carry);
  s[3] = AddCarry(a[3], b[3], carry);
  return CondSubtract(s, carry);
}

inline U256 Modulus::Sub(const U256& a, const U256& b) const {
  using field_internal::AddCarry;
  using field_internal::SubBorrow;
  U256 d;
  uint64_t borrow = 0;
  d[0] = SubBorrow(a[0], b[0], borrow);
  d[1] = SubBorrow(a[1], b[1], borrow);
  d[2] = SubBorrow(a[2], b[2], borrow);
  d[3] = SubBorrow(a[3], b[3], borrow);
  const uint64_t mask = 0 - borrow;
  uint64_t carry = 0;
  d[0] = AddCarry(d[0], m_[0] & mask, carry);
  d[1] = AddCarry(d[1], m_[1] & mask, carry);
  d[2] = AddCarry(d[2], m_[2] & mask, carry);
  d[3] = AddCarry(d[3], m_[3] & mask, carry);
  return d;
}

inline U256 Modulus::Mul(const U256& a, const U256& b) const {
  // CIOS Montgomery multiplication. The constructor requires m < 2^254, so the top limb of m
  // is below 2^63 - 1 and the running sum needs no fifth carry word (the "no-carry" variant):
  // t stays below 2m throughout.
  using field_internal::u128;
  uint64_t t0 = 0, t1 = 0, t2 = 0, t3 = 0;
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    const uint64_t bi = b[i];
    u128 p = static_cast<u128>(a[0]) * bi + t0;
    t0 = static_cast<uint64_t>(p);
    p = static_cast<u128>(a[1]) * bi + t1 + static_cast<uint64_t>(p >> 64);
    t1 = static_cast<uint64_t>(p);
    p = static_cast<u128>(a[2]) * bi + t2 + static_cast<uint64_t>(p >> 64);
    t2 = static_cast<uint64_t>(p);
    p = static_cast<u128>(a[3]) * bi + t3 + static_cast<uint64_t>(p >> 64);
    t3 = static_cast<uint64_t>(p);
    const uint64_t t4 = static_cast<uint64_t>(p >> 64);
    const uint64_t mm = t0 * inv_;
    p = static_cast<u128>(mm) * m_[0] + t0;
    p = static_cast<u128>(mm) * m_[1] + t1 + static_cast<uint64_t>(p >> 64);
    t0 = static_cast<uint64_t>(p);
    p = static_cast<u128>(mm) * m_[2] + t2 + static_cast<uint64_t>(p >> 64);
    t1 = static_cast<uint64_t>(p);
    p = static_cast<u128>(mm) * m_[3] + t3 + static_cast<uint64_t>(p >> 64);
    t2 = static_cast<uint64_t>(p);
    t3 = t4 + static_cast<uint64_t>(p >> 64);
  }
  return CondSubtract(U256{t0, t1, t2, t3}, 0);
}

}  // namespace sirr::crypto::zk
