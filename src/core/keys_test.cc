#include "core/keys.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "base/encoding.h"
#include "core/core_test_env.h"

namespace sirr::core {
namespace {

using testing::CoreEnv;

Bytes B(std::string_view s) { return Bytes(s.begin(), s.end()); }

Principal Token(CapabilitySet caps) {
  Principal p;
  p.kind = PrincipalKind::kToken;
  p.id = "token:t";
  p.token_id = "t";
  p.capabilities = caps;
  p.all_vaults = true;
  return p;
}

class KeysTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(env_.keeper_->Unseal(env_.random_.RandomSecret(32)).ok()); }
  CreateKeyRequest Req(std::string name, std::string spec) {
    CreateKeyRequest r;
    r.name = std::move(name);
    r.spec = std::move(spec);
    return r;
  }
  std::string AuditText() {
    std::ifstream in(env_.dir() / "audit.log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  CoreEnv env_{"sirr-keys"};
  Keys& keys_ = *env_.keys_;
  RequestContext admin_ = CoreEnv::Ctx();
};

// Key names are display labels (Provide's clients): spaces are fine, and a name may repeat
// within a vault; a unique name still finds its key, an ambiguous one is refused (409) with
// the ids, and ids always work.
TEST_F(KeysTest, NamesAreLabelsThatMayRepeatAndAnAmbiguousNameIsRefused) {
  auto first = keys_.Create(admin_, "default", Req("test key", "AES-256-GCM"));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(keys_.Get(admin_, "default", "test key")->id, first->row.id);
  auto second = keys_.Create(admin_, "default", Req("test key", "Ed25519"));
  ASSERT_TRUE(second.ok()) << second.status();
  auto ambiguous = keys_.Get(admin_, "default", "test key");
  EXPECT_EQ(ambiguous.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(ambiguous.status().message().find(first->row.id), std::string::npos);
  EXPECT_NE(ambiguous.status().message().find(second->row.id), std::string::npos);
  EXPECT_EQ(keys_.Delete(admin_, "default", "test key").status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(keys_.Get(admin_, "default", second->row.id)->spec, "Ed25519");
  ASSERT_TRUE(keys_.Delete(admin_, "default", first->row.id).ok());
  EXPECT_EQ(keys_.Get(admin_, "default", "test key")->id, second->row.id);  // unique again
  for (const char* bad : {" lead", "trail ", "two  spaces", "a/b", "tab\there"})
    EXPECT_EQ(keys_.Create(admin_, "default", Req(bad, "Ed25519")).status().code(),
              StatusCode::kInvalidArgument)
        << bad;
}

TEST_F(KeysTest, CreateCanonicalisesSpecAndValidatesTypeAndUsage) {
  auto k = keys_.Create(admin_, "default", Req("a", "chacha20"));
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_EQ(k->row.spec, "ChaCha20-Poly1305");
  EXPECT_EQ(k->row.type, "symmetric");
  EXPECT_EQ(k->row.usage, "encrypt/decrypt");
  EXPECT_TRUE(k->row.material.empty());
  EXPECT_EQ(keys_.Create(admin_, "default", Req("b", "")).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(keys_.Create(admin_, "default", Req("b", "DES")).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(keys_.Create(admin_, "default", Req("master", "Ed25519")).status().code(),
            StatusCode::kInvalidArgument);
  auto wrong_usage = Req("b", "Ed25519");
  wrong_usage.usage = "encrypt/decrypt";
  EXPECT_EQ(keys_.Create(admin_, "default", std::move(wrong_usage)).status().code(),
            StatusCode::kInvalidArgument);
  auto wrong_type = Req("b", "AES-256-GCM");
  wrong_type.type = "asymmetric";
  EXPECT_EQ(keys_.Create(admin_, "default", std::move(wrong_type)).status().code(),
            StatusCode::kInvalidArgument);
  auto rsa_encrypt = Req("r", "rsa-2048");
  rsa_encrypt.usage = "encrypt/decrypt";
  auto rsa = keys_.Create(admin_, "default", std::move(rsa_encrypt));
  ASSERT_TRUE(rsa.ok());
  EXPECT_EQ(rsa->row.usage, "encrypt/decrypt");
}

TEST_F(KeysTest, ListPutsTheMasterKeyFirstAndPaginates) {
  for (auto name : {"k1", "k2", "k3"}) {
    ASSERT_TRUE(keys_.Create(admin_, "default", Req(name, "Ed25519")).ok());
    env_.clock_.AdvanceMillis(1);
  }
  storage::KeyFilter f;
  auto all = keys_.List(admin_, "default", f).value();
  ASSERT_EQ(all.rows.size(), 4u);
  EXPECT_EQ(all.total, 4);
  EXPECT_EQ(all.rows[0].name, "master");
  EXPECT_EQ(all.rows[1].name, "k1");
  f.limit = 2;
  auto p1 = keys_.List(admin_, "default", f).value();
  ASSERT_EQ(p1.rows.size(), 2u);
  EXPECT_EQ(p1.rows[0].name, "master");
  EXPECT_EQ(p1.rows[1].name, "k1");
  f.offset = 2;
  auto p2 = keys_.List(admin_, "default", f).value();
  ASSERT_EQ(p2.rows.size(), 2u);
  EXPECT_EQ(p2.rows[0].name, "k2");
  EXPECT_EQ(p2.rows[1].name, "k3");
  storage::KeyFilter asym;
  asym.type = "asymmetric";
  EXPECT_EQ(keys_.List(admin_, "default", asym)->total, 3);
  storage::KeyFilter aes;
  aes.spec = "AES-256-GCM";
  EXPECT_EQ(keys_.List(admin_, "default", aes)->total, 1);
  // The master key: stable id, gettable, not deletable, not usable.
  auto master = all.rows[0];
  EXPECT_EQ(keys_.Get(admin_, "default", master.id)->name, "master");
  EXPECT_EQ(keys_.Delete(admin_, "default", master.id).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(keys_.Decrypt(admin_, "default", "master", Bytes(40), {}).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(keys_.List(admin_, "default", f)->rows.size(), 2u);
}

TEST_F(KeysTest, EncryptDecryptRoundTripsAndBadInputFailsWithOneMessage) {
  for (auto spec : {"AES-256-GCM", "ChaCha20-Poly1305"}) {
    ASSERT_TRUE(keys_.Create(admin_, "default", Req(spec, spec)).ok());
    auto pt = SecretBytes::FromString("hello");
    auto ct = keys_.Encrypt(admin_, "default", spec, pt, std::nullopt, B("ctx"));
    ASSERT_TRUE(ct.ok()) << ct.status();
    auto back = keys_.Decrypt(admin_, "default", spec, *ct, B("ctx"));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->reveal_string(), "hello");
    auto wrong = keys_.Decrypt(admin_, "default", spec, *ct, B("other"));
    EXPECT_EQ(wrong.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(wrong.status().message(), "decryption failed");
    EXPECT_EQ(keys_.Encrypt(admin_, "default", spec, pt, Bytes(8), {}).status().code(),
              StatusCode::kInvalidArgument);
    EXPECT_EQ(keys_.Sign(admin_, "default", spec, B("m"), std::nullopt).status().code(),
              StatusCode::kInvalidArgument);
  }
  // Ciphertext of one key does not open under another.
  auto ct = keys_.Encrypt(admin_, "default", "AES-256-GCM", SecretBytes::FromString("x"),
                          std::nullopt, {});
  ASSERT_TRUE(keys_.Create(admin_, "default", Req("other", "AES-256-GCM")).ok());
  EXPECT_EQ(keys_.Decrypt(admin_, "default", "other", *ct, {}).status().message(),
            "decryption failed");
  const std::string audit = AuditText();
  EXPECT_NE(audit.find("\"action\":\"key.decrypt\""), std::string::npos);
  EXPECT_EQ(audit.find("hello"), std::string::npos);  // never data
}

TEST_F(KeysTest, SignVerifyForEachAsymmetricSpec) {
  Bytes digest(32, 7);
  for (auto spec : {"Ed25519", "secp256k1", "P-256", "RSA-2048"}) {
    auto k = keys_.Create(admin_, "default", Req(spec, spec));
    ASSERT_TRUE(k.ok()) << spec << k.status();
    std::optional<crypto::SignatureAlgorithm> alg;
    if (std::string_view(spec) == "RSA-2048") alg = crypto::SignatureAlgorithm::kPs256;
    auto sig = keys_.Sign(admin_, "default", spec, digest, alg);
    ASSERT_TRUE(sig.ok()) << spec << sig.status();
    EXPECT_TRUE(keys_.Verify(admin_, "default", spec, digest, *sig, alg).value()) << spec;
    Bytes bad = *sig;
    bad[0] ^= 1;
    EXPECT_FALSE(keys_.Verify(admin_, "default", spec, digest, bad, alg).value()) << spec;
    Bytes shorter(sig->begin(), sig->end() - 2);
    EXPECT_FALSE(keys_.Verify(admin_, "default", spec, digest, shorter, alg).value()) << spec;
    auto detached = keys_.VerifyDetached(admin_, crypto::ParseKeySpec(spec).value(),
                                         k->row.public_key, digest, *sig, alg);
    EXPECT_TRUE(detached.value()) << spec;
  }
  EXPECT_EQ(keys_.Sign(admin_, "default", "RSA-2048", digest, std::nullopt).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(KeysTest, EphemeralKeysAreReturnedOnceAndNeverStored) {
  auto r = Req("eph", "secp256k1");
  r.ephemeral = true;
  auto k = keys_.Create(admin_, "default", std::move(r));
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->private_field, "private_key");
  EXPECT_EQ(k->private_value.size(), 66u);
  EXPECT_EQ(keys_.Get(admin_, "default", "eph").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(AuditText().find(std::string(k->private_value.reveal_string())), std::string::npos);
}

TEST_F(KeysTest, DeriveIsDeterministicPerContext) {
  ASSERT_TRUE(keys_.Create(admin_, "default", Req("root", "AES-256-GCM")).ok());
  auto derive = [&](std::string name, std::string context) {
    DeriveRequest d;
    d.name = std::move(name);
    d.context = std::move(context);
    return keys_.Derive(admin_, "default", "root", std::move(d));
  };
  ASSERT_TRUE(derive("d1", "tenant-1").ok());
  ASSERT_TRUE(derive("d2", "tenant-1").ok());
  ASSERT_TRUE(derive("d3", "tenant-2").ok());
  EXPECT_EQ(derive("d4", "").status().code(), StatusCode::kInvalidArgument);
  // Same context, same key: what d1 encrypts, d2 decrypts; another context or the root cannot.
  auto sealed =
      keys_.Encrypt(admin_, "default", "d1", SecretBytes::FromString("p"), std::nullopt, {});
  ASSERT_TRUE(sealed.ok());
  auto dec = [&](const char* k) { return keys_.Decrypt(admin_, "default", k, *sealed, {}); };
  ASSERT_TRUE(dec("d2").ok());
  EXPECT_EQ(dec("d2")->reveal_string(), "p");
  EXPECT_FALSE(dec("d3").ok());
  EXPECT_FALSE(dec("root").ok());
}

// A caller's nonce could repeat under one key (XOR of plaintexts, forged GCM tags): refused.
TEST_F(KeysTest, CallerChosenNoncesAreRefused) {
  for (const char* spec : {"AES-256-GCM", "ChaCha20-Poly1305"}) {
    const std::string name = std::string("n-") + (spec[0] == 'A' ? "aes" : "chacha");
    ASSERT_TRUE(keys_.Create(admin_, "default", Req(name, spec)).ok());
    auto refused =
        keys_.Encrypt(admin_, "default", name, SecretBytes::FromString("p"), Bytes(12, 7), {});
    EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(refused.status().message().find("nonce is chosen by the server"), std::string::npos);
    auto a = keys_.Encrypt(admin_, "default", name, SecretBytes::FromString("p"), std::nullopt, {});
    auto b = keys_.Encrypt(admin_, "default", name, SecretBytes::FromString("p"), std::nullopt, {});
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_NE(Bytes(a->begin(), a->begin() + 12), Bytes(b->begin(), b->begin() + 12));
  }
}

TEST_F(KeysTest, CapabilitiesAreChecked) {
  ASSERT_TRUE(keys_.Create(admin_, "default", Req("k", "Ed25519")).ok());
  auto reader = CoreEnv::Ctx(Token(Bit(Capability::kKeysRead)));
  EXPECT_TRUE(keys_.Get(reader, "default", "k").ok());
  EXPECT_EQ(keys_.Sign(reader, "default", "k", B("m"), std::nullopt).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(keys_.Create(reader, "default", Req("x", "Ed25519")).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(keys_.Delete(reader, "default", "k").status().code(), StatusCode::kPermissionDenied);
  auto user = CoreEnv::Ctx(Token(Bit(Capability::kKeysUse)));
  EXPECT_TRUE(keys_.Sign(user, "default", "k", B("m"), std::nullopt).ok());
}

TEST_F(KeysTest, VaultWithKeysNeedsForceToDelete) {
  ASSERT_TRUE(env_.vaults_->Create(admin_, {"v", ""}).ok());
  ASSERT_TRUE(keys_.Create(admin_, "v", Req("k", "Ed25519")).ok());
  EXPECT_EQ(env_.vaults_->Delete(admin_, "v", false).status().code(),
            StatusCode::kFailedPrecondition);
  auto deleted = env_.vaults_->Delete(admin_, "v", true);
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->secrets_destroyed, 1);
}

}  // namespace
}  // namespace sirr::core
