#include "core/seal_keeper.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "base/encoding.h"
#include "core/core_test_env.h"
#include "core/secrets.h"
#include "crypto/crypto.h"
#include "crypto/hd/bip39.h"
#include "storage/sqlite/sqlite_storage.h"
#include "testing/temp_dir.h"

namespace sirr::core {
namespace {

class SealKeeperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = env_.random_.RandomSecret(32);
    Make(SealOptions{});
  }
  void Make(SealOptions options) {
    env_.Make(std::move(options));
    storage_ = env_.storage_.get();
    audit_ = env_.audit_.get();
    keeper_ = env_.keeper_.get();
    secrets_ = env_.secrets_.get();
  }
  static PushRequest Req(std::string name, std::string value) {
    return testing::CoreEnv::Req(std::move(name), std::move(value));
  }

  testing::CoreEnv env_{"sirr-seal"};
  const sirr::testing::TempDir& dir_ = env_.dir();
  FakeClock& clock_ = env_.clock_;
  SecretBytes key_;
  storage::SqliteStorage* storage_ = nullptr;
  audit::AuditLog* audit_ = nullptr;
  SealKeeper* keeper_ = nullptr;
  Secrets* secrets_ = nullptr;
  RequestContext ctx_ = testing::CoreEnv::Ctx();
};

TEST_F(SealKeeperTest, StartsSealedAndFirstUnsealInitialises) {
  EXPECT_TRUE(keeper_->sealed());
  EXPECT_EQ(keeper_->Acquire().status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(keeper_->Acquire().status().message(), "vault is sealed");
  auto st = keeper_->Status();
  ASSERT_TRUE(st.ok());
  EXPECT_FALSE(st->initialized);
  EXPECT_TRUE(st->key_versions.empty());
  EXPECT_EQ(secrets_->Push(ctx_, Req("a", "v")).status().code(), StatusCode::kUnavailable);

  auto r = keeper_->Unseal(key_.Clone());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->initialized_now);
  EXPECT_FALSE(keeper_->sealed());
  st = keeper_->Status();
  ASSERT_EQ(st->key_versions.size(), 1u);
  EXPECT_EQ(st->key_versions[0].version, 1);
  EXPECT_EQ(st->key_versions[0].state, "active");
  EXPECT_EQ(st->key_versions[0].key_id.size(), 16u);
}

TEST_F(SealKeeperTest, SealThenUnsealKeepsData) {
  ASSERT_TRUE(keeper_->Unseal(key_.Clone()).ok());
  ASSERT_TRUE(secrets_->Push(ctx_, Req("db", "value-1")).ok());
  keeper_->Seal();
  EXPECT_TRUE(keeper_->sealed());
  EXPECT_TRUE(audit_->sealed());
  EXPECT_EQ(secrets_->Pull(ctx_, "default", "db").status().code(), StatusCode::kUnavailable);
  auto again = keeper_->Unseal(key_.Clone());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->initialized_now);
  auto pulled = secrets_->Pull(ctx_, "default", "db");
  ASSERT_TRUE(pulled.ok()) << pulled.status();
  EXPECT_EQ(pulled->value.reveal_string(), "value-1");
}

TEST_F(SealKeeperTest, WrongKeyIsDeniedSealedOrUnsealed) {
  ASSERT_TRUE(keeper_->Unseal(key_.Clone()).ok());
  SecretBytes other = env_.random_.RandomSecret(32);
  // Unsealed: the key is still checked.
  EXPECT_EQ(keeper_->Unseal(other.Clone()).status().code(), StatusCode::kPermissionDenied);
  auto same = keeper_->Unseal(key_.Clone());
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(same->already_unsealed);
  keeper_->Seal();
  // Sealed: a wrong key never initialises a second keyring.
  EXPECT_EQ(keeper_->Unseal(std::move(other)).status().code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(keeper_->sealed());
  EXPECT_EQ(keeper_->Status()->key_versions.size(), 1u);
}

TEST_F(SealKeeperTest, ValidationHashGatesTheKey) {
  auto mnemonic = crypto::hd::EntropyToMnemonic(key_.reveal());
  ASSERT_TRUE(mnemonic.ok());
  SealOptions options;
  options.validation_hash = crypto::Sha256(AsBytes("some other phrase"));
  Make(options);
  EXPECT_EQ(keeper_->Unseal(key_.Clone()).status().code(), StatusCode::kPermissionDenied);
  EXPECT_FALSE(keeper_->Status()->initialized);  // refused before touching the database
  options.validation_hash = crypto::Sha256(mnemonic->reveal());
  Make(options);
  EXPECT_TRUE(keeper_->Status()->validation_hash_configured);
  EXPECT_TRUE(keeper_->Unseal(key_.Clone()).ok());
  EXPECT_EQ(seal::ValidationHash(key_), "0x" + HexEncode(crypto::Sha256(mnemonic->reveal())));
}

TEST_F(SealKeeperTest, EventsWhileSealedAreWrittenOnUnsealAndTheChainVerifies) {
  ASSERT_TRUE(keeper_->Unseal(key_.Clone()).ok());
  audit::Event e;
  e.action = "before";
  e.outcome = "success";
  ASSERT_TRUE(audit_->Append(e).ok());
  keeper_->Seal();
  e.action = "while.sealed";
  ASSERT_TRUE(audit_->Append(e).ok());
  EXPECT_EQ(audit_->pending(), 1u);
  ASSERT_TRUE(keeper_->Unseal(key_.Clone()).ok());
  EXPECT_EQ(audit_->pending(), 0u);
  auto master = seal::MasterKey::Derive(key_.Clone());
  auto v = audit::Verify((dir_ / "audit.log").string(), master->audit_key(), std::nullopt);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok) << v->problem;
  EXPECT_EQ(v->lines, 3);  // instance.initialize (journaled with the first unseal), before, while
  std::ifstream in(dir_ / "audit.log");
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(all.find("while.sealed"), std::string::npos);
}

// An empty (or lost and recreated) database beside an audit log that holds records is earlier
// data, not a first start: refused, and nothing is initialised.
TEST_F(SealKeeperTest, RefusesToInitialiseAnEmptyDatabaseBesideAnAuditLog) {
  std::ofstream(dir_ / "audit.log") << "{\"seq\":1}\n";
  Make(SealOptions{});
  auto r = keeper_->Unseal(key_.Clone());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("refusing to initialise"), std::string::npos);
  EXPECT_TRUE(storage_->ListKeyring()->empty());
}

TEST_F(SealKeeperTest, RefusesAnAuditLogShorterThanTheRecordedHead) {
  ASSERT_TRUE(keeper_->Unseal(key_.Clone()).ok());
  ASSERT_TRUE(secrets_->Push(ctx_, Req("a", "v")).ok());
  auto head = audit_->Head();
  ASSERT_TRUE(storage_->SaveAuditHead(head.seq, head.mac).ok());
  Make(SealOptions{});
  std::filesystem::resize_file(dir_ / "audit.log", 0);
  auto r = keeper_->Unseal(key_.Clone());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << r.status();
  EXPECT_TRUE(keeper_->sealed());
}

}  // namespace
}  // namespace sirr::core
