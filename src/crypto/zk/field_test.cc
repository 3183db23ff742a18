#include "crypto/zk/field.h"

#include <gmpxx.h>
#include <gtest/gtest.h>

#include "crypto/crypto.h"
#include "crypto/zk/poseidon.h"

namespace sirr::crypto::zk {
namespace {

// GMP (variable time, tests only) is the reference for the constant-time limb arithmetic.
mpz_class ToMpz(const U256& v) {
  mpz_class r;
  mpz_import(r.get_mpz_t(), 4, -1, sizeof(uint64_t), 0, 0, v.data());
  return r;
}
U256 FromMpz(const mpz_class& v) {
  U256 r{};
  mpz_export(r.data(), nullptr, -1, sizeof(uint64_t), 0, 0, v.get_mpz_t());
  return r;
}
U256 RandomU256() {
  Bytes b = SecureRandom::Get().RandomBytes(32);
  return U256FromLe(std::span<const uint8_t, 32>(b.data(), 32));
}

const mpz_class kL("2736030358979909402780800718157159386076813972158567259200215660948447373041");

class FieldTest : public ::testing::TestWithParam<int> {
 protected:
  const Modulus& mod() {
    static const Modulus l(FromMpz(kL));
    return GetParam() == 0 ? Fp() : l;
  }
};

TEST_P(FieldTest, AgreesWithGmp) {
  const Modulus& f = mod();
  const mpz_class m = ToMpz(f.m());
  const mpz_class r = mpz_class(1) << 256;
  // Edge values plus random ones.
  std::vector<U256> values = {U256{}, U256{1, 0, 0, 0}, FromMpz(m - 1), FromMpz(m - 2)};
  for (int i = 0; i < 60; ++i) values.push_back(FromMpz(ToMpz(RandomU256()) % m));
  for (size_t i = 0; i < values.size(); ++i) {
    const U256& a = values[i];
    const U256& b = values[(i * 7 + 3) % values.size()];
    const mpz_class A = ToMpz(a), B = ToMpz(b);
    EXPECT_EQ(ToMpz(f.Add(a, b)), (A + B) % m);
    EXPECT_EQ(ToMpz(f.Sub(a, b)), ((A - B) % m + m) % m);
    EXPECT_EQ(ToMpz(f.Neg(a)), (m - A) % m);
    EXPECT_EQ(ToMpz(f.MulPlain(a, b)), (A * B) % m);
    EXPECT_EQ(ToMpz(f.ToMont(a)), (A * r) % m);
    EXPECT_EQ(ToMpz(f.FromMont(f.ToMont(a))), A);
    if (A != 0) {
      mpz_class inv;
      mpz_invert(inv.get_mpz_t(), A.get_mpz_t(), m.get_mpz_t());
      EXPECT_EQ(ToMpz(f.FromMont(f.Inverse(f.ToMont(a)))), inv);
    }
    // Square roots: of a square always, never of a non-residue.
    const U256 sq = f.Square(f.ToMont(a));
    auto root = f.Sqrt(sq);
    ASSERT_TRUE(root.has_value());
    EXPECT_TRUE(Equal(f.Square(*root), sq));
    if (mpz_legendre(A.get_mpz_t(), m.get_mpz_t()) == -1) {
      EXPECT_FALSE(f.Sqrt(f.ToMont(a)).has_value());
    }
  }
  // Reduction of arbitrary 256- and 512-bit values.
  for (int i = 0; i < 60; ++i) {
    const U256 lo = RandomU256(), hi = RandomU256();
    EXPECT_EQ(ToMpz(f.Reduce(lo)), ToMpz(lo) % m);
    EXPECT_EQ(ToMpz(f.Reduce512(lo, hi)), (ToMpz(hi) * r + ToMpz(lo)) % m);
  }
  const U256 all_ones{~0ull, ~0ull, ~0ull, ~0ull};
  EXPECT_EQ(ToMpz(f.Reduce512(all_ones, all_ones)), (r * r - 1) % m);
}

INSTANTIATE_TEST_SUITE_P(PAndL, FieldTest, ::testing::Values(0, 1));

TEST(FieldBytesTest, RoundTrips) {
  const U256 v = RandomU256();
  EXPECT_EQ(U256FromLe(U256ToLe(v)), v);
  const auto be = U256ToBe(v);
  EXPECT_EQ(*U256FromBe(be), v);
  const uint8_t short_be[] = {0x01, 0x02};
  EXPECT_EQ(*U256FromBe(short_be), (U256{0x0102, 0, 0, 0}));
  const std::vector<uint8_t> too_long(33, 0);
  EXPECT_FALSE(U256FromBe(too_long).has_value());
  EXPECT_EQ(
      ToMpz(Fp().m()),
      mpz_class("21888242871839275222246405745257275088548364400416034343698204186575808495617"));
}

}  // namespace
}  // namespace sirr::crypto::zk
