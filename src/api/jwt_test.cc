#include "api/jwt.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include "base/encoding.h"
#include "testing/subprocess.h"
#include "testing/temp_dir.h"

namespace sirr::api {
namespace {

using nlohmann::json;

constexpr char kOracle[] = SIRR_ORACLE_DIR "/jwt_oracle.py";
constexpr int64_t kNow = 1'750'000'000;  // seconds
constexpr char kOrg[] = "0b7c6a3e-1f2d-4c5b-8a9e-0123456789ab";
constexpr char kApp[] = "9d8c7b6a-5f4e-4d3c-9b2a-fedcba987654";
constexpr char kUser[] = "11111111-2222-4333-8444-555555555555";

// Keys and tokens come from tests/oracles/jwt_oracle.py (python3-cryptography), so every
// signature checked here was made by an independent implementation.
class JwtTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!sirr::testing::PythonHas("cryptography")) return;
    dir_ = new sirr::testing::TempDir("sirr-jwt");
    auto r = sirr::testing::Run({"/usr/bin/python3", kOracle, "keys", dir_->path().string()});
    ASSERT_EQ(r.exit_code, 0) << r.out;
    fingerprints_ = new json(json::parse(r.out)["fingerprints"]);
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete fingerprints_;
    dir_ = nullptr;
    fingerprints_ = nullptr;
  }
  void SetUp() override {
    if (!dir_) GTEST_SKIP() << "python3-cryptography is not installed (scripts/install-deps.sh)";
    auto v = JwtVerifier::FromFile((dir_->path() / "public.pem").string(), options_, clock_);
    ASSERT_TRUE(v.ok()) << v.status();
    verifier_ = std::move(v).value();
  }

  static json Claims(const std::string& sub, int64_t exp_offset = 300) {
    return json{{"sub", sub}, {"iat", kNow - 10}, {"exp", kNow + exp_offset}};
  }
  static std::string Sign(const std::string& key, const std::string& alg, const json& claims,
                          const std::string& kid = "-") {
    auto r = sirr::testing::Run(
        {"/usr/bin/python3", kOracle, "sign", dir_->path().string(), key, alg, claims.dump(), kid});
    EXPECT_EQ(r.exit_code, 0);
    while (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
    return r.out;
  }
  static std::string Oracle(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"/usr/bin/python3", kOracle};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = sirr::testing::Run(argv);
    EXPECT_EQ(r.exit_code, 0);
    while (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
    return r.out;
  }
  std::string Reason(const std::string& token) {
    auto p = verifier_->Verify(token);
    EXPECT_FALSE(p.ok());
    if (p.ok()) return "accepted";
    EXPECT_EQ(p.status().code(), StatusCode::kUnauthenticated);
    return p.status().message();
  }

  static sirr::testing::TempDir* dir_;
  static json* fingerprints_;
  FakeClock clock_{kNow * 1000};
  JwtOptions options_;
  std::unique_ptr<JwtVerifier> verifier_;
};
sirr::testing::TempDir* JwtTest::dir_ = nullptr;
json* JwtTest::fingerprints_ = nullptr;

TEST_F(JwtTest, ParsesTheKeyBundleWithLabelsAndFingerprints) {
  const auto& keys = verifier_->keys();
  ASSERT_EQ(keys.size(), 3u);
  EXPECT_EQ(keys[0]->label(), "rsa");
  EXPECT_EQ(keys[0]->Description(), "RSA-2048");
  EXPECT_EQ(keys[1]->label(), "ec");
  EXPECT_EQ(keys[2]->label(), "");
  EXPECT_EQ(keys[2]->Description(), "Ed25519");
  // The OpenSSH MD5 fingerprints agree with python3-cryptography's OpenSSH encoding.
  EXPECT_EQ(keys[0]->ssh_md5_fingerprint(), (*fingerprints_)["rsa"]);
  EXPECT_EQ(keys[1]->ssh_md5_fingerprint(), (*fingerprints_)["ec"]);
  EXPECT_EQ(keys[2]->ssh_md5_fingerprint(), (*fingerprints_)["ed"]);
}

