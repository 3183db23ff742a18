#include "core/tokens.h"

#include <gtest/gtest.h>

#include <set>

#include "core/core_test_env.h"
#include "core/rate_limiter.h"

namespace sirr::core {
namespace {

using testing::CoreEnv;

class TokensTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(env_.keeper_->Unseal(env_.random_.RandomSecret(32)).ok()); }
  CreateTokenRequest Req(std::vector<std::string> caps, std::vector<std::string> vaults = {"*"}) {
    CreateTokenRequest r;
    r.name = "ci";
    r.capabilities = std::move(caps);
    r.vaults = std::move(vaults);
    return r;
  }
  CoreEnv env_{"sirr-tokens"};
  Tokens& tokens_ = *env_.tokens_;
  RequestContext admin_ = CoreEnv::Ctx();
};

TEST_F(TokensTest, CreatedTokenAuthenticatesAndOnlyItsHashIsStored) {
  auto created = tokens_.Create(admin_, Req({"secrets:read", "secrets:list"}, {"default"}));
  ASSERT_TRUE(created.ok()) << created.status();
  const std::string value(created->value.reveal_string());
  ASSERT_TRUE(value.starts_with("sirr_"));
  EXPECT_EQ(value.size(), 5u + 43u);  // 32 random bytes, URL-safe base64 without padding
  EXPECT_EQ(value.find_first_not_of(
                "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", 5),
            std::string::npos);
  std::string id;
  auto p = tokens_.Authenticate(value, &id);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(id, created->row.id);
  EXPECT_EQ(p->id, "token:" + created->row.id);
  EXPECT_TRUE(p->Has(Capability::kSecretsRead));
  EXPECT_FALSE(p->Has(Capability::kSecretsWrite));
  EXPECT_EQ(p->vault_ids.size(), 1u);
  // The stored row holds the SHA-256, not the value.
  auto stored = env_.storage_->GetToken(created->row.id);
  EXPECT_EQ(stored->hash.size(), 32u);
  EXPECT_EQ(std::string(stored->hash.begin(), stored->hash.end()).find(value.substr(5, 20)),
            std::string::npos);
  // A one-character change is an unknown token.
  std::string wrong = value;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(tokens_.Authenticate(wrong, nullptr).status().message(), "invalid token");
}

