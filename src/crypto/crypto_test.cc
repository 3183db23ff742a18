#include "crypto/crypto.h"

#include <gtest/gtest.h>

#include "base/encoding.h"
#include "crypto/envelope.h"
#include "testing/subprocess.h"

namespace sirr::crypto {
namespace {

SecretBytes Key0to31() {
  SecretBytes k(32);
  for (int i = 0; i < 32; ++i) k.reveal_mut()[i] = static_cast<uint8_t>(i);
  return k;
}

// Known answer computed by python3-cryptography (shared/oracles/crypto_check.py inputs).
TEST(AesGcmTest, KnownAnswer) {
  Bytes nonce(12);
  for (int i = 0; i < 12; ++i) nonce[i] = static_cast<uint8_t>(i);
  auto ct = Aes256GcmEncrypt(Key0to31(), nonce, AsBytes("hello vault"), AsBytes("aad"));
  ASSERT_TRUE(ct.ok());
  EXPECT_EQ(HexEncode(*ct), "2f67ba77aac5b47af82de319636883b1c6eea3dea42085d0331799");
  auto pt = Aes256GcmDecrypt(Key0to31(), nonce, *ct, AsBytes("aad"));
  ASSERT_TRUE(pt.ok());
  EXPECT_EQ(pt->reveal_string(), "hello vault");
}

// NIST GCM test case 13 (AES-256, zero key, zero IV, empty plaintext).
TEST(AesGcmTest, NistEmptyPlaintextTag) {
  auto ct = Aes256GcmEncrypt(SecretBytes(32), Bytes(12), {}, {});
  ASSERT_TRUE(ct.ok());
  EXPECT_EQ(HexEncode(*ct), "530f8afbc74536b9a963b4f1c4cb738b");
}

TEST(AesGcmTest, DecryptFailsOnTamperWrongAadOrShortInput) {
  Bytes nonce(12, 1);
  auto ct = *Aes256GcmEncrypt(Key0to31(), nonce, AsBytes("data"), AsBytes("a"));
  Bytes bad = ct;
  bad[0] ^= 1;
  EXPECT_EQ(Aes256GcmDecrypt(Key0to31(), nonce, bad, AsBytes("a")).status().message(),
            "decryption failed");
  EXPECT_FALSE(Aes256GcmDecrypt(Key0to31(), nonce, ct, AsBytes("b")).ok());
  EXPECT_FALSE(Aes256GcmDecrypt(Key0to31(), nonce, Bytes(5), AsBytes("a")).ok());
  EXPECT_FALSE(Aes256GcmEncrypt(SecretBytes(16), nonce, AsBytes("x"), {}).ok());
  EXPECT_FALSE(Aes256GcmEncrypt(Key0to31(), Bytes(8), AsBytes("x"), {}).ok());
}

// RFC 5869 test case 1.
TEST(HkdfTest, Rfc5869Case1) {
  SecretBytes ikm(22);
  for (auto& b : ikm.reveal_mut()) b = 0x0b;
  Bytes salt = *HexDecode("000102030405060708090a0b0c");
  Bytes info = *HexDecode("f0f1f2f3f4f5f6f7f8f9");
  auto okm = HkdfSha256(ikm, salt, AsStringView(info), 42);
  ASSERT_TRUE(okm.ok());
  EXPECT_EQ(HexEncode(okm->reveal()),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

TEST(HkdfTest, KeyIdMatchesOracleValue) {
  EXPECT_EQ(KeyIdHex(DeriveKeyId(Key0to31())), "3e256366c36fc309");
}

// RFC 4231 test case 2.
TEST(HmacTest, Rfc4231Case2) {
  auto mac = HmacSha256(SecretBytes::FromString("Jefe"), AsBytes("what do ya want for nothing?"));
  EXPECT_EQ(HexEncode(mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Sha256Test, Abc) {
  EXPECT_EQ(HexEncode(Sha256(AsBytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(EnvelopeTest, LayoutIsVersionKeyIdNonceCiphertextTag) {
  SecretBytes key = Key0to31();
  auto id = DeriveKeyId(key);
  auto env = SealEnvelope(key, id, AsBytes("hello"), "sirr/v1/secret/v/r", SecureRandom::Get());
  ASSERT_TRUE(env.ok());
  ASSERT_EQ(env->size(), 1 + 8 + 12 + 5 + 16u);
  EXPECT_EQ((*env)[0], 0x01);
  EXPECT_TRUE(std::equal(id.begin(), id.end(), env->begin() + 1));
  EXPECT_EQ(*EnvelopeKeyId(*env), id);
  EXPECT_EQ(OpenEnvelope(key, id, *env, "sirr/v1/secret/v/r")->reveal_string(), "hello");
}

TEST(EnvelopeTest, OpenFailsWhenMovedToAnotherRecordOrTampered) {
  SecretBytes key = Key0to31();
  auto id = DeriveKeyId(key);
  Bytes env =
      *SealEnvelope(key, id, AsBytes("v"), EnvelopeAad("secret", "v1", "r1"), SecureRandom::Get());
  EXPECT_FALSE(OpenEnvelope(key, id, env, EnvelopeAad("secret", "v1", "r2")).ok());
  EXPECT_FALSE(OpenEnvelope(key, id, env, EnvelopeAad("secret", "v2", "r1")).ok());
  EXPECT_FALSE(OpenEnvelope(key, id, env, EnvelopeAad("vault-key", "v1", "r1")).ok());
  Bytes bad = env;
  bad.back() ^= 0x80;
  EXPECT_EQ(OpenEnvelope(key, id, bad, EnvelopeAad("secret", "v1", "r1")).status().code(),
            StatusCode::kInvalidArgument);
  Bytes wrong_version = env;
  wrong_version[0] = 2;
  EXPECT_EQ(OpenEnvelope(key, id, wrong_version, EnvelopeAad("secret", "v1", "r1")).status().code(),
            StatusCode::kDataLoss);
  EXPECT_FALSE(OpenEnvelope(key, id, Bytes(10, 1), "x").ok());
  SecretBytes other(32);
  EXPECT_EQ(OpenEnvelope(other, DeriveKeyId(other), env, EnvelopeAad("secret", "v1", "r1"))
                .status()
                .code(),
            StatusCode::kFailedPrecondition);
}

// Cross-check with python3-cryptography (an independent implementation), both directions.
class EnvelopeOracleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!sirr::testing::PythonHas("cryptography"))
      GTEST_SKIP() << "/usr/bin/python3 with python3-cryptography is not installed "
                      "(scripts/install-deps.sh installs it)";
  }
  std::string oracle_ = std::string(SIRR_ORACLE_DIR) + "/envelope_oracle.py";
};

TEST_F(EnvelopeOracleTest, PythonOpensOurEnvelopes) {
  for (int i = 0; i < 5; ++i) {
    SecretBytes key = SecureRandom::Get().RandomSecret(32);
    Bytes plain = SecureRandom::Get().RandomBytes(static_cast<size_t>(i * 37));
    std::string aad = EnvelopeAad("secret", "vault-" + std::to_string(i), "rec");
    Bytes env = *SealEnvelope(key, DeriveKeyId(key), plain, aad, SecureRandom::Get());
    auto r = sirr::testing::Run(
        {"/usr/bin/python3", oracle_, "open", HexEncode(key.reveal()), aad, HexEncode(env)});
    ASSERT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.out, HexEncode(plain));
    auto r2 = sirr::testing::Run(
        {"/usr/bin/python3", oracle_, "open", HexEncode(key.reveal()), aad + "x", HexEncode(env)});
    EXPECT_EQ(r2.exit_code, 1);
  }
}

TEST_F(EnvelopeOracleTest, WeOpenPythonEnvelopes) {
  for (int i = 0; i < 5; ++i) {
    SecretBytes key = SecureRandom::Get().RandomSecret(32);
    Bytes plain = SecureRandom::Get().RandomBytes(static_cast<size_t>(1 + i * 53));
    std::string aad = EnvelopeAad("vault-key", "v", std::to_string(i));
    auto r = sirr::testing::Run(
        {"/usr/bin/python3", oracle_, "seal", HexEncode(key.reveal()), aad, HexEncode(plain)});
    ASSERT_EQ(r.exit_code, 0);
    Bytes env = *HexDecode(r.out);
    auto opened = OpenEnvelope(key, DeriveKeyId(key), env, aad);
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(HexEncode(opened->reveal()), HexEncode(plain));
  }
}

TEST_F(EnvelopeOracleTest, HkdfDerivationsAgree) {
  SecretBytes key = SecureRandom::Get().RandomSecret(32);
  for (const char* info : {"sirr/v1/wrap", "sirr/v1/audit", "sirr/v1/key-id"}) {
    auto ours = HkdfSha256(key, {}, info, 32);
    auto r = sirr::testing::Run(
        {"/usr/bin/python3", oracle_, "hkdf", HexEncode(key.reveal()), info, "32"});
    ASSERT_EQ(r.exit_code, 0);
    EXPECT_EQ(HexEncode(ours->reveal()), r.out) << info;
  }
}

}  // namespace
}  // namespace sirr::crypto