TEST_F(JwtTest, AcceptsEveryAlgorithmFromTheOracle) {
  struct Case {
    const char* key;
    const char* alg;
    std::string kid;
  };
  const std::vector<Case> cases = {
      {"rsa", "RS256", "rsa"}, {"rsa", "RS384", "-"}, {"rsa", "RS512", (*fingerprints_)["rsa"]},
      {"ec", "ES256", "ec"},   {"ec", "ES256", "-"},  {"ed", "EdDSA", (*fingerprints_)["ed"]},
      {"ed", "EdDSA", "-"},
  };
  for (const auto& c : cases) {
    auto p = verifier_->Verify(Sign(c.key, c.alg, Claims(std::string("user:") + kUser), c.kid));
    ASSERT_TRUE(p.ok()) << c.alg << " kid " << c.kid << ": " << p.status();
    EXPECT_EQ(p->kind, core::PrincipalKind::kJwt);
    EXPECT_EQ(p->id, std::string("user:") + kUser);
    EXPECT_EQ(p->owner, std::string("user:") + kUser);
    EXPECT_TRUE(p->Has(core::Capability::kSecretsRead));
    EXPECT_FALSE(p->Has(core::Capability::kTokensManage));
    EXPECT_FALSE(p->Has(core::Capability::kAdmin));
  }
}

TEST_F(JwtTest, OwnerIsTheApplicationElseOrganisationElseUser) {
  json c = Claims(std::string("user:") + kUser);
  c["prvd"] = {{"organization_id", kOrg}, {"user_id", kUser}};
  EXPECT_EQ(verifier_->Verify(Sign("rsa", "RS256", c))->owner, std::string("organization:") + kOrg);
  c["prvd"]["application_id"] = kApp;
  EXPECT_EQ(verifier_->Verify(Sign("rsa", "RS256", c))->owner, std::string("application:") + kApp);
  json org = Claims(std::string("organization:") + kOrg);
  EXPECT_EQ(verifier_->Verify(Sign("ec", "ES256", org))->owner,
            std::string("organization:") + kOrg);
  // prvd may not contradict sub.
  c = Claims(std::string("user:") + kUser);
  c["prvd"] = {{"user_id", kApp}};
  EXPECT_NE(Reason(Sign("rsa", "RS256", c)).find("contradicts"), std::string::npos);
}

TEST_F(JwtTest, RefusesExpiredNotYetValidAndFutureTokens) {
  const std::string sub = std::string("user:") + kUser;
  EXPECT_NE(Reason(Sign("rsa", "RS256", Claims(sub, -61))).find("expired"), std::string::npos);
  // Within the leeway (60 s) an expired token still passes.
  EXPECT_TRUE(verifier_->Verify(Sign("rsa", "RS256", Claims(sub, -30))).ok());
  json nbf = Claims(sub);
  nbf["nbf"] = kNow + 120;
  EXPECT_NE(Reason(Sign("rsa", "RS256", nbf)).find("not valid yet"), std::string::npos);
  json iat = Claims(sub);
  iat["iat"] = kNow + 3600;
  EXPECT_NE(Reason(Sign("rsa", "RS256", iat)).find("future"), std::string::npos);
  json no_exp = {{"sub", sub}};
  EXPECT_NE(Reason(Sign("rsa", "RS256", no_exp)).find("no exp"), std::string::npos);
  json bad_type = Claims(sub);
  bad_type["exp"] = "tomorrow";
  EXPECT_NE(Reason(Sign("rsa", "RS256", bad_type)).find("exp must be a number"), std::string::npos);
}

