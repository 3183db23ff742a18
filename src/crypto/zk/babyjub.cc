#include "crypto/zk/babyjub.h"

#include <mutex>

#include "crypto/zk/blake512.h"
#include "crypto/zk/poseidon.h"

namespace sirr::crypto::zk {
namespace {

// Projective coordinates (X : Y : Z), affine (X/Z, Y/Z), all in Montgomery form.
struct Point {
  U256 x, y, z;
};

const Modulus& Fl() {
  static const Modulus l(
      U256{0x677297dc392126f1, 0xab3eedb83920ee0a, 0x370a08b6d0302b0b, 0x060c89ce5c263405});
  return l;
}

// Fixed-base multiplication by 4-bit windows: table[j][v] = v * 16^j * Base8.
constexpr int kWindows = 64;
constexpr int kWindowSize = 16;

struct Curve {
  U256 a, d;  // Montgomery form
  std::array<std::array<Point, kWindowSize>, kWindows> table;
  U256 half_p;  // (p - 1) / 2, plain
};

Point Identity() {
  const Modulus& f = Fp();
  return Point{U256{}, f.one(), f.one()};
}

// The complete (unified) twisted Edwards addition, "add-2008-bbjlp": correct for doubling and
// the identity too, so the ladder below has no special cases to branch on.
Point Add(const Curve& c, const Point& p, const Point& q) {
  const Modulus& f = Fp();
  const U256 a = f.Mul(p.z, q.z);
  const U256 b = f.Square(a);
  const U256 cc = f.Mul(p.x, q.x);
  const U256 d = f.Mul(p.y, q.y);
  const U256 e = f.Mul(c.d, f.Mul(cc, d));
  const U256 ff = f.Sub(b, e);
  const U256 g = f.Add(b, e);
  const U256 cross = f.Sub(f.Sub(f.Mul(f.Add(p.x, p.y), f.Add(q.x, q.y)), cc), d);
  return Point{f.Mul(a, f.Mul(ff, cross)), f.Mul(a, f.Mul(g, f.Sub(d, f.Mul(c.a, cc)))),
               f.Mul(ff, g)};
}

Point SelectPoint(uint64_t mask, const Point& p, const Point& q) {
  return Point{Select(mask, p.x, q.x), Select(mask, p.y, q.y), Select(mask, p.z, q.z)};
}

const Curve& TheCurve() {
  static const Curve* curve = [] {
    const Modulus& f = Fp();
    auto* c = new Curve;
    c->a = f.ToMont(U256{168700, 0, 0, 0});
    c->d = f.ToMont(U256{168696, 0, 0, 0});
    Point base = Point{f.ToMont(U256{0x2893f3f6bb957051, 0x2ab8d8010534e0b6, 0x4eacb2e09d6277c1,
                                     0x0bb77a6ad63e739b}),
                       f.ToMont(U256{0x4b3c257a872d7d8b, 0xfce0051fb9e13377, 0x25572e1cd16bf9ed,
                                     0x25797203f7a0b249}),
                       f.one()};
    // base runs through 16^j * Base8.
    for (auto& row : c->table) {
      row[0] = Identity();
      for (int v = 1; v < kWindowSize; ++v) row[v] = Add(*c, row[v - 1], base);
      base = Add(*c, row[kWindowSize - 1], base);
    }
    U256 pm1 = f.m();
    pm1[0] -= 1;  // p is odd
    c->half_p = ShiftRight(pm1, 1);
    return c;
  }();
  return *curve;
}

// k * Base8: one addition per 4-bit window of k, the table entry read by scanning the whole
// row and keeping the wanted one by mask (no secret-dependent index or branch).
Point MulBase(const Curve& c, const U256& k) {
  Point r = Identity();
  for (int j = 0; j < kWindows; ++j) {
    const uint64_t digit = (k[j / 16] >> (4 * (j % 16))) & 0xf;
    Point entry = c.table[j][0];
    for (uint64_t v = 1; v < kWindowSize; ++v) {
      const uint64_t diff = digit ^ v;
      const uint64_t equal = ((diff | (0 - diff)) >> 63) - 1;  // all ones when digit == v
      entry = SelectPoint(equal, c.table[j][v], entry);
    }
    r = Add(c, r, entry);
  }
  return r;
}

// 2p, "dbl-2008-bbjlp" (valid for every curve point).
Point Double(const Curve& c, const Point& p) {
  const Modulus& f = Fp();
  const U256 b = f.Square(f.Add(p.x, p.y));
  const U256 cc = f.Square(p.x);
  const U256 d = f.Square(p.y);
  const U256 e = f.Mul(c.a, cc);
  const U256 ff = f.Add(e, d);
  const U256 h = f.Square(p.z);
  const U256 j = f.Sub(ff, f.Add(h, h));
  return Point{f.Mul(f.Sub(f.Sub(b, cc), d), j), f.Mul(ff, f.Sub(e, d)), f.Mul(ff, j)};
}

// k * p for a PUBLIC scalar and point (verification only): 4-bit fixed windows, variable time.
Point MulPublic(const Curve& c, const Point& p, const U256& k) {
  std::array<Point, kWindowSize> multiples;
  multiples[0] = Identity();
  for (int v = 1; v < kWindowSize; ++v) multiples[v] = Add(c, multiples[v - 1], p);
  Point r = Identity();
  for (int j = kWindows - 1; j >= 0; --j) {
    for (int i = 0; i < 4; ++i) r = Double(c, r);
    const uint64_t digit = (k[j / 16] >> (4 * (j % 16))) & 0xf;
    if (digit != 0) r = Add(c, r, multiples[digit]);
  }
  return r;
}

// Plain affine coordinates.
AffinePoint ToAffine(const Point& p) {
  const Modulus& f = Fp();
  const U256 zi = f.Inverse(p.z);
  return AffinePoint{f.FromMont(f.Mul(p.x, zi)), f.FromMont(f.Mul(p.y, zi))};
}

std::array<uint8_t, 32> Pack(const Curve& c, const AffinePoint& p) {
  std::array<uint8_t, 32> out = U256ToLe(p.y);
  if (Compare(p.x, c.half_p) > 0) out[31] |= 0x80;  // public point: variable time is fine
  return out;
}

// Canonical packed point → projective point (public data, variable time).
std::optional<Point> Unpack(const Curve& c, std::span<const uint8_t> packed) {
  if (packed.size() != 32) return std::nullopt;
  const Modulus& f = Fp();
  std::array<uint8_t, 32> bytes;
  std::copy(packed.begin(), packed.end(), bytes.begin());
  const bool sign = (bytes[31] & 0x80) != 0;
  bytes[31] &= 0x7f;
  const U256 y = U256FromLe(bytes);
  if (Compare(y, f.m()) >= 0) return std::nullopt;
  const U256 ym = f.ToMont(y);
  const U256 y2 = f.Square(ym);
  const U256 den = f.Sub(c.a, f.Mul(c.d, y2));  // x^2 = (1 - y^2) / (a - d y^2)
  if (IsZero(den)) return std::nullopt;
  const auto x = f.Sqrt(f.Mul(f.Sub(f.one(), y2), f.Inverse(den)));
  if (!x) return std::nullopt;
  U256 xp = f.FromMont(*x);
  if (Compare(xp, c.half_p) > 0) xp = f.Neg(xp);  // the root in [0, (p-1)/2]
  if (sign) {
    if (IsZero(xp)) return std::nullopt;  // -0 is not a canonical encoding
    xp = f.Neg(xp);
  }
  return Point{f.ToMont(xp), ym, f.one()};
}

bool SameProjective(const Point& p, const Point& q) {
  const Modulus& f = Fp();
  return Equal(f.Mul(p.x, q.z), f.Mul(q.x, p.z)) && Equal(f.Mul(p.y, q.z), f.Mul(q.y, p.z));
}

// The secret scalars of a private key: s (pruned, full 256-bit value) and the nonce prefix.
struct Expanded {
  U256 s;
  std::array<uint8_t, 64> h;
  ~Expanded() {
    SecureWipe(s.data(), sizeof(s));
    SecureWipe(h.data(), h.size());
  }
};

// A = (s >> 3) * Base8, affine.
AffinePoint PublicPoint(const Curve& c, const Expanded& e) {
  U256 s3 = ShiftRight(e.s, 3);
  const AffinePoint a = ToAffine(MulBase(c, s3));
  SecureWipe(s3.data(), sizeof(s3));
  return a;
}

Status Expand(const SecretBytes& private_key, Expanded& out) {
  if (private_key.size() != kBabyJubPrivateKeySize)
    return InvalidArgumentError("a Baby Jubjub private key is 32 bytes");
  out.h = Blake512(private_key.reveal());
  out.h[0] &= 0xf8;
  out.h[31] &= 0x7f;
  out.h[31] |= 0x40;
  out.s = U256FromLe(std::span<const uint8_t, 32>(out.h.data(), 32));
  return OkStatus();
}

}  // namespace

StatusOr<U256> BabyJubMessage(std::span<const uint8_t> big_endian) {
  const auto v = U256FromBe(big_endian);
  if (!v) return InvalidArgumentError("a Baby Jubjub message is a field element: at most 32 bytes");
  if (Compare(*v, Fp().m()) >= 0)
    return InvalidArgumentError("a Baby Jubjub message must be a field element below p");
  return *v;
}

StatusOr<std::array<uint8_t, 32>> BabyJubPublicKey(const SecretBytes& private_key) {
  Expanded e;
  SIRR_RETURN_IF_ERROR(Expand(private_key, e));
  const Curve& c = TheCurve();
  return Pack(c, PublicPoint(c, e));
}

StatusOr<std::array<uint8_t, 64>> BabyJubSign(const SecretBytes& private_key, const U256& message) {
  if (Compare(message, Fp().m()) >= 0)
    return InvalidArgumentError("a Baby Jubjub message must be a field element below p");
  Expanded e;
  SIRR_RETURN_IF_ERROR(Expand(private_key, e));
  const Curve& c = TheCurve();
  const Modulus& l = Fl();

  const AffinePoint a = PublicPoint(c, e);

  const auto msg_le = U256ToLe(message);
  const std::span<const uint8_t> parts[] = {std::span<const uint8_t>(e.h).subspan(32), msg_le};
  std::array<uint8_t, 64> rh = Blake512(parts);
  U256 r = l.Reduce512(U256FromLe(std::span<const uint8_t, 32>(rh.data(), 32)),
                       U256FromLe(std::span<const uint8_t, 32>(rh.data() + 32, 32)));
  SecureWipe(rh.data(), rh.size());
  const AffinePoint r8 = ToAffine(MulBase(c, r));

  const U256 inputs[] = {r8.x, r8.y, a.x, a.y, message};
  const auto hm = Poseidon(inputs);
  if (!hm) return InternalError("poseidon rejected its inputs");
  U256 s_mod_l = l.Reduce(e.s);
  U256 sig_s = l.Add(r, l.MulPlain(l.Reduce(*hm), s_mod_l));
  SecureWipe(s_mod_l.data(), sizeof(s_mod_l));
  SecureWipe(r.data(), sizeof(r));

  std::array<uint8_t, 64> out;
  const auto r8p = Pack(c, r8);
  const auto sp = U256ToLe(sig_s);
  std::copy(r8p.begin(), r8p.end(), out.begin());
  std::copy(sp.begin(), sp.end(), out.begin() + 32);
  return out;
}

bool BabyJubVerify(std::span<const uint8_t> public_key, const U256& message,
                   std::span<const uint8_t> signature) {
  if (public_key.size() != kBabyJubPublicKeySize || signature.size() != kBabyJubSignatureSize)
    return false;
  if (Compare(message, Fp().m()) >= 0) return false;
  const Curve& c = TheCurve();
  const auto a = Unpack(c, public_key);
  const auto r8 = Unpack(c, signature.first(32));
  if (!a || !r8) return false;
  const U256 s = U256FromLe(std::span<const uint8_t, 32>(signature.data() + 32, 32));
  if (Compare(s, Fl().m()) >= 0) return false;
  const AffinePoint aa = ToAffine(*a), ra = ToAffine(*r8);
  const U256 inputs[] = {ra.x, ra.y, aa.x, aa.y, message};
  const auto hm = Poseidon(inputs);
  if (!hm) return false;
  const Point left = MulBase(c, s);  // constant time, though S is public
  Point right = MulPublic(c, *a, *hm);
  for (int i = 0; i < 3; ++i) right = Double(c, right);  // (8 * hm) * A
  right = Add(c, *r8, right);
  return SameProjective(left, right);
}

bool BabyJubIsPoint(std::span<const uint8_t> packed) {
  return Unpack(TheCurve(), packed).has_value();
}

StatusOr<AffinePoint> BabyJubUnpackForTest(std::span<const uint8_t> packed) {
  const auto p = Unpack(TheCurve(), packed);
  if (!p) return InvalidArgumentError("not a packed Baby Jubjub point");
  return ToAffine(*p);
}

}  // namespace sirr::crypto::zk
