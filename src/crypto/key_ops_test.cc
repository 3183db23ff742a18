#include "crypto/key_ops.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/encoding.h"
#include "crypto/crypto.h"
#include "crypto/secp256k1.h"
#include "testing/subprocess.h"

namespace sirr::crypto {
namespace {

Bytes Hex(std::string_view h) { return HexDecode(h).value(); }
SecretBytes SecretHex(std::string_view h) { return HexDecodeSecret(h).value(); }
std::span<const uint8_t> Str(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Hands out fixed bytes (test vectors' keys) where the code asks for randomness.
class FixedRandom final : public Random {
 public:
  explicit FixedRandom(Bytes bytes) : bytes_(std::move(bytes)) {}
  void Fill(std::span<uint8_t> out) override {
    for (auto& b : out) b = bytes_[pos_++ % bytes_.size()];
  }

 private:
  Bytes bytes_;
  size_t pos_ = 0;
};

const std::string kKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const std::string kNonce = "000102030405060708090a0b";

TEST(KeySpecs, ParseCaseInsensitivelyWithAliasesAndCanonicalNames) {
  EXPECT_EQ(SpecName(ParseKeySpec("aes-256-gcm").value()), "AES-256-GCM");
  EXPECT_EQ(SpecName(ParseKeySpec("CHACHA20").value()), "ChaCha20-Poly1305");
  EXPECT_EQ(SpecName(ParseKeySpec("chacha20-poly1305").value()), "ChaCha20-Poly1305");
  EXPECT_EQ(SpecName(ParseKeySpec("SECP256K1").value()), "secp256k1");
  EXPECT_EQ(SpecName(ParseKeySpec("rsa-4096").value()), "RSA-4096");
  EXPECT_EQ(SpecName(ParseKeySpec("x25519").value()), "C25519");
  EXPECT_EQ(ParseKeySpec("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseKeySpec("RSA-1024").status().code(), StatusCode::kInvalidArgument);
}

TEST(KeySpecs, UsageFollowsTheSpec) {
  EXPECT_TRUE(AllowsUsage(KeySpec::kAes256Gcm, KeyUsage::kEncryptDecrypt));
  EXPECT_FALSE(AllowsUsage(KeySpec::kAes256Gcm, KeyUsage::kSignVerify));
  EXPECT_FALSE(AllowsUsage(KeySpec::kEd25519, KeyUsage::kEncryptDecrypt));
  EXPECT_TRUE(AllowsUsage(KeySpec::kRsa2048, KeyUsage::kEncryptDecrypt));
  EXPECT_TRUE(AllowsUsage(KeySpec::kRsa2048, KeyUsage::kSignVerify));
  EXPECT_EQ(DefaultUsage(KeySpec::kRsa3072), KeyUsage::kSignVerify);
}

TEST(Aead, MatchesPythonCryptographyKnownAnswers) {
  // ../shared/oracles/crypto_check.py: key 00..1f, nonce 00..0b, aad "aad", pt "hello vault".
  DeterministicRandom random;
  auto nonce = Hex(kNonce);
  auto aes = AeadEncrypt(KeySpec::kAes256Gcm, SecretHex(kKey), std::span<const uint8_t>(nonce),
                         Str("hello vault"), Str("aad"), random);
  ASSERT_TRUE(aes.ok()) << aes.status();
  EXPECT_EQ(HexEncode(*aes), kNonce + "2f67ba77aac5b47af82de319636883b1c6eea3dea42085d0331799");
  auto chacha =
      AeadEncrypt(KeySpec::kChaCha20Poly1305, SecretHex(kKey), std::span<const uint8_t>(nonce),
                  Str("hello vault"), Str("aad"), random);
  ASSERT_TRUE(chacha.ok()) << chacha.status();
  EXPECT_EQ(HexEncode(*chacha), kNonce + "e19e646c4637d321c2ef4b63e7bd9563349d445885214582330f4b");
  auto back = AeadDecrypt(KeySpec::kChaCha20Poly1305, SecretHex(kKey), *chacha, Str("aad"));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->reveal_string(), "hello vault");
}

TEST(Aead, DecryptFailsWithOneMessageForWrongAadTamperingAndShortData) {
  DeterministicRandom random;
  for (KeySpec spec : {KeySpec::kAes256Gcm, KeySpec::kChaCha20Poly1305}) {
    auto ct = AeadEncrypt(spec, SecretHex(kKey), std::nullopt, Str("x"), Str("a"), random).value();
    EXPECT_EQ(ct.size(), 12u + 1 + 16);
    auto wrong_aad = AeadDecrypt(spec, SecretHex(kKey), ct, Str("b"));
    Bytes tampered = ct;
    tampered[13] ^= 1;
    auto bad = AeadDecrypt(spec, SecretHex(kKey), tampered, Str("a"));
    auto shorter = AeadDecrypt(spec, SecretHex(kKey), std::span(ct).first(20), Str("a"));
    for (const auto& r : {&wrong_aad, &bad, &shorter}) {
      ASSERT_FALSE(r->ok());
      EXPECT_EQ(r->status().message(), "decryption failed");
    }
  }
}

TEST(Aead, GivenNonceMustBeTwelveBytes) {
  DeterministicRandom random;
  Bytes eleven(11);
  auto r = AeadEncrypt(KeySpec::kAes256Gcm, SecretHex(kKey), std::span<const uint8_t>(eleven),
                       Str("x"), {}, random);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST(Ed25519, MatchesRfc8032TestOne) {
  FixedRandom seed(Hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
  auto key = GenerateKey(KeySpec::kEd25519, seed);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(HexEncode(key->public_key),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  auto sig = Sign(KeySpec::kEd25519, key->material, {}, std::nullopt);
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(HexEncode(*sig),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bac"
            "c61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
  EXPECT_TRUE(Verify(KeySpec::kEd25519, key->public_key, {}, *sig, std::nullopt).value());
  Bytes truncated(sig->begin(), sig->end() - 1);
  EXPECT_FALSE(Verify(KeySpec::kEd25519, key->public_key, {}, truncated, std::nullopt).value());
  Bytes short_key(key->public_key.begin(), key->public_key.end() - 1);
  EXPECT_FALSE(Verify(KeySpec::kEd25519, short_key, {}, *sig, std::nullopt).value());
  auto exported = ExportPrivate(KeySpec::kEd25519, key->material).value();
  EXPECT_EQ(exported.first, "seed");
  EXPECT_EQ(exported.second.reveal_string(),
            "0x9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
}

TEST(Secp256k1, MatchesNobleRfc6979AndTheKnownAddress) {
  SecretBytes one = SecretHex(std::string(62, '0') + "01");
  auto pub = secp256k1::PublicKey(one).value();
  EXPECT_EQ(DescribePublicKey(KeySpec::kSecp256k1, pub).value().address,
            "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf");
  // sha256("Satoshi Nakamoto"); @noble/curves: secp256k1.sign(digest, 1, {prehash: false}).
  auto digest = Hex("a0dc65ffca799873cbea0ac274015b9526505daaaed385155425f7337704883e");
  auto sig = Sign(KeySpec::kSecp256k1, one, digest, std::nullopt);
  ASSERT_TRUE(sig.ok()) << sig.status();
  EXPECT_EQ(HexEncode(*sig),
            "934b1ea10a4b3c1757e2b0c017d0b6143ce3c9a7e6a4a49860d7a6ab210ee3d8"
            "2442ce9d2b916064108014783e923ec36b49743e2ffa1c4496f01a512aafd9e5"
            "01");
  EXPECT_TRUE(Verify(KeySpec::kSecp256k1, pub, digest, *sig, std::nullopt).value());
  // r|s alone verifies too; a wrong recovery id or another digest does not.
  Bytes rs(sig->begin(), sig->begin() + 64);
  EXPECT_TRUE(Verify(KeySpec::kSecp256k1, pub, digest, rs, std::nullopt).value());
  Bytes wrong_v = *sig;
  wrong_v[64] = 0;
  EXPECT_FALSE(Verify(KeySpec::kSecp256k1, pub, digest, wrong_v, std::nullopt).value());
  Bytes other = digest;
  other[0] ^= 1;
  EXPECT_FALSE(Verify(KeySpec::kSecp256k1, pub, other, *sig, std::nullopt).value());
  EXPECT_FALSE(Verify(KeySpec::kSecp256k1, Bytes(64, 4), digest, *sig, std::nullopt).value());
  // The message must be a 32-byte digest.
  EXPECT_EQ(Sign(KeySpec::kSecp256k1, one, Str("short"), std::nullopt).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(X25519, MatchesRfc7748AndPythonCryptography) {
  FixedRandom fixed(Hex(kKey));
  auto key = GenerateKey(KeySpec::kX25519, fixed).value();
  // ../shared/oracles/crypto_check.py: X25519 public key of 00..1f.
  EXPECT_EQ(HexEncode(key.public_key),
            "8f40c5adb68f25624ae5b214ea767a6ec94d829d3d7b5e1ad1ba6f3e2138285f");
  // RFC 7748 section 6.1.
  auto shared = X25519SharedSecret(
      SecretHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"),
      Hex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"));
  ASSERT_TRUE(shared.ok());
  EXPECT_EQ(HexEncode(shared->reveal()),
            "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
  EXPECT_EQ(X25519SharedSecret(key.material, Bytes(32, 0)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(X25519SharedSecret(key.material, Bytes(31, 9)).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(P256, SignsRawRsSignaturesThatVerify) {
  DeterministicRandom random;
  auto key = GenerateKey(KeySpec::kP256, random).value();
  ASSERT_EQ(key.public_key.size(), 65u);
  EXPECT_EQ(key.public_key[0], 0x04);
  auto sig = Sign(KeySpec::kP256, key.material, Str("message"), std::nullopt).value();
  EXPECT_EQ(sig.size(), 64u);
  EXPECT_TRUE(Verify(KeySpec::kP256, key.public_key, Str("message"), sig, std::nullopt).value());
  EXPECT_FALSE(Verify(KeySpec::kP256, key.public_key, Str("massage"), sig, std::nullopt).value());
  EXPECT_FALSE(Verify(KeySpec::kP256, Bytes(65, 4), Str("message"), sig, std::nullopt).value());
  auto exported = ExportPrivate(KeySpec::kP256, key.material).value();
  EXPECT_EQ(exported.second.size(), 2u + 64);
}

TEST(Rsa, SignsWithEachAlgorithmAndRequiresOne) {
  DeterministicRandom random;
  auto key = GenerateKey(KeySpec::kRsa2048, random).value();
  auto parts = DescribePublicKey(KeySpec::kRsa2048, key.public_key).value();
  EXPECT_TRUE(parts.public_key.starts_with("-----BEGIN PUBLIC KEY-----"));
  EXPECT_EQ(parts.fingerprint.size(), 47u);
  for (auto name : {"PS256", "PS384", "PS512", "RS256", "RS384", "RS512"}) {
    auto alg = ParseRsaAlgorithm(name).value();
    auto sig = Sign(KeySpec::kRsa2048, key.material, Str("m"), alg);
    ASSERT_TRUE(sig.ok()) << name << sig.status();
    EXPECT_EQ(sig->size(), 256u);
    EXPECT_TRUE(Verify(KeySpec::kRsa2048, key.public_key, Str("m"), *sig, alg).value()) << name;
    EXPECT_FALSE(Verify(KeySpec::kRsa2048, key.public_key, Str("n"), *sig, alg).value()) << name;
  }
  EXPECT_EQ(Sign(KeySpec::kRsa2048, key.material, Str("m"), std::nullopt).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE(ParseRsaAlgorithm("ES256").ok());
  EXPECT_FALSE(ParseRsaAlgorithm("none").ok());
}

TEST(Rsa, OaepRoundTripsAndRefusesPlaintextOverTheLimit) {
  DeterministicRandom random;
  auto key = GenerateKey(KeySpec::kRsa2048, random).value();
  EXPECT_EQ(RsaOaepMaxPlaintext(KeySpec::kRsa2048), 190u);
  EXPECT_EQ(RsaOaepMaxPlaintext(KeySpec::kRsa3072), 318u);
  EXPECT_EQ(RsaOaepMaxPlaintext(KeySpec::kRsa4096), 446u);
  Bytes max(190, 7);
  auto ct = RsaOaepEncrypt(KeySpec::kRsa2048, key.public_key, max);
  ASSERT_TRUE(ct.ok()) << ct.status();
  auto pt = RsaOaepDecrypt(key.material, *ct);
  ASSERT_TRUE(pt.ok());
  EXPECT_EQ(Bytes(pt->reveal().begin(), pt->reveal().end()), max);
  Bytes over(191, 7);
  EXPECT_EQ(RsaOaepEncrypt(KeySpec::kRsa2048, key.public_key, over).status().code(),
            StatusCode::kInvalidArgument);
  (*ct)[5] ^= 1;
  EXPECT_EQ(RsaOaepDecrypt(key.material, *ct).status().message(), "decryption failed");
}

// The spec through key_ops: iden3's key (given as the "random" bytes) gives iden3's packed public
// key and signature; messages are big-endian field elements; detached keys must be points.
TEST(BabyJubJub, GeneratesSignsAndVerifiesThroughKeyOps) {
  EXPECT_EQ(SpecName(ParseKeySpec("BABYJUBJUB").value()), "babyJubJub");
  EXPECT_EQ(DefaultUsage(KeySpec::kBabyJubJub), KeyUsage::kSignVerify);
  EXPECT_EQ(TypeOf(KeySpec::kBabyJubJub), KeyType::kAsymmetric);
  FixedRandom fixed(Hex("0001020304050607080900010203040506070809000102030405060708090001"));
  auto key = GenerateKey(KeySpec::kBabyJubJub, fixed).value();
  ASSERT_EQ(key.public_key.size(), 32u);
  const Bytes message = Hex("09080706050403020100");  // 42649378395939397566720
  auto sig = Sign(KeySpec::kBabyJubJub, key.material, message, std::nullopt).value();
  EXPECT_EQ(HexEncode(sig),
            "dfedb4315d3f2eb4de2d3c510d7a987dcab67089c8ace06308827bf5bcbe02a2"
            "9d043ece562a8f82bfc0adb640c0107a7d3a27c1c7c1a6179a0da73de5c1b203");
  EXPECT_TRUE(Verify(KeySpec::kBabyJubJub, key.public_key, message, sig, std::nullopt).value());
  // Leading zero bytes do not change the element.
  EXPECT_TRUE(Verify(KeySpec::kBabyJubJub, key.public_key, Hex("0000000009080706050403020100"), sig,
                     std::nullopt)
                  .value());
  EXPECT_FALSE(Verify(KeySpec::kBabyJubJub, key.public_key, Hex("01"), sig, std::nullopt).value());
  const Bytes p = Hex("30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001");
  EXPECT_FALSE(Sign(KeySpec::kBabyJubJub, key.material, p, std::nullopt).ok());
  EXPECT_FALSE(Verify(KeySpec::kBabyJubJub, key.public_key, p, sig, std::nullopt).ok());
  auto parsed = ParsePublicKey(KeySpec::kBabyJubJub, "0x" + HexEncode(key.public_key));
  EXPECT_EQ(parsed.value(), key.public_key);
  EXPECT_FALSE(ParsePublicKey(KeySpec::kBabyJubJub, "0x" + std::string(62, '1')).ok());
  auto exported = ExportPrivate(KeySpec::kBabyJubJub, key.material).value();
  EXPECT_EQ(exported.first, "private_key");
  EXPECT_EQ(exported.second.reveal_string(),
            "0x0001020304050607080900010203040506070809000102030405060708090001");
  EXPECT_EQ(DescribePublicKey(KeySpec::kBabyJubJub, key.public_key)->public_key,
            "0x" + HexEncode(key.public_key));
}

TEST(PublicKeys, ParseHexAndPem) {
  EXPECT_EQ(ParsePublicKey(KeySpec::kEd25519, "0xZZ").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ParsePublicKey(KeySpec::kEd25519, "0x0102").value(), Hex("0102"));
  EXPECT_EQ(ParsePublicKey(KeySpec::kRsa2048, "-----BEGIN PUBLIC KEY-----junk").value(), Bytes());
}

// The npm oracle (@noble/curves).
std::optional<std::string> NobleOracle() {
  return sirr::testing::NodeOracle(SIRR_NODE_ORACLE_DIR, SIRR_ORACLE_DIR, "keys_noble.mjs",
                                   "@noble");
}

TEST(Secp256k1, SignaturesAreByteIdenticalToNobleForRandomKeysAndDigests) {
  auto oracle = NobleOracle();
  if (!oracle) GTEST_SKIP() << "@noble/curves is not installed (scripts/install-oracles.sh)";
  nlohmann::json items = nlohmann::json::array();
  std::vector<std::pair<SecretBytes, Bytes>> cases;
  for (int i = 0; i < 24; ++i) {
    SecretBytes key = secp256k1::GeneratePrivateKey(SecureRandom::Get());
    Bytes digest(32);
    SecureRandom::Get().Fill(digest);
    items.push_back({{"private_key", HexEncode(key.reveal())}, {"digest", HexEncode(digest)}});
    cases.emplace_back(std::move(key), std::move(digest));
  }
  auto run = sirr::testing::Run({"/usr/bin/node", *oracle, "sign"}, items.dump());
  ASSERT_EQ(run.exit_code, 0) << run.out;
  auto noble = nlohmann::json::parse(run.out);
  ASSERT_EQ(noble.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    auto ours = Sign(KeySpec::kSecp256k1, cases[i].first, cases[i].second, std::nullopt).value();
    EXPECT_EQ(HexEncode(ours), noble[i]["signature"].get<std::string>()) << i;
    auto pub = secp256k1::PublicKey(cases[i].first).value();
    EXPECT_EQ(HexEncode(pub), noble[i]["public_key"].get<std::string>()) << i;
    EXPECT_EQ(DescribePublicKey(KeySpec::kSecp256k1, pub)->address,
              noble[i]["address"].get<std::string>())
        << i;
  }
}

TEST(Rsa, OaepCiphertextsDecryptWithPythonCryptography) {
  if (!sirr::testing::PythonHas("cryptography"))
    GTEST_SKIP() << "/usr/bin/python3 with python3-cryptography is not installed";
  DeterministicRandom random;
  for (KeySpec spec : {KeySpec::kRsa2048, KeySpec::kRsa3072}) {
    auto key = GenerateKey(spec, random).value();
    auto exported = ExportPrivate(spec, key.material).value();
    ASSERT_EQ(exported.first, "private_key");
    Bytes pt(RsaOaepMaxPlaintext(spec), 0x5a);
    auto ct = RsaOaepEncrypt(spec, key.public_key, pt).value();
    nlohmann::json req{{"private_key", std::string(exported.second.reveal_string())},
                       {"data", HexEncode(ct)}};
    auto run = sirr::testing::Run(
        {"/usr/bin/python3", std::string(SIRR_ORACLE_DIR) + "/keys_oracle.py", "rsa-decrypt"},
        req.dump());
    ASSERT_EQ(run.exit_code, 0) << run.out;
    EXPECT_EQ(nlohmann::json::parse(run.out)["plaintext"], HexEncode(pt));
  }
}

}  // namespace
}  // namespace sirr::crypto

namespace sirr::crypto {
namespace {

// The spec table (key_ops.cc) has exactly one row per KeySpec enumerator, and each row's
// attributes agree with what its family does.
TEST(KeyOpsTest, EverySpecHasOneTableRow) {
  const auto all = AllKeySpecs();
  ASSERT_EQ(all.size(), static_cast<size_t>(KeySpec::kBabyJubJub) + 1);
  for (int i = 0; i <= static_cast<int>(KeySpec::kBabyJubJub); ++i) {
    const auto spec = static_cast<KeySpec>(i);
    EXPECT_EQ(std::count(all.begin(), all.end(), spec), 1) << i;
    auto parsed = ParseKeySpec(SpecName(spec));
    ASSERT_TRUE(parsed.ok()) << SpecName(spec);
    EXPECT_EQ(*parsed, spec);
    EXPECT_TRUE(AllowsUsage(spec, DefaultUsage(spec)));
    if (spec == KeySpec::kBip39 || IsRsa(spec)) continue;  // slow or wallet-only generation
    DeterministicRandom random(static_cast<uint64_t>(i) + 1);
    auto key = GenerateKey(spec, random);
    ASSERT_TRUE(key.ok()) << SpecName(spec) << ": " << key.status();
    EXPECT_EQ(key->public_key.empty(), IsSymmetric(spec)) << SpecName(spec);
  }
  EXPECT_EQ(*ParseKeySpec("chacha20"), KeySpec::kChaCha20Poly1305);
  EXPECT_EQ(*ParseKeySpec("X25519"), KeySpec::kX25519);
  EXPECT_EQ(*ParseKeySpec("p256"), KeySpec::kP256);
  EXPECT_NE(ParseKeySpec("DES").status().message().find("RSA-4096"), std::string::npos);
}

}  // namespace
}  // namespace sirr::crypto
