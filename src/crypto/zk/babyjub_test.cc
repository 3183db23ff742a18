#include "crypto/zk/babyjub.h"

#include <gmpxx.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/encoding.h"
#include "crypto/crypto.h"
#include "crypto/zk/poseidon.h"
#include "testing/subprocess.h"

namespace sirr::crypto::zk {
namespace {

std::string Decimal(const U256& v) {
  mpz_class r;
  mpz_import(r.get_mpz_t(), 4, -1, sizeof(uint64_t), 0, 0, v.data());
  return r.get_str();
}
U256 FromDecimal(const std::string& s) {
  mpz_class v(s);
  U256 r{};
  mpz_export(r.data(), nullptr, -1, sizeof(uint64_t), 0, 0, v.get_mpz_t());
  return r;
}
std::string ToHex0x(const U256& v) { return "0x" + HexEncode(U256ToBe(v)); }

SecretBytes Iden3Key() {
  return *HexDecodeSecret("0001020304050607080900010203040506070809000102030405060708090001");
}

// iden3's published key and Poseidon signature (circomlibjs test/eddsa.js, reproduced by
// ../shared/oracles/circom_babyjub.mjs).
TEST(BabyJubTest, Iden3PublishedVector) {
  auto pub = BabyJubPublicKey(Iden3Key());
  ASSERT_TRUE(pub.ok()) << pub.status();
  auto a = BabyJubUnpackForTest(*pub);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(Decimal(a->x),
            "13277427435165878497778222415993513565335242147425444199013288855685581939618");
  EXPECT_EQ(Decimal(a->y),
            "13622229784656158136036771217484571176836296686641868549125388198837476602820");

  const U256 msg = FromDecimal("42649378395939397566720");  // bytes 00 01 .. 09 00 00 LE
  auto sig = BabyJubSign(Iden3Key(), msg);
  ASSERT_TRUE(sig.ok()) << sig.status();
  auto r8 = BabyJubUnpackForTest(std::span(*sig).first(32));
  ASSERT_TRUE(r8.ok());
  EXPECT_EQ(Decimal(r8->x),
            "11384336176656855268977457483345535180380036354188103142384839473266348197733");
  EXPECT_EQ(Decimal(r8->y),
            "15383486972088797283337779941324724402501462225528836549661220478783371668959");
  EXPECT_EQ(Decimal(U256FromLe(std::span<const uint8_t, 32>(sig->data() + 32, 32))),
            "1672775540645840396591609181675628451599263765380031905495115170613215233181");
  EXPECT_EQ(HexEncode(*sig),
            "dfedb4315d3f2eb4de2d3c510d7a987dcab67089c8ace06308827bf5bcbe02a2"
            "9d043ece562a8f82bfc0adb640c0107a7d3a27c1c7c1a6179a0da73de5c1b203");
  EXPECT_TRUE(BabyJubVerify(*pub, msg, *sig));

  // Any change is refused: another message, a flipped bit in R8 or S, S + l, another key.
  EXPECT_FALSE(BabyJubVerify(*pub, Fp().Add(msg, U256{1, 0, 0, 0}), *sig));
  for (size_t byte : {0, 31, 32, 63}) {
    auto bad = *sig;
    bad[byte] ^= 0x01;
    EXPECT_FALSE(BabyJubVerify(*pub, msg, bad)) << byte;
  }
  auto other = BabyJubPublicKey(*HexDecodeSecret(std::string(64, '7')));
  EXPECT_FALSE(BabyJubVerify(*other, msg, *sig));
  // S + l (a non-canonical S that the equation alone would accept) is refused.
  const U256 l =
      FromDecimal("2736030358979909402780800718157159386076813972158567259200215660948447373041");
  const U256 s = U256FromLe(std::span<const uint8_t, 32>(sig->data() + 32, 32));
  U256 s_plus_l{};
  unsigned __int128 carry = 0;
  for (int i = 0; i < 4; ++i) {
    carry += static_cast<unsigned __int128>(s[i]) + l[i];
    s_plus_l[i] = static_cast<uint64_t>(carry);
    carry >>= 64;
  }
  auto malleable = *sig;
  const auto sl = U256ToLe(s_plus_l);
  std::copy(sl.begin(), sl.end(), malleable.begin() + 32);
  EXPECT_FALSE(BabyJubVerify(*pub, msg, malleable));
  EXPECT_FALSE(BabyJubVerify(std::span(*pub).first(31), msg, *sig));
  EXPECT_FALSE(BabyJubVerify(*pub, msg, std::span(*sig).first(63)));
}

TEST(BabyJubTest, MessagesAreFieldElements) {
  const uint8_t small[] = {0x2a};
  EXPECT_EQ(*BabyJubMessage(small), (U256{42, 0, 0, 0}));
  const auto p = U256ToBe(Fp().m());
  auto at_p = BabyJubMessage(p);
  ASSERT_FALSE(at_p.ok());
  EXPECT_NE(at_p.status().message().find("below p"), std::string::npos);
  const std::vector<uint8_t> too_long(33, 0);
  EXPECT_FALSE(BabyJubMessage(too_long).ok());
  EXPECT_FALSE(BabyJubSign(Iden3Key(), Fp().m()).ok());
  EXPECT_FALSE(BabyJubPublicKey(*HexDecodeSecret("0001")).ok());
}

TEST(BabyJubTest, PackedPointsMustBeCanonicalCurvePoints) {
  auto pub = *BabyJubPublicKey(Iden3Key());
  EXPECT_TRUE(BabyJubIsPoint(pub));
  // y = p (non-canonical), a y with no x on the curve, a wrong length.
  auto p_bytes = U256ToLe(Fp().m());
  EXPECT_FALSE(BabyJubIsPoint(p_bytes));
  int not_points = 0;
  for (uint8_t y = 2; y < 40; ++y) {
    std::array<uint8_t, 32> b{};
    b[0] = y;
    if (!BabyJubIsPoint(b)) ++not_points;
  }
  EXPECT_GT(not_points, 0);
  EXPECT_FALSE(BabyJubIsPoint(std::span(pub).first(31)));
  // (0, 1) is the identity; "-0" with the sign bit is not a canonical encoding.
  std::array<uint8_t, 32> identity{};
  identity[0] = 1;
  EXPECT_TRUE(BabyJubIsPoint(identity));
  identity[31] |= 0x80;
  EXPECT_FALSE(BabyJubIsPoint(identity));
}

// Random keys and messages: our signatures equal circomlibjs's (the scheme is deterministic)
// and verify there; circomlibjs's verify here; tampered ones fail on both sides.
TEST(BabyJubTest, AgreesWithCircomlibjsBothWays) {
  const auto oracle = sirr::testing::NodeOracle(SIRR_NODE_ORACLE_DIR, SIRR_ORACLE_DIR,
                                                "babyjub_circom.mjs", "circomlibjs");
  if (!oracle) GTEST_SKIP() << "circomlibjs is not installed (scripts/install-oracles.sh)";
  auto node = [&](const char* op, const nlohmann::json& items) {
    auto run = sirr::testing::Run({"/usr/bin/node", *oracle, op}, items.dump());
    EXPECT_EQ(run.exit_code, 0) << run.out.substr(0, 500);
    return nlohmann::json::parse(run.out);
  };
  auto& random = SecureRandom::Get();
  struct Case {
    SecretBytes key;
    U256 msg;
  };
  std::vector<Case> cases;
  nlohmann::json items = nlohmann::json::array();
  for (int i = 0; i < 16; ++i) {
    Bytes m = random.RandomBytes(32);
    U256 msg = Fp().Reduce(U256FromLe(std::span<const uint8_t, 32>(m.data(), 32)));
    if (i == 0) msg = U256{};
    if (i == 1) msg = Fp().Sub(U256{}, U256{1, 0, 0, 0});  // p - 1
    cases.push_back(Case{random.RandomSecret(32), msg});
    items.push_back(
        {{"private_key", HexEncode(cases.back().key.reveal())}, {"message", ToHex0x(msg)}});
  }
  auto theirs = node("sign", items);
  ASSERT_EQ(theirs.size(), cases.size());
  nlohmann::json to_verify = nlohmann::json::array();
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(i);
    auto pub = BabyJubPublicKey(cases[i].key);
    auto sig = BabyJubSign(cases[i].key, cases[i].msg);
    ASSERT_TRUE(pub.ok() && sig.ok());
    EXPECT_EQ(HexEncode(*pub), theirs[i]["public_key"].get<std::string>());
    EXPECT_EQ(HexEncode(*sig), theirs[i]["signature"].get<std::string>());
    auto their_sig = *HexDecode(theirs[i]["signature"].get<std::string>());
    EXPECT_TRUE(BabyJubVerify(*pub, cases[i].msg, their_sig));
    // Ours to circomlibjs: as signed, and with the message changed (must fail there).
    to_verify.push_back({{"public_key", HexEncode(*pub)},
                         {"message", ToHex0x(cases[i].msg)},
                         {"signature", HexEncode(*sig)}});
    to_verify.push_back({{"public_key", HexEncode(*pub)},
                         {"message", ToHex0x(Fp().Add(cases[i].msg, U256{1, 0, 0, 0}))},
                         {"signature", HexEncode(*sig)}});
  }
  auto verdicts = node("verify", to_verify);
  ASSERT_EQ(verdicts.size(), to_verify.size());
  for (size_t i = 0; i < verdicts.size(); ++i) EXPECT_EQ(verdicts[i].get<bool>(), i % 2 == 0) << i;
}

}  // namespace
}  // namespace sirr::crypto::zk