TEST_F(TokensTest, ExpiredRevokedAndUsedUpTokensAreRefused) {
  auto ttl = Req({"secrets:read"});
  ttl.ttl_seconds = 60;
  auto expiring = tokens_.Create(admin_, ttl);
  auto uses = Req({"secrets:read"});
  uses.max_uses = 2;
  auto limited = tokens_.Create(admin_, uses);
  auto revoked = tokens_.Create(admin_, Req({"secrets:read"}));
  ASSERT_TRUE(expiring.ok() && limited.ok() && revoked.ok());

  EXPECT_TRUE(tokens_.Authenticate(expiring->value.reveal_string(), nullptr).ok());
  env_.clock_.AdvanceSeconds(60);
  EXPECT_EQ(tokens_.Authenticate(expiring->value.reveal_string(), nullptr).status().message(),
            "token has expired");

  EXPECT_TRUE(tokens_.Authenticate(limited->value.reveal_string(), nullptr).ok());
  EXPECT_TRUE(tokens_.Authenticate(limited->value.reveal_string(), nullptr).ok());
  auto third = tokens_.Authenticate(limited->value.reveal_string(), nullptr);
  EXPECT_EQ(third.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(third.status().message(), "token has been used up");

  EXPECT_TRUE(tokens_.Authenticate(revoked->value.reveal_string(), nullptr).ok());
  ASSERT_TRUE(tokens_.Revoke(admin_, revoked->row.id).ok());
  EXPECT_EQ(tokens_.Authenticate(revoked->value.reveal_string(), nullptr).status().message(),
            "token has been revoked");
  EXPECT_EQ(tokens_.Revoke(admin_, "no-such-id").code(), StatusCode::kNotFound);
  EXPECT_EQ(tokens_.List(admin_)->size(), 3u);
}

TEST_F(TokensTest, ValidatesRequests) {
  EXPECT_EQ(tokens_.Create(admin_, Req({})).status().code(), StatusCode::kInvalidArgument);
  auto unknown = tokens_.Create(admin_, Req({"secrets:teleport"}));
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("secrets:teleport"), std::string::npos);
  auto nameless = Req({"secrets:read"});
  nameless.name = "";
  EXPECT_EQ(tokens_.Create(admin_, nameless).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(tokens_.Create(admin_, Req({"secrets:read"}, {"nope"})).status().code(),
            StatusCode::kInvalidArgument);
  auto ttl = Req({"secrets:read"});
  ttl.ttl_seconds = 0;
  EXPECT_EQ(tokens_.Create(admin_, ttl).status().code(), StatusCode::kInvalidArgument);
  auto uses = Req({"secrets:read"});
  uses.max_uses = 0;
  EXPECT_EQ(tokens_.Create(admin_, uses).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(TokensTest, ManagersCannotGrantMoreThanTheyHave) {
  auto manager = tokens_.Create(admin_, Req({"tokens:manage", "secrets:read"}, {"default"}));
  ASSERT_TRUE(manager.ok());
  auto p = tokens_.Authenticate(manager->value.reveal_string(), nullptr);
  ASSERT_TRUE(p.ok());
  auto ctx = CoreEnv::Ctx(*p);
  EXPECT_TRUE(tokens_.Create(ctx, Req({"secrets:read"}, {"default"})).ok());
  auto more = tokens_.Create(ctx, Req({"secrets:write"}, {"default"}));
  EXPECT_EQ(more.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(more.status().message().find("secrets:write"), std::string::npos);
  EXPECT_EQ(tokens_.Create(ctx, Req({"admin"}, {"default"})).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(tokens_.Create(ctx, Req({"secrets:read"}, {"*"})).status().code(),
            StatusCode::kPermissionDenied);
  // Without tokens:manage nothing token-related is allowed.
  auto reader = tokens_.Create(admin_, Req({"secrets:read"}));
  auto rp = tokens_.Authenticate(reader->value.reveal_string(), nullptr);
  auto rctx = CoreEnv::Ctx(*rp);
  EXPECT_EQ(tokens_.List(rctx).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(tokens_.Revoke(rctx, manager->row.id).code(), StatusCode::kPermissionDenied);
}

TEST(CapabilitiesTest, NamesRoundTripAndAdminImpliesAll) {
  auto all = ParseCapabilities({"secrets:read", "secrets:write", "secrets:delete", "secrets:list",
                                "keys:create", "keys:read", "keys:use", "keys:delete",
                                "vaults:create", "vaults:delete", "tokens:manage", "admin",
                                "metrics:read", "shares:create"});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, kAllCapabilities);
  EXPECT_EQ(CapabilityList(*all).size(), 14u);
  Principal p;
  p.capabilities = Bit(Capability::kAdmin);
  for (const auto& [cap, name] : CapabilityNames()) EXPECT_TRUE(p.Has(cap)) << name;
  p.capabilities = Bit(Capability::kKeysUse);
  EXPECT_FALSE(p.Has(Capability::kKeysRead));
  EXPECT_EQ(Require(p, Capability::kKeysRead).code(), StatusCode::kPermissionDenied);
}

TEST(RateLimiterTest, TokenBucketRefillsAndTellsHowLongToWait) {
  FakeClock clock;
  RateLimiter limiter(clock, RateLimits{2, 3, 100});
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(limiter.Take("p").has_value()) << i;
  auto wait = limiter.Take("p");
  ASSERT_TRUE(wait.has_value());
  EXPECT_EQ(*wait, 1);
  EXPECT_FALSE(limiter.Take("q").has_value());  // per principal
  clock.AdvanceMillis(500);                     // one token back at 2/s
  EXPECT_FALSE(limiter.Take("p").has_value());
  EXPECT_TRUE(limiter.Take("p").has_value());
  RateLimiter off(clock, RateLimits{0, 1, 100});
  for (int i = 0; i < 1000; ++i) ASSERT_FALSE(off.Take("p").has_value());
}

TEST(RateLimiterTest, RemembersABoundedNumberOfPrincipals) {
  FakeClock clock;
  RateLimiter limiter(clock, RateLimits{1, 1, 10});
  for (int i = 0; i < 1000; ++i) {
    limiter.Take("p" + std::to_string(i));
    ASSERT_LE(limiter.tracked(), 10u) << i;  // the bound holds at every step
  }
  EXPECT_EQ(limiter.tracked(), 10u);
  // Still works: a new principal gets its burst, and a principal still tracked keeps its limit.
  EXPECT_FALSE(limiter.Take("fresh").has_value());
  EXPECT_TRUE(limiter.Take("fresh").has_value());
  EXPECT_LE(limiter.tracked(), 10u);
}

// A token's children never exceed its expiry or uses, nor its capabilities or vaults.
TEST_F(TokensTest, ChildTokensNeverOutliveOrOutlastTheirCreator) {
  auto parent_req = Req({"tokens:manage", "secrets:read"}, {"default"});
  parent_req.ttl_seconds = 600;
  parent_req.max_uses = 10;
  auto parent = tokens_.Create(admin_, std::move(parent_req));
  ASSERT_TRUE(parent.ok()) << parent.status();
  auto as_parent = [&] {
    auto p = tokens_.Authenticate(parent->value.reveal_string(), nullptr);
    EXPECT_TRUE(p.ok()) << p.status();
    return RequestContext{"req", *p, "127.0.0.1"};
  };
  auto longer = Req({"secrets:read"}, {"default"});
  longer.ttl_seconds = 3600;
  EXPECT_EQ(tokens_.Create(as_parent(), std::move(longer)).status().code(),
            StatusCode::kPermissionDenied);
  auto more = Req({"secrets:read"}, {"default"});
  more.max_uses = 100;
  EXPECT_EQ(tokens_.Create(as_parent(), std::move(more)).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(tokens_.Create(as_parent(), Req({"secrets:write"}, {"default"})).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(tokens_.Create(as_parent(), Req({"secrets:read"}, {"*"})).status().code(),
            StatusCode::kPermissionDenied);
  // Unlimited by request, limited by inheritance.
  auto child = tokens_.Create(as_parent(), Req({"secrets:read"}, {"default"}));
  ASSERT_TRUE(child.ok()) << child.status();
  ASSERT_TRUE(child->row.expires_at && parent->row.expires_at);
  EXPECT_LE(*child->row.expires_at, *parent->row.expires_at);
  ASSERT_TRUE(child->row.max_uses);
  EXPECT_LE(*child->row.max_uses, 10);
}

TEST_F(TokensTest, RevokingATokenRevokesTheTokensItCreated) {
  auto parent = tokens_.Create(admin_, Req({"tokens:manage", "secrets:read"}, {"default"}));
  ASSERT_TRUE(parent.ok());
  auto p = tokens_.Authenticate(parent->value.reveal_string(), nullptr);
  RequestContext as_parent{"req", *p, "127.0.0.1"};
  auto child = tokens_.Create(as_parent, Req({"tokens:manage", "secrets:read"}, {"default"}));
  ASSERT_TRUE(child.ok()) << child.status();
  auto c = tokens_.Authenticate(child->value.reveal_string(), nullptr);
  RequestContext as_child{"req", *c, "127.0.0.1"};
  auto grandchild = tokens_.Create(as_child, Req({"secrets:read"}, {"default"}));
  ASSERT_TRUE(grandchild.ok()) << grandchild.status();
  auto sibling = tokens_.Create(admin_, Req({"secrets:read"}, {"default"}));
  ASSERT_TRUE(tokens_.Revoke(admin_, parent->row.id).ok());
  for (const auto* t : {&*parent, &*child, &*grandchild})
    EXPECT_EQ(tokens_.Authenticate(t->value.reveal_string(), nullptr).status().message(),
              "token has been revoked");
  EXPECT_TRUE(tokens_.Authenticate(sibling->value.reveal_string(), nullptr).ok());
}

// A tokens:manage token scoped to one vault sees and revokes only tokens within its vaults:
// other vaults' tokens (and their vault ids) stay hidden, as if they did not exist.
TEST_F(TokensTest, ScopedTokenManagersSeeOnlyTokensWithinTheirVaults) {
  ASSERT_TRUE(env_.vaults_->Create(admin_, {"payments", ""}).ok());
  auto other = tokens_.Create(admin_, Req({"secrets:read"}, {"payments"}));
  auto everywhere = tokens_.Create(admin_, Req({"secrets:read"}, {"*"}));
  auto mine = tokens_.Create(admin_, Req({"secrets:read"}, {"default"}));
  auto manager = tokens_.Create(admin_, Req({"tokens:manage", "secrets:read"}, {"default"}));
  ASSERT_TRUE(other.ok() && everywhere.ok() && mine.ok() && manager.ok());
  auto m = tokens_.Authenticate(manager->value.reveal_string(), nullptr);
  RequestContext as_manager{"req", *m, "127.0.0.1"};
  auto listed = tokens_.List(as_manager);
  ASSERT_TRUE(listed.ok());
  std::set<std::string> ids;
  for (const auto& t : *listed) ids.insert(t.id);
  EXPECT_TRUE(ids.count(mine->row.id));
  EXPECT_TRUE(ids.count(manager->row.id));
  EXPECT_FALSE(ids.count(other->row.id));
  EXPECT_FALSE(ids.count(everywhere->row.id));
  EXPECT_EQ(tokens_.Get(as_manager, other->row.id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(tokens_.Revoke(as_manager, other->row.id).code(), StatusCode::kNotFound);
  EXPECT_TRUE(tokens_.Authenticate(other->value.reveal_string(), nullptr).ok());
  EXPECT_TRUE(tokens_.Revoke(as_manager, mine->row.id).ok());
  EXPECT_EQ(tokens_.List(admin_)->size(), 4u);  // the admin sees every token
}

}  // namespace
}  // namespace sirr::core
