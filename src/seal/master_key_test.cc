#include "seal/master_key.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "base/encoding.h"
#include "crypto/crypto.h"
#include "testing/temp_dir.h"

namespace sirr::seal {
namespace {

// The same 32 bytes (00..1f) in its three spellings; the mnemonic was made by python3-mnemonic.
constexpr const char* kHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr const char* kBase64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
constexpr const char* kMnemonic =
    "abandon amount liar amount expire adjust cage candy arch gather drum bullet absurd math era "
    "live bid rhythm alien crouch range attend journey unaware";

TEST(ParseMasterKeyTest, ThreeSpellingsOfOneKey) {
  for (const char* text : {kHex, kBase64, kMnemonic}) {
    auto key = ParseMasterKey(std::string("\n  ") + text + "\n");
    ASSERT_TRUE(key.ok()) << key.status();
    EXPECT_EQ(HexEncode(key->reveal()), kHex);
  }
  EXPECT_TRUE(ParseMasterKey("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8").ok());
}

TEST(ParseMasterKeyTest, RejectsOtherContentWithoutEchoingIt) {
  for (const char* text : {"", "hunter2", "00010203", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd",
                           "abandon abandon abandon abandon abandon abandon abandon abandon "
                           "abandon abandon abandon about",
                           "zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"}) {
    auto key = ParseMasterKey(text);
    ASSERT_FALSE(key.ok()) << text;
    if (std::string(text).size() > 3) {
      EXPECT_EQ(key.status().message().find(text), std::string::npos);
    }
  }
  EXPECT_NE(ParseMasterKey("abandon abandon abandon abandon abandon abandon abandon abandon "
                           "abandon abandon abandon about")
                .status()
                .message()
                .find("24 words"),
            std::string::npos);
}

class KeyFileTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& content, mode_t mode) {
    return dir_.Write(name, content, mode);
  }
  sirr::testing::TempDir dir_{"sirr-keyfile"};
};

TEST_F(KeyFileTest, ReadsAndWarnsWhenGroupOrWorldReadable) {
  auto tight = ReadKeyFile(Write("tight", kBase64, 0400));
  ASSERT_TRUE(tight.ok());
  EXPECT_FALSE(tight->permission_warning);
  auto loose = ReadKeyFile(Write("loose", kHex, 0644));
  ASSERT_TRUE(loose.ok());
  ASSERT_TRUE(loose->permission_warning);
  EXPECT_NE(loose->permission_warning->find("0644"), std::string::npos);
}

TEST_F(KeyFileTest, ErrorsNameTheFileNotTheContent) {
  auto missing = ReadKeyFile((dir_ / "nope").string());
  EXPECT_NE(missing.status().message().find("nope"), std::string::npos);
  auto bad = ReadKeyFile(Write("bad", "my-secret-password", 0400));
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("bad"), std::string::npos);
  EXPECT_EQ(bad.status().message().find("my-secret-password"), std::string::npos);
  EXPECT_FALSE(ReadKeyFile("").ok());
  EXPECT_FALSE(ReadKeyFile(dir_.path().string()).ok());  // a directory
}

TEST(MasterKeyTest, DerivesIndependentKeysAndChecksKeyCheck) {
  auto a = MasterKey::Derive(*ParseMasterKey(kHex));
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(a->wrap_key().Equals(a->audit_key()));
  EXPECT_EQ(crypto::KeyIdHex(a->key_id()), "3e256366c36fc309");
  auto kcv = a->MakeKeyCheck(1, crypto::SecureRandom::Get());
  ASSERT_TRUE(kcv.ok());
  EXPECT_TRUE(a->VerifyKeyCheck(1, *kcv).ok());
  EXPECT_FALSE(a->VerifyKeyCheck(2, *kcv).ok());
  auto b = MasterKey::Derive(crypto::SecureRandom::Get().RandomSecret(32));
  EXPECT_EQ(b->VerifyKeyCheck(1, *kcv).code(), StatusCode::kPermissionDenied);
  EXPECT_FALSE(MasterKey::Derive(SecretBytes(31)).ok());
}

}  // namespace
}  // namespace sirr::seal
