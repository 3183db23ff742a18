#include "core/secrets.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/core_test_env.h"
#include "crypto/crypto.h"
#include "storage/sqlite/sqlite_storage.h"
#include "testing/temp_dir.h"

namespace sirr::core {
namespace {

class SecretsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    master_key_ = env_.random_.RandomSecret(32);
    auto unsealed = env_.keeper_->Unseal(master_key_.Clone());
    ASSERT_TRUE(unsealed.ok()) << unsealed.status();
    EXPECT_TRUE(unsealed->initialized_now);
  }
  static PushRequest Req(std::string name, std::string value) {
    return testing::CoreEnv::Req(std::move(name), std::move(value));
  }

  testing::CoreEnv env_{"sirr-core"};
  const sirr::testing::TempDir& dir_ = env_.dir();
  FakeClock& clock_ = env_.clock_;
  SecretBytes master_key_;
  storage::SqliteStorage* storage_ = env_.storage_.get();
  audit::AuditLog* audit_ = env_.audit_.get();
  SealKeeper* keeper_ = env_.keeper_.get();
  Secrets* secrets_ = env_.secrets_.get();
  RequestContext ctx_ = testing::CoreEnv::Ctx();
};

TEST_F(SecretsTest, ContentTypeIsStoredAndAPullThatCannotOpenItReadsNothing) {
  PushRequest req = Req("tls/key", "age-encryption.org/v1\n...");
  req.content_type = "application/age";
  req.max_reads = 1;
  ASSERT_TRUE(secrets_->Push(ctx_, std::move(req)).ok());
  auto refused = secrets_->Pull(ctx_, "default", "tls/key", "application/age");
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  auto meta = secrets_->Inspect(ctx_, "default", "tls/key");
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(meta->content_type, "application/age");
  EXPECT_EQ(meta->reads_remaining, 1);  // nothing was read
  auto pulled = secrets_->Pull(ctx_, "default", "tls/key", "text/plain");
  ASSERT_TRUE(pulled.ok());
  EXPECT_EQ(pulled->meta.content_type, "application/age");
  for (std::string ct : std::vector<std::string>{"age", "application/", "/age", "application/age x",
                                                 std::string(101, 'a')}) {
    PushRequest bad = Req("x", "y");
    bad.content_type = ct;
    EXPECT_EQ(secrets_->Push(ctx_, std::move(bad)).status().code(), StatusCode::kInvalidArgument)
        << ct;
  }
}

TEST_F(SecretsTest, PushPullRoundTripStoresOnlyCiphertext) {
  auto row = secrets_->Push(ctx_, Req("db/prod", "pg://user:pass@host/db"));
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_TRUE(row->value.empty());
  auto pulled = secrets_->Pull(ctx_, "default", "db/prod");
  ASSERT_TRUE(pulled.ok());
  EXPECT_EQ(pulled->value.reveal_string(), "pg://user:pass@host/db");
  auto raw = storage_->ReadSecret(row->vault_id, "db/prod", clock_.NowMillis());
  std::string stored(raw->value.begin(), raw->value.end());
  EXPECT_EQ(stored.find("pg://"), std::string::npos);
  EXPECT_EQ(raw->value[0], 0x01);
}

