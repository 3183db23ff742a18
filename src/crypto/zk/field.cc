#include "crypto/zk/field.h"

#include <cstdlib>

namespace sirr::crypto::zk {
namespace {

using field_internal::AddCarry;
using field_internal::SubBorrow;

int BitLength(const U256& v) {
  for (int i = 3; i >= 0; --i)
    if (v[i] != 0) return 64 * i + 64 - __builtin_clzll(v[i]);
  return 0;
}
U256 ShiftLeft(const U256& a, int bits) {  // public shift
  U256 r{};
  const int limbs = bits / 64, rem = bits % 64;
  for (int i = 3; i >= limbs; --i) {
    r[i] = a[i - limbs] << rem;
    if (rem != 0 && i - limbs - 1 >= 0) r[i] |= a[i - limbs - 1] >> (64 - rem);
  }
  return r;
}

}  // namespace

U256 U256FromLe(std::span<const uint8_t, 32> bytes) {
  U256 v{};
  for (int i = 0; i < 32; ++i) v[i / 8] |= static_cast<uint64_t>(bytes[i]) << (8 * (i % 8));
  return v;
}
std::array<uint8_t, 32> U256ToLe(const U256& v) {
  std::array<uint8_t, 32> out;
  for (int i = 0; i < 32; ++i) out[i] = static_cast<uint8_t>(v[i / 8] >> (8 * (i % 8)));
  return out;
}
std::optional<U256> U256FromBe(std::span<const uint8_t> bytes) {
  if (bytes.size() > 32) return std::nullopt;
  U256 v{};
  for (size_t i = 0; i < bytes.size(); ++i) {
    const size_t pos = bytes.size() - 1 - i;  // byte weight
    v[pos / 8] |= static_cast<uint64_t>(bytes[i]) << (8 * (pos % 8));
  }
  return v;
}
std::array<uint8_t, 32> U256ToBe(const U256& v) {
  std::array<uint8_t, 32> out;
  for (int i = 0; i < 32; ++i) out[31 - i] = static_cast<uint8_t>(v[i / 8] >> (8 * (i % 8)));
  return out;
}
int Compare(const U256& a, const U256& b) {
  for (int i = 3; i >= 0; --i) {
    if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return 0;
}
bool IsZero(const U256& a) { return (a[0] | a[1] | a[2] | a[3]) == 0; }
bool Equal(const U256& a, const U256& b) {
  return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3])) == 0;
}
U256 ShiftRight(const U256& a, int bits) {
  U256 r;
  for (int i = 0; i < 4; ++i) r[i] = (a[i] >> bits) | (i < 3 ? a[i + 1] << (64 - bits) : 0);
  return r;
}

Modulus::Modulus(const U256& m) : m_(m), bits_(BitLength(m)) {
  if ((m[0] & 1) == 0 || bits_ > 254) std::abort();  // Mul's no-carry bound; a program error
  // -m^-1 mod 2^64 by Newton iteration (each step doubles the correct low bits).
  uint64_t x = 1;
  for (int i = 0; i < 6; ++i) x *= 2 - m[0] * x;
  inv_ = 0 - x;
  // R mod m and R^2 mod m by doubling (public).
  U256 r = Reduce(U256{~0ull, ~0ull, ~0ull, ~0ull});  // 2^256 - 1
  one_ = Add(r, U256{1, 0, 0, 0});
  r2_ = one_;
  for (int i = 0; i < 256; ++i) r2_ = Add(r2_, r2_);
  // Square-root constants (meaningful for prime m): (m-1)/2, m - 1 = q * 2^s, c = z^q.
  half_ = ShiftRight(U256{m[0] - 1, m[1], m[2], m[3]}, 1);
  q_ = m;
  q_[0] -= 1;
  s_ = 0;
  while (!IsZero(q_) && (q_[0] & 1) == 0) {
    q_ = ShiftRight(q_, 1);
    ++s_;
  }
  U256 z = Add(one_, one_);  // 2, in Montgomery form
  for (int tries = 0; tries < 64 && Equal(Pow(z, half_), one_); ++tries) z = Add(z, one_);
  c_ = Pow(z, q_);
}

U256 Modulus::Neg(const U256& a) const { return Sub(U256{}, a); }

U256 Modulus::Reduce(const U256& a) const {
  // Subtract m * 2^k for k from the headroom down to 0 whenever it does not underflow.
  U256 r = a;
  for (int k = 256 - bits_; k >= 0; --k) {
    const U256 mk = ShiftLeft(m_, k);
    U256 d;
    uint64_t borrow = 0;
    for (int i = 0; i < 4; ++i) d[i] = SubBorrow(r[i], mk[i], borrow);
    r = Select(0 - borrow, r, d);
  }
  return r;
}

U256 Modulus::Reduce512(const U256& lo, const U256& hi) const {
  // hi * 2^256 + lo = Mont(hi mod m, R^2) + lo  (mod m).
  return Add(Mul(Reduce(hi), r2_), Reduce(lo));
}

U256 Modulus::MulPlain(const U256& a, const U256& b) const { return Mul(Mul(a, b), r2_); }

U256 Modulus::FromMont(const U256& a) const { return Mul(a, U256{1, 0, 0, 0}); }

U256 Modulus::Pow(const U256& a, const U256& e) const {
  U256 r = one_;
  for (int i = BitLength(e) - 1; i >= 0; --i) {
    r = Square(r);
    if ((e[i / 64] >> (i % 64)) & 1) r = Mul(r, a);  // branch on the public exponent only
  }
  return r;
}

U256 Modulus::Inverse(const U256& a) const {
  U256 e = m_;
  uint64_t borrow = 0;
  e[0] = SubBorrow(e[0], 2, borrow);
  for (int i = 1; i < 4; ++i) e[i] = SubBorrow(e[i], 0, borrow);
  return Pow(a, e);
}

std::optional<U256> Modulus::Sqrt(const U256& a) const {
  if (IsZero(a)) return a;
  if (!Equal(Pow(a, half_), one_)) return std::nullopt;  // Euler's criterion
  // Tonelli-Shanks with m - 1 = q * 2^s and c = z^q for the smallest non-residue z.
  U256 qp1h = ShiftRight(q_, 1);  // (q+1)/2 = floor(q/2) + 1 for odd q
  for (int i = 0; i < 4 && ++qp1h[i] == 0; ++i) {
  }
  U256 c = c_;
  U256 x = Pow(a, qp1h);
  U256 t = Pow(a, q_);
  int mcur = s_;
  while (!Equal(t, one_)) {
    int i = 0;
    U256 t2 = t;
    while (!Equal(t2, one_)) {
      t2 = Square(t2);
      if (++i == mcur) return std::nullopt;
    }
    U256 b = c;
    for (int j = 0; j < mcur - i - 1; ++j) b = Square(b);
    mcur = i;
    c = Square(b);
    x = Mul(x, b);
    t = Mul(t, c);
  }
  return x;
}

}  // namespace sirr::crypto::zk