TEST_F(JwtTest, RefusesWrongKeyNoneHmacConfusionAndUnknownKid) {
  const json c = Claims(std::string("user:") + kUser);
  // Signed by a key that is not in the bundle.
  EXPECT_NE(Reason(Sign("rsa2", "RS256", c)).find("bad signature"), std::string::npos);
  EXPECT_NE(Reason(Sign("rsa2", "RS256", c, "rsa")).find("bad signature"), std::string::npos);
  EXPECT_NE(Reason(Sign("rsa2", "RS256", c, (*fingerprints_)["rsa2"])).find("unknown kid"),
            std::string::npos);
  EXPECT_NE(Reason(Oracle({"none", c.dump()})).find("alg none"), std::string::npos);
  EXPECT_NE(Reason(Oracle({"hs256", dir_->path().string(), c.dump()})).find("HMAC"),
            std::string::npos);
  // A kid that names a key of another type.
  EXPECT_NE(Reason(Sign("rsa", "RS256", c, "ec")).find("no configured key"), std::string::npos);
  // Tampering with the payload breaks the signature.
  std::string token = Sign("ed", "EdDSA", c);
  size_t d1 = token.find('.'), d2 = token.rfind('.');
  json evil = Claims(std::string("organization:") + kOrg);
  std::string payload = evil.dump();
  std::string forged = token.substr(0, d1 + 1) +
                       Base64Encode(AsBytes(payload), Base64Alphabet::kUrlSafe) + token.substr(d2);
  EXPECT_NE(Reason(forged).find("bad signature"), std::string::npos);
}

TEST_F(JwtTest, ChecksIssuerAudienceAndSubject) {
  options_.issuer = "https://ident.example";
  options_.audience = "sirr";
  verifier_ = std::move(
      JwtVerifier::FromFile((dir_->path() / "public.pem").string(), options_, clock_).value());
  json c = Claims(std::string("application:") + kApp);
  EXPECT_NE(Reason(Sign("rsa", "RS256", c)).find("issuer"), std::string::npos);
  c["iss"] = "https://ident.example";
  EXPECT_NE(Reason(Sign("rsa", "RS256", c)).find("audience"), std::string::npos);
  c["aud"] = json::array({"other", "sirr"});
  EXPECT_TRUE(verifier_->Verify(Sign("rsa", "RS256", c)).ok());
  c["sub"] = "robot:42";
  EXPECT_NE(Reason(Sign("rsa", "RS256", c)).find("sub must be"), std::string::npos);
}

TEST(JwtShapeTest, MalformedInputIsRefusedWithoutCrashing) {
  FakeClock clock;
  JwtVerifier verifier({}, JwtOptions{}, clock);
  for (const char* bad : {"", ".", "..", "a.b.c", "e30.e30.", "e30..", "!!.??.##",
                          "eyJhbGciOiJSUzI1NiJ9.e30.AAAA", "eyJhbGciOiJSUzI1NiJ9=.e30.AAAA"}) {
    auto p = verifier.Verify(bad);
    EXPECT_FALSE(p.ok()) << bad;
    EXPECT_EQ(p.status().code(), StatusCode::kUnauthenticated) << bad;
  }
  EXPECT_TRUE(LooksLikeJwt("a.b.c"));
  EXPECT_FALSE(LooksLikeJwt("a.b"));
  EXPECT_FALSE(LooksLikeJwt("a.b.c.d"));
}

TEST(PublicKeyPemTest, RefusesWeakAndUnsupportedKeys) {
  EXPECT_FALSE(crypto::PublicKey::ParsePem("").ok());
  EXPECT_FALSE(crypto::PublicKey::ParsePem("-----BEGIN PUBLIC KEY-----\nAAAA\n").ok());
  EXPECT_FALSE(
      crypto::PublicKey::ParsePem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
          .ok());
  // RSA-1024 (generated once by openssl; public, no secret).
  const char* rsa1024 =
      "-----BEGIN PUBLIC KEY-----\n"
      "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC6SpMqL0vUTyFmp9jfEiCrYEGP\n"
      "x+NDyEkwQzRfJvxdGD/I62ne63zgeigGwmGrA9Rdlg/7lA9M/h8IcAV0K7P7Euai\n"
      "4Hp2APoNcDV5CkY8l01eM39AoIp/a/FckOzqSipc9nmHa5/xUBzBCE0x7kGfPZIn\n"
      "J2s42r1QfmMQFsQH6QIDAQAB\n"
      "-----END PUBLIC KEY-----\n";
  auto weak = crypto::PublicKey::ParsePem(rsa1024);
  ASSERT_FALSE(weak.ok());
  EXPECT_NE(weak.status().message().find("at least 2048 bits"), std::string::npos);
}

}  // namespace
}  // namespace sirr::api
