#include "core/shares.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "core/core_test_env.h"
#include "crypto/crypto.h"
#include "crypto/share_link.h"

namespace sirr::core {
namespace {

class SharesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(env_.keeper_->Unseal(env_.random_.RandomSecret(32)).ok());
    shares_ = std::make_unique<Shares>(*env_.storage_, *env_.keeper_, *env_.vaults_, *env_.audit_,
                                       env_.clock_, env_.random_, 1 << 20);
  }

  // A share of `value` made the way `sirr share` makes one; returns its id.
  std::string Make(std::string_view value, int64_t reads = 1, int64_t ttl = 3600) {
    ShareRequest r;
    auto blob = crypto::share::Seal(key_, AsBytes(value), env_.random_);
    r.ciphertext = *blob;
    auto h = crypto::share::ProofHash(key_);
    r.proof_hash.assign(h.begin(), h.end());
    r.max_reads = reads;
    r.ttl_seconds = ttl;
    auto row = shares_->Create(admin_, std::move(r));
    EXPECT_TRUE(row.ok()) << row.status();
    return row.ok() ? row->id : "";
  }
  StatusOr<std::string> Reveal(const std::string& id, std::span<const uint8_t> proof) {
    SIRR_ASSIGN_OR_RETURN(Bytes blob, shares_->Reveal(anon_, id, proof));
    SIRR_ASSIGN_OR_RETURN(SecretBytes plain, crypto::share::Open(key_, blob));
    return std::string(plain.reveal_string());
  }

  testing::CoreEnv env_{"sirr-shares"};
  std::unique_ptr<Shares> shares_;
  SecretBytes key_ = crypto::share::NewLinkKey(crypto::SecureRandom::Get());
  std::array<uint8_t, 32> proof_ = crypto::share::Proof(key_);
  RequestContext admin_ = testing::CoreEnv::Ctx();
  RequestContext anon_ = testing::CoreEnv::Ctx(Principal::System("anonymous"));
};

TEST_F(SharesTest, RightProofRevealsOnceThenTheLinkIsGone) {
  std::string id = Make("s3cr3t");
  EXPECT_TRUE(shares_->Check(id).ok());
  auto v = Reveal(id, proof_);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, "s3cr3t");
  EXPECT_EQ(Reveal(id, proof_).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(shares_->Check(id).status().code(), StatusCode::kNotFound);
}

TEST_F(SharesTest, WrongProofConsumesNothing) {
  std::string id = Make("s3cr3t");
  std::array<uint8_t, 32> wrong = proof_;
  wrong[0] ^= 1;
  for (int i = 0; i < 5; ++i) {
    auto r = shares_->Reveal(anon_, id, wrong);
    EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
    EXPECT_EQ(r.status().message(), Shares::kGoneMessage);  // indistinguishable from "used"
  }
  // The proof hash itself is not a proof either.
  auto hash = crypto::share::ProofHash(key_);
  EXPECT_FALSE(shares_->Reveal(anon_, id, hash).ok());
  EXPECT_TRUE(shares_->Check(id).ok());
  EXPECT_EQ(*Reveal(id, proof_), "s3cr3t");
}

TEST_F(SharesTest, ManyConcurrentRevealsOfAOneReadShareYieldOneValue) {
  std::string id = Make("only-once");
  std::atomic<int> got{0}, gone{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 100; ++i)
    threads.emplace_back([&] {
      auto r = shares_->Reveal(anon_, id, proof_);
      (r.ok() ? got : gone)++;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(got.load(), 1);
  EXPECT_EQ(gone.load(), 99);
}

TEST_F(SharesTest, ExpiresAndCountsSeveralReads) {
  std::string id = Make("twice", 2, 60);
  EXPECT_EQ(*Reveal(id, proof_), "twice");
  env_.clock_.AdvanceSeconds(61);
  EXPECT_EQ(Reveal(id, proof_).status().code(), StatusCode::kNotFound);
  std::string id2 = Make("twice", 2, 60);
  EXPECT_EQ(*Reveal(id2, proof_), "twice");
  EXPECT_EQ(*Reveal(id2, proof_), "twice");
  EXPECT_FALSE(Reveal(id2, proof_).ok());
}

TEST_F(SharesTest, CreateNeedsTheCapabilityAndValidInput) {
  Principal reader;
  reader.kind = PrincipalKind::kToken;
  reader.id = "token:x";
  reader.capabilities = Bit(Capability::kSecretsRead);
  ShareRequest r;
  r.ciphertext = Bytes(40, 1);
  r.proof_hash = Bytes(32, 2);
  EXPECT_EQ(shares_->Create(testing::CoreEnv::Ctx(reader), r).status().code(),
            StatusCode::kPermissionDenied);
  reader.capabilities = Bit(Capability::kSharesCreate);
  EXPECT_TRUE(shares_->Create(testing::CoreEnv::Ctx(reader), r).ok());
  ShareRequest bad = r;
  bad.proof_hash = Bytes(31, 2);
  EXPECT_EQ(shares_->Create(admin_, bad).status().code(), StatusCode::kInvalidArgument);
  bad = r;
  bad.ttl_seconds = kMaxShareTtlSeconds + 1;
  EXPECT_EQ(shares_->Create(admin_, bad).status().code(), StatusCode::kInvalidArgument);
  bad = r;
  bad.max_reads = 0;
  EXPECT_EQ(shares_->Create(admin_, bad).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(SharesTest, TheSharesVaultIsInvisibleToEveryPrincipal) {
  std::string id = Make("hidden");
  auto vaults = env_.vaults_->List(admin_, 0, 100);
  ASSERT_TRUE(vaults.ok());
  for (const auto& v : vaults->rows) EXPECT_NE(v.owner, "system:shares") << v.name;
  auto meta = env_.storage_->GetVault("shares", "system:shares");
  ASSERT_TRUE(meta.ok());
  // Not even the admin reads a share through the secrets API, by vault id or name.
  EXPECT_EQ(env_.secrets_->Pull(admin_, meta->id, id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(env_.secrets_->Pull(admin_, "shares", id).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(shares_->Check(id).ok());
}

TEST_F(SharesTest, MalformedIdsAreGone) {
  for (std::string id : std::vector<std::string>{"", "x", "../etc/passwd", std::string(36, 'z')})
    EXPECT_EQ(shares_->Reveal(anon_, id, proof_).status().code(), StatusCode::kNotFound) << id;
}

}  // namespace
}  // namespace sirr::core
