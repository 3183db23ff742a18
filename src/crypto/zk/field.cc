#include "crypto/zk/field.h"

namespace sirr::crypto::zk {
namespace {

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
  // -m^-1 mod 2^64 by Newton iteration (each step doubles the correct low bits).
  uint64_t x = 1;
  for (int i = 0; i < 6; ++i) x *= 2 - m[0] * x;
  inv_ = 0 - x;
  // R mod m and R^2 mod m by doubling (public).
  U256 r = Reduce(U256{~0ull, ~0ull, ~0ull, ~0ull});  // 2^256 - 1
  one_ = Add(r, U256{1, 0, 0, 0});
  r2_ = one_;
  for (int i = 0; i < 256; ++i) r2_ = Add(r2_, r2_);
}

U256 Modulus::CondSubtract(const U256& t, uint64_t hi) const {
  U256 d;
  uint64_t borrow = 0;
  for (int i = 0; i < 4; ++i) d[i] = SubBorrow(t[i], m_[i], borrow);
  // (hi:t) < m exactly when the subtraction borrowed out of a zero high word.
  const uint64_t keep = 0 - (borrow & (hi ^ 1));
  return Select(keep, t, d);
}

U256 Modulus::Add(const U256& a, const U256& b) const {
  U256 s;
  uint64_t carry = 0;
  for (int i = 0; i < 4; ++i) s[i] = AddCarry(a[i], b[i], carry);
  return CondSubtract(s, carry);
}

U256 Modulus::Sub(const U256& a, const U256& b) const {
  U256 d;
  uint64_t borrow = 0;
  for (int i = 0; i < 4; ++i) d[i] = SubBorrow(a[i], b[i], borrow);
  const uint64_t mask = 0 - borrow;
  uint64_t carry = 0;
  for (int i = 0; i < 4; ++i) d[i] = AddCarry(d[i], m_[i] & mask, carry);
  return d;
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

U256 Modulus::Mul(const U256& a, const U256& b) const {
  // CIOS Montgomery multiplication.
  uint64_t t[6] = {};
  for (int i = 0; i < 4; ++i) {
    uint64_t carry = 0;
    for (int j = 0; j < 4; ++j) {
      const u128 p = static_cast<u128>(a[j]) * b[i] + t[j] + carry;
      t[j] = static_cast<uint64_t>(p);
      carry = static_cast<uint64_t>(p >> 64);
    }
    u128 s = static_cast<u128>(t[4]) + carry;
    t[4] = static_cast<uint64_t>(s);
    t[5] = static_cast<uint64_t>(s >> 64);
    const uint64_t mm = t[0] * inv_;
    u128 p = static_cast<u128>(mm) * m_[0] + t[0];
    carry = static_cast<uint64_t>(p >> 64);
    for (int j = 1; j < 4; ++j) {
      p = static_cast<u128>(mm) * m_[j] + t[j] + carry;
      t[j - 1] = static_cast<uint64_t>(p);
      carry = static_cast<uint64_t>(p >> 64);
    }
    s = static_cast<u128>(t[4]) + carry;
    t[3] = static_cast<uint64_t>(s);
    t[4] = t[5] + static_cast<uint64_t>(s >> 64);
  }
  return CondSubtract(U256{t[0], t[1], t[2], t[3]}, t[4]);
}

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
  // m - 1 = q * 2^s with q odd.
  U256 q = m_;
  q[0] -= 1;
  int s = 0;
  while ((q[0] & 1) == 0) {
    q = ShiftRight(q, 1);
    ++s;
  }
  const U256 half = ShiftRight(U256{m_[0] - 1, m_[1], m_[2], m_[3]}, 1);  // (m-1)/2
  if (!Equal(Pow(a, half), one_)) return std::nullopt;
  // The smallest non-residue z.
  U256 z = ToMont(U256{2, 0, 0, 0});
  while (Equal(Pow(z, half), one_)) z = Add(z, one_);
  U256 c = Pow(z, q);
  U256 qp1h = ShiftRight(q, 1);  // (q+1)/2 = floor(q/2) + 1 for odd q
  for (int i = 0; i < 4 && ++qp1h[i] == 0; ++i) {
  }
  U256 x = Pow(a, qp1h);
  U256 t = Pow(a, q);
  int mcur = s;
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