TEST_F(SecretsTest, ValidatesInput) {
  for (const char* bad : {"", "/abs", "a/../b", "sp ace", "semi;colon", "ü"})
    EXPECT_EQ(secrets_->Push(ctx_, Req(bad, "v")).status().code(), StatusCode::kInvalidArgument)
        << bad;
  EXPECT_EQ(secrets_->Push(ctx_, Req(std::string(257, 'a'), "v")).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(secrets_->Push(ctx_, Req(std::string(256, 'a'), "v")).ok());
  EXPECT_EQ(secrets_->Push(ctx_, Req("empty", "")).status().code(), StatusCode::kInvalidArgument);
  for (int64_t ttl : {int64_t{0}, int64_t{-1}, kMaxTtlSeconds + 1}) {
    auto p = Req("t", "v");
    p.ttl_seconds = ttl;
    EXPECT_EQ(secrets_->Push(ctx_, std::move(p)).status().code(), StatusCode::kInvalidArgument);
  }
  auto p = Req("r", "v");
  p.max_reads = 0;
  EXPECT_EQ(secrets_->Push(ctx_, std::move(p)).status().code(), StatusCode::kInvalidArgument);
  auto nv = Req("x", "v");
  nv.vault = "nope";
  EXPECT_EQ(secrets_->Push(ctx_, std::move(nv)).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(
      storage_->ListSecrets(storage_->GetVault("default", "")->id, {}, clock_.NowMillis())->total,
      1);
}

TEST_F(SecretsTest, TtlMakesUnreadableAtExpiryAndSweeperDestroys) {
  auto p = Req("short", "v");
  p.ttl_seconds = 60;
  ASSERT_TRUE(secrets_->Push(ctx_, std::move(p)).ok());
  clock_.AdvanceSeconds(59);
  EXPECT_TRUE(secrets_->Pull(ctx_, "default", "short").ok());
  clock_.AdvanceSeconds(1);
  auto gone = secrets_->Pull(ctx_, "default", "short");
  EXPECT_EQ(gone.status().code(), StatusCode::kGone);
  EXPECT_NE(gone.status().message().find("expired"), std::string::npos);

  auto q = Req("swept", "v");
  q.ttl_seconds = 1;
  ASSERT_TRUE(secrets_->Push(ctx_, std::move(q)).ok());
  clock_.AdvanceSeconds(2);
  EXPECT_EQ(*secrets_->Sweep(), 1);
  EXPECT_EQ(secrets_->Inspect(ctx_, "default", "swept")->state, storage::SecretState::kExpired);
  clock_.AdvanceSeconds(24 * 3600 + 1);
  EXPECT_EQ(*secrets_->Sweep(), 0);
  EXPECT_EQ(secrets_->Inspect(ctx_, "default", "swept").status().code(), StatusCode::kNotFound);
}

TEST_F(SecretsTest, ReadLimitBurnsAndSaysSo) {
  auto p = Req("once", "s3cr3t");
  p.max_reads = 1;
  ASSERT_TRUE(secrets_->Push(ctx_, std::move(p)).ok());
  EXPECT_EQ(secrets_->Inspect(ctx_, "default", "once")->reads_remaining, 1);  // no read used
  EXPECT_EQ(secrets_->Pull(ctx_, "default", "once")->value.reveal_string(), "s3cr3t");
  auto gone = secrets_->Pull(ctx_, "default", "once");
  EXPECT_EQ(gone.status().code(), StatusCode::kGone);
  EXPECT_EQ(gone.status().message(), "secret 'once' was burned after 1 read");
  EXPECT_EQ(secrets_->Pull(ctx_, "default", "never").status().code(), StatusCode::kNotFound);
}

TEST_F(SecretsTest, WrongMasterKeyIsRefusedAndDoesNotReinitialise) {
  auto other = seal::MasterKey::Derive(env_.random_.RandomSecret(32));
  auto opened =
      Instance::Open(*storage_, std::move(other).value(), std::nullopt, clock_, env_.random_);
  EXPECT_EQ(opened.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(opened.status().message().find("does not match"), std::string::npos);
  EXPECT_EQ(storage_->ListKeyring()->size(), 1u);
  auto same = Instance::Open(*storage_, *seal::MasterKey::Derive(master_key_.Clone()), std::nullopt,
                             clock_, env_.random_);
  ASSERT_TRUE(same.ok());
  EXPECT_FALSE(same->initialized_now);
}

TEST_F(SecretsTest, CiphertextMovedToAnotherRecordFailsToDecrypt) {
  ASSERT_TRUE(secrets_->Push(ctx_, Req("a", "alpha")).ok());
  ASSERT_TRUE(secrets_->Push(ctx_, Req("b", "beta")).ok());
  auto vault = *storage_->GetVault("default", "");
  auto a = *storage_->ReadSecret(vault.id, "a", clock_.NowMillis());
  auto b = *storage_->GetSecretMeta(vault.id, "b");
  b.value = a.value;  // a's ciphertext under b's id
  ASSERT_TRUE(storage_->PutSecret(b, true, clock_.NowMillis()).ok());
  EXPECT_EQ(secrets_->Pull(ctx_, "default", "b").status().code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace sirr::core
